"""The ``triton-export`` and ``serve`` commands, through their own parser."""

from __future__ import annotations

import argparse

import pytest

from tftrt_kit.triton.cli import HANDLERS, add_parsers

pytest.importorskip("tritonclient.grpc", reason="tritonclient (extra 'serve') is not installed")


def _parse(argv):
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_triton_export_from_report_json(tmp_path, artifacts, capsys):
    report = tmp_path / "report.json"
    artifacts().to_json(report)
    args = _parse(["triton-export", str(report), str(tmp_path / "repo"), "--name", "cnn", "--max-batch-size", "4",
                   "--preferred-batch-sizes", "2,4"])
    assert HANDLERS[args.command](args) == 0
    out = capsys.readouterr().out
    assert "cnn_onnx: onnxruntime_onnx" in out and "cnn_segment: python" in out
    assert f"tritonserver --model-repository={(tmp_path / 'repo').resolve()}" in out


def test_serve_arguments():
    args = _parse(["serve", "out/segment", "--check", "--requests", "8", "--concurrency", "2", "--preferred-batch-sizes", "2,4"])
    assert (args.check, args.requests, args.concurrency, args.preferred_batch_sizes, args.host) == (True, 8, 2, (2, 4), "127.0.0.1")
    with pytest.raises(SystemExit):
        _parse(["serve", "x", "--preferred-batch-sizes", "0"])
