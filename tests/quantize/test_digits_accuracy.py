"""End to end on a digits CNN trained here: FP32 vs INT8 PTQ (each method) vs QAT, measured by
ONNX Runtime on the exported Q/DQ ONNX against held-out digits. Bounds are drops relative to
the FP32 accuracy measured in the same run (issue 5 targets), never absolute accuracies."""

from __future__ import annotations

import keras
import pytest

from conftest import build_int8_plan, onnx_accuracy
from tftrt_kit.export import export_source
from tftrt_kit.quantize import (
    QatOptions, calibrate, export_quantized, finetune, quantize_model, quantize_onnx, summarize_qdq,
)
from tftrt_kit.source import load_source

PTQ_MAX_DROP = 1.0
QAT_MAX_DROP = 0.5
KERAS_METHODS = ("max", "percentile", "entropy", "mse")
ORT_METHODS = ("max", "percentile", "entropy")


@pytest.fixture(scope="module")
def measured(trained_cnn):
    """Every accuracy (percent) and the Q/DQ ONNX models, measured once."""
    data = trained_cnn.data
    float_onnx = export_source(load_source(trained_cnn.model))
    results = {"fp32": onnx_accuracy(float_onnx, data.x_test, data.y_test)}
    models = {}
    qmodel = quantize_model(trained_cnn.model)
    for method in KERAS_METHODS:
        calibrate(qmodel, data.x_calib, method=method)
        models[f"keras-{method}"] = export_quantized(qmodel)
    for method in ORT_METHODS:
        models[f"ort-{method}"] = quantize_onnx(float_onnx, {"image": data.x_calib}, method=method)
    calibrate(qmodel, data.x_calib, method="max")
    finetune(
        qmodel, data.x_train, data.y_train,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        options=QatOptions(epochs=2, learning_rate=3e-5, batch_size=32),
    )
    models["qat"] = export_quantized(qmodel)
    for name, model in models.items():
        results[name] = onnx_accuracy(model, data.x_test, data.y_test)
    return results, models


def test_fp32_model_learned_digits(measured):
    results, _ = measured
    assert results["fp32"] > 90.0, results  # sanity of the fixture, not a quantization target


@pytest.mark.parametrize("name", [f"keras-{m}" for m in KERAS_METHODS] + [f"ort-{m}" for m in ORT_METHODS])
def test_ptq_drop_is_within_one_point(measured, name):
    results, models = measured
    assert summarize_qdq(models[name]).tensorrt_shaped
    assert results["fp32"] - results[name] <= PTQ_MAX_DROP, results


def test_qat_drop_is_within_half_a_point(measured):
    results, _ = measured
    assert results["fp32"] - results["qat"] <= QAT_MAX_DROP, results


def test_digits_placement_counts(measured):
    summary = summarize_qdq(measured[1]["keras-max"])
    # 6 activation pairs (stem, block_conv1 whose Q/DQ also feeds the residual Add, block_conv2,
    # down, gap, logits) + 5 weight pairs.
    assert summary.quantize == 11 and summary.activation_consumers == {"Conv": 4, "Add": 1, "GlobalAveragePool": 1, "MatMul": 1}
    assert sorted(w.consumer for w in summary.weights) == ["Conv", "Conv", "Conv", "Conv", "MatMul"]


@pytest.mark.parametrize("name", ["keras-entropy", "ort-entropy", "qat"])
def test_tensorrt_rtx_builds_int8_from_digits(measured, name):
    plan, check = build_int8_plan(measured[1][name])
    assert check.accepted and len(plan) > 0
