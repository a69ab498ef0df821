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
   Effective nodes are counted as TF-TRT counted them: every node except ``Identity``,
   ``Snapshot`` and ``StopGradient`` (a ``Const`` counts, so an op and its weight make
   two). ``IdentityN`` and ``NoOp``, which TF-TRT never put in a segment, do not count.
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

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, NamedTuple

import numpy as np

from tftrt_kit.errors import SegmentationError
from tftrt_kit.segment.contract import contract
from tftrt_kit.segment.graph import GraphView, canonical_tensor_name, gc_paused, group_by_id, parse_tensor_name
from tftrt_kit.segment.support import Support

#: Ops that do not count towards minimum_segment_size: TF-TRT's three, and two it never segmented.
NON_EFFECTIVE_OPS = frozenset({"Identity", "Snapshot", "StopGradient", "IdentityN", "NoOp"})
GRAPH_INPUT_OPS = frozenset({"Placeholder"})
_SUPPORTED = attrgetter("supported")


class Fallback(NamedTuple):
    """Nodes of one op type left in TensorFlow for one reason."""

    op_type: str
    count: int
    reason: str


@dataclass(frozen=True)
class Part:
    """Nodes run as one unit: a TensorRT :class:`Segment` or a TensorFlow :class:`Island`.

    Attributes:
        name: ``"seg_<k>"`` or ``"tf_<k>"``, numbered in execution order.
        nodes: node names, in topological order.
        inputs: tensors produced outside the part and read inside it.
        outputs: tensors produced inside and read outside, or listed as graph outputs.
        op_histogram: op type -> number of nodes.
    """

    name: str
    nodes: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    op_histogram: dict[str, int] = field(hash=False, compare=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, nodes={len(self.nodes)}, inputs={len(self.inputs)}, outputs={len(self.outputs)})"


class Segment(Part):
    """A convex set of supported nodes that becomes one TensorRT engine."""


class Island(Part):
    """Nodes run by TensorFlow between segments."""


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


def _check_options(minimum_segment_size: int, maximum_segments: int | None) -> None:
    if minimum_segment_size < 1:
        raise SegmentationError(f"Expected minimum_segment_size >= 1. Received: minimum_segment_size={minimum_segment_size}")
    if maximum_segments is not None and maximum_segments < 1:
        raise SegmentationError(
            f"Expected maximum_segments >= 1 or None (no limit). Received: maximum_segments={maximum_segments}"
        )


def _tensors_by_part(topo_pos: np.ndarray, part: np.ndarray, src: np.ndarray, k: np.ndarray, name_of: Any) -> dict[int, tuple[str, ...]]:
    """Per part, the names of its distinct ``(src, k)`` tensors, ordered by producer (topologically), then index."""
    order = np.lexsort((k, topo_pos[src], part))
    part, src, k = part[order], src[order], k[order]
    new = np.ones(len(part), dtype=bool)
    new[1:] = (part[1:] != part[:-1]) | (src[1:] != src[:-1]) | (k[1:] != k[:-1])
    part, src, k = part[new], src[new], k[new]
    tensors = name_of(src, k)
    ids, starts = np.unique(part, return_index=True)
    bounds = [*starts.tolist(), len(part)]
    return {p: tuple(tensors[a:b]) for p, a, b in zip(ids.tolist(), bounds, bounds[1:])}


def _tensor_namer(names: tuple[str, ...], src: np.ndarray, k: np.ndarray) -> Any:
    """A function naming ``(src, k)`` arrays of tensors among ``src, k``; each distinct name is built once."""
    stride = int(k.max()) + 1 if len(k) else 1
    codes = np.unique(src * stride + k)
    built = [f"{names[c // stride]}:{c % stride}" for c in codes.tolist()]

    def name_of(s: np.ndarray, i: np.ndarray) -> list[str]:
        return list(map(built.__getitem__, np.searchsorted(codes, s * stride + i).tolist()))

    return name_of


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
    with gc_paused():
        return _segment(graph_def, support, minimum_segment_size, maximum_segments, output_tensors)


