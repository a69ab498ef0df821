"""precision="int8" through convert(): both routes, Keras-level and ONNX-level, calibration recorded."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

import tftrt_kit
from tftrt_kit.quantize import summarize_qdq
from tftrt_kit.routes.segment import ASSETS


@pytest.fixture(scope="module")
def calibration():
    return np.random.default_rng(0).standard_normal((32, 16, 16, 3)).astype(np.float32)


def _assert_int8_plan(check, route):
    if check is None:
        pytest.skip(f"no TensorRT builder checked the INT8 plan: {route.details.get('tensorrt_skipped', 'none installed')}")
    assert check.accepted and check.precision == "int8" and check.plan_bytes > 0, check


def test_keras_source_quantizes_at_keras_level(calibration, tmp_path):
    from tests.models import build

    report = tftrt_kit.convert(build("small_cnn"), routes=("onnx",), precision="int8", calibration_data=calibration,
                               output_dir=tmp_path, benchmark=False)
    route = report.routes["onnx"]
    assert route.ok, route.error
    # 32 rows: the last 6 (20%) are held out to judge accuracy, the first 26 calibrate.
    assert route.details["quantization"] == {"level": "keras", "method": "max", "calibration_samples": 26, "batches": 1}
    model = onnx.load(route.artifact_dir / "model.onnx")
    assert summarize_qdq(model).tensorrt_shaped
    assert {"quantize", "calibrate", "export"} <= set(route.timings)
    assert route.accuracy.cosine > 0.99
    assert route.accuracy.inputs == "calibration_data rows 26-31 of 32, held out from calibration (which used rows 0-25)"
    assert route.accuracy.samples == 6 and route.accuracy.inputs in str(report)
    _assert_int8_plan(route.tensorrt, route)


def test_saved_model_source_quantizes_at_onnx_level_on_both_routes(saved_model, calibration, tmp_path):
    report = tftrt_kit.convert(saved_model("small_cnn"), routes=("segment", "onnx"), precision="int8",
                               calibration_data=calibration, output_dir=tmp_path, benchmark=False)
    for name in ("segment", "onnx"):
        route = report.routes[name]
        assert route.ok, route.error
        assert route.details["quantization"]["level"] == "onnx"
        assert route.accuracy.cosine > 0.99
    assert summarize_qdq(onnx.load(report.routes["onnx"].artifact_dir / "model.onnx")).tensorrt_shaped
    for segment in report.routes["segment"].segments:
        assert summarize_qdq(onnx.load(report.routes["segment"].artifact_dir / ASSETS / f"{segment.name}.onnx")).tensorrt_shaped
        _assert_int8_plan(segment.tensorrt, report.routes["segment"])


def test_int8_without_calibration_data_fails_before_work(saved_model, tmp_path):
    with pytest.raises(tftrt_kit.ConfigError, match="Expected calibration_data for precision='int8'"):
        tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), precision="int8", output_dir=tmp_path, benchmark=False)


def test_report_shows_the_calibration(saved_model, calibration, tmp_path):
    report = tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), precision="int8", calibration_data=calibration,
                               calibration_method="percentile", output_dir=tmp_path, benchmark=False)
    quantization = report.routes["onnx"].details["quantization"]
    assert quantization["method"] == "percentile" and quantization["calibration_samples"] == 26
    for text in (str(report), report.to_markdown()):
        assert "onnx: INT8 quantization" in text and "percentile" in text


def test_segment_route_quantizes_a_residual_adds_identity_branch_only(saved_model, tmp_path):
    data = np.random.default_rng(1).standard_normal((16, 8, 8, 4)).astype(np.float32)
    report = tftrt_kit.convert(saved_model("diamond"), routes=("segment",), precision="int8", calibration_data=data,
                               output_dir=tmp_path, benchmark=False, build_plans=False)
    route = report.routes["segment"]
    assert route.ok, route.error
    residual = []
    for segment in route.segments:
        model = onnx.load(route.artifact_dir / ASSETS / f"{segment.name}.onnx")
        producer = {o: n for n in model.graph.node for o in n.output}
        for add in (n for n in model.graph.node if n.op_type == "Add" and len(n.input) == 2):
            kinds = [producer[t].op_type if t in producer else "input" for t in add.input]
            if "Conv" in kinds:
                residual.append(kinds)
        assert summarize_qdq(model).tensorrt_shaped
    # diamond's Add: the 1x1 conv branch fuses (stays float), the other branch (a ReLU conv read twice) gets Q/DQ.
    assert residual == [["DequantizeLinear", "Conv"]] or residual == [["Conv", "DequantizeLinear"]], residual
    assert route.accuracy.cosine > 0.99
