"""A plan TensorRT refuses to build is said, with TensorRT's own reason, in every rendering of the report."""

from __future__ import annotations

import json

import pytest

import tftrt_kit
from tests.conftest import tensorrt_rtx_or_skip
from tftrt_kit.engines.tensorrt_builder import EngineOptions
from tftrt_kit.runtime.artifact import SEGMENT_ASSETS, read_manifest

# TensorRT-RTX's own words when the workspace cannot hold any tactic (checked on 1.7.1).
TENSORRT_REASON = "within workspace limit"


@pytest.fixture(scope="module")
def failed_report(saved_model, tmp_path_factory):
    tensorrt_rtx_or_skip()
    out = tmp_path_factory.mktemp("no_plan")
    return tftrt_kit.convert(
        saved_model("small_cnn"), routes=("segment", "onnx"), output_dir=out, benchmark=False, backend="tensorrt_rtx",
        engine=EngineOptions(workspace_bytes=1),
    )


def test_no_plan_and_tensorrts_reason_in_every_rendering(failed_report, tmp_path):
    onnx, segment = failed_report.routes["onnx"], failed_report.routes["segment"]
    assert onnx.tensorrt.plan_bytes is None and TENSORRT_REASON in onnx.tensorrt.error
    assert segment.segments and all(s.tensorrt.plan_bytes is None and TENSORRT_REASON in s.tensorrt.error for s in segment.segments)
    renderings = {
        "text": str(failed_report),
        "markdown": failed_report.to_markdown(),
        "html": failed_report.to_html(plot=False),
        "json": failed_report.to_json(),
    }
    for kind, text in renderings.items():
        assert "no plan: " in text and TENSORRT_REASON in text, kind
        assert "TensorRT-RTX 1.7.1" in text, kind
    data = json.loads(renderings["json"])
    assert data["routes"]["onnx"]["tensorrt"]["plan_status"].startswith("no plan: ")
    segment_table = next(line for line in renderings["text"].splitlines() if line.startswith(segment.segments[0].name + " "))
    assert "no plan: " in segment_table
    reloaded = tftrt_kit.report.Report.from_json(renderings["json"])
    assert TENSORRT_REASON in str(reloaded)
    # The machine line says whether a GPU could run the plans, and why not.
    from tftrt_kit.engines.gpu import gpu_status

    status = gpu_status()
    assert failed_report.machine["gpu"] is status.available
    assert f"GPU: {'yes' if status.available else 'no'} ({failed_report.machine['gpu_note']})" in renderings["text"]


def test_artifacts_have_no_plan_and_still_run(failed_report):
    import numpy as np

    onnx_dir = failed_report.routes["onnx"].artifact_dir
    assert read_manifest(onnx_dir)["plan_file"] is None
    model = tftrt_kit.load(onnx_dir)
    feeds = {s.name: np.zeros([1 if d is None else d for d in s.shape], s.dtype) for s in model.inputs}
    assert model(feeds)


def test_timing_cache_is_shared_and_kept_in_each_artifact(saved_model, tmp_path):
    tensorrt_rtx_or_skip()
    cache = tmp_path / "user.cache"
    report = tftrt_kit.convert(
        saved_model("small_cnn"), routes=("segment", "onnx"), output_dir=tmp_path / "out", benchmark=False, backend="tensorrt_rtx",
        engine=EngineOptions(timing_cache=cache, builder_optimization_level=1),
    )
    assert all(r.ok for r in report.routes.values()), {n: r.error for n, r in report.routes.items()}
    assert cache.is_file() and cache.stat().st_size > 0
    onnx_dir = report.routes["onnx"].artifact_dir
    kept = onnx_dir / read_manifest(onnx_dir)["timing_cache_file"]
    assert kept.read_bytes() == cache.read_bytes()
    segment_dir = report.routes["segment"].artifact_dir
    assert (segment_dir / SEGMENT_ASSETS / read_manifest(segment_dir)["timing_cache_file"]).is_file()


def test_engine_options_are_checked_at_construction():
    with pytest.raises(tftrt_kit.ConfigError, match="workspace_bytes"):
        EngineOptions(workspace_bytes=0)
    with pytest.raises(tftrt_kit.ConfigError, match="builder_optimization_level"):
        EngineOptions(builder_optimization_level=9)
    assert tftrt_kit.EngineOptions is EngineOptions


def test_nms_graph_tensorrt_rtx_cannot_build(tmp_path):
    """A per-image NonMaxSuppression: TensorRT-RTX parses it, then has no runner for it; every rendering says so."""
    tensorrt_rtx_or_skip()
    import tensorflow as tf

    class Detector(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([100, 4], tf.float32, name="boxes"), tf.TensorSpec([100], tf.float32, name="scores")])
        def __call__(self, boxes, scores):
            kept = tf.image.non_max_suppression(boxes, scores, max_output_size=10, iou_threshold=0.5)
            return {"boxes_kept": tf.gather(boxes, kept)}

    detector = Detector()
    tf.saved_model.save(detector, str(tmp_path / "nms"), signatures={"serving_default": detector.__call__})
    report = tftrt_kit.convert(str(tmp_path / "nms"), routes=("onnx",), output_dir=tmp_path / "out", benchmark=False, backend="tensorrt_rtx")
    check = report.routes["onnx"].tensorrt
    assert check.accepted and check.plan_bytes is None and "has no runners that implement it" in check.error
    for text in (str(report), report.to_markdown(), report.to_html(plot=False), report.to_json()):
        assert "no plan: " in text and "has no runners that implement it" in text
    assert report.routes["onnx"].accuracy.verdict == "pass"  # the artifact runs on ONNX Runtime instead
