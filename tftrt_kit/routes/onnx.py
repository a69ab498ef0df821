"""Route "onnx": (quantize) -> tf2onnx -> ONNX clean-up -> TensorRT plan, one model file.

Stages: export (INT8: quantize, calibrate, export), fp16 (FP16 only), build, save.
A model over :data:`tftrt_kit.onnx_files.EXTERNAL_DATA_BYTES` keeps its tensors in
``model.onnx.data`` next to ``model.onnx`` (the manifest's ``onnx_data_file``).
"""

from __future__ import annotations

from typing import Any

from tftrt_kit.export import ExportOptions, convert_to_fp16, export_source
from tftrt_kit.onnx_files import save_onnx
from tftrt_kit.routes.base import RouteContext, directory_bytes, keep_timing_cache, manifest_header
from tftrt_kit.routes.engine_step import check_and_build
from tftrt_kit.routes.registry import register_route
from tftrt_kit.routes.stages import RouteRun, Stage, StagedRoute, StageSkipped
from tftrt_kit.runtime.artifact import atomic_directory, write_manifest
from tftrt_kit.runtime.manifest_schema import ONNX_FIELDS

MODEL_FILE = "model.onnx"


@register_route(
    "onnx",
    manifest_schema=ONNX_FIELDS,
    loader="tftrt_kit.runtime.loader:OnnxArtifactModel",
    triton_exporter="tftrt_kit.triton.repository:onnx_models",
    default_order=2,
)
class OnnxRoute(StagedRoute):
    """The whole signature as one ONNX model and one TensorRT plan."""

    def __init__(self, export: ExportOptions = ExportOptions()):
        self.export = export

    def stages(self, source: Any, context: RouteContext) -> list[Stage]:
        """Make ``model.onnx`` (quantized at INT8), check and build it, write the artifact."""
        if context.precision == "int8":
            from tftrt_kit.routes.quantize_step import int8_onnx_stages

            making = int8_onnx_stages(source, self.export)
        else:
            making = [Stage("export", self._export)] + ([Stage("fp16", self._fp16)] if context.precision == "fp16" else [])
        return [*making, Stage("build", self._build), Stage("save", self._save)]

    def _export(self, run: RouteRun) -> None:
        run.values["model"] = export_source(run.source, self.export)

    def _fp16(self, run: RouteRun) -> None:
        run.values["model"] = convert_to_fp16(run.values["model"])

    def _build(self, run: RouteRun) -> None:
        outcome = run.values["outcome"] = check_and_build(run.values["model"], run.context)
        run.result.tensorrt = outcome.check
        if outcome.skipped:
            run.result.details["tensorrt_skipped"] = outcome.skipped
            raise StageSkipped(outcome.skipped)  # no TensorRT here: the artifact keeps its ONNX model only

    def _save(self, run: RouteRun) -> None:
        """Write ``model.onnx``, the plan and ``manifest.json``, renamed into place whole."""
        model, outcome, context, result = run.values.pop("model"), run.values.pop("outcome"), run.context, run.result
        files = {"onnx_file": MODEL_FILE, "plan_file": None}
        with atomic_directory(context.output_dir / "onnx", overwrite=context.overwrite) as staging:
            files["onnx_data_file"] = save_onnx(model, staging / MODEL_FILE)
            if outcome.plan is not None:
                files["plan_file"] = f"model.{outcome.module}.plan"
                (staging / files["plan_file"]).write_bytes(outcome.plan)
            files["timing_cache_file"] = keep_timing_cache(context, staging)
            write_manifest(staging, {
                **manifest_header("onnx", run.source, context),
                "tensorrt": outcome.check.to_dict() if outcome.check else None,
                "plan_backend": outcome.module if outcome.plan is not None else None,
                **files,
            })
            onnx_files = [MODEL_FILE] + ([files["onnx_data_file"]] if files["onnx_data_file"] else [])
            result.sizes = {"onnx_bytes": sum((staging / f).stat().st_size for f in onnx_files), "plan_bytes": len(outcome.plan or b"")}
        result.artifact_dir = context.output_dir / "onnx"
        result.sizes["artifact_bytes"] = directory_bytes(result.artifact_dir)
