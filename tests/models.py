"""A registry of tiny seeded Keras models the tests share.

Biases are non-zero on purpose: with zero biases tf2onnx drops BiasAdd/Add and
some conversions would go untested.
"""

from __future__ import annotations

from typing import Callable

import keras

MODELS: dict[str, Callable[[], keras.Model]] = {}


def register(function: Callable[[], keras.Model]) -> Callable[[], keras.Model]:
    """Add a model builder to :data:`MODELS` under its function name."""
    MODELS[function.__name__] = function
    return function


def build(name: str, seed: int = 0) -> keras.Model:
    """Build the registered model ``name`` with a fixed seed and fresh layer names.

    Keras numbers layer names per process (``conv2d_57``); the frozen graph's node names, and so
    tf2onnx's optimizer choices, follow them. Clearing the session makes a model the same graph
    whichever tests ran before it.
    """
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    return MODELS[name]()


@register
def small_cnn() -> keras.Model:
    inputs = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(8, 3, bias_initializer="random_normal", activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(8, 3, padding="same", bias_initializer="random_normal")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(5, bias_initializer="random_normal")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


@register
def padded_conv() -> keras.Model:
    """ResNet's stem: ZeroPadding2D then a "valid" strided Conv2D (tf2onnx merges the Pad into the Conv)."""
    inputs = keras.Input((16, 16, 3), name="image")
    x = keras.layers.ZeroPadding2D(3)(inputs)
    x = keras.layers.Conv2D(8, 7, strides=2, bias_initializer="random_normal", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(4, bias_initializer="random_normal")(x)
    return keras.Model(inputs, outputs, name="padded_conv")


@register
def attention_block() -> keras.Model:
    """Dense + LayerNormalization + MultiHeadAttention over a (batch, 8, 16) sequence."""
    inputs = keras.Input((8, 16), name="tokens")
    x = keras.layers.Dense(16, bias_initializer="random_normal")(inputs)
    attended = keras.layers.MultiHeadAttention(num_heads=2, key_dim=8)(x, x)
    x = keras.layers.LayerNormalization()(x + attended)
    x = keras.layers.Dense(32, activation="gelu", bias_initializer="random_normal")(x)
    outputs = keras.layers.Dense(4, bias_initializer="random_normal")(x)
    return keras.Model(inputs, outputs, name="attention_block")


@register
def two_inputs_two_outputs() -> keras.Model:
    image = keras.Input((8, 8, 3), name="img")
    aux = keras.Input((4,), name="aux")
    x = keras.layers.Conv2D(4, 3, bias_initializer="random_normal")(image)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Concatenate()([x, aux])
    return keras.Model([image, aux], [keras.layers.Dense(3)(x), keras.layers.Dense(2)(x)], name="two_io")


@register
def mobilenet_v2() -> keras.Model:
    return keras.applications.MobileNetV2(weights=None, classifier_activation=None)


class LogGamma(keras.layers.Layer):
    """``tf.math.lgamma``: no TensorRT converter and no tf2onnx handler, so it stays in TensorFlow."""

    def call(self, x):
        import tensorflow as tf

        return tf.math.lgamma(tf.nn.relu(x) + 1.0)


@register
def middle_op() -> keras.Model:
    """A conv stack, an op TensorRT cannot take, then another conv stack: two segments around one island."""
    inputs = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", bias_initializer="random_normal", activation="relu")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", bias_initializer="random_normal")(x)
    x = LogGamma()(x)
    x = keras.layers.Conv2D(8, 3, padding="same", bias_initializer="random_normal", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(5, bias_initializer="random_normal")(x)
    return keras.Model(inputs, outputs, name="middle_op")


@register
def diamond() -> keras.Model:
    """TF-TRT's classic: A feeds C directly and through an unsupported B; merging A with C would make a cycle."""
    inputs = keras.Input((8, 8, 4), name="image")
    a = keras.layers.Conv2D(4, 3, padding="same", bias_initializer="random_normal", activation="relu")(inputs)
    a = keras.layers.Conv2D(4, 3, padding="same", bias_initializer="random_normal", activation="relu")(a)
    b = LogGamma()(a)
    c = keras.layers.Conv2D(4, 1, bias_initializer="random_normal")(b)
    x = keras.layers.Add()([a, c])
    x = keras.layers.Conv2D(4, 3, padding="same", bias_initializer="random_normal", activation="relu")(x)
    outputs = keras.layers.Dense(3, bias_initializer="random_normal")(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs, name="diamond")


@register
def swish_cnn() -> keras.Model:
    """Keras swish is a ``tf.custom_gradient``: the frozen graph holds IdentityN and a scalar Const it shares."""
    inputs = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, activation="swish", bias_initializer="random_normal")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(2, bias_initializer="random_normal")(x), name="swish_cnn")


