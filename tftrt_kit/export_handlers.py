"""tf2onnx handlers for TensorFlow ops tf2onnx 1.17 leaves unconverted.

Each handler is registered with tf2onnx's ``custom_op_handlers`` for one export
(no global registration, no patching of tf2onnx). Each states the TF and the
ONNX semantics it maps.
"""

from __future__ import annotations

from typing import Any


def _erfc(ctx: Any, node: Any, name: str, args: list) -> None:
    """TF ``Erfc(x) = 1 - erf(x)`` (exact GELU uses it); ONNX has ``Erf`` (opset 9+) but no Erfc."""
    import numpy as np
    from tf2onnx import utils

    dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
    erf = ctx.make_node("Erf", [node.input[0]], op_name_scope=name)
    one = ctx.make_const(utils.make_name(f"{name}/one"), np.array(1, dtype=dtype))
    node.type = "Sub"
    node.domain = ""
    ctx.replace_inputs(node, [one.output[0], erf.output[0]])


#: TF op type -> (handler, args), in tf2onnx's ``custom_op_handlers`` form.
EXTRA_TF_HANDLERS = {"Erfc": (_erfc, [])}
