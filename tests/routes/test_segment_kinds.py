"""Issue 14: every model kind TensorFlow runs converts by the segment route (model_zoo/kinds.py).

Each kind is converted by both routes once. The segment artifact must match the
source exactly in plain TensorFlow (a process that never imports tftrt_kit) and
within 1e-4 through ``tftrt_kit.load``; the onnx route converts or fails with a
clear error naming the tensor or op at fault, never an "unexpected" one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import tftrt_kit
from model_zoo.kinds import KINDS
from tftrt_kit.routes.base import RouteContext
from tftrt_kit.routes.segment import ASSETS, SegmentOptions, SegmentRoute
from tftrt_kit.source import load_source

NAMES = list(KINDS)


@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    """``kinds(name)`` -> (SavedModel dir, Report of both routes), converted once per module."""
    cache = {}

    def make(name):
        if name not in cache:
            root = tmp_path_factory.mktemp(f"kind_{name}")
            KINDS[name].write(root / "saved_model")
            report = tftrt_kit.convert(root / "saved_model", routes=("segment", "onnx"), output_dir=root / "out", benchmark=False)
            cache[name] = (root / "saved_model", report)
        return cache[name]

    return make


def _source_outputs(saved_model, feeds):
    signature = tf.saved_model.load(str(saved_model)).signatures["serving_default"]
    return {k: v.numpy() for k, v in signature(**{k: tf.constant(v) for k, v in feeds.items()}).items()}


def _manifest(report):
    return json.loads((report.routes["segment"].artifact_dir / ASSETS / "manifest.json").read_text())


@pytest.mark.parametrize("name", NAMES)
def test_segment_route_converts_and_matches(kinds, name):
    saved_model, report = kinds(name)
    route = report.routes["segment"]
    assert route.ok, route.error
    assert route.accuracy.verdict == "pass", route.accuracy.reasons
    model = tftrt_kit.load(route.artifact_dir)
    feeds = KINDS[name].sample(3, 1)
    expected, actual = _source_outputs(saved_model, feeds), model(feeds)
    assert sorted(actual) == sorted(expected)
    for key, value in expected.items():
        if value.dtype.kind in "OSU":
            assert actual[key].tolist() == value.tolist(), key
        else:
            scale = max(float(np.abs(value).max()), 1e-12)
            assert actual[key].shape == value.shape and float(np.abs(actual[key] - value).max()) / scale <= 1e-4, key


@pytest.mark.parametrize("name", NAMES)
def test_onnx_route_converts_or_says_what_is_wrong(kinds, name):
    _, report = kinds(name)
    route = report.routes["onnx"]
    if route.ok:
        assert route.accuracy.verdict == "pass", route.accuracy.reasons
        return
    assert "unexpected" not in route.error
    named = [s.name for s in (*report.source.inputs, *report.source.outputs)]
    assert "segment route" in route.error, route.error
    assert any(repr(n) in route.error for n in named) or "TF node" in route.error, route.error


@pytest.mark.parametrize("name", ["lstm", "gru", "bidirectional_none_length", "while_cond", "map_fn"])
def test_control_flow_stays_whole_in_an_island(kinds, name):
    _, report = kinds(name)
    route = report.routes["segment"]
    assert route.segments and route.details["islands"] >= 1
    assert any("functional control flow" in f.reason for f in route.fallbacks)
    assert not any(f.op_type in ("Switch", "Merge", "NextIteration", "Enter", "Exit") for f in route.fallbacks)


def test_xla_compiled_grouped_convolution_is_inlined_into_one_segment(kinds):
    saved_model, report = kinds("xla_grouped_conv")
    assert not any(n.op.endswith("PartitionedCall") for n in load_source(saved_model).graph_def.node)
    route = report.routes["segment"]
    assert len(route.segments) == 1 and route.details["islands"] == 0 and route.coverage == 1.0
    assert report.routes["onnx"].ok


def test_int64_ids_and_argmax_stay_in_the_segment(kinds):
    _, report = kinds("int64_ids_argmax")
    route = report.routes["segment"]
    assert len(route.segments) == 1 and route.coverage == 1.0
    assert any(o["dtype"] == "int64" for o in _manifest(report)["outputs"])


@pytest.mark.parametrize("name", ["text_vectorization", "hash_table_lookup"])
def test_string_input_and_lookup_table_run_in_islands(kinds, name):
    saved_model, report = kinds(name)
    source = load_source(saved_model)
    assert source.captured_tensors, "the lookup table is a captured resource of the frozen signature"
    manifest = _manifest(report)
    assert [s["dtype"] for s in manifest["inputs"]] == ["string"]
    fed = {s["name"] for p in manifest["parts"] for s in p["inputs"]}
    assert fed.isdisjoint(source.captured_tensors)
    for part in manifest["parts"]:
        if part["kind"] == "segment":
            assert all(s["dtype"] not in ("string", "resource", "variant") for s in (*part["inputs"], *part["outputs"]))


def test_string_output_is_compared_by_equality(kinds):
    _, report = kinds("string_side_output")
    accuracy = report.routes["segment"].accuracy
    assert accuracy.per_output["label"].compared_by == "equality" and accuracy.per_output["label"].max_abs_error == 0.0
    assert accuracy.per_output["logits"].compared_by == "value"
    assert "compared by equality" in str(report) and "unexpected" not in str(report)


def test_a_tensor_list_passes_between_islands_as_a_tensorflow_tensor(kinds):
    _, report = kinds("tensor_list_across_islands")
    parts = _manifest(report)["parts"]
    variants = [(p["kind"], s["name"]) for p in parts for s in (*p["inputs"], *p["outputs"]) if s["dtype"] == "variant"]
    assert variants and {kind for kind, _ in variants} == {"island"}
    assert report.routes["segment"].segments


def test_unknown_rank_output_is_kept(kinds):
    _, report = kinds("unknown_rank_output")
    assert [o["shape"] for o in _manifest(report)["outputs"]] == [None]
    assert report.routes["segment"].segments


def test_every_node_in_tensorflow_is_still_a_valid_artifact(kinds, tmp_path):
    saved_model, _ = kinds("lstm")
    source = load_source(saved_model)
    every_op = tuple({n.op for n in source.graph_def.node})
    result = SegmentRoute(SegmentOptions(exclude_ops=every_op))(source, RouteContext(output_dir=tmp_path))
    assert result.coverage == 0.0 and not result.segments
    feeds = KINDS["lstm"].sample(2, 3)
    np.testing.assert_array_equal(tftrt_kit.load(result.artifact_dir)(feeds)["output_0"], source.run(feeds)["output_0"])


PLAIN_TF = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf

    cases = json.load(open(sys.argv[1]))
    for name, case in cases.items():
        signature = tf.saved_model.load(case["artifact"]).signatures["serving_default"]
        data = np.load(case["data"])
        feeds = {k[3:]: tf.constant(data[k]) for k in data.files if k.startswith("in/")}
        for key, value in signature(**feeds).items():
            if not np.array_equal(value.numpy(), data["out/" + key]):
                raise SystemExit(f"{name}: output {key} differs")
        # The TF1 loader (TF Serving, saved_model_cli run) restores the variables through the SaverDef.
        with tf.compat.v1.Session(graph=tf.Graph()) as session:
            meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], case["artifact"])
            tensors = meta_graph.signature_def["serving_default"]
            feed = {tensors.inputs[k[3:]].name: data[k] for k in data.files if k.startswith("in/")}
            outputs = session.run({k: v.name for k, v in tensors.outputs.items()}, feed)
        for key, value in outputs.items():
            expected = data["out/" + key]
            same = np.array_equal(value, expected) if expected.dtype.kind in "SUO" else np.allclose(value, expected, rtol=1e-5, atol=1e-6)
            if not same:
                raise SystemExit(f"{name}: output {key} differs under the TF1 loader")
    assert "tftrt_kit" not in sys.modules
    print(len(cases))
    """
)


