"""The dtype of every tensor of a GraphDef, and the tensors no TensorRT segment may touch.

TensorRT holds numbers and bools only: a string, resource (variable, lookup table)
or variant (TensorList, dataset) tensor must never enter or leave a segment, nor may
a tensor of unknown rank. A
node's output dtypes follow from its op's ``OpDef`` (fixed types, ``type_attr``,
``type_list_attr``, ``number_attr``) and its attrs; the caller passes the ``OpDef``s
(:attr:`tftrt_kit.source.Source.op_defs`: segment code never imports TensorFlow), and
an op without one falls back to the attrs alone (:func:`~tftrt_kit.segment.rules.registry.output_dtypes`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from tftrt_kit.segment.graph import parse_tensor_name
from tftrt_kit.segment.rules.registry import DTYPE_NAMES, output_dtypes

#: Dtypes TensorRT has no tensors of: nodes reading or producing them stay in TensorFlow.
OPAQUE_DTYPES = frozenset({"string", "resource", "variant"})


def _attr_type(node: Any, op_def: Any, name: str) -> int | None:
    if name in node.attr:
        return node.attr[name].type
    default = next((a.default_value for a in op_def.attr if a.name == name and a.HasField("default_value")), None)
    return default.type if default is not None else None


def node_output_dtypes(node: Any, op_defs: Mapping[str, Any]) -> tuple[str, ...]:
    """Output dtype names of ``node`` in output order (exact for ops with an ``OpDef`` in ``op_defs``)."""
    op_def = op_defs.get(node.op)
    if op_def is None:
        return output_dtypes(node)
    found: list[str] = []
    for arg in op_def.output_arg:
        if arg.type_list_attr:
            types = list(node.attr[arg.type_list_attr].list.type) if arg.type_list_attr in node.attr else []
        else:
            single = arg.type or _attr_type(node, op_def, arg.type_attr)
            count = node.attr[arg.number_attr].i if arg.number_attr and arg.number_attr in node.attr else 1
            types = [single] * count if single is not None else []
        found.extend(DTYPE_NAMES.get(t, f"dtype#{t}") for t in types)
    return tuple(found)


def opaque_tensor(graph_def: Any, unknown_rank: Collection[str] = (), op_defs: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Node name -> why it must stay in TensorFlow, for every node reading or producing a tensor TensorRT cannot hold.

    Those are string, resource and variant tensors, and tensors of unknown rank
    (TensorRT fixes every tensor's rank when it builds an engine, and an ONNX graph
    input or output must have one).

    Args:
        graph_def: A frozen ``GraphDef``.
        unknown_rank: Names (``"node:k"``) of the tensors of unknown rank.
        op_defs: Op type -> TensorFlow's ``OpDef`` (:func:`tftrt_kit.source.op_defs_of`);
            an op missing from it has its output dtypes read from its attrs alone.

    Returns:
        The reason per node (``"reads string tensor 'split:0'"``); other nodes are absent.
    """
    op_defs = op_defs or {}
    outputs = {node.name: node_output_dtypes(node, op_defs) for node in graph_def.node}
    unknown_rank = frozenset(unknown_rank)

    def problem(tensor: str, dtype: str | None) -> str | None:
        if dtype in OPAQUE_DTYPES:
            return f"{dtype} tensor {tensor!r}: TensorRT has no {dtype} tensors (it stays in TensorFlow)"
        if tensor in unknown_rank:
            return f"tensor {tensor!r} of unknown rank: TensorRT needs every tensor's rank to build an engine"
        return None

    reasons: dict[str, str] = {}
    for node in graph_def.node:
        found = next(
            (f"produces {p}" for k, t in enumerate(outputs[node.name]) if (p := problem(f"{node.name}:{k}", t))), None
        )
        for ref in node.input if found is None else ():
            parsed = parse_tensor_name(ref)
            if parsed.is_control:
                continue
            types = outputs.get(parsed.node, ())
            found = problem(str(parsed), types[parsed.index] if parsed.index < len(types) else None)
            if found:
                found = f"reads {found}"
                break
        if found:
            reasons[node.name] = found
    return reasons
