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

:class:`ContractionDag` contracts edges of such a graph without ever forming a cycle.
It is the same idea as XLA's ``GraphCycles``: keep a topological rank for every live
node and update it incrementally on edge insertion (Pearce-Kelly), so "is there
another path from a to b" only explores nodes ranked between ``a`` and ``b``,
instead of TF-TRT's unbounded reverse DFS, which is quadratic on large graphs.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
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
        control_consumers: per node, ids of nodes holding a control input on it.
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
        by_name = {n.name: n for n in nodes_in_file}
        if len(by_name) != len(nodes_in_file):
            seen: set[str] = set()
            dupes = sorted({n.name for n in nodes_in_file if n.name in seen or seen.add(n.name)})
            raise SegmentationError(f"Expected unique node names in the GraphDef. Received duplicates: {dupes[:5]}")
        self.names: tuple[str, ...] = tuple(sorted(by_name))
        self.index: dict[str, int] = {name: i for i, name in enumerate(self.names)}
        self.nodes = tuple(by_name[name] for name in self.names)
        self.ops: tuple[str, ...] = tuple(n.op for n in self.nodes)

        n = len(self.names)
        index = self.index
        data_inputs: list[tuple[tuple[int, int], ...]] = []
        control_inputs: list[tuple[int, ...]] = []
        data_consumers: list[set[int]] = [set() for _ in range(n)]
        control_consumers: list[set[int]] = [set() for _ in range(n)]
        for dst, node in enumerate(self.nodes):
            data: list[tuple[int, int]] = []
            control: set[int] = set()
            for raw in node.input:
                ref = parse_tensor_name(raw)
                src = index.get(ref.node)
                if src is None:
                    raise SegmentationError(
                        f"Expected every input to name a node of the graph. "
                        f"Received: node={node.name!r} input={raw!r}"
                    )
                if ref.index < 0:
                    control.add(src)
                    control_consumers[src].add(dst)
                else:
                    data.append((src, ref.index))
                    data_consumers[src].add(dst)
            data_inputs.append(tuple(data))
            control_inputs.append(tuple(sorted(control)))
        self.data_inputs: tuple[tuple[tuple[int, int], ...], ...] = tuple(data_inputs)
        self.control_inputs: tuple[tuple[int, ...], ...] = tuple(control_inputs)
        self.data_consumers: tuple[tuple[int, ...], ...] = tuple(tuple(sorted(s)) for s in data_consumers)
        self.control_consumers: tuple[tuple[int, ...], ...] = tuple(tuple(sorted(s)) for s in control_consumers)
        self.topo_order: tuple[int, ...] = self._kahn()
        position = [0] * n
        for pos, node_id in enumerate(self.topo_order):
            position[node_id] = pos
        self.topo_position: tuple[int, ...] = tuple(position)

    def _kahn(self) -> tuple[int, ...]:
        n = len(self.names)
        indegree = [len(self.predecessors(node_id)) for node_id in range(n)]
        heap = [i for i in range(n) if indegree[i] == 0]
        heapq.heapify(heap)
        order: list[int] = []
        while heap:
            node_id = heapq.heappop(heap)
            order.append(node_id)
            for succ in self.successors(node_id):
                indegree[succ] -= 1
                if indegree[succ] == 0:
                    heapq.heappush(heap, succ)
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

    def successors(self, node_id: int) -> set[int]:
        """Ids of the nodes depending on ``node_id`` through a data or a control edge."""
        return set(self.data_consumers[node_id]).union(self.control_consumers[node_id])

    def predecessors(self, node_id: int) -> set[int]:
        """Ids of the nodes ``node_id`` depends on through a data or a control edge."""
        return {src for src, _ in self.data_inputs[node_id]}.union(self.control_inputs[node_id])

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


