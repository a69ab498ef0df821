"""Cluster supported nodes into TensorRT segments and the rest into TensorFlow islands.

The algorithm is TF-TRT's (``tf2tensorrt/segment/segment.cc``), in pure Python:

1. Every node starts as its own cluster. Nodes are visited in reverse topological
   order (clusters grow from the outputs towards the inputs, as in TF-TRT); a
   supported cluster is merged with each supported cluster it feeds, unless another
   path leads from one to the other, so the contracted graph never holds a cycle.
   Data AND control edges count for that check. Unlike TF-TRT, control edges between
   two supported nodes may also be contracted: this keeps the ``NoOp`` nodes of frozen
   graphs (control edges only) inside the segment of the nodes they tie together.
2. A ``Const`` whose value is also read outside its segment leaves the segment, as
   TF-TRT's output-edge validator did (an engine does not expose its weights).
3. Segments with fewer than ``minimum_segment_size`` effective nodes are dropped.
   Effective nodes exclude ``Identity``/``Snapshot``/``StopGradient`` (as TF-TRT) and
   also ``Const`` and ``NoOp`` (TF-TRT counted ``Const``, which let a lone convolution
   with its weights and bias pass the default minimum of 3).
4. At most ``maximum_segments`` segments are kept, largest first (stable on ties).
5. Every other node except the graph inputs (``Placeholder``) lands in a TF island.
   Islands are as few as possible. A segment's level is the largest number of segments
   on a path before it; an island node's level lies between the same count for it
   (earliest) and the levels of its consumers (latest), and is set to the latest, so a
   constant joins the island that reads it. All island nodes of one level form one
   island. Each edge between parts then goes strictly forward in the order (islands of
   level k, segments of level k, islands of level k+1, ...), so the graph of parts is
   acyclic, and TF call overhead, which dominates a stitched run, is paid at most once
   per segment level.

``coverage`` is the fraction of non-input nodes (``Const``, ``Identity`` and ``NoOp``
included) that lie in segments.
"""

from __future__ import annotations

import gc
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tftrt_kit.errors import SegmentationError
from tftrt_kit.segment.graph import GraphView, canonical_tensor_name, contract, parse_tensor_name
from tftrt_kit.segment.support import Support

#: Ops that do no work of their own: they do not count towards minimum_segment_size.
NON_EFFECTIVE_OPS = frozenset({"Identity", "Snapshot", "StopGradient", "Const", "NoOp"})
GRAPH_INPUT_OPS = frozenset({"Placeholder"})


class Fallback(NamedTuple):
    """Nodes of one op type left in TensorFlow for one reason."""

    op_type: str
    count: int
    reason: str


@dataclass(frozen=True)
class Segment:
    """A convex set of supported nodes that becomes one TensorRT engine.

    Attributes:
        name: ``"seg_<k>"``, numbered in execution order.
        nodes: node names, in topological order.
        inputs: tensors produced outside the segment and read inside it.
        outputs: tensors produced inside and read outside, or listed as graph outputs.
        op_histogram: op type -> number of nodes.
    """

    name: str
    nodes: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    op_histogram: dict[str, int] = field(hash=False, compare=False)

    def __repr__(self) -> str:
        return f"Segment({self.name}, nodes={len(self.nodes)}, inputs={len(self.inputs)}, outputs={len(self.outputs)})"


@dataclass(frozen=True)
class Island:
    """Nodes run by TensorFlow between segments.

    Attributes:
        name: ``"tf_<k>"``, numbered in execution order.
        nodes: node names, in topological order.
        inputs: tensors produced outside the island and read inside it.
        outputs: tensors produced inside and read outside, or listed as graph outputs.
        op_histogram: op type -> number of nodes.
    """

    name: str
    nodes: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    op_histogram: dict[str, int] = field(hash=False, compare=False)

    def __repr__(self) -> str:
        return f"Island({self.name}, nodes={len(self.nodes)}, inputs={len(self.inputs)}, outputs={len(self.outputs)})"


