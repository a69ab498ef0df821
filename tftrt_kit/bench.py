"""Latency measurement: warm-up, then timed calls until a minimum time and count, over batch sizes, in interleaved rounds."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from tftrt_kit.errors import ConfigError, TftrtKitError
from tftrt_kit.report.measures import Latency


@dataclasses.dataclass(frozen=True)
class BenchOptions:
    """How latency is measured.

    ``convert()`` times the source and every route in interleaved rounds: at each batch
    size, each round gives every run its share of calls in turn (the order rotating),
    so load on a shared machine falls on all of them alike. The limits below are per
    figure (one run at one batch size), spread evenly over the rounds.

    Attributes:
        batch_sizes: Batch sizes of the sweep, used where every input has a dynamic
            batch; a fixed-batch model is measured at its own batch only.
        warmup: Untimed calls before timing, per batch size.
        min_iterations: Timed calls at least (unless ``max_seconds`` runs out first,
            after ``3`` calls; at least one per round).
        min_seconds: Keep timing until this much time has passed.
        max_seconds: Stop timing a figure after this much time.
        max_iterations: Stop after this many timed calls.
        seed: Seed of the generated inputs.
        rounds: Interleaved rounds; the spread of the per-round medians is the noise a
            difference must exceed (3 rounds at least give an interval).

    Example:
        >>> quick = BenchOptions(batch_sizes=(1,), min_iterations=5, min_seconds=0.1)
        >>> tftrt_kit.convert("model/", benchmark=quick)  # doctest: +SKIP
    """

    batch_sizes: tuple[int, ...] = (1, 8, 32)
    warmup: int = 3
    min_iterations: int = 10
    min_seconds: float = 0.5
    max_seconds: float = 10.0
    max_iterations: int = 1000
    seed: int = 0
    rounds: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.rounds, int) or self.rounds < 1:
            raise ConfigError(f"Expected rounds >= 1. Received: rounds={self.rounds!r}.")
        if not self.batch_sizes or any(not isinstance(b, int) or isinstance(b, bool) or b < 1 for b in self.batch_sizes):
            raise ConfigError(f"Expected batch_sizes of positive integers. Received: batch_sizes={self.batch_sizes!r}.")
        if self.min_iterations < 1 or self.max_iterations < self.min_iterations or self.warmup < 0:
            raise ConfigError(
                "Expected warmup >= 0 and 1 <= min_iterations <= max_iterations. Received: "
                f"warmup={self.warmup}, min_iterations={self.min_iterations}, max_iterations={self.max_iterations}."
            )


#: Timed calls a figure gets at least, even when ``max_seconds`` is exceeded.
_FLOOR_ITERATIONS = 3


def measure(
    run: Callable[[Mapping[str, np.ndarray]], Any],
    feeds: Mapping[str, np.ndarray],
    *,
    executor: str,
    warmup: int = 3,
    min_iterations: int = 10,
    min_seconds: float = 0.5,
    max_iterations: int = 1000,
    max_seconds: float = float("inf"),
) -> Latency:
    """Latency percentiles and throughput of ``run(feeds)``.

    Args:
        run: The callable to time (blocking: returns host arrays).
        feeds: Inputs; the leading dimension of the first is the batch size.
        executor: Label of what ``run`` executes on, kept on the figure.
        warmup: Untimed calls first.
        min_iterations: Timed calls at least.
        min_seconds: Keep timing until this much time has passed.
        max_iterations: Stop after this many timed calls.
        max_seconds: Stop after this much time (after at least 3 calls).

    Returns:
        A :class:`~tftrt_kit.report.Latency` with p50/p90/p99, mean, min, max (ms),
        throughput (samples/s at p50) and the number of timed calls.

    Example:
        >>> latency = measure(model, {"image": x}, executor=model.executor)  # doctest: +SKIP
    """
    for _ in range(warmup):
        run(feeds)
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < max_iterations:
        elapsed = time.perf_counter() - started
        if len(times) >= min_iterations and elapsed >= min_seconds:
            break
        if len(times) >= _FLOOR_ITERATIONS and elapsed >= max_seconds:
            break
        t0 = time.perf_counter()
        run(feeds)
        times.append(time.perf_counter() - t0)
    first = next(iter(feeds.values()))
    return _latency(times, executor, int(first.shape[0]) if first.ndim else 1)


def sweep_batches(specs: Sequence[Any], batch_sizes: Sequence[int]) -> tuple[int, ...]:
    """The batch sizes a model with input ``specs`` can be measured at.

    ``batch_sizes`` when every input's leading dimension is dynamic; otherwise the
    model's own batch (the fixed leading dimension of the first input, or 1).
    """
    if specs and all(s.has_dynamic_batch for s in specs):
        return tuple(batch_sizes)
    first = specs[0].shape if specs else ()
    return (int(first[0]) if first and first[0] is not None else 1,)


def sweep(
    run: Callable[[Mapping[str, np.ndarray]], Any],
    specs: Sequence[Any],
    *,
    executor: str,
    options: BenchOptions = BenchOptions(),
    shapes: Mapping[str, Sequence[int]] | None = None,
    values: Mapping[str, Sequence[int]] | None = None,
) -> tuple[list[Latency], dict[int, str]]:
    """Measure one ``run`` at every batch size of the sweep, on seeded generated inputs, in rounds.

    Args:
        run: The callable to time.
        specs: Input specs (:class:`~tftrt_kit.source.TensorSpec`) the inputs are generated from.
        executor: Label of what ``run`` executes on, kept on every figure.
        options: Batch sizes, rounds, warm-up and timing limits.
        shapes: Input shapes to measure at (see :func:`interleaved_sweep`).
        values: Values of the shape-tensor inputs (see :func:`interleaved_sweep`).

    Returns:
        The latencies measured, in batch order, and ``{batch: reason}`` for each batch
        the executor refused (e.g. beyond a TensorRT profile); those have no figure.

    Example:
        >>> latencies, refused = sweep(model, model.inputs, executor=model.executor)  # doctest: +SKIP
    """
    found = interleaved_sweep({executor: (run, executor)}, specs, options=options, shapes=shapes, values=values)[executor]
    return found.latencies, found.refused


#: Percentiles of the per-round medians bounding the reported 95% interval.
INTERVAL = (2.5, 97.5)


def interleaved_sweep(
    runs: Mapping[str, tuple[Callable[[Mapping[str, np.ndarray]], Any], str]],
    specs: Sequence[Any],
    *,
    options: BenchOptions = BenchOptions(),
    shapes: Mapping[str, Sequence[int]] | None = None,
    values: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, "RunLatency"]:
    """Time several runs on the same inputs in interleaved rounds, at every batch size of the sweep.

    Args:
        runs: ``{name: (callable, executor label)}``, e.g. the source and each route.
        specs: Input specs the inputs are generated from (seeded, the same for every run).
        options: Batch sizes, rounds, warm-up and timing limits.
        shapes: Input shapes to measure at (the opt shapes of the first optimization
            profile); a dynamic leading dim takes each batch size of the sweep. Without
            them, dynamic non-leading dims are 1.
        values: Values of the shape-tensor inputs (the opt values), fed as given: random
            ints would size nothing the model accepts.

    Returns:
        ``{name: RunLatency}``: the figures, the batches refused with their reason (an
        executor refusing a batch, or any error of the run: a failing benchmark takes
        no route down) and the seconds spent.

    Example:
        >>> found = interleaved_sweep({"a": (model_a, "onnxruntime[CPU]"), "b": (model_b, "tensorflow")}, specs)  # doctest: +SKIP
    """
    from tftrt_kit.evaluate import sample_inputs

    out = {name: RunLatency() for name in runs}
    for batch in sweep_batches(specs, options.batch_sizes):
        feeds = sample_inputs(specs, batch=batch, seed=options.seed, shapes=_at_batch(specs, shapes or {}, batch))
        feeds.update({n: np.asarray(v, dtype=feeds[n].dtype).reshape(feeds[n].shape) for n, v in (values or {}).items()})
        fed = {name: [int(d) for d in np.shape(value)] for name, value in feeds.items()}
        active = [name for name in runs if _warmed(runs[name][0], feeds, options.warmup, out[name], batch)]
        times: dict[str, list[float]] = {name: [] for name in active}
        medians: dict[str, list[float]] = {name: [] for name in active}
        for round_ in range(options.rounds):
            shift = round_ % len(active) if active else 0
            for name in active[shift:] + active[:shift]:
                if batch in out[name].refused:
                    continue
                chunk = _round_calls(runs[name][0], feeds, options, out[name], batch)
                times[name] += chunk
                if chunk:
                    medians[name].append(float(np.median(chunk)) * 1e3)
        for name in active:
            if batch not in out[name].refused and times[name]:
                latency = _latency(times[name], runs[name][1], batch, medians[name])
                latency.shapes = fed
                out[name].latencies.append(latency)
    return out


def _at_batch(specs: Sequence[Any], shapes: Mapping[str, Sequence[int]], batch: int) -> dict[str, tuple[int, ...]]:
    """``shapes`` with each dynamic leading dim set to ``batch``."""
    out = {}
    for spec in specs:
        if spec.name in shapes:
            shape = tuple(int(d) for d in shapes[spec.name])
            out[spec.name] = (batch, *shape[1:]) if spec.has_dynamic_batch and shape else shape
    return out


@dataclasses.dataclass
class RunLatency:
    """What :func:`interleaved_sweep` measured for one run."""

    latencies: list[Latency] = dataclasses.field(default_factory=list)
    refused: dict[int, str] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0


def _warmed(run: Callable, feeds: Mapping[str, np.ndarray], warmup: int, record: RunLatency, batch: int) -> bool:
    """Untimed calls (at least one, so a refusal shows before timing); False when the run refused."""
    started = time.perf_counter()
    try:
        for _ in range(max(warmup, 1)):
            run(feeds)
    except Exception as err:  # an executor's own failure is recorded, never raised: the route stays ok
        record.refused[batch] = _reason(err)
        return False
    finally:
        record.seconds += time.perf_counter() - started
    return True


def _round_calls(run: Callable, feeds: Mapping[str, np.ndarray], options: BenchOptions, record: RunLatency, batch: int) -> list[float]:
    """One round's timed calls of one run: its share of the figure's limits, at least one call."""
    rounds = options.rounds
    want_calls = -(-options.min_iterations // rounds)
    max_calls = max(1, options.max_iterations // rounds)
    want_seconds, cap_seconds = options.min_seconds / rounds, options.max_seconds / rounds
    times: list[float] = []
    started = time.perf_counter()
    try:
        while len(times) < max_calls:
            elapsed = time.perf_counter() - started
            if times and ((len(times) >= want_calls and elapsed >= want_seconds) or elapsed >= cap_seconds):
                break
            t0 = time.perf_counter()
            run(feeds)
            times.append(time.perf_counter() - t0)
    except Exception as err:  # as in _warmed: recorded on the figure, the batch gets none
        record.refused[batch] = _reason(err)
        return []
    finally:
        record.seconds += time.perf_counter() - started
    return times


def _reason(err: Exception) -> str:
    if isinstance(err, TftrtKitError):
        return f"{type(err).__name__}: {err}"
    return f"{type(err).__name__} (unexpected; please report it): {str(err)[:300]}"


def _latency(seconds: list[float], executor: str, batch: int, round_medians: list[float] | None = None) -> Latency:
    """Percentiles pooled over every call; with ``round_medians``, also the 95% interval of the per-round medians."""
    ms = np.array(seconds) * 1e3
    p50 = float(np.percentile(ms, 50))
    interleaved: dict[str, Any] = {}
    if round_medians is not None:
        low, high = (float(v) for v in np.percentile(round_medians, INTERVAL)) if len(round_medians) >= 3 else (None, None)
        interleaved = dict(rounds=len(round_medians), p50_low_ms=low, p50_high_ms=high, round_p50_ms=[float(m) for m in round_medians])
    return Latency(
        executor=executor,
        batch=batch,
        p50_ms=p50,
        p90_ms=float(np.percentile(ms, 90)),
        p99_ms=float(np.percentile(ms, 99)),
        throughput=batch * 1e3 / p50 if p50 > 0 else None,
        iterations=len(ms),
        mean_ms=float(ms.mean()),
        min_ms=float(ms.min()),
        max_ms=float(ms.max()),
        **interleaved,
    )


def tf_function_runner(source: Any) -> Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]:
    """The source signature as a ``tf.function`` taking numpy feeds (TensorFlow's own speed)."""
    import tensorflow as tf

    signature = source.signature
    specs = {s.name: tf.TensorSpec(s.shape, s.dtype, name=s.name) for s in source.inputs}
    function = tf.function(lambda **kw: signature(**kw)).get_concrete_function(**specs)

    def run(feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = function(**{k: tf.convert_to_tensor(feeds[k]) for k in specs})
        return {k: v.numpy() for k, v in outputs.items()}

    return run
