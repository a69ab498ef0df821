"""Fuzzing the runtime's input checks: only RuntimeInputError escapes, and valid inputs always pass."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tftrt_kit.errors import RuntimeInputError
from tftrt_kit.runtime import InputChecker
from tftrt_kit.source import TensorSpec

DTYPES = ["float16", "float32", "float64", "int8", "uint8", "int32", "int64", "bool"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

spec_shapes = st.lists(st.one_of(st.none(), st.integers(1, 4)), max_size=4).map(tuple)
specs = st.lists(
    st.tuples(st.sampled_from(DTYPES), spec_shapes), min_size=1, max_size=3
).map(lambda items: [TensorSpec(f"in_{i}", dtype, shape) for i, (dtype, shape) in enumerate(items)])
any_dtype = st.one_of(
    hnp.scalar_dtypes(),
    st.sampled_from([np.dtype("U3"), np.dtype("S2"), np.dtype("O"), np.dtype("complex64")]),
)
any_array = any_dtype.flatmap(lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4)))
junk = st.one_of(any_array, st.none(), st.text(max_size=5), st.integers(), st.floats(), st.lists(st.lists(st.floats(), max_size=3), max_size=3))


@FUZZ
@given(specs=specs, data=st.data())
def test_random_feeds_raise_only_runtime_input_error(specs, data):
    names = [s.name for s in specs] + ["other"]
    feeds = data.draw(st.dictionaries(st.sampled_from(names), junk, max_size=4))
    try:
        checked = InputChecker(specs)(feeds, {})
    except RuntimeInputError as err:
        assert str(err).startswith("Expected")
        return
    assert set(checked) == {s.name for s in specs}


def _valid_array(spec: TensorSpec) -> st.SearchStrategy:
    shape = st.tuples(*[st.integers(1, 3) if d is None else st.just(d) for d in spec.shape])
    if np.dtype(spec.dtype).kind == "f":
        # Half-precision values fit every float input; larger finite values may overflow it (refused).
        dtype = st.sampled_from(["float16", "float32", "float64"])
        return st.tuples(dtype, shape).flatmap(lambda pair: hnp.arrays(pair[0], pair[1], elements=st.floats(width=16)))
    return shape.flatmap(lambda dims: hnp.arrays(spec.dtype, dims))


@FUZZ
@given(specs=specs, data=st.data())
def test_valid_feeds_always_pass(specs, data):
    feeds = {s.name: data.draw(_valid_array(s)) for s in specs}
    checked = InputChecker(specs)(feeds, {})
    for spec in specs:
        assert checked[spec.name].dtype == np.dtype(spec.dtype)
        assert checked[spec.name].shape == feeds[spec.name].shape