@dataclass(frozen=True, repr=False)
class Segmentation:
    """The partition of a graph into segments, islands and graph inputs.

    Attributes:
        segments: the TensorRT segments, in execution order.
        islands: the TensorFlow islands, in execution order.
        graph_inputs: names of the ``Placeholder`` nodes (in no part).
        parts_in_order: segment and island names in a topological order of the parts.
        assignment: node name -> name of its part (graph inputs absent).
        support: the per-node verdicts the segmentation used.
        fallbacks: ``(op_type, count, reason)`` of the nodes left in TensorFlow, most frequent first.
        coverage: nodes in segments / non-input nodes.
    """

    segments: tuple[Segment, ...]
    islands: tuple[Island, ...]
    graph_inputs: tuple[str, ...]
    parts_in_order: tuple[str, ...]
    assignment: dict[str, str]
    support: dict[str, Support]
    fallbacks: list[Fallback]
    coverage: float

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s.name}: {len(s.nodes)}" for s in self.segments[:5])
        more = ", ..." if len(self.segments) > 5 else ""
        falls = ", ".join(f"{f.op_type} x{f.count}" for f in self.fallbacks[:3])
        return (
            f"Segmentation(segments={len(self.segments)} [{sizes}{more}], islands={len(self.islands)}, "
            f"coverage={self.coverage:.3f}, fallbacks=[{falls}{', ...' if len(self.fallbacks) > 3 else ''}])"
        )

    def summary(self) -> str:
        """A human-readable table of the parts, their op histograms and the fallbacks."""
        lines = [
            f"{len(self.segments)} TensorRT segment(s), {len(self.islands)} TF island(s), "
            f"{len(self.graph_inputs)} graph input(s); coverage {self.coverage:.1%} of non-input nodes",
            f"{'part':<8} {'kind':<9} {'nodes':>6} {'inputs':>6} {'outputs':>7}  ops",
        ]
        parts = {p.name: p for p in (*self.segments, *self.islands)}
        for name in self.parts_in_order:
            part = parts[name]
            kind = "TensorRT" if isinstance(part, Segment) else "TF"
            top = ", ".join(
                f"{op} x{c}" for op, c in sorted(part.op_histogram.items(), key=lambda kv: (-kv[1], kv[0]))[:6]
            )
            lines.append(f"{name:<8} {kind:<9} {len(part.nodes):>6} {len(part.inputs):>6} {len(part.outputs):>7}  {top}")
        if self.fallbacks:
            lines.append("left in TensorFlow:")
            lines.extend(f"  {f.op_type} x{f.count}: {f.reason}" for f in self.fallbacks)
        return "\n".join(lines)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small, acyclic containers.

    Segmenting 100k nodes allocates millions of sets and tuples with no reference
    cycles; the collector's generational scans of them cost ~40% of the run.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_options(minimum_segment_size: int, maximum_segments: int | None) -> None:
    if minimum_segment_size < 1:
        raise SegmentationError(f"Expected minimum_segment_size >= 1. Received: minimum_segment_size={minimum_segment_size}")
    if maximum_segments is not None and maximum_segments < 1:
        raise SegmentationError(
            f"Expected maximum_segments >= 1 or None (no limit). Received: maximum_segments={maximum_segments}"
        )


def _tensor_boundaries(
    view: GraphView, part_of: list[int], outputs_wanted: Iterable[tuple[int, int]]
) -> tuple[dict[int, set[tuple[int, int]]], dict[int, set[tuple[int, int]]]]:
    """Per part: the ``(producer, index)`` tensors entering it and leaving it."""
    enters: dict[int, set[tuple[int, int]]] = {}
    leaves: dict[int, set[tuple[int, int]]] = {}
    for dst, inputs in enumerate(view.data_inputs):
        part = part_of[dst]
        for tensor in inputs:
            source_part = part_of[tensor[0]]
            if source_part != part:
                enters.setdefault(part, set()).add(tensor)
                leaves.setdefault(source_part, set()).add(tensor)
    for src, k in outputs_wanted:
        leaves.setdefault(part_of[src], set()).add((src, k))
    return enters, leaves


