"""Calibration: the four methods, every data form, and clear errors on bad data."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tftrt_kit.errors import CalibrationError
from tftrt_kit.quantize import calibrate, input_quantizers, quantize_model
from tftrt_kit.quantize.histogram import Histogram


@pytest.fixture(scope="module")
def qdense():
    inputs = keras.Input((6,), name="features")
    return quantize_model(keras.Model(inputs, keras.layers.Dense(3, name="fc")(inputs)))


def _gaussian_with_outlier():
    values = np.random.RandomState(0).randn(100_000).astype("float32")
    values[0] = 40.0
    return values


def test_methods_pick_thresholds_as_expected():
    hist = Histogram()
    hist.update(_gaussian_with_outlier())
    assert hist.compute_amax("max") == pytest.approx(40.0)
    p = hist.compute_amax("percentile", 99.99)
    assert 3.5 < p < 5.0
    assert 2.0 < hist.compute_amax("entropy") < 10.0
    # MSE weighs the outlier's squared clipping error: it clips, but far less than the others.
    assert p < hist.compute_amax("mse") < 40.0


def test_histogram_grows_with_a_later_larger_batch():
    hist = Histogram(num_bins=16)
    hist.update(np.zeros(10))
    hist.update(np.array([1.0, -2.0]))
    hist.update(np.array([5.0]))
    assert hist.amax == 5.0 and hist.counts.sum() == 13 and hist.counts[0] >= 10


def test_calibrate_sets_amax_and_reports(qdense):
    x = np.random.RandomState(0).uniform(-2, 2, (100, 6)).astype("float32")
    result = calibrate(qdense, x, method="max", batch_size=32)
    (quantizer,) = input_quantizers(qdense)
    assert result.samples == 100 and result.batches == 4 and result.method == "max"
    assert float(quantizer.amax.numpy()) == pytest.approx(np.abs(x).max(), rel=1e-6)
    assert result.amax == {quantizer.name: pytest.approx(np.abs(x).max(), rel=1e-6)}
    limited = calibrate(qdense, x, method="percentile", percentile=99.0, num_batches=2)
    assert limited.samples == 64 and limited.percentile == 99.0


def test_every_data_form(qdense):
    x = np.random.RandomState(1).randn(40, 6).astype("float32")
    y = np.zeros(40)
    forms = {
        "array": x,
        "tuple": (x,),
        "dict": {"features": x},
        "dataset": tf.data.Dataset.from_tensor_slices(x).batch(8),
        "labelled dataset": tf.data.Dataset.from_tensor_slices((x, y)).batch(8),
        "generator": (x[i:i + 10] for i in range(0, 40, 10)),
    }
    for name, data in forms.items():
        result = calibrate(qdense, data, method="entropy")
        assert result.samples == 40, name


@pytest.mark.parametrize(
    "data, match",
    [
        (np.zeros((4, 5), "float32"), "features.*shape"),
        (np.full((4, 6), "a"), "'features'.*dtype <U1"),
        (np.full((4, 6), np.nan, "float32"), "NaN"),
        (np.zeros((0, 6), "float32"), "'features'.*shape \\[0, 6\\]"),
        (iter([]), "empty"),
        ({"other": np.zeros((4, 6), "float32"), "x": np.zeros((4, 6))}, "missing \\['features'\\], with unknown \\['other', 'x'\\]"),
        (tf.data.Dataset.from_tensor_slices(np.zeros((4, 6), "float32")), "batch dimension included.*shape \\[6\\]"),
        (42, "Received: int"),
    ],
    ids=["shape", "dtype", "nan", "empty-array", "empty-generator", "dict-keys", "unbatched", "type"],
)
def test_bad_data_raises_calibration_error(qdense, data, match):
    with pytest.raises(CalibrationError, match=match):
        calibrate(qdense, data)


def test_bad_method(qdense):
    with pytest.raises(CalibrationError, match="method"):
        calibrate(qdense, np.zeros((2, 6), "float32"), method="kl")
