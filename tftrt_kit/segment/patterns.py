"""Graph patterns that send to TensorRT a node its op rule alone keeps in TensorFlow.

An op rule reads one ``NodeDef``; a pattern also reads the node's neighbours. Each
entry maps an op type to a matcher ``(node, nodes by name) -> reason or None``: a
reason (the note on the verdict) when the pattern matches, else ``None``.

- ``Erfc`` of ``-x / sqrt(2)``: exact GELU, as ``tf.nn.gelu`` and Keras' ``gelu``
  write it (``0.5 * x * erfc(-x * 0.70710677)``), in every ConvNeXt/ViT/BERT MLP.
  TF-TRT had no Erfc converter and its tests keep a lone Erfc in TensorFlow, so the
  rule does too; inside GELU the export keeps float32 relative precision
  (:mod:`tftrt_kit.export_handlers`) and TensorRT runs it with the layers around
  it, instead of cutting every transformer block in two.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from typing import Any

from tftrt_kit.segment.graph import parse_tensor_name

#: op type -> matcher(node, nodes by name) -> note when the pattern matches, else None.
PATTERNS: dict[str, Callable[[Any, Mapping[str, Any]], "str | None"]] = {}

_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def _scalar(node: Any) -> float | None:
    """The value of a scalar float ``Const`` (``None`` for anything else)."""
    if node is None or node.op != "Const":
        return None
    tensor = node.attr["value"].tensor
    if tensor.tensor_shape.dim and any(d.size != 1 for d in tensor.tensor_shape.dim):
        return None
    values = list(tensor.float_val) or list(tensor.half_val)
    if len(values) == 1:
        return float(values[0])
    if tensor.tensor_content and tensor.dtype == 1 and len(tensor.tensor_content) == 4:
        return struct.unpack("<f", tensor.tensor_content)[0]
    return None


def _producer(ref: str, nodes: Mapping[str, Any]) -> Any:
    return nodes.get(parse_tensor_name(ref).node)


def _gelu_argument(node: Any, nodes: Mapping[str, Any]) -> str | None:
    """Erfc whose input is ``Neg(x) * 1/sqrt(2)`` or ``x * -1/sqrt(2)`` (either operand order)."""
    data = [ref for ref in node.input if not ref.startswith("^")]
    product = _producer(data[0], nodes) if data else None
    if product is None or product.op != "Mul":
        return None
    operands = [_producer(ref, nodes) for ref in product.input if not ref.startswith("^")]
    if len(operands) != 2:
        return None
    for first, second in (operands, operands[::-1]):
        value = _scalar(second)
        if value is None:
            continue
        if (first is not None and first.op == "Neg" and math.isclose(value, _INV_SQRT2, rel_tol=1e-6)) or math.isclose(
            value, -_INV_SQRT2, rel_tol=1e-6
        ):
            return "Erfc of -x/sqrt(2): exact GELU, exported with float32 relative precision"
    return None


PATTERNS["Erfc"] = _gelu_argument
