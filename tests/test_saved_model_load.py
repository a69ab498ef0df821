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
