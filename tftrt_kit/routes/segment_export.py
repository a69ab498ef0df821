"""Export segments to ONNX: one tf2onnx pass over their union, each segment cut out by tensor name.

The union of the segments to export is cut out of the frozen graph first (its nodes,
and one Placeholder per tensor entering it, renamed back to the TF tensor name), so
tf2onnx never sees an island op: no rewriter, shape inference or handler runs on
nodes TensorRT will not take. Every boundary tensor of a segment is an input or an
output of that union, so it keeps its TF name in the ONNX and each segment is cut
out by name (:func:`tftrt_kit.onnx_slice.slice_model`). A segment is exported on its
own only where that cut fails (a boundary name missing), or where the whole pass
crashed.

Results are cached by the segment's nodes and boundary: in a refinement round only
the segments that changed are converted again.

A crash of a dependency (tf2onnx, onnx, polygraphy) while exporting a segment is
not an error of the route: that segment's nodes go back to TensorFlow, the crash
recorded as the reason.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

from tftrt_kit.errors import ExportError, UnsupportedOpError
from tftrt_kit.export import ExportOptions, convert_traced, export_traced, finish_export
from tftrt_kit.segment.graph import parse_tensor_name
from tftrt_kit.segment.support import Support, unsupported

#: Longest part of a dependency's message kept in a fallback reason.
_REASON_CHARS = 300


@dataclasses.dataclass
class SegmentExport:
    """One segment's ONNX export, or why its nodes go back to TensorFlow.

    Attributes:
        model: The checked ``onnx.ModelProto`` (None when refused).
        origins: ONNX node name -> the TF node(s) it came from.
        refused: TF node -> verdict, for the nodes the export refused.
        sliced: Whether the model was cut from a union export (else exported on its own).
    """

    model: Any = None
    origins: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    refused: dict[str, Support] = dataclasses.field(default_factory=dict)
    sliced: bool = False


def segment_key(segment: Any) -> tuple:
    """What makes two segments of different rounds the same export: nodes and boundary."""
    return frozenset(segment.nodes), tuple(segment.inputs), tuple(segment.outputs)


def crash_reason(err: BaseException, what: str) -> str:
    """A fallback reason naming a dependency's crash."""
    text = " ".join(str(err).split())[:_REASON_CHARS]
    return f"{what} crashed ({type(err).__name__}: {text})"


