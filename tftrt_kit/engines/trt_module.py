"""Which TensorRT module drives Polygraphy: ``tensorrt`` or ``tensorrt_rtx``, chosen explicitly per call.

Polygraphy 0.53 picks its TensorRT module from ``POLYGRAPHY_USE_TENSORRT_RTX``
(``polygraphy.config.USE_TENSORRT_RTX``): each of its modules that talks to TensorRT
holds a lazily imported ``trt`` bound to ``tensorrt`` or ``tensorrt_rtx`` when that
module is first imported, its loaders branch on the flag at call time, and its
TensorRT logger is one global. So the flag alone is neither explicit nor scoped:
whichever import came first would decide for the whole process.

:func:`polygraphy_bound` makes the choice for the duration of a block: it sets the
flag, points every such ``trt`` of Polygraphy at the requested module, installs our
capturing logger (:mod:`tftrt_kit.engines.trt_log`) and silences Polygraphy's own
console logger (its failures still raise, with their message); on exit all of it is
restored. Blocks for the same module may overlap (threads, nesting); a block for the
other module waits until they end.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import threading
from types import ModuleType
from typing import Any, Iterator

from tftrt_kit._optional import available
from tftrt_kit.errors import ConfigError, MissingDependencyError

BACKENDS = ("tensorrt", "tensorrt_rtx")

#: Polygraphy modules holding a lazily imported TensorRT module as their global ``trt``.
POLYGRAPHY_TRT_MODULES = (
    "polygraphy.util.util",
    "polygraphy.datatype",
    "polygraphy.datatype.tensorrt",
    "polygraphy.backend.trt.algorithm_selector",
    "polygraphy.backend.trt.calibrator",
    "polygraphy.backend.trt.config",
    "polygraphy.backend.trt.file_reader",
    "polygraphy.backend.trt.loader",
    "polygraphy.backend.trt.runner",
    "polygraphy.backend.trt.util",
)

_STATE = threading.Condition()
_bound: dict[str, Any] = {"module": None, "depth": 0, "saved": None}
_THREAD = threading.local()


def resolve_backend(backend: str = "auto") -> str:
    """Pick the TensorRT module: ``tensorrt`` first, then ``tensorrt_rtx``.

    Raises:
        MissingDependencyError: neither is installed, naming both extras.
        ConfigError: ``backend`` is not one of ``auto``, ``tensorrt``, ``tensorrt_rtx``.
    """
    if backend == "auto":
        for name in BACKENDS:
            if available(name):
                return name
        raise MissingDependencyError(
            "Building TensorRT engines needs 'tensorrt' (GPU machines: pip install 'tftrt_kit[tensorrt]') "
            "or 'tensorrt_rtx' (pip install 'tftrt_kit[rtx]'). Received: neither is installed."
        )
    if backend not in BACKENDS:
        raise ConfigError(f"Expected backend in {('auto',) + BACKENDS}. Received: backend={backend!r}")
    return backend


def is_rtx(trt: ModuleType) -> bool:
    """Whether ``trt`` is TensorRT for RTX (its module name is ``tensorrt_rtx``)."""
    return trt.__name__.split(".")[0] == "tensorrt_rtx"


def describe(trt: ModuleType, *, gpu: bool) -> str:
    """Human name of the module and how it builds here, e.g. ``"TensorRT-RTX 1.7.1, CPU-only builder"``.

    Args:
        trt: The TensorRT module.
        gpu: Whether a CUDA GPU is usable on this machine (TensorRT-RTX builds without one).
    """
    version = ".".join(str(trt.__version__).split(".")[:3])
    if is_rtx(trt):
        return f"TensorRT-RTX {version}" + ("" if gpu else ", CPU-only builder")
    return f"TensorRT {version}"


@contextlib.contextmanager
def polygraphy_bound(trt: ModuleType) -> Iterator[None]:
    """Run the block with Polygraphy's TensorRT loaders and runner speaking to ``trt``.

    Raises:
        ConfigError: this thread is already inside a block for the other module.
    """
    depth = getattr(_THREAD, "depth", 0)
    with _STATE:
        if depth and _bound["module"] is not trt:
            raise ConfigError(
                f"Expected one TensorRT module at a time in a thread. Received: {trt.__name__} requested "
                f"inside a block using {_bound['module'].__name__}."
            )
        while _bound["depth"] and _bound["module"] is not trt:
            _STATE.wait()
        if not _bound["depth"]:
            _bound["saved"] = _bind(trt)
            _bound["module"] = trt
        _bound["depth"] += 1
    _THREAD.depth = depth + 1
    try:
        yield
    finally:
        _THREAD.depth = depth
        with _STATE:
            _bound["depth"] -= 1
            if not _bound["depth"]:
                _restore(_bound["saved"])
                _bound["module"] = _bound["saved"] = None
                _STATE.notify_all()


def _bind(trt: ModuleType) -> list[tuple[Any, str, Any]]:
    """Point Polygraphy at ``trt``; returns what to restore as ``(object, attribute, old value)``."""
    from polygraphy import config
    from polygraphy.logger import G_LOGGER

    from tftrt_kit.engines.trt_log import logger_for

    modules, trt_util, silent = _polygraphy_state()
    handle = _handle(trt)
    saved = [(module, "trt", module.trt) for module in modules]
    saved += [
        (trt_util, "TRT_LOGGER", trt_util.TRT_LOGGER),
        (config, "USE_TENSORRT_RTX", config.USE_TENSORRT_RTX),
        (G_LOGGER, "module_severity", G_LOGGER.module_severity),
    ]
    for module in modules:
        module.trt = handle
    trt_util.TRT_LOGGER = logger_for(trt)
    config.USE_TENSORRT_RTX = is_rtx(trt)
    G_LOGGER.module_severity = silent
    return saved


@functools.lru_cache(maxsize=1)
def _polygraphy_state() -> tuple[tuple[ModuleType, ...], ModuleType, Any]:
    """Polygraphy's modules holding ``trt``, its TensorRT util module, and a severity that prints nothing.

    Cached: binding is on every inference call, so it must cost microseconds.
    """
    from polygraphy.logger.logger import SeverityTrie
    from polygraphy.logger import G_LOGGER

    modules = tuple(importlib.import_module(name) for name in POLYGRAPHY_TRT_MODULES)
    # Above CRITICAL: Polygraphy prints nothing; its critical() still raises with the message.
    silent = SeverityTrie({"": G_LOGGER.CRITICAL + 1})
    return modules, importlib.import_module("polygraphy.backend.trt.util"), silent


def _handle(trt: ModuleType) -> Any:
    """Polygraphy's lazy handle on ``trt`` (one per module object)."""
    from polygraphy import mod

    cached = _HANDLES.get(id(trt))
    if cached is None or cached[0] is not trt:
        cached = _HANDLES[id(trt)] = (trt, mod.lazy_import(trt.__name__, log=False))
    return cached[1]


_HANDLES: dict[int, tuple[ModuleType, Any]] = {}


def _restore(saved: list[tuple[Any, str, Any]]) -> None:
    for target, name, value in reversed(saved):
        setattr(target, name, value)
