"""Grappler's pass without the weights (large graphs): same graph back, same outputs as TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

from tftrt_kit import export_grappler, graph_weights
from tftrt_kit.export import export_graph


@pytest.fixture
def small_weights(monkeypatch):
    """Every Const of more than 8 elements counts as a weight (the test models' weights are tiny)."""
    monkeypatch.setattr(graph_weights, "WEIGHT_ELEMENTS", 8)


def test_split_weights_leaves_valueless_consts_of_the_weights_shapes(source_of, small_weights):
    graph_def = source_of("small_cnn").frozen_graph_def()
    large = {n.name: n for n in graph_def.node if n.op == "Const" and graph_weights.elements_of(n) > 8}
    assert large, "small_cnn should hold Consts of more than 8 elements"
    light, weights = graph_weights.split_weights(graph_def)
    assert weights.names == set(large) and not weights.variables
    for node in light.node:
        if node.name in large:
            tensor = node.attr["value"].tensor
            assert node.op == "Const" and not tensor.tensor_content and tensor.tensor_shape == large[node.name].attr["value"].tensor.tensor_shape
            np.testing.assert_array_equal(weights.value(node.name).ravel().view(np.uint8), np.frombuffer(large[node.name].attr["value"].tensor.tensor_content, np.uint8))
    assert [n.name for n in light.node] == [n.name for n in graph_def.node]
    filled = weights.filled(light)
    assert filled == graph_def  # every value back, byte for byte


def test_weightless_pass_puts_every_weight_back(source_of, small_weights):
    import tensorflow as tf

    source = source_of("small_cnn")
    light, weights = graph_weights.split_weights(source.frozen_graph_def())
    with tf.Graph().as_default():  # as tf2onnx's conversion runs it
        optimized = export_grappler.optimize(list(source.input_tensors), list(source.output_tensors), light, weights=weights)
    assert not [n.name for n in optimized.node if n.op == "Placeholder" and n.name not in {t.split(":")[0] for t in source.input_tensors}]
    back = {n.name: n for n in optimized.node if n.name in weights}
    assert set(back) == weights.names
    original = {n.name: n for n in light.node}
    assert all(node == original[name] for name, node in back.items())


def test_large_graph_export_matches_tensorflow(source_of, small_weights):
    import onnxruntime as ort
    import tensorflow as tf

    source = source_of("small_cnn")
    renames = {t: s.name for t, s in zip(source.input_tensors, source.inputs)}
    renames.update({t: s.name for t, s in zip(source.output_tensors, source.outputs)})
    model = export_graph(source.frozen_graph_def(), list(source.input_tensors), list(source.output_tensors), renames=renames, large_graph=True)
    assert [i.name for i in model.graph.input] == [s.name for s in source.inputs]
    spec = source.inputs[0]
    x = np.random.default_rng(0).random((2, *spec.shape[1:]), dtype=np.float32)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {spec.name: x})
    want = source.signature(**{spec.name: tf.constant(x)})
    for output, value in zip(model.graph.output, got):
        np.testing.assert_allclose(value, want[output.name].numpy(), rtol=1e-5, atol=1e-5)
