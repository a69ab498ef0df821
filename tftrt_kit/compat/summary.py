"""TF-TRT's ``summary()`` table, filled from a segment-route artifact, plus why ops stayed in TensorFlow.

TF-TRT printed one row per ``TRTEngineOp`` in nine columns whose widths are fixed
fractions of ``line_length`` (a field too long for its column is cut and ends in
``" ..."``), an op histogram per engine when ``detailed`` (here followed by the
engine's node names, which TF-TRT did not print), the engine count and
``% of OPs Converted: p% [converted/total]``, where ``total`` counts every node of the
converted graph outside engines (placeholders included) plus the nodes inside them.
The rows here are segments (``seg_<k>``); ``total`` is the node count of the frozen
graph, so the same arithmetic holds. What TF-TRT never printed follows: each op type
left in TensorFlow, how many nodes and why.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

#: (header, fraction of line_length) of TF-TRT's columns.
COLUMNS = (
    ("TRTEngineOP Name", 0.20),
    ("Device", 0.09),
    ("# Nodes", 0.05),
    ("# Inputs", 0.09),
    ("# Outputs", 0.09),
    ("Input DTypes", 0.12),
    ("Output Dtypes", 0.12),
    ("Input Shapes", 0.12),
    ("Output Shapes", 0.12),
)
MIN_LINE_LENGTH = 160
GRAPH_INPUT_REASON = "graph input (a Placeholder fed by the caller; TF-TRT never converted these either)"


@dataclasses.dataclass(frozen=True)
class EngineRow:
    """One TensorRT segment as a row of the table.

    Attributes:
        name: Segment name (``seg_<k>``, in execution order).
        device: What runs it on this machine: the TensorRT module of its plan where a
            CUDA GPU is usable, else ``onnxruntime``.
        nodes: Frozen-graph nodes inside the segment.
        input_dtypes: Dtype of each input tensor.
        output_dtypes: Dtype of each output tensor.
        input_shapes: Shape of each input tensor, ``-1`` for a dynamic dimension (as TF-TRT).
        output_shapes: Shape of each output tensor.
        op_histogram: Op type -> node count.
        node_names: Names of the frozen-graph nodes inside the segment, in topological order.
        device_note: Why ``device`` runs it: the plan on the GPU, the plan kept for a GPU
            this machine lacks, or ``no plan: <TensorRT's message>``.
    """

    name: str
    device: str
    nodes: int
    input_dtypes: tuple[str, ...]
    output_dtypes: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    output_shapes: tuple[tuple[int, ...], ...]
    op_histogram: Mapping[str, int]
    node_names: tuple[str, ...] = ()
    device_note: str = ""

    @classmethod
    def from_manifest(cls, entry: Mapping[str, Any], op_histogram: Mapping[str, int], gpu: Any = None) -> "EngineRow":
        """The row of a segment entry of a segment-route manifest.

        Args:
            entry: The segment's manifest entry.
            op_histogram: Op type -> node count of the segment.
            gpu: This machine's :class:`~tftrt_kit.engines.gpu.GpuStatus` (probed when None).
        """
        from tftrt_kit.engines.gpu import gpu_status

        def shape(spec: Mapping[str, Any]) -> tuple[int, ...]:
            return tuple(-1 if d is None else int(d) for d in spec["shape"])

        device, note = device_here(entry, gpu if gpu is not None else gpu_status())
        return cls(
            name=entry["name"],
            device=device,
            device_note=note,
            nodes=int(entry["nodes"]),
            input_dtypes=tuple(s["dtype"] for s in entry["inputs"]),
            output_dtypes=tuple(s["dtype"] for s in entry["outputs"]),
            input_shapes=tuple(shape(s) for s in entry["inputs"]),
            output_shapes=tuple(shape(s) for s in entry["outputs"]),
            op_histogram=dict(op_histogram),
            node_names=tuple(entry.get("node_names", ())),
        )


def device_here(entry: Mapping[str, Any], gpu: Any) -> tuple[str, str]:
    """What runs a segment on this machine, and why: as ``load(executor="auto")`` decides.

    Args:
        entry: The segment's manifest entry (``plan_file``, ``plan_backend``, ``tensorrt``).
        gpu: A :class:`~tftrt_kit.engines.gpu.GpuStatus`.

    Returns:
        ``(device, note)``: the TensorRT module where its plan can run here, else ``onnxruntime``.
    """
    from tftrt_kit.engines.tensorrt_builder import TensorRTCheck

    backend = entry.get("plan_backend")
    if entry.get("plan_file") and backend:
        if gpu.available:
            return backend, f"{backend}: plan {entry['plan_file']} on the GPU"
        return "onnxruntime", f"onnxruntime: the {backend} plan {entry['plan_file']} needs a CUDA GPU ({gpu.reason})"
    check = entry.get("tensorrt")
    status = TensorRTCheck.from_dict(check).plan_status if check else "not checked by TensorRT"
    return "onnxruntime", f"onnxruntime: {'no plan built' if status == 'not built' else status}"


@dataclasses.dataclass(frozen=True)
class LeftInTensorFlow:
    """Nodes of one op type left in TensorFlow for one reason."""

    op_type: str
    count: int
    reason: str


def column_ends(line_length: int) -> list[int]:
    """End position of each column: running sum of ``int(line_length * fraction)``, as TF-TRT."""
    ends, position = [], 0
    for _, fraction in COLUMNS:
        position += int(line_length * fraction)
        ends.append(position)
    return ends


def format_row(fields: Sequence[Any], ends: Sequence[int]) -> str:
    """Fields padded to their column ends, one space apart; an overflowing field is cut to ``" ..."``."""
    line = ""
    for index, (field, end) in enumerate(zip(fields, ends)):
        line = f"{line + (' ' if index else '') + str(field):{end}}"
        if len(line) > end:
            line = line[: end - 4] + " ..."
    return line


def summary_lines(
    engines: Sequence[EngineRow],
    left: Sequence[LeftInTensorFlow],
    total_nodes: int,
    *,
    line_length: int = MIN_LINE_LENGTH,
    detailed: bool = True,
) -> list[str]:
    """The summary, one ``print_fn`` call per item (items may hold newlines, as TF-TRT's did).

    Args:
        engines: The segments, in execution order.
        left: Op types left in TensorFlow with their reasons (graph inputs included).
        total_nodes: Nodes of the frozen graph.
        line_length: Width of the table, at least 160.
        detailed: Print each engine's op histogram and node names.

    Returns:
        The items to print.

    Raises:
        ValueError: ``line_length`` below 160 (TF-TRT's message).
    """
    if line_length < MIN_LINE_LENGTH:
        raise ValueError(f"Invalid `line_length` value has been received: {line_length}. Minimum: {MIN_LINE_LENGTH}.")
    ends = column_ends(line_length)
    items = [format_row([header for header, _ in COLUMNS], ends), "=" * line_length]
    for index, engine in enumerate(engines):
        if index:
            items.append(f"\n{'-' * 40}\n")
        fields = [
            engine.name,
            engine.device,
            engine.nodes,
            len(engine.input_dtypes),
            len(engine.output_dtypes),
            list(engine.input_dtypes),
            list(engine.output_dtypes),
            [list(s) for s in engine.input_shapes],
            [list(s) for s in engine.output_shapes],
        ]
        items.append(format_row(fields, ends))
        if detailed:
            items.append("")
            items.extend(f"\t- {op}: {count}x" for op, count in sorted(engine.op_histogram.items()))
            items.append(f"\t[device] {engine.device_note}")
            items.append(f"\t[nodes] {', '.join(engine.node_names)}")
    converted = sum(e.nodes for e in engines)
    ratio = converted / total_nodes * 100 if total_nodes else 0.0
    items.append(f"\n{'=' * line_length}")
    items.append(f"[*] Total number of TensorRT engines: {len(engines)}")
    items.append(f"[*] % of OPs Converted: {ratio:.2f}% [{converted}/{total_nodes}]\n")
    items.append(f"[*] OPs left in TensorFlow: {sum(x.count for x in left)} [op type: nodes, reason]")
    items.extend(f"\t- {x.op_type}: {x.count}x, {x.reason}" for x in left)
    return items
