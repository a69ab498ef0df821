"""TensorRTRunner's logic through Polygraphy's TrtRunner, on a fake TensorRT 10 module: no GPU needed."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from tests.engines.fake_tensorrt import plan
from tftrt_kit.errors import IncompatiblePlanError, RuntimeInputError

F32 = "float32"


def _runner(spec: bytes):
    from tftrt_kit.engines.tensorrt_runner import TensorRTRunner

    return TensorRTRunner(spec, backend="tensorrt")


def _affine(profiles):
    return plan({"x": {"dtype": F32, "shape": [-1, 3]}}, {"y": {"dtype": F32, "shape": [-1, 3]}}, profiles, "affine")


def test_runs_and_casts_inputs_to_the_plan_dtype(fake):
    with _runner(_affine([{"x": [[1, 3], [4, 3], [8, 3]]}])) as runner:
        x = np.arange(6, dtype=np.float64).reshape(2, 3)
        out = runner({"x": x})
        np.testing.assert_array_equal(out["y"], (2 * x + 1).astype(np.float32))
        assert out["y"].dtype == np.float32
        again = runner({"x": np.zeros((1, 3), np.float32)})
        # Results are copies: the next call does not overwrite what the previous one returned.
        np.testing.assert_array_equal(out["y"], (2 * x + 1).astype(np.float32))
        assert again["y"].shape == (1, 3)


def test_shape_outside_every_profile_names_input_shape_and_profiles(fake):
    with _runner(_affine([{"x": [[1, 3], [4, 3], [8, 3]]}])) as runner:
        with pytest.raises(RuntimeInputError, match=r"#0 x: 1x3 / 4x3 / 8x3\. Received: x shape \[9, 3\]"):
            runner({"x": np.ones((9, 3), np.float32)})
        # The runner is still usable afterwards.
        assert runner({"x": np.ones((8, 3), np.float32)})["y"].shape == (8, 3)


def test_wrong_static_dimension_is_named(fake):
    with _runner(_affine([{"x": [[1, 3], [4, 3], [8, 3]]}])) as runner:
        with pytest.raises(RuntimeInputError, match=r"input 'x' of shape \[-1, 3\].*Received: shape \[2, 5\]"):
            runner({"x": np.ones((2, 5), np.float32)})
        with pytest.raises(RuntimeInputError, match=r"Received: shape \[3\]"):
            runner({"x": np.ones(3, np.float32)})


def test_profile_is_chosen_per_call(fake):
    profiles = [{"x": [[1, 3], [2, 3], [4, 3]]}, {"x": [[5, 3], [16, 3], [32, 3]]}]
    with _runner(_affine(profiles)) as runner:
        assert [p["x"][2] for p in runner.profiles] == [(4, 3), (32, 3)]
        context = runner._runner.context
        for batch, expected in [(2, 0), (20, 1), (32, 1), (1, 0)]:
            x = np.full((batch, 3), batch, np.float32)
            np.testing.assert_array_equal(runner({"x": x})["y"], 2 * x + 1)
            assert context.active_optimization_profile == expected


def test_shape_tensor_input_is_read_from_host_and_checked_against_profile_values(fake):
    spec = plan(
        {"x": {"dtype": F32, "shape": [6]}, "shape": {"dtype": "int64", "shape": [2], "shape_tensor": True}},
        {"y": {"dtype": F32, "shape": [-1, -1]}},
        [{"shape": [[1, 1], [2, 3], [6, 6]]}],
        "reshape",
    )
    with _runner(spec) as runner:
        assert runner.shape_tensor_inputs == {"shape"}
        x = np.arange(6, dtype=np.float32)
        np.testing.assert_array_equal(runner({"x": x, "shape": np.array([3, 2])})["y"], x.reshape(3, 2))
        with pytest.raises(RuntimeInputError, match=r"shape values \[1, 7\]"):
            runner({"x": x, "shape": np.array([1, 7])})


def test_data_dependent_output_shape_comes_from_the_output_allocator(fake):
    spec = plan({"x": {"dtype": F32, "shape": [-1]}}, {"idx": {"dtype": "int64", "shape": [-1]}}, [{"x": [[1], [8], [16]]}], "positive_indices")
    with _runner(spec) as runner:
        for x in (np.array([1, -1, 2, 0, 3], np.float32), np.array([-1], np.float32), np.ones(16, np.float32)):
            out = runner({"x": x})["idx"]
            np.testing.assert_array_equal(out, np.flatnonzero(x > 0))
            assert out.dtype == np.int64


def test_close_frees_every_device_buffer_and_the_stream(fake):
    runner = _runner(_affine([{"x": [[1, 3], [4, 3], [8, 3]]}]))
    runner({"x": np.ones((4, 3), np.float32)})
    assert fake.live and fake.streams
    runner.close()
    assert fake.live == {} and fake.streams == set()
    runner.close()  # idempotent
    with pytest.raises(RuntimeInputError, match="after close"):
        runner({"x": np.ones((1, 3), np.float32)})


def test_collected_runner_frees_its_device_memory(fake):
    runner = _runner(_affine([{"x": [[1, 3], [4, 3], [8, 3]]}]))
    runner({"x": np.ones((2, 3), np.float32)})
    del runner
    gc.collect()
    assert fake.live == {} and fake.streams == set()


def test_plan_that_does_not_deserialize_carries_tensorrts_message(fake):
    with pytest.raises(IncompatiblePlanError, match="magic tag does not match"):
        _runner(b"not a plan at all")
    assert fake.live == {}


def test_missing_input_is_named(fake):
    with _runner(_affine([{"x": [[1, 3], [4, 3], [8, 3]]}])) as runner:
        with pytest.raises(RuntimeInputError, match=r"missing \['x'\]"):
            runner({"z": np.ones((1, 3), np.float32)})


def test_binding_is_scoped_to_the_call(fake):
    """Polygraphy speaks to the fake module only inside our calls; its own global choice is restored."""
    from polygraphy import config
    from polygraphy.backend.trt import runner as polygraphy_runner

    before = (polygraphy_runner.trt, config.USE_TENSORRT_RTX)
    with _runner(_affine([{"x": [[1, 3], [4, 3], [8, 3]]}])) as runner:
        runner({"x": np.ones((1, 3), np.float32)})
        assert (polygraphy_runner.trt, config.USE_TENSORRT_RTX) == before
