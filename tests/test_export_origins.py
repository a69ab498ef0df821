"""Which TF node each ONNX node came from, as recorded while tf2onnx converts."""

from __future__ import annotations

import pytest

from tftrt_kit.export import export_traced
from tftrt_kit.routes.segment_export import refused_tf_nodes


@pytest.fixture(scope="module")
def traced(source_of):
    cache = {}

    def get(name):
        if name not in cache:
            source = source_of(name)
            cache[name] = (source, export_traced(source.graph_def, source.input_tensors, source.output_tensors, weights=source.weights))
        return cache[name]

    return get


@pytest.mark.parametrize("name", ["small_cnn", "attention_block", "mobilenet_v2", "padded_conv"])
def test_every_onnx_node_traces_to_tf_nodes_of_the_graph(traced, name):
    source, export = traced(name)
    tf_nodes = {n.name for n in source.graph_def.node}
    assert sorted(export.origins) == sorted(n.name for n in export.model.graph.node)
    for onnx_name, origins in export.origins.items():
        assert origins and set(origins) <= tf_nodes, (onnx_name, origins)
        if onnx_name in tf_nodes:
            assert origins == (onnx_name,)
    inserted = [n for n in export.model.graph.node if n.name not in tf_nodes]
    assert inserted, "tf2onnx inserts nodes (Transpose, Squeeze) in every one of these models"


def test_tracing_leaves_tf2onnxs_rewriters_whole(traced):
    """conv2d_with_pad's rewriter converts the Conv2D it merges a Pad into through tf2onnx's handler lookup;
    with the tracker's handlers in that lookup it failed half-way and the Conv lost its pads."""
    import numpy as np
    import onnxruntime
    from tf2onnx import handler

    source, export = traced("padded_conv")
    assert [n.op_type for n in export.model.graph.node].count("Pad") == 0
    x = np.random.default_rng(0).random((2, 16, 16, 3), dtype=np.float32)
    session = onnxruntime.InferenceSession(export.model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    want = source.run({source.inputs[0].name: x})[source.outputs[0].name]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert handler.tf_op.find_effective_op.__module__ == "tf2onnx.handler"  # the lookup is tf2onnx's again


def test_nodes_an_optimizer_made_from_an_einsum_trace_to_the_einsum(traced):
    """tf2onnx's einsum optimizer replaces each Einsum with Transpose/MatMul/Reshape nodes named by op type."""
    source, export = traced("attention_block")
    op_of = {n.name: n.op for n in source.graph_def.node}
    unrelated = [n.name for n in export.model.graph.node if not any(n.name.startswith(tf) for tf in op_of)]
    assert unrelated, "expected nodes named only after their op type (e.g. Transpose__12)"
    assert {op_of[o] for name in unrelated for o in export.origins[name]} == {"Einsum"}


def test_a_refused_inserted_node_sends_back_its_tf_node(traced):
    source, export = traced("attention_block")
    op_of = {n.name: n.op for n in source.graph_def.node}
    segment_nodes = set(op_of)
    transpose = next(n.name for n in export.model.graph.node if n.op_type == "Transpose" and n.name.startswith("Transpose__"))
    back = refused_tf_nodes(transpose, export.origins, segment_nodes)
    assert len(back) == 1 and op_of[next(iter(back))] == "Einsum"


def test_a_refusal_naming_no_traced_node_sends_the_whole_segment_back():
    nodes = {"a", "b", "c"}
    assert refused_tf_nodes("", {"x": ("a",)}, nodes) == nodes
    assert refused_tf_nodes("x", {"x": ("renamed_by_grappler",)}, nodes) == nodes
    assert refused_tf_nodes("x", {"x": ("a", "z")}, nodes) == {"a"}
