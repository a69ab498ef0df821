"""Run a segment-route artifact part by part: islands in TensorFlow, segments on the best executor.

Each segment runs on TensorRT where a GPU and a plan built by an installed TensorRT
exist, else on ONNX Runtime, else on its native TensorFlow function; ``executor=``
forces one. Tensors flow between parts as numpy arrays keyed by TF tensor name.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from tftrt_kit.artifact import resolve_inside
from tftrt_kit.errors import ArtifactError, TftrtKitError
from tftrt_kit.runtime import InputChecker, register_loader
from tftrt_kit.source import TensorSpec

ASSETS = Path("assets") / "tftrt_kit"


class _NativePart:
    """A part run by its native ``tf.function`` from the artifact SavedModel."""

    name = "tensorflow"

    def __init__(self, function: Any, outputs: list[str]):
        self.function = function
        self.outputs = outputs

    def __call__(self, feeds: list[np.ndarray]) -> dict[str, np.ndarray]:
        results = self.function(*feeds)
        return {name: value.numpy() for name, value in zip(self.outputs, results)}


class _EnginePart:
    """A segment run by an ONNX Runtime or TensorRT executor (inputs named by TF tensor name)."""

    def __init__(self, runner: Any, inputs: list[str]):
        self.runner = runner
        self.inputs = inputs
        self.name = runner.name

    def __call__(self, feeds: list[np.ndarray]) -> dict[str, np.ndarray]:
        return self.runner(dict(zip(self.inputs, feeds)))


class SegmentArtifactModel:
    """A loaded segment-route artifact. ``executor`` names the mix it runs on.

    Attributes:
        segment_executors: segment name -> executor that runs it.
    """

    def __init__(self, directory: Path, manifest: dict, executor: str):
        import tensorflow as tf

        self.directory = Path(directory)
        self.manifest = manifest
        self.inputs = [TensorSpec.from_dict(s) for s in manifest["inputs"]]
        self.outputs = [TensorSpec.from_dict(s) for s in manifest["outputs"]]
        self._check = InputChecker(self.inputs)
        self.saved_model = tf.saved_model.load(str(self.directory))
        self._parts: list[tuple[dict, Callable]] = []
        self.segment_executors: dict[str, str] = {}
        for entry in manifest["parts"]:
            native = _NativePart(getattr(self.saved_model, entry["function"]), [o["name"] for o in entry["outputs"]])
            part = native if entry["kind"] == "island" else self._segment_runner(entry, native, executor)
            if entry["kind"] == "segment":
                self.segment_executors[entry["name"]] = part.name
            self._parts.append((entry, part))
        islands = sum(1 for e, _ in self._parts if e["kind"] == "island")
        kinds = sorted(set(self.segment_executors.values()))
        self.executor = "+".join(kinds + (["tensorflow"] if islands and "tensorflow" not in kinds else [])) or "tensorflow"

    def _segment_runner(self, entry: dict, native: _NativePart, executor: str) -> Any:
        from tftrt_kit.engines.onnxruntime import OnnxRuntimeExecutor
        from tftrt_kit.engines.tensorrt_runner import TensorRTRunner, gpu_available

        assets = self.directory / ASSETS
        inputs = [i["name"] for i in entry["inputs"]]
        plan_file = entry.get("plan_file")
        if executor == "tensorflow":
            return native
        if executor == "tensorrt" or (executor == "auto" and plan_file and gpu_available()):
            if not plan_file:
                raise ArtifactError(f"Expected a TensorRT plan for segment {entry['name']!r}. Received: none was built.")
            try:
                plan = resolve_inside(assets, plan_file, f"{entry['name']}.plan_file").read_bytes()
                return _EnginePart(TensorRTRunner(plan, backend=entry.get("plan_backend") or "auto"), inputs)
            except TftrtKitError as err:
                if executor == "tensorrt":
                    raise
                warnings.warn(f"Segment {entry['name']}: TensorRT plan not usable here ({err}); using ONNX Runtime.", RuntimeWarning, stacklevel=4)
        onnx_file = entry.get("onnx_file")
        if onnx_file:
            return _EnginePart(OnnxRuntimeExecutor(resolve_inside(assets, onnx_file, f"{entry['name']}.onnx_file")), inputs)
        return native

    def __call__(self, feeds: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, np.ndarray]:
        """Run on ``feeds`` or keyword arrays (signature input names); returns outputs by name."""
        checked = self._check(feeds, kwargs)
        values = {tensor: checked[spec.name] for tensor, spec in zip(self.manifest["input_tensors"], self.inputs)}
        for entry, part in self._parts:
            values.update(part([values[i["name"]] for i in entry["inputs"]]))
        return {spec.name: values[tensor] for tensor, spec in zip(self.manifest["output_tensors"], self.outputs)}

    def __repr__(self) -> str:
        segments = ", ".join(f"{k}: {v}" for k, v in self.segment_executors.items())
        islands = sum(1 for e, _ in self._parts if e["kind"] == "island")
        return f"SegmentArtifactModel({str(self.directory)!r}, executor={self.executor!r}, segments=[{segments}], islands={islands})"


register_loader("segment")(SegmentArtifactModel)
