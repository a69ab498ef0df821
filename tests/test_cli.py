"""``tftrt-kit`` end to end on a SavedModel: every subcommand and every exit code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tftrt_kit.cli import EXIT_OK, EXIT_ROUTE_FAILED, EXIT_USAGE, main
from tftrt_kit.report import Report

CONSOLE = Path(sys.executable).parent / "tftrt-kit"


@pytest.fixture(scope="module")
def converted(saved_model, tmp_path_factory):
    """One real ``tftrt-kit convert`` run writing artifacts and the report in all three formats."""
    out = tmp_path_factory.mktemp("cli")
    reports = [out / "r.json", out / "r.md", out / "r.html"]
    argv = ["convert", str(saved_model("small_cnn")), "--routes", "onnx", "--out", str(out / "artifacts"), "--batch-sizes", "1,2",
            "--rounds", "4"]
    for path in reports:
        argv += ["--report", str(path)]
    code = main(argv)
    return code, out, reports


def test_convert_ok_writes_reports(converted, capsys):
    code, out, (json_path, md_path, html_path) = converted
    assert code == EXIT_OK
    report = Report.load(json_path)
    assert [x.batch for x in report.routes["onnx"].latencies] == [1, 2]
    assert {x.rounds for x in report.routes["onnx"].latencies + report.source.latencies} == {4}
    assert report.routes["onnx"].ok and (out / "artifacts" / "onnx" / "manifest.json").is_file()
    assert "onnxruntime[CPU]" in md_path.read_text() and html_path.read_text().startswith("<!DOCTYPE html>")


def test_route_failure_exits_1_through_console_script(saved_model, tmp_path):
    """The onnx route fails on middle_op (Lgamma has no ONNX form): exit 1, the cause in the report, no native lines."""
    assert CONSOLE.exists(), "the tftrt-kit console script is not installed in this environment"
    done = subprocess.run(
        [str(CONSOLE), "convert", str(saved_model("middle_op")), "--routes", "onnx", "--out", str(tmp_path), "--no-benchmark"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == EXIT_ROUTE_FAILED, done.stderr[-2000:]
    assert "onnx: failed in stage 'export':" in done.stdout and str(tmp_path) in done.stdout
    assert done.stderr == ""  # no progress bar off a TTY, no TensorFlow or TensorRT native line


def test_existing_route_directory_exits_2_before_loading(converted, capsys):
    _, out, _ = converted
    argv = ["convert", "/nonexistent/model", "--routes", "onnx", "--out", str(out / "artifacts"), "--precision", "int8"]
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("tftrt-kit convert: error: ConfigError: Expected a valid convert() call. Received 3 faults")
    assert [line.split(":")[0].strip() for line in err[1:]] == ["SourceError", "ConfigError", "OutputDirError"]


@pytest.mark.parametrize("argv, fault", [
    (["convert", "/nonexistent/model"], "SourceError: Expected a SavedModel directory or a .keras file"),
    (["convert"], "Expected exactly one of SRC or --demo"),
    (["convert", "x", "--report", "r.txt"], "Expected --report with a suffix"),
    (["convert", "x", "--calibration-data", "calib.csv"], "Expected --calibration-data FILE.npy or FILE.npz"),
    (["convert", "x", "--sample-data", "missing.npz"], "Expected --sample-data to name an existing file"),
    (["convert", "x", "--routes", "onnx,onnx"], "Expected each route once"),
    (["convert", "x", "--routes", "onnx", "--minimum-segment-size", "2"], "Expected segment route flags only with --routes including segment"),
    (["convert", "x", "--opset", "0"], "expected a positive integer"),
    (["convert", "x", "--batch-sizes", "1,zero"], "expected comma-separated positive integers"),
    (["convert", "x", "--precision", "int4"], "invalid choice: 'int4'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["compare", "/nonexistent.json"], "which does not exist"),
    (["bench", "/nonexistent_artifact"], "ArtifactError"),
])
def test_bad_input_exits_2_naming_the_fault(argv, fault, capsys):
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert fault in err and "Traceback" not in err


def test_unknown_route_exits_2(saved_model, capsys):
    assert main(["convert", str(saved_model("small_cnn")), "--routes", "onnx,nope", "--no-benchmark"]) == EXIT_USAGE
    assert "ConfigError" in capsys.readouterr().err


def test_compare_reports_side_by_side(converted, tmp_path, capsys):
    _, out, (json_path, _, _) = converted
    other = tmp_path / "other.json"
    shutil.copy(json_path, other)
    assert main(["compare", str(json_path), str(other)]) == EXIT_OK
    text = capsys.readouterr().out
    report = Report.load(json_path)
    p50 = ", ".join(f"{x.batch}: {x.p50_ms:.3g}" for x in report.routes["onnx"].latencies)
    assert text.count(p50) == 2 and "r.json" in text and "other.json" in text
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"routes": []}))
    assert main(["compare", str(broken)]) == EXIT_USAGE


def test_bench_artifact(converted, capsys):
    _, out, _ = converted
    assert main(["bench", str(out / "artifacts" / "onnx"), "--batch-sizes", "1,3"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    rows = [ln.split() for ln in lines if ln.startswith("onnxruntime[CPU]")]
    assert [row[1] for row in rows] == ["1", "3"] and all(float(row[2]) > 0 for row in rows)


def test_inspect(saved_model, capsys):
    from tftrt_kit.segment import inspect

    assert main(["inspect", str(saved_model("middle_op"))]) == EXIT_OK
    printed = capsys.readouterr().out
    assert printed.strip() == inspect(saved_model("middle_op")).summary()
    assert "seg_0" in printed and "seg_1" in printed and "Lgamma" in printed
    assert main(["inspect", str(saved_model("middle_op")), "--minimum-segment-size", "1000", "--precision", "int8"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == inspect(saved_model("middle_op"), minimum_segment_size=1000, precision="int8").summary()


def test_help_reads_well():
    done = subprocess.run([sys.executable, "-m", "tftrt_kit", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == EXIT_OK
    for word in ("convert", "inspect", "bench", "compare", "exit codes", "tftrt-kit convert --demo"):
        assert word in done.stdout
    assert main(["convert", "--help"]) == EXIT_OK


def test_convert_flags_reach_the_routes(converted, saved_model, tmp_path):
    """Sample data, tolerances, opset and segment options given on the command line shape the run."""
    import numpy as np
    import onnx

    from tftrt_kit.evaluate import sample_inputs

    _, _, (json_path, _, _) = converted
    specs = Report.load(json_path).source.inputs
    np.savez(tmp_path / "sample.npz", **sample_inputs(specs, batch=3, seed=5))
    argv = [
        "convert", str(saved_model("small_cnn")), "--out", str(tmp_path / "out"), "--no-benchmark", "--report", str(tmp_path / "r.json"),
        "--sample-data", str(tmp_path / "sample.npz"), "--max-rel-error", "0.5", "--min-cosine", "0.5", "--opset", "15",
        "--minimum-segment-size", "2", "--exclude-ops", "Relu", "--no-refine",
    ]
    assert main(argv) == EXIT_OK
    report = Report.load(tmp_path / "r.json")
    for route in report.routes.values():
        assert route.accuracy.inputs == "sample_data" and route.accuracy.samples == 3
        assert (route.accuracy.thresholds.max_rel_error, route.accuracy.thresholds.min_cosine) == (0.5, 0.5)
    assert "Relu" in {f.op_type for f in report.routes["segment"].fallbacks}
    model = onnx.load(str(tmp_path / "out" / "onnx" / "model.onnx"))
    assert {o.version for o in model.opset_import if o.domain in ("", "ai.onnx")} == {15}
