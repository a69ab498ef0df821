"""TensorFlow executor: runs a part's native ``tf.function`` (a segment or island of a segment artifact)."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np


#: Dtypes handed from part to part as TensorFlow tensors rather than numpy arrays.
TENSORFLOW_ONLY_DTYPES = frozenset({"variant", "resource"})


class TensorFlowFunctionRunner:
    """Runs a concrete function whose positional arguments and results are named tensors.

    Args:
        function: The function, taking the inputs in ``inputs``' order.
        inputs: Names of its inputs, in argument order.
        outputs: Names of its results, in order.
    """

    name = "tensorflow"

    def __init__(self, function: Callable[..., Any], inputs: Sequence[str], outputs: Sequence[str]):
        self.function = function
        self.input_names = tuple(inputs)
        self.output_names = tuple(outputs)

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run on ``feeds`` (name -> array); returns outputs by name."""
        results = self.function(*[feeds[name] for name in self.input_names])
        # np.asarray: a scalar tensor's .numpy() is a numpy scalar, which ONNX Runtime refuses as a feed.
        # A variant or resource tensor (a TensorList one island hands to another) has no numpy
        # form: it stays a TensorFlow tensor; no segment ever reads one.
        return {
            name: value if value.dtype.name in TENSORFLOW_ONLY_DTYPES else np.asarray(value.numpy())
            for name, value in zip(self.output_names, results)
        }

    def __repr__(self) -> str:
        return f"TensorFlowFunctionRunner(inputs={list(self.input_names)}, outputs={list(self.output_names)})"