class ContractionDag:
    """A DAG over ids ``0..n-1`` whose edges can be contracted without forming a cycle.

    Args:
        rank: An initial topological rank per node (unique values); owned by the DAG.
        successors: Per node, the set of ids it has an edge to; owned by the DAG.
    """

    def __init__(self, rank: list[int], successors: list[set[int]]):
        n = len(rank)
        self.rank = rank
        self.out = successors
        self.inn: list[set[int]] = [set() for _ in range(n)]
        for src, succ in enumerate(successors):
            for dst in succ:
                self.inn[dst].add(src)
        self._mark = [0] * n
        self._epoch = 0

    def _forward(self, start: int, upper: int) -> list[int] | None:
        """Nodes reachable from ``start`` ranked below ``upper``; ``None`` if the node ranked ``upper`` is reached."""
        self._epoch += 1
        epoch, mark, rank, out = self._epoch, self._mark, self.rank, self.out
        mark[start] = epoch
        stack, seen = [start], [start]
        while stack:
            for nxt in out[stack.pop()]:
                r = rank[nxt]
                if r == upper:
                    return None
                if r < upper and mark[nxt] != epoch:
                    mark[nxt] = epoch
                    stack.append(nxt)
                    seen.append(nxt)
        return seen

    def _backward(self, start: int, lower: int) -> list[int]:
        """Nodes reaching ``start`` ranked above ``lower``."""
        self._epoch += 1
        epoch, mark, rank, inn = self._epoch, self._mark, self.rank, self.inn
        mark[start] = epoch
        stack, seen = [start], [start]
        while stack:
            for prev in inn[stack.pop()]:
                if rank[prev] > lower and mark[prev] != epoch:
                    mark[prev] = epoch
                    stack.append(prev)
                    seen.append(prev)
        return seen

    def reachable(self, a: int, b: int) -> bool:
        """Whether a path leads from ``a`` to ``b`` (``a != b``).

        Every node on such a path is ranked between ``a`` and ``b``. The search grows
        forward from ``a`` and backward from ``b`` in turns, one node at a time, and
        stops when either side runs out (no path) or they meet, so it costs about
        twice the smaller of the two explored regions.
        """
        rank, out, inn, mark = self.rank, self.out, self.inn, self._mark
        lower, upper = rank[a], rank[b]
        if lower > upper:
            return False
        if not out[a].isdisjoint(inn[b]):
            return True  # a -> x -> b, the common case, found by one set operation
        self._epoch += 2
        fwd, bwd = self._epoch - 1, self._epoch
        mark[a], mark[b] = fwd, bwd
        forward, backward = [a], [b]
        while forward and backward:
            for nxt in out[forward.pop()]:
                seen = mark[nxt]
                if seen == bwd:
                    return True
                if seen != fwd and rank[nxt] < upper:
                    mark[nxt] = fwd
                    forward.append(nxt)
            for prev in inn[backward.pop()]:
                seen = mark[prev]
                if seen == fwd:
                    return True
                if seen != bwd and rank[prev] > lower:
                    mark[prev] = bwd
                    backward.append(prev)
        return False

    def _insert_edge(self, x: int, y: int) -> None:
        """Add ``x -> y``, reordering ranks when it breaks the order (the caller ensures no cycle)."""
        if y in self.out[x]:
            return
        self.out[x].add(y)
        self.inn[y].add(x)
        rank = self.rank
        if rank[x] < rank[y]:
            return
        # Pearce-Kelly: what follows y (below x) moves after what precedes x (above y).
        after = self._forward(y, rank[x])
        assert after is not None, "contraction formed a cycle"
        before = self._backward(x, rank[y])
        before.sort(key=rank.__getitem__)
        after.sort(key=rank.__getitem__)
        pool = sorted(rank[i] for i in before + after)
        for node, r in zip(before + after, pool):
            rank[node] = r

    def contract(self, a: int, b: int) -> int | None:
        """Merge the ends of edge ``a -> b`` unless another path leads from ``a`` to ``b``.

        Args:
            a: Source of an existing edge.
            b: Its destination.

        Returns:
            The id of the merged node (``a`` or ``b``), or ``None`` when merging would
            form a cycle.
        """
        out, inn = self.out, self.inn
        out[a].discard(b)
        inn[b].discard(a)
        if self.reachable(a, b):
            out[a].add(b)
            inn[b].add(a)
            return None
        # Small into large: only the smaller node's edges move, so a node's edges move
        # O(log E) times over the whole run.
        keep, drop = (a, b) if len(inn[a]) + len(out[a]) >= len(inn[b]) + len(out[b]) else (b, a)
        preds, succs = inn[drop], out[drop]
        inn[drop], out[drop] = set(), set()
        for p in preds:
            out[p].discard(drop)
        for s in succs:
            inn[s].discard(drop)
        for p in preds:
            self._insert_edge(p, keep)
        for s in succs:
            self._insert_edge(keep, s)
        return keep
