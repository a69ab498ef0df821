"""The model zoo registry and its benchmark runner (the full zoo is `-m slow`)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from model_zoo import benchmark
from model_zoo.zoo import ZOO, accuracy, digits_data

EXPECTED = {"ResNet50", "ResNet101", "MobileNetV2", "MobileNetV3Small", "EfficientNetB0", "InceptionV3",
            "DenseNet121", "VGG16", "TransformerEncoder", "DigitsCNN"}


def test_registry_holds_the_issue_models():
    assert EXPECTED <= set(ZOO)


def test_digits_cnn_has_real_accuracy():
    _, _, x_test, y_test = digits_data()
    model = ZOO["DigitsCNN"].model()
    assert accuracy(model.predict(x_test, verbose=0), y_test) > 0.9


def test_models_are_seeded():
    entry = ZOO["TransformerEncoder"]
    x = entry.sample(2).astype("int32")
    np.testing.assert_array_equal(entry.model(seed=3)(x), entry.model(seed=3)(x))


def test_pretrained_weights_are_refused_where_none_exist():
    with pytest.raises(ValueError, match="weights=None"):
        ZOO["DigitsCNN"].build("imagenet")


def test_benchmark_writes_results_and_resumes(tmp_path, monkeypatch):
    out = tmp_path / "zoo"
    assert benchmark.main(["--models", "DigitsCNN", "--routes", "segment,onnx", "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [(r["model"], r["route"], r["status"]) for r in rows] == [("DigitsCNN", "segment", "ok"), ("DigitsCNN", "onnx", "ok")]
    for row in rows:
        assert float(row["p50_ms"]) > 0 and float(row["tf_p50_ms"]) > 0 and row["machine"]
        assert float(row["max_rel_error"]) < 1e-4
        assert abs(float(row["route_top1"]) - float(row["fp32_top1"])) < 0.01
    assert float(rows[0]["coverage"]) == 1.0
    text = (out / "results.md").read_text()
    assert "DigitsCNN" in text and "Measured on" in text
    assert (out / "results.png").stat().st_size > 1000
    assert not (out / "artifacts" / "DigitsCNN-fp32").exists()

    def refuse(*args, **kwargs):
        raise AssertionError("--resume ran a finished row again")

    monkeypatch.setattr(benchmark, "run_isolated", refuse)
    assert benchmark.main(["--models", "DigitsCNN", "--out", str(out), "--resume"]) == 0


def test_a_failing_model_is_a_row_and_the_run_goes_on(tmp_path, monkeypatch):
    def explode(name, *args, **kwargs):
        raise RuntimeError(f"{name} broke")

    monkeypatch.setattr(benchmark, "run_isolated", explode)
    assert benchmark.main(["--models", "DigitsCNN,TransformerEncoder", "--out", str(tmp_path)]) == 1
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert [(r["model"], r["status"]) for r in rows] == [("TransformerEncoder", "failed"), ("DigitsCNN", "failed")]  # registry order
    assert "RuntimeError: DigitsCNN broke" in (tmp_path / "results.md").read_text()


def test_resumed_rows_are_written_in_registry_order(tmp_path, monkeypatch):
    def fail(name, precision, *args, **kwargs):
        raise RuntimeError(f"{name} broke")

    monkeypatch.setattr(benchmark, "run_isolated", fail)
    benchmark.main(["--models", "DigitsCNN", "--out", str(tmp_path)])
    benchmark.main(["--models", "ResNet50,DigitsCNN", "--out", str(tmp_path), "--resume"])
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert [r["model"] for r in rows] == ["ResNet50", "DigitsCNN"]
    assert list(ZOO).index("ResNet50") < list(ZOO).index("DigitsCNN")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED - {"DigitsCNN"}))
def test_zoo_model_converts_by_both_routes(name, tmp_path):
    rows = benchmark.run_one(name, "fp32", ("segment", "onnx"), tmp_path, machine="test")
    for row in rows:
        assert row["status"] == "ok", row["error"]
        assert row["max_rel_error"] <= ZOO[name].rel_tolerance * 10
