"""Latency measurement: warm-up, then timed calls until a minimum time and count."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

import numpy as np

from tftrt_kit.report import Latency


def measure(
    run: Callable[[Mapping[str, np.ndarray]], Any],
    feeds: Mapping[str, np.ndarray],
    *,
    executor: str,
    warmup: int = 3,
    min_iterations: int = 10,
    min_seconds: float = 0.5,
    max_iterations: int = 1000,
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
    """
    for _ in range(warmup):
        run(feeds)
    times = []
    started = time.perf_counter()
    while len(times) < max_iterations and (len(times) < min_iterations or time.perf_counter() - started < min_seconds):
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
