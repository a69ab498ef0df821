"""Route "onnx": (quantize) -> tf2onnx -> ONNX clean-up -> TensorRT plan, one model file."""

from __future__ import annotations

from typing import Any

from tftrt_kit.export import ExportOptions, convert_to_fp16, export_source
from tftrt_kit.report.data import RouteResult
from tftrt_kit.routes.base import RouteContext, directory_bytes, keep_timing_cache, manifest_header, stage
from tftrt_kit.routes.engine_step import check_and_build
from tftrt_kit.routes.registry import register_route
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
class OnnxRoute:
    """The whole signature as one ONNX model and one TensorRT plan."""

    def __init__(self, export: ExportOptions = ExportOptions()):
        self.export = export

    def __call__(self, source: Any, context: RouteContext) -> RouteResult:
        """Export, check and build; write ``model.onnx``, the plan and ``manifest.json``."""
        result = RouteResult(name="onnx", precision=context.precision)
        model = self._onnx_model(source, context, result)
        with stage(result, "build"):
            outcome = check_and_build(model, context)
        result.tensorrt = outcome.check
        if outcome.skipped:
            result.details["tensorrt_skipped"] = outcome.skipped
        files = {"onnx_file": MODEL_FILE, "plan_file": None}
        with atomic_directory(context.output_dir / "onnx", overwrite=context.overwrite) as staging:
            (staging / MODEL_FILE).write_bytes(model.SerializeToString())
            if outcome.plan is not None:
                files["plan_file"] = f"model.{outcome.module}.plan"
                (staging / files["plan_file"]).write_bytes(outcome.plan)
            files["timing_cache_file"] = keep_timing_cache(context, staging)
            write_manifest(staging, {
                **manifest_header("onnx", source, context),
                "tensorrt": outcome.check.to_dict() if outcome.check else None,
                "plan_backend": outcome.module if outcome.plan is not None else None,
                **files,
            })
            result.sizes = {"onnx_bytes": (staging / MODEL_FILE).stat().st_size, "plan_bytes": len(outcome.plan or b"")}
        result.artifact_dir = context.output_dir / "onnx"
        result.sizes["artifact_bytes"] = directory_bytes(result.artifact_dir)
        return result

    def _onnx_model(self, source: Any, context: RouteContext, result: RouteResult) -> Any:
        if context.precision == "int8":
            from tftrt_kit.routes.quantize_step import quantized_onnx

            return quantized_onnx(source, context, result, self.export)
        with stage(result, "export"):
            model = export_source(source, self.export)
        if context.precision == "fp16":
            with stage(result, "fp16"):
                model = convert_to_fp16(model)
        return model