def test_plain_tensorflow_runs_every_artifact_exactly(kinds, tmp_path):
    """DESIGN.md invariant 1 for every kind, in one process that never imports tftrt_kit, by the TF2 and the TF1 loader."""
    cases = {}
    for name in NAMES:
        saved_model, report = kinds(name)
        feeds = KINDS[name].sample(2, 5)
        expected = _source_outputs(saved_model, feeds)
        arrays = {f"in/{k}": np.asarray(v, dtype=bytes if v.dtype == object else v.dtype) for k, v in feeds.items()}
        arrays.update({f"out/{k}": np.asarray(v, dtype=bytes if v.dtype == object else v.dtype) for k, v in expected.items()})
        np.savez(tmp_path / f"{name}.npz", **arrays)
        cases[name] = {"artifact": str(report.routes["segment"].artifact_dir), "data": str(tmp_path / f"{name}.npz")}
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    script = tmp_path / "plain_tf.py"
    script.write_text(PLAIN_TF)
    run = subprocess.run([sys.executable, str(script), str(tmp_path / "cases.json")], capture_output=True, text=True,
                         timeout=600, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-1] == str(len(NAMES))


@pytest.mark.slow
def test_convnext_tiny_is_at_most_two_segments(tmp_path):
    """Keras runs ConvNeXt's grouped convolutions through jit_compile: inlined, the model is one segment (minutes)."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.applications.ConvNeXtTiny(weights=None, classifier_activation=None)
    report = tftrt_kit.convert(model, routes=("segment", "onnx"), output_dir=tmp_path, benchmark=False)
    segment = report.routes["segment"]
    assert segment.ok, segment.error
    assert len(segment.segments) <= 2 and segment.coverage >= 0.99
    assert segment.accuracy.verdict == "pass", segment.accuracy.reasons
    onnx = report.routes["onnx"]
    assert onnx.ok or ("TF node" in onnx.error and "unexpected" not in onnx.error), onnx.error


def test_a_call_left_whole_is_one_island_node_with_its_reason(kinds, tmp_path, monkeypatch):
    """Where a call is not inlined (inlining turned off here), it stays one node in TensorFlow, with the reason."""
    import tftrt_kit.inline

    monkeypatch.setattr(tftrt_kit.inline, "has_calls", lambda graph_def: False)
    saved_model, _ = kinds("xla_grouped_conv")
    source = load_source(saved_model)
    calls = [n.name for n in source.graph_def.node if n.op == "StatefulPartitionedCall"]
    assert len(calls) == 1
    result = SegmentRoute()(source, RouteContext(output_dir=tmp_path))
    assert [(f.op_type, f.count) for f in result.fallbacks if "could not be inlined" in f.reason] == [("StatefulPartitionedCall", 1)]
    manifest = json.loads((result.artifact_dir / ASSETS / "manifest.json").read_text())
    assert any(p["kind"] == "island" and calls[0] in p["node_names"] for p in manifest["parts"])
    feeds = KINDS["xla_grouped_conv"].sample(2, 4)
    expected = source.run(feeds)["output_0"]
    actual = tftrt_kit.load(result.artifact_dir)(feeds)["output_0"]
    assert float(np.abs(actual - expected).max()) <= 1e-4 * float(np.abs(expected).max())
