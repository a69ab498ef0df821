"""Fixtures of the reliability tests: one converted onnx-route artifact, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def onnx_artifact_template(saved_model, tmp_path_factory) -> Path:
    """The onnx-route artifact of ``small_cnn`` (with a tensorrt_rtx plan when that module is installed)."""
    import tftrt_kit

    out = tmp_path_factory.mktemp("reliability_convert")
    report = tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), output_dir=out, benchmark=False)
    assert report.routes["onnx"].ok, report.routes["onnx"].error
    return out / "onnx"


@pytest.fixture
def onnx_artifact(onnx_artifact_template, tmp_path) -> Path:
    """A private copy of the onnx-route artifact, free to damage."""
    copy = tmp_path / "out" / "onnx"
    shutil.copytree(onnx_artifact_template, copy)
    return copy


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Relative path -> content of every file under ``root`` (to compare directories byte for byte)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}
