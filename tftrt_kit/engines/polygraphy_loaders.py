"""A Polygraphy loader of ours: parse ONNX (bytes, or a path for external data) and keep every parser error.

Polygraphy's ``NetworkFromOnnxBytes`` stops at the first sign of failure with
"Could not parse ONNX correctly" and the per-node errors only in its log. The
route needs each refused node with TensorRT's reason, so this loader does the same
network and parser set-up (it is a ``BaseNetworkFromOnnx``) and returns the parser
with its errors unread. A model over protobuf's 2 GiB limit is parsed from its file,
whose external data TensorRT reads from the same folder (``parse_from_file``, as
Polygraphy's ``NetworkFromOnnxPath``). Imported only where Polygraphy's TensorRT
backend is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from polygraphy.backend.trt.loader import BaseNetworkFromOnnx


class NetworkFromOnnxKeepingErrors(BaseNetworkFromOnnx):
    """Parses ONNX; returns ``(builder, network, parser, parsed_ok)`` without raising on refusals.

    Args:
        model: A serialized ONNX model (bytes), or the path of an ``.onnx`` file (its
            external data, if any, next to it).
        strongly_typed: Create a strongly typed network (precision from the ONNX itself).
    """

    def __init__(self, model: bytes | Path, *, strongly_typed: bool = True):
        super().__init__(strongly_typed=strongly_typed)
        self._model = model

    def call_impl(self) -> tuple[Any, Any, Any, bool]:
        """Returns the builder, the network, the parser (errors in ``parser.get_error``) and parse's result."""
        builder, network, parser = super().call_impl()
        if isinstance(self._model, Path):
            parsed_ok = parser.parse_from_file(str(self._model))
        else:
            parsed_ok = parser.parse(self._model)
        return builder, network, parser, bool(parsed_ok)
