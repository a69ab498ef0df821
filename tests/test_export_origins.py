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


@pytest.mark.parametrize("name", ["small_cnn", "attention_block", "mobilenet_v2"])
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