def _segment(
    graph_def: Any,
    support: Mapping[str, Support],
    minimum_segment_size: int,
    maximum_segments: int | None,
    output_tensors: Iterable[str],
) -> Segmentation:
    view = graph_def if isinstance(graph_def, GraphView) else GraphView(graph_def)
    names = view.names
    verdicts = list(map(support.get, names))
    if not all(verdicts):  # a Support is always true: this finds None without calling Support.__eq__
        missing = [name for name in names if name not in support]
        if missing:
            raise SegmentationError(f"Expected a Support verdict for every node. Received none for: {missing[:5]}")
    is_input = view.op_mask(GRAPH_INPUT_OPS)
    supported = np.fromiter(map(_SUPPORTED, verdicts), dtype=bool, count=len(verdicts))
    candidate_mask = supported & ~is_input
    candidate = candidate_mask.tolist()
    wanted: list[tuple[int, int]] = []
    for tensor in output_tensors:
        ref = parse_tensor_name(canonical_tensor_name(tensor))
        if ref.node not in view.index:
            raise SegmentationError(f"Expected output tensors of nodes in the graph. Received: output_tensor={tensor!r}")
        wanted.append((view.index[ref.node], ref.index))

    root = contract(view, candidate)
    topo = view.topo_array
    in_topo = topo[candidate_mask[topo]]
    order = np.argsort(root[in_topo], kind="stable")
    by_cluster = in_topo[order]  # grouped by cluster, each in topological order
    starts = np.unique(root[by_cluster], return_index=True)[1]
    is_effective = ~view.op_mask(NON_EFFECTIVE_OPS)
    is_const = view.op_mask(("Const",))
    effective_in = np.add.reduceat(is_effective[by_cluster], starts).tolist() if len(starts) else []
    consts_in = np.add.reduceat(is_const[by_cluster], starts).tolist() if len(starts) else []
    flat = by_cluster.tolist()
    bounds = [*starts.tolist(), len(flat)]
    why_left: dict[int, str] = {}
    segments_nodes: list[list[int]] = []
    effective_of: list[int] = []
    # Clusters in the topological order of their first member.
    for c in np.argsort(order[starts]).tolist():
        members, effective = flat[bounds[c] : bounds[c + 1]], effective_in[c]
        if consts_in[c]:
            member_set = set(members)
            for i in [i for i in members if is_const[i]]:
                if (
                    not member_set.isdisjoint(view.data_consumers[i])
                    and not member_set.issuperset(view.data_consumers[i])
                    and member_set.isdisjoint(view.predecessors(i))
                ):
                    member_set.discard(i)
                    why_left[i] = "Const read both inside and outside a segment (an engine does not expose its weights)"
            members = [i for i in members if i in member_set]
            effective = int(is_effective[members].sum())
        if effective and effective >= minimum_segment_size:
            segments_nodes.append(members)
            effective_of.append(effective)
        else:
            reason = f"in a cluster of {effective} effective node(s), below minimum_segment_size={minimum_segment_size}"
            why_left.update(dict.fromkeys(members, reason))
    first = view.topo_position[[members[0] for members in segments_nodes]].tolist()
    ranked = sorted(range(len(segments_nodes)), key=lambda s: (-effective_of[s], first[s]))
    if maximum_segments is not None:
        for s in ranked[maximum_segments:]:
            for i in segments_nodes[s]:
                why_left[i] = f"segment dropped: {maximum_segments} larger segments kept (maximum_segments)"
        ranked = ranked[:maximum_segments]
    kept = [segments_nodes[s] for s in sorted(ranked)]

    part_of, seg_level = _assign_parts(view, kept, is_input)
    wanted = [(s, k) for s, k in wanted if not is_input[s]]
    return _build(view, support, verdicts, part_of, seg_level, wanted, why_left, is_input)


