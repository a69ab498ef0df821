"""Tests of tftrt_kit.segment.graph: parsing, adjacency, topological order, contraction."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorflow.core.framework import graph_pb2

from tftrt_kit.errors import SegmentationError
from tftrt_kit.segment.contract import contract
from tftrt_kit.segment.graph import GraphView, canonical_tensor_name, parse_tensor_name


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


def reference_clusters(view: GraphView, candidate: list[bool]) -> list[frozenset[int]]:
    """TF-TRT's loop, slowly: merge the visited node's cluster with any candidate cluster it
    feeds unless another path leads there, and retry until no merge is left."""
    cluster = {i: frozenset([i]) for i in range(len(view))}

    def successors(members: frozenset[int]) -> set[frozenset[int]]:
        return {cluster[s] for i in members for s in view.successors(i)} - {members}

    def reaches(start: frozenset[int], goal: frozenset[int]) -> bool:
        stack, seen = [c for c in successors(start) if c != goal], set()
        while stack:
            c = stack.pop()
            if c == goal:
                return True
            if c not in seen:
                seen.add(c)
                stack.extend(successors(c))
        return False

    for node in reversed(view.topo_order):
        merged = candidate[node]
        while merged:
            merged = False
            root = cluster[node]
            for nxt in sorted(successors(root), key=min):
                if candidate[min(nxt)] and not reaches(root, nxt):
                    for i in root | nxt:
                        cluster[i] = root | nxt
                    merged = True
                    break
    return sorted(set(cluster.values()), key=min)


def clusters_of(root: list[int]) -> list[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for i, r in enumerate(root):
        groups.setdefault(r, set()).add(i)
    return sorted(map(frozenset, groups.values()), key=min)


def test_contract_refuses_an_edge_with_another_path() -> None:
    # a -> b -> c and a -> c with b out: merging a and c would put b on a cycle.
    view = GraphView(make_graph(("a", "Relu", []), ("b", "Cumsum", ["a"]), ("c", "AddV2", ["a", "b"])))
    assert clusters_of(contract(view, [True, False, True])) == [{0}, {1}, {2}]
    assert clusters_of(contract(view, [True, True, True])) == [{0, 1, 2}]


def test_contract_merges_past_a_cluster_once_its_path_is_inside() -> None:
    # a -> b -> d, a -> c -> d: b, c, d are one cluster when a is visited, so a joins it.
    view = GraphView(make_graph(("a", "Relu", []), ("b", "Relu", ["a"]), ("c", "Relu", ["a"]), ("d", "AddV2", ["b", "c"])))
    assert clusters_of(contract(view, [True] * 4)) == [{0, 1, 2, 3}]
    # With c out, b joins d and a stays apart (the TF-TRT diamond).
    assert clusters_of(contract(view, [True, True, False, True])) == [{0}, {1, 3}, {2}]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_contract_matches_tf_trt_loop(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 14))
    nodes = []
    for k in range(n):
        sources = data.draw(st.lists(st.integers(0, k - 1), max_size=3)) if k else []
        inputs = [f"v{s:02d}" for s in sources]
        if k and data.draw(st.integers(0, 5)) == 0:
            inputs.append(f"^v{data.draw(st.integers(0, k - 1)):02d}")
        nodes.append((f"v{k:02d}", "Relu", inputs))
    view = GraphView(make_graph(*nodes))
    candidate = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    assert clusters_of(contract(view, candidate)) == reference_clusters(view, candidate)