def segment(
    graph_def: Any,
    support: Mapping[str, Support],
    *,
    minimum_segment_size: int = 3,
    maximum_segments: int | None = 20,
    output_tensors: Iterable[str] = (),
) -> Segmentation:
    """Partition ``graph_def`` into TensorRT segments and TensorFlow islands.

    Args:
        graph_def: A frozen ``GraphDef`` (or a :class:`GraphView` of one).
        support: Node name -> :class:`Support`, for every node (see :func:`classify`).
        minimum_segment_size: Fewest effective nodes a segment may have (TF-TRT's default 3).
        maximum_segments: Most segments kept, largest first; ``None`` keeps all.
        output_tensors: The graph's output tensors (``"node:k"`` or ``"node"``), exposed
            as outputs of the parts producing them.

    Returns:
        The :class:`Segmentation`.

    Raises:
        SegmentationError: on bad options, a node missing from ``support``, an output
            tensor naming no node, or a malformed graph (see :class:`GraphView`).
    """
    _check_options(minimum_segment_size, maximum_segments)
    with _gc_paused():
        return _segment(graph_def, support, minimum_segment_size, maximum_segments, output_tensors)


def _segment(
    graph_def: Any,
    support: Mapping[str, Support],
    minimum_segment_size: int,
    maximum_segments: int | None,
    output_tensors: Iterable[str],
) -> Segmentation:
    view = graph_def if isinstance(graph_def, GraphView) else GraphView(graph_def)
    if not support.keys() >= view.index.keys():
        missing = [name for name in view.names if name not in support]
        raise SegmentationError(f"Expected a Support verdict for every node. Received none for: {missing[:5]}")
    ops, names, topo_pos = view.ops, view.names, view.topo_position
    is_input = [op in GRAPH_INPUT_OPS for op in ops]
    candidate = [support[name].supported and not graph_input for name, graph_input in zip(names, is_input)]
    wanted: list[tuple[int, int]] = []
    for tensor in output_tensors:
        ref = parse_tensor_name(canonical_tensor_name(tensor))
        if ref.node not in view.index:
            raise SegmentationError(f"Expected output tensors of nodes in the graph. Received: output_tensor={tensor!r}")
        wanted.append((view.index[ref.node], ref.index))

    root = contract(view, candidate)
    clusters: dict[int, list[int]] = {}
    for i in view.topo_order:
        if candidate[i]:
            clusters.setdefault(root[i], []).append(i)
    why_left: dict[int, str] = {}
    segments_nodes: list[list[int]] = []
    for members in clusters.values():
        member_set = set(members)
        for i in members:
            if (
                ops[i] == "Const"
                and not member_set.isdisjoint(view.data_consumers[i])
                and not member_set.issuperset(view.data_consumers[i])
                and member_set.isdisjoint(view.predecessors(i))
            ):
                member_set.discard(i)
                why_left[i] = "Const read both inside and outside a segment (an engine does not expose its weights)"
        members = [i for i in members if i in member_set]
        effective = sum(ops[i] not in NON_EFFECTIVE_OPS for i in members)
        if effective and effective >= minimum_segment_size:
            segments_nodes.append(members)
        else:
            for i in members:
                why_left[i] = f"in a cluster of {effective} effective node(s), below minimum_segment_size={minimum_segment_size}"
    effective_of = [sum(ops[i] not in NON_EFFECTIVE_OPS for i in members) for members in segments_nodes]
    ranked = sorted(range(len(segments_nodes)), key=lambda s: (-effective_of[s], topo_pos[segments_nodes[s][0]]))
    if maximum_segments is not None:
        for s in ranked[maximum_segments:]:
            for i in segments_nodes[s]:
                why_left[i] = f"segment dropped: {maximum_segments} larger segments kept (maximum_segments)"
        ranked = ranked[:maximum_segments]
    kept = [segments_nodes[s] for s in sorted(ranked)]

    part_of, seg_level = _assign_parts(view, kept, is_input)
    enters, leaves = _tensor_boundaries(view, part_of, ((s, k) for s, k in wanted if not is_input[s]))
    return _build(view, support, part_of, seg_level, enters, leaves, why_left, is_input)


