"""Latency measurement: warm-up, then timed calls until a minimum time and count, over batch sizes."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from tftrt_kit.errors import ConfigError, TftrtKitError
from tftrt_kit.report.data import Latency


@dataclasses.dataclass(frozen=True)
class BenchOptions:
    """How latency is measured.

    Attributes:
        batch_sizes: Batch sizes of the sweep, used where every input has a dynamic
            batch; a fixed-batch model is measured at its own batch only.
        warmup: Untimed calls before timing, per batch size.
        min_iterations: Timed calls at least (unless ``max_seconds`` runs out first,
            after ``3`` calls).
        min_seconds: Keep timing until this much time has passed.
        max_seconds: Stop timing a figure after this much time.
        max_iterations: Stop after this many timed calls.
        seed: Seed of the generated inputs.

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

    def __post_init__(self) -> None:
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
    ms = np.array(times) * 1e3
    first = next(iter(feeds.values()))
    batch = int(first.shape[0]) if first.ndim else 1
    p50 = float(np.percentile(ms, 50))
    return Latency(
        executor=executor,
        batch=batch,
        p50_ms=p50,
        p90_ms=float(np.percentile(ms, 90)),
        p99_ms=float(np.percentile(ms, 99)),
        throughput=batch * 1e3 / p50 if p50 > 0 else None,
        iterations=len(times),
        mean_ms=float(ms.mean()),
        min_ms=float(ms.min()),
        max_ms=float(ms.max()),
    )


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
) -> tuple[list[Latency], dict[int, str]]:
    """Measure ``run`` at every batch size of the sweep, on seeded generated inputs.

    Args:
        run: The callable to time.
        specs: Input specs (:class:`~tftrt_kit.source.TensorSpec`) the inputs are generated from.
        executor: Label of what ``run`` executes on, kept on every figure.
        options: Batch sizes, warm-up and timing limits.

    Returns:
        The latencies measured, in batch order, and ``{batch: reason}`` for each batch
        the executor refused (e.g. beyond a TensorRT profile); those have no figure.

    Example:
        >>> latencies, refused = sweep(model, model.inputs, executor=model.executor)  # doctest: +SKIP
    """
    from tftrt_kit.evaluate import sample_inputs

    latencies, refused = [], {}
    for batch in sweep_batches(specs, options.batch_sizes):
        feeds = sample_inputs(specs, batch=batch, seed=options.seed)
        try:
            latencies.append(measure(
                run, feeds, executor=executor, warmup=options.warmup, min_iterations=options.min_iterations,
                min_seconds=options.min_seconds, max_iterations=options.max_iterations, max_seconds=options.max_seconds,
            ))
        except TftrtKitError as err:
            refused[batch] = f"{type(err).__name__}: {err}"
    return latencies, refused


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
