"""Latency measurement: iteration limits, percentiles, batch sweep, executor on every figure."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tftrt_kit.bench import BenchOptions, interleaved_sweep, measure, sweep, sweep_batches, tf_function_runner
from tftrt_kit.errors import ConfigError, RuntimeInputError
from tftrt_kit.evaluate import sample_inputs
from tftrt_kit.source import TensorSpec

DYNAMIC = [TensorSpec("x", "float32", (None, 4))]
FIXED = [TensorSpec("x", "float32", (2, 4))]


def test_measure_counts_and_percentiles():
    calls = []
    latency = measure(lambda f: calls.append(1) or time.sleep(0.001), {"x": np.zeros((5, 4))}, executor="sleep",
                      warmup=2, min_iterations=7, min_seconds=0.0)
    assert latency.iterations == 7 and len(calls) == 9
    assert latency.executor == "sleep" and latency.batch == 5
    assert 1.0 <= latency.min_ms <= latency.p50_ms <= latency.p90_ms <= latency.p99_ms <= latency.max_ms
    assert latency.throughput == pytest.approx(5e3 / latency.p50_ms)


def test_measure_time_limits():
    quick = measure(lambda f: None, {"x": np.zeros((1, 4))}, executor="noop", warmup=0, min_iterations=1, min_seconds=0.05)
    assert quick.iterations > 10
    capped = measure(lambda f: time.sleep(0.02), {"x": np.zeros((1, 4))}, executor="slow", warmup=0,
                     min_iterations=100, min_seconds=0.0, max_seconds=0.05)
    assert 3 <= capped.iterations < 10


def test_sweep_batches_dynamic_and_fixed():
    assert sweep_batches(DYNAMIC, (1, 8, 32)) == (1, 8, 32)
    assert sweep_batches(FIXED, (1, 8, 32)) == (2,)


def test_sweep_names_executor_and_records_refusals():
    def run(feeds):
        if feeds["x"].shape[0] > 4:
            raise RuntimeInputError("batch beyond the profile")
        return {"y": feeds["x"] * 2}

    options = BenchOptions(batch_sizes=(1, 4, 16), warmup=0, min_iterations=3, min_seconds=0.0)
    latencies, refused = sweep(run, DYNAMIC, executor="numpy", options=options)
    assert [x.batch for x in latencies] == [1, 4] and {x.executor for x in latencies} == {"numpy"}
    assert list(refused) == [16] and "RuntimeInputError" in refused[16]


@pytest.mark.parametrize("bad", [{"batch_sizes": ()}, {"batch_sizes": (0,)}, {"min_iterations": 0}, {"warmup": -1}, {"rounds": 0}])
def test_bench_options_validated(bad):
    with pytest.raises(ConfigError):
        BenchOptions(**bad)


def test_tf_function_runner_matches_source(source_of):
    source = source_of("two_inputs_two_outputs")
    run = tf_function_runner(source)
    feeds = sample_inputs(source.inputs, batch=3, seed=0)
    expected = source.run(feeds)
    got = run(feeds)
    assert set(got) == set(expected)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-6)
    latencies, _ = sweep(run, source.inputs, executor="tensorflow", options=BenchOptions(batch_sizes=(1, 2), warmup=1, min_iterations=3, min_seconds=0.0))
    assert [x.batch for x in latencies] == [1, 2]


def test_interleaved_sweep_times_runs_in_turns():
    order = []

    def timed(name, seconds):
        def run(feeds):
            order.append(name)
            time.sleep(seconds)
        return run

    options = BenchOptions(batch_sizes=(1, 2), warmup=1, min_iterations=6, min_seconds=0.0, rounds=3)
    found = interleaved_sweep({"fast": (timed("fast", 0.001), "a"), "slow": (timed("slow", 0.004), "b")}, DYNAMIC, options=options)
    for name, executor in (("fast", "a"), ("slow", "b")):
        assert [x.batch for x in found[name].latencies] == [1, 2] and found[name].refused == {}
        for x in found[name].latencies:
            assert x.executor == executor and x.rounds == 3 and len(x.round_p50_ms) == 3 and x.iterations == 6
            assert x.p50_low_ms <= x.p50_high_ms and min(x.round_p50_ms) <= x.p50_low_ms
        assert found[name].seconds > 0
    assert all(s > f for s, f in zip(found["slow"].latencies[0].round_p50_ms, found["fast"].latencies[0].round_p50_ms))
    timed_calls = [n for n in order[2:]]  # after one warm-up call each at batch 1
    first_round, second_round = timed_calls[:4], timed_calls[4:8]
    assert first_round == ["fast", "fast", "slow", "slow"] and second_round == ["slow", "slow", "fast", "fast"]


def test_interleaved_sweep_records_any_failure_per_run():
    def refuses_big(feeds):
        if feeds["x"].shape[0] > 1:
            raise RuntimeInputError("batch beyond the profile")

    def crashes(feeds):
        raise RuntimeError("segfault avoided")

    options = BenchOptions(batch_sizes=(1, 4), warmup=0, min_iterations=3, min_seconds=0.0, rounds=3)
    found = interleaved_sweep({"ok": (lambda f: None, "a"), "big": (refuses_big, "b"), "bad": (crashes, "c")}, DYNAMIC, options=options)
    assert [x.batch for x in found["ok"].latencies] == [1, 4]
    assert [x.batch for x in found["big"].latencies] == [1] and "RuntimeInputError" in found["big"].refused[4]
    assert found["bad"].latencies == [] and "unexpected" in found["bad"].refused[1]
