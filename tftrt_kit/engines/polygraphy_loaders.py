"""A Polygraphy loader of ours: parse ONNX and keep every parser error.

Polygraphy's ``NetworkFromOnnxBytes`` stops at the first sign of failure with
"Could not parse ONNX correctly" and the per-node errors only in its log. The
route needs each refused node with TensorRT's reason, so this loader does the same
network and parser set-up (it is a ``BaseNetworkFromOnnx``) and returns the parser
with its errors unread. Imported only where Polygraphy's TensorRT backend is used.
"""

from __future__ import annotations

from typing import Any

from polygraphy.backend.trt.loader import BaseNetworkFromOnnx


class NetworkFromOnnxBytesKeepingErrors(BaseNetworkFromOnnx):
    """Parses serialized ONNX; returns ``(builder, network, parser, parsed_ok)`` without raising on refusals.

    Args:
        model_bytes: A serialized ONNX model.
        strongly_typed: Create a strongly typed network (precision from the ONNX itself).
    """

    def __init__(self, model_bytes: bytes, *, strongly_typed: bool = True):
        super().__init__(strongly_typed=strongly_typed)
        self._model_bytes = model_bytes

    def call_impl(self) -> tuple[Any, Any, Any, bool]:
        """Returns the builder, the network, the parser (errors in ``parser.get_error``) and parse's result."""
        builder, network, parser = super().call_impl()
        parsed_ok = parser.parse(self._model_bytes)
        return builder, network, parser, bool(parsed_ok)
