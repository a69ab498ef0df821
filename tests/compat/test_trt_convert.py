"""TF-TRT's converter contract: parameters, warnings, convert/build/save, INT8 calibration."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import onnx
import pytest

import tftrt_kit
from tests.conftest import tensorrt_rtx_or_skip
from tftrt_kit.compat import trt_convert as trt
from tftrt_kit.evaluate import compare
from tftrt_kit.runtime.artifact import SEGMENT_ASSETS

SHAPE = (16, 16, 3)


def _inputs(*batches, seed=0):
    rng = np.random.default_rng(seed)

    def input_fn():
        for batch in batches:
            yield (rng.normal(size=(batch, *SHAPE)).astype(np.float32),)

    return input_fn


def _manifest(directory):
    return json.loads((directory / SEGMENT_ASSETS / "manifest.json").read_text())


def test_import_loads_no_tensorflow():
    code = "import sys, tftrt_kit.compat; from tftrt_kit.compat import trt_convert, TrtGraphConverterV2; print('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_params_keep_tf_trt_defaults_and_replace():
    params = trt.TrtConversionParams()
    assert params == trt.DEFAULT_TRT_CONVERSION_PARAMS
    assert params == (1 << 30, "FP32", 3, 1, True, True)
    assert params._fields == ("max_workspace_size_bytes", "precision_mode", "minimum_segment_size", "maximum_cached_engines", "use_calibration", "allow_build_at_runtime")
    assert params._replace(precision_mode="FP16").precision_mode == "FP16"
    assert trt.TrtPrecisionMode.supported_precision_modes() == ["FP32", "FP16", "INT8", "fp32", "fp16", "int8"]
    assert tftrt_kit.compat.Converter is trt.TrtGraphConverterV2 and tftrt_kit.compat.TrtConversionParams is trt.TrtConversionParams


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"precision_mode": "INT4"}, "precision_mode"),
        ({"minimum_segment_size": 0}, "minimum_segment_size"),
        ({"dynamic_shape_profile_strategy": "Fastest"}, "dynamic_shape_profile_strategy"),
    ],
)
def test_invalid_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        trt.TrtGraphConverterV2(input_saved_model_dir="unused", **kwargs)


def test_missing_input_dir_raises():
    with pytest.raises(ValueError, match="input_saved_model_dir"):
        trt.TrtGraphConverterV2()


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"input_saved_model_tags": ["serve", "gpu"]}, "input_saved_model_tags"),
        ({"use_dynamic_shape": False}, "use_dynamic_shape"),
        ({"maximum_cached_engines": 16}, "maximum_cached_engines"),
        ({"conversion_params": trt.TrtConversionParams(maximum_cached_engines=4)}, "maximum_cached_engines"),
    ],
)
def test_meaningless_parameters_warn_by_name(kwargs, parameter):
    with pytest.warns(UserWarning, match=f"{parameter}=.* has no effect here"):
        trt.TrtGraphConverterV2(input_saved_model_dir="unused", **kwargs)


def test_meaningful_parameters_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trt.TrtGraphConverterV2(
            input_saved_model_dir="unused", input_saved_model_tags=["serve"], use_dynamic_shape=True,
            dynamic_shape_profile_strategy="range+optimal", precision_mode="fp16", minimum_segment_size=5,
        )


@pytest.fixture(scope="module")
def built(saved_model, tmp_path_factory):
    """A FP16 converter of middle_op after convert() and build() with batches 1, 4 and 8."""
    converter = trt.TrtGraphConverterV2(input_saved_model_dir=str(saved_model("middle_op")), precision_mode="FP16")
    function = converter.convert()
    converter.build(input_fn=_inputs(1, 4, 8))
    return converter, function


def test_converted_function_matches_the_source(built):
    converter, function = built
    source = converter.source
    x = np.random.default_rng(1).normal(size=(3, *SHAPE)).astype(np.float32)
    reference = source.run({"image": x})
    for got in (function(x), function(image=x)):
        assert compare(reference, {k: v.numpy() for k, v in got.items()}, executor="onnxruntime").max_rel_error <= 1e-2


def test_build_is_callable_once_and_after_convert(built, saved_model):
    converter, _ = built
    with pytest.raises(NotImplementedError, match="build\\(\\) is already called"):
        converter.build(input_fn=_inputs(1))
    fresh = trt.TrtGraphConverterV2(input_saved_model_dir=str(saved_model("middle_op")))
    with pytest.raises(RuntimeError, match="input_fn is None"):
        fresh.build(None)
    with pytest.raises(RuntimeError, match="convert\\(\\) before build\\(\\)"):
        fresh.build(input_fn=_inputs(1))
    with pytest.raises(RuntimeError, match="before calling TrtGraphConverterV2.convert"):
        fresh.summary()


def test_build_makes_plans_for_the_profile(built):
    tensorrt_rtx_or_skip()
    converter, _ = built
    segments = [p for p in _manifest(converter.artifact_dir)["parts"] if p["kind"] == "segment"]
    assert len(segments) == 2
    for entry in segments:
        assert entry["plan_file"] and entry["plan_backend"] == "tensorrt_rtx"
        # Range (the default): one profile per plan, from the smallest batch seen to the largest, opt = max.
        (profile,) = entry["tensorrt"]["profiles"]
        assert [(r["min"][0], r["opt"][0], r["max"][0]) for r in profile.values()] == [(1, 8, 8)] * len(profile)
        assert (converter.artifact_dir / SEGMENT_ASSETS / entry["plan_file"]).stat().st_size > 0


def test_save_writes_a_savedmodel_and_warns_for_dropped_engines(built, tmp_path):
    import tensorflow as tf

    converter, _ = built
    with pytest.warns(UserWarning, match="save_gpu_specific_engines=False has no effect here"):
        converter.save(tmp_path / "no_plans", save_gpu_specific_engines=False)
    assert not list((tmp_path / "no_plans").rglob("*.plan"))
    with pytest.warns(UserWarning, match="options=.* has no effect here"):
        converter.save(tmp_path / "no_plans", options=tf.saved_model.SaveOptions())
    x = np.ones((2, *SHAPE), np.float32)
    out = tf.saved_model.load(str(tmp_path / "no_plans")).signatures["serving_default"](tf.constant(x))
    np.testing.assert_allclose(out["output_0"].numpy(), converter.source.run({"image": x})["output_0"], rtol=1e-6)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep")
    with pytest.raises(tftrt_kit.OutputDirError):
        converter.save(tmp_path / "other")


def test_save_before_build_reports_no_runtime_build(saved_model, tmp_path):
    converter = trt.TrtGraphConverterV2(input_saved_model_dir=str(saved_model("small_cnn")))
    converter.convert()
    with pytest.warns(UserWarning, match="allow_build_at_runtime=True has no effect here"):
        converter.save(tmp_path / "out")
    assert tftrt_kit.load(tmp_path / "out").segment_executors == {"seg_0": "onnxruntime[CPU]"}


def test_int8_requires_calibration_input_fn(saved_model):
    converter = trt.TrtGraphConverterV2(input_saved_model_dir=str(saved_model("middle_op")), precision_mode=trt.TrtPrecisionMode.INT8)
    with pytest.raises(ValueError, match="Should specify calibration_input_fn"):
        converter.convert()
    fp32 = trt.TrtGraphConverterV2(input_saved_model_dir=str(saved_model("middle_op")))
    with pytest.raises(ValueError, match="Should not specify calibration_input_fn"):
        fp32.convert(calibration_input_fn=_inputs(4))


def test_int8_calibration_rejects_inputs_of_the_wrong_shape(saved_model):
    converter = trt.TrtGraphConverterV2(input_saved_model_dir=str(saved_model("middle_op")), precision_mode="INT8")

    def wrong():
        yield (np.zeros((2, 8, 8, 3), np.float32),)

    with pytest.raises(ValueError, match="input_fn to yield inputs matching the signature"):
        converter.convert(calibration_input_fn=wrong)


def test_int8_with_calibration_quantizes_every_segment(saved_model):
    converter = trt.TrtGraphConverterV2(input_saved_model_dir=str(saved_model("middle_op")), precision_mode="INT8")
    converter.convert(calibration_input_fn=_inputs(8, 8, 8))
    result = converter.route_result
    assert result.details["quantization"]["calibration_samples"] == 24
    for entry in (p for p in _manifest(converter.artifact_dir)["parts"] if p["kind"] == "segment"):
        ops = {n.op_type for n in onnx.load(str(converter.artifact_dir / SEGMENT_ASSETS / entry["onnx_file"])).graph.node}
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    x = next(_inputs(16, seed=5)())[0]
    got = tftrt_kit.load(converter.artifact_dir)({"image": x})
    assert compare(converter.source.run({"image": x}), got, executor="onnxruntime").cosine >= 0.99


def test_int8_without_calibration_uses_graph_qdq_and_warns(saved_model):
    converter = trt.TrtGraphConverterV2(input_saved_model_dir=str(saved_model("middle_op")), precision_mode="INT8", use_calibration=False)
    with pytest.warns(UserWarning, match="use_calibration=False expects quantization nodes"):
        converter.convert()
    assert converter.route_result.precision == "fp32"
    for entry in (p for p in _manifest(converter.artifact_dir)["parts"] if p["kind"] == "segment"):
        ops = {n.op_type for n in onnx.load(str(converter.artifact_dir / SEGMENT_ASSETS / entry["onnx_file"])).graph.node}
        assert "QuantizeLinear" not in ops


@pytest.mark.parametrize("strategy, count", [("Range", 1), ("Optimal", 3), ("Range+Optimal", 4), ("ImplicitBatchModeCompatible", 3)])
def test_build_profiles_per_input_whatever_its_leading_size(strategy, count, tmp_path):
    """Two inputs with their own leading sizes (TF-TRT's build() allowed it): each plan gets the strategy's profiles."""
    tensorrt_rtx_or_skip()
    import tensorflow as tf

    module = tf.Module()
    module.w = tf.constant(np.random.default_rng(0).normal(size=(4, 6)), tf.float32)

    @tf.function(input_signature=[tf.TensorSpec((None, 4), tf.float32, name="a"), tf.TensorSpec((None, 4), tf.float32, name="b")])
    def serve(a, b):
        left = tf.nn.relu(tf.matmul(a, module.w) + 1.0)
        right = tf.nn.relu(tf.matmul(b, module.w) - 1.0)
        return {"y": tf.reduce_sum(left, axis=0) + tf.reduce_sum(right, axis=0)}

    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": serve})
    converter = trt.TrtGraphConverterV2(input_saved_model_dir=str(tmp_path / "sm"), dynamic_shape_profile_strategy=strategy, minimum_segment_size=2)
    converter.convert()
    rng = np.random.default_rng(1)
    sizes = [(2, 5), (4, 1), (2, 5), (8, 3)]
    converter.build(input_fn=lambda: ((rng.normal(size=(m, 4)).astype(np.float32), rng.normal(size=(n, 4)).astype(np.float32)) for m, n in sizes))
    segments = [p for p in _manifest(converter.artifact_dir)["parts"] if p["kind"] == "segment"]
    assert segments and all(entry["plan_file"] for entry in segments)
    for entry in segments:
        profiles = entry["tensorrt"]["profiles"]
        assert len(profiles) == count
        leading = sorted({(r["min"][0], r["max"][0]) for p in profiles for r in p.values()})
        if strategy == "Range":
            assert set(leading) <= {(2, 8), (1, 5)} and len(leading) >= 1
    feeds = {"a": rng.normal(size=(4, 4)).astype(np.float32), "b": rng.normal(size=(1, 4)).astype(np.float32)}
    expected = converter.source.run(feeds)
    np.testing.assert_allclose(converter._runtime_model()(feeds)["y"], expected["y"], rtol=1e-4, atol=1e-4)
