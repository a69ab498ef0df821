"""Post-training calibration of a :func:`quantize_model` result: set every activation amax.

Statistics are taken with the activation quantizers bypassed, so each quantizer sees the
float tensor TensorRT's own calibrators would see (explicit Q/DQ then carries the result).
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, Iterator

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
        data: Calibration inputs in any form
            :func:`tftrt_kit.calibration_data.validate_calibration_data` takes: a numpy
            array (single-input model), a dict input name -> array, a list of those, or a
            ``tf.data.Dataset`` / generator of them; ``(x, y)`` pairs are fine. Batches
            larger than ``batch_size`` are cut.
        method: ``"max"`` (largest |x|), ``"percentile"``, ``"entropy"`` (TensorRT's KL
            calibrator: 2048-bin histograms merged into 128 levels) or ``"mse"``.
        percentile: Percentile of |x| kept by ``method="percentile"``.
        num_batches: Stop after this many batches of at most ``batch_size`` rows (default: all data).
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
    from tqdm import tqdm

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
        stream = _batches(data, specs, batch_size, num_batches)
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


def _batches(data: Any, specs: list[tuple[str, tuple, str]], batch_size: int, num_batches: int | None = None) -> Iterator[list[np.ndarray]]:
    """Validated batches (one array per model input, in ``specs`` order) of at most ``batch_size`` rows.

    Validation is :func:`tftrt_kit.calibration_data.validate_calibration_data`'s: it names
    the input and the batch at fault, and refuses empty data, wrong shapes or dtypes, NaN and Inf.
    """
    from tftrt_kit.calibration_data import validate_calibration_data

    # Each batch of ``data`` gives at least one cut batch, so ``num_batches`` of them suffice.
    batches = validate_calibration_data(data, specs, max_batches=num_batches)
    cut = (
        [batch[name][start:start + batch_size] for name, _, _ in specs]
        for batch in batches
        for start in range(0, next(iter(batch.values())).shape[0], batch_size)
    )
    return itertools.islice(cut, num_batches)
