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
    assert 0.99 < e.cosine < 1.0
    assert e.top1_agreement == 1.0 and e.top5_agreement is None
    assert (e.abs_error.min, e.abs_error.max, e.abs_error.median) == pytest.approx((0.0, 0.2, 0.0))
    assert e.reference.max == 4.0 and e.reference.min == -2.0
    assert sum(e.histogram) == ref.size and len(e.histogram_edges) == len(e.histogram) + 1
    assert e.histogram[0] == 4 and e.histogram[-1] == 1  # four exact elements, one at the max error
    assert e.flags == [] and e.non_finite == 0


@pytest.mark.parametrize("actual, expected", [(lambda r: 3 * r, 1.0), (lambda r: -r, -1.0)])
def test_cosine_of_scaled_outputs(actual, expected):
    ref = np.array([[1.0, -2.0, 4.0]])
    assert compare_output("y", ref, actual(ref)).cosine == pytest.approx(expected)


def test_top_k_agreement():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((10, 20))
    act = ref.copy()
    act[:3] = -act[:3]
    e = compare_output("logits", ref, act)
    # A negated row ranks the reference's top class last of 20: out of the top 5 as well.
    assert e.top1_agreement == pytest.approx(0.7) and e.top5_agreement == pytest.approx(0.7)
    assert compare_output("logits", ref, ref).top5_agreement == 1.0


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


def test_constant_reference_is_flagged_never_a_plain_pass():
    """MobileNetV2(weights=None) with its softmax prints exactly 0.001 everywhere: agreement means nothing."""
    ref = np.full((4, 1000), 0.001, np.float32)
    acc = compare({"predictions": ref}, {"predictions": ref.copy()}, executor="numpy", thresholds=Tolerances().fp32)
    error = acc.per_output["predictions"]
    assert error.top1_agreement == 1.0 and error.max_abs_error == 0.0
    assert acc.verdict == error.verdict == "inconclusive"
    assert any("reference is constant (0.001 everywhere)" in reason for reason in acc.reasons)


def test_rows_alike_and_non_finite_values_are_flagged():
    ref = np.tile(np.arange(5.0), (3, 1))
    acc = compare({"y": ref}, {"y": ref}, executor="numpy", thresholds=Tolerances().fp32)
    assert acc.verdict == "inconclusive" and "same for all 3 input rows" in acc.per_output["y"].flags[0]
    ref = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]])
    act = np.array([[1.0, 2.0, np.inf], [4.0, 5.0, 6.0]])
    acc = compare({"y": ref}, {"y": act}, executor="numpy", thresholds=Tolerances().fp32)
    error = acc.per_output["y"]
    assert error.non_finite == 1 and "1 non-finite value(s) (NaN/Inf) of 6" in error.flags[0]
    assert error.max_abs_error == 0.0 and acc.verdict == "fail"


def test_generated_integer_inputs_fit_any_lookup():
    from tftrt_kit.source import TensorSpec

    feeds = sample_inputs([TensorSpec("ids", "int32", (None, 8)), TensorSpec("mask", "bool", (None, 8))], batch=64, seed=0)
    assert set(np.unique(feeds["ids"])) == {0, 1} and feeds["mask"].dtype == bool


def _two_row_lookup():
    import keras

    ids = keras.Input((6,), dtype="int32", name="segment_ids")
    x = keras.layers.Embedding(2, 4, embeddings_initializer="random_normal")(ids)
    return keras.Model(ids, keras.layers.Dense(3, bias_initializer="random_normal")(x), name="two_row_lookup")


def test_generated_inputs_evaluate_a_two_row_lookup(tmp_path):
    report = tftrt_kit.convert(_two_row_lookup(), routes=("onnx",), output_dir=tmp_path, benchmark=False)
    route = report.routes["onnx"]
    assert route.ok and route.accuracy.verdict == "pass" and "not_evaluated" not in route.details


def test_inputs_the_model_refuses_leave_the_artifact_not_evaluated(tmp_path):
    bad = {"segment_ids": np.full((2, 6), 8, np.int32)}  # ids past a 2-row table
    report = tftrt_kit.convert(_two_row_lookup(), routes=("onnx",), output_dir=tmp_path, sample_data=bad, benchmark=False)
    route = report.routes["onnx"]
    assert route.ok and route.accuracy is None and (route.artifact_dir / "model.onnx").is_file()
    assert "sample_data=" in route.details["not_evaluated"] and "not evaluated" in str(report)
