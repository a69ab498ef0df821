"""tf2onnx's optimizers on a large graph (weights shared, never copied): the same model as tf2onnx's own path."""

from __future__ import annotations

import numpy as np
import pytest

from tftrt_kit.export_optimizers import optimized_model


def _tf2onnx_graph(source, monkeypatch):
    """tf2onnx's graph of ``source``, as export._tf2onnx makes it, with tf2onnx's name counter reset."""
    import tensorflow as tf
    from tf2onnx import tf_loader, utils
    from tf2onnx.tfonnx import process_tf_graph

    monkeypatch.setattr(utils, "INTERNAL_NAME", 1)
    inputs, outputs = list(source.input_tensors), list(source.output_tensors)
    with tf.Graph().as_default():
        optimized = tf_loader.tf_optimize(inputs, outputs, source.graph_def)
    with tf.Graph().as_default() as tf_graph:
        tf.import_graph_def(optimized, name="")
        return process_tf_graph(tf_graph, continue_on_error=True, opset=17, input_names=inputs, output_names=outputs)


def _optimizers(**extra):
    from tf2onnx import optimizer

    optimizers = dict(optimizer._get_optimizers())
    return {**dict(list(optimizers.items())[:3]), **extra, **dict(list(optimizers.items())[3:])}


def _models(source, monkeypatch, optimizers):
    small = optimized_model([_tf2onnx_graph(source, monkeypatch)], optimizers, "doc", large=False)
    large = optimized_model([_tf2onnx_graph(source, monkeypatch)], optimizers, "doc", large=True)
    return small, large


def test_large_path_makes_the_same_model(source_of, monkeypatch):
    small, large = _models(source_of("small_cnn"), monkeypatch, _optimizers())
    assert len(large.graph.initializer) > 0
    assert large.SerializeToString(deterministic=True) == small.SerializeToString(deterministic=True)


def _run(model, feeds):
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


@pytest.mark.parametrize("name", ["mobilenet_v2", "dynamic_transformer"])
def test_large_path_makes_an_equivalent_model(source_of, monkeypatch, name):
    """tf2onnx's merge of duplicate constants keeps one of them by hash order: names may differ between any two runs."""
    from collections import Counter

    source = source_of(name)
    small, large = _models(source, monkeypatch, _optimizers())
    assert Counter(n.op_type for n in large.graph.node) == Counter(n.op_type for n in small.graph.node)
    assert sorted(tuple(t.dims) for t in large.graph.initializer) == sorted(tuple(t.dims) for t in small.graph.initializer)
    rng = np.random.default_rng(0)
    feeds = {}
    for tensor, spec in zip(source.input_tensors, source.inputs):
        shape = [2 if d is None else d for d in spec.shape]
        feeds[tensor] = rng.integers(0, 10, shape).astype(spec.dtype) if spec.dtype.startswith("int") else rng.random(shape, dtype=np.float32)
    for got, want in zip(_run(large, feeds), _run(small, feeds)):
        np.testing.assert_array_equal(got, want)


class _Failing:
    """An optimizer that rewrites every constant (value and proto) and then raises."""

    graph_been_opt = True

    def optimize(self, graph, iteration):
        for node in graph.get_nodes():
            if node.is_const():
                value = node.get_tensor_value(as_list=False)
                node.set_tensor_value(np.zeros_like(value))
        graph.update_proto()
        raise RuntimeError("optimizer failed half-way")


def test_a_failing_optimizer_is_skipped_on_the_graph_before_it(source_of, monkeypatch):
    small, large = _models(source_of("small_cnn"), monkeypatch, _optimizers(failing=_Failing))
    assert large.SerializeToString(deterministic=True) == small.SerializeToString(deterministic=True)
    assert any(np.any(np.frombuffer(t.raw_data, np.float32)) for t in large.graph.initializer if t.data_type == 1 and t.raw_data)


def test_large_path_model_matches_tensorflow(source_of, monkeypatch):
    import tensorflow as tf

    source = source_of("mobilenet_v2")
    model = optimized_model([_tf2onnx_graph(source, monkeypatch)], _optimizers(), "doc", large=True)
    spec = source.inputs[0]
    x = np.random.default_rng(0).random((2, *spec.shape[1:]), dtype=np.float32)
    got = _run(model, {source.input_tensors[0]: x})
    want = source.signature(**{spec.name: tf.constant(x)})
    np.testing.assert_allclose(got[0], want[source.outputs[0].name].numpy(), rtol=1e-4, atol=1e-4)
