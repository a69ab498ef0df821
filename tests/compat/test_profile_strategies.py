"""TF-TRT's dynamic_shape_profile_strategy, exactly, over the shapes build(input_fn) saw."""

import pytest

from tftrt_kit.compat.profile_strategies import strategy_profiles
from tftrt_kit.errors import ConfigError

# TF-TRT's DynamicInputShapes test feeds these shapes, in this order, to build().
SEEN = [{"x": s} for s in [(1, 5, 5, 1), (10, 5, 5, 1), (3, 5, 5, 1), (1, 5, 5, 1), (1, 3, 1, 1), (2, 9, 9, 1)]]


def test_range_is_one_profile_from_the_elementwise_min_to_max_with_opt_max():
    assert strategy_profiles(SEEN, "Range") == [{"x": ((1, 3, 1, 1), (10, 9, 9, 1), (10, 9, 9, 1))}]


def test_optimal_is_one_fixed_profile_per_distinct_shape_in_order():
    profiles = strategy_profiles(SEEN, "optimal")
    assert [p["x"][0] for p in profiles] == [(1, 5, 5, 1), (10, 5, 5, 1), (3, 5, 5, 1), (1, 3, 1, 1), (2, 9, 9, 1)]
    assert all(p["x"][0] == p["x"][1] == p["x"][2] for p in profiles)


def test_range_optimal_is_optimal_then_range():
    profiles = strategy_profiles(SEEN, "Range+Optimal")
    assert profiles[:-1] == strategy_profiles(SEEN, "Optimal") and profiles[-1:] == strategy_profiles(SEEN, "Range")


def test_implicit_batch_compatible_sets_min_batch_1_per_shape():
    profiles = strategy_profiles(SEEN, "ImplicitBatchModeCompatible")
    assert profiles[1]["x"] == ((1, 5, 5, 1), (10, 5, 5, 1), (10, 5, 5, 1))
    assert len(profiles) == 5


def test_inputs_with_different_leading_sizes_keep_their_own_profile():
    seen = [{"a": (2, 3), "b": (5, 3)}, {"a": (4, 3), "b": (1, 3)}]
    assert strategy_profiles(seen, "Range") == [{"a": ((2, 3), (4, 3), (4, 3)), "b": ((1, 3), (5, 3), (5, 3))}]


def test_strategy_errors():
    with pytest.raises(ConfigError, match="dynamic_shape_profile_strategy"):
        strategy_profiles(SEEN, "Widest")
    with pytest.raises(ConfigError, match="input 'x' differs"):
        strategy_profiles([{"x": (1, 2)}, {"x": (1, 2, 3)}], "Range")
