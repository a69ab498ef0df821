"""The Report from real runs: JSON round trip, terminal/Markdown/HTML renderings, plot, Chromium."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest

import tftrt_kit
from tftrt_kit.bench import BenchOptions
from tftrt_kit.report import Report
from tftrt_kit.report.text import cell, cosine

#: Tiny benchmark settings: latency is measured for real, but briefly.
QUICK = BenchOptions(batch_sizes=(1, 4), warmup=1, min_iterations=5, min_seconds=0.05, max_seconds=2.0)
CHROMIUM = Path("/usr/bin/chromium")


@functools.cache
def build_reports(small_cnn_dir: str, middle_op_dir: str, out: str) -> dict[str, Report]:
    """Real convert() runs, built once per session; every route in them ran.

    ``fp32``: small_cnn by both routes (fully covered: one segment). ``fp16``: the onnx
    route alone. ``middle``: middle_op (an op TensorRT cannot take in the middle) by both
    routes: the segment route leaves it in TensorFlow, the onnx route really fails.
    """
    out_dir = Path(out)
    both = ("segment", "onnx")
    return {
        "fp32": tftrt_kit.convert(small_cnn_dir, routes=both, output_dir=out_dir / "fp32", benchmark=QUICK),
        "fp16": tftrt_kit.convert(small_cnn_dir, routes=("onnx",), precision="fp16", output_dir=out_dir / "fp16", benchmark=QUICK),
        "middle": tftrt_kit.convert(middle_op_dir, routes=both, output_dir=out_dir / "middle", benchmark=QUICK),
    }


@pytest.fixture(scope="module")
def reports(saved_model, tmp_path_factory):
    return all_reports(saved_model, tmp_path_factory)


def all_reports(saved_model, tmp_path_factory) -> dict[str, Report]:
    """:func:`build_reports` for the session's SavedModels."""
    return build_reports(str(saved_model("small_cnn")), str(saved_model("middle_op")), str(tmp_path_factory.getbasetemp() / "reports"))


def test_json_round_trip_is_exact(reports, tmp_path):
    for report in reports.values():
        assert Report.from_json(report.to_json()) == report
    path = tmp_path / "r.json"
    reports["fp32"].to_json(path)
    back = Report.load(path)
    assert back == reports["fp32"]
    assert back.routes["onnx"].accuracy.per_output["output_0"] == reports["fp32"].routes["onnx"].accuracy.per_output["output_0"]
    assert str(back) == str(reports["fp32"])


def test_real_figures_are_present_and_named(reports):
    fp32 = reports["fp32"]
    onnx = fp32.routes["onnx"]
    assert [x.batch for x in onnx.latencies] == [1, 4] == [x.batch for x in fp32.source.latencies]
    for x in onnx.latencies + fp32.source.latencies:
        assert x.rounds == QUICK.rounds == len(x.round_p50_ms) and x.p50_low_ms <= x.p50_high_ms
    for x in onnx.latencies:
        assert x.executor == onnx.accuracy.executor and x.p50_ms <= x.p90_ms <= x.p99_ms <= x.max_ms
        assert x.iterations >= 3 and x.throughput == pytest.approx(x.batch * 1e3 / x.p50_ms)
    assert {x.executor for x in fp32.source.latencies} == {"tensorflow"}
    assert onnx.accuracy.verdict == "pass" and onnx.accuracy.thresholds == tftrt_kit.report.Tolerances().fp32
    assert {"load", "freeze", "benchmark"} <= set(fp32.source.timings)
    assert {"export", "build", "evaluate", "benchmark"} <= set(onnx.timings)
    assert onnx.conversion_seconds == pytest.approx(sum(s.seconds for s in onnx.stages if s.name not in ("load artifact", "evaluate", "benchmark")))
    failed = reports["middle"].routes["onnx"]
    assert not failed.ok and failed.error
    assert failed.accuracy is None and failed.latency is None and failed.latencies == []
    # A failed route keeps the stages that ran, the one that failed (with the error) and those not run.
    assert failed.failed_stage is not None and failed.failed_stage.error == failed.error
    outcomes = [s.outcome for s in failed.stages]
    assert outcomes == ["ok"] * outcomes.index("failed") + ["failed"] + ["skipped"] * (len(outcomes) - outcomes.index("failed") - 1)


