"""config.pbtxt rendering and validation against Triton's ModelConfig schema."""

from __future__ import annotations

import pytest

from tftrt_kit.errors import ConfigError
from tftrt_kit.source import TensorSpec
from tftrt_kit.triton.config import BatchingOptions, ModelConfig, ModelConfigError, parse_config, triton_dtype

mc = pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="tritonclient (extra 'serve') is not installed")

IMAGE = TensorSpec("image", "float32", (None, 16, 16, 3))
LOGITS = TensorSpec("logits", "float16", (None, 5))


def test_batch_dimension_folds_into_max_batch_size():
    config = ModelConfig("m", [IMAGE], [LOGITS], platform="onnxruntime_onnx", batching=BatchingOptions(max_batch_size=8))
    parsed = parse_config(config.to_pbtxt(), "m")
    assert parsed.max_batch_size == 8
    assert list(parsed.input[0].dims) == [16, 16, 3]
    assert parsed.input[0].data_type == mc.TYPE_FP32
    assert parsed.output[0].data_type == mc.TYPE_FP16
    assert list(parsed.dynamic_batching.preferred_batch_size) == [4, 8]
    assert parsed.instance_group[0].kind == mc.ModelInstanceGroup.KIND_CPU


def test_static_batch_has_no_batching_and_full_dims():
    static = TensorSpec("x", "int32", (2, 3))
    parsed = parse_config(ModelConfig("m", [static], [static], backend="python", batched=False, gpu=True).to_pbtxt(), "m")
    assert parsed.max_batch_size == 0 and list(parsed.input[0].dims) == [2, 3]
    assert not parsed.HasField("dynamic_batching")
    assert parsed.instance_group[0].kind == mc.ModelInstanceGroup.KIND_GPU


def test_per_sample_scalar_is_reshaped_and_dynamic_dims_are_minus_one():
    scalar, ragged = TensorSpec("s", "float32", (None,)), TensorSpec("r", "float32", (None, None, 4))
    parsed = parse_config(ModelConfig("m", [scalar, ragged], [ragged], backend="python").to_pbtxt(), "m")
    assert list(parsed.input[0].dims) == [1] and parsed.input[0].HasField("reshape")
    assert list(parsed.input[1].dims) == [-1, 4]


def test_malformed_config_names_model_and_line():
    text = 'name: "m"\nbackend: "python"\nmax_batch_size: 8\ninstance_group [ { kind: KIND_TPU } ]\n'
    with pytest.raises(ModelConfigError, match=r"model 'm', line 4: 'instance_group \[ \{ kind: KIND_TPU \} \]'"):
        parse_config(text, "m")


def test_config_for_another_model_or_without_outputs_is_refused():
    with pytest.raises(ModelConfigError, match="differs from the model directory"):
        parse_config(ModelConfig("a", [IMAGE], [LOGITS], backend="python").to_pbtxt(), "b")
    with pytest.raises(ModelConfigError, match="no input or no output"):
        parse_config('name: "m"\nbackend: "python"\n', "m")


def test_batching_options_and_dtypes_are_checked():
    with pytest.raises(ConfigError, match="preferred_batch_sizes"):
        BatchingOptions(max_batch_size=4, preferred_batch_sizes=(8,))
    with pytest.raises(ConfigError, match="max_batch_size"):
        BatchingOptions(max_batch_size=0)
    with pytest.raises(ConfigError, match="complex64"):
        triton_dtype("complex64")
    assert BatchingOptions(max_batch_size=32).preferred(32) == (4, 8, 16, 32)


def test_unknown_rank_tensor_is_refused_by_name():
    unknown = TensorSpec("squeezed", "float32", None)
    with pytest.raises(ConfigError, match="output 'squeezed' of unknown rank"):
        ModelConfig("m", [IMAGE], [unknown], backend="python").to_pbtxt()
