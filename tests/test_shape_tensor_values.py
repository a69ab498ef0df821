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
