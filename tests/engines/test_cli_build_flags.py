"""The CLI's TensorRT build flags reach the builder, and a refused build is said on the terminal and in the JSON."""

from __future__ import annotations

import json

import pytest

from tests.conftest import tensorrt_rtx_or_skip
from tftrt_kit.cli import EXIT_OK, EXIT_USAGE, main


@pytest.mark.parametrize("argv, fault", [
    (["convert", "x", "--workspace", "lots"], "expected a size in bytes such as 1073741824, 512M or 1G"),
    (["convert", "x", "--workspace", "0"], "expected a size in bytes"),
    (["convert", "x", "--builder-optimization-level", "7"], "expected a builder optimization level 0-5"),
])
def test_bad_build_flags_exit_2(argv, fault, capsys):
    assert main(argv) == EXIT_USAGE
    assert fault in capsys.readouterr().err


def test_workspace_of_one_byte_gives_no_plan_with_tensorrts_reason(saved_model, tmp_path, capsys):
    tensorrt_rtx_or_skip()
    argv = ["convert", str(saved_model("small_cnn")), "--routes", "onnx", "--out", str(tmp_path / "out"), "--no-benchmark",
            "--backend", "tensorrt_rtx", "--workspace", "1", "--report", str(tmp_path / "r.json")]
    assert main(argv) == EXIT_OK
    printed = capsys.readouterr().out
    assert "no plan: " in printed and "within workspace limit" in printed
    check = json.loads((tmp_path / "r.json").read_text())["routes"]["onnx"]["tensorrt"]
    assert check["plan_bytes"] is None and check["plan_status"].startswith("no plan: ") and "workspace" in check["error"]


def test_timing_cache_and_optimization_level_flags(saved_model, tmp_path):
    tensorrt_rtx_or_skip()
    cache = tmp_path / "trt.cache"
    argv = ["convert", str(saved_model("small_cnn")), "--routes", "onnx", "--out", str(tmp_path / "out"), "--no-benchmark",
            "--backend", "tensorrt_rtx", "--workspace", "512M", "--builder-optimization-level", "0", "--timing-cache", str(cache)]
    assert main(argv) == EXIT_OK
    assert cache.is_file() and (tmp_path / "out" / "onnx" / "timing.cache").read_bytes() == cache.read_bytes()
    assert any(p.suffix == ".plan" for p in (tmp_path / "out" / "onnx").iterdir())
