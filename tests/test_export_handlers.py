"""Handlers for ops tf2onnx leaves out or exports in a form TensorRT refuses: checked against TensorFlow."""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from tests.conftest import tensorrt_rtx_or_skip
from tftrt_kit.export import ExportOptions, export_graph


def _export(fn, spec):
    """(ONNX model, tf.function) of ``fn`` over one input of ``spec``."""
    function = tf.function(fn, input_signature=[spec])
    graph_def = convert_variables_to_constants_v2(function.get_concrete_function()).graph.as_graph_def()
    output = next(n.name for n in graph_def.node if n.name == "out")
    return export_graph(graph_def, [f"{spec.name}:0"], [f"{output}:0"], ExportOptions(), name="handler"), function


def _run(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_erfc_keeps_float32_relative_precision_over_its_whole_range():
    model, function = _export(lambda x: tf.identity(tf.math.erfc(x), name="out"), tf.TensorSpec([None], tf.float32, name="x"))
    onnx.checker.check_model(model)
    x = np.concatenate([np.linspace(-10, 10, 40001), [4.0, 6.2, np.inf, -np.inf]]).astype(np.float32)
    got, want = _run(model, x), function(x).numpy()
    exact = np.array([math.erfc(float(v)) for v in x])
    normal = np.abs(want) > np.finfo(np.float32).tiny  # erfc(x > 9.2) is subnormal in float32
    assert np.max(np.abs(got[normal] - want[normal]) / np.abs(want[normal])) < 1e-5
    assert np.max(np.abs(got[normal] - exact[normal]) / exact[normal]) < 1e-6
    assert np.max(np.abs(got - want)) < 1e-6
    assert got[-2] == 0.0 and got[-1] == 2.0  # erfc(+inf), erfc(-inf)
    assert 1.5e-8 < got[np.flatnonzero(x == 4.0)[0]] < 1.6e-8  # 1 - erf(4) is 0 in float32


def test_symmetric_fake_quant_exports_as_int8_with_zero_point_zero():
    model, function = _export(
        lambda x: tf.identity(tf.quantization.fake_quant_with_min_max_vars(x, -6.0, 6.0), name="out"),
        tf.TensorSpec([None, 8], tf.float32, name="x"),
    )
    quantize = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
    assert len(quantize) == 1
    zero_point = next(t for t in model.graph.initializer if t.name == quantize[0].input[2])
    assert zero_point.data_type == onnx.TensorProto.INT8 and onnx.numpy_helper.to_array(zero_point) == 0
    x = np.random.default_rng(0).uniform(-8, 8, size=(16, 8)).astype(np.float32)
    np.testing.assert_allclose(_run(model, x), function(x).numpy(), atol=1e-6)
    tensorrt_rtx_or_skip()
    from tftrt_kit.engines.tensorrt_builder import TensorRTBuilder

    check = TensorRTBuilder("tensorrt_rtx").check(model)
    assert check.accepted, check.unsupported_nodes


@pytest.mark.parametrize("low, high", [(0.0, 6.0), (-1.0, 3.0), (-10.0, 10.0), (-1.0, 1.0)])
def test_other_fake_quant_ranges_export_on_tensorflows_own_uint8_grid(low, high):
    # TF nudges in float32: [-10, 10] and [-1, 1] get zero point 127, not int8's 128.
    model, function = _export(
        lambda x: tf.identity(tf.quantization.fake_quant_with_min_max_vars(x, low, high), name="out"),
        tf.TensorSpec([None, 8], tf.float32, name="x"),
    )
    quantize = next(n for n in model.graph.node if n.op_type == "QuantizeLinear")
    zero_point = next(t for t in model.graph.initializer if t.name == quantize.input[2])
    assert zero_point.data_type == onnx.TensorProto.UINT8
    x = np.random.default_rng(1).uniform(2 * low - 1, 2 * high + 1, size=(64, 8)).astype(np.float32)
    np.testing.assert_allclose(_run(model, x), function(x).numpy(), atol=1e-6)


def test_exact_gelu_keeps_its_negative_tail():
    # tf.nn.gelu(approximate=False) = x * erfc(-x / sqrt(2)) / 2: with 1 - erf, gelu(x < -5.5) was exactly 0.
    model, function = _export(lambda x: tf.identity(tf.nn.gelu(x, approximate=False), name="out"), tf.TensorSpec([None], tf.float32, name="x"))
    x = np.linspace(-12, 6, 9001).astype(np.float32)
    got, want = _run(model, x), function(x).numpy()
    normal = np.abs(want) > np.finfo(np.float32).tiny
    assert np.max(np.abs(got[normal] - want[normal]) / np.abs(want[normal])) < 1e-5
    assert got[np.flatnonzero(x <= -8)].min() < 0  # gelu(-8) = -5e-15, not 0
