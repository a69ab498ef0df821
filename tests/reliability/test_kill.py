"""SIGKILL a conversion at several points: the output directory never holds a partial artifact."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import tftrt_kit
from tests.reliability.conftest import tree_bytes
from tftrt_kit.runtime.artifact import read_manifest

ROOT = Path(__file__).resolve().parents[2]
CONVERT = textwrap.dedent(
    """
    import sys
    import tftrt_kit
    report = tftrt_kit.convert(sys.argv[1], routes=("onnx",), output_dir=sys.argv[2], overwrite=True, benchmark=False)
    assert report.routes["onnx"].ok, report.routes["onnx"].error
    """
)
#: When to kill: seconds after start, or "staging" (as soon as the staging directory appears).
KILL_POINTS = (0.5, 4.0, "staging", "staging+10ms", "overwrite-staging")


def _kill_during_conversion(source: Path, out: Path, when: float | str) -> str:
    """Run a conversion in a subprocess and SIGKILL it at ``when``; return what the parent saw."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", CONVERT, str(source), str(out)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    seen = "timeout"
    while time.monotonic() - started < 120:
        if process.poll() is not None:
            seen = "finished"
            break
        if isinstance(when, float) and time.monotonic() - started >= when:
            seen = f"{when}s"
            break
        if isinstance(when, str) and any(out.glob(".onnx.partial-*")):
            if when.endswith("+10ms"):
                time.sleep(0.01)
            seen = "staging"
            break
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return seen


def _assert_whole_or_absent(out: Path, source_pb: bytes | None = None) -> str:
    artifact = out / "onnx"
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert visible in ([], ["onnx"]), visible
    if not artifact.exists():
        return "absent"
    manifest = read_manifest(artifact)
    for key in ("onnx_file", "plan_file"):
        if manifest[key]:
            assert (artifact / manifest[key]).stat().st_size > 0
    if manifest["tensorrt"] and manifest["plan_file"]:
        assert (artifact / manifest["plan_file"]).stat().st_size == manifest["tensorrt"]["plan_bytes"]
    model = tftrt_kit.load(artifact, executor="onnxruntime")
    assert model(image=np.zeros((1, 16, 16, 3), np.float32))["output_0"].shape == (1, 5)
    return "whole"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_sigkill_never_leaves_a_partial_artifact(saved_model, onnx_artifact_template, tmp_path):
    source = saved_model("small_cnn")
    outs = {when: tmp_path / f"out{i}" for i, when in enumerate(KILL_POINTS)}
    for when, out in outs.items():
        out.mkdir()
        if when == "overwrite-staging":
            shutil.copytree(onnx_artifact_template, out / "onnx")
    previous = tree_bytes(outs["overwrite-staging"] / "onnx")
    with ThreadPoolExecutor(max_workers=2) as pool:
        seen = dict(zip(KILL_POINTS, pool.map(lambda w: _kill_during_conversion(source, outs[w], w), KILL_POINTS)))
    states = {when: _assert_whole_or_absent(out) for when, out in outs.items()}
    assert seen["staging"] == "staging", seen
    assert states[0.5] == states["staging"] == "absent", (seen, states)
    assert states["overwrite-staging"] == "whole"
    if seen["overwrite-staging"] == "staging":
        assert tree_bytes(outs["overwrite-staging"] / "onnx") == previous
    # The next run into a directory a killed run left staging in cleans it up and writes a whole artifact.
    out = outs["staging"]
    assert any(out.glob(".onnx.partial-*"))
    report = tftrt_kit.convert(source, routes=("onnx",), output_dir=out, benchmark=False)
    assert report.routes["onnx"].ok and _assert_whole_or_absent(out) == "whole"
    assert sorted(p.name for p in out.iterdir()) == ["onnx"], json.dumps(seen)
