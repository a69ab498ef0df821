"""Native log lines (TensorFlow's C++ start-up, absl, TensorRT's logger): kept out of sight unless asked.

TensorFlow and TensorRT write from C++ straight to file descriptor 2, before and
outside Python's ``logging``: ``I0000 ... oneDNN custom operations are on``,
``E0000 ... failed call to cuInit``, ``[TRT] [E] ...``. :func:`captured` points
descriptor 2 at a temporary file while tftrt_kit works and gives Python's
``sys.stderr`` (progress bars, error messages) its own handle on the terminal, so
only tftrt_kit's own output shows; what was captured stays readable
(:meth:`NativeLog.tail`) to explain a failure in the report.

This module is the one place that reads tftrt_kit's environment variables:
``TFTRT_KIT_VERBOSE=1`` lets native lines through (as the CLI's ``--verbose`` does).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from typing import Iterator, Mapping

#: Environment variable that lets native log lines reach the terminal ("1", "true", "yes", "on").
VERBOSE_ENV = "TFTRT_KIT_VERBOSE"

_TRUE = ("1", "true", "yes", "on")


_forced: bool | None = None


def verbose_requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether native log lines go to the terminal: inside :func:`verbosity`, as it says; else ``TFTRT_KIT_VERBOSE``."""
    if environ is None and _forced is not None:
        return _forced
    value = (os.environ if environ is None else environ).get(VERBOSE_ENV, "")
    return value.strip().lower() in _TRUE


@contextlib.contextmanager
def verbosity(verbose: bool) -> Iterator[None]:
    """Within the block, :func:`verbose_requested` answers ``verbose`` (the CLI's ``--verbose``)."""
    global _forced
    previous, _forced = _forced, verbose
    try:
        yield
    finally:
        _forced = previous


class NativeLog:
    """What native code wrote to descriptor 2 while :func:`captured` was active."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(mode="w+b")

    def fileno(self) -> int:
        """The descriptor the captured lines are written to."""
        return self._file.fileno()

    def offset(self) -> int:
        """Bytes captured so far (a mark for :meth:`tail`)."""
        return os.fstat(self._file.fileno()).st_size

    def text(self, since: int = 0) -> str:
        """The captured text from byte ``since`` on."""
        self._file.seek(since)
        return self._file.read().decode("utf-8", errors="replace")

    def tail(self, since: int = 0, lines: int = 40) -> list[str]:
        """The last ``lines`` non-blank lines captured after byte ``since``."""
        kept = [line for line in self.text(since).splitlines() if line.strip()]
        return kept[-lines:]

    def close(self) -> None:
        """Drop the captured text."""
        self._file.close()


_active: NativeLog | None = None


def active() -> NativeLog | None:
    """The log currently capturing descriptor 2, if any."""
    return _active


@contextlib.contextmanager
def captured(enabled: bool | None = None) -> Iterator[NativeLog | None]:
    """Send descriptor 2 to a :class:`NativeLog` while the block runs; ``sys.stderr`` keeps the terminal.

    Nested uses share the outermost capture. Jupyter's ``sys.stderr`` does not write
    to descriptor 2, so notebooks keep tftrt_kit's own messages and lose only the
    native lines the kernel would have forwarded.

    Args:
        enabled: Capture (default: unless ``TFTRT_KIT_VERBOSE`` is set).

    Yields:
        The active :class:`NativeLog`, or None when native lines go to the terminal.

    Example:
        >>> with captured() as log:  # doctest: +SKIP
        ...     import tensorflow
    """
    global _active
    if enabled is None:
        enabled = not verbose_requested()
    if not enabled or _active is not None:
        yield _active
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    original = sys.stderr
    terminal = _terminal_stream(original)
    log = NativeLog()
    saved = os.dup(2)
    os.dup2(log.fileno(), 2)
    if terminal is not None:
        sys.stderr = terminal
    _active = log
    try:
        yield log
    finally:
        _active = None
        if terminal is not None:
            with contextlib.suppress(Exception):
                terminal.flush()
            sys.stderr = original
        os.dup2(saved, 2)
        os.close(saved)
        log.close()


#: The terminal's descriptor 2, duplicated once (again only if descriptor 2 is pointed elsewhere)
#: and never closed: a logging handler made during a capture keeps writing to it after the capture ends.
_terminal: io.TextIOWrapper | None = None


def _terminal_stream(stream: object) -> io.TextIOWrapper | None:
    """A text stream on a copy of descriptor 2 (taken before any capture), when ``stream`` writes to descriptor 2."""
    global _terminal
    try:
        if stream.fileno() != 2:  # type: ignore[attr-defined]
            return None
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    if _terminal is None or not _same_file(_terminal.fileno(), 2):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        binary = open(os.dup(2), "wb", buffering=0)
        _terminal = io.TextIOWrapper(binary, encoding=encoding, errors="backslashreplace", line_buffering=True, write_through=True)
    return _terminal


_session: contextlib.ExitStack | None = None


def quiet() -> NativeLog | None:
    """Keep native log lines out of sight for the rest of the process: call it before importing TensorFlow.

    ``convert()`` and the CLI capture while they work; TensorFlow's start-up lines
    (printed when a notebook or script imports it, and at its first device use) come
    earlier or elsewhere. In a notebook's first cell this keeps them out of every output.
    Does nothing when ``TFTRT_KIT_VERBOSE`` is set; calling it again returns the same log.

    Returns:
        The session's :class:`NativeLog` (its :meth:`~NativeLog.tail` shows what was kept out), or None.

    Example:
        >>> import tftrt_kit                  # doctest: +SKIP
        >>> tftrt_kit.quiet()                 # doctest: +SKIP
        >>> import tensorflow as tf           # doctest: +SKIP
    """
    global _session
    quiet_tensorflow()
    if _session is None and not verbose_requested():
        _session = contextlib.ExitStack()
        _session.enter_context(captured(True))
    return _active


def _same_file(a: int, b: int) -> bool:
    first, second = os.fstat(a), os.fstat(b)
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def quiet_tensorflow(environ: dict[str, str] | None = None) -> None:
    """Before TensorFlow loads: drop its C++ INFO/WARNING lines unless verbose (a user's own level is kept)."""
    environ = os.environ if environ is None else environ
    if not verbose_requested(environ):
        environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
