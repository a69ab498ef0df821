"""The differences section: invariants of what it may claim, on real reports and on variations of them."""

from __future__ import annotations

import dataclasses

import pytest

from tests.test_report import all_reports
from tftrt_kit.report.differences import SAME_SPEED, compute_differences, paired_ratio


@pytest.fixture(scope="module")
def reports(saved_model, tmp_path_factory):
    return all_reports(saved_model, tmp_path_factory)


def _scaled(route, factor: float, rounds_factor: list[float] | None = None):
    """``route`` with every latency multiplied by ``factor`` (per round by ``rounds_factor`` when given)."""
    latencies = []
    for x in route.latencies:
        per_round = rounds_factor or [factor] * len(x.round_p50_ms)
        latencies.append(dataclasses.replace(
            x, p50_ms=x.p50_ms * factor, round_p50_ms=[m * f for m, f in zip(x.round_p50_ms, per_round)],
        ))
    return dataclasses.replace(route, latencies=latencies, latency=latencies[0] if latencies else None)


def _with_routes(report, **routes):
    return dataclasses.replace(report, routes={**report.routes, **routes})


def _recommended(report) -> str | None:
    text = compute_differences(report).recommendation
    return next((name for name in report.routes if text.startswith(f"use {name}:")), None)


def test_fully_covered_routes_are_reported_as_the_same_graph(reports):
    fp32 = reports["fp32"]
    segment, onnx = fp32.routes["segment"], fp32.routes["onnx"]
    assert segment.coverage == 1.0 and len(segment.segments) == 1
    assert segment.graph_fingerprint is not None and segment.graph_fingerprint == onnx.graph_fingerprint
    diff = compute_differences(fp32)
    assert len(diff.same_graph) == 1 and "segment and onnx run the same ONNX graph" in diff.same_graph[0]
    assert diff.same_graph[0] in str(fp32)
    middle = reports["middle"].routes["segment"]
    assert middle.graph_fingerprint is None and compute_differences(reports["middle"]).same_graph == []


def test_a_route_failing_its_verdict_is_never_recommended(reports):
    fp32 = reports["fp32"]
    for loser, winner in (("onnx", "segment"), ("segment", "onnx")):
        route = fp32.routes[loser]
        failing = dataclasses.replace(_scaled(route, 0.1), accuracy=dataclasses.replace(route.accuracy, verdict="fail"))
        report = _with_routes(fp32, **{loser: failing})
        assert _recommended(report) == winner
    for report in reports.values():
        chosen = _recommended(report)
        assert chosen is None or report.routes[chosen].accuracy.verdict != "fail"


def test_a_difference_inside_the_noise_is_the_same_speed(reports):
    fp32 = reports["fp32"]
    rounds = len(fp32.routes["onnx"].latencies[0].round_p50_ms)
    assert rounds >= 3
    # 20% slower on average but faster in some rounds: the interval crosses 1.
    noisy = [1.6 if i % 2 else 0.8 for i in range(rounds)]
    report = _with_routes(fp32, onnx=_scaled(fp32.routes["segment"], 1.2, noisy), segment=fp32.routes["segment"])
    diff = compute_differences(report)
    assert all(not r.beyond_noise and "same speed" in r.line() for r in diff.speed)
    assert "faster than" not in diff.recommendation


def test_a_difference_in_every_round_is_beyond_the_noise(reports):
    fp32 = reports["fp32"]
    report = _with_routes(fp32, onnx=_scaled(fp32.routes["segment"], 2.0))
    diff = compute_differences(report)
    assert diff.speed and all(r.beyond_noise and r.faster == "segment" and r.ratio == pytest.approx(2.0) for r in diff.speed)
    assert diff.recommendation.startswith("use segment: 2.00x faster than onnx")


def test_recommendation_ignores_route_order_and_time_unit(reports):
    for report in reports.values():
        reordered = dataclasses.replace(report, routes=dict(reversed(list(report.routes.items()))))
        assert _recommended(reordered) == _recommended(report)
        slower_machine = _with_routes(report, **{n: _scaled(r, 3.0) for n, r in report.routes.items() if r.ok})
        slower_machine = dataclasses.replace(slower_machine, source=_scaled(report.source, 3.0))
        assert _recommended(slower_machine) == _recommended(report)


def test_ratios_are_named_and_oriented(reports):
    for report in reports.values():
        diff = compute_differences(report)
        runs = {**{n: r for n, r in report.routes.items() if r.ok}, "source (TF)": report.source}
        for ratio in diff.speed + diff.versus_source:
            assert ratio.ratio >= 1 and ratio.low <= ratio.ratio <= ratio.high
            assert ratio.faster_executor == runs[ratio.faster].latency_at(ratio.batch).executor
            assert ratio.slower_executor == runs[ratio.slower].latency_at(ratio.batch).executor
        failed = {n for n, r in report.routes.items() if not r.ok}
        assert set(diff.failed) == failed
        assert all(n not in (r.faster, r.slower) for n in failed for r in diff.speed + diff.versus_source)
        assert diff.lines()[-1] == f"recommendation: {diff.recommendation}"


def test_paired_ratio_needs_rounds_timed_together():
    assert paired_ratio([[1.0, 1.0]], [[1.0, 1.0]]) is None
    assert paired_ratio([[1.0, 1.0, 1.0]], [[1.0, 1.0]]) is None
    median, low, high, rounds = paired_ratio([[2.0, 4.0, 6.0], [1.0, 1.0, 1.0]], [[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    assert rounds == 3 and median == low == high == pytest.approx(2 ** 0.5)
    assert SAME_SPEED > 1


def test_failed_route_and_fallbacks(reports):
    report = reports["middle"]
    diff = compute_differences(report)
    assert set(diff.failed) == {"onnx"} and report.routes["onnx"].error in diff.failed["onnx"]
    segment = report.routes["segment"]
    left = "\n".join(diff.left_in_tensorflow)
    assert f"{len(segment.segments)} TensorRT segment(s)" in left and f"{segment.coverage:.1%}" in left
    for fallback in segment.fallbacks:
        assert f"segment left {fallback.count} {fallback.op_type} in TensorFlow: {fallback.reason}" in left