def _assign_parts(view: GraphView, kept: list[list[int]], is_input: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Part id per node (segments ``0..S-1``, islands ``S + level``, graph inputs ``-1``), and each segment's level."""
    s_count = len(kept)
    unit = np.full(len(view), -1, dtype=np.int64)
    for s, members in enumerate(kept):
        unit[members] = s
    topo = view.topo_array
    loose = topo[(unit[topo] < 0) & ~is_input[topo]]
    unit[loose] = np.arange(s_count, s_count + len(loose))
    u_count = s_count + len(loose)
    src, dst = unit[view.edges[0]], unit[view.edges[1]]
    crossing = (src >= 0) & (dst >= 0) & (src != dst)
    codes = np.unique(src[crossing] * u_count + dst[crossing])
    targets = (codes % u_count).tolist()
    succ = group_by_id(targets, codes // u_count, u_count)
    indegree = np.bincount(codes % u_count, minlength=u_count).tolist()
    # Longest path counting segments: level[q] = max(level[p] + is_segment(p)) over edges p -> q.
    level = [0] * u_count
    queue = deque(u for u in range(u_count) if indegree[u] == 0)
    order: list[int] = []
    while queue:
        u = queue.popleft()
        order.append(u)
        step = level[u] + (u < s_count)
        for v in succ[u]:
            if step > level[v]:
                level[v] = step
            indegree[v] -= 1
            if indegree[v] == 0:
                queue.append(v)
    # Island nodes then move as late as their consumers allow (a Const feeding a later
    # island joins that island instead of opening an island of its own); a node without
    # consumers stays at its earliest level.
    for u in reversed(order):
        if u >= s_count and succ[u]:
            level[u] = min([level[v] for v in succ[u]])
    # Segment s keeps id s; island units at level k all become part S + k (the 0 appended
    # is looked up, then discarded, for graph inputs: unit -1).
    part_of = np.where(unit < s_count, unit, s_count + np.array(level + [0], dtype=np.int64)[unit])
    return part_of, level[:s_count]


def _build(
    view: GraphView,
    support: Mapping[str, Support],
    verdicts: list[Support],
    part_of: np.ndarray,
    seg_level: list[int],
    outputs_wanted: list[tuple[int, int]],
    why_left: dict[int, str],
    is_input: np.ndarray,
) -> Segmentation:
    n, names, op_types = len(view), view.names, view.op_types
    s_count = len(seg_level)
    topo, topo_pos = view.topo_array, view.topo_position
    placed = topo[part_of[topo] >= 0]
    placed = placed[np.argsort(part_of[placed], kind="stable")]  # grouped by part, each in topological order
    parts, starts = np.unique(part_of[placed], return_index=True)
    # Islands of level k run before segments of level k, which run before islands of level k+1.
    rank = 2 * (parts - s_count)
    is_segment = parts < s_count
    rank[is_segment] = 2 * np.array(seg_level, dtype=np.int64)[parts[is_segment]] + 1
    ordered = parts[np.lexsort((topo_pos[placed[starts]], rank))].tolist()
    bounds = [*starts.tolist(), len(placed)]
    span = {p: (a, b) for p, a, b in zip(parts.tolist(), bounds, bounds[1:])}
    segment_parts = [p for p in ordered if p < s_count]
    island_parts = [p for p in ordered if p >= s_count]
    part_name = {p: f"seg_{k}" for k, p in enumerate(segment_parts)}
    part_name.update({p: f"tf_{k}" for k, p in enumerate(island_parts)})

    # Op codes follow the op types' sorted order, so each part's counts come out sorted by op type.
    pairs, counts = np.unique(part_of[placed] * len(op_types) + view.op_codes[placed], return_counts=True)
    hist_ops = [op_types[c] for c in (pairs % len(op_types)).tolist()]
    hist_counts = counts.tolist()
    hist_bounds = [*np.unique(pairs // len(op_types), return_index=True)[1].tolist(), len(pairs)]
    histogram = {
        p: dict(zip(hist_ops[a:b], hist_counts[a:b])) for p, a, b in zip(parts.tolist(), hist_bounds, hist_bounds[1:])
    }

    src, k, dst = view.data_edges
    src_part, dst_part = part_of[src], part_of[dst]
    crossing = src_part != dst_part
    src, k = src[crossing], k[crossing]
    wanted = np.array(outputs_wanted, dtype=np.int64).reshape(-1, 2)
    out_src, out_k = np.concatenate((src, wanted[:, 0])), np.concatenate((k, wanted[:, 1]))
    name_of = _tensor_namer(names, out_src, out_k)
    enters = _tensors_by_part(topo_pos, dst_part[crossing], src, k, name_of)
    leaves = _tensors_by_part(topo_pos, np.concatenate((src_part[crossing], part_of[wanted[:, 0]])), out_src, out_k, name_of)
    member_names = list(map(names.__getitem__, placed.tolist()))
    segments: list[Segment] = []
    islands: list[Island] = []
    for part in ordered:
        a, b = span[part]
        nodes, kind = tuple(member_names[a:b]), Segment if part < s_count else Island
        part_obj = kind(part_name[part], nodes, enters.get(part, ()), leaves.get(part, ()), histogram[part])
        (segments if part < s_count else islands).append(part_obj)

    in_islands = np.flatnonzero(part_of >= s_count).tolist()
    reasons = [why_left.get(i) if verdicts[i].supported else verdicts[i].reason for i in in_islands]
    island_ops = map(op_types.__getitem__, view.op_codes[in_islands].tolist())
    left = Counter(zip(island_ops, [reason or "unsupported" for reason in reasons]))
    fallbacks = [Fallback(op, c, r) for (op, r), c in sorted(left.items(), key=lambda kv: (-kv[1], kv[0]))]
    non_input = n - int(is_input.sum())
    assignment: dict[str, str] = {}
    for part_obj in (*segments, *islands):
        assignment.update(dict.fromkeys(part_obj.nodes, part_obj.name))
    return Segmentation(
        segments=tuple(segments),
        islands=tuple(islands),
        graph_inputs=tuple(map(names.__getitem__, topo[is_input[topo]].tolist())),
        parts_in_order=tuple(part_name[p] for p in ordered),
        assignment=assignment,
        support=dict(support),
        fallbacks=fallbacks,
        coverage=int(np.count_nonzero((part_of >= 0) & (part_of < s_count))) / non_input if non_input else 0.0,
    )
