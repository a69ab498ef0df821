"""Post-training calibration of a :func:`quantize_model` result: set every activation amax.

Statistics are taken with the activation quantizers bypassed, so each quantizer sees the
float tensor TensorRT's own calibrators would see (explicit Q/DQ then carries the result).
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Iterable, Iterator

import numpy as np

from tftrt_kit.errors import CalibrationError
from tftrt_kit.quantize.histogram import METHODS, Histogram


@dataclasses.dataclass(frozen=True)
class CalibrationResult:
    """What one calibration run did.

    Attributes:
        method: ``max``, ``percentile``, ``entropy`` or ``mse``.
        samples: Number of samples (rows of the batches) seen.
        batches: Number of batches seen.
        amax: Quantizer layer name -> amax set (``scale = amax / 127``).
        percentile: The percentile used, for ``method="percentile"``.
    """

    method: str
    samples: int
    batches: int
    amax: dict[str, float]
    percentile: float | None = None


def calibrate(
    qmodel: Any,
    data: Any,
    method: str = "max",
    *,
    percentile: float = 99.99,
    num_batches: int | None = None,
    batch_size: int = 32,
    num_bins: int = 2048,
) -> CalibrationResult:
    """Run ``data`` through ``qmodel`` and set the amax of every activation quantizer.

    Args:
        qmodel: A model returned by :func:`~tftrt_kit.quantize.quantize_model`.
        data: Calibration inputs: a numpy array (single-input model), a tuple/list of
            arrays in ``qmodel.inputs`` order, a dict input name -> array (these three are
            cut into batches of ``batch_size``), or a ``tf.data.Dataset`` / generator /
            iterable of ready batches in any of those forms; ``(x, y)`` pairs are fine.
        method: ``"max"`` (largest |x|), ``"percentile"``, ``"entropy"`` (TensorRT's KL
            calibrator: 2048-bin histograms merged into 128 levels) or ``"mse"``.
        percentile: Percentile of |x| kept by ``method="percentile"``.
        num_batches: Stop after this many batches (default: all data).
        batch_size: Batch size for array data.
        num_bins: Histogram bins over the first batch's range.

    Returns:
        A :class:`CalibrationResult`; the quantizers' ``amax`` weights are set in place.

    Raises:
        CalibrationError: unknown method, no quantizer, no data, or a batch whose shape
            or dtype does not match an input or which holds NaN/Inf (naming the input).

    Example:
        >>> result = calibrate(qmodel, x_train[:512], method="entropy")   # doctest: +SKIP
        >>> result.samples                                                 # doctest: +SKIP
        512
    """
    import keras
    import tensorflow as tf
    from tqdm.auto import tqdm

    from tftrt_kit.quantize.model import input_quantizers
    from tftrt_kit.quantize.quantizers import bypassed

    if method not in METHODS:
        raise CalibrationError(f"Expected method in {METHODS}. Received: method={method!r}")
    if not 0.0 < percentile <= 100.0:
        raise CalibrationError(f"Expected 0 < percentile <= 100. Received: percentile={percentile}")
    quantizers = input_quantizers(qmodel)
    if not quantizers:
        raise CalibrationError(f"Expected a model with activation quantizers (see quantize_model). Received: {qmodel.name!r} with none.")
    specs = [(t.name, tuple(t.shape), str(t.dtype)) for t in qmodel.inputs]
    collector = keras.Model(qmodel.inputs, [q.input for q in quantizers])
    histograms = {q.name: Histogram(num_bins) for q in quantizers}
    samples = batches = 0
    with bypassed(quantizers):
        run = tf.function(lambda inputs: collector(inputs, training=False))
        stream = _batches(data, specs, batch_size)
        if num_batches is not None:
            stream = itertools.islice(stream, num_batches)
        for arrays in tqdm(stream, desc="calibrate", unit="batch", total=num_batches, disable=None, leave=False):
            outputs = run([tf.constant(a) for a in arrays])
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            for quantizer, value in zip(quantizers, outputs):
                histograms[quantizer.name].update(value.numpy(), with_histogram=method != "max")
            samples += arrays[0].shape[0]
            batches += 1
    if samples == 0:
        raise CalibrationError(
            f"Expected at least one calibration sample for inputs {[s[0] for s in specs]}. Received: empty data."
        )
    amax = {name: hist.compute_amax(method, percentile) for name, hist in histograms.items()}
    for quantizer in quantizers:
        quantizer.amax.assign(amax[quantizer.name])
    return CalibrationResult(method, samples, batches, amax, percentile if method == "percentile" else None)


def _batches(data: Any, specs: list[tuple[str, tuple, str]], batch_size: int) -> Iterator[list[np.ndarray]]:
    """Yield validated lists of arrays, one per model input, from any supported ``data``."""
    if _is_array_like(data) or isinstance(data, dict) or _is_tuple_of_arrays(data, len(specs)):
        arrays = _as_inputs(data, specs, "data")
        total = arrays[0].shape[0]
        if total == 0:
            raise CalibrationError(f"Expected at least one calibration sample. Received: input {specs[0][0]!r} with 0 rows.")
        for start in range(0, total, batch_size):
            yield [a[start:start + batch_size] for a in arrays]
        return
    if not isinstance(data, Iterable):
        raise CalibrationError(
            "Expected calibration data as a numpy array, tuple/dict of arrays, tf.data.Dataset or generator. "
            f"Received: {type(data).__name__}."
        )
    for index, element in enumerate(data):
        arrays = _as_inputs(_features(element, len(specs)), specs, f"batch {index}")
        if arrays[0].shape[0]:
            yield arrays


def _is_array_like(value: Any) -> bool:
    return isinstance(value, np.ndarray) or (hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "numpy"))


def _is_tuple_of_arrays(value: Any, count: int) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == count and all(_is_array_like(v) for v in value)


def _features(element: Any, count: int) -> Any:
    """Drop labels from a ``(x, y)`` or ``(x, y, w)`` element."""
    if isinstance(element, (list, tuple)) and len(element) != count and len(element) in (2, 3):
        return element[0]
    return element


def _as_inputs(element: Any, specs: list[tuple[str, tuple, str]], where: str) -> list[np.ndarray]:
    names = [s[0] for s in specs]
    if isinstance(element, dict):
        missing = [n for n in names if n not in element]
        if missing and len(element) == len(names) == 1:
            element = list(element.values())
        elif missing:
            raise CalibrationError(f"Expected calibration inputs {names}. Received: {where} with keys {sorted(element)}.")
        else:
            element = [element[n] for n in names]
    elif not isinstance(element, (list, tuple)):
        element = [element]
    if len(element) != len(specs):
        raise CalibrationError(f"Expected {len(specs)} calibration input(s) {names}. Received: {where} with {len(element)}.")
    arrays = [_checked(np.asarray(v), spec, where) for v, spec in zip(element, specs)]
    rows = {a.shape[0] for a in arrays}
    if len(rows) > 1:
        raise CalibrationError(f"Expected the same number of rows in every input {names}. Received: {where} with {sorted(rows)}.")
    return arrays


def _checked(array: np.ndarray, spec: tuple[str, tuple, str], where: str) -> np.ndarray:
    name, shape, dtype = spec
    if array.dtype.kind not in "fiu":
        raise CalibrationError(f"Expected numeric data for input {name!r} ({dtype}). Received: {where} of dtype {array.dtype}.")
    compatible = array.ndim == len(shape) and all(d is None or d == a for d, a in zip(shape[1:], array.shape[1:]))
    if not compatible:
        raise CalibrationError(
            f"Expected input {name!r} of shape {list(shape)} (None: any). Received: {where} of shape {list(array.shape)}"
            + (" (is the dataset batched?)" if array.ndim == len(shape) - 1 else "") + "."
        )
    array = array.astype(dtype, copy=False)
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise CalibrationError(f"Expected finite values for input {name!r}. Received: {where} holding NaN or Inf.")
    return array
