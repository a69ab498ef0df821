"""Loading sources: SavedModel, keras.Model, .keras file, and every bad input."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tests.models import build
from tftrt_kit.errors import ExportError, SourceError
from tftrt_kit.export import export_source
from tftrt_kit.source import TensorSpec, load_source


def test_saved_model_specs_and_frozen_graph(source_of):
    source = source_of("two_inputs_two_outputs")
    assert [s.name for s in source.inputs] == ["aux", "img"]
    assert source.inputs[1].shape == (None, 8, 8, 3)
    assert [s.name for s in source.outputs] == ["output_0", "output_1"]
    ops = {n.op for n in source.graph_def.node}
    assert "Placeholder" in ops and "VarHandleOp" not in ops and "ReadVariableOp" not in ops
    assert len(source.input_tensors) == 2 and len(source.output_tensors) == 2
    assert "signature='serving_default'" in repr(source) and "img:float32[None, 8, 8, 3]" in repr(source)


def test_frozen_graph_matches_signature(source_of):
    source = source_of("small_cnn")
    feeds = {"image": np.random.default_rng(0).standard_normal((2, 16, 16, 3)).astype("float32")}
    expected = source.signature(image=tf.constant(feeds["image"]))["output_0"].numpy()
    frozen = tf.compat.v1.wrap_function(lambda: tf.graph_util.import_graph_def(source.frozen_graph_def(), name=""), [])
    fetch = frozen.prune(frozen.graph.get_tensor_by_name(source.input_tensors[0]), frozen.graph.get_tensor_by_name(source.output_tensors[0]))
    np.testing.assert_allclose(fetch(tf.constant(feeds["image"])).numpy(), expected, rtol=1e-6, atol=1e-6)


def test_keras_model_and_keras_file(tmp_path):
    model = build("small_cnn")
    from_model = load_source(model)
    assert from_model.keras_model is model
    assert from_model.inputs[0].shape == (None, 16, 16, 3)
    path = tmp_path / "m.keras"
    model.save(path)
    from_file = load_source(path)
    x = np.ones((1, 16, 16, 3), np.float32)
    np.testing.assert_allclose(from_file.run({"image": x})["output_0"], from_model.run({"image": x})["output_0"], rtol=1e-6)


def test_signature_selection(tmp_path):
    module = tf.Module()
    module.v = tf.Variable(2.0)
    module.double = tf.function(lambda x: {"y": x * module.v}, input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    module.triple = tf.function(lambda x: {"y": x * 3.0}, input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    tf.saved_model.save(module, str(tmp_path), signatures={"double": module.double, "triple": module.triple})
    source = load_source(tmp_path, signature="triple")
    assert source.signature_keys == ("double", "triple")
    assert source.run({"x": np.ones((1, 3), np.float32)})["y"].tolist() == [[3.0, 3.0, 3.0]]
    with pytest.raises(SourceError, match=r"serving_default.*available: \['double', 'triple'\]"):
        load_source(tmp_path)


def test_missing_path(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        load_source(tmp_path / "nope")


def test_file_that_is_not_a_model(tmp_path):
    path = tmp_path / "weights.h5"
    path.write_bytes(b"x")
    with pytest.raises(SourceError, match="weights.h5"):
        load_source(path)


def test_empty_directory(tmp_path):
    with pytest.raises(SourceError, match="saved_model.pb.*containing nothing"):
        load_source(tmp_path)


@pytest.mark.parametrize("damage", ["truncate", "random"])
def test_corrupt_saved_model_pb(saved_model, tmp_path, damage):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(saved_model("small_cnn"), copy)
    pb = copy / "saved_model.pb"
    data = pb.read_bytes()
    pb.write_bytes(data[: len(data) // 3] if damage == "truncate" else np.random.default_rng(0).bytes(4096))
    with pytest.raises(SourceError, match="failed to load"):
        load_source(copy)


def test_string_input_loads_and_only_the_onnx_route_refuses_it(tmp_path):
    module = tf.Module()
    module.f = tf.function(lambda s: {"n": tf.strings.length(s)}, input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.f})
    source = load_source(tmp_path)
    assert source.inputs[0].dtype == "string"
    assert source.run({"text": np.array(["ab", "abcd"], dtype=object)})["n"].tolist() == [2, 4]
    with pytest.raises(ExportError, match="input 'text' of dtype string.*segment route"):
        export_source(source)


def test_unknown_rank_input_loads_and_only_the_onnx_route_refuses_it(tmp_path):
    module = tf.Module()
    module.f = tf.function(lambda x: {"y": x + 1.0}, input_signature=[tf.TensorSpec(None, tf.float32, name="x")])
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.f})
    source = load_source(tmp_path)
    assert source.inputs[0].shape is None and source.outputs[0].shape is None
    assert TensorSpec.from_dict(source.inputs[0].to_dict()) == source.inputs[0]
    assert source.run({"x": np.ones((2, 3), np.float32)})["y"].shape == (2, 3)
    with pytest.raises(ExportError, match="input 'x' of unknown rank.*segment route"):
        export_source(source)


def test_not_a_model_object():
    with pytest.raises(SourceError, match="Received: model of type int"):
        load_source(42)


def test_jit_compiled_call_is_inlined_and_control_flow_stays_whole(tmp_path):
    class Mixed(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.eye(4, dtype=np.float32) * 0.5)

        @tf.function(jit_compile=True)
        def compiled(self, x):
            return tf.matmul(x, self.w)

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def __call__(self, x):
            h = self.compiled(x + 1.0)
            _, h = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, tf.tanh(h)), (tf.constant(0), h))
            return {"y": tf.cond(tf.reduce_sum(h) > 0, lambda: h * 2.0, lambda: h - 1.0)}

    module = Mixed()
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.__call__})
    source = load_source(tmp_path)
    ops = {n.op for n in source.graph_def.node}
    assert not ops & {"PartitionedCall", "StatefulPartitionedCall", "Switch", "Merge", "NextIteration"}
    assert {"StatelessWhile", "StatelessIf"} <= ops
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    wrapped = tf.compat.v1.wrap_function(lambda: tf.graph_util.import_graph_def(source.frozen_graph_def(), name=""), [])
    frozen = wrapped.prune(list(source.input_tensors), list(source.output_tensors))
    np.testing.assert_allclose(frozen(tf.constant(x))[0].numpy(), module(tf.constant(x))["y"].numpy(), rtol=1e-6)
