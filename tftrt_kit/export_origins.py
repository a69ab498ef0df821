"""Which TensorFlow node each ONNX node of a tf2onnx export came from.

tf2onnx converts a TF node by calling its op handler, which rewrites the node in
place and may add nodes (a Conv2D gains Transposes, a Gelu several math nodes). The
origin of every node a handler adds is therefore the node being handled. The
tracker records exactly that through tf2onnx's own extension points: it wraps each
op's registered handler as a ``custom_op_handlers`` entry, and a ``custom_rewriter``
(run after tf2onnx's rewriters, before any handler) marks the nodes that already
exist as their own origins. One lookup is redirected while converting
(:meth:`OriginTracker.rewriters_use_tf2onnx_handlers`): tf2onnx's rewriters that
compose ops must get tf2onnx's handlers, not the wrappers.

tf2onnx's optimizers run later and replace nodes with nodes of their own (an
Einsum decomposed into Transpose/MatMul/Reshape, a Squeeze split off a Mean, a
Transpose pushed through an Add). :meth:`OriginTracker.snapshot` keeps the graph as
the handlers left it; :func:`resolve_origins` then gives a node an optimizer made
the origin of the node its name extends (``utils.make_name``: ``<name>_Squeeze__19``),
else of the nodes it replaced: those removed between the tensors its group of new
nodes reads and the nodes that read what the group computes.
"""

from __future__ import annotations

import contextlib
import weakref
from collections import deque
from typing import Any, Iterable, Iterator, Mapping


class OriginTracker:
    """Records the TF node of each tf2onnx node during one conversion.

    Args:
        op_types: TF op types present in the graph (only their handlers are wrapped).
        opset: ONNX opset of the conversion.
        extra_handlers: Extra ``custom_op_handlers`` in tf2onnx's ``{op: (func, args)}`` form
            (``args`` empty); they are tracked like tf2onnx's own.

    Attributes:
        origins: tf2onnx node name -> TF node name, for the nodes seen up to now.
        handled: The graph the handlers left (node name -> ``(inputs, outputs)``), once
            :meth:`snapshot` was called.
    """

    def __init__(self, op_types: Iterable[str], opset: int, extra_handlers: Mapping[str, Any]):
        from tf2onnx import handler

        mapping = dict(handler.tf_op.create_mapping(opset, None))
        self._extra = dict(extra_handlers)
        self.op_types = sorted(t for t in set(op_types) if t in mapping or t in self._extra)
        self._mapping = mapping
        self._seen: weakref.WeakSet = weakref.WeakSet()
        self.origins: dict[str, str] = {}
        self.handled: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def custom_op_handlers(self) -> dict[str, tuple[Any, list]]:
        """``custom_op_handlers`` for ``process_tf_graph``: every tracked op type, wrapped."""
        return {op: (self._handle, []) for op in self.op_types}

    @contextlib.contextmanager
    def rewriters_use_tf2onnx_handlers(self) -> Iterator[None]:
        """Within the block, ``tf_op.find_effective_op`` answers from tf2onnx's own handlers.

        tf2onnx adds ``custom_op_handlers`` to the very mapping ``find_effective_op``
        reads, as wrappers that only work when its dispatch calls them. A rewriter
        composing ops through that lookup (conv2d_with_pad's Conv2D, random_uniform's
        Fill) then failed half-way, which tf2onnx only logs: a Pad merged into a
        Conv2D lost its pads (ResNet's first convolution computed without padding).
        The nodes such a handler call makes trace to the node it converts.
        """
        from tf2onnx import handler

        original = handler.tf_op.__dict__["find_effective_op"]

        def find_effective_op(name: str, domain: str | None = None) -> Any:
            if domain is not None or name not in self._mapping:
                return original.__func__(name, domain)
            func, kwargs = self._mapping[name]
            return self._traced(func), kwargs

        handler.tf_op.find_effective_op = staticmethod(find_effective_op)
        try:
            yield
        finally:
            handler.tf_op.find_effective_op = original

    def _traced(self, func: Any) -> Any:
        """``func`` (a tf2onnx handler a rewriter calls) marking the nodes it makes with the converted node's origin."""

        def call(ctx: Any, node: Any, **kwargs: Any) -> Any:
            before = set(ctx.get_nodes())
            result = func(ctx, node, **kwargs)
            for created in ctx.get_nodes():
                if created not in before:
                    self._mark(created, node.name)
            self._mark(node, node.name)
            return result

        return call

    def custom_rewriter(self) -> list[Any]:
        """``custom_rewriter`` for ``process_tf_graph``: marks the nodes existing before any handler runs."""

        def mark_existing(graph: Any, ops: list) -> list:
            for node in graph.get_nodes():
                self._mark(node, node.name)
            return ops

        return [mark_existing]

    def snapshot(self, graph: Any) -> None:
        """Keep ``graph`` (a tf2onnx ``Graph``) as the handlers left it, before tf2onnx's optimizers."""
        self.handled = {node.name: (tuple(node.input), tuple(node.output)) for node in graph.get_nodes()}

    def _mark(self, node: Any, origin: str) -> None:
        if node not in self._seen:
            self._seen.add(node)
            self.origins[node.name] = self.origins.get(origin, origin)

    def _handle(self, ctx: Any, node: Any, name: str, args: list) -> None:
        # Mirrors tf2onnx's own dispatch (tfonnx.tensorflow_onnx_mapping): an entry
        # mapping to a plain ONNX op renames the node's type and tells the handler
        # which TF op it was.
        op = node.type
        origin = node.name
        if op in self._extra:
            func, extra_args = self._extra[op]
            func(ctx, node, name, extra_args)
        else:
            func, kwargs = self._mapping[op]
            kwargs = dict(kwargs or {})
            if kwargs.get("onnx_op"):
                kwargs["tf_op"] = op
                node.type = kwargs["onnx_op"]
            func(ctx, node, **kwargs, initialized_tables={}, dequantize=False)
        # Nodes are appended in creation order and removals keep the order of the
        # rest, so the handler's new nodes are the unmarked tail of the list.
        for created in reversed(ctx.get_nodes()):
            if created in self._seen:
                break
            self._mark(created, origin)
        self._mark(node, origin)


