"""Fuzzing the manifest loader: whatever the JSON, only ArtifactError escapes."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tftrt_kit.dtypes import numpy_dtype
from tftrt_kit.errors import ArtifactError
from tftrt_kit.runtime.artifact import MANIFEST, read_manifest
from tftrt_kit.source import TensorSpec

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

VALID = {
    "schema_version": 1, "route": "onnx", "precision": "fp32", "source": "m", "signature": "serving_default",
    "inputs": [{"name": "image", "dtype": "float32", "shape": [None, 16, 16, 3]}],
    "outputs": [{"name": "output_0", "dtype": "float32", "shape": [None, 5]}],
    "onnx_file": "model.onnx", "plan_file": None, "plan_backend": None, "tensorrt": None,
}
KEYS = st.sampled_from([*VALID, "weights_file", "extra_files", "name", "dtype", "shape", "x"]) | st.text(max_size=8)
PATHS = st.sampled_from(["model.onnx", "../model.onnx", "/etc/passwd", "", ".", "a\x00b", "sub/../model.onnx", "link", "loop"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8) | PATHS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def artifact_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fuzz_artifact")
    (directory / "model.onnx").write_bytes(b"onnx")
    (directory / "link").symlink_to("/etc")
    (directory / "loop").symlink_to("loop")
    return directory


def _load(directory, text: str) -> None:
    (directory / MANIFEST).write_text(text)
    try:
        data = read_manifest(directory)
    except ArtifactError as err:
        assert str(err).startswith("Expected")
        return
    specs = [TensorSpec.from_dict(s) for s in data.get("inputs", [])]
    assert all(numpy_dtype(s.dtype) for s in specs)


@FUZZ
@given(value=json_values)
def test_random_json(artifact_dir, value):
    _load(artifact_dir, json.dumps(value))


@FUZZ
@given(changes=st.dictionaries(KEYS, json_values, max_size=3), drop=st.sets(st.sampled_from(list(VALID)), max_size=2))
def test_mutated_valid_manifest(artifact_dir, changes, drop):
    manifest = {k: v for k, v in {**VALID, **changes}.items() if k not in drop}
    _load(artifact_dir, json.dumps(manifest))


@FUZZ
@given(text=st.text(max_size=40) | st.sampled_from(["[" * 5000, '{"a":' * 3000, "1e999", "NaN", "-Infinity"]))
def test_random_text(artifact_dir, text):
    _load(artifact_dir, text)
