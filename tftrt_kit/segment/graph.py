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

:mod:`tftrt_kit.segment.contract` clusters the nodes of such a view.
"""

from __future__ import annotations

import functools
import gc
import heapq
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import chain, pairwise, repeat
from typing import Any, NamedTuple

import numpy as np

from tftrt_kit.errors import SegmentationError


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small, acyclic containers.

    Reading and segmenting 100k nodes allocates millions of sets and tuples with no
    reference cycles; the collector's generational scans of them cost ~40% of the run.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
        op_types: the distinct op types, sorted.
        op_codes: per node, the position of its op type in ``op_types`` (an array).
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
        topo_position: id -> position in ``topo_order``, as an array.
    """

    def __init__(self, graph_def: Any):
        """Build the view.

        Args:
            graph_def: A ``GraphDef`` (or any object with the same ``node`` fields).

        Raises:
            SegmentationError: on duplicate node names, inputs naming a missing node,
                or a cycle (frozen inference graphs have none; TF1 ``while`` loops do).
        """
        with gc_paused():
            self._read(graph_def)

    def _read(self, graph_def: Any) -> None:
        # Every field is read in file order, the order of the nodes in memory, and then
        # permuted: reading them in name order costs twice as much in cache misses.
        nodes_in_file = list(graph_def.node)
        names_in_file = [node.name for node in nodes_in_file]
        ops_in_file = [node.op for node in nodes_in_file]
        inputs_in_file = [node.input for node in nodes_in_file]
        order = sorted(range(len(nodes_in_file)), key=names_in_file.__getitem__)
        self.names: tuple[str, ...] = tuple(map(names_in_file.__getitem__, order))
        self.index: dict[str, int] = dict(zip(self.names, range(len(order))))
        if len(self.index) != len(order):
            seen: set[str] = set()
            dupes = sorted({name for name in self.names if name in seen or seen.add(name)})
            raise SegmentationError(f"Expected unique node names in the GraphDef. Received duplicates: {dupes[:5]}")
        self._nodes_in_file, self._order = nodes_in_file, order
        self.op_types: tuple[str, ...] = tuple(sorted(set(ops_in_file)))
        code_of = dict(zip(self.op_types, range(len(self.op_types))))
        self.op_codes = np.fromiter(map(code_of.__getitem__, ops_in_file), dtype=np.int64, count=len(order))[order]
        id_in_file = np.empty(len(order), dtype=np.int64)
        id_in_file[order] = np.arange(len(order))
        self.topo_order: tuple[int, ...] = self._kahn(self._read_inputs(inputs_in_file, id_in_file))
        self.topo_array = np.array(self.topo_order, dtype=np.int64)
        self.topo_position = np.empty(len(order), dtype=np.int64)
        self.topo_position[self.topo_array] = np.arange(len(order))

    def _read_inputs(self, inputs: list[Any], id_in_file: np.ndarray) -> list[int]:
        """Fill the edge attributes, handling the inputs in bulk.

        Args:
            inputs: Each node's ``input`` field, in file order.
            id_in_file: The id of each node, in file order.

        Returns:
            Per node, its number of distinct predecessors (Kahn's indegree).
        """
        n, get = len(self.names), self.index.get
        raws = list(chain.from_iterable(inputs))
        dsts = np.repeat(id_in_file, np.fromiter(map(len, inputs), dtype=np.int64, count=n))
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
        data = np.flatnonzero(srcs >= 0)
        data = data[np.argsort(dsts[data], kind="stable")]  # node, then input order
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
        self.successor_ids: tuple[tuple[int, ...], ...] = group_by_id(self.edges[1].tolist(), self.edges[0], n)
        consumers_by_control: list[tuple[int, ...]] = [()] * n
        for src, dsts_of_src in control_consumers.items():
            consumers_by_control[src] = tuple(dsts_of_src)
        self.control_inputs: tuple[tuple[int, ...], ...] = tuple(control_inputs)
        self.control_consumers: tuple[tuple[int, ...], ...] = tuple(consumers_by_control)
        return np.bincount(self.edges[1], minlength=n).tolist()

    @functools.cached_property
    def nodes(self) -> tuple[Any, ...]:
        """The ``NodeDef`` of each node."""
        return tuple(map(self._nodes_in_file.__getitem__, self._order))

    @functools.cached_property
    def ops(self) -> tuple[str, ...]:
        """The op type of each node."""
        return tuple(map(self.op_types.__getitem__, self.op_codes.tolist()))

    def op_mask(self, op_types: Iterable[str]) -> np.ndarray:
        """Per node, whether its op type is one of ``op_types`` (a bool array)."""
        wanted = set(op_types)
        return np.array([op in wanted for op in self.op_types], dtype=bool)[self.op_codes]

    @functools.cached_property
    def data_consumers(self) -> tuple[tuple[int, ...], ...]:
        """Per node, ids of nodes reading one of its outputs (deduplicated, sorted)."""
        n = len(self)
        codes = np.unique(self.data_edges[0] * n + self.data_edges[2])
        return group_by_id((codes % n).tolist(), codes // n, n)

    @functools.cached_property
    def data_inputs(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Per node, ``(source id, output index)`` of each data input, in input order.

        Built on first use: the segmenter itself reads :attr:`data_edges`.
        """
        src, k, dst = self.data_edges
        return group_by_id(list(zip(src.tolist(), k.tolist())), dst, len(self))

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


def group_by_id(values: list[Any], sorted_ids: np.ndarray, n: int) -> tuple[tuple[Any, ...], ...]:
    """``values`` split into one tuple per id of ``0..n-1`` (empty for an absent id).

    Args:
        values: Values grouped by id already.
        sorted_ids: The id of each value, ascending.
        n: Number of ids.
    """
    bounds = np.concatenate(([0], np.cumsum(np.bincount(sorted_ids, minlength=n)))).tolist()
    return tuple([tuple(values[a:b]) for a, b in pairwise(bounds)])
