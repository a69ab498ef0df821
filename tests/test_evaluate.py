"""Accuracy metrics, Polygraphy-style passing tolerances, and verdicts against tolerances."""

from __future__ import annotations

import numpy as np
import pytest

import tftrt_kit
from tftrt_kit.evaluate import compare, compare_output, evaluate, judge, sample_inputs
from tftrt_kit.report import Thresholds, Tolerances


def test_compare_output_metrics():
    ref = np.array([[1.0, -2.0, 4.0], [0.5, 0.0, -1.0]])
    act = ref + np.array([[0.1, 0.0, 0.0], [0.0, 0.2, 0.0]])
    e = compare_output("y", ref, act)
    assert e.max_abs_error == pytest.approx(0.2)
    assert e.max_rel_error == pytest.approx(0.2 / 4.0)
    assert e.mean_abs_error == pytest.approx(0.3 / 6)
    assert e.max_elementwise_rel_error == pytest.approx(0.1)  # zero reference skipped
    assert e.cosine == pytest.approx(np.dot(ref.ravel(), act.ravel()) / np.linalg.norm(ref) / np.linalg.norm(act))
    assert e.top1_agreement == 1.0 and e.top5_agreement is None


def test_top_k_agreement():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((10, 20))
    act = ref.copy()
    act[:3] = -act[:3]
    e = compare_output("logits", ref, act)
    assert e.top1_agreement == pytest.approx(0.7)
    top5 = np.mean([r in s for r, s in zip(ref.argmax(1), np.argsort(-act, 1)[:, :5])])
    assert e.top5_agreement == pytest.approx(top5)


@pytest.mark.parametrize(("noise", "precision", "verdict"), [
    (1e-6, "fp32", "pass"), (5e-4, "fp32", "warn"), (2e-2, "fp32", "fail"), (5e-3, "fp16", "pass"), (2e-2, "fp16", "warn"),
])
def test_verdict_by_precision(noise, precision, verdict):
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((4, 1000))
    act = ref.copy()
    act.flat[::97] += noise * np.abs(ref).max()  # a few elements off: the max rel error decides, cosine stays high
    acc = compare({"y": ref}, {"y": act}, executor="numpy", thresholds=Tolerances().for_precision(precision))
    assert acc.verdict == acc.per_output["y"].verdict == verdict
    assert (acc.reasons == []) == (verdict == "pass")
    if verdict != "pass":
        assert f"({verdict})" in acc.reasons[0] and "max rel error" in acc.reasons[0]


def test_int8_judged_by_top1_and_cosine():
    rng = np.random.default_rng(2)
    ref = rng.standard_normal((10, 10))
    flipped = ref.copy()
    for row in range(2):
        flipped[row, (ref[row].argmax() + 1) % 10] = ref[row].max() + 0.01
    acc = compare({"logits": ref}, {"logits": flipped}, executor="numpy", thresholds=Tolerances().int8)
    assert acc.per_output["logits"].top1_agreement == pytest.approx(0.8) and acc.per_output["logits"].cosine > 0.95
    assert acc.verdict == "warn" and any("top-1 agreement 0.8 < 0.9 (warn)" in r for r in acc.reasons)
    loose = Thresholds(min_top1=0.5, min_cosine=0.0)
    assert judge(acc, loose).verdict == "pass" and acc.thresholds is loose


def test_tolerances_are_frozen_and_validated():
    with pytest.raises(Exception):
        Tolerances().fp32 = Thresholds()  # type: ignore[misc]
    with pytest.raises(tftrt_kit.ConfigError, match="precision='int4'"):
        Tolerances().for_precision("int4")


def test_convert_uses_sample_data_and_user_tolerances(saved_model, source_of, tmp_path):
    source = source_of("small_cnn")
    data = sample_inputs(source.inputs, batch=3, seed=42)
    impossible = Tolerances(fp32=Thresholds(max_rel_error=0.0, warn_max_rel_error=0.0))
    report = tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), output_dir=tmp_path, sample_data=data,
                               tolerances=impossible, benchmark=False)
    acc = report.routes["onnx"].accuracy
    assert acc.samples == 3 and acc.inputs == "sample_data" and acc.thresholds == impossible.fp32
    model = tftrt_kit.load(report.routes["onnx"].artifact_dir)
    again = evaluate(source, model, executor=model.executor, feeds=data)
    assert again.max_abs_error == acc.max_abs_error
    assert acc.verdict == ("fail" if acc.max_rel_error > 0 else "pass")


def test_sample_data_must_match_inputs(source_of, tmp_path):
    with pytest.raises(tftrt_kit.RuntimeInputError, match="missing \\['image'\\]"):
        tftrt_kit.convert(source_of("small_cnn"), routes=("onnx",), output_dir=tmp_path, sample_data={"img": np.zeros((1, 16, 16, 3), np.float32)})
