"""``tftrt_kit.load``: run a written artifact, on the best executor this machine has."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from tftrt_kit._optional import require
from tftrt_kit.dtypes import checked_array
from tftrt_kit.errors import ArtifactError, ConfigError, IncompatiblePlanError, RuntimeInputError, TftrtKitError
from tftrt_kit.runtime.artifact import read_manifest, resolve_inside
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
        try:
            import tftrt_kit.runtime.segment  # noqa: F401  (registers the segment loader)
        except ModuleNotFoundError as err:
            if err.name != "tftrt_kit.runtime.segment":
                raise
    if route not in LOADERS:
        raise ArtifactError(
            f"Expected an artifact of a route this tftrt_kit can load ({sorted(LOADERS)}). "
            f"Received: route={route!r} in {str(directory)!r}."
        )
    return LOADERS[route](directory, manifest, executor)


class InputChecker:
    """Validates feeds against input specs; the message names the tensor at fault.

    Args:
        specs: The model's input specs, in order.
    """

    def __init__(self, specs: list[TensorSpec]):
        self.specs = list(specs)

    def __call__(self, feeds: Any, kwargs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Merge dict and keyword feeds; check names, dtypes and shapes; cast floats to the spec's width.

        Args:
            feeds: ``{input name: array}``, None, or (single-input models only) the array itself.
            kwargs: Keyword arrays.

        Returns:
            ``{input name: array}`` ready for an executor.

        Raises:
            RuntimeInputError: a missing or unexpected input, a value that is not a
                regular numeric array (ragged list, object, string), a wrong dtype
                kind, a wrong rank or static dimension, or an empty array.
        """
        merged = {**self._as_mapping(feeds), **kwargs}
        expected = [s.name for s in self.specs]
        missing = [n for n in expected if n not in merged]
        extra = sorted(repr(k) if not isinstance(k, str) else k for k in merged if k not in expected)
        if missing or extra:
            received = sorted(str(k) for k in merged)
            raise RuntimeInputError(f"Expected inputs {expected}. Received: {received} (missing {missing}, unexpected {extra}).")
        return {spec.name: checked_array(spec, merged[spec.name], RuntimeInputError) for spec in self.specs}

    def _as_mapping(self, feeds: Any) -> Mapping[Any, Any]:
        if feeds is None:
            return {}
        if isinstance(feeds, Mapping):
            return feeds
        if len(self.specs) == 1 and not isinstance(feeds, (str, bytes)):
            return {self.specs[0].name: feeds}
        raise RuntimeInputError(
            f"Expected a dict {{input name: array}} or keyword arrays for inputs {[s.name for s in self.specs]}. "
            f"Received: feeds of type {type(feeds).__name__}."
        )


def check_plan(plan: bytes, module: str, built_by: str | None, where: str) -> None:
    """Refuse a plan that cannot deserialize here, before handing its bytes to TensorRT.

    TensorRT-RTX plans start with the magic ``vtrt`` (TensorRT-RTX's
    ``kEXPECTED_MAGIC_TAG``); ``built_by`` is the builder recorded in the manifest
    (``"tensorrt_rtx 1.7.1.116"``), and must be the module and version installed here.

    Args:
        plan: Serialized plan bytes.
        module: The installed module that will deserialize it (``tensorrt`` or ``tensorrt_rtx``).
        built_by: ``"<module> <version>"`` of the builder, when the manifest records it.
        where: The plan file, for messages.

    Raises:
        IncompatiblePlanError: other module or version, or bytes that are not a plan of ``module``.
        MissingDependencyError: ``module`` is not installed.
    """
    installed = f"{module} {require(module, 'Running TensorRT engines').__version__}"
    if built_by is not None and built_by != installed:
        raise IncompatiblePlanError(
            f"Expected a plan built by {installed} (installed here). Received: {where} built by {built_by}; "
            "convert the model again on this machine to rebuild the plan."
        )
    is_rtx_plan = plan[:4] == _RTX_PLAN_MAGIC
    if len(plan) < _MIN_PLAN_BYTES or is_rtx_plan != (module == "tensorrt_rtx"):
        raise IncompatiblePlanError(
            f"Expected a serialized {module} plan. Received: {where} of {len(plan)} bytes starting {plan[:8]!r}, "
            "which is damaged or built by another TensorRT module; convert the model again to rebuild it."
        )


#: First bytes of every TensorRT-RTX plan, and a floor below which no plan of either module fits.
_RTX_PLAN_MAGIC = b"vtrt"
_MIN_PLAN_BYTES = 32


