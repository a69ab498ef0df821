"""The Keras Q/DQ model exported to ONNX: TensorRT-shaped structure, ORT agreement, TensorRT-RTX INT8 build."""

from __future__ import annotations

import keras
import numpy as np
import onnx
import pytest

from conftest import build_int8_plan
from tftrt_kit.errors import QuantizationError
from tftrt_kit.onnx_checks import foreign_nodes
from tftrt_kit.quantize import calibrate, export_quantized, quantize_model, summarize_qdq

L = keras.layers


def _all_weighted_layers():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3), name="x")
    x = L.Conv2D(4, 3, padding="same", bias_initializer="ones", name="conv")(inputs)
    x = L.DepthwiseConv2D(3, padding="same", bias_initializer="ones", name="dw")(x)
    x = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, bias_initializer="ones", name="dw2")(x)
    x = L.Conv2DTranspose(5, 3, strides=2, padding="same", bias_initializer="ones", name="deconv")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, L.Dense(6, bias_initializer="ones", name="fc")(x))


@pytest.fixture(scope="module")
def exported():
    qmodel = quantize_model(_all_weighted_layers())
    x = np.random.RandomState(0).randn(64, 8, 8, 3).astype("float32")
    calibrate(qmodel, x, method="percentile")
    return qmodel, export_quantized(qmodel), x


def test_structure_is_tensorrt_shaped(exported):
    qmodel, model, _ = exported
    onnx.checker.check_model(model, full_check=True)
    summary = summarize_qdq(model)
    assert summary.tensorrt_shaped
    assert summary.quantize == summary.dequantize == 11  # 6 activation + 5 weight pairs
    assert summary.activation_consumers == {"Conv": 3, "ConvTranspose": 1, "GlobalAveragePool": 1, "MatMul": 1}
    assert summary.zero_point_dtypes == ("int8",) and summary.zero_points_zero and summary.per_tensor_activations
    assert summary.tf_ops == () and foreign_nodes(model) == []
    axes = sorted((w.consumer, w.axis, w.scales) for w in summary.weights)
    # Conv weights OIHW -> axis 0 (depthwise: in*mult outputs); ConvTranspose IOHW -> axis 1; MatMul (in, out) -> 1.
    assert axes == [("Conv", 0, 4), ("Conv", 0, 4), ("Conv", 0, 8), ("ConvTranspose", 1, 5), ("MatMul", 1, 6)]
    assert all(w.direct for w in summary.weights)


def test_onnx_runtime_matches_the_keras_quantized_model(exported):
    import onnxruntime as ort

    qmodel, model, x = exported
    expected = qmodel.predict(x, verbose=0)
    options = ort.SessionOptions()
    # BASIC keeps Q/DQ as float ops (exact emulation, what TensorRT means); ALL fuses them
    # into int8 kernels whose rounding of intermediate results may differ by one step.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    exact = ort.InferenceSession(model.SerializeToString(), options).run(None, {"x": x})[0]
    np.testing.assert_allclose(exact, expected, atol=1e-5 * np.abs(expected).max())
    fused = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    assert np.abs(fused - expected).max() < 0.1 * np.abs(expected).max()


def test_tensorrt_rtx_builds_an_int8_plan(exported):
    plan, check = build_int8_plan(exported[1])
    assert check.accepted and check.precision == "int8" and len(plan) == check.plan_bytes > 0


def test_uncalibrated_model_is_refused():
    with pytest.raises(QuantizationError, match="calibrate"):
        export_quantized(quantize_model(_all_weighted_layers()))


def test_summary_of_a_float_model_is_empty():
    from tftrt_kit.export import export_source
    from tftrt_kit.source import load_source

    summary = summarize_qdq(export_source(load_source(_all_weighted_layers())))
    assert summary.quantize == summary.dequantize == 0 and not summary.tensorrt_shaped


def test_keras_file_round_trip_keeps_quantizers_and_amax(exported, tmp_path):
    qmodel, _, x = exported
    path = tmp_path / "q.keras"
    qmodel.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), qmodel.predict(x, verbose=0))
