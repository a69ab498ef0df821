"""The executor registry: one entry per way of running a model part (TensorRT, ONNX Runtime, TensorFlow).

``tftrt_kit.load`` picks an executor per artifact (onnx route) or per segment (segment
route) from this registry, ``executor="auto"`` trying them in registration order; the
CLI's ``--executor`` choices are its names. Adding an executor is one module with one
:func:`register_executor` entry.

Example:
    >>> register_executor(Executor("toy", "Toy runtime", file_field="onnx_file",
    ...                            open=lambda path, entry: ToyRunner(path)))   # doctest: +SKIP
    >>> tftrt_kit.load("out/onnx", executor="toy")                             # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Mapping

from tftrt_kit._optional import require
from tftrt_kit.errors import ArtifactError, ConfigError, IncompatiblePlanError, TftrtKitError

#: ``executor=`` value that lets :func:`tftrt_kit.load` choose.
AUTO = "auto"


def _always() -> bool:
    return True


@dataclasses.dataclass(frozen=True)
class Executor:
    """One executor.

    Attributes:
        name: The ``executor=`` value and the CLI choice, e.g. ``"onnxruntime"``.
        title: For people, e.g. ``"ONNX Runtime"``.
        file_field: The manifest field naming the file it runs (``"plan_file"``,
            ``"onnx_file"``); None when it runs the part's native TensorFlow function.
        open: ``open(target, entry)`` returning a runner: a callable taking
            ``{tensor name: array}`` and returning outputs by name, with a ``name``
            saying what it runs on. ``target`` is the file's path (or the native
            function), ``entry`` the part's manifest fields.
        usable: Whether ``executor="auto"`` may pick it on this machine (a GPU for TensorRT).
    """

    name: str
    title: str
    file_field: str | None
    open: Callable[[Any, Mapping[str, Any]], Any]
    usable: Callable[[], bool] = _always


EXECUTORS: dict[str, Executor] = {}


def register_executor(executor: Executor) -> Executor:
    """Add ``executor`` to the registry (``auto`` tries executors in registration order).

    Raises:
        ConfigError: the name is ``auto`` or already registered to another executor.
    """
    existing = EXECUTORS.get(executor.name)
    if executor.name == AUTO or (existing is not None and existing != executor):
        raise ConfigError(f"Expected a new executor name other than {AUTO!r}. Received: {executor.name!r}, already taken.")
    EXECUTORS[executor.name] = executor
    return executor


def unregister_executor(name: str) -> None:
    """Remove executor ``name`` (for executors registered by tests or plug-ins)."""
    EXECUTORS.pop(name, None)


def executor_names() -> tuple[str, ...]:
    """``"auto"`` and every registered executor's name: the accepted ``executor=`` values."""
    return (AUTO, *EXECUTORS)


def check_executor(name: str) -> str:
    """Return ``name`` when it is an accepted ``executor=`` value.

    Raises:
        ConfigError: it is not.
    """
    if name not in executor_names():
        raise ConfigError(f"Expected executor in {executor_names()}. Received: executor={name!r}")
    return name


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


def _open_plan(path: Path, entry: Mapping[str, Any]) -> Any:
    from tftrt_kit.engines.tensorrt_builder import resolve_backend
    from tftrt_kit.engines.tensorrt_runner import TensorRTRunner

    module = resolve_backend(entry.get("plan_backend") or "auto")
    built_by = (entry.get("tensorrt") or {}).get("backend")
    plan = Path(path).read_bytes()
    check_plan(plan, module, built_by if isinstance(built_by, str) else None, str(path))
    try:
        return TensorRTRunner(plan, backend=module)
    except TftrtKitError:
        raise
    except Exception as err:
        raise IncompatiblePlanError(
            f"Expected {str(path)!r} to deserialize with {module} on this GPU. Received: {type(err).__name__}: {err}"
        ) from err


def _gpu() -> bool:
    from tftrt_kit.engines import tensorrt_runner

    return tensorrt_runner.gpu_available()


def _open_onnx(path: Path, entry: Mapping[str, Any]) -> Any:
    from tftrt_kit.engines.onnxruntime import OnnxRuntimeExecutor

    try:
        return OnnxRuntimeExecutor(path)
    except Exception as err:
        raise ArtifactError(
            f"Expected a valid ONNX model at {str(path)!r}. Received: ONNX Runtime refused it "
            f"({type(err).__name__}: {str(err)[:300]}); convert the model again."
        ) from err


def _open_function(function: Callable[..., Any], entry: Mapping[str, Any]) -> Any:
    from tftrt_kit.engines.tensorflow import TensorFlowFunctionRunner

    return TensorFlowFunctionRunner(function, [i["name"] for i in entry["inputs"]], [o["name"] for o in entry["outputs"]])


register_executor(Executor("tensorrt", "TensorRT", "plan_file", _open_plan, usable=_gpu))
register_executor(Executor("onnxruntime", "ONNX Runtime", "onnx_file", _open_onnx))
register_executor(Executor("tensorflow", "TensorFlow", None, _open_function))
