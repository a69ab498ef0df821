"""A small built-in Keras model for the demo command and the quickstart."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def demo_model(seed: int = 0) -> Any:
    """A seeded 32x32x3 CNN with a residual block, batch norm, pooling and a Dense head (logits)."""
    import keras

    keras.utils.set_random_seed(seed)
    layers = keras.layers
    inputs = keras.Input((32, 32, 3), name="image")
    x = layers.Conv2D(16, 3, padding="same", bias_initializer="random_normal")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    y = layers.Conv2D(16, 3, padding="same", bias_initializer="random_normal")(x)
    y = layers.ReLU()(y)
    x = layers.Add()([x, y])
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, strides=2, padding="same", bias_initializer="random_normal", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(10, bias_initializer="random_normal", name="logits")(x)
    return keras.Model(inputs, outputs, name="tftrt_kit_demo")


def demo_saved_model(directory: str | Path, seed: int = 0) -> Path:
    """Export :func:`demo_model` as a SavedModel into ``directory`` and return the path."""
    directory = Path(directory)
    demo_model(seed).export(str(directory), format="tf_saved_model", verbose=False)
    return directory