class OnnxArtifactModel:
    """A loaded onnx-route artifact: one ONNX model, one executor.

    Args:
        directory: The artifact directory.
        manifest: Its validated manifest.
        executor: ``auto``, ``tensorrt`` or ``onnxruntime`` (see :func:`load`).

    Raises:
        ArtifactError: the ONNX model does not load, or ``executor="tensorrt"`` without a plan.
        EngineBuildError: ``executor="tensorrt"`` and the plan cannot run here.
    """

    def __init__(self, directory: Path, manifest: dict, executor: str):
        self.directory = directory
        self.manifest = manifest
        self.inputs = [TensorSpec.from_dict(s) for s in manifest["inputs"]]
        self.outputs = [TensorSpec.from_dict(s) for s in manifest["outputs"]]
        self._check = InputChecker(self.inputs)
        self.runner = self._runner(executor)
        self.executor = self.runner.name

    def _runner(self, executor: str) -> Any:
        if executor == "tensorflow":
            raise ArtifactError(
                "Expected executor 'tensorrt' or 'onnxruntime' for an onnx-route artifact. "
                "Received: 'tensorflow' (it holds no TF graph)."
            )
        return engine_runner(self.directory, self.manifest, executor, str(self.directory))

    def __call__(self, feeds: Mapping[str, Any] | np.ndarray | None = None, **kwargs: Any) -> dict[str, np.ndarray]:
        """Run on ``feeds`` (a dict, or the array of a single-input model) or keyword arrays.

        Returns:
            Outputs by name.

        Raises:
            RuntimeInputError: the inputs do not match the model's (see :class:`InputChecker`).
        """
        return self.runner(self._check(feeds, kwargs))

    def __repr__(self) -> str:
        ins = ", ".join(f"{s.name}{s.shape_text}" for s in self.inputs)
        return f"OnnxArtifactModel({str(self.directory)!r}, executor={self.executor!r}, inputs=[{ins}])"


register_loader("onnx")(OnnxArtifactModel)


def engine_runner(directory: Path, entry: Mapping[str, Any], executor: str, where: str) -> Any:
    """The runner of one ONNX model with an optional plan: TensorRT where it can run, else ONNX Runtime.

    Args:
        directory: Directory the entry's file names are relative to.
        entry: Manifest fields ``onnx_file``, ``plan_file``, ``plan_backend``, ``tensorrt``.
        executor: ``auto`` (TensorRT when a GPU and a plan exist), ``tensorrt`` or ``onnxruntime``.
        where: What the entry is (artifact or segment), for messages.

    Returns:
        A :class:`~tftrt_kit.engines.tensorrt_runner.TensorRTRunner` or an
        :class:`~tftrt_kit.engines.onnxruntime.OnnxRuntimeExecutor`.

    Raises:
        ArtifactError: the ONNX model does not load, or ``executor="tensorrt"`` without a plan.
        EngineBuildError: ``executor="tensorrt"`` and the plan cannot run here (an unusable
            plan under ``auto`` falls back to ONNX Runtime with a warning).
    """
    from tftrt_kit.engines.tensorrt_runner import gpu_available

    plan_file = entry.get("plan_file")
    if executor == "tensorrt" or (executor == "auto" and plan_file and gpu_available()):
        if not plan_file:
            raise ArtifactError(f"Expected a TensorRT plan for {where}. Received: an artifact built without one.")
        try:
            return _tensorrt_runner(directory, entry, plan_file)
        except TftrtKitError as err:
            if executor == "tensorrt":
                raise
            warnings.warn(f"{where}: TensorRT plan not usable here ({err}); running on ONNX Runtime.", RuntimeWarning, stacklevel=4)
    return _onnxruntime_runner(directory, entry["onnx_file"])


def _tensorrt_runner(directory: Path, entry: Mapping[str, Any], plan_file: str) -> Any:
    from tftrt_kit.engines.tensorrt_builder import resolve_backend
    from tftrt_kit.engines.tensorrt_runner import TensorRTRunner

    path = resolve_inside(directory, plan_file, "plan_file")
    module = resolve_backend(entry.get("plan_backend") or "auto")
    built_by = (entry.get("tensorrt") or {}).get("backend")
    plan = path.read_bytes()
    check_plan(plan, module, built_by if isinstance(built_by, str) else None, str(path))
    try:
        return TensorRTRunner(plan, backend=module)
    except TftrtKitError:
        raise
    except Exception as err:
        raise IncompatiblePlanError(
            f"Expected {str(path)!r} to deserialize with {module} on this GPU. Received: {type(err).__name__}: {err}"
        ) from err


def _onnxruntime_runner(directory: Path, onnx_file: str) -> Any:
    from tftrt_kit.engines.onnxruntime import OnnxRuntimeExecutor

    path = resolve_inside(directory, onnx_file, "onnx_file")
    try:
        return OnnxRuntimeExecutor(path)
    except Exception as err:
        raise ArtifactError(
            f"Expected a valid ONNX model at {str(path)!r}. Received: ONNX Runtime refused it "
            f"({type(err).__name__}: {str(err)[:300]}); convert the model again."
        ) from err
