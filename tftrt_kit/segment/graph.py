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

import heapq
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

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
        topo_order: node ids in topological order (Kahn's algorithm, smallest id first).
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
        self._read_inputs()
        self.topo_order: tuple[int, ...] = self._kahn()
        position = [0] * len(order)
        for pos, node_id in enumerate(self.topo_order):
            position[node_id] = pos
        self.topo_position: tuple[int, ...] = tuple(position)

    def _read_inputs(self) -> None:
        """Fill the input and consumer attributes in one pass over the ``NodeDef`` inputs."""
        n, get = len(self.names), self.index.get
        data_inputs: list[tuple[tuple[int, int], ...]] = [()] * n
        control_inputs: list[tuple[int, ...]] = [()] * n
        data_consumers: list[list[int]] = [[] for _ in range(n)]
        control_consumers: list[list[int]] = [[] for _ in range(n)]
        for dst, node in enumerate(self.nodes):
            data: list[tuple[int, int]] = []
            control: list[int] = []
            for raw in node.input:
                src = get(raw)
                # A plain node name is output 0; anything else goes through the full parser.
                if src is None or raw[0] == "^" or ":" in raw:
                    ref = parse_tensor_name(raw)
                    src, k = get(ref.node), ref.index
                    if src is None:
                        raise SegmentationError(
                            f"Expected every input to name a node of the graph. "
                            f"Received: node={node.name!r} input={raw!r}"
                        )
                    if k < 0:
                        control.append(src)
                        continue
                else:
                    k = 0
                data.append((src, k))
                # dst only grows, so each consumer list stays sorted and repeats are adjacent.
                consumers = data_consumers[src]
                if not consumers or consumers[-1] != dst:
                    consumers.append(dst)
            if data:
                data_inputs[dst] = tuple(data)
            if control:
                control = sorted(set(control))
                control_inputs[dst] = tuple(control)
                for src in control:
                    control_consumers[src].append(dst)
        self.data_inputs: tuple[tuple[tuple[int, int], ...], ...] = tuple(data_inputs)
        self.control_inputs: tuple[tuple[int, ...], ...] = tuple(control_inputs)
        self.data_consumers: tuple[tuple[int, ...], ...] = tuple(map(tuple, data_consumers))
        self.control_consumers: tuple[tuple[int, ...], ...] = tuple(map(tuple, control_consumers))
        self.successor_ids: tuple[tuple[int, ...], ...] = tuple(
            tuple(sorted(set(d).union(c))) if c else d for d, c in zip(self.data_consumers, self.control_consumers)
        )

    def _kahn(self) -> tuple[int, ...]:
        n, successor_ids = len(self.names), self.successor_ids
        indegree = [0] * n
        for succ in successor_ids:
            for node_id in succ:
                indegree[node_id] += 1
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
    out: list[set[int]] = [set() for _ in range(n)]  # cluster -> successor clusters (visited ones only)
    inn: list[set[int]] = [set() for _ in range(n)]  # cluster -> predecessor clusters (visited ones only)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = i = parent[parent[i]]
        return i

    def another_path(targets: set[int], s: int) -> bool:
        """Whether cluster ``s`` is reachable from a cluster of ``targets`` other than itself.

        Every cluster on such a path was visited and is shorter than a target, so the
        search walks backward from ``s`` over those alone: the few clusters lying
        between the visited node and ``s``.
        """
        s_in = inn[s]
        if not s_in.isdisjoint(targets):
            return True  # target -> s, the common case, found by one set operation
        ceiling = max([height[t] for t in targets])
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
        targets = {x if parent[x] == x else find(x) for x in successor_ids[v]}
        if not candidate[v]:
            merged = []
        elif len(targets) == 1:
            merged = [s for s in targets if candidate[s]]
        else:
            merged = [s for s in targets if candidate[s] and not another_path(targets, s)]
        if not merged:
            for t in targets:
                inn[t].add(v)
            out[v] = targets
            height[v] = 1 + max([height[t] for t in targets], default=-1)
            continue
        # The merged cluster keeps the id of its member with the most edges: only the others' edges move.
        keep = max(merged, key=lambda s: len(out[s]) + len(inn[s])) if len(merged) > 1 else merged[0]
        parent[v] = keep
        new_height = max(height[s] for s in merged)
        rest = targets.difference(merged)
        if rest:
            new_height = max(new_height, 1 + max(height[t] for t in rest))
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
    return [find(i) for i in range(n)]
