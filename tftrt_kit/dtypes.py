"""Which numpy data a model input of a given TensorFlow dtype accepts, shared by every input check."""

from __future__ import annotations

from typing import Any

import numpy as np

#: TensorFlow dtype names of floating-point tensors.
FLOATS = frozenset({"float16", "bfloat16", "float32", "float64"})
_INTEGERS = frozenset({"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"})


def numpy_dtype(name: str) -> np.dtype:
    """The numpy dtype of a TensorFlow dtype name (``bfloat16`` through ``ml_dtypes``, which TensorFlow ships).

    Args:
        name: A TensorFlow dtype name such as ``"float32"``.

    Returns:
        The numpy dtype.

    Raises:
        TypeError: numpy has no such dtype.
    """
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _float_overflow(spec_dtype: str, value: np.ndarray) -> str | None:
    """Finite values too large for a narrower float input would silently become Inf."""
    target = numpy_dtype(spec_dtype)
    if value.size == 0 or np.dtype(value.dtype).itemsize <= np.dtype(target).itemsize:
        return None
    with np.errstate(over="ignore"):
        overflow = np.isfinite(value) & ~np.isfinite(value.astype(target))
    if not overflow.any():
        return None
    return f"finite values up to {float(np.abs(value[overflow]).max()):.3g} overflow {spec_dtype} (max {float(np.finfo(target).max):.3g})"


def incompatibility(spec_dtype: str, value: np.ndarray) -> str | None:
    """Why ``value`` cannot feed an input of ``spec_dtype``, or None when it can (after a cast).

    Floats of any width feed a float input (cast to its width, as a user would
    expect); integers feed an integer input when every value fits; bool feeds only
    bool; str or bytes feed only a string input. Anything else (objects, complex,
    int for float, float for int, bool for float) is the caller's mistake, not
    something to cast silently.

    Args:
        spec_dtype: The input's dtype name.
        value: The candidate array.

    Returns:
        None, or a short reason.
    """
    kind = value.dtype.kind
    if spec_dtype in FLOATS:
        if kind != "f" and value.dtype.name != "bfloat16":
            return "not a floating-point array"
        return _float_overflow(spec_dtype, value)
    if spec_dtype == "bool":
        return None if kind == "b" else "not a bool array"
    if spec_dtype == "string":
        return None if kind in "US" or (kind == "O" and _all_text(value)) else "not an array of str or bytes"
    if spec_dtype in _INTEGERS:
        if kind not in "iu":
            return "not an integer array"
        target = np.dtype(spec_dtype)
        if np.can_cast(value.dtype, target, "safe") or value.size == 0:
            return None
        limits = np.iinfo(target)
        low, high = value.min(), value.max()
        return None if limits.min <= low and high <= limits.max else f"values [{low}, {high}] outside {spec_dtype}'s range"
    return f"dtype {spec_dtype} is not a model input dtype"


def _all_text(value: np.ndarray) -> bool:
    return all(isinstance(v, (str, bytes)) for v in value.flat)


def as_array(value: Any, *, text: bool = False) -> np.ndarray:
    """``np.asarray(value)``, refusing object arrays (ragged lists, arbitrary objects) up front.

    Args:
        value: The candidate.
        text: Accept an array of ``str`` or ``bytes`` (for a string input) instead of numbers.

    Raises:
        ValueError: ``value`` is not convertible to a regular numeric or bool array
            (or, with ``text``, to a regular array of str or bytes).
    """
    try:
        array = np.asarray(value, dtype=object if text and not isinstance(value, np.ndarray) else None)
    except Exception as err:
        raise ValueError(f"not convertible to an array ({type(err).__name__}: {err})") from err
    if text:
        if array.dtype.kind not in "USO" or (array.dtype.kind == "O" and not _all_text(array)):
            raise ValueError(f"an array of dtype {array.dtype}, not of str or bytes")
        return array
    if array.dtype.kind in "OUSVMmc" and array.dtype.name != "bfloat16":
        raise ValueError(f"an array of dtype {array.dtype}, not numbers or bools")
    return array


def checked_array(spec: Any, raw: Any, error: type[Exception], where: str = "") -> np.ndarray:
    """``raw`` as an array of ``spec``'s dtype, checked the way every model input is.

    Args:
        spec: The input's ``TensorSpec`` (``name``, ``dtype``, ``shape`` with None for any size).
        raw: The value given for it.
        error: The ``TftrtKitError`` subclass raised on a bad value.
        where: Whose input it is, appended to its name (``" of calibration batch 3"``).

    Returns:
        The value as an array of the spec's dtype (no copy when it already is one); a
        string input gives an object array of ``str``/``bytes``, as TensorFlow takes it.

    Raises:
        error: the value is not a regular numeric (or, for a string input, text) array,
            has a dtype the spec cannot take, a wrong rank or static dimension, or no element.
    """
    label = f"input {spec.name!r}{where}"
    try:
        array = as_array(raw, text=spec.dtype == "string")
    except ValueError as err:
        raise error(f"Expected {label} as a regular {spec.dtype} array. Received: {type(raw).__name__}, {err}.") from err
    reason = incompatibility(spec.dtype, array)
    if reason:
        raise error(f"Expected {label} of dtype {spec.dtype}. Received: dtype {array.dtype} ({reason}).")
    if spec.shape is not None and (
        array.ndim != len(spec.shape) or any(d is not None and d != a for d, a in zip(spec.shape, array.shape))
    ):
        raise error(
            f"Expected {label} of shape {list(spec.shape)} (None: any size; the batch dimension included). "
            f"Received: shape {list(array.shape)}."
        )
    if array.size == 0:
        raise error(f"Expected at least one sample for {label}. Received: shape {list(array.shape)}.")
    if spec.dtype == "string":
        return array.astype(object, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):
        return array.astype(numpy_dtype(spec.dtype), copy=False)
