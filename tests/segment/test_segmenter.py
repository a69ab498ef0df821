"""Tests of tftrt_kit.segment.segmenter: TF-TRT's clustering, islands, and the partition invariants."""

from __future__ import annotations

import random
from collections.abc import Iterable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorflow.core.framework import graph_pb2

from tftrt_kit.errors import SegmentationError
from tftrt_kit.segment.graph import GraphView
from tftrt_kit.segment.segmenter import NON_EFFECTIVE_OPS, Segmentation, segment
from tftrt_kit.segment.support import Support, classify

Node = tuple[str, str, list[str]]


def make_graph(nodes: Iterable[Node]) -> graph_pb2.GraphDef:
    graph = graph_pb2.GraphDef()
    for name, op, inputs in nodes:
        graph.node.add(name=name, op=op, input=inputs)
    return graph


def verdicts(graph: graph_pb2.GraphDef, unsupported: Iterable[str] = ()) -> dict[str, Support]:
    """Support by name: Placeholders and ``unsupported`` out, everything else in."""
    out = set(unsupported)
    return {
        n.name: Support(False, "test") if n.op == "Placeholder" or n.name in out else Support(True)
        for n in graph.node
    }


def check_partition(graph: graph_pb2.GraphDef, result: Segmentation, minimum_segment_size: int) -> None:
    """The invariants of DESIGN.md #2 on the segmenter's output."""
    view = GraphView(graph)
    inputs = {n.name for n in graph.node if n.op == "Placeholder"}
    assert set(result.graph_inputs) == inputs
    parts = {p.name: p for p in (*result.segments, *result.islands)}
    assert set(result.parts_in_order) == set(parts)
    seen: dict[str, str] = {}
    for part in parts.values():
        for name in part.nodes:
            assert name not in seen, f"{name} in two parts"
            seen[name] = part.name
    assert set(seen) == set(view.names) - inputs
    assert seen == result.assignment
    # Every edge, control edges included, goes forward in parts_in_order: the part graph is acyclic.
    position = {name: k for k, name in enumerate(result.parts_in_order)}
    for dst in range(len(view)):
        for src in view.predecessors(dst):
            a, b = seen.get(view.names[src]), seen.get(view.names[dst])
            if a and b and a != b:
                assert position[a] < position[b], f"edge {view.names[src]} -> {view.names[dst]} goes back"
    for seg in result.segments:
        members = set(view.ids(seg.nodes))
        # Convex: no path leaves the segment and comes back.
        frontier = [s for i in members for s in view.successors(i) if s not in members]
        visited = set(frontier)
        while frontier:
            for nxt in view.successors(frontier.pop()):
                assert nxt not in members, f"{seg.name} is not convex"
                if nxt not in visited:
                    visited.add(nxt)
                    frontier.append(nxt)
        effective = sum(view.ops[i] not in NON_EFFECTIVE_OPS for i in members)
        assert effective >= minimum_segment_size
        assert all(result.support[n].supported for n in seg.nodes)
        assert sum(seg.op_histogram.values()) == len(seg.nodes)
        # Boundary tensors are exactly the data edges crossing the segment.
        crossing_in = {f"{view.names[s]}:{k}" for i in members for s, k in view.data_inputs[i] if s not in members}
        crossing_out = {
            f"{view.names[s]}:{k}"
            for d in range(len(view)) if d not in members
            for s, k in view.data_inputs[d] if s in members
        }
        assert set(seg.inputs) == crossing_in
        assert crossing_out <= set(seg.outputs)
    in_segments = sum(len(s.nodes) for s in result.segments)
    non_input = len(view) - len(inputs)
    assert result.coverage == pytest.approx(in_segments / non_input if non_input else 0.0)


def chain(ops: list[str]) -> list[Node]:
    nodes: list[Node] = [("in", "Placeholder", [])]
    for k, op in enumerate(ops):
        nodes.append((f"n{k}", op, [nodes[-1][0]]))
    return nodes


def test_fully_supported_chain_is_one_segment() -> None:
    graph = make_graph(chain(["Relu", "Tanh", "Sigmoid", "Relu"]))
    result = segment(graph, verdicts(graph), output_tensors=["n3"])
    assert [s.nodes for s in result.segments] == [("n0", "n1", "n2", "n3")]
    assert result.segments[0].inputs == ("in:0",)
    assert result.segments[0].outputs == ("n3:0",)
    assert result.islands == () and result.coverage == 1.0 and result.fallbacks == []
    check_partition(graph, result, 3)


def test_unsupported_op_in_the_middle_gives_two_segments() -> None:
    graph = make_graph(chain(["Relu", "Tanh", "Sigmoid", "Cumsum", "Relu", "Tanh", "Sigmoid"]))
    result = segment(graph, verdicts(graph, ["n3"]), output_tensors=["n6:0"])
    assert [s.nodes for s in result.segments] == [("n0", "n1", "n2"), ("n4", "n5", "n6")]
    assert [i.nodes for i in result.islands] == [("n3",)]
    assert result.parts_in_order == ("seg_0", "tf_0", "seg_1")
    assert result.islands[0].inputs == ("n2:0",) and result.islands[0].outputs == ("n3:0",)
    assert result.fallbacks[0].op_type == "Cumsum" and result.fallbacks[0].count == 1
    check_partition(graph, result, 3)
    assert "seg_1" in result.summary() and "Cumsum" in repr(result)


