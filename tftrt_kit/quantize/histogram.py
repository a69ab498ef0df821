"""Activation statistics and the amax each calibration method picks from them.

A :class:`Histogram` holds counts of ``|x|`` over bins of fixed width starting at 0. The
width comes from the first non-zero batch (``max / num_bins``); a later, larger value
appends bins of the same width, so no count is ever re-binned (pytorch-quantization's
HistogramCalibrator works the same way).
"""

from __future__ import annotations

import math

import numpy as np

#: Number of int8 magnitudes a symmetric quantizer has: TensorRT's entropy calibrator
#: merges the reference histogram into this many bins.
QUANT_BINS = 128
METHODS = ("max", "percentile", "entropy", "mse")


class Histogram:
    """Running max and histogram of ``|x|`` for one tensor.

    Args:
        num_bins: Bins spanning [0, max] of the first non-zero batch (TensorRT: 2048).
    """

    def __init__(self, num_bins: int = 2048):
        self.num_bins = num_bins
        self.amax = 0.0
        self.counts: np.ndarray | None = None
        self.width = 0.0
        self._zeros = 0

    def update(self, values: np.ndarray, with_histogram: bool = True) -> None:
        """Add one batch of values."""
        magnitudes = np.abs(np.asarray(values, dtype=np.float32)).ravel()
        if magnitudes.size == 0:
            return
        batch_max = float(magnitudes.max())
        self.amax = max(self.amax, batch_max)
        if not with_histogram:
            return
        if self.counts is None:
            if batch_max == 0.0:
                self._zeros += magnitudes.size
                return
            self.width = batch_max / self.num_bins
            self.counts = np.zeros(self.num_bins, dtype=np.int64)
            self.counts[0] += self._zeros
        needed = max(self.num_bins, math.ceil(batch_max / self.width))
        if needed > self.counts.size:
            self.counts = np.concatenate([self.counts, np.zeros(needed - self.counts.size, dtype=np.int64)])
        index = np.minimum((magnitudes / self.width).astype(np.int64), self.counts.size - 1)
        self.counts += np.bincount(index, minlength=self.counts.size)

    @property
    def edges(self) -> np.ndarray:
        """Bin edges (``len(counts) + 1`` values from 0)."""
        return np.arange(self.counts.size + 1, dtype=np.float64) * self.width

    def compute_amax(self, method: str, percentile: float = 99.99) -> float:
        """The clipping threshold ``method`` picks (``max`` needs no histogram)."""
        if method == "max" or self.counts is None:
            return self.amax
        if method == "percentile":
            return percentile_amax(self.counts, self.edges, percentile)
        if method == "entropy":
            return entropy_amax(self.counts, self.edges)
        if method == "mse":
            return mse_amax(self.counts, self.edges)
        raise ValueError(f"Expected method in {METHODS}. Received: method={method!r}")


def percentile_amax(counts: np.ndarray, edges: np.ndarray, percentile: float) -> float:
    """Upper edge of the bin where the cumulative count reaches ``percentile`` %."""
    cdf = np.cumsum(counts) / counts.sum()
    index = int(np.searchsorted(cdf, percentile / 100.0))
    return float(edges[min(index + 1, counts.size)])


def entropy_amax(counts: np.ndarray, edges: np.ndarray) -> float:
    """TensorRT's entropy calibration: the threshold minimising KL(P || Q).

    The zero bin takes bin 1's count first (post-ReLU tensors pile up at 0 and would
    otherwise dominate the divergence), as TensorRT and pytorch-quantization do. Then for
    each candidate ``i`` >= 128 bins: P is ``counts[:i]`` with every count beyond it added
    to bin ``i-1`` (clipping); Q merges ``counts[:i]`` into 128 evenly spaced levels and
    spreads each level evenly over its non-empty bins. The threshold is ``edges[i]`` of the
    best ``i`` (the largest one on ties).
    """
    counts = counts.astype(np.float64).copy()
    if counts.size > 1:
        counts[0] = counts[1]
    tail = counts.sum() - np.cumsum(counts)
    best_i, best_kl = counts.size, np.inf
    for i in range(QUANT_BINS, counts.size + 1):
        p = counts[:i].copy()
        p[-1] += tail[i - 1]
        level = (np.arange(i) * QUANT_BINS) // i
        nonzero = (counts[:i] > 0).astype(np.float64)
        sums = np.bincount(level, weights=counts[:i], minlength=QUANT_BINS)
        filled = np.bincount(level, weights=nonzero, minlength=QUANT_BINS)
        q = nonzero * sums[level] / np.maximum(filled[level], 1.0)
        support = p > 0
        if np.any(q[support] == 0):
            continue
        p_norm, q_norm = p / p.sum(), q / q.sum()
        kl = float(np.sum(p_norm[support] * np.log(p_norm[support] / q_norm[support])))
        if kl <= best_kl:
            best_i, best_kl = i, kl
    return float(edges[best_i])


def mse_amax(counts: np.ndarray, edges: np.ndarray) -> float:
    """The threshold (a bin edge from bin 128 on) minimising the int8 round-trip MSE."""
    centers = (edges[:-1] + edges[1:]) / 2
    weights = counts / counts.sum()
    best_amax, best_err = float(edges[-1]), np.inf
    for chunk in np.array_split(edges[QUANT_BINS:], max(1, (edges.size - QUANT_BINS) // 256)):
        if chunk.size == 0:
            continue
        scale = chunk[:, None] / 127.0
        dequant = np.clip(np.round(centers[None, :] / scale), -127, 127) * scale
        errors = ((centers[None, :] - dequant) ** 2 * weights[None, :]).sum(axis=1)
        index = int(np.argmin(errors))
        if errors[index] < best_err:
            best_amax, best_err = float(chunk[index]), float(errors[index])
    return best_amax
