"""Route "segment": TF-TRT's job on current TensorFlow.

Support rules -> segmenter -> (refined by the TensorRT parser until stable) -> each
segment exported to ONNX and built into a plan -> a SavedModel holding the source's
signatures unchanged, a native function per part, and ``assets/tftrt_kit/``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tftrt_kit.export import ExportOptions, convert_to_fp16
from tftrt_kit.onnx_files import save_onnx
from tftrt_kit.report.data import Fallback, SegmentInfo
from tftrt_kit.routes.base import RouteContext, directory_bytes, keep_timing_cache, manifest_header
from tftrt_kit.routes.engine_step import check_and_build
from tftrt_kit.routes.registry import register_route
from tftrt_kit.routes.stages import RouteRun, Stage, StagedRoute, StageSkipped
from tftrt_kit.runtime.artifact import SEGMENT_ASSETS, atomic_directory, write_manifest
from tftrt_kit.runtime.manifest_schema import SEGMENT_FIELDS

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
        max_refinements: Refinement rounds that may move refused nodes to TensorFlow; a
            segment still refused after them goes to TensorFlow whole (the route never fails).
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


def onnx_inputs_only(profiles: list, model: Any) -> list:
    """``profiles`` restricted to the ONNX model's graph inputs (tf2onnx drops a boundary tensor nothing uses)."""
    names = {i.name for i in model.graph.input} - {i.name for i in model.graph.initializer}
    return [{t: shapes for t, shapes in p.items() if t in names} for p in profiles]


def record_plan(entry: dict, outcome: Any, assets: Any) -> None:
    """Write a segment's plan (when one was built) into ``assets`` and record it in its manifest ``entry``."""
    built = outcome.plan is not None
    entry["plan_file"] = f"{entry['name']}.{outcome.module}.plan" if built else None
    entry["plan_backend"] = outcome.module if built else None
    entry["tensorrt"] = outcome.check.to_dict() if outcome.check else None
    if built:
        (assets / entry["plan_file"]).write_bytes(outcome.plan)