def _figures(report: Report) -> list[str]:
    """Every figure and name a rendering must show, formatted as the renderings format them."""
    expected = [report.source.description]
    for run in [report.source, *[r for r in report.routes.values() if r.ok]]:
        expected += [x.executor for x in run.latencies] + [cell(x.p50_ms) for x in run.latencies] + [cell(x.p99_ms) for x in run.latencies]
        expected += [cell(v) for v in run.timings.values()]
    for name, route in report.routes.items():
        expected.append(name)
        if not route.ok:
            expected.append(route.error.split(":")[0])
            continue
        acc = route.accuracy
        expected += [cell(acc.max_rel_error), cosine(acc.cosine), acc.verdict, acc.executor]
        expected += [cell(e.max_abs_error) for e in acc.per_output.values()]
        expected += [f.op_type for f in route.fallbacks] + [f.reason for f in route.fallbacks] + [str(f.count) for f in route.fallbacks]
        expected += [s.name for s in route.segments]
        expected += [f"{op}x{n}" for s in route.segments for op, n in sorted(s.op_histogram.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]
    return expected


@pytest.mark.parametrize("which", ["fp32", "middle"])
@pytest.mark.parametrize("rendering", ["text", "markdown", "html"])
def test_renderings_show_every_route_figure_and_fallback(reports, rendering, which):
    import html

    report = reports[which]
    text = {"text": str, "markdown": Report.to_markdown, "html": Report._repr_html_}[rendering](report)
    if rendering == "html":
        text = html.unescape(text)
    missing = [item for item in _figures(report) if item not in text]
    assert missing == []
    assert "Differences" in text and f"recommendation: {report.differences.recommendation}" in text


def test_real_segment_fallbacks_and_failure(reports):
    middle = reports["middle"]
    segment, onnx = middle.routes["segment"], middle.routes["onnx"]
    assert segment.ok and segment.fallbacks and 0 < segment.coverage < 1 and len(segment.segments) >= 2
    assert not onnx.ok and onnx.error and onnx.latencies == [] and onnx.accuracy is None
    text = str(middle)
    assert f"onnx: {onnx.status} in stage {onnx.failed_stage.name!r}: {onnx.error}" in text
    for fallback in segment.fallbacks:
        assert f"segment left {fallback.count} {fallback.op_type} in TensorFlow: {fallback.reason}" in text
    assert Report.from_json(middle.to_json()) == middle


def test_failed_route_shows_error_and_no_figures(reports):
    from tftrt_kit.report.text import summary_rows

    middle = reports["middle"]
    rows = {row[0]: row for row in summary_rows(middle)}
    assert rows["onnx"][1] == "failed" and all(v is None for v in rows["onnx"][3:])
    text = str(middle)
    assert f"onnx: failed in stage {middle.routes['onnx'].failed_stage.name!r}: {middle.routes['onnx'].error}" in text
    assert not any(line.startswith("onnx ") for line in text.splitlines() if "onnxruntime" in line)


def test_markdown_tables_are_well_formed(reports):
    md = reports["fp32"].to_markdown()
    for block in md.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.startswith("|")]
        if lines:
            assert len({ln.replace("\\|", "").count("|") for ln in lines}) == 1, block


def test_html_is_self_contained(reports, tmp_path):
    page = reports["fp32"].to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text() == page
    fragment = reports["fp32"]._repr_html_()
    for text in (page, fragment):
        assert "<script" not in text and "<link" not in text and "http://" not in text and "https://" not in text
    assert page.startswith("<!DOCTYPE html>") and 'src="data:image/png;base64,' in page


def test_plot_draws_measured_lines(reports, tmp_path):
    figure = reports["fp32"].plot(tmp_path / "r.png")
    latency, coverage, error = figure.axes
    report = reports["fp32"]
    runs = [report.source] + [r for r in report.routes.values() if r.ok]
    assert len(latency.get_lines()) == sum(len({x.executor for x in run.latencies}) for run in runs)
    for line, run in zip(latency.get_lines(), runs):
        assert list(line.get_ydata()) == [x.p50_ms for x in sorted(run.latencies, key=lambda x: x.batch)]
    bands = latency.collections
    assert len(bands) == len(runs)  # one band per run: every figure was timed in rounds
    for band, run in zip(bands, runs):
        top = max(x.p50_high_ms for x in run.latencies)
        assert band.get_paths()[0].vertices[:, 1].max() == pytest.approx(top)
    assert len(coverage.patches) == sum(1 for r in report.routes.values() if r.ok and r.coverage is not None)
    assert (tmp_path / "r.png").stat().st_size > 1000


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
def test_html_page_renders_in_headless_chromium(reports, tmp_path):
    import matplotlib.image

    page = tmp_path / "report.html"
    reports["fp32"].to_html(page)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1200,900", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )
    pixels = matplotlib.image.imread(str(shot))
    assert pixels.shape[:2] == (900, 1200)
    colours = {tuple(p) for p in pixels[::7, ::7, :3].reshape(-1, 3).tolist()}
    assert len(colours) > 10
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


@pytest.mark.parametrize(
    "text, match",
    [
        ("{not json", "Expected report JSON"),
        ('{"schema_version": 99, "source": {}, "routes": {}}', "schema_version=99"),
        ('{"schema_version": 1, "routes": {}}', "missing or mistyping 'source'"),
        ('{"schema_version": 1, "source": {"inputs": 3}, "routes": {}}', "Expected a tftrt_kit report"),
    ],
)
def test_malformed_report_json_is_an_artifact_error(text, match):
    from tftrt_kit.errors import ArtifactError

    with pytest.raises(ArtifactError, match=match):
        Report.from_json(text)
