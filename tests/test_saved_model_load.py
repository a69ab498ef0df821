"""A SavedModel loaded without the variable lists nothing reads (Keras 3's ``_all_variables``): same signatures, same values."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tftrt_kit.saved_model_load import load_saved_model, unread_variable_lists


def test_keras_export_is_loaded_without_its_unread_copy(saved_model):
    path = saved_model("small_cnn")
    plain = tf.saved_model.load(str(path))
    assert unread_variable_lists(plain) == ["_all_variables"]
    loaded = load_saved_model(path)
    assert not hasattr(loaded, "_all_variables") and not unread_variable_lists(loaded)
    for got, want in zip(loaded.variables, plain.variables):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    signature, reference = loaded.signatures["serving_default"], plain.signatures["serving_default"]
    feeds = {k: tf.constant(np.random.default_rng(0).random([2, *s.shape[1:]], dtype=np.float32)) for k, s in signature.structured_input_signature[1].items()}
    for name, value in reference(**feeds).items():
        np.testing.assert_array_equal(signature(**feeds)[name].numpy(), value.numpy())


def test_a_savedmodel_without_unread_variables_loads_as_tensorflow_loads_it(tmp_path):
    module = tf.Module()
    module.w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    module.f = tf.function(lambda x: tf.matmul(x, module.w), input_signature=[tf.TensorSpec([None, 2], tf.float32)])
    tf.saved_model.save(module, str(tmp_path / "m"), signatures={"serving_default": module.f})
    loaded = load_saved_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.w.numpy(), module.w.numpy())
    x = tf.constant([[1.0, 2.0]])
    np.testing.assert_array_equal(loaded.f(x).numpy(), module.f(x).numpy())


def test_a_savedmodel_is_parsed_once_when_its_checkpoint_restores_in_place(tmp_path, monkeypatch):
    module = tf.Module()
    module.w = tf.Variable(np.arange(4, dtype=np.float32))
    module.f = tf.function(lambda x: x * module.w, input_signature=[tf.TensorSpec([4], tf.float32)])
    tf.saved_model.save(module, str(tmp_path / "m"), signatures={"serving_default": module.f})
    calls = []
    real_load = tf.saved_model.load
    monkeypatch.setattr(tf.saved_model, "load", lambda *a, **k: calls.append(k.get("options")) or real_load(*a, **k))
    loaded = load_saved_model(tmp_path / "m")
    assert len(calls) == 1
    np.testing.assert_array_equal(loaded.signatures["serving_default"](x=tf.ones([4]))["output_0"].numpy(), module.w.numpy())


def test_a_tf1_savedmodel_falls_back_to_tensorflows_load(tmp_path):
    export_dir = str(tmp_path / "v1")
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        x = tf.compat.v1.placeholder(tf.float32, [None, 3], name="x")
        w = tf.compat.v1.get_variable("w", initializer=tf.constant([[1.0], [2.0], [3.0]]))
        y = tf.matmul(x, w, name="y")
        session.run(tf.compat.v1.global_variables_initializer())
        builder = tf.compat.v1.saved_model.Builder(export_dir)
        signature = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": y})
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature})
        builder.save()
    loaded = load_saved_model(tmp_path / "v1")
    got = loaded.signatures["serving_default"](x=tf.constant([[1.0, 1.0, 1.0]]))["y"].numpy()
    np.testing.assert_array_equal(got, [[6.0]])
