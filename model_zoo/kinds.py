"""Tiny models of the kinds users bring that TensorRT cannot take whole (issue 14).

Each entry writes a SavedModel: recurrent Keras layers (While loops over TensorLists),
``tf.while_loop``/``tf.cond``, ``tf.map_fn``, string inputs with lookup tables, a
string output, an XLA-compiled grouped convolution (a nested call), an output of
unknown rank and int64 ids with an int64 ``argmax``. Every model is small enough
for CI; ``sample`` gives seeded inputs a model accepts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import numpy as np

WORDS = ("the", "cat", "sat", "on", "mat", "dog", "ran", "far")


@dataclasses.dataclass(frozen=True)
class Kind:
    """One model kind.

    Attributes:
        name: Registry key.
        write: ``write(path)`` saves the model as a SavedModel at ``path``.
        sample: ``sample(batch, seed) -> {input name: array}``.
        description: One line for tables.
    """

    name: str
    write: Callable[[Path], None]
    sample: Callable[[int, int], dict[str, np.ndarray]]
    description: str = ""


KINDS: dict[str, Kind] = {}


def register(name: str, sample: Callable[[int, int], dict[str, np.ndarray]], description: str) -> Callable:
    """Register ``write`` (decorated) as the kind ``name``."""

    def decorate(write: Callable[[Path], None]) -> Callable[[Path], None]:
        KINDS[name] = Kind(name, write, sample, description)
        return write

    return decorate


def _floats(name: str, shape: tuple[int, ...]) -> Callable[[int, int], dict[str, np.ndarray]]:
    def sample(batch: int, seed: int) -> dict[str, np.ndarray]:
        return {name: np.random.default_rng(seed).standard_normal((batch, *shape)).astype(np.float32)}

    return sample


def _sentences(name: str) -> Callable[[int, int], dict[str, np.ndarray]]:
    def sample(batch: int, seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        words = [" ".join(rng.choice(WORDS + ("unknown",), 5)) for _ in range(batch)]
        return {name: np.array(words, dtype=object)}

    return sample


def _ids(name: str, length: int, vocabulary: int) -> Callable[[int, int], dict[str, np.ndarray]]:
    def sample(batch: int, seed: int) -> dict[str, np.ndarray]:
        return {name: np.random.default_rng(seed).integers(0, vocabulary, (batch, length)).astype(np.int64)}

    return sample


def _keras_export(model: Any, path: Path) -> None:
    model.export(str(path), format="tf_saved_model", verbose=False)


def _seeded() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    return keras


def _recurrent(layer: Callable[[Any], Any], length: int | None) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        keras = _seeded()
        inputs = keras.Input((length, 6), name="sequence")
        x = keras.layers.Dense(8, activation="relu", bias_initializer="random_normal")(inputs)
        x = layer(keras)(x)
        outputs = keras.layers.Dense(3, bias_initializer="random_normal")(x)
        _keras_export(keras.Model(inputs, outputs, name="recurrent"), path)

    return write


register("lstm", _floats("sequence", (5, 6)), "Keras LSTM, fixed length 5")(_recurrent(lambda k: k.layers.LSTM(8), 5))
register("gru", _floats("sequence", (5, 6)), "Keras GRU, fixed length 5")(_recurrent(lambda k: k.layers.GRU(8), 5))
register("bidirectional_none_length", _floats("sequence", (7, 6)), "Keras Bidirectional LSTM, sequence length None")(
    _recurrent(lambda k: k.layers.Bidirectional(k.layers.LSTM(4)), None)
)


@register("while_cond", _floats("x", (4,)), "tf.while_loop and tf.cond around dense layers")
def _while_cond(path: Path) -> None:
    import tensorflow as tf

    class WhileCond(tf.Module):
        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(0)
            self.w = tf.Variable(rng.standard_normal((4, 4)).astype(np.float32) * 0.5)
            self.v = tf.Variable(rng.standard_normal((4, 2)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def __call__(self, x):
            h = tf.nn.relu(tf.matmul(x, self.w) + 0.25)
            _, h = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, tf.tanh(tf.matmul(h, self.w))), (tf.constant(0), h))
            h = tf.cond(tf.reduce_sum(h) > 0, lambda: h * 2.0, lambda: h - 1.0)
            return {"y": tf.matmul(tf.nn.relu(h + 0.1), self.v) + 0.5}

    module = WhileCond()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})


@register("map_fn", _floats("x", (3, 4)), "tf.map_fn over the batch between dense layers")
def _map_fn(path: Path) -> None:
    import tensorflow as tf

    class MapFn(tf.Module):
        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(0)
            self.w = tf.Variable(rng.standard_normal((4, 4)).astype(np.float32))
            self.v = tf.Variable(rng.standard_normal((4, 2)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 3, 4], tf.float32, name="x")])
        def __call__(self, x):
            h = tf.nn.relu(tf.einsum("bij,jk->bik", x, self.w) + 0.5)
            h = tf.map_fn(lambda row: tf.reduce_max(row, axis=0) - tf.reduce_min(row, axis=0), h)
            return {"y": tf.matmul(h, self.v) - 0.25}

    module = MapFn()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})


@register("text_vectorization", _sentences("text"), "Keras TextVectorization (string input) -> Embedding -> Dense")
def _text_vectorization(path: Path) -> None:
    keras = _seeded()
    vectorize = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=6, vocabulary=list(WORDS))
    inputs = keras.Input((), dtype="string", name="text")
    x = keras.layers.Embedding(20, 8)(vectorize(inputs))
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(3, bias_initializer="random_normal")(keras.layers.Dense(8, activation="relu")(x))
    _keras_export(keras.Model(inputs, outputs, name="text_vectorization"), path)


@register("hash_table_lookup", _sentences("words"), "tf.Module: split strings, StaticHashTable lookup, dense")
def _hash_table_lookup(path: Path) -> None:
    import tensorflow as tf

    class Lookup(tf.Module):
        def __init__(self):
            super().__init__()
            initializer = tf.lookup.KeyValueTensorInitializer(list(WORDS), np.arange(len(WORDS), dtype=np.int64))
            self.table = tf.lookup.StaticHashTable(initializer, default_value=len(WORDS))
            rng = np.random.default_rng(0)
            self.embedding = tf.Variable(rng.standard_normal((len(WORDS) + 1, 4)).astype(np.float32))
            self.w = tf.Variable(rng.standard_normal((4, 2)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
        def __call__(self, words):
            tokens = tf.strings.split(words).to_tensor(default_value="", shape=[None, 5])
            ids = self.table.lookup(tokens)
            h = tf.reduce_mean(tf.gather(self.embedding, ids), axis=1)
            return {"y": tf.matmul(tf.nn.relu(h * 1.5 + 0.25), self.w) + 0.5}

    module = Lookup()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})


@register("string_side_output", _floats("x", (4,)), "numeric output plus a string label output")
def _string_side_output(path: Path) -> None:
    import tensorflow as tf

    class Labelled(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32))
            self.labels = tf.constant(["red", "green", "blue"])

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def __call__(self, x):
            logits = tf.matmul(tf.nn.relu(x + 0.5), self.w) - 0.25
            return {"logits": logits, "label": tf.gather(self.labels, tf.argmax(logits, axis=-1))}

    module = Labelled()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})


@register("xla_grouped_conv", _floats("image", (8, 8, 8)), "Keras grouped Conv2D (run through jit_compile) between convs")
def _xla_grouped_conv(path: Path) -> None:
    keras = _seeded()
    inputs = keras.Input((8, 8, 8), name="image")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", bias_initializer="random_normal")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", groups=4, bias_initializer="random_normal")(x)
    x = keras.layers.LayerNormalization()(x)
    x = keras.layers.Conv2D(8, 1, activation="gelu", bias_initializer="random_normal")(x)
    outputs = keras.layers.Dense(4, bias_initializer="random_normal")(keras.layers.GlobalAveragePooling2D()(x))
    _keras_export(keras.Model(inputs, outputs, name="xla_grouped_conv"), path)


@register("unknown_rank_output", _floats("x", (4,)), "an output of unknown rank (squeeze without axis)")
def _unknown_rank_output(path: Path) -> None:
    import tensorflow as tf

    class Squeezed(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def __call__(self, x):
            y = tf.nn.relu(tf.matmul(x, self.w) + 0.5)
            return {"y": tf.squeeze(tf.expand_dims(y, 1) * 2.0 - 0.1)}

    module = Squeezed()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})


@register("int64_ids_argmax", _ids("ids", 6, 30), "int64 token ids -> Embedding -> Dense, plus an int64 argmax output")
def _int64_ids_argmax(path: Path) -> None:
    import tensorflow as tf

    class Tagger(tf.Module):
        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(0)
            self.embedding = tf.Variable(rng.standard_normal((30, 8)).astype(np.float32))
            self.w = tf.Variable(rng.standard_normal((8, 5)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.int64, name="ids")])
        def __call__(self, ids):
            h = tf.gather(self.embedding, tf.cast(ids, tf.int64) % 30)
            logits = tf.matmul(tf.nn.relu(h + 0.25), self.w) - 0.5
            return {"logits": logits, "tags": tf.argmax(logits, axis=-1)}

    module = Tagger()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})


@register("tensor_list_across_islands", _floats("x", (4,)), "a TensorList made in one island and read in a later one")
def _tensor_list_across_islands(path: Path) -> None:
    import tensorflow as tf
    from tensorflow.python.ops import list_ops

    class ListReader(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def __call__(self, x):
            rows = list_ops.tensor_list_from_tensor(x, element_shape=[4])
            # The list's length feeds the segment, the list itself the loop after it: the
            # TensorList (a variant) goes from the first island to the second.
            count = tf.cast(list_ops.tensor_list_length(rows), tf.float32)
            y = tf.nn.relu(tf.matmul(x * count, self.w) + 0.5) * 2.0 - 1.0

            def body(i, total):
                return i + 1, total + list_ops.tensor_list_get_item(rows, i, element_dtype=tf.float32, element_shape=[4]) * y[i]

            _, total = tf.while_loop(lambda i, total: i < tf.shape(x)[0], body, (tf.constant(0), tf.zeros([4])))
            return {"y": total}

    module = ListReader()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})


@register("constant_weights", _floats("image", (8, 8, 3)), "conv and dense weights as graph constants, no variable (TF-TRT's test graphs)")
def _constant_weights(path: Path) -> None:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    kernel = tf.constant(rng.standard_normal((3, 3, 3, 4)).astype(np.float32))
    dense = tf.constant(rng.standard_normal((4, 2)).astype(np.float32))

    class Constants(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 3], tf.float32, name="image")])
        def __call__(self, image):
            h = tf.nn.relu(tf.nn.conv2d(image, kernel, 1, "SAME") + 0.1)
            return {"logits": tf.matmul(tf.reduce_mean(h, axis=[1, 2]), dense) - 0.2}

    module = Constants()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})


def write(name: str, path: Path) -> Path:
    """Write the kind ``name`` as a SavedModel at ``path`` and return ``path``."""
    KINDS[name].write(Path(path))
    return Path(path)
