"""Tests of tftrt_kit.segment.graph: parsing, adjacency, topological order, contraction."""

from __future__ import annotations

import random

import pytest
from tensorflow.core.framework import graph_pb2

from tftrt_kit.errors import SegmentationError
from tftrt_kit.segment.graph import ContractionDag, GraphView, canonical_tensor_name, parse_tensor_name


def make_graph(*nodes: tuple[str, str, list[str]]) -> graph_pb2.GraphDef:
    graph = graph_pb2.GraphDef()
    for name, op, inputs in nodes:
        graph.node.add(name=name, op=op, input=inputs)
    return graph


@pytest.mark.parametrize(
    ("raw", "node", "index"),
    [("a", "a", 0), ("a:0", "a", 0), ("scope/b:12", "scope/b", 12), ("^c", "c", -1), ("x:y:1", "x:y", 1)],
)
def test_parse_tensor_name(raw: str, node: str, index: int) -> None:
    parsed = parse_tensor_name(raw)
    assert (parsed.node, parsed.index) == (node, index)
    assert parsed.is_control == (index < 0)


@pytest.mark.parametrize("raw", ["", "^", "a:", "a:-1", ":0"])
def test_parse_tensor_name_refuses_malformed(raw: str) -> None:
    with pytest.raises(SegmentationError):
        parse_tensor_name(raw)


def test_canonical_tensor_name() -> None:
    assert canonical_tensor_name("a") == "a:0"
    assert canonical_tensor_name("a:2") == "a:2"
    with pytest.raises(SegmentationError):
        canonical_tensor_name("^a")


def test_view_edges_and_consumers() -> None:
    view = GraphView(
        make_graph(
            ("x", "Placeholder", []),
            ("split", "Split", ["x"]),
            ("add", "AddV2", ["split:1", "split:0", "^noop"]),
            ("noop", "NoOp", ["^x"]),
        )
    )
    assert view.input_tensors("add") == ("split:1", "split:0")
    assert view.control_input_names("add") == ("noop",)
    assert view.consumers("split") == ("add",)
    assert view.consumers("noop") == ()
    assert view.op("split") == "Split"
    order = view.topological_order()
    assert order.index("x") < order.index("noop") < order.index("add")
    assert order.index("split") < order.index("add")


def test_topological_order_ignores_node_order_in_file() -> None:
    nodes = [("n%d" % i, "Relu", ["n%d" % (i // 2)] if i else []) for i in range(60)]
    nodes += [("m%d" % i, "AddV2", ["n%d" % i, "n%d" % (59 - i)]) for i in range(60)]
    reference = GraphView(make_graph(*nodes)).topological_order()
    rng = random.Random(1)
    for _ in range(5):
        rng.shuffle(nodes)
        assert GraphView(make_graph(*nodes)).topological_order() == reference


def test_view_refuses_missing_input_duplicates_and_cycles() -> None:
    with pytest.raises(SegmentationError, match="missing|name a node"):
        GraphView(make_graph(("a", "Relu", ["ghost"])))
    with pytest.raises(SegmentationError, match="unique"):
        GraphView(make_graph(("a", "Const", []), ("a", "Const", [])))
    with pytest.raises(SegmentationError, match="cycle"):
        GraphView(make_graph(("a", "Relu", ["b"]), ("b", "Relu", ["a"])))


def test_contraction_refuses_an_edge_with_another_path() -> None:
    # a -> b -> c and a -> c: contracting a-c would put b on a cycle.
    dag = ContractionDag([0, 1, 2], [{1, 2}, {2}, set()])
    assert dag.reachable(0, 2)
    assert dag.contract(0, 2) is None
    kept = dag.contract(0, 1)
    assert kept in (0, 1)
    assert dag.contract(kept, 2) is not None


def test_contraction_reorders_ranks() -> None:
    # a(0) -> b(3), a -> e(4), c(1) -> d(2) -> b: merging b into a adds d -> a against the order.
    a, b, c, d, e = range(5)
    dag = ContractionDag([0, 3, 1, 2, 4], [{b, e}, set(), {d}, {b}, set()])
    assert dag.contract(a, b) == a
    assert d in dag.inn[a]
    assert dag.rank[d] < dag.rank[a]
    for src, succ in enumerate(dag.out):
        for dst in succ:
            assert dag.rank[src] < dag.rank[dst]
