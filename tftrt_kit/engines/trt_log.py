"""TensorRT's own log, captured per parse and per build.

TensorRT reports why a parse or a build failed only through its logger (the API
returns ``None`` or ``False``). One logger of ours per TensorRT module receives
every message; inside :func:`capture` the messages of the current thread are kept
in a :class:`TensorRTLog` (and nothing reaches the terminal), outside it they go to
the ``tftrt_kit.tensorrt`` Python logger.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from types import ModuleType
from typing import Any, Iterator

_PYTHON_LOGGER = logging.getLogger("tftrt_kit.tensorrt")
_LOGGERS: dict[int, Any] = {}
_LOGGERS_LOCK = threading.Lock()
_CAPTURES = threading.local()


@dataclasses.dataclass
class TensorRTLog:
    """TensorRT's messages of one parse or build, as ``(severity, text)`` pairs in order.

    Severities are ``"INTERNAL_ERROR"``, ``"ERROR"`` and ``"WARNING"`` (TensorRT's
    info and verbose messages are not kept).
    """

    records: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def errors(self) -> list[str]:
        """The error messages (``ERROR`` and ``INTERNAL_ERROR``), in order."""
        return [text for severity, text in self.records if severity.endswith("ERROR")]

    def reason(self) -> str:
        """TensorRT's errors as one line each, or its warnings when it logged no error."""
        lines = self.errors() or [text for _, text in self.records]
        return "\n".join(" ".join(line.split()) for line in lines)


def logger_for(trt: ModuleType) -> Any:
    """The logger of ours for the TensorRT module ``trt`` (one per module, subclassing its ``ILogger``)."""
    with _LOGGERS_LOCK:
        logger = _LOGGERS.get(id(trt))
        if logger is None:
            logger = _LOGGERS[id(trt)] = _make_logger(trt)
        return logger


def _make_logger(trt: ModuleType) -> Any:
    severities = {
        trt.Logger.INTERNAL_ERROR: ("INTERNAL_ERROR", logging.ERROR),
        trt.Logger.ERROR: ("ERROR", logging.ERROR),
        trt.Logger.WARNING: ("WARNING", logging.WARNING),
    }

    class CapturingLogger(trt.ILogger):
        """Routes TensorRT's messages to the current thread's capture, else to Python logging."""

        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.min_severity = trt.Logger.WARNING

        def log(self, severity: Any, msg: str) -> None:
            name, level = severities.get(severity, ("INFO", logging.DEBUG))
            stack = getattr(_CAPTURES, "stack", None)
            if stack:
                if level >= logging.WARNING:
                    stack[-1].records.append((name, msg))
            else:
                _PYTHON_LOGGER.log(level, "%s", msg)

    return CapturingLogger()


@contextlib.contextmanager
def capture() -> Iterator[TensorRTLog]:
    """Collect the TensorRT messages this thread receives in the block (nested blocks each get their own)."""
    stack = getattr(_CAPTURES, "stack", None)
    if stack is None:
        stack = _CAPTURES.stack = []
    log = TensorRTLog()
    stack.append(log)
    try:
        yield log
    finally:
        stack.pop()
