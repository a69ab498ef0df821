"""Which nodes of a frozen GraphDef TensorRT can take: ``Supported`` or ``Unsupported(reason)``.

A node is decided, first match wins, by:

1. ``Placeholder``: never supported (``"graph input"``), whatever the options;
2. a node reading or producing a string, resource or variant tensor, or one of
   unknown rank: out, whatever the options (TensorRT has no such tensors; see :mod:`tftrt_kit.segment.tensor_types`);
3. ``exclude_ops`` (op types or node names): out, ``"excluded by user"``;
4. ``overrides`` (node name -> :class:`Support`): verdicts the route injects, e.g. from
   a TensorRT or TensorRT-RTX ONNX parser (source ``"tensorrt"``); they beat
   ``include_ops`` because a parser's refusal is what an engine build would hit;
5. ``include_ops`` (op types or node names): in, source ``"user"``;
6. the op's rule in :mod:`tftrt_kit.segment.rules` (op type, dtypes, attributes, as
   TF-TRT's converter validators checked them, and the precisions it is taken at:
   FakeQuant and QuantizeAndDequantize only at ``"int8"``), or a graph pattern of
   :mod:`tftrt_kit.segment.patterns` the node is part of; an op without either is refused;
7. tf2onnx: a node the rules accept but tf2onnx has no handler for at ``opset`` is
   refused (source ``"tf2onnx"``), since every segment goes to TensorRT through ONNX.

The rules read dtypes from the node's attrs only (``T``, ``dtype``, ``out_type``,
``DstT``, ...), without shape inference. Step 2 reads each tensor's dtype from
the ``OpDef``s the caller passes (``op_defs``, from :attr:`tftrt_kit.source.Source.op_defs`);
step 7 imports tf2onnx.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tftrt_kit.errors import SegmentationError
from tftrt_kit.segment.patterns import PATTERNS
from tftrt_kit.segment.rules import PRECISION_ONLY, RULES
from tftrt_kit.segment.tensor_types import opaque_tensor

Source = Literal["rule", "user", "tensorrt", "tf2onnx"]

#: Ops tf2onnx converts through a graph rewriter rather than an op handler.
_TF2ONNX_REWRITTEN = frozenset({"QuantizeAndDequantizeV2", "QuantizeAndDequantizeV3", "QuantizeAndDequantizeV4"})


@dataclass(frozen=True)
class Support:
    """The verdict on one node.

    Attributes:
        supported: whether the node may go into a TensorRT segment.
        reason: why not (``None`` when supported, or a note on a forced inclusion).
        source: who decided: ``"rule"``, ``"user"``, ``"tensorrt"`` (a parser) or ``"tf2onnx"``.
    """

    supported: bool
    reason: str | None = None
    source: Source = "rule"

    def __str__(self) -> str:
        return "supported" if self.supported else f"unsupported ({self.source}): {self.reason}"


def supported(source: Source = "rule", reason: str | None = None) -> Support:
    """A :class:`Support` saying yes."""
    if source == "rule" and reason is None:
        return _SUPPORTED_BY_RULE
    return Support(True, reason, source)


#: The verdict of most nodes, shared: one object is cheaper to make and to read 100k times.
_SUPPORTED_BY_RULE = Support(True)


def unsupported(reason: str, source: Source = "rule") -> Support:
    """A :class:`Support` saying no, with the human ``reason``."""
    return Support(False, reason, source)


def rule_verdict(node: Any, precision: str = "fp32") -> Support:
    """Decide ``node`` (a ``NodeDef``) by its op rule alone.

    Args:
        node: The node to decide.
        precision: The build precision (``"fp32"``, ``"fp16"`` or ``"int8"``).

    Returns:
        Supported, or Unsupported with the rule's reason (``"no TensorRT converter for
        op X"`` when the op has no rule).
    """
    validator = RULES.get(node.op)
    if validator is None:
        return unsupported(f"no TensorRT converter for op {node.op}")
    only = PRECISION_ONLY.get(node.op)
    if only is not None and precision not in only:
        return unsupported(
            f"{node.op} goes to TensorRT only at precision {' or '.join(sorted(only))} (as in TF-TRT). "
            f"Received: precision={precision}"
        )
    reason = validator(node)
    return supported() if reason is None else unsupported(reason)


@functools.lru_cache(maxsize=8)
def tf2onnx_ops(opset: int) -> frozenset[str]:
    """TF op types tf2onnx can export at ONNX ``opset`` (handlers of the default ONNX domain).

    Reads tf2onnx's handler registry (``tf2onnx.handler.tf_op.get_opsets()``: domain ->
    list indexed by opset of ``{op: handler}``) without calling ``create_mapping``, which
    would overwrite tf2onnx's global mapping.

    Args:
        opset: The highest ONNX opset the export may use.

    Returns:
        The op types with a handler at a version <= ``opset``, plus ops tf2onnx rewrites
        and those :mod:`tftrt_kit.export_handlers` converts.

    Raises:
        MissingDependencyError: if tf2onnx is not installed.
    """
    from tftrt_kit._optional import require

    handler = require("tf2onnx.handler", "checking which TF ops tf2onnx can export")
    require("tf2onnx.onnx_opset", "checking which TF ops tf2onnx can export")  # registers the handlers
    versions = handler.tf_op.get_opsets().get("", [])
    from tftrt_kit.export_handlers import EXTRA_TF_HANDLERS

    ops: set[str] = set(_TF2ONNX_REWRITTEN) | set(EXTRA_TF_HANDLERS)
    for version, op_map in enumerate(versions):
        if version <= opset:
            ops.update(op_map)
    return frozenset(ops)


def _tf2onnx_version() -> str:
    import tf2onnx

    return getattr(tf2onnx, "__version__", "?")


def classify(
    graph_def: Any,
    *,
    exclude_ops: Iterable[str] = (),
    include_ops: Iterable[str] = (),
    overrides: Mapping[str, Support] | None = None,
    opset: int | None = 17,
    unknown_rank: Iterable[str] = (),
    precision: str = "fp32",
    op_defs: Mapping[str, Any] | None = None,
) -> dict[str, Support]:
    """Decide every node of ``graph_def``.

    Args:
        graph_def: A frozen ``GraphDef``.
        exclude_ops: Op types or node names forced out of segments.
        include_ops: Op types or node names forced in (``exclude_ops`` wins over them).
        overrides: Node name -> verdict, e.g. a TensorRT parser's: it beats ``include_ops``
            (a parser's refusal is a fact an engine build would hit) but not ``exclude_ops``.
        opset: ONNX opset for the tf2onnx check; ``None`` skips that check (and the
            tf2onnx import), e.g. for pure graph tests.
        unknown_rank: Names (``"node:k"``) of the tensors of unknown rank (they stay in TensorFlow).
        precision: The build precision the op rules assume (``"fp32"``, ``"fp16"``, ``"int8"``).
        op_defs: Op type -> TensorFlow's ``OpDef`` (:attr:`tftrt_kit.source.Source.op_defs`),
            giving exact output dtypes; without it dtypes are read from node attrs alone.

    Returns:
        Node name -> :class:`Support`, for every node.

    Raises:
        SegmentationError: if ``overrides`` names a node that is not in the graph.
        MissingDependencyError: if ``opset`` is given and tf2onnx is missing.
    """
    excluded = frozenset(exclude_ops)
    included = frozenset(include_ops)
    overrides = dict(overrides or {})
    names = {node.name for node in graph_def.node}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise SegmentationError(
            f"Expected overrides to name nodes of the graph. Received unknown names: {unknown[:5]}"
        )
    exportable = tf2onnx_ops(opset) if opset is not None else None
    opaque = opaque_tensor(graph_def, frozenset(unknown_rank), op_defs)
    result: dict[str, Support] = {}
    by_name: dict[str, Any] | None = None
    for node in graph_def.node:
        verdict = rule_verdict(node, precision)
        if not verdict.supported and node.op in PATTERNS:
            by_name = by_name if by_name is not None else {n.name: n for n in graph_def.node}
            note = PATTERNS[node.op](node, by_name)
            verdict = supported(reason=note) if note else verdict
        if node.op == "Placeholder":
            verdict = unsupported("graph input")
        elif node.name in opaque:
            # The op's own reason (e.g. "While is functional control flow") is the more specific one.
            verdict = verdict if not verdict.supported else unsupported(f"{node.op} {opaque[node.name]}")
        elif node.op in excluded or node.name in excluded:
            verdict = unsupported("excluded by user", "user")
        elif node.name in overrides:
            verdict = overrides[node.name]
        elif node.op in included or node.name in included:
            verdict = supported("user", None if verdict.supported else f"included by user despite: {verdict.reason}")
        elif verdict.supported and exportable is not None and node.op not in exportable:
            verdict = unsupported(
                f"tf2onnx {_tf2onnx_version()} has no handler for op {node.op} at ONNX opset {opset}", "tf2onnx"
            )
        result[node.name] = verdict
    return result
