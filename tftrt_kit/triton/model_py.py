"""Triton Python-backend ``model.py`` running a tftrt_kit segment-route artifact.

:func:`tftrt_kit.triton.export` copies this file to ``<name>/1/model.py`` and the
artifact to ``<name>/1/artifact/``. Triton has no backend running TensorRT engines
inside a TensorFlow graph (TF-TRT's job), so the Python backend runs the artifact
with ``tftrt_kit.load()``: islands in TensorFlow, segments on TensorRT or ONNX Runtime.
The Python that runs it (Triton's stub, or an ``EXECUTION_ENV_PATH`` environment)
needs ``tftrt_kit`` installed.

Requests the dynamic batcher hands over together are concatenated along the batch
dimension, run once, and split back per request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


class TritonPythonModel:
    """The Python backend's model class (Triton instantiates it once per instance)."""

    def initialize(self, args: dict[str, str]) -> None:
        """Load the artifact beside this file.

        Args:
            args: Triton's arguments: ``model_config`` (JSON), ``model_repository``
                (this model's directory) and ``model_version``.
        """
        import triton_python_backend_utils as pb_utils

        import tftrt_kit

        config = json.loads(args["model_config"])
        self.batched = config.get("max_batch_size", 0) > 0
        self.inputs = [tensor["name"] for tensor in config["input"]]
        self.outputs = [(tensor["name"], pb_utils.triton_string_to_numpy(tensor["data_type"])) for tensor in config["output"]]
        self.model = tftrt_kit.load(Path(args["model_repository"]) / args["model_version"] / "artifact")

    def execute(self, requests: list[Any]) -> list[Any]:
        """Run every request; one batched call when Triton batched them.

        Args:
            requests: ``pb_utils.InferenceRequest`` objects.

        Returns:
            One ``pb_utils.InferenceResponse`` per request, in order (an error response
            for each request when the model refuses the inputs).
        """
        import triton_python_backend_utils as pb_utils

        feeds = [{name: pb_utils.get_input_tensor_by_name(request, name).as_numpy() for name in self.inputs} for request in requests]
        if not self.batched:
            return [response for feed in feeds for response in self._run(pb_utils, feed, [None])]
        merged = {name: np.concatenate([feed[name] for feed in feeds]) for name in self.inputs}
        return self._run(pb_utils, merged, [len(feed[self.inputs[0]]) for feed in feeds])

    def _run(self, pb_utils: Any, feeds: dict[str, np.ndarray], sizes: list[int | None]) -> list[Any]:
        """Run ``feeds`` once and split the outputs into responses of ``sizes`` rows (None: all of them)."""
        try:
            outputs = self.model(feeds)
        except Exception as err:  # noqa: BLE001  (every request must get a response, not a dead instance)
            return [pb_utils.InferenceResponse(error=pb_utils.TritonError(f"{type(err).__name__}: {err}")) for _ in sizes]
        responses, start = [], 0
        for size in sizes:
            rows = slice(None) if size is None else slice(start, start + size)
            tensors = [pb_utils.Tensor(name, np.ascontiguousarray(outputs[name][rows], dtype=dtype)) for name, dtype in self.outputs]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            start += size or 0
        return responses