@register
def dynamic_transformer() -> keras.Model:
    """Token ids of any batch and length ([None, None] int32) -> embedding, self-attention, pooled logits."""
    ids = keras.Input((None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(50, 16)(ids)
    attended = keras.layers.MultiHeadAttention(num_heads=2, key_dim=8)(x, x)
    x = keras.layers.LayerNormalization()(x + attended)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(3, bias_initializer="random_normal")(x)
    return keras.Model(ids, outputs, name="dynamic_transformer")


@register
def dynamic_cnn() -> keras.Model:
    """Images of any batch and size ([None, None, None, 3]) -> convolutions, pooled logits."""
    images = keras.Input((None, None, 3), name="images")
    x = keras.layers.Conv2D(8, 3, padding="same", bias_initializer="random_normal", activation="relu")(images)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", bias_initializer="random_normal")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(4, bias_initializer="random_normal")(x)
    return keras.Model(images, outputs, name="dynamic_cnn")


@register
def dynamic_middle_op() -> keras.Model:
    """Images of any size, a stride-2 conv, an op TensorRT cannot take, a conv: the second segment's input is half the size."""
    images = keras.Input((None, None, 3), name="images")
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", bias_initializer="random_normal", activation="relu")(images)
    x = LogGamma()(x)
    x = keras.layers.Conv2D(8, 3, padding="same", bias_initializer="random_normal", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, bias_initializer="random_normal")(x)
    return keras.Model(images, outputs, name="dynamic_middle_op")


@register
def preprocessing_cnn() -> keras.Model:
    """Keras preprocessing inside the model: Resizing any image to 16x16, Rescaling, then a CNN."""
    images = keras.Input((None, None, 3), name="raw")
    x = keras.layers.Resizing(16, 16)(images)
    x = keras.layers.Rescaling(1 / 255.0)(x)
    x = keras.layers.Conv2D(8, 3, bias_initializer="random_normal", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, bias_initializer="random_normal")(x)
    return keras.Model(images, outputs, name="preprocessing_cnn")


def save_dynamic_input_shapes_graph(path: str) -> None:
    """TF-TRT's ``DynamicInputShapes`` test graph as a SavedModel: two 3x3 convolutions over [None, None, None, 1].

    The port keeps TF-TRT's structure (ones filters, random biases, ReLU between) and
    its input name ``input``; the output is named ``output``.
    """
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    module = tf.Module()
    module.bias1 = tf.constant(rng.standard_normal(8), tf.float32)
    module.bias2 = tf.constant(rng.standard_normal(1), tf.float32)

    @tf.function(input_signature=[tf.TensorSpec((None, None, None, 1), tf.float32, name="input")])
    def serve(input):  # noqa: A002 (TF-TRT's input name)
        x = tf.nn.conv2d(input, tf.ones((3, 3, 1, 8)), strides=1, padding="SAME")
        x = tf.nn.relu(tf.nn.bias_add(x, module.bias1))
        x = tf.nn.conv2d(x, tf.ones((3, 3, 8, 1)), strides=1, padding="SAME")
        return {"output": tf.nn.bias_add(x, module.bias2)}

    tf.saved_model.save(module, path, signatures={"serving_default": serve})


def save_data_dependent_graph(path: str) -> None:
    """A SavedModel whose middle keeps the rows a mask selects (``tf.boolean_mask``: a data-dependent row count)."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    module = tf.Module()
    module.w1, module.b1 = tf.constant(rng.standard_normal((4, 8)), tf.float32), tf.constant(rng.standard_normal(8), tf.float32)
    module.w2, module.b2 = tf.constant(rng.standard_normal((8, 3)), tf.float32), tf.constant(rng.standard_normal(3), tf.float32)

    @tf.function(input_signature=[tf.TensorSpec((None, 4), tf.float32, name="x")])
    def serve(x):
        h = tf.tanh(tf.nn.relu(tf.matmul(x, module.w1) + module.b1) * 2.0 + 1.0)
        kept = tf.boolean_mask(h, h[:, 0] > 0.9)
        y = tf.tanh(tf.matmul(kept, module.w2) + module.b2) * 3.0 + 1.0
        return {"y": tf.reduce_sum(y, axis=0)}

    tf.saved_model.save(module, path, signatures={"serving_default": serve})
