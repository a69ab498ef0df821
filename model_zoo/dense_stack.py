"""A stack of Dense layers as a plain ``tf.Module`` SavedModel: weights of any size, cheaply.

``Dense2GiB`` (``WIDTHS``) holds 2.31 GiB of float32 weights, over protobuf's 2 GiB
limit, each tensor under it (the largest is 1 GiB). Built from ``tf.Variable`` values
drawn with a fixed seed, without Keras, so writing it costs little more memory than
its weights. ``python -m model_zoo.bench_convert --models "" --peak-rss Dense2GiB``
converts it by both routes and prints the peak RSS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

#: Named stacks: input width, hidden widths..., output width.
WIDTHS = {"Dense2GiB": (4096, 16384, 16384, 16384, 1000)}


def save_dense_stack(path: Path, widths: Sequence[int], seed: int = 0) -> Path:
    """Write a SavedModel (signature ``serving_default``: ``features`` [batch, widths[0]] -> ``logits``) to ``path``.

    Hidden layers are ReLU; kernels are N(0, 1/fan_in), biases N(0, 0.01).
    """
    import tensorflow as tf

    module = tf.Module()
    module.kernels, module.biases = [], []
    for index, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        kernel = tf.random.stateless_normal((fan_in, fan_out), seed=(seed, 2 * index), stddev=fan_in**-0.5)
        module.kernels.append(tf.Variable(kernel, name=f"kernel_{index}"))
        del kernel
        module.biases.append(tf.Variable(tf.random.stateless_normal((fan_out,), seed=(seed, 2 * index + 1), stddev=0.1), name=f"bias_{index}"))

    @tf.function(input_signature=[tf.TensorSpec([None, widths[0]], tf.float32, name="features")])
    def serve(features):
        x = features
        for index, (kernel, bias) in enumerate(zip(module.kernels, module.biases)):
            x = tf.matmul(x, kernel) + bias
            if index < len(module.kernels) - 1:
                x = tf.nn.relu(x)
        return {"logits": x}

    module.serve = serve
    tf.saved_model.save(module, str(path), signatures={"serving_default": serve})
    return Path(path)
