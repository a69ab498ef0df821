"""Optimization profiles from shapes=, sample_data, the CLI flags and TF-TRT's strategies."""

import numpy as np
import pytest

from tftrt_kit.errors import ConfigError
from tftrt_kit.profile_flags import parse_shape_flags
from tftrt_kit.profiles import (
    ProfilePlan,
    fits,
    format_profile,
    resolve_profiles,
)
from tftrt_kit.source import TensorSpec

IDS = TensorSpec("ids", "int32", (None, None))
MASK = TensorSpec("mask", "int32", (None, None))
IMAGE = TensorSpec("image", "float32", (None, None, None, 3))
RANGE = {"min": (1, 8), "opt": (8, 128), "max": (32, 512)}


def test_user_shapes_become_one_profile_over_every_input():
    plan = resolve_profiles([IDS, MASK], {"ids": RANGE, "mask": RANGE})
    assert plan.buildable and plan.origin == "shapes="
    assert plan.profiles == ({"ids": ((1, 8), (8, 128), (32, 512)), "mask": ((1, 8), (8, 128), (32, 512))},)
    assert plan.opt_shapes() == {"ids": (8, 128), "mask": (8, 128)}


def test_a_list_gives_several_profiles_and_a_single_shape_is_fixed():
    plan = resolve_profiles([IMAGE], [{"image": (1, 224, 224, 3)}, {"image": {"min": (1, 64, 64, 3), "opt": (4, 96, 96, 3), "max": (8, 128, 128, 3)}}])
    assert plan.profiles[0]["image"] == ((1, 224, 224, 3),) * 3
    assert plan.profiles[1]["image"][2] == (8, 128, 128, 3)


def test_only_a_dynamic_batch_defaults_to_1_8_32():
    plan = resolve_profiles([TensorSpec("x", "float32", (None, 5))])
    assert plan.origin == "default" and plan.profiles == ({"x": ((1, 5), (8, 5), (32, 5))},)


def test_static_model_has_no_profile():
    plan = resolve_profiles([TensorSpec("x", "float32", (2, 5))])
    assert plan.profiles == () and plan.buildable and plan.no_plan_reason is None


def test_sample_data_sizes_the_other_dynamic_dims_and_widens_the_batch():
    plan = resolve_profiles([IMAGE], sample_data={"image": np.zeros((40, 32, 48, 3), np.float32)})
    assert plan.origin == "sample_data"
    assert plan.profiles[0]["image"] == ((1, 32, 48, 3), (8, 32, 48, 3), (40, 32, 48, 3))


def test_an_unnamed_input_follows_the_named_inputs_batch():
    plan = resolve_profiles([IDS, TensorSpec("scale", "float32", (None, 1))], {"ids": RANGE})
    assert plan.profiles[0]["scale"] == ((1, 1), (8, 1), (32, 1))


def test_a_dynamic_dim_without_a_size_means_no_plan_and_says_how_to_fix_it():
    plan = resolve_profiles([IDS, MASK], {"ids": RANGE})
    assert not plan.buildable and plan.profiles == ()
    assert plan.missing == ("input 'mask' dim 1",)
    assert plan.no_plan_reason.startswith("pass shapes=")
    assert "'mask': {'min': (1, ?)" in plan.no_plan_reason and "'ids': {'min': (1, 8)" in plan.no_plan_reason


@pytest.mark.parametrize(
    "shapes, fragment",
    [
        ({"idz": (1, 2)}, "unknown input(s) ['idz']"),
        ({"ids": (1, 2, 3)}, "shapes['ids'] min shape of rank 2"),
        ({"ids": {"min": (2, 2), "opt": (1, 2), "max": (3, 3)}}, "min <= opt <= max"),
        ({"ids": {"min": (1, 2)}}, '"min", "opt" and "max"'),
        ({"ids": (0, 2)}, "positive ints"),
        ({"ids": (1.5, 2)}, "positive ints"),
        ("ids:1x8", "Received: shapes of type str"),
        ([], "non-empty list"),
    ],
)
def test_bad_shapes_name_the_input(shapes, fragment):
    with pytest.raises(ConfigError, match=None) as err:
        resolve_profiles([IDS, MASK], shapes)
    assert fragment in str(err.value)


def test_a_static_dim_cannot_be_resized():
    with pytest.raises(ConfigError, match=r"static dims of input shape \[None, None, None, 3\].*dim 3"):
        resolve_profiles([IMAGE], {"image": (1, 8, 8, 4)})


def test_plan_round_trips_through_json():
    plan = resolve_profiles([IDS, MASK], [{"ids": RANGE, "mask": RANGE}, {"ids": (1, 4), "mask": (1, 4)}])
    assert ProfilePlan.from_dict(plan.to_dict()) == plan
    missing = resolve_profiles([IDS])
    assert ProfilePlan.from_dict(missing.to_dict()) == missing


def test_fits_and_format():
    profile = resolve_profiles([IDS], {"ids": RANGE}).profiles[0]
    assert fits(profile, {"ids": (8, 128)}) and fits(profile, {"ids": (32, 512)})
    assert not fits(profile, {"ids": (33, 128)}) and not fits(profile, {"ids": (8, 7)}) and not fits(profile, {"ids": (8,)})
    assert format_profile(profile) == "ids: 1x8 / 8x128 / 32x512"


def test_cli_flags_as_trtexec_spells_them():
    shapes = parse_shape_flags("ids:1x8,serving_default_x:0:1x3", "ids:8x128,serving_default_x:0:2x3", "ids:32x512,serving_default_x:0:4x3")
    assert shapes == {"ids": RANGE, "serving_default_x:0": {"min": (1, 3), "opt": (2, 3), "max": (4, 3)}}
    assert parse_shape_flags(None, None, None) is None
    with pytest.raises(ConfigError, match="missing from --opt-shapes, --max-shapes"):
        parse_shape_flags("ids:1x8", None, None)
    with pytest.raises(ConfigError, match="'ids:1xa'"):
        parse_shape_flags("ids:1xa", "ids:1x1", "ids:1x1")


def test_unknown_rank_needs_shapes_or_sample_data():
    spec = TensorSpec("x", "float32", None)
    plan = resolve_profiles([spec])
    assert plan.missing == ("input 'x' (unknown rank)",) and "'x': {'min': (...)" in plan.no_plan_reason
    assert resolve_profiles([spec], {"x": {"min": (1, 3), "opt": (2, 3), "max": (4, 3)}}).profiles[0]["x"][2] == (4, 3)
    assert resolve_profiles([spec], sample_data={"x": np.zeros((2, 5))}).profiles[0]["x"] == ((1, 5), (8, 5), (32, 5))
    with pytest.raises(ConfigError, match="of one rank"):
        resolve_profiles([spec], {"x": {"min": (1,), "opt": (2, 3), "max": (4, 3)}})
