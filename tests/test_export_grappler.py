"""Grappler's pass without the weights (large graphs): same graph back, same outputs as TensorFlow."""

from __future__ import annotations

import numpy as np

from tftrt_kit import export_grappler
from tftrt_kit.export import export_graph


def _weights(graph_def, at_least):
    return {n.name: n for n in graph_def.node if n.op == "Const" and len(n.attr["value"].tensor.tensor_content) >= at_least}


def test_strip_weights_leaves_placeholders_of_the_weights_shapes(source_of):
    graph_def = source_of("small_cnn").graph_def
    large = _weights(graph_def, 256)
    assert large, "small_cnn should hold weights of at least 256 bytes"
    stripped, weights = export_grappler.strip_weights(graph_def, 256)
    assert set(weights) == set(large)
    placeholders = {n.name: n for n in stripped.node if n.name in large}
    assert {n.op for n in placeholders.values()} == {"Placeholder"}
    for name, node in placeholders.items():
        assert node.attr["dtype"] == large[name].attr["dtype"]
        assert node.attr["shape"].shape == large[name].attr["value"].tensor.tensor_shape
    assert not _weights(stripped, 256)
    assert len(stripped.node) == len(graph_def.node)
    assert _weights(graph_def, 256).keys() == large.keys()  # the source graph is not touched


def test_weightless_pass_puts_every_weight_back(source_of):
    import tensorflow as tf

    source = source_of("small_cnn")
    graph_def = source.graph_def
    with tf.Graph().as_default():  # as tf2onnx's conversion runs it
        optimized = export_grappler.optimize(list(source.input_tensors), list(source.output_tensors), graph_def, weightless=True, weight_bytes=256)
    assert not [n.name for n in optimized.node if n.op == "Placeholder" and n.name not in {t.split(":")[0] for t in source.input_tensors}]
    large = _weights(graph_def, 256)
    for name, node in _weights(optimized, 256).items():
        assert node.attr["value"].tensor.tensor_content == large[name].attr["value"].tensor.tensor_content


def test_large_graph_export_matches_tensorflow(source_of, monkeypatch):
    import onnxruntime as ort
    import tensorflow as tf

    source = source_of("small_cnn")
    monkeypatch.setattr(export_grappler, "WEIGHT_BYTES", 256)
    renames = {t: s.name for t, s in zip(source.input_tensors, source.inputs)}
    renames.update({t: s.name for t, s in zip(source.output_tensors, source.outputs)})
    model = export_graph(source.graph_def, list(source.input_tensors), list(source.output_tensors), renames=renames, large_graph=True)
    assert [i.name for i in model.graph.input] == [s.name for s in source.inputs]
    spec = source.inputs[0]
    x = np.random.default_rng(0).random((2, *spec.shape[1:]), dtype=np.float32)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {spec.name: x})
    want = source.signature(**{spec.name: tf.constant(x)})
    for output, value in zip(model.graph.output, got):
        np.testing.assert_allclose(value, want[output.name].numpy(), rtol=1e-5, atol=1e-5)
