"""The differences section agrees with the measured figures it is computed from."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_report import all_reports
from tftrt_kit.report.differences import SAME_SPEED, compute_differences


@pytest.fixture(scope="module")
def report(saved_model, tmp_path_factory):
    return all_reports(saved_model, tmp_path_factory)["fp32"]


def test_speed_ratios_match_latencies(report):
    diff = compute_differences(report)
    ok = {n: r for n, r in report.routes.items() if r.ok}
    runs = {**ok, "source (TF)": report.source}
    expected_pairs = {
        (frozenset((a, b)), x.batch)
        for i, a in enumerate(ok) for b in list(ok)[i + 1:] for x in ok[a].latencies if ok[b].latency_at(x.batch)
    }
    assert {(frozenset((r.faster, r.slower)), r.batch) for r in diff.speed} == expected_pairs
    for ratio in diff.speed + diff.versus_source:
        faster, slower = runs[ratio.faster].latency_at(ratio.batch), runs[ratio.slower].latency_at(ratio.batch)
        assert (ratio.faster_ms, ratio.slower_ms) == (faster.p50_ms, slower.p50_ms)
        assert (ratio.faster_executor, ratio.slower_executor) == (faster.executor, slower.executor)
        assert ratio.ratio == slower.p50_ms / faster.p50_ms >= 1
        wording = f"{ratio.ratio:.2f}x faster than" if ratio.ratio >= SAME_SPEED else f"about as fast ({ratio.ratio:.2f}x)"
        assert wording in ratio.line() and ratio.faster_executor in ratio.line() and ratio.slower_executor in ratio.line()
    assert {(r.faster if r.slower == "source (TF)" else r.slower, r.batch) for r in diff.versus_source} == {
        (n, x.batch) for n, r in ok.items() for x in r.latencies
    }


def test_closer_sizes_and_conversion_match(report):
    diff = compute_differences(report)
    ok = {n: r for n, r in report.routes.items() if r.ok}
    errors = sorted((r.accuracy.max_rel_error, n) for n, r in ok.items())
    assert diff.closer == (errors[0][1] if errors[0][0] < errors[1][0] else None)
    for delta in diff.sizes:
        assert (delta.first_value, delta.second_value) == (ok[delta.first].sizes["artifact_bytes"], ok[delta.second].sizes["artifact_bytes"])
    for delta in diff.conversion:
        assert delta.first_value == pytest.approx(ok[delta.first].conversion_seconds)
        assert delta.difference == pytest.approx(ok[delta.second].conversion_seconds - ok[delta.first].conversion_seconds)
    assert len(diff.sizes) == len(diff.conversion) == len(ok) * (len(ok) - 1) // 2


def test_failed_route_and_fallbacks(saved_model, tmp_path_factory):
    report = all_reports(saved_model, tmp_path_factory)["middle"]
    diff = compute_differences(report)
    assert set(diff.failed) == {n for n, r in report.routes.items() if not r.ok} == {"onnx"}
    assert report.routes["onnx"].error in diff.failed["onnx"]
    assert all("onnx" not in (r.faster, r.slower) for r in diff.speed + diff.versus_source)
    segment = report.routes["segment"]
    left = "\n".join(diff.left_in_tensorflow)
    assert f"{len(segment.segments)} TensorRT segment(s)" in left and f"{segment.coverage:.1%}" in left
    for fallback in segment.fallbacks:
        assert f"segment left {fallback.count} {fallback.op_type} in TensorFlow: {fallback.reason}" in left
    assert diff.lines()[-1] == f"recommendation: {diff.recommendation}"


def test_recommendation_follows_the_figures(report):
    import math

    diff = compute_differences(report)
    usable = [n for n, r in report.routes.items() if r.ok and r.accuracy.verdict != "fail"]
    assert any(diff.recommendation.startswith(f"use {n}:") for n in usable) or diff.recommendation.startswith("either of")
    verdicts = {report.routes[n].accuracy.verdict for n in usable}
    batches = sorted(set.intersection(*({x.batch for x in report.routes[n].latencies} for n in usable)))
    geomean = {n: math.exp(np.mean([math.log(report.routes[n].latency_at(b).p50_ms) for b in batches])) for n in usable}
    ranked = sorted(geomean, key=geomean.get)
    ratio = geomean[ranked[1]] / geomean[ranked[0]]
    if len(verdicts) == 1 and ratio >= SAME_SPEED:
        assert diff.recommendation.startswith(f"use {ranked[0]}: {ratio:.2f}x faster than {ranked[1]}")
    elif len(verdicts) == 1 and diff.closer:
        assert diff.recommendation.startswith(f"use {diff.closer}: no faster route")
    elif len(verdicts) == 1:
        sizes = {n: report.routes[n].sizes["artifact_bytes"] for n in usable}
        seconds = {n: report.routes[n].conversion_seconds for n in usable}
        lean = min(sizes, key=sizes.get)
        if lean == min(seconds, key=seconds.get):
            assert diff.recommendation.startswith(f"use {lean}: as fast")


def test_single_route_report(saved_model, tmp_path_factory):
    fp16 = all_reports(saved_model, tmp_path_factory)["fp16"]
    diff = compute_differences(fp16)
    assert diff.speed == [] and diff.sizes == []
    assert diff.recommendation.startswith("use onnx: the only route that produced an artifact")
    slower = [r for r in diff.versus_source if r.slower == "onnx" and r.ratio >= SAME_SPEED]
    assert ("TensorFlow itself was faster" in diff.recommendation) == bool(slower)
