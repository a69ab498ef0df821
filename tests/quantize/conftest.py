"""Fixtures for the quantization tests: a seeded digits CNN trained in a few seconds."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclasses.dataclass(frozen=True)
class Digits:
    """sklearn's 8x8 digits, scaled to [0, 1], split train / calibration / held-out test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_calib: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclasses.dataclass(frozen=True)
class TrainedCnn:
    """The FP32 digits CNN and its data."""

    model: Any
    data: Digits


def build_digits_cnn(seed: int = 0) -> Any:
    """Conv2D + BN + ReLU stem, a residual block (identity Add), pooling, Dense head."""
    import keras

    keras.utils.set_random_seed(seed)
    layers = keras.layers
    inputs = keras.Input((8, 8, 1), name="image")
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="stem")(inputs)
    x = layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    y = layers.Conv2D(16, 3, padding="same", use_bias=False, name="block_conv1")(x)
    y = layers.BatchNormalization(momentum=0.9, name="block_bn1")(y)
    y = layers.ReLU(name="block_relu1")(y)
    y = layers.Conv2D(16, 3, padding="same", use_bias=False, name="block_conv2")(y)
    y = layers.BatchNormalization(momentum=0.9, name="block_bn2")(y)
    x = layers.Add(name="block_add")([x, y])
    x = layers.ReLU(name="block_relu2")(x)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu", name="down")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(10, name="logits")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


def load_digits_split() -> Digits:
    """The digits data set, seeded split (75% train, 25% held out)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.images / 16.0).astype("float32")[..., None]
    y = bunch.target.astype("int64")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    return Digits(x_train, y_train, x_train[:256], x_test, y_test)


def train_digits_cnn(digits: Digits) -> TrainedCnn:
    """Train :func:`build_digits_cnn` on the training split (about 5 s on 2 cores)."""
    import keras

    model = build_digits_cnn()
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(digits.x_train, digits.y_train, epochs=12, batch_size=64, verbose=0, shuffle=True)
    return TrainedCnn(model, digits)


@pytest.fixture(scope="session")
def digits() -> Digits:
    return load_digits_split()


@pytest.fixture(scope="session")
def trained_cnn(digits: Digits) -> TrainedCnn:
    return train_digits_cnn(digits)


def onnx_accuracy(onnx_model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy in percent of ``onnx_model`` run by ONNX Runtime (default CPU session)."""
    from tftrt_kit.engines.onnxruntime import OnnxRuntimeExecutor

    run = OnnxRuntimeExecutor(onnx_model)
    logits = run({run.input_names[0]: x})[run.output_names[0]]
    return 100.0 * float(np.mean(logits.argmax(axis=1) == y))


def build_int8_plan(onnx_model: Any) -> Any:
    """Build an INT8 plan with TensorRT-RTX (CPU-only builder); skips if it is not installed."""
    pytest.importorskip("tensorrt_rtx", reason="TensorRT-RTX (tensorrt-rtx-cu13) is not installed")
    from tftrt_kit.engines.tensorrt_builder import BuildOptions, TensorRTBuilder

    return TensorRTBuilder("tensorrt_rtx").build(onnx_model, BuildOptions(precision="int8", batch_sizes=(1, 4, 8)))
