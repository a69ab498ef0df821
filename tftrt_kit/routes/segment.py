"""Route "segment": TF-TRT's job on current TensorFlow.

Support rules -> segmenter -> (refined by the TensorRT parser until stable) -> each
segment exported to ONNX and built into a plan -> a SavedModel holding the source's
signatures unchanged, a native function per part, and ``assets/tftrt_kit/``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tftrt_kit.errors import ExportError, SegmentationError, UnsupportedOpError
from tftrt_kit.export import ExportOptions, convert_to_fp16, export_traced
from tftrt_kit.report.data import Fallback, RouteResult, SegmentInfo
from tftrt_kit.routes.base import RouteContext, directory_bytes, keep_timing_cache, manifest_header, register_route, stage
from tftrt_kit.routes.engine_step import check_and_build
from tftrt_kit.runtime.artifact import SEGMENT_ASSETS, atomic_directory, write_manifest

ASSETS = SEGMENT_ASSETS


@dataclasses.dataclass(frozen=True)
class SegmentOptions:
    """Options of the segment route (TF-TRT's names where it had one).

    Attributes:
        minimum_segment_size: Fewest effective nodes in a segment (TF-TRT default 3).
        maximum_segments: Most segments kept, largest first (TF-TRT kept 20 engines).
        exclude_ops: Op types or node names forced to stay in TensorFlow.
        include_ops: Op types or node names forced into segments.
        refine_with_tensorrt: Ask the installed TensorRT parser about each segment and
            move the nodes it refuses to TensorFlow, re-segmenting until stable.
        max_refinements: Most refinement rounds.
        export: ONNX export options of the segments.
        rule_precision: Precision the op rules assume; ``None``: the route's. FakeQuant and
            QuantizeAndDequantize nodes go to TensorRT only at ``"int8"``; TF-TRT's INT8
            without calibration is ``"int8"`` here with an FP32 route (the graph's own
            quantization nodes carry the ranges, nothing is calibrated).
    """

    minimum_segment_size: int = 3
    maximum_segments: int | None = 20
    exclude_ops: tuple[str, ...] = ()
    include_ops: tuple[str, ...] = ()
    refine_with_tensorrt: bool = True
    max_refinements: int = 5
    export: ExportOptions = ExportOptions()
    rule_precision: str | None = None


def segment_source(source: Any, options: SegmentOptions, overrides: dict | None = None, precision: str = "fp32") -> Any:
    """Classify and segment ``source``'s frozen graph with ``options`` at ``precision`` (no export, no build)."""
    from tftrt_kit.segment.preview import inspect

    return inspect(
        source,
        minimum_segment_size=options.minimum_segment_size,
        maximum_segments=options.maximum_segments,
        exclude_ops=options.exclude_ops,
        include_ops=options.include_ops,
        overrides=overrides,
        opset=options.export.opset,
        precision=options.rule_precision or precision,
    )


def refused_tf_nodes(onnx_node: str, origins: dict[str, tuple[str, ...]], nodes: set[str]) -> set[str]:
    """The TF nodes to move back to TensorFlow when an ONNX node of a segment is refused.

    ``origins`` (recorded while tf2onnx converted) names the TF node(s) each ONNX node
    came from. A refusal with no origin in the segment (a node TensorFlow's graph
    optimizer renamed, or an error naming no node) sends the whole segment back:
    refinement must settle, and coverage 0 is the worst case.
    """
    found = nodes.intersection(origins.get(onnx_node, ()))
    return found or set(nodes)


def record_plan(entry: dict, outcome: Any, assets: Any) -> None:
    """Write a segment's plan (when one was built) into ``assets`` and record it in its manifest ``entry``."""
    built = outcome.plan is not None
    entry["plan_file"] = f"{entry['name']}.{outcome.module}.plan" if built else None
    entry["plan_backend"] = outcome.module if built else None
    entry["tensorrt"] = outcome.check.to_dict() if outcome.check else None
    if built:
        (assets / entry["plan_file"]).write_bytes(outcome.plan)


@register_route("segment")
class SegmentRoute:
    """TensorRT segments inside a SavedModel that stays native TensorFlow."""

    def __init__(self, options: SegmentOptions = SegmentOptions()):
        self.options = options

    def __call__(self, source: Any, context: RouteContext) -> RouteResult:
        """Segment, export and build each segment, and write the artifact SavedModel."""
        result = RouteResult(name="segment", precision=context.precision)
        with stage(result, "segment"):
            segmentation, models = self._segment_and_export(source, context, result)
        from tftrt_kit.routes.segment_partition import GraphTensors, part_spec

        graph = GraphTensors(source.graph_def)
        parts = {p.name: p for p in (*segmentation.segments, *segmentation.islands)}
        specs = {
            name: part_spec(
                graph, name, "segment" if name.startswith("seg_") else "island", parts[name].inputs, parts[name].outputs,
                captured=source.captured_tensors,
            )
            for name in segmentation.parts_in_order
        }
        total = sum(graph.flops(n) for n in segmentation.assignment)
        if total:
            result.flops_coverage = sum(graph.flops(n) for s in segmentation.segments for n in s.nodes) / total
        del graph  # a second copy of the weights: not needed by the build or the save
        models = self._apply_precision(source, context, result, models, specs)
        outcomes = {}
        with stage(result, "build"):
            for name, model in models.items():
                outcomes[name] = check_and_build(model, context)
        skipped = next((o.skipped for o in outcomes.values() if o.skipped), None)
        if skipped:
            result.details["tensorrt_skipped"] = skipped
        with stage(result, "save"):
            self._write(source, context, segmentation, parts, specs, models, outcomes, result)
        result.artifact_dir = context.output_dir / "segment"
        result.coverage = segmentation.coverage
        result.segments = [
            SegmentInfo(s.name, len(s.nodes), dict(s.op_histogram), list(s.inputs), list(s.outputs), outcomes[s.name].check)
            for s in segmentation.segments
        ]
        result.fallbacks = [Fallback(f.op_type, f.count, f.reason) for f in segmentation.fallbacks]
        result.details["islands"] = len(segmentation.islands)
        result.sizes["artifact_bytes"] = directory_bytes(result.artifact_dir)
        return result

    def _segment_and_export(self, source: Any, context: RouteContext, result: RouteResult) -> tuple[Any, dict]:
        """Segment, export every segment, and refine by tf2onnx's and TensorRT's refusals until stable."""
        from tftrt_kit.engines.tensorrt_builder import TensorRTBuilder
        from tftrt_kit.errors import MissingDependencyError
        from tftrt_kit.segment.support import unsupported

        builder = None
        if self.options.refine_with_tensorrt:
            try:
                builder = TensorRTBuilder(context.backend)
            except MissingDependencyError:
                builder = None
        overrides: dict[str, Any] = {}
        for round_ in range(self.options.max_refinements + 1):
            segmentation = segment_source(source, self.options, overrides, context.precision)
            models, refused = {}, {}
            for seg in segmentation.segments:
                nodes = set(seg.nodes)
                try:
                    traced = export_traced(
                        source.graph_def, seg.inputs, seg.outputs, self.options.export, name=seg.name, large_graph=source.large_graph
                    )
                except UnsupportedOpError as err:
                    # A node tf2onnx leaves unconverted keeps its TF node name.
                    for op, onnx_node in err.ops:
                        for tf_node in refused_tf_nodes(onnx_node, {onnx_node: (onnx_node,)}, nodes):
                            refused[tf_node] = unsupported(f"tf2onnx could not convert {op}", "tf2onnx")
                    continue
                except ExportError as err:
                    raise SegmentationError(f"Expected segment {seg.name} ({len(nodes)} nodes) to export to ONNX. Received: {err}") from err
                if builder is not None:
                    for node in builder.check(traced.model).unsupported_nodes:
                        for tf_node in refused_tf_nodes(node.node, traced.origins, nodes):
                            refused[tf_node] = unsupported(f"{builder.backend} parser: {node.reason}", "tensorrt")
                models[seg.name] = traced.model
            fresh = {k: v for k, v in refused.items() if k not in overrides}
            if not fresh:
                result.details["refinement_rounds"] = round_
                if len(models) != len(segmentation.segments):
                    raise SegmentationError("Expected every segment to export once refusals were moved to TensorFlow. Received: an export refusal naming no node of its segment.")
                return segmentation, models
            overrides.update(fresh)
        raise SegmentationError(
            f"Expected segmentation to settle within {self.options.max_refinements} refinement rounds. "
            f"Received: TensorRT/tf2onnx still refusing nodes, e.g. {sorted(fresh)[:5]}."
        )

    def _apply_precision(self, source: Any, context: RouteContext, result: RouteResult, models: dict, specs: dict) -> dict:
        if context.precision == "fp16":
            with stage(result, "fp16"):
                return {name: convert_to_fp16(model) for name, model in models.items()}
        if context.precision == "int8":
            from tftrt_kit.routes.quantize_step import quantized_segments

            return quantized_segments(source, context, result, models, specs)
        return models

    def _write(self, source, context, segmentation, parts, specs, models, outcomes, result) -> None:
        import tensorflow as tf

        from tftrt_kit.routes.segment_partition import native_function

        with atomic_directory(context.output_dir / "segment", overwrite=context.overwrite) as staging:
            loaded = tf.saved_model.load(str(source.saved_model_dir))
            for name in segmentation.parts_in_order:
                function = native_function(source.graph_def, parts[name].nodes, specs[name], source.captures(loaded))
                setattr(loaded, specs[name].function_name, function)
            # Custom gradients (Keras' swish/silu) of a loaded SavedModel cannot be saved again;
            # an inference artifact needs none, and its signatures run the same without them.
            options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
            tf.saved_model.save(loaded, str(staging), signatures=dict(loaded.signatures), options=options)
            assets = staging / ASSETS
            assets.mkdir(parents=True, exist_ok=True)
            entries = []
            for name in segmentation.parts_in_order:
                spec = specs[name]
                entry = {
                    "name": name,
                    "kind": spec.kind,
                    "function": spec.function_name,
                    "inputs": [s.to_dict() for s in spec.inputs],
                    "outputs": [s.to_dict() for s in spec.outputs],
                    "nodes": len(parts[name].nodes),
                    "node_names": list(parts[name].nodes),
                }
                if spec.kind == "segment":
                    entry["onnx_file"] = f"{name}.onnx"
                    (assets / entry["onnx_file"]).write_bytes(models[name].SerializeToString())
                    record_plan(entry, outcomes[name], assets)
                entries.append(entry)
            manifest = {
                **manifest_header("segment", source, context),
                "input_tensors": list(source.input_tensors),
                "output_tensors": list(source.output_tensors),
                "parts": entries,
                "coverage": segmentation.coverage,
                "timing_cache_file": keep_timing_cache(context, assets),
            }
            write_manifest(assets, manifest)
            result.sizes["onnx_bytes"] = sum((assets / e["onnx_file"]).stat().st_size for e in entries if e.get("onnx_file"))
            result.sizes["plan_bytes"] = sum(len(o.plan) for o in outcomes.values() if o.plan is not None)
