"""A light, read-only view over a TensorFlow ``GraphDef``.

The view reads only the proto fields ``node[i].name / .op / .input / .attr``, so it
works on a ``tensorflow.core.framework.graph_pb2.GraphDef`` without building a
``tf.Graph`` or a session. It never imports TensorFlow itself (importing the proto
module loads TensorFlow; the caller already holds the proto).

Nodes are numbered by the sorted order of their names, and the topological order
breaks ties by that number, so every result derived from the view is independent
of the order of nodes in the ``GraphDef``.

Edges:
    - data edges: ``"node:k"`` (``"node"`` means ``"node:0"``) inputs;
    - control edges: ``"^node"`` inputs. They carry no tensor, but they order
      execution, so the segmenter counts them for acyclicity. Frozen inference
      graphs (``convert_variables_to_constants_v2``) hold ``NoOp`` nodes tied in
      by control edges only; see :mod:`tftrt_kit.segment.segmenter` for how they
      are placed.

:func:`contract` clusters candidate nodes of such a graph as TF-TRT's segmenter does,
without ever forming a cycle, in one pass per node; "is there another path" walks
back only over the clusters lying between two nodes (bounded by heights), instead of
TF-TRT's unbounded reverse DFS, which is quadratic on large graphs.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterable, Sequence
from itertools import chain, pairwise, repeat
from typing import Any, NamedTuple

import numpy as np

from tftrt_kit.errors import SegmentationError


class TensorName(NamedTuple):
    """A parsed input reference: ``node`` and output ``index`` (-1 for a control input)."""

    node: str
    index: int

    @property
    def is_control(self) -> bool:
        """Whether this reference is a control input (``"^node"``)."""
        return self.index < 0

    def __str__(self) -> str:
        return f"^{self.node}" if self.is_control else f"{self.node}:{self.index}"


def parse_tensor_name(name: str) -> TensorName:
    """Parse a NodeDef input or a tensor name.

    Args:
        name: ``"node"``, ``"node:3"`` or ``"^node"`` (control input).

    Returns:
        The :class:`TensorName`; ``index`` is 0 for ``"node"`` and -1 for ``"^node"``.

    Raises:
        SegmentationError: if the name is empty or its index is not a non-negative integer.
    """
    if not name or name == "^":
        raise SegmentationError(f"Expected a tensor name like 'node:0'. Received: name={name!r}")
    if name[0] == "^":
        return TensorName(name[1:], -1)
    node, sep, index = name.rpartition(":")
    if not sep:
        return TensorName(name, 0)
    if not index.isdigit() or not node:
        raise SegmentationError(
            f"Expected a tensor name like 'node:0' with a non-negative index. Received: name={name!r}"
        )
    return TensorName(node, int(index))


def canonical_tensor_name(name: str) -> str:
    """Return ``name`` as ``"node:index"`` (``"x"`` becomes ``"x:0"``).

    Args:
        name: A tensor name; control inputs are refused.

    Returns:
        The canonical tensor name.

    Raises:
        SegmentationError: if ``name`` is malformed or is a control input.
    """
    parsed = parse_tensor_name(name)
    if parsed.is_control:
        raise SegmentationError(f"Expected a data tensor name, not a control input. Received: name={name!r}")
    return f"{parsed.node}:{parsed.index}"


class GraphView:
    """Integer-indexed adjacency of a GraphDef with a deterministic topological order.

    Attributes:
        names: node names, sorted; a node's id is its position here.
        index: node name -> id.
        ops: op type of each node.
        nodes: the ``NodeDef`` of each node.
        data_inputs: per node, ``(source id, output index)`` of each data input, in input order.
        control_inputs: per node, ids of its control inputs (deduplicated, sorted).
        data_consumers: per node, ids of nodes reading one of its outputs (deduplicated, sorted).
        control_consumers: per node, ids of nodes holding a control input on it (deduplicated, sorted).
        successor_ids: per node, ids of its data and control consumers (deduplicated, sorted).
        data_edges: ``(source ids, output indices, consumer ids)`` arrays of every data
            input, in node then input order.
        edges: ``(source ids, consumer ids)`` arrays of the data and control edges
            (deduplicated, sorted).
        topo_order: node ids in topological order (Kahn's algorithm, smallest id first).
        topo_array: ``topo_order`` as an array.
        topo_position: id -> position in ``topo_order``.
    """

    def __init__(self, graph_def: Any):
        """Build the view.

        Args:
            graph_def: A ``GraphDef`` (or any object with the same ``node`` fields).

        Raises:
            SegmentationError: on duplicate node names, inputs naming a missing node,
                or a cycle (frozen inference graphs have none; TF1 ``while`` loops do).
        """
        nodes_in_file = list(graph_def.node)
        names_in_file = [node.name for node in nodes_in_file]
        order = sorted(range(len(nodes_in_file)), key=names_in_file.__getitem__)
        self.names: tuple[str, ...] = tuple([names_in_file[i] for i in order])
        self.index: dict[str, int] = dict(zip(self.names, range(len(order))))
        if len(self.index) != len(order):
            seen: set[str] = set()
            dupes = sorted({name for name in self.names if name in seen or seen.add(name)})
            raise SegmentationError(f"Expected unique node names in the GraphDef. Received duplicates: {dupes[:5]}")
        self.nodes = tuple([nodes_in_file[i] for i in order])
        self.ops: tuple[str, ...] = tuple([node.op for node in self.nodes])
        self.topo_order: tuple[int, ...] = self._kahn(self._read_inputs())
        self.topo_array = np.array(self.topo_order, dtype=np.int64)
        position = np.empty(len(order), dtype=np.int64)
        position[self.topo_array] = np.arange(len(order))
        self.topo_position: tuple[int, ...] = tuple(position.tolist())

    def _read_inputs(self) -> list[int]:
        """Fill the edge attributes, handling the inputs in bulk.

        Returns:
            Per node, its number of distinct predecessors (Kahn's indegree).
        """
        n, get = len(self.names), self.index.get
        inputs = [node.input for node in self.nodes]
        raws = list(chain.from_iterable(inputs))
        dsts = np.repeat(np.arange(n), np.fromiter(map(len, inputs), dtype=np.int64, count=n))
        srcs = np.fromiter(map(get, raws, repeat(-1)), dtype=np.int64, count=len(raws))
        ks = np.zeros(len(raws), dtype=np.int64)
        # A raw input that is a node's name is output 0 of that node, unless some name
        # holds ":" or starts with "^"; only the other inputs go through the full parser.
        joined = "\n" + "\n".join(self.names)
        if ":" in joined or "\n^" in joined:
            special = [j for j, raw in enumerate(raws) if srcs[j] < 0 or raw[0] == "^" or ":" in raw]
        else:
            special = np.flatnonzero(srcs < 0).tolist()
        control_of: dict[int, set[int]] = {}
        for j in special:
            ref = parse_tensor_name(raws[j])
            src = get(ref.node)
            if src is None:
                raise SegmentationError(
                    f"Expected every input to name a node of the graph. "
                    f"Received: node={self.names[dsts[j]]!r} input={raws[j]!r}"
                )
            if ref.index < 0:
                control_of.setdefault(int(dsts[j]), set()).add(src)
                srcs[j] = -1
            else:
                srcs[j], ks[j] = src, ref.index
        data = srcs >= 0
        self.data_edges = (srcs[data], ks[data], dsts[data])
        control_inputs: list[tuple[int, ...]] = [()] * n
        control_consumers: dict[int, list[int]] = {}
        for dst in sorted(control_of):
            control_inputs[dst] = tuple(sorted(control_of[dst]))
            for src in control_inputs[dst]:
                control_consumers.setdefault(src, []).append(dst)
        control_codes = [src * n + dst for src, of_src in control_consumers.items() for dst in of_src]
        codes = np.union1d(self.data_edges[0] * n + self.data_edges[2], np.array(control_codes, dtype=np.int64))
        self.edges = (codes // n, codes % n)
        successors = self.edges[1].tolist()
        self.successor_ids: tuple[tuple[int, ...], ...] = tuple(
            [tuple(successors[a:b]) for a, b in group_spans(self.edges[0], n)]
        )
        consumers_by_control: list[tuple[int, ...]] = [()] * n
        for src, dsts_of_src in control_consumers.items():
            consumers_by_control[src] = tuple(dsts_of_src)
        self.control_inputs: tuple[tuple[int, ...], ...] = tuple(control_inputs)
        self.control_consumers: tuple[tuple[int, ...], ...] = tuple(consumers_by_control)
        return np.bincount(self.edges[1], minlength=n).tolist()

    @functools.cached_property
    def data_consumers(self) -> tuple[tuple[int, ...], ...]:
        """Per node, ids of nodes reading one of its outputs (deduplicated, sorted)."""
        n = len(self)
        codes = np.unique(self.data_edges[0] * n + self.data_edges[2])
        consumers = (codes % n).tolist()
        return tuple([tuple(consumers[a:b]) for a, b in group_spans(codes // n, n)])

    @functools.cached_property
    def data_inputs(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Per node, ``(source id, output index)`` of each data input, in input order.

        Built on first use: the segmenter itself reads :attr:`data_edges`.
        """
        src, k, dst = self.data_edges
        pairs = list(zip(src.tolist(), k.tolist()))
        return tuple([tuple(pairs[a:b]) for a, b in group_spans(dst, len(self))])

    def _kahn(self, indegree: list[int]) -> tuple[int, ...]:
        n, successor_ids = len(self.names), self.successor_ids
        heap = [i for i in range(n) if not indegree[i]]  # ascending, hence already a heap
        order: list[int] = []
        pop, push, append = heapq.heappop, heapq.heappush, order.append
        while heap:
            node_id = pop(heap)
            append(node_id)
            for succ in successor_ids[node_id]:
                indegree[succ] -= 1
                if not indegree[succ]:
                    push(heap, succ)
        if len(order) != n:
            stuck = sorted(self.names[i] for i in range(n) if indegree[i] > 0)
            raise SegmentationError(
                f"Expected an acyclic graph (a frozen inference graph). Received a cycle through "
                f"{len(stuck)} nodes, e.g. {stuck[:5]}"
            )
        return tuple(order)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.index

    def __repr__(self) -> str:
        return f"GraphView(nodes={len(self)})"

    def successors(self, node_id: int) -> tuple[int, ...]:
        """Ids of the nodes depending on ``node_id`` through a data or a control edge, sorted."""
        return self.successor_ids[node_id]

    def predecessors(self, node_id: int) -> tuple[int, ...]:
        """Ids of the nodes ``node_id`` depends on through a data or a control edge, sorted."""
        return tuple(sorted({src for src, _ in self.data_inputs[node_id]}.union(self.control_inputs[node_id])))

    def node(self, name: str) -> Any:
        """The ``NodeDef`` named ``name`` (KeyError if absent)."""
        return self.nodes[self.index[name]]

    def op(self, name: str) -> str:
        """The op type of node ``name``."""
        return self.ops[self.index[name]]

    def input_tensors(self, name: str) -> tuple[str, ...]:
        """Canonical names (``"node:k"``) of the data inputs of node ``name``, in input order."""
        return tuple(f"{self.names[src]}:{k}" for src, k in self.data_inputs[self.index[name]])

    def control_input_names(self, name: str) -> tuple[str, ...]:
        """Names of the nodes node ``name`` holds a control input on."""
        return tuple(self.names[i] for i in self.control_inputs[self.index[name]])

    def consumers(self, name: str) -> tuple[str, ...]:
        """Names of the nodes reading an output of node ``name`` (data edges), sorted."""
        return tuple(self.names[i] for i in self.data_consumers[self.index[name]])

    def topological_order(self) -> tuple[str, ...]:
        """Node names in the view's deterministic topological order."""
        return tuple(self.names[i] for i in self.topo_order)

    def ids(self, names: Iterable[str]) -> list[int]:
        """Ids of ``names`` (KeyError on an unknown name)."""
        return [self.index[name] for name in names]


def group_spans(sorted_ids: np.ndarray, n: int) -> list[tuple[int, int]]:
    """``(start, end)`` of the run of each id of ``0..n-1`` in ``sorted_ids`` (empty if absent)."""
    return list(pairwise(np.concatenate(([0], np.cumsum(np.bincount(sorted_ids, minlength=n)))).tolist()))


def contract(view: GraphView, candidate: Sequence[bool]) -> list[int]:
    """Cluster candidate nodes the way TF-TRT's segmenter does, without forming a cycle.

    Nodes are visited in reverse topological order. TF-TRT merges the visited node's
    cluster with each candidate cluster it feeds, retrying until no merge is left, and
    refuses a merge when another path leads there. With every successor already
    visited, that loop has one fixed point whatever order it tries the edges in: the
    node plus exactly those candidate successor clusters that no other path reaches
    from it. (A candidate cluster's own successors all lie behind a non-candidate of
    its, so no merge frees another, and a merge never makes another one form a cycle.)
    So each node is settled in one pass.

    The contracted graph of visited clusters carries a height per cluster, larger
    than each successor's, so only clusters shorter than one of the node's targets can
    lie on another path to a target ``s``. A merge that makes a cluster taller raises its
    predecessors' heights in turn.

    Args:
        view: The graph.
        candidate: Per node id, whether it may join a cluster.

    Returns:
        Per node id, the id of a member of its cluster (the same for all members).
    """
    n = len(view)
    parent = list(range(n))
    height = [0] * n
    # Cluster -> its successor and predecessor clusters (visited ones only); set when visited.
    out: list[set[int]] = [None] * n  # type: ignore[list-item]
    inn: list[set[int]] = [None] * n  # type: ignore[list-item]

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = i = parent[parent[i]]
        return i

    def another_path(targets: set[int], s: int, ceiling: int) -> bool:
        """Whether cluster ``s``, which no target feeds directly, is reachable from one of ``targets``.

        Every cluster on such a path was visited and is shorter than a target (``ceiling``
        is the tallest target's height), so the search walks backward from ``s`` over
        those alone: the few clusters lying between the visited node and ``s``.
        """
        s_in = inn[s]
        stack, seen = [p for p in s_in if height[p] < ceiling], set(s_in)
        while stack:
            for prev in inn[stack.pop()]:
                if prev in targets:
                    return True
                if height[prev] < ceiling and prev not in seen:
                    seen.add(prev)
                    stack.append(prev)
        return False

    def raise_heights(preds: Iterable[int], floor: int) -> None:
        """Make every cluster of ``preds``, and transitively theirs, taller than ``floor``."""
        stack = [(p, floor + 1) for p in preds if height[p] <= floor]
        while stack:
            p, h = stack.pop()
            if height[p] < h:
                height[p] = h
                stack.extend((q, h + 1) for q in inn[p] if height[q] <= h)

    successor_ids = view.successor_ids
    for v in reversed(view.topo_order):
        succ = successor_ids[v]
        if len(succ) == 1:
            t = succ[0]
            if parent[t] != t:
                t = find(t)
            if candidate[v] and candidate[t]:
                parent[v] = t  # t's cluster keeps its edges and height: nothing else changes
            else:
                inn[t].add(v)
                out[v], inn[v] = {t}, set()
                height[v] = height[t] + 1
            continue
        if not succ:
            out[v], inn[v] = set(), set()  # height 0
            continue
        targets = {x if parent[x] == x else find(x) for x in succ}
        top = max([height[t] for t in targets])
        if not candidate[v]:
            merged = []
        elif len(targets) == 1:
            merged = [s for s in targets if candidate[s]]
        else:
            # A target feeding s directly, the common case, is found by one set operation; a
            # longer path from a target needs a target at least two taller than s.
            merged = [
                s
                for s in targets
                if candidate[s]
                and inn[s].isdisjoint(targets)
                and (height[s] + 2 > top or not another_path(targets, s, top))
            ]
        if not merged:
            for t in targets:
                inn[t].add(v)
            out[v], inn[v] = targets, set()
            height[v] = 1 + top
            continue
        if len(merged) == 1:
            keep = merged[0]
            new_height = height[keep]
        else:
            # The merged cluster keeps the id of its member with the most edges: only the others' edges move.
            keep = max(merged, key=lambda s: len(out[s]) + len(inn[s]))
            new_height = max([height[s] for s in merged])
        parent[v] = keep
        rest = targets.difference(merged) if len(merged) < len(targets) else ()
        if rest:
            new_height = max(new_height, 1 + max([height[t] for t in rest]))
        keep_out, keep_in, moved_preds = out[keep], inn[keep], []
        for t in rest:
            keep_out.add(t)
            inn[t].add(keep)
        for s in merged:
            if s == keep:
                continue
            parent[s] = keep
            for t in out[s]:
                t_in = inn[t]
                t_in.discard(s)
                t_in.add(keep)
            keep_out |= out[s]
            for p in inn[s]:
                p_out = out[p]
                p_out.discard(s)
                p_out.add(keep)
            keep_in |= inn[s]
            moved_preds.extend(inn[s])
            out[s] = inn[s] = set()
        raise_heights(keep_in if new_height > height[keep] else moved_preds, new_height)
        height[keep] = new_height
    return [i if parent[i] == i else find(i) for i in range(n)]
