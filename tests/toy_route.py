"""A toy route for the registry tests: the source as one tf2onnx-exported ONNX file, no TensorRT.

Its whole definition is this module and its one ``@register_route`` entry.
"""

from __future__ import annotations

from typing import Any

from tftrt_kit.export import ExportOptions, export_source
from tftrt_kit.routes.base import RouteContext, manifest_header
from tftrt_kit.routes.registry import register_route
from tftrt_kit.routes.stages import RouteRun, Stage, StagedRoute
from tftrt_kit.runtime.artifact import atomic_directory, write_manifest
from tftrt_kit.runtime.manifest_schema import of_type


@register_route("toy", manifest_schema={"onnx_file": of_type(str)}, loader="tftrt_kit.runtime.loader:OnnxArtifactModel")
class ToyRoute(StagedRoute):
    """Export the source to ONNX, then save it with its manifest."""

    def stages(self, source: Any, context: RouteContext) -> list[Stage]:
        return [Stage("export", self._export), Stage("save", self._save)]

    def _export(self, run: RouteRun) -> None:
        run.values["model"] = export_source(run.source, ExportOptions())

    def _save(self, run: RouteRun) -> None:
        target = run.context.output_dir / "toy"
        with atomic_directory(target, overwrite=run.context.overwrite) as staging:
            (staging / "model.onnx").write_bytes(run.values.pop("model").SerializeToString())
            write_manifest(staging, {**manifest_header("toy", run.source, run.context), "onnx_file": "model.onnx"})
        run.result.artifact_dir = target
