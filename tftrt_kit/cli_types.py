"""Argument types of the ``tftrt-kit`` command line: text to checked values, faults as argparse's errors."""

from __future__ import annotations

import argparse
from typing import Callable


def route_names(text: str) -> tuple[str, ...]:
    """Route names from ``segment,onnx``."""
    routes = tuple(r.strip() for r in text.split(",") if r.strip())
    if not routes:
        raise argparse.ArgumentTypeError("expected comma-separated route names, e.g. segment,onnx")
    return routes


def positive_ints(example: str) -> Callable[[str], tuple[int, ...]]:
    """An argument type reading comma-separated positive integers; ``example`` is shown in its error."""

    def parse(text: str) -> tuple[int, ...]:
        try:
            sizes = tuple(int(b) for b in text.split(",") if b.strip())
        except ValueError:
            sizes = ()
        if not sizes or min(sizes) < 1:
            raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, e.g. {example}; got {text!r}")
        return sizes

    return parse


#: Positive batch sizes from ``1,8,32``.
batch_sizes = positive_ints("1,8,32")


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def byte_size(text: str) -> int:
    """Bytes from ``1073741824``, ``512M`` or ``1G`` (binary units, as trtexec's pool sizes)."""
    number, unit = (text[:-1], text[-1].upper()) if text[-1:].upper() in _SIZE_UNITS else (text, "")
    try:
        value = int(float(number) * _SIZE_UNITS[unit])
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a size in bytes such as 1073741824, 512M or 1G; got {text!r}")
    return value


def optimization_level(text: str) -> int:
    """A TensorRT builder optimization level, 0 to 5."""
    if text not in tuple("012345"):
        raise argparse.ArgumentTypeError(f"expected a builder optimization level 0-5; got {text!r}")
    return int(text)


def names(text: str) -> tuple[str, ...]:
    """Op types or node names from ``Relu,dense/MatMul`` (empty items dropped)."""
    return tuple(n.strip() for n in text.split(",") if n.strip())
