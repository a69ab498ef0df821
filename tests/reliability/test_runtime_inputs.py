"""InputChecker: every malformed call raises RuntimeInputError naming the input; valid calls pass."""

from __future__ import annotations

import numpy as np
import pytest

from tftrt_kit.errors import RuntimeInputError
from tftrt_kit.runtime import InputChecker
from tftrt_kit.source import TensorSpec

IMAGE = TensorSpec("image", "float32", (None, 4, 4, 3))
IDS = TensorSpec("ids", "int32", (None, 6))
MASK = TensorSpec("mask", "bool", (None, 6))


def _good(batch: int = 2) -> dict[str, np.ndarray]:
    return {"image": np.zeros((batch, 4, 4, 3), np.float32), "ids": np.ones((batch, 6), np.int32), "mask": np.ones((batch, 6), bool)}


class _Opaque:
    pass


@pytest.mark.parametrize(
    "change, names",
    [
        ({"image": None}, ["'image'", "object"]),
        ({"image": _Opaque()}, ["'image'", "_Opaque"]),
        ({"image": "pixels"}, ["'image'", "<U6"]),
        ({"image": [[1.0, 2.0], [3.0]]}, ["'image'", "inhomogeneous"]),
        ({"image": np.zeros((2, 4, 4, 3), np.complex64)}, ["'image'", "complex64"]),
        ({"image": np.zeros((2, 4, 4), np.float32)}, ["'image'", "[None, 4, 4, 3]", "[2, 4, 4]"]),
        ({"image": np.zeros((2, 4, 4, 3, 1), np.float32)}, ["'image'", "[2, 4, 4, 3, 1]"]),
        ({"image": np.zeros((2, 5, 4, 3), np.float32)}, ["'image'", "[2, 5, 4, 3]"]),
        ({"image": np.zeros((0, 4, 4, 3), np.float32)}, ["'image'", "at least one sample"]),
        ({"image": np.zeros((2, 4, 4, 3), bool)}, ["'image'", "float32", "bool"]),
        ({"image": np.zeros((2, 4, 4, 3), np.int64)}, ["'image'", "float32", "int64"]),
        ({"ids": np.ones((2, 6), np.float32)}, ["'ids'", "int32", "float32"]),
        ({"ids": np.full((2, 6), 2**40, np.int64)}, ["'ids'", "outside int32's range"]),
        ({"mask": np.ones((2, 6), np.float32)}, ["'mask'", "bool", "float32"]),
        ({"mask": np.ones((2, 6), np.int8)}, ["'mask'", "bool", "int8"]),
    ],
    ids=[
        "none", "object", "string", "ragged", "complex", "rank-too-low", "rank-too-high", "static-dim", "empty",
        "bool-for-float", "int-for-float", "float-for-int", "int-overflow", "float-for-bool", "int-for-bool",
    ],
)
def test_bad_values(change, names):
    with pytest.raises(RuntimeInputError) as info:
        InputChecker([IMAGE, IDS, MASK])({**_good(), **change}, {})
    for name in names:
        assert name in str(info.value), str(info.value)


def test_missing_and_extra_inputs_are_named():
    check = InputChecker([IMAGE, IDS, MASK])
    good = _good()
    with pytest.raises(RuntimeInputError, match=r"missing \['ids'\]"):
        check({"image": good["image"], "mask": good["mask"]}, {})
    with pytest.raises(RuntimeInputError, match=r"unexpected \['extra'\]"):
        check(good, {"extra": good["image"]})
    with pytest.raises(RuntimeInputError, match=r"unexpected \['7'\]"):
        check({**good, 7: good["image"]}, {})


def test_feeds_that_are_not_a_dict():
    with pytest.raises(RuntimeInputError, match=r"\['image', 'ids', 'mask'\].*ndarray"):
        InputChecker([IMAGE, IDS, MASK])(np.zeros((2, 4, 4, 3), np.float32), {})
    with pytest.raises(RuntimeInputError, match="'image'.*str"):
        InputChecker([IMAGE])("image", {})


def test_valid_inputs_pass_and_are_cast():
    checked = InputChecker([IMAGE, IDS, MASK])(
        {"image": np.zeros((3, 4, 4, 3), np.float64), "ids": np.ones((3, 6), np.uint8)}, {"mask": [[True] * 6] * 3}
    )
    assert {k: (v.dtype.name, v.shape) for k, v in checked.items()} == {
        "image": ("float32", (3, 4, 4, 3)), "ids": ("int32", (3, 6)), "mask": ("bool", (3, 6)),
    }
    single = InputChecker([IMAGE])(np.ones((1, 4, 4, 3), np.float16), {})
    assert single["image"].dtype == np.float32


def test_loaded_artifact_names_the_input(onnx_artifact):
    import tftrt_kit

    model = tftrt_kit.load(onnx_artifact)
    assert model(np.zeros((2, 16, 16, 3), np.float32))["output_0"].shape == (2, 5)
    with pytest.raises(RuntimeInputError, match="'image'.*bool"):
        model(image=np.zeros((1, 16, 16, 3), bool))
    with pytest.raises(RuntimeInputError, match="'image'.*inhomogeneous"):
        model(image=[[0.0], [0.0, 1.0]])


def test_float64_values_that_overflow_float32_are_refused():
    from tftrt_kit.errors import RuntimeInputError
    from tftrt_kit.runtime import InputChecker
    from tftrt_kit.source import TensorSpec

    check = InputChecker([TensorSpec("x", "float32", (None, 2))])
    with pytest.raises(RuntimeInputError, match=r"'x'.*overflow float32"):
        check({"x": np.array([[1.0, 1e300]])}, {})
    assert check({"x": np.array([[1.0, np.inf]])}, {})["x"].dtype == np.float32
