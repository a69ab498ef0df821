"""The zoo: Keras models users know, each one registry entry.

Every entry builds its model with ``weights=None`` and a fixed seed by default
(ImageNet weights cannot be fetched on CI machines); ``weights="imagenet"`` is kept
for users with internet access. Outputs are logits (``classifier_activation=None``):
random-init softmax outputs are near uniform, so errors on them would say nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class ZooModel:
    """One zoo entry.

    Attributes:
        name: Registry key.
        build: ``build(weights) -> keras.Model`` (weights ``None`` or ``"imagenet"``).
        input_shape: Input shape without the batch dimension.
        preprocess: Maps raw inputs (e.g. uint8-range images) to what the model takes.
        rel_tolerance: Max error relative to the output scale accepted at FP32.
        description: One line for tables.
    """

    name: str
    build: Callable[[Any], Any]
    input_shape: tuple[int, ...]
    preprocess: Callable[[np.ndarray], np.ndarray] = lambda x: x
    rel_tolerance: float = 1e-4
    description: str = ""

    def model(self, weights: Any = None, seed: int = 0) -> Any:
        """Build the Keras model with a fixed seed."""
        import keras

        keras.utils.set_random_seed(seed)
        return self.build(weights)

    def sample(self, batch: int = 1, seed: int = 0) -> np.ndarray:
        """Seeded raw inputs of this model's shape, run through its preprocessing."""
        raw = np.random.default_rng(seed).uniform(0, 255, (batch, *self.input_shape)).astype(np.float32)
        return self.preprocess(raw).astype(np.float32)


ZOO: dict[str, ZooModel] = {}


def register(entry: ZooModel) -> ZooModel:
    """Add ``entry`` to :data:`ZOO`."""
    ZOO[entry.name] = entry
    return entry


def _application(name: str, shape: tuple[int, ...], preprocess: str, **kwargs: Any) -> ZooModel:
    def build(weights: Any) -> Any:
        import keras

        return getattr(keras.applications, name)(weights=weights, input_shape=shape, classifier_activation=None, **kwargs)

    def prep(x: np.ndarray) -> np.ndarray:
        import keras

        module = getattr(keras.applications, preprocess)
        return np.asarray(module.preprocess_input(x.copy()))

    return ZooModel(name=name, build=build, input_shape=shape, preprocess=prep, description=f"keras.applications.{name}")


for _name, _shape, _prep in [
    ("ResNet50", (224, 224, 3), "resnet"),
    ("ResNet101", (224, 224, 3), "resnet"),
    ("MobileNetV2", (224, 224, 3), "mobilenet_v2"),
    ("MobileNetV3Small", (224, 224, 3), "mobilenet_v3"),
    ("EfficientNetB0", (224, 224, 3), "efficientnet"),
    ("InceptionV3", (299, 299, 3), "inception_v3"),
    ("DenseNet121", (224, 224, 3), "densenet"),
    ("VGG16", (224, 224, 3), "vgg16"),
]:
    register(_application(_name, _shape, _prep))


def _transformer(weights: Any) -> Any:
    """A two-block Transformer encoder classifier built from Keras layers."""
    import keras

    if weights is not None:
        raise ValueError(f"Expected weights=None for TransformerEncoder (no pretrained weights exist). Received: weights={weights!r}")
    layers = keras.layers
    tokens = keras.Input((64,), dtype="int32", name="tokens")
    x = layers.Embedding(1000, 128)(tokens)
    for _ in range(2):
        attended = layers.MultiHeadAttention(num_heads=4, key_dim=32)(x, x)
        x = layers.LayerNormalization()(x + attended)
        hidden = layers.Dense(256, activation="gelu")(x)
        x = layers.LayerNormalization()(x + layers.Dense(128)(hidden))
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(tokens, layers.Dense(10, name="logits")(x), name="transformer_encoder")


register(ZooModel(
    name="TransformerEncoder",
    build=_transformer,
    input_shape=(64,),
    preprocess=lambda x: np.floor(x * 999 / 255),
    description="2-block Transformer encoder (Embedding, MultiHeadAttention, LayerNorm, Dense)",
))


def digits_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``sklearn.datasets.load_digits`` as 8x8x1 float images in [0, 1]: ``(x_train, y_train, x_test, y_test)``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target.astype(np.int32), test_size=0.25, random_state=seed, stratify=digits.target
    )
    return x_train, y_train, x_test, y_test


def digits_cnn(weights: Any = None, epochs: int = 15) -> Any:
    """A small CNN trained here on the digits (``weights`` must be None: it trains itself)."""
    import keras

    if weights is not None:
        raise ValueError(f"Expected weights=None for DigitsCNN (it is trained on load_digits). Received: weights={weights!r}")
    layers = keras.layers
    inputs = keras.Input((8, 8, 1), name="digit")
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    # Keras 3's default momentum (0.99) leaves moving statistics far off after a short training.
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(10, name="logits")(x), name="digits_cnn")
    x_train, y_train, _, _ = digits_data()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)
    return model


register(ZooModel(
    name="DigitsCNN",
    build=digits_cnn,
    input_shape=(8, 8, 1),
    preprocess=lambda x: x / 255.0,
    description="small CNN trained on sklearn's load_digits (real accuracy)",
))


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy of ``logits`` against integer ``labels``."""
    return float(np.mean(np.argmax(logits, axis=1) == labels))
