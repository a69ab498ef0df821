"""Shape-tensor inputs (an int32 input the model uses as a shape) get min/opt/max VALUES in the profiles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tftrt_kit.errors import ConfigError
from tftrt_kit.profiles import ProfilePlan, resolve_profiles
from tftrt_kit.source import TensorSpec

SPECS = [TensorSpec("x", "float32", (1, 4)), TensorSpec("dims", "int32", (2,))]
VALUES = {"min": (1, 4), "opt": (3, 4), "max": (8, 4)}


def test_values_are_kept_apart_from_shapes_and_survive_json():
    plan = resolve_profiles(SPECS, [{"dims": {"values": VALUES}}, {"dims": {"values": (2, 4)}}])
    assert plan.profiles[0]["dims"] == ((2,), (2,), (2,))
    assert plan.values == ({"dims": ((1, 4), (3, 4), (8, 4))}, {"dims": ((2, 4), (2, 4), (2, 4))})
    assert ProfilePlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


@pytest.mark.parametrize(
    "shapes, message",
    [
        ({"x": {"values": (1, 4)}}, r"\['x'\]\['values'\] only for an int32/int64 input.*Received: input 'x' of dtype float32"),
        ({"dims": {"values": (1, 4, 2)}}, r"\['dims'\]\['values'\] as 2 non-negative int\(s\).*Received: \[1, 4, 2\]"),
        ({"dims": {"values": {"min": (4, 4), "opt": (3, 4), "max": (8, 4)}}}, r"\['dims'\]\['values'\] with min <= opt <= max"),
        ({"dims": {"values": {"min": (1, 4), "max": (8, 4)}}}, r"\['dims'\]\['values'\] with the keys"),
        ({"dims": {"values": (-1, 4)}}, r"non-negative"),
    ],
)
def test_bad_values_are_refused_naming_the_input(shapes, message):
    with pytest.raises(ConfigError, match=message):
        resolve_profiles(SPECS, shapes)


def _broadcast_model(tmp_path):
    tf = pytest.importorskip("tensorflow")

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32, name="x"), tf.TensorSpec([2], tf.int32, name="dims")])
        def serve(self, x, dims):
            return {"y": tf.broadcast_to(x, dims) * 2.0}

    model = Model()
    tf.saved_model.save(model, str(tmp_path / "sm"), signatures={"serving_default": model.serve})
    return tmp_path / "sm"


def test_onnx_route_builds_a_tensorrt_rtx_plan_from_the_values_and_records_them(tmp_path):
    pytest.importorskip("tensorrt_rtx", reason="tensorrt_rtx is not installed: no plan can be built to check the values")
    import tftrt_kit

    x = np.random.default_rng(0).standard_normal((1, 4)).astype(np.float32)
    sample = {"x": x, "dims": np.array([3, 4], np.int32)}
    common = dict(routes=["onnx"], backend="tensorrt_rtx", sample_data=sample, benchmark=False)
    report = tftrt_kit.convert(_broadcast_model(tmp_path), output_dir=tmp_path / "out", shapes={"dims": {"values": VALUES}}, **common)
    check = report.routes["onnx"].tensorrt
    assert check.plan_bytes and check.plan_bytes > 0, check.error
    assert check.shape_values == [{"dims": {"min": [1, 4], "opt": [3, 4], "max": [8, 4]}}]
    assert "dims" not in check.profiles[0]
    assert "onnx plan profile 0 shape-tensor values: dims: [1, 4] / [3, 4] / [8, 4]" in str(report)
    with tftrt_kit.load(tmp_path / "out" / "onnx") as loaded:  # ONNX Runtime here: no GPU runs the plan
        for dims in ([2, 4], [8, 4]):
            got = loaded(x=x, dims=np.array(dims, np.int32))["y"]
            np.testing.assert_allclose(got, np.broadcast_to(x, dims) * 2.0, rtol=1e-6)
    assert "onnx plan profile 0 shape-tensor values: dims: [1, 4] / [3, 4] / [8, 4]" in str(report)
    manifest = json.loads(next((tmp_path / "out" / "onnx").rglob("manifest.json")).read_text())
    assert manifest["profiles"]["values"] == [{"dims": {"min": [1, 4], "opt": [3, 4], "max": [8, 4]}}]
    assert manifest["tensorrt"]["shape_values"] == check.shape_values

    # Without values no plan is built, and TensorRT's input is named: never a guessed value.
    bare = tftrt_kit.convert(_broadcast_model(tmp_path / "bare"), output_dir=tmp_path / "bare_out", **common)
    missing = bare.routes["onnx"].tensorrt
    assert missing.plan_bytes is None and "none for dims[2]" in missing.error
    assert "pass shapes={'dims': {'values': {'min': (?, ?), " in missing.error


def _reshape_model(tmp_path):
    tf = pytest.importorskip("tensorflow")

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([12], tf.float32, name="x"), tf.TensorSpec([2], tf.int32, name="dims")])
        def serve(self, x, dims):
            inner = tf.reverse(dims, [0]) + 1  # an int tensor inside the graph, derived from the input's values
            return {"y": tf.tanh(tf.reshape(x * 2.0 + 1.0, dims) - 0.5), "z": tf.zeros(inner)}

    model = Model()
    tf.saved_model.save(model, str(tmp_path / "sm"), signatures={"serving_default": model.serve})
    return tmp_path / "sm"


RESHAPE_VALUES = {"min": (1, 1), "opt": (3, 4), "max": (12, 12)}


def test_segment_boundary_values_are_recorded_from_the_graph_run_at_each_bound(tmp_path):
    from tftrt_kit.routes.segment_profiles import segment_profiles
    from tftrt_kit.source import load_source

    source = load_source(_reshape_model(tmp_path))
    plan = resolve_profiles(source.inputs, {"dims": {"values": RESHAPE_VALUES}})
    tensors = {spec.name: tensor for spec, tensor in zip(source.inputs, source.input_tensors)}
    dims, x = tensors["dims"], tensors["x"]
    int32 = 3  # DT_INT32
    inner = next(n.name for n in source.graph_def.node if n.op == "AddV2" and n.attr["T"].type == int32) + ":0"

    class Segment:
        name, inputs = "seg", [dims, x, inner]

    profiles, _, values = segment_profiles(source, [Segment], plan)
    # TensorFlow ran at the min, opt and max values: reverse(dims) + 1 took [2, 2], [5, 4], [13, 13].
    assert values["seg"] == [{dims: ((1, 1), (3, 4), (12, 12)), inner: ((2, 2), (5, 4), (13, 13))}]
    assert profiles["seg"][0][x] == ((12,), (12,), (12,))


def test_segment_route_builds_a_tensorrt_rtx_plan_with_the_recorded_values(tmp_path):
    pytest.importorskip("tensorrt_rtx", reason="tensorrt_rtx is not installed: no plan can be built to check the values")
    import tftrt_kit

    x = np.random.default_rng(0).standard_normal((12,)).astype(np.float32)
    report = tftrt_kit.convert(
        _reshape_model(tmp_path), output_dir=tmp_path / "out", routes=["segment"], backend="tensorrt_rtx", benchmark=False,
        shapes={"dims": {"values": RESHAPE_VALUES}}, sample_data={"x": x, "dims": np.array([3, 4], np.int32)},
    )
    route = report.routes["segment"]
    assert route.ok, route.error
    checks = [s.tensorrt for s in route.segments if s.tensorrt is not None]
    with_values = [c for c in checks if c.shape_values]
    assert with_values and all(c.plan_bytes for c in with_values), [c.error for c in checks]
    recorded = {name: entry for c in with_values for name, entry in c.shape_values[0].items()}
    assert {"min": [1, 1], "opt": [3, 4], "max": [12, 12]} in recorded.values(), recorded
    manifest = json.loads(next((tmp_path / "out" / "segment").rglob("manifest.json")).read_text())
    assert [p["tensorrt"]["shape_values"] for p in manifest["parts"] if p.get("tensorrt") and p["tensorrt"]["shape_values"]] == [c.shape_values for c in with_values]


def test_without_sample_data_evaluation_and_latency_feed_the_opt_values(tmp_path):
    pytest.importorskip("tensorrt_rtx", reason="tensorrt_rtx is not installed: no plan can be built to check the values")
    import tftrt_kit
    from tftrt_kit.bench import BenchOptions

    bench = BenchOptions(batch_sizes=(1,), warmup=1, min_iterations=2, min_seconds=0.0, max_seconds=1.0, rounds=1)
    report = tftrt_kit.convert(
        _reshape_model(tmp_path), output_dir=tmp_path / "out", routes=["onnx"], backend="tensorrt_rtx", benchmark=bench,
        shapes={"dims": {"values": RESHAPE_VALUES}},
    )
    route = report.routes["onnx"]
    assert route.ok and route.tensorrt.plan_bytes, route.error or route.tensorrt.error
    assert route.accuracy.shapes == {"dims": [2], "x": [12]}
    assert "with shape-tensor values dims [3, 4]" in route.accuracy.inputs
    y = route.accuracy.per_output["y"]  # z is zeros: the report calls its comparison inconclusive
    assert y.max_rel_error <= 1e-4 and y.cosine > 0.99999, str(report)
    # Timed at the opt values: with random 0/1 ints the reshape of 12 elements fails and no figure exists.
    assert route.latencies and report.source.latencies, str(report)


def test_cli_shape_value_flags_give_the_plan_its_values(tmp_path, capsys):
    pytest.importorskip("tensorrt_rtx", reason="tensorrt_rtx is not installed: no plan can be built to check the values")
    from tftrt_kit.cli import main
    from tftrt_kit.report import Report

    out = tmp_path / "report.json"
    code = main([
        "convert", str(_reshape_model(tmp_path)), "--routes", "onnx", "--out", str(tmp_path / "out"), "--no-benchmark", "--report", str(out),
        "--min-shape-values", "dims:1x1", "--opt-shape-values", "dims:3x4", "--max-shape-values", "dims:12x12",
    ])
    assert code == 0
    check = Report.from_json(out).routes["onnx"].tensorrt
    assert check.plan_bytes and check.shape_values == [{"dims": {"min": [1, 1], "opt": [3, 4], "max": [12, 12]}}]
    # bench ARTIFACT feeds the recorded opt values: random 0/1 ints would fail every call.
    assert main(["bench", str(tmp_path / "out" / "onnx"), "--batch-sizes", "1", "--rounds", "1"]) == 0
    printed = capsys.readouterr().out
    assert "not measured" not in printed and "onnxruntime" in printed, printed


def test_value_flags_name_the_input_missing_from_one_bound():
    from tftrt_kit.profile_flags import parse_shape_flags

    with pytest.raises(ConfigError, match=r"'dims' in --min-shape-values, --opt-shape-values, --max-shape-values.*missing from --max-shape-values"):
        parse_shape_flags(None, None, None, values=("dims:1x4", "dims:3x4", None))
    both = parse_shape_flags("x:12", "x:12", "x:12", values=("x:1x1", "x:2x2", "x:3x3"))
    assert both == {"x": {"min": (12,), "opt": (12,), "max": (12,), "values": {"min": (1, 1), "opt": (2, 2), "max": (3, 3)}}}