@register_route(
    "segment",
    manifest_schema=SEGMENT_FIELDS,
    loader="tftrt_kit.runtime.segment:SegmentArtifactModel",
    triton_exporter="tftrt_kit.triton.repository:segment_model",
    default_order=1,
)
class SegmentRoute(StagedRoute):
    """TensorRT segments inside a SavedModel that stays native TensorFlow."""

    def __init__(self, options: SegmentOptions = SegmentOptions()):
        self.options = options

    def stages(self, source: Any, context: RouteContext) -> list[Stage]:
        """Segment (refined by tf2onnx's and TensorRT's refusals), partition, set the precision, build, save."""
        precision = {"fp16": [Stage("fp16", self._fp16)], "int8": [Stage("calibrate", self._calibrate)]}.get(context.precision, [])
        return [Stage("segment", self._segment), Stage("partition", self._partition), *precision,
                Stage("build", self._build), Stage("save", self._save)]

    def _segment(self, run: RouteRun) -> None:
        from tftrt_kit.routes.segment_partition import GraphTensors

        graph = run.values["graph"] = GraphTensors(run.source.shapes_graph)
        refined = self._refine(run.source, run.context, graph)
        run.result.details["refinement_rounds"] = refined.rounds
        run.result.details["tf2onnx_passes"] = refined.tf2onnx_passes
        if refined.demoted:
            run.result.details["segments_sent_back_whole"] = list(refined.demoted)
        run.values["segmentation"], run.values["models"] = refined.segmentation, refined.models

    def _partition(self, run: RouteRun) -> None:
        """Each part's inputs and outputs (its native function's signature), and the FLOPs coverage."""
        from tftrt_kit.routes.segment_partition import part_spec

        graph = run.values.pop("graph")  # its last user: the build and the save need none of it
        segmentation = run.values["segmentation"]
        parts = run.values["parts"] = {p.name: p for p in (*segmentation.segments, *segmentation.islands)}
        segment_names = {s.name for s in segmentation.segments}
        run.values["specs"] = {
            name: part_spec(
                graph, name, "segment" if name in segment_names else "island", parts[name].inputs, parts[name].outputs,
                captured=run.source.captured_tensors,
            )
            for name in segmentation.parts_in_order
        }
        total = sum(graph.flops(n) for n in segmentation.assignment)
        if total:
            run.result.flops_coverage = sum(graph.flops(n) for s in segmentation.segments for n in s.nodes) / total

    def _fp16(self, run: RouteRun) -> None:
        run.values["models"] = {name: convert_to_fp16(model) for name, model in run.values["models"].items()}

    def _calibrate(self, run: RouteRun) -> None:
        from tftrt_kit.routes.quantize_step import quantized_segments

        run.values["models"] = quantized_segments(run.source, run.context, run.result, run.values["models"], run.values["specs"])

    def _build(self, run: RouteRun) -> None:
        profiles, values = self._profiles(run.source, run.context, run.values["segmentation"], run.result)
        outcomes = run.values["outcomes"] = self._build_segments(run.values["models"], run.context, profiles, values)
        skipped = next((o.skipped for o in outcomes.values() if o.skipped), None)
        if skipped:
            run.result.details["tensorrt_skipped"] = skipped
            raise StageSkipped(skipped)  # no TensorRT here: segments run on ONNX Runtime

    def _save(self, run: RouteRun) -> None:
        """Write the artifact SavedModel, then record what it holds."""
        result, segmentation, outcomes = run.result, run.values["segmentation"], run.values["outcomes"]
        self._write(run.source, run.context, segmentation, run.values["parts"], run.values["specs"], run.values["models"], outcomes, result)
        result.artifact_dir = run.context.output_dir / "segment"
        result.coverage = segmentation.coverage
        result.segments = [
            SegmentInfo(s.name, len(s.nodes), dict(s.op_histogram), list(s.inputs), list(s.outputs), outcomes[s.name].check)
            for s in segmentation.segments
        ]
        result.fallbacks = [Fallback(f.op_type, f.count, f.reason) for f in segmentation.fallbacks]
        result.details["islands"] = len(segmentation.islands)
        result.sizes["artifact_bytes"] = directory_bytes(result.artifact_dir)

    def _refine(self, source: Any, context: RouteContext, graph: Any) -> Any:
        """Segment and export, moving what tf2onnx or the TensorRT parser refuses to TensorFlow until it settles."""
        from tftrt_kit.engines.tensorrt_builder import TensorRTBuilder
        from tftrt_kit.errors import MissingDependencyError
        from tftrt_kit.routes.segment_export import SegmentExporter
        from tftrt_kit.routes.segment_refine import refine

        parser = None
        if self.options.refine_with_tensorrt:
            try:
                parser = TensorRTBuilder(context.backend)
            except MissingDependencyError:
                parser = None
        exporter = SegmentExporter(source, self.options.export, graph)
        return refine(lambda overrides: segment_source(source, self.options, overrides, context.precision), exporter, parser, self.options.max_refinements)

    def _build_segments(self, models: dict, context: RouteContext, profiles: dict, values: dict) -> dict:
        """Segment name -> its TensorRT outcome (check, and a plan for its own profiles where a builder exists)."""
        return {
            name: check_and_build(
                model,
                context,
                profiles=onnx_inputs_only(profiles.get(name, []), model),
                shape_values=onnx_inputs_only(values.get(name, []), model),
            )
            for name, model in models.items()
        }

    @staticmethod
    def _profiles(source: Any, context: RouteContext, segmentation: Any, result: Any) -> tuple[dict, dict]:
        """Each segment's profiles over its boundary tensors, from running the source at the model's profiles,
        and the values its possible shape-tensor inputs took there.

        When the frozen graph cannot run on generated inputs, no segment gets a profile:
        a segment with a dynamic input then has no plan, and its check says why.
        """
        from tftrt_kit.profiles import resolve_profiles
        from tftrt_kit.routes.segment_profiles import segment_profiles

        plan = context.profiles if context.profiles is not None else resolve_profiles(source.inputs)
        if not context.build_plans or not plan.buildable:
            return {}, {}
        try:
            profiles, notes, values = segment_profiles(source, segmentation.segments, plan, context.sample_data)
        except Exception as err:  # a graph TensorFlow cannot run here on generated inputs: no profile, said
            result.details["segment_profiles_error"] = f"{type(err).__name__}: {str(err)[:300]}"
            return {}, {}
        if notes:
            result.details["data_dependent_dims"] = notes
        return profiles, values

    def _write(self, source, context, segmentation, parts, specs, models, outcomes, result) -> None:
        import tensorflow as tf

        from tftrt_kit.routes.segment_partition import native_function, variable_handles, whole_graph_function
        from tftrt_kit.saved_model_load import unread_variable_lists
        from tftrt_kit.saved_model_save import save_saved_model

        with atomic_directory(context.output_dir / "segment", overwrite=context.overwrite) as staging:
            # The source's own loaded object: its functions and variables are what the
            # artifact keeps, and loading a second copy would cost the weights again.
            loaded = source.loaded
            variables = variable_handles(source, loaded)
            for name in unread_variable_lists(loaded):
                delattr(loaded, name)
            whole = len(segmentation.parts_in_order) == 1  # its one part holds every node
            for name in segmentation.parts_in_order:
                function = whole_graph_function(source, specs[name], loaded.signatures[source.signature_key]) if whole else None
                if function is None:
                    function = native_function(source.graph_def, parts[name].nodes, specs[name], source.captures(loaded), variables, source.weights.arrays)
                setattr(loaded, specs[name].function_name, function)
            # Custom gradients (Keras' swish/silu) of a loaded SavedModel cannot be saved again;
            # an inference artifact needs none, and its signatures run the same without them.
            options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
            save_saved_model(loaded, staging, dict(loaded.signatures), options)
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
                    entry["onnx_data_file"] = save_onnx(models[name], assets / entry["onnx_file"])
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
            result.sizes["onnx_bytes"] = sum((assets / e[k]).stat().st_size for e in entries for k in ("onnx_file", "onnx_data_file") if e.get(k))
            result.sizes["plan_bytes"] = sum(len(o.plan) for o in outcomes.values() if o.plan is not None)
