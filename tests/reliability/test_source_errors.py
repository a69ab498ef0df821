"""Bad sources: each case raises SourceError (or, for what only the onnx route cannot take, ExportError) naming the path, signature or input at fault."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import tensorflow as tf

from tftrt_kit.errors import ExportError, SourceError, TftrtKitError
from tftrt_kit.export import export_source
from tftrt_kit.source import load_source


def _raises_naming(thing: str, call, *args, **kwargs) -> str:
    with pytest.raises(SourceError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert isinstance(info.value, TftrtKitError)
    assert thing in message, message
    assert message.startswith("Expected") and "Received:" in message
    return message


def _save(module: tf.Module, path, signatures=None) -> None:
    tf.saved_model.save(module, str(path), signatures=signatures)


def _copy(saved_model, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(saved_model("small_cnn"), copy)
    return copy


def test_missing_path(tmp_path):
    _raises_naming(str(tmp_path / "nope"), load_source, tmp_path / "nope")


def test_file_where_a_directory_is_expected(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"x")
    _raises_naming(str(path), load_source, path)


def test_saved_model_pb_instead_of_its_directory(saved_model, tmp_path):
    pb = _copy(saved_model, tmp_path) / "saved_model.pb"
    message = _raises_naming(str(pb), load_source, pb)
    assert f"pass the SavedModel directory {str(pb.parent)!r}" in message


def test_empty_directory(tmp_path):
    message = _raises_naming(str(tmp_path), load_source, tmp_path)
    assert "saved_model.pb" in message and "nothing" in message


@pytest.mark.parametrize("damage", ["truncated", "random", "empty"])
def test_damaged_saved_model_pb(saved_model, tmp_path, damage):
    copy = _copy(saved_model, tmp_path)
    pb = copy / "saved_model.pb"
    data = pb.read_bytes()
    pb.write_bytes({"truncated": data[: len(data) // 3], "random": np.random.default_rng(0).bytes(4096), "empty": b""}[damage])
    message = _raises_naming(str(pb), load_source, copy)
    assert re.search("not a SavedModel protobuf|holds no MetaGraph", message) and "export the model again" in message


def test_missing_variables_directory(saved_model, tmp_path):
    copy = _copy(saved_model, tmp_path)
    shutil.rmtree(copy / "variables")
    message = _raises_naming(str(copy / "variables"), load_source, copy)
    assert "variables/ included" in message


def test_no_signatures(tmp_path):
    module = tf.Module()
    module.v = tf.Variable(1.0)
    _save(module, tmp_path)
    message = _raises_naming(str(tmp_path), load_source, tmp_path)
    assert "at least one signature" in message and "signatures=" in message


def test_unknown_signature_name(saved_model):
    message = _raises_naming("signature='nope'", load_source, saved_model("small_cnn"), signature="nope")
    assert "available: " in message and "'serving_default'" in message


def _onnx_refusal_naming(thing: str, path) -> str:
    """Sources TensorFlow runs load (issue 14); the onnx route's export is what refuses them."""
    with pytest.raises(ExportError) as info:
        export_source(load_source(path))
    message = str(info.value)
    assert thing in message and message.startswith("Expected") and "Received:" in message and "segment route" in message
    return message


def test_string_input(tmp_path):
    module = tf.Module()
    module.f = tf.function(lambda s: {"n": tf.strings.length(s)}, input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    _save(module, tmp_path, {"serving_default": module.f})
    assert "dtype string" in _onnx_refusal_naming("input 'text'", tmp_path)


def test_resource_input(tmp_path):
    module = tf.Module()
    module.v = tf.Variable(1.0)
    read = tf.function(
        lambda handle: {"y": tf.raw_ops.ReadVariableOp(resource=handle, dtype=tf.float32)},
        input_signature=[tf.TensorSpec([], tf.resource, name="handle")],
    )
    module.f = read
    _save(module, tmp_path, {"serving_default": module.f})
    assert "dtype resource" in _raises_naming("input 'handle'", load_source, tmp_path)


def test_unknown_rank_input(tmp_path):
    module = tf.Module()
    module.f = tf.function(lambda x: {"y": x + 1.0}, input_signature=[tf.TensorSpec(None, tf.float32, name="x")])
    _save(module, tmp_path, {"serving_default": module.f})
    assert "unknown rank" in _onnx_refusal_naming("input 'x'", tmp_path)


def test_not_a_model_object():
    _raises_naming("dict", load_source, {"weights": 1})
