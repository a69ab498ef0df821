"""``tftrt_kit.load``: run a written artifact, on the best executor this machine has."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from tftrt_kit.artifact import read_manifest, resolve_inside
from tftrt_kit.errors import ArtifactError, ConfigError, RuntimeInputError, TftrtKitError
from tftrt_kit.source import TensorSpec

EXECUTORS = ("auto", "tensorrt", "onnxruntime", "tensorflow")

#: route name -> loader(directory, manifest, executor) returning a callable model.
LOADERS: dict[str, Callable[[Path, dict, str], Any]] = {}


def register_loader(route: str) -> Callable:
    """Decorator registering the artifact loader of ``route``."""

    def decorate(function: Callable) -> Callable:
        LOADERS[route] = function
        return function

    return decorate


def load(artifact_dir: str | Path, *, executor: str = "auto") -> Any:
    """Load an artifact written by ``convert()`` as a callable model.

    Args:
        artifact_dir: The route's artifact directory (``<output_dir>/onnx`` or ``<output_dir>/segment``).
        executor: ``"auto"`` (TensorRT where a GPU and a matching plan exist, else ONNX
            Runtime), or force ``"tensorrt"``, ``"onnxruntime"`` or ``"tensorflow"``.

    Returns:
        A callable taking ``{input name: array}`` (or keyword arrays) and returning
        ``{output name: array}``; its ``repr`` names the executor it runs on.

    Raises:
        ArtifactError: the directory or its manifest is missing, malformed or unsafe.

    Example:
        >>> model = tftrt_kit.load("out/onnx")                    # doctest: +SKIP
        >>> model(input_layer=x)["output_0"]                      # doctest: +SKIP
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"Expected executor in {EXECUTORS}. Received: executor={executor!r}")
    directory = Path(artifact_dir)
    manifest = read_manifest(directory)
    route = manifest["route"]
    if route == "segment":
        import tftrt_kit.segment.runtime  # noqa: F401  (registers the segment loader)
    return LOADERS[route](directory, manifest, executor)


class InputChecker:
    """Validates feeds against input specs; the message names the tensor at fault."""

    def __init__(self, specs: list[TensorSpec]):
        self.specs = specs

    def __call__(self, feeds: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Merge positional-dict and keyword feeds, check names, dtypes and shapes."""
        merged = {**(feeds or {}), **kwargs}
        expected = [s.name for s in self.specs]
        missing = [n for n in expected if n not in merged]
        extra = sorted(set(merged) - set(expected))
        if missing or extra:
            raise RuntimeInputError(f"Expected inputs {expected}. Received: {sorted(merged)} (missing {missing}, unexpected {extra}).")
        checked = {}
        for spec in self.specs:
            value = np.asarray(merged[spec.name])
            # Floats of any width are cast to the spec's float (as TensorFlow's signature would not);
            # a different kind (int for float, float for int) is a caller's mistake.
            if value.dtype.kind != np.dtype(spec.dtype).kind:
                raise RuntimeInputError(f"Expected input {spec.name!r} of dtype {spec.dtype}. Received: dtype {value.dtype}.")
            if value.ndim != len(spec.shape) or any(d is not None and d != v for d, v in zip(spec.shape, value.shape)):
                raise RuntimeInputError(f"Expected input {spec.name!r} of shape {list(spec.shape)}. Received: shape {list(value.shape)}.")
            checked[spec.name] = value.astype(spec.dtype, copy=False)
        return checked


class OnnxArtifactModel:
    """A loaded onnx-route artifact: one ONNX model, one executor."""

    def __init__(self, directory: Path, manifest: dict, executor: str):
        self.directory = directory
        self.manifest = manifest
        self.inputs = [TensorSpec.from_dict(s) for s in manifest["inputs"]]
        self.outputs = [TensorSpec.from_dict(s) for s in manifest["outputs"]]
        self._check = InputChecker(self.inputs)
        self.runner = self._runner(executor)
        self.executor = self.runner.name

    def _runner(self, executor: str) -> Any:
        from tftrt_kit.engines.onnxruntime import OnnxRuntimeExecutor
        from tftrt_kit.engines.tensorrt_runner import TensorRTRunner, gpu_available

        plan_file = self.manifest.get("plan_file")
        wants_trt = executor == "tensorrt" or (executor == "auto" and plan_file and gpu_available())
        if wants_trt:
            if not plan_file:
                raise ArtifactError(f"Expected a TensorRT plan in {str(self.directory)!r}. Received: an artifact built without one.")
            try:
                plan = resolve_inside(self.directory, plan_file, "plan_file").read_bytes()
                return TensorRTRunner(plan, backend=self.manifest.get("plan_backend") or "auto")
            except TftrtKitError as err:
                if executor == "tensorrt":
                    raise
                warnings.warn(f"TensorRT plan not usable here ({err}); running on ONNX Runtime.", RuntimeWarning, stacklevel=3)
        if executor == "tensorflow":
            raise ArtifactError("Expected executor 'tensorrt' or 'onnxruntime' for an onnx-route artifact. Received: 'tensorflow' (it holds no TF graph).")
        return OnnxRuntimeExecutor(resolve_inside(self.directory, self.manifest["onnx_file"], "onnx_file"))

    def __call__(self, feeds: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, np.ndarray]:
        """Run on ``feeds`` or keyword arrays; returns outputs by name."""
        return self.runner(self._check(feeds, kwargs))

    def __repr__(self) -> str:
        ins = ", ".join(f"{s.name}{list(s.shape)}" for s in self.inputs)
        return f"OnnxArtifactModel({str(self.directory)!r}, executor={self.executor!r}, inputs=[{ins}])"


register_loader("onnx")(OnnxArtifactModel)
