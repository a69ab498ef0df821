"""What a route's artifact was measured to do: latency, accuracy against the source, and the thresholds of a verdict."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Accuracy thresholds of one precision: within the pass set a route passes, within the warn set it warns, else it fails.

    Every check applies to every output; ``None`` skips it. ``max_rel_error`` bounds
    the max abs error relative to the output's scale (max |reference|); ``min_top1``
    applies to classifier-shaped outputs only (``(batch, classes)``).
    """

    max_rel_error: float | None = None
    min_cosine: float | None = None
    min_top1: float | None = None
    warn_max_rel_error: float | None = None
    warn_min_cosine: float | None = None
    warn_min_top1: float | None = None


@dataclasses.dataclass(frozen=True)
class Tolerances:
    """Thresholds per precision, used for each route's accuracy verdict.

    FP32 is held tight, FP16 looser, INT8 by top-1 agreement and cosine similarity.

    Example:
        >>> strict = Tolerances(fp16=Thresholds(max_rel_error=1e-3, warn_max_rel_error=1e-2))
        >>> tftrt_kit.convert("model/", precision="fp16", tolerances=strict)  # doctest: +SKIP
    """

    fp32: Thresholds = Thresholds(max_rel_error=1e-4, min_cosine=0.99999, warn_max_rel_error=1e-3, warn_min_cosine=0.9999)
    fp16: Thresholds = Thresholds(max_rel_error=1e-2, min_cosine=0.9999, warn_max_rel_error=5e-2, warn_min_cosine=0.999)
    int8: Thresholds = Thresholds(min_cosine=0.99, min_top1=0.9, warn_min_cosine=0.95, warn_min_top1=0.7)

    def for_precision(self, precision: str) -> Thresholds:
        """The thresholds of ``precision`` (``fp32``, ``fp16`` or ``int8``).

        Raises:
            ConfigError: unknown precision.
        """
        from tftrt_kit.precisions import check_precision

        return getattr(self, check_precision(precision))


@dataclasses.dataclass
class Latency:
    """Latency of one executor at one batch size, in milliseconds.

    Percentiles are over every timed call. When the calls were timed in interleaved
    rounds (the source and the routes taking turns, so a busy moment of the machine
    hits them alike), ``round_p50_ms`` holds each round's median and
    ``p50_low_ms``/``p50_high_ms`` the 95% interval of those medians: the spread a
    comparison has to beat.
    """

    executor: str
    batch: int
    p50_ms: float
    p90_ms: float | None = None
    p99_ms: float | None = None
    throughput: float | None = None
    iterations: int | None = None
    mean_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    rounds: int | None = None
    p50_low_ms: float | None = None
    p50_high_ms: float | None = None
    round_p50_ms: list[float] = dataclasses.field(default_factory=list)
    shapes: dict[str, list[int]] | None = None


@dataclasses.dataclass
class Stats:
    """Summary statistics of an array (finite elements only)."""

    mean: float
    std: float
    median: float
    min: float
    max: float


@dataclasses.dataclass
class OutputError:
    """Error of one output against the source's output on the same inputs.

    Like Polygraphy's comparator, it also says which tolerance would have passed:
    ``max_abs_error`` is the smallest absolute tolerance and ``max_elementwise_rel_error``
    (max of |a - r| / |r| over elements with r != 0) the smallest elementwise relative one;
    it gives the statistics of the reference output and of the absolute and elementwise
    relative errors, and a histogram of the absolute error (``histogram[i]`` elements in
    ``[histogram_edges[i], histogram_edges[i + 1]]``).

    ``flags`` name what makes the comparison say little or nothing: a constant reference
    output, a reference that is the same for every input row, non-finite values. A
    flagged output never passes plainly (its verdict is ``inconclusive`` at best).
    ``non_finite`` counts NaN/Inf in the artifact's output where the reference is finite.
    An output that is not numeric (strings) is ``compared_by="equality"``: its figures
    are those of the mismatch indicator (1 where an element differs), so any mismatch
    gives a max rel error of 1.
    """

    name: str
    max_abs_error: float
    max_rel_error: float
    mean_abs_error: float
    cosine: float
    top1_agreement: float | None = None
    top5_agreement: float | None = None
    max_elementwise_rel_error: float | None = None
    verdict: str | None = None
    compared_by: str = "value"
    reference: Stats | None = None
    abs_error: Stats | None = None
    rel_error: Stats | None = None
    histogram: list[int] = dataclasses.field(default_factory=list)
    histogram_edges: list[float] = dataclasses.field(default_factory=list)
    flags: list[str] = dataclasses.field(default_factory=list)
    non_finite: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "OutputError":
        """Inverse of ``dataclasses.asdict``."""
        fields = dict(data)
        for key in ("reference", "abs_error", "rel_error"):
            fields[key] = Stats(**fields[key]) if fields.get(key) else None
        return cls(**fields)


@dataclasses.dataclass
class Accuracy:
    """Agreement of a route's artifact with the source model.

    ``max_rel_error`` is the max abs error divided by the max |reference| of that
    output (errors on near-zero values say nothing); the route figures are the
    worst over outputs.
    """

    executor: str
    max_abs_error: float
    max_rel_error: float
    cosine: float
    per_output: dict[str, OutputError] = dataclasses.field(default_factory=dict)
    samples: int | None = None
    verdict: str | None = None
    thresholds: Thresholds | None = None
    reasons: list[str] = dataclasses.field(default_factory=list)
    inputs: str | None = None
    shapes: dict[str, list[int]] = dataclasses.field(default_factory=dict)
