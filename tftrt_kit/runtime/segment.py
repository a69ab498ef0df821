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
from tftrt_kit.runtime.inputs import InputChecker
from tftrt_kit.runtime.loader import close_runner, open_runner
from tftrt_kit.source import TensorSpec


class SegmentArtifactModel:
    """A loaded segment-route artifact. ``executor`` names the mix it runs on.

    Args:
        directory: The artifact SavedModel directory.
        manifest: Its validated manifest (``assets/tftrt_kit/manifest.json``).
        executor: ``auto`` or a registered executor, for segments (islands always run in
            TensorFlow); see :func:`~tftrt_kit.runtime.loader.open_runner`.

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
            native = getattr(self.saved_model, entry["function"])
            chosen = executor if entry["kind"] == "segment" else "tensorflow"
            part = open_runner(self.directory / SEGMENT_ASSETS, entry, chosen, f"{entry['kind']} {entry['name']!r}", native)
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

    def __call__(self, feeds: Mapping[str, Any] | np.ndarray | None = None, **kwargs: Any) -> dict[str, np.ndarray]:
        """Run on ``feeds`` or keyword arrays (signature input names); returns outputs by name.

        Raises:
            RuntimeInputError: the inputs do not match the signature's.
        """
        checked = self._check(feeds, kwargs)
        values = {tensor: checked[spec.name] for tensor, spec in zip(self.manifest["input_tensors"], self.inputs)}
        for entry, part in self._parts:
            values.update(part({i["name"]: values[i["name"]] for i in entry["inputs"]}))
        return {spec.name: values[tensor] for tensor, spec in zip(self.manifest["output_tensors"], self.outputs)}

    def close(self) -> None:
        """Release every segment's executor (TensorRT: device memory, stream, context) and the SavedModel. Idempotent."""
        for _, part in self._parts:
            close_runner(part)

    def __enter__(self) -> "SegmentArtifactModel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        segments = ", ".join(f"{k}: {v}" for k, v in self.segment_executors.items())
        return f"SegmentArtifactModel({str(self.directory)!r}, executor={self.executor!r}, segments=[{segments}], islands={self.islands})"