def _assign_parts(view: GraphView, kept: list[list[int]], is_input: list[bool]) -> tuple[list[int], list[int]]:
    """Part id per node (segments ``0..S-1``, islands ``S + level``, graph inputs ``-1``), and each segment's level."""
    s_count = len(kept)
    unit = [-1] * len(view)
    for s, members in enumerate(kept):
        for i in members:
            unit[i] = s
    next_unit = s_count
    for i in view.topo_order:
        if unit[i] < 0 and not is_input[i]:
            unit[i] = next_unit
            next_unit += 1
    succ: list[set[int]] = [set() for _ in range(next_unit)]
    for src, u in enumerate(unit):
        if u >= 0:
            succ[u].update(unit[dst] for dst in view.successor_ids[src])
    indegree = [0] * next_unit
    for u, targets in enumerate(succ):
        targets.discard(u)
        targets.discard(-1)
        for v in targets:
            indegree[v] += 1
    # Longest path counting segments: level[q] = max(level[p] + is_segment(p)) over edges p -> q.
    level = [0] * next_unit
    queue = deque(u for u in range(next_unit) if indegree[u] == 0)
    order: list[int] = []
    while queue:
        u = queue.popleft()
        order.append(u)
        step = level[u] + (u < s_count)
        for v in succ[u]:
            level[v] = max(level[v], step)
            indegree[v] -= 1
            if indegree[v] == 0:
                queue.append(v)
    # Island nodes then move as late as their consumers allow (a Const feeding a later
    # island joins that island instead of opening an island of its own); a node without
    # consumers stays at its earliest level.
    for u in reversed(order):
        if u >= s_count and succ[u]:
            level[u] = min(level[v] for v in succ[u])
    # Segment s keeps id s; island units at level k all become part S + k.
    part_of = [-1 if u < 0 else (u if u < s_count else s_count + level[u]) for u in unit]
    return part_of, level[:s_count]


def _build(
    view: GraphView,
    support: Mapping[str, Support],
    part_of: list[int],
    seg_level: list[int],
    enters: dict[int, set[tuple[int, int]]],
    leaves: dict[int, set[tuple[int, int]]],
    why_left: dict[int, str],
    is_input: list[bool],
) -> Segmentation:
    n, names, ops, topo_pos = len(view), view.names, view.ops, view.topo_position
    s_count = len(seg_level)
    members: dict[int, list[int]] = {}
    for i in view.topo_order:
        if part_of[i] >= 0:
            members.setdefault(part_of[i], []).append(i)

    def order_key(part: int) -> tuple[int, int]:
        # Islands of level k run before segments of level k, which run before islands of level k+1.
        k = 2 * seg_level[part] + 1 if part < s_count else 2 * (part - s_count)
        return k, topo_pos[members[part][0]]

    ordered = sorted(members, key=order_key)
    segment_parts = [p for p in ordered if p < s_count]
    island_parts = [p for p in ordered if p >= s_count]
    part_name = {p: f"seg_{k}" for k, p in enumerate(segment_parts)}
    part_name.update({p: f"tf_{k}" for k, p in enumerate(island_parts)})

    def tensors(pairs: set[tuple[int, int]] | None) -> tuple[str, ...]:
        return tuple(f"{names[s]}:{k}" for s, k in sorted(pairs or (), key=lambda p: (topo_pos[p[0]], p[1])))

    segments: list[Segment] = []
    islands: list[Island] = []
    for part in ordered:
        nodes = tuple(names[i] for i in members[part])
        ins, outs = tensors(enters.get(part)), tensors(leaves.get(part))
        histogram = dict(sorted(Counter(ops[i] for i in members[part]).items()))
        kind = Segment if part < s_count else Island
        (segments if part < s_count else islands).append(kind(part_name[part], nodes, ins, outs, histogram))

    left: Counter[tuple[str, str]] = Counter()
    for i in range(n):
        if part_of[i] >= s_count:
            verdict = support[names[i]]
            reason = why_left.get(i) if verdict.supported else verdict.reason
            left[(ops[i], reason or "unsupported")] += 1
    fallbacks = [Fallback(op, c, r) for (op, r), c in sorted(left.items(), key=lambda kv: (-kv[1], kv[0]))]
    non_input = n - sum(is_input)
    in_segments = sum(1 for p in part_of if 0 <= p < s_count)
    return Segmentation(
        segments=tuple(segments),
        islands=tuple(islands),
        graph_inputs=tuple(names[i] for i in view.topo_order if is_input[i]),
        parts_in_order=tuple(part_name[p] for p in ordered),
        assignment={names[i]: part_name[part_of[i]] for i in range(n) if part_of[i] >= 0},
        support=dict(support),
        fallbacks=fallbacks,
        coverage=in_segments / non_input if non_input else 0.0,
    )
