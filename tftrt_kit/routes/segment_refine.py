"""Refinement of the segment route: segment, export, ask the parser, move refused nodes to TensorFlow.

Each round exports the segments it has not seen (one tf2onnx pass over their union,
:mod:`tftrt_kit.routes.segment_export`), asks the installed TensorRT parser about
each new export once, and collects every refusal of the round: nodes tf2onnx could
not convert, every error the parser reported, and whole segments whose export
crashed. The refused nodes become overrides (which beat ``include_ops``), so a node
refused once never returns to a segment, and each round with a refusal moves at least
one node: refinement settles. After ``max_refinements`` rounds, a segment still
refused goes to TensorFlow whole, as an island, without another round: the worst
case is coverage 0, never a failed route.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any, Callable

from tftrt_kit.routes.segment_export import SegmentExport, SegmentExporter, crash_reason, refused_tf_nodes, segment_key
from tftrt_kit.segment.support import Support, unsupported


@dataclasses.dataclass
class Refined:
    """Where refinement settled.

    Attributes:
        segmentation: The final :class:`~tftrt_kit.segment.segmenter.Segmentation`.
        models: Segment name -> its checked ONNX model.
        rounds: Refinement rounds that moved nodes to TensorFlow.
        tf2onnx_passes: tf2onnx passes run (one per round over the new segments, plus own exports).
        demoted: Segments sent to TensorFlow whole after the last round.
    """

    segmentation: Any
    models: dict[str, Any]
    rounds: int
    tf2onnx_passes: int
    demoted: tuple[str, ...] = ()


def refine(
    segment: Callable[[dict[str, Support]], Any],
    exporter: SegmentExporter,
    parser: Any,
    max_refinements: int,
) -> Refined:
    """Segment with ``segment(overrides)`` until no export or parser refusal remains.

    Args:
        segment: Overrides -> a Segmentation.
        exporter: Exports segments (cached across rounds).
        parser: A builder with ``check(model)`` and ``backend``, or None (no parser refinement).
        max_refinements: Rounds that may move nodes before refused segments go whole.

    Returns:
        The settled :class:`Refined`.
    """
    overrides: dict[str, Support] = {}
    verdicts: dict[tuple, dict[str, Support]] = {}
    round_ = 0
    while True:
        segmentation = segment(overrides)
        exports = exporter(segmentation.segments)
        refused_by_segment = {}
        for seg in segmentation.segments:
            key = segment_key(seg)
            if key not in verdicts:
                verdicts[key] = _refusals(seg, exports[seg.name], parser)
            if verdicts[key]:
                refused_by_segment[seg.name] = verdicts[key]
        if not refused_by_segment or round_ == max_refinements:
            demoted = tuple(refused_by_segment)
            if demoted:
                segmentation = demote(segmentation, refused_by_segment, round_)
            models = {s.name: exports[s.name].model for s in segmentation.segments}
            return Refined(segmentation, models, round_, exporter.passes, demoted)
        for refused in refused_by_segment.values():
            overrides.update(refused)
        round_ += 1


def _refusals(segment: Any, export: SegmentExport, parser: Any) -> dict[str, Support]:
    """Every refusal of one segment: its export's, else every error the parser reports."""
    if export.model is None or parser is None:
        return dict(export.refused)
    nodes = set(segment.nodes)
    try:
        check = parser.check(export.model)
    except Exception as err:  # noqa: BLE001 - a parser crash sends this segment back, nothing else
        return dict.fromkeys(nodes, unsupported(crash_reason(err, f"{parser.backend} parser"), "tensorrt"))
    refused: dict[str, Support] = {}
    for node in check.unsupported_nodes:
        for tf_node in refused_tf_nodes(node.node, export.origins, nodes):
            refused[tf_node] = unsupported(f"{parser.backend} parser: {node.reason}", "tensorrt")
    return refused


def demote(segmentation: Any, refused: dict[str, dict[str, Support]], rounds: int) -> Any:
    """``segmentation`` with the segments named in ``refused`` turned into TensorFlow islands.

    The parts, their order and their boundaries stay as they are (the partition stays
    exact and acyclic); each demoted segment becomes island ``tf_<segment name>`` and
    its nodes are counted among the fallbacks with the refusal that sent it back.
    """
    from tftrt_kit.segment.segmenter import Fallback, Island

    renamed = {name: f"tf_{name}" for name in refused}
    support = dict(segmentation.support)
    left = Counter({(f.op_type, f.reason): f.count for f in segmentation.fallbacks})
    segments, islands = [], {i.name: i for i in segmentation.islands}
    for seg in segmentation.segments:
        if seg.name not in refused:
            segments.append(seg)
            continue
        first = next(iter(refused[seg.name].values()))
        reason = f"in segment {seg.name}, still refused after {rounds} refinement round(s): {first.reason}"
        verdict = unsupported(reason, first.source)
        support.update(dict.fromkeys(seg.nodes, verdict))
        for op, count in seg.op_histogram.items():
            left[(op, reason)] += count
        islands[renamed[seg.name]] = Island(renamed[seg.name], seg.nodes, seg.inputs, seg.outputs, dict(seg.op_histogram))
    order = tuple(renamed.get(p, p) for p in segmentation.parts_in_order)
    assignment = {node: renamed.get(part, part) for node, part in segmentation.assignment.items()}
    covered = sum(len(s.nodes) for s in segments)
    return dataclasses.replace(
        segmentation,
        segments=tuple(segments),
        islands=tuple(islands[p] for p in order if p in islands),
        parts_in_order=order,
        assignment=assignment,
        support=support,
        fallbacks=[Fallback(op, c, r) for (op, r), c in sorted(left.items(), key=lambda kv: (-kv[1], kv[0]))],
        coverage=covered / len(assignment) if assignment else 0.0,
    )
