"""validate_calibration_data: every accepted form normalizes to batches; every bad one names the input."""

from __future__ import annotations

import numpy as np
import pytest

from tftrt_kit.calibration_data import validate_calibration_data
from tftrt_kit.errors import CalibrationError, QuantizationError
from tftrt_kit.source import TensorSpec

IMAGE = [TensorSpec("image", "float32", (None, 4, 4, 3))]
TWO = [TensorSpec("aux", "float32", (None, 4)), TensorSpec("img", "float32", (None, 8, 8, 3))]


def _images(rows: int = 2, dtype: str = "float32") -> np.ndarray:
    return np.random.default_rng(rows).standard_normal((rows, 4, 4, 3)).astype(dtype)


def _two(rows: int = 2) -> dict[str, np.ndarray]:
    return {"aux": np.ones((rows, 4), np.float32), "img": np.ones((rows, 8, 8, 3), np.float32)}


def _generator():
    yield _images(1)
    yield _images(3)


@pytest.mark.parametrize(
    "data, rows",
    [
        (_images(5, "float64"), [5]),
        ({"image": _images(2)}, [2]),
        ([_images(1), _images(2)], [1, 2]),
        ([{"image": _images(1)}, {"image": _images(2)}], [1, 2]),
        (_generator(), [1, 3]),
        ([(_images(2), np.zeros(2))], [2]),
        (_images(1).tolist(), [1]),
    ],
    ids=["array", "dict", "list-of-arrays", "list-of-dicts", "generator", "features-labels", "nested-list"],
)
def test_accepted_forms(data, rows):
    batches = validate_calibration_data(data, IMAGE)
    assert [b["image"].shape[0] for b in batches] == rows
    assert all(b["image"].dtype == np.float32 for b in batches)


def test_tf_dataset_and_tuple_specs():
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(_two(6)).batch(4)
    batches = validate_calibration_data(dataset, [("aux", (None, 4), "float32"), ("img", (None, 8, 8, 3), "float32")])
    assert [b["img"].shape[0] for b in batches] == [4, 2]


def test_max_batches_bounds_an_endless_generator():
    def endless():
        while True:
            yield _images(1)

    assert len(validate_calibration_data(endless(), IMAGE, max_batches=3)) == 3


@pytest.mark.parametrize(
    "data, specs, names",
    [
        (_images(2)[:, :, :, :2], IMAGE, ["'image'", "shape [None, 4, 4, 3]", "[2, 4, 4, 2]"]),
        (_images(2)[0], IMAGE, ["'image'", "[4, 4, 3]"]),
        (_images(2).astype(np.int32), IMAGE, ["'image'", "float32", "int32"]),
        (_images(2) > 0, IMAGE, ["'image'", "bool"]),
        (np.array(["a", "b"]), IMAGE, ["'image'", "<U1"]),
        (np.where(np.arange(48).reshape(1, 4, 4, 3) == 5, np.nan, 1.0), IMAGE, ["'image'", "1 NaN or Inf", "batch 0"]),
        ([_images(1), np.full((1, 4, 4, 3), np.inf)], IMAGE, ["'image'", "NaN or Inf", "batch 1"]),
        (np.full((1, 4, 4, 3), 1e300), IMAGE, ["'image'", "1e+300 overflow float32", "batch 0"]),
        (np.zeros((0, 4, 4, 3), np.float32), IMAGE, ["'image'", "at least one sample"]),
        ([], IMAGE, ["['image']", "empty list"]),
        (iter(()), IMAGE, ["['image']", "at least one calibration batch"]),
        (None, IMAGE, ["['image']", "None"]),
        (42, IMAGE, ["int"]),
        ({"images": _images(1)}, IMAGE, ["missing ['image']", "unknown ['images']"]),
        ({"aux": np.ones((2, 4), np.float32)}, TWO, ["missing ['img']"]),
        ({**_two(2), "aux": np.ones((3, 4), np.float32)}, TWO, ["'aux': 3", "'img': 2"]),
        (_images(1), TWO, ["['aux', 'img']", "ndarray"]),
        ([[[1.0, 2.0], [3.0]]], IMAGE, ["'image'", "inhomogeneous"]),
    ],
    ids=[
        "wrong-shape", "wrong-rank", "int-for-float", "bool-for-float", "strings", "nan", "inf-in-second-batch",
        "overflow-to-inf", "empty-array", "empty-list", "empty-generator", "none", "not-iterable",
        "wrong-name", "missing-input", "rows-differ", "array-for-two-inputs", "ragged",
    ],
)
def test_bad_calibration_data(data, specs, names):
    with pytest.raises(CalibrationError) as info:
        validate_calibration_data(data, specs)
    assert isinstance(info.value, QuantizationError)
    for name in names:
        assert name in str(info.value), str(info.value)


def test_holdout_split_keeps_every_row_once():
    from tftrt_kit.calibration_data import split_holdout

    batches = [{"x": np.arange(i, i + n, dtype=np.float32)[:, None]} for i, n in ((0, 30), (30, 30), (60, 40))]
    split = split_holdout(batches)
    kept = np.concatenate([b["x"] for b in split.calibration])
    assert np.array_equal(np.concatenate([kept, split.held_out["x"]])[:, 0], np.arange(100))
    assert len(split.held_out["x"]) == 20 and split.description.startswith("calibration_data rows 80-99 of 100, held out")
    big = split_holdout([{"x": np.zeros((1000, 1), np.float32)}])
    assert len(big.held_out["x"]) == 32 and sum(len(b["x"]) for b in big.calibration) == 968
    tiny = split_holdout([{"x": np.zeros((4, 1), np.float32)}])
    assert len(tiny.held_out["x"]) == 4 and "in-sample" in tiny.description and tiny.calibration[0]["x"].shape == (4, 1)