class SegmentExporter:
    """Exports segments, one tf2onnx pass per call over the segments it has not exported yet.

    Args:
        source: The :class:`~tftrt_kit.source.Source`.
        options: ONNX export options.
        tensors: A :class:`~tftrt_kit.routes.segment_partition.GraphTensors` of the source
            (dtypes and shapes of the tensors entering the union).

    Attributes:
        passes: tf2onnx passes run so far (union passes and own exports).
    """

    def __init__(self, source: Any, options: ExportOptions, tensors: Any):
        self.source = source
        self.options = options
        self.tensors = tensors
        self.passes = 0
        self._cache: dict[tuple, SegmentExport] = {}

    def __call__(self, segments: Iterable[Any]) -> dict[str, SegmentExport]:
        """``segment.name`` -> its export, converting only segments not seen in an earlier call."""
        segments = list(segments)
        new = [s for s in segments if segment_key(s) not in self._cache]
        if new:
            self._export(new)
        return {s.name: self._cache[segment_key(s)] for s in segments}

    def _export(self, segments: list) -> None:
        try:
            union = self._convert_union(segments)
        except Exception as err:  # noqa: BLE001 - any dependency crash: fall back to one pass per segment
            reason = crash_reason(err, "tf2onnx on the union of the segments")
            for segment in segments:
                self._cache[segment_key(segment)] = self._export_alone(segment, reason)
            return
        for segment in segments:
            self._cache[segment_key(segment)] = self._slice(union, segment)

    def _convert_union(self, segments: list) -> Any:
        from tftrt_kit.routes.segment_partition import part_graph_def

        nodes = set().union(*(s.nodes for s in segments))
        entering = _unique(t for s in segments for t in s.inputs if parse_tensor_name(t).node not in nodes)
        leaving = _unique(t for s in segments for t in s.outputs)
        specs = self.tensors.specs(entering)
        renames = {f"tftrt_input_{k}:0": spec.name for k, spec in enumerate(specs)}
        cut = part_graph_def(self.source.graph_def, nodes, specs)
        self.passes += 1
        return convert_traced(
            cut, list(renames), leaving, self.options, renames=renames, name="segments", large_graph=self.source.large_graph, weights=self.source.weights
        )

    def _slice(self, union: Any, segment: Any) -> SegmentExport:
        from tftrt_kit.onnx_slice import missing_tensors, slice_model

        if missing_tensors(union.model, [*segment.inputs, *segment.outputs]):
            return self._export_alone(segment, None)
        nodes = set(segment.nodes)
        whole = [i.name for i in union.model.graph.input] == list(segment.inputs) and [o.name for o in union.model.graph.output] == list(segment.outputs)
        try:
            # The union of one segment is that segment: used as is, not copied.
            model = union.model if whole else slice_model(union.model, segment.inputs, segment.outputs, segment.name)
        except ExportError:
            # tf2onnx's optimizers rewired a boundary (a consumer now reads another segment's
            # inner tensor): the cut is not closed, so this segment is exported on its own.
            return self._export_alone(segment, None)
        try:
            model.graph.name = segment.name
            model = finish_export(model, segment.inputs, segment.outputs, self.options)
        except UnsupportedOpError as err:
            return SegmentExport(origins=union.origins, refused=_refusals(err, union.origins, nodes), sliced=True)
        except Exception as err:  # noqa: BLE001 - a dependency crash sends this segment back, nothing else
            return SegmentExport(refused=dict.fromkeys(nodes, unsupported(crash_reason(err, "ONNX export"), "tf2onnx")), sliced=True)
        return SegmentExport(model=model, origins=union.origins, sliced=True)

    def _export_alone(self, segment: Any, union_crash: str | None) -> SegmentExport:
        nodes = set(segment.nodes)
        self.passes += 1
        try:
            traced = export_traced(
                self.source.graph_def,
                segment.inputs,
                segment.outputs,
                self.options,
                name=segment.name,
                large_graph=self.source.large_graph,
                weights=self.source.weights,
            )
        except UnsupportedOpError as err:
            # A node tf2onnx leaves unconverted keeps its TF node name.
            return SegmentExport(refused=_refusals(err, {}, nodes))
        except Exception as err:  # noqa: BLE001 - a dependency crash sends this segment back, nothing else
            reason = crash_reason(err, "ONNX export")
            if union_crash:
                reason = f"{reason}; before it, {union_crash}"
            return SegmentExport(refused=dict.fromkeys(nodes, unsupported(reason, "tf2onnx")))
        return SegmentExport(model=traced.model, origins=traced.origins)


def refused_tf_nodes(onnx_node: str, origins: dict[str, tuple[str, ...]], nodes: set[str]) -> set[str]:
    """The TF nodes to move back to TensorFlow when an ONNX node of a segment is refused.

    ``origins`` (recorded while tf2onnx converted) names the TF node(s) each ONNX node
    came from; a node tf2onnx left unconverted is its own origin. A refusal with no
    origin in the segment (a node TensorFlow's graph optimizer renamed, or an error
    naming no node) sends the whole segment back: refinement must settle, and
    coverage 0 is the worst case.
    """
    found = nodes.intersection(origins.get(onnx_node, (onnx_node,)))
    return found or set(nodes)


def _refusals(err: UnsupportedOpError, origins: dict[str, tuple[str, ...]], nodes: set[str]) -> dict[str, Support]:
    refused: dict[str, Support] = {}
    for op, onnx_node in err.ops:
        for tf_node in refused_tf_nodes(onnx_node, origins, nodes):
            refused[tf_node] = unsupported(f"tf2onnx could not convert {op}", "tf2onnx")
    return refused


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
