"""Quantizer semantics: int8 symmetric narrow range, per-channel scales, straight-through gradients."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tftrt_kit.quantize.quantizers import TensorQuantizer, fake_quant_per_channel, fake_quant_per_tensor


def _reference(x, amax):
    scale = amax / 127.0
    return np.clip(np.round(x / scale), -127, 127) * scale


def test_per_tensor_matches_int8_symmetric_narrow_range():
    x = np.linspace(-3, 3, 101, dtype="float32")
    np.testing.assert_allclose(fake_quant_per_tensor(tf.constant(x), 2.0).numpy(), _reference(x, 2.0), atol=1e-6)


def test_per_channel_uses_max_abs_of_each_output_channel():
    kernel = np.random.RandomState(0).randn(3, 3, 2, 5).astype("float32")
    kernel[..., 4] = 0.0  # an all-zero channel still gets a finite scale
    got = fake_quant_per_channel(tf.constant(kernel), -1).numpy()
    for c in range(4):
        np.testing.assert_allclose(got[..., c], _reference(kernel[..., c], np.abs(kernel[..., c]).max()), atol=1e-6)
    np.testing.assert_array_equal(got[..., 4], 0.0)


def test_straight_through_gradients():
    x = tf.Variable(np.array([-3.0, -0.5, 0.2, 1.5, 4.0], "float32"))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(fake_quant_per_tensor(x, 2.0))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0, 1, 1, 1, 0])  # clipped STE
    kernel = tf.Variable(np.random.RandomState(1).randn(2, 3).astype("float32"))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(fake_quant_per_channel(kernel, -1) * 3.0)
    np.testing.assert_array_equal(tape.gradient(y, kernel).numpy(), np.full((2, 3), 3.0))  # identity STE


def test_amax_is_a_frozen_weight_unless_asked():
    frozen, trainable = TensorQuantizer(), TensorQuantizer(amax_trainable=True)
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 1
    assert len(trainable.trainable_weights) == 1
    layer = keras.layers.deserialize(keras.layers.serialize(trainable))
    assert layer.amax_trainable
