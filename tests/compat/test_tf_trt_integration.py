"""TF-TRT's own integration graphs through ``tftrt_kit.compat``: its engines, its node sets, TensorFlow's numbers.

Each case of :mod:`tests.compat.tf_trt_cases` runs as TF-TRT ran it in TF 2
(``tf_trt_integration_test_base.py``): the graph saved as a SavedModel with a dynamic
batch, converted by ``TrtGraphConverterV2`` in dynamic-shape mode with
``minimum_segment_size=2``, then run on uniform random inputs (seed 12345) of every
shape TF-TRT used, here through ``tftrt_kit.load``, and compared with TensorFlow's own
output. No plan is built (``build()`` needs a GPU to matter): engines are the segments.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tftrt_kit
from tests.compat.tf_trt_cases import CASES, Case
from tests.conftest import tensorrt_rtx_or_skip
from tftrt_kit.runtime.artifact import read_manifest
from tftrt_kit.compat import trt_convert as trt

#: Prefixes the frozen signature puts before the names of the function's nodes.
_CALL_PREFIXES = ("StatefulPartitionedCall/", "PartitionedCall/")


@dataclasses.dataclass
class Converted:
    """One case converted: the source SavedModel, the converter (which owns the artifact) and its segment entries."""

    source_dir: Path
    converter: Any
    segments: list[dict[str, Any]]

    @property
    def artifact_dir(self) -> Path:
        return self.converter.artifact_dir


def _canonical(name: str) -> str:
    """A frozen-graph node name as the test graph named it, without the prefix of each call it was inlined from."""
    while name.startswith(_CALL_PREFIXES):
        name = name.split("/", 1)[1]
    return name


def _save(case: Case, directory: Path) -> Path:
    import tensorflow as tf

    np.random.seed(case.seed)
    specs = [tf.TensorSpec(shape, dtype, name=f"input_{i}") for i, (shape, dtype) in enumerate(case.inputs)]
    root = tf.Module()
    root.run = tf.function(case.graph, input_signature=specs)
    tf.saved_model.save(root, str(directory), signatures={"serving_default": root.run})
    return directory


@pytest.fixture(scope="module")
def convert(tmp_path_factory):
    """``convert(case)`` -> :class:`Converted`, once per case."""
    done: dict[str, Converted] = {}

    def make(case: Case) -> Converted:
        if case.name not in done:
            source_dir = _save(case, tmp_path_factory.mktemp(case.name) / "source")
            converter = trt.TrtGraphConverterV2(
                input_saved_model_dir=str(source_dir),
                use_dynamic_shape=True,
                precision_mode=case.precision,
                minimum_segment_size=2,
                max_workspace_size_bytes=1 << 25,
                use_calibration=case.calibrate,
            )
            # TF-TRT calibrated on the test's own inputs.
            calibration = (lambda: iter([tuple(run.values()) for run in _inputs(case)])) if case.calibrate else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                converter.convert(calibration_input_fn=calibration)
            entries = read_manifest(converter.artifact_dir)["parts"]
            done[case.name] = Converted(source_dir, converter, [e for e in entries if e["kind"] == "segment"])
        return done[case.name]

    return make


def _inputs(case: Case) -> list[dict[str, np.ndarray]]:
    """TF-TRT's test data: for each run, uniform [0, 1) floats (x10 for integers, coin flips for bool), seed 12345."""
    np.random.seed(12345)
    runs = []
    for shapes in case.dims:
        feeds = {}
        for i, (shape, (_, dtype)) in enumerate(zip(shapes, case.inputs)):
            if dtype == "bool":
                feeds[f"input_{i}"] = np.random.choice(a=[False, True], size=shape)
            else:
                scale = 10.0 if np.issubdtype(np.dtype(dtype), np.integer) else 1.0
                feeds[f"input_{i}"] = (scale * np.random.random_sample(shape)).astype(dtype)
        runs.append(feeds)
    return runs


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_engines_and_numbers_match(case: Case, convert) -> None:
    import tensorflow as tf

    converted = convert(case)
    assert len(converted.segments) == case.expected_engines, [e["node_names"] for e in converted.segments]
    if case.nodes:
        segments = [{_canonical(n) for n in entry["node_names"]} for entry in converted.segments]
        homes = []
        for engine, names in case.nodes.items():
            home = [k for k, nodes in enumerate(segments) if set(names) <= nodes]
            assert home, f"TF-TRT's {engine} {sorted(names)} lies in no single segment of {segments}"
            homes.append(home[0])
        assert len(set(homes)) == len(homes), "two of TF-TRT's engines fell into one segment"
    reference = tf.saved_model.load(str(converted.source_dir)).signatures["serving_default"]
    model = tftrt_kit.load(converted.artifact_dir)
    for feeds in _inputs(case):
        want = {k: v.numpy() for k, v in reference(**{k: tf.constant(v) for k, v in feeds.items()}).items()}
        got = model(feeds)
        assert sorted(got) == sorted(want)
        for key in want:
            assert got[key].shape == want[key].shape and got[key].dtype == want[key].dtype, key
            np.testing.assert_allclose(got[key], want[key], rtol=case.tolerance, atol=case.tolerance, err_msg=key)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_segment_parses_in_tensorrt_rtx(case: Case, convert) -> None:
    tensorrt_rtx_or_skip()
    for entry in convert(case).segments:
        assert entry["tensorrt"]["accepted"], (entry["name"], entry["tensorrt"])


def test_the_port_covers_25_classes_or_more() -> None:
    assert len({c.name for c in CASES}) == len(CASES) >= 25
