"""A chain of FakeQuant nodes converts at every precision: in TensorFlow at FP32, in TensorRT's Q/DQ form at INT8."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
import tensorflow as tf

import tftrt_kit
from tftrt_kit.compat import trt_convert as trt
from tftrt_kit.runtime.artifact import SEGMENT_ASSETS, read_manifest

LINKS = 7


@pytest.fixture(scope="module")
def chain_model(tmp_path_factory):
    """x -> 7 x (FakeQuant[-6, 6] -> Mul -> Add), then a MatMul: each FakeQuant between two float ops."""

    def graph(x):
        for k in range(LINKS):
            x = tf.quantization.fake_quant_with_min_max_vars(x, -6.0, 6.0, name=f"fq{k}")
            x = tf.add(tf.multiply(x, 0.9, name=f"scale{k}"), 0.1, name=f"shift{k}")
        return tf.identity(tf.matmul(x, tf.constant(np.ones((8, 2), np.float32))), name="output_0")

    root = tf.Module()
    root.run = tf.function(graph, input_signature=[tf.TensorSpec([None, 8], tf.float32, name="input_0")])
    path = tmp_path_factory.mktemp("fq_chain") / "source"
    tf.saved_model.save(root, str(path), signatures={"serving_default": root.run})
    return path, root.run


def _convert(path, **kwargs):
    converter = trt.TrtGraphConverterV2(input_saved_model_dir=str(path), minimum_segment_size=2, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        converter.convert()
    return converter


def _check_numbers(converter, function, tolerance):
    x = np.random.default_rng(0).uniform(-10, 10, size=(16, 8)).astype(np.float32)
    got = tftrt_kit.load(converter.artifact_dir)({"input_0": x})["output_0"]
    np.testing.assert_allclose(got, function(x).numpy(), atol=tolerance, rtol=tolerance)


def test_fp32_keeps_every_fake_quant_in_tensorflow(chain_model):
    path, function = chain_model
    converter = _convert(path)
    fallbacks = {f.op_type: f for f in converter.route_result.fallbacks}
    assert fallbacks["FakeQuantWithMinMaxVars"].count == LINKS
    assert "only at precision int8" in fallbacks["FakeQuantWithMinMaxVars"].reason
    segments = [e for e in read_manifest(converter.artifact_dir)["parts"] if e["kind"] == "segment"]
    assert len(segments) == LINKS  # Mul+Add after each FakeQuant (the last with the MatMul)
    assert not any("FakeQuant" in name for e in segments for name in e["node_names"])
    _check_numbers(converter, function, 1e-4)


def test_int8_without_calibration_takes_the_chain_as_int8_qdq(chain_model):
    path, function = chain_model
    converter = _convert(path, precision_mode="INT8", use_calibration=False)
    (segment,) = [e for e in read_manifest(converter.artifact_dir)["parts"] if e["kind"] == "segment"]
    fake_quants = [n for n in segment["node_names"] if n.split("/")[-1].startswith("fq")]
    assert len(fake_quants) == LINKS
    model = onnx.load(str(converter.artifact_dir / SEGMENT_ASSETS / segment["onnx_file"]))
    zero_points = [t for t in model.graph.initializer if "zero_point" in t.name]
    assert {t.data_type for t in zero_points} == {onnx.TensorProto.INT8}
    assert sum(n.op_type == "QuantizeLinear" for n in model.graph.node) == LINKS
    # TensorFlow rounds quantization ties up, ONNX Runtime to even: one step (16 / 255) apart at most, per link.
    _check_numbers(converter, function, 1e-5)
