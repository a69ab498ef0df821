"""Run a segment-route artifact part by part: islands in TensorFlow, segments on the best executor.

Each segment runs on TensorRT where a GPU and a plan built by an installed TensorRT
exist, else on ONNX Runtime, else on its native TensorFlow function; ``executor=``
forces one. Tensors flow between parts as numpy arrays keyed by TF tensor name.
The artifact's SavedModel is loaded only when some part runs in TensorFlow: an
artifact whose every part is a segment on TensorRT or ONNX Runtime never imports
TensorFlow nor reads its weights a second time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from tftrt_kit.errors import ArtifactError
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
        self.directory = Path(directory)
        self.manifest = manifest
        self.inputs = [TensorSpec.from_dict(s) for s in manifest["inputs"]]
        self.outputs = [TensorSpec.from_dict(s) for s in manifest["outputs"]]
        self._check = InputChecker(self.inputs)
        self._native = NativeFunctions(self.directory)
        self._parts: list[tuple[dict, Callable]] = []
        self.segment_executors: dict[str, str] = {}
        for entry in manifest["parts"]:
            chosen = executor if entry["kind"] == "segment" else "tensorflow"
            where = f"{entry['kind']} {entry['name']!r}"
            part = open_runner(self.directory / SEGMENT_ASSETS, entry, chosen, where, self._native.function(entry["function"], where))
            if entry["kind"] == "segment":
                self.segment_executors[entry["name"]] = part.name
            self._parts.append((entry, part))
        kinds = sorted(set(self.segment_executors.values()))
        if self.islands and "tensorflow" not in kinds:
            kinds.append("tensorflow")
        self.executor = "+".join(kinds) or "tensorflow"
        if "tensorflow" in kinds:
            # Loaded now, not at the first call: a damaged SavedModel fails load(), and load() takes the time.
            self._native.load()

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
        self._native.release()

    def __enter__(self) -> "SegmentArtifactModel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        segments = ", ".join(f"{k}: {v}" for k, v in self.segment_executors.items())
        return f"SegmentArtifactModel({str(self.directory)!r}, executor={self.executor!r}, segments=[{segments}], islands={self.islands})"


class NativeFunctions:
    """The native part functions of a segment artifact, its SavedModel loaded on first use.

    Args:
        directory: The artifact SavedModel directory.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self._parts: dict[str, str] = {}
        self._loaded: Any = None

    def load(self) -> Any:
        """The loaded SavedModel (loading it the first time).

        Raises:
            ArtifactError: ``directory`` holds no SavedModel TensorFlow can load, or it
                lacks the function of a part handed out by :meth:`function`.
        """
        if self._loaded is None:
            import tensorflow as tf

            try:
                loaded = tf.saved_model.load(str(self.directory))
            except Exception as err:
                raise ArtifactError(
                    f"Expected a TensorFlow SavedModel at {str(self.directory)!r}. "
                    f"Received: TensorFlow could not load it ({type(err).__name__}: {str(err)[:300]}); convert the model again."
                ) from err
            missing = [f"{where}: {name!r}" for name, where in self._parts.items() if not hasattr(loaded, name)]
            if missing:
                raise ArtifactError(f"Expected the SavedModel at {str(self.directory)!r} to hold each part's function. Received: none for {missing}.")
            self._loaded = loaded
        return self._loaded

    def function(self, name: str, where: str) -> Callable[..., Any]:
        """A callable running the SavedModel's function ``name`` (that of the part ``where``), loading the SavedModel when first called."""
        self._parts[name] = where

        def run(*tensors: Any) -> Any:
            return getattr(self.load(), name)(*tensors)

        return run

    def release(self) -> None:
        """Drop the loaded SavedModel, if any."""
        self._loaded = None
