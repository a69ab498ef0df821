"""Run a segment-route artifact part by part: islands in TensorFlow, segments on the best executor.

Each segment runs on TensorRT where a GPU and a plan built by an installed TensorRT
exist, else on ONNX Runtime, else on its native TensorFlow function; ``executor=``
forces one. Tensors flow between parts as numpy arrays keyed by TF tensor name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from tftrt_kit.runtime.artifact import SEGMENT_ASSETS
from tftrt_kit.runtime.loader import InputChecker, engine_runner, register_loader
from tftrt_kit.source import TensorSpec


class _NativePart:
    """A part run by its native ``tf.function`` from the artifact SavedModel."""

    name = "tensorflow"

    def __init__(self, function: Any, outputs: list[str]):
        self.function = function
        self.outputs = outputs

    def __call__(self, feeds: list[np.ndarray]) -> dict[str, np.ndarray]:
        results = self.function(*feeds)
        # np.asarray: a scalar tensor's .numpy() is a numpy scalar, which ONNX Runtime refuses as a feed.
        return {name: np.asarray(value.numpy()) for name, value in zip(self.outputs, results)}


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

    Args:
        directory: The artifact SavedModel directory.
        manifest: Its validated manifest (``assets/tftrt_kit/manifest.json``).
        executor: ``auto``, ``tensorrt``, ``onnxruntime`` or ``tensorflow`` (for segments;
            islands always run in TensorFlow).

    Attributes:
        segment_executors: segment name -> executor that runs it.
        executor: the mix, e.g. ``"onnxruntime[CPU]+tensorflow"``.
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
        kinds = sorted(set(self.segment_executors.values()))
        if self.islands and "tensorflow" not in kinds:
            kinds.append("tensorflow")
        self.executor = "+".join(kinds) or "tensorflow"

    @property
    def islands(self) -> int:
        """Number of TensorFlow islands."""
        return sum(1 for entry, _ in self._parts if entry["kind"] == "island")

    def _segment_runner(self, entry: dict, native: _NativePart, executor: str) -> Any:
        if executor == "tensorflow" or not entry.get("onnx_file"):
            return native
        runner = engine_runner(self.directory / SEGMENT_ASSETS, entry, executor, f"segment {entry['name']!r}")
        return _EnginePart(runner, [i["name"] for i in entry["inputs"]])

    def __call__(self, feeds: Mapping[str, Any] | np.ndarray | None = None, **kwargs: Any) -> dict[str, np.ndarray]:
        """Run on ``feeds`` or keyword arrays (signature input names); returns outputs by name.

        Raises:
            RuntimeInputError: the inputs do not match the signature's.
        """
        checked = self._check(feeds, kwargs)
        values = {tensor: checked[spec.name] for tensor, spec in zip(self.manifest["input_tensors"], self.inputs)}
        for entry, part in self._parts:
            values.update(part([values[i["name"]] for i in entry["inputs"]]))
        return {spec.name: values[tensor] for tensor, spec in zip(self.manifest["output_tensors"], self.outputs)}

    def __repr__(self) -> str:
        segments = ", ".join(f"{k}: {v}" for k, v in self.segment_executors.items())
        return f"SegmentArtifactModel({str(self.directory)!r}, executor={self.executor!r}, segments=[{segments}], islands={self.islands})"


register_loader("segment")(SegmentArtifactModel)
