"""ONNX-level PTQ with ONNX Runtime: symmetric int8, per-channel, Q/DQ on TensorRT's ops only."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from conftest import build_int8_plan
from tftrt_kit.errors import CalibrationError, QuantizationError
from tftrt_kit.export import export_source
from tftrt_kit.quantize import OnnxPtqOptions, quantize_onnx, summarize_qdq
from tftrt_kit.source import load_source

L = keras.layers


@pytest.fixture(scope="module")
def float_onnx():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3), name="x")
    x = L.ReLU()(L.Conv2D(8, 3, padding="same", name="conv")(inputs))
    y = L.Conv2D(8, 3, padding="same", name="conv2")(x)
    x = L.ReLU()(L.Add()([x, y]))
    x = L.Conv2DTranspose(4, 3, strides=2, padding="same", name="deconv")(x)
    x = L.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, L.Dense(5, name="fc")(x))
    return export_source(load_source(model))


@pytest.fixture(scope="module")
def feeds():
    return {"x": np.random.RandomState(0).randn(64, 8, 8, 3).astype("float32")}


@pytest.mark.parametrize("method", ["max", "percentile", "entropy"])
def test_ptq_is_tensorrt_shaped(float_onnx, feeds, method):
    quantized = quantize_onnx(float_onnx, feeds, method=method)
    summary = summarize_qdq(quantized)
    assert summary.tensorrt_shaped
    assert sorted((w.consumer, w.axis, w.scales) for w in summary.weights) == [
        ("Conv", 0, 8), ("Conv", 0, 8), ("ConvTranspose", 1, 4), ("MatMul", 1, 5)
    ]
    assert summary.zero_point_dtypes == ("int8",)


def test_ptq_output_is_close_and_tensorrt_rtx_builds_it(float_onnx, feeds):
    from tftrt_kit.engines.onnxruntime import OnnxRuntimeExecutor

    quantized = quantize_onnx(float_onnx, feeds, method="max", options=OnnxPtqOptions(batch_size=16))
    reference = OnnxRuntimeExecutor(float_onnx)(feeds)
    got = OnnxRuntimeExecutor(quantized)(feeds)
    for name, value in reference.items():
        cosine = np.sum(value * got[name]) / (np.linalg.norm(value) * np.linalg.norm(got[name]))
        assert cosine > 0.99
    plan, check = build_int8_plan(quantized)
    assert check.accepted and len(plan) > 0


def test_bad_inputs(float_onnx, feeds):
    with pytest.raises(QuantizationError, match="method"):
        quantize_onnx(float_onnx, feeds, method="mse")
    with pytest.raises(CalibrationError, match="'x'"):
        quantize_onnx(float_onnx, {"x": np.full((4, 8, 8, 3), np.inf, "float32")})
    with pytest.raises(CalibrationError, match="empty|0 rows"):
        quantize_onnx(float_onnx, iter([]))


def test_residual_add_gets_qdq_on_its_identity_branch_only(float_onnx, feeds):
    from tftrt_kit.quantize.onnx_ptq import residual_adds

    (add,) = [n for n in float_onnx.graph.node if n.op_type == "Add" and n.name in residual_adds(float_onnx)]
    producer = {o: n for n in float_onnx.graph.node for o in n.output}
    conv_branch = residual_adds(float_onnx)[add.name]
    assert [producer[add.input[i]].op_type for i in conv_branch] == ["Conv"]
    quantized = quantize_onnx(float_onnx, feeds, method="max")
    producer = {o: n for n in quantized.graph.node for o in n.output}
    (q_add,) = [n for n in quantized.graph.node if n.name == add.name]
    kinds = [producer[name].op_type for name in q_add.input]
    identity = 1 - conv_branch[0]
    assert kinds[identity] == "DequantizeLinear" and kinds[conv_branch[0]] == "Conv"
    assert producer[producer[q_add.input[identity]].input[0]].op_type == "QuantizeLinear"
    assert summarize_qdq(quantized).tensorrt_shaped
    plan, check = build_int8_plan(quantized)
    assert check.accepted and len(plan) > 0


def test_projection_shortcut_keeps_only_the_last_conv_branch_float():
    from onnx import TensorProto, helper

    from tftrt_kit.quantize.onnx_ptq import residual_adds

    weights = [helper.make_tensor(f"w{k}", TensorProto.FLOAT, [4, 3, 1, 1], [0.1] * 12) for k in range(2)]
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w0"], ["a"], name="conv_a"), helper.make_node("Conv", ["x", "w1"], ["b"], name="conv_b"),
         helper.make_node("Add", ["a", "b"], ["y"], name="add"), helper.make_node("Add", ["y", "bias"], ["z"], name="bias_add")],
        "projection", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4, 4, 4])],
        initializer=[*weights, helper.make_tensor("bias", TensorProto.FLOAT, [1], [0.5])],
    )
    # Both branches come from a conv: the last stays float (fused), the other is quantized; an Add of a constant is a bias.
    assert residual_adds(helper.make_model(graph)) == {"add": (1,)}