def test_diamond_where_naive_merging_makes_a_cycle() -> None:
    # The classic TF-TRT case: a -> b -> d, a -> c -> d with c unsupported.
    graph = make_graph([
        ("x", "Placeholder", []), ("a", "Relu", ["x"]), ("b", "Relu", ["a"]),
        ("c", "Cumsum", ["a"]), ("d", "AddV2", ["b", "c"]),
    ])
    result = segment(graph, verdicts(graph, ["c"]), minimum_segment_size=1)
    assert not any({"a", "d"} <= set(s.nodes) for s in result.segments)
    # TF-TRT grows from the outputs: b joins d, a stays apart.
    assert sorted(s.nodes for s in result.segments) == [("a",), ("b", "d")]
    check_partition(graph, result, 1)


def test_multi_input_multi_output() -> None:
    graph = make_graph([
        ("x", "Placeholder", []), ("y", "Placeholder", []),
        ("s", "Split", ["x"]), ("m", "Mul", ["s:1", "y"]), ("a", "AddV2", ["s:0", "m"]),
        ("r", "Relu", ["a"]), ("t", "Cumsum", ["m"]),
    ])
    result = segment(graph, verdicts(graph, ["t"]), output_tensors=["r:0", "m"])
    (seg,) = result.segments
    assert set(seg.nodes) == {"s", "m", "a", "r"}
    assert set(seg.inputs) == {"x:0", "y:0"}
    assert seg.outputs == ("m:0", "r:0")
    check_partition(graph, result, 3)


def test_minimum_size_counts_effective_nodes_only() -> None:
    graph = make_graph(chain(["Relu", "Identity", "Identity", "Cumsum", "Relu", "Tanh", "Sigmoid"]))
    result = segment(graph, verdicts(graph, ["n3"]))
    assert [s.nodes for s in result.segments] == [("n4", "n5", "n6")]
    reasons = {f.op_type: f.reason for f in result.fallbacks}
    assert "minimum_segment_size=3" in reasons["Relu"]
    check_partition(graph, result, 3)
    assert len(segment(graph, verdicts(graph, ["n3"]), minimum_segment_size=1).segments) == 2


def test_maximum_segments_keeps_the_largest() -> None:
    ops = ["Relu"] * 3 + ["Cumsum"] + ["Relu"] * 5 + ["Cumsum"] + ["Relu"] * 4
    graph = make_graph(chain(ops))
    support = verdicts(graph, ["n3", "n9"])
    assert [len(s.nodes) for s in segment(graph, support).segments] == [3, 5, 4]
    result = segment(graph, support, maximum_segments=2)
    assert [len(s.nodes) for s in result.segments] == [5, 4]
    assert any("maximum_segments" in f.reason for f in result.fallbacks)
    check_partition(graph, result, 3)
    with pytest.raises(SegmentationError):
        segment(graph, support, maximum_segments=0)
    with pytest.raises(SegmentationError):
        segment(graph, support, minimum_segment_size=0)


def test_classify_exclude_and_include_drive_the_segments() -> None:
    graph = make_graph([(n, op, i) for n, op, i in chain(["Relu", "Tanh", "Sigmoid", "Cumsum", "Relu", "Tanh", "Sigmoid"])])
    for node in graph.node:
        node.attr["T" if node.op != "Placeholder" else "dtype"].type = 1
    assert len(segment(graph, classify(graph, opset=None)).segments) == 2
    assert len(segment(graph, classify(graph, include_ops=["Cumsum"], opset=None)).segments) == 1
    excluded = segment(graph, classify(graph, exclude_ops=["Tanh"], opset=None))
    assert excluded.segments == ()
    assert any(f.reason == "excluded by user" for f in excluded.fallbacks)
    overridden = segment(graph, classify(graph, overrides={"n3": Support(True, None, "tensorrt")}, opset=None))
    assert len(overridden.segments) == 1


def test_shared_const_leaves_the_segment() -> None:
    graph = make_graph([
        ("x", "Placeholder", []), ("w", "Const", []), ("m", "Mul", ["x", "w"]), ("r", "Relu", ["m"]),
        ("t", "Tanh", ["r"]), ("c", "Cumsum", ["t", "w"]),
    ])
    result = segment(graph, verdicts(graph, ["c"]))
    (seg,) = result.segments
    assert "w" not in seg.nodes and "w:0" in seg.inputs
    check_partition(graph, result, 3)