def resolve_origins(model: Any, tracker: OriginTracker) -> dict[str, tuple[str, ...]]:
    """ONNX node name -> the TF node(s) it came from, for every node of ``model``.

    A node the handlers made has its one recorded origin. A node an optimizer made
    has the origin of the handled node its name extends (``<name>_<suffix>``), else
    the origins of the handled nodes its group of new nodes replaced, else of the
    nearest node it feeds (a node inserted for it), else of the nearest feeding it.
    A node connected to no traced node keeps its own name.
    """
    recorded = {name: tracker.origins.get(name, name) for name in tracker.handled}
    nodes = list(model.graph.node)
    origins: dict[str, tuple[str, ...]] = {}
    new = []
    for node in nodes:
        if node.name in recorded:
            origins[node.name] = (recorded[node.name],)
        elif (named := _named_after(node.name, recorded)) is not None:
            origins[node.name] = (named,)
        else:
            new.append(node)
    if new:
        graph = _Graph(nodes)
        replaced = _Replaced(tracker.handled, {n.name for n in nodes})
        for group in graph.groups(new):
            found = replaced(graph, group)
            for node in group:
                origins[node.name] = tuple(recorded[n] for n in found) or (graph.nearest(node, origins),)
    return origins


def _named_after(name: str, recorded: Mapping[str, str]) -> str | None:
    """The origin of the longest recorded node name that ``name`` extends with ``_...``."""
    cut = name.rfind("_")
    while cut > 0:
        if name[:cut] in recorded:
            return recorded[name[:cut]]
        cut = name.rfind("_", 0, cut)
    return None


class _Graph:
    """Producers and consumers of an ONNX graph's tensors."""

    def __init__(self, nodes: list):
        self.producer = {out: node for node in nodes for out in node.output}
        self.consumers: dict[str, list] = {}
        for node in nodes:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    def neighbours(self, node: Any, forward: bool) -> list:
        if forward:
            return [c for out in node.output for c in self.consumers.get(out, ())]
        return [self.producer[i] for i in node.input if i in self.producer]

    def groups(self, nodes: list) -> list[list]:
        """``nodes`` split into groups connected through each other."""
        left = {node.name: node for node in nodes}
        groups = []
        while left:
            start = left.pop(next(iter(left)))
            group, queue = [start], deque([start])
            while queue:
                node = queue.popleft()
                for other in (*self.neighbours(node, True), *self.neighbours(node, False)):
                    if other.name in left:
                        group.append(left.pop(other.name))
                        queue.append(other)
            groups.append(group)
        return groups

    def nearest(self, start: Any, origins: Mapping[str, tuple[str, ...]]) -> str:
        """The first origin found walking forward from ``start``, else backward; else its own name."""
        for forward in (True, False):
            queue, visited = deque([start]), {start.name}
            while queue:
                node = queue.popleft()
                if node.name in origins and node is not start:
                    return origins[node.name][0]
                for following in self.neighbours(node, forward):
                    if following.name not in visited:
                        visited.add(following.name)
                        queue.append(following)
        return start.name


class _Replaced:
    """Which handled nodes a group of optimizer-made nodes replaced."""

    def __init__(self, handled: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]], kept: set[str]):
        self.handled = handled
        self.removed = {name for name in handled if name not in kept}
        self.producer = {out: name for name, (_, outs) in handled.items() for out in outs}
        self.consumers: dict[str, list[str]] = {}
        for name, (ins, _) in handled.items():
            for tensor in ins:
                self.consumers.setdefault(tensor, []).append(name)

    def __call__(self, graph: _Graph, group: list) -> list[str]:
        """Removed handled nodes lying after what ``group`` reads and before what reads ``group``, in handled order."""
        names = {node.name for node in group}
        reads = {t for node in group for t in node.input if graph.producer.get(t) is None or graph.producer[t].name not in names}
        read_by = {c.name for node in group for c in graph.neighbours(node, True) if c.name not in names}
        outputs = {t for node in group for t in node.output}
        after = self._walk([c for t in reads for c in self.consumers.get(t, ())], forward=True)
        ends = [self.producer[t] for c in read_by if c in self.handled for t in self.handled[c][0] if t in self.producer]
        ends += [self.producer[t] for t in outputs if t in self.producer]
        before = self._walk(ends, forward=False)
        return [name for name in self.handled if name in after and name in before]

    def _walk(self, starts: list[str], forward: bool) -> set[str]:
        seen: set[str] = set()
        queue = deque(n for n in starts if n in self.removed)
        while queue:
            name = queue.popleft()
            if name in seen:
                continue
            seen.add(name)
            ins, outs = self.handled[name]
            following = [c for t in outs for c in self.consumers.get(t, ())] if forward else [self.producer[t] for t in ins if t in self.producer]
            queue.extend(n for n in following if n in self.removed and n not in seen)
        return seen
