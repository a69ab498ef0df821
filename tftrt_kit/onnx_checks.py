"""Checks that make an ONNX model a TensorRT model, or raise naming what is wrong.

``onnx.checker``; every node in a standard ONNX domain with a registered schema (a
TensorFlow op tf2onnx could not convert is named with its TF node); the requested
input/output names present; and, before export, source inputs and outputs that ONNX
and TensorRT can carry.
"""

from __future__ import annotations

from typing import Any, Sequence

from tftrt_kit.errors import ExportError, UnsupportedOpError

STANDARD_DOMAINS = ("", "ai.onnx")


def foreign_nodes(model: Any) -> list[tuple[str, str]]:
    """``(op_type, node_name)`` of every node TensorRT's ONNX parser would not know.

    A node is foreign when its domain is not a standard ONNX domain or its op
    type has no schema there (tf2onnx leaves unconvertible TensorFlow ops in the
    graph under their TF op type and node name).
    """
    import onnx

    found = []
    for node in model.graph.node:
        if node.domain not in STANDARD_DOMAINS or not onnx.defs.has(node.op_type, node.domain):
            found.append((node.op_type, node.name))
    return found


def check_standard_ops(model: Any) -> None:
    """Raise :class:`UnsupportedOpError` naming each op (and its TF node) outside the standard ONNX domains."""
    foreign = foreign_nodes(model)
    if foreign:
        listed = ", ".join(f"{op} (TF node {node!r})" for op, node in foreign[:20])
        more = f" and {len(foreign) - 20} more" if len(foreign) > 20 else ""
        raise UnsupportedOpError(
            f"Expected only standard ONNX ops, which TensorRT can parse. Received: {len(foreign)} "
            f"TensorFlow op(s) that tf2onnx could not convert: {listed}{more}. Use the segment route "
            "to keep them in TensorFlow, or replace them in the model.",
            ops=foreign,
        )


def check_onnx_io(source: Any) -> None:
    """Refuse a source whose inputs or outputs ONNX and TensorRT cannot carry, naming the tensor.

    TensorRT takes numeric and bool tensors of known rank; it has no strings and no
    resources (a lookup table the signature captures). The segment route keeps such
    tensors in TensorFlow islands, so the message points there.

    Raises:
        ExportError: a string (or other non-numeric) input or output, one of unknown
            rank, or a captured resource.
    """
    from tftrt_kit.source import SUPPORTED_INPUT_DTYPES

    hint = "Use the segment route (routes=('segment',)), which keeps it in TensorFlow."
    for role, specs in (("input", source.inputs), ("output", source.outputs)):
        for spec in specs:
            if spec.dtype not in SUPPORTED_INPUT_DTYPES:
                raise ExportError(
                    f"Expected {role}s of a dtype ONNX and TensorRT carry ({', '.join(sorted(SUPPORTED_INPUT_DTYPES))}). "
                    f"Received: {role} {spec.name!r} of dtype {spec.dtype}. {hint}"
                )
            if spec.shape is None:
                raise ExportError(
                    f"Expected {role}s of known rank (TensorRT fixes every rank when it builds an engine). "
                    f"Received: {role} {spec.name!r} of unknown rank. {hint}"
                )
    if source.captured_tensors:
        readers = [n.name for n in source.graph_def.node if any(i in source.captured_tensors or f"{i}:0" in source.captured_tensors for i in n.input)]
        raise ExportError(
            "Expected a signature whose graph reads no captured resource (ONNX has no resource tensors). "
            f"Received: captured resource(s) {list(source.captured_tensors)} (e.g. a lookup table) read by {readers[:5]}. {hint}"
        )


def check_onnx(model: Any, input_names: Sequence[str], output_names: Sequence[str]) -> None:
    """Raise unless ``model`` is a standard-domain ONNX model with the given I/O names.

    Raises:
        UnsupportedOpError: names each non-standard op and its TensorFlow node.
        ExportError: ``onnx.checker`` fails or an input/output name is missing.
    """
    import onnx

    from tftrt_kit.onnx_files import model_on_disk

    check_standard_ops(model)
    try:
        with model_on_disk(model) as path:  # a model over protobuf's 2 GiB is checked from its file
            onnx.checker.check_model(str(path) if path else model, full_check=False)
    except onnx.checker.ValidationError as err:
        raise ExportError(f"Expected a valid ONNX model. Received: onnx.checker error: {str(err).strip()[:500]}") from err
    graph_inputs = {i.name for i in model.graph.input}
    graph_outputs = {o.name for o in model.graph.output}
    missing = [n for n in input_names if n not in graph_inputs] + [n for n in output_names if n not in graph_outputs]
    if missing:
        raise ExportError(
            f"Expected the ONNX model to keep input/output names {list(input_names)} -> {list(output_names)}. "
            f"Received: {sorted(graph_inputs)} -> {sorted(graph_outputs)}; missing {missing}."
        )