def test_errors_name_what_is_wrong() -> None:
    graph = make_graph(chain(["Relu"]))
    with pytest.raises(SegmentationError, match="n0"):
        segment(graph, {"in": Support(False, "graph input")})
    with pytest.raises(SegmentationError, match="ghost"):
        segment(graph, verdicts(graph), output_tensors=["ghost:0"])


@st.composite
def random_graphs(draw: st.DrawFn) -> tuple[list[Node], set[str]]:
    n = draw(st.integers(2, 30))
    names = draw(st.permutations([f"v{k:02d}" for k in range(n)]))
    nodes: list[Node] = []
    unsupported: set[str] = set()
    for k, name in enumerate(names):
        if k == 0 or draw(st.integers(0, 9)) == 0:
            nodes.append((name, "Placeholder", []))
            continue
        sources = draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=3))
        inputs = [names[s] for s in sources]
        if draw(st.integers(0, 7)) == 0:
            inputs.append("^" + names[draw(st.integers(0, k - 1))])
        op = draw(st.sampled_from(["AddV2", "Relu", "Identity", "Const", "NoOp"]))
        nodes.append((name, op, inputs))
        if draw(st.integers(0, 3)) == 0:
            unsupported.add(name)
    return nodes, unsupported


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs(), st.integers(1, 4), st.randoms(use_true_random=False))
def test_partition_invariants_on_random_dags(case: tuple[list[Node], set[str]], minimum: int, rng: random.Random) -> None:
    nodes, unsupported = case
    graph = make_graph(nodes)
    support = verdicts(graph, unsupported)
    outputs = [nodes[-1][0]] if nodes[-1][1] not in ("Placeholder", "NoOp") else []
    result = segment(graph, support, minimum_segment_size=minimum, output_tensors=outputs)
    check_partition(graph, result, minimum)
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    again = segment(make_graph(shuffled), support, minimum_segment_size=minimum, output_tensors=outputs)
    assert again.segments == result.segments
    assert again.islands == result.islands
    assert again.parts_in_order == result.parts_in_order


def frozen_keras_graph(tmp_path, with_cumsum: bool):
    import keras
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    class CumSum(keras.layers.Layer):
        def call(self, x):
            return tf.math.cumsum(x, axis=-1)

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, bias_initializer="ones", activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    if with_cumsum:
        x = CumSum()(x)
    x = keras.layers.Dense(6, bias_initializer="ones", activation="relu")(x)
    x = keras.layers.Dense(5, bias_initializer="ones")(x)
    keras.Model(inputs, x).export(str(tmp_path / "model"), verbose=False)
    loaded = tf.saved_model.load(str(tmp_path / "model"))
    frozen = convert_variables_to_constants_v2(loaded.signatures["serving_default"])
    return frozen.graph.as_graph_def(), [t.name for t in frozen.outputs]


def test_real_frozen_keras_graph_is_one_segment(tmp_path) -> None:
    graph, outputs = frozen_keras_graph(tmp_path, with_cumsum=False)
    assert any(n.op == "NoOp" for n in graph.node)  # the case the NoOp handling is for
    result = segment(graph, classify(graph), output_tensors=outputs)
    assert len(result.segments) == 1 and result.islands == ()
    assert result.coverage == 1.0
    assert result.segments[0].outputs == tuple(outputs)
    assert {"Conv2D", "MatMul", "BiasAdd"} <= set(result.segments[0].op_histogram)
    check_partition(graph, result, 3)


def test_real_frozen_graph_with_cumsum_in_the_middle(tmp_path) -> None:
    graph, outputs = frozen_keras_graph(tmp_path, with_cumsum=True)
    result = segment(graph, classify(graph), output_tensors=outputs)
    assert len(result.segments) == 2 and len(result.islands) == 1
    assert result.parts_in_order == ("seg_0", "tf_0", "seg_1")
    assert "Cumsum" in result.islands[0].op_histogram
    assert "Conv2D" in result.segments[0].op_histogram and "MatMul" in result.segments[1].op_histogram
    assert [f.op_type for f in result.fallbacks if f.op_type != "Const"] == ["Cumsum"]
    check_partition(graph, result, 3)


def test_const_counts_towards_minimum_size_as_in_tf_trt() -> None:
    # TF-TRT's BatchMatMulWeightBroadcastTest: an op and its weight are an engine at minimum_segment_size=2.
    graph = make_graph([("x", "Placeholder", []), ("w", "Const", []), ("m", "BatchMatMulV2", ["x", "w"]), ("o", "Identity", ["m"])])
    (seg,) = segment(graph, verdicts(graph, ["o"]), minimum_segment_size=2).segments
    assert set(seg.nodes) == {"w", "m"}
    assert segment(graph, verdicts(graph, ["o"]), minimum_segment_size=3).segments == ()
    with_identity = make_graph([("x", "Placeholder", []), ("i", "Identity", ["x"]), ("r", "Relu", ["i"]), ("o", "Identity", ["r"])])
    assert segment(with_identity, verdicts(with_identity, ["o"]), minimum_segment_size=2).segments == ()
