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


def _assert_int8_plan(check):
    if check is not None:
        assert check.accepted and check.precision == "int8" and check.plan_bytes > 0, check


def test_keras_source_quantizes_at_keras_level(calibration, tmp_path):
    from tests.models import build

    report = tftrt_kit.convert(build("small_cnn"), routes=("onnx",), precision="int8", calibration_data=calibration,
                               output_dir=tmp_path, benchmark=False)
    route = report.routes["onnx"]
    assert route.ok, route.error
    assert route.details["quantization"] == {"level": "keras", "method": "max", "calibration_samples": 32, "batches": 1}
    model = onnx.load(route.artifact_dir / "model.onnx")
    assert summarize_qdq(model).tensorrt_shaped
    assert {"quantize", "calibrate", "export"} <= set(route.timings)
    assert route.accuracy.cosine > 0.99
    assert route.accuracy.inputs == "calibration_data" and route.accuracy.samples == 32
    _assert_int8_plan(route.tensorrt)


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
        _assert_int8_plan(segment.tensorrt)


def test_int8_without_calibration_data_fails_clearly(saved_model, tmp_path):
    report = tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), precision="int8", output_dir=tmp_path, benchmark=False)
    route = report.routes["onnx"]
    assert not route.ok and "CalibrationError" in route.error and "'image'" in route.error and "calibration_data" in route.error


def test_report_shows_the_calibration(saved_model, calibration, tmp_path):
    report = tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), precision="int8", calibration_data=calibration,
                               calibration_method="percentile", output_dir=tmp_path, benchmark=False)
    quantization = report.routes["onnx"].details["quantization"]
    assert quantization["method"] == "percentile" and quantization["calibration_samples"] == 32
    for text in (str(report), report.to_markdown()):
        assert "onnx: INT8 quantization" in text and "percentile" in text
