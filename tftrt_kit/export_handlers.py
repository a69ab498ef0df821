"""tf2onnx handlers for TensorFlow ops tf2onnx 1.17 leaves unconverted or converts in a form TensorRT refuses.

Each handler is registered with tf2onnx's ``custom_op_handlers`` for one export
(no global registration, no patching of tf2onnx). Each states the TF and the
ONNX semantics it maps.
"""

from __future__ import annotations

from typing import Any

#: erfc(z) = t * exp(-z^2 + P(t)), t = 1 / (1 + z/2), z >= 0: Numerical Recipes' erfcc
#: (W. H. Press et al., 2nd ed., 6.2), relative error below 1.2e-7 over the whole range.
_ERFC_COEFFICIENTS = (
    -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
    0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277,
)
#: erfc(10.5) = 7e-50 is 0 in float32 (and float16): clamping there keeps inf out of z*z.
_ERFC_CLAMP = 10.5


def _erfc(ctx: Any, node: Any, name: str, args: list) -> None:
    """TF ``Erfc(x)`` (exact GELU uses it) -> ONNX elementwise ops; ONNX has ``Erf`` but no Erfc.

    ``1 - Erf(x)`` cancels to 0 in float32 from x ~ 4 (erfc(4) = 1.5e-8). Instead, for
    z = |x|: erfc(z) = t * exp(-h^2) * exp(-(z - h)(z + h) + P(t)) with h = floor(16 z) / 16,
    so h^2 is exact and the exponent keeps full relative precision up to z = 10; for
    x < 0, erfc(x) = 2 - erfc(-x).
    """
    import numpy as np
    from tf2onnx import utils

    x = node.input[0]
    dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(x))
    shape = ctx.get_shape(x)
    onnx_dtype = ctx.get_dtype(x)

    def const(tag: str, value: float) -> str:
        return ctx.make_const(utils.make_name(f"{name}/{tag}"), np.array(value, dtype=dtype)).output[0]

    def op(op_type: str, *inputs: str, out_dtype: int = onnx_dtype) -> str:
        made = ctx.make_node(op_type, list(inputs), op_name_scope=name, shapes=[shape], dtypes=[out_dtype])
        return made.output[0]

    z = op("Min", op("Abs", x), const("clamp", _ERFC_CLAMP))
    t = op("Div", const("one", 1.0), op("Add", const("one_", 1.0), op("Mul", z, const("half", 0.5))))
    poly = const("c9", _ERFC_COEFFICIENTS[-1])
    for k, c in reversed(list(enumerate(_ERFC_COEFFICIENTS[:-1]))):
        poly = op("Add", op("Mul", poly, t), const(f"c{k}", c))
    sixteen = const("sixteen", 16.0)
    h = op("Div", op("Floor", op("Mul", z, sixteen)), sixteen)
    near = op("Exp", op("Sub", poly, op("Mul", op("Sub", z, h), op("Add", z, h))))
    tail = op("Mul", op("Mul", t, op("Exp", op("Neg", op("Mul", h, h)))), near)
    from onnx import TensorProto

    negative = op("Less", x, const("zero", 0.0), out_dtype=TensorProto.BOOL)
    node.type = "Where"
    node.domain = ""
    ctx.replace_inputs(node, [negative, op("Sub", const("two", 2.0), tail), tail])


def tf_fake_quant_grid(low: float, high: float) -> tuple[float, int]:
    """``(scale, zero point)`` of TF's 8-bit FakeQuant over [low, high], nudged as TensorFlow nudges it.

    TF computes in float32: scale = (max - min) / 255, zero point = round(0 - min / scale)
    clamped to [0, 255]; the float32 rounding decides ties, so [-10, 10] gets zero point
    127 ([-127, 128] steps) while [-6, 6] gets 128 ([-128, 127] steps, int8's range).
    """
    import numpy as np

    scale = (np.float32(high) - np.float32(low)) / np.float32(255.0)
    zero = np.float32(0.0) - np.float32(low) / scale
    nudged = 0 if zero < 0 else 255 if zero > 255 else int(np.floor(zero + np.float32(0.5)))
    return float(scale), nudged


def _fake_quant(ctx: Any, node: Any, name: str, args: list) -> None:
    """TF ``FakeQuantWithMinMax{Args,Vars}`` (8 bit, not narrow) -> ONNX Q/DQ on TF's own nudged grid.

    TF snaps [min, max] to a uint8 grid (:func:`tf_fake_quant_grid`). Zero point 128 is
    exactly int8 with zero point 0, the only form TensorRT takes: that is exported.
    Any other zero point exports as uint8 with TF's zero point (exact in ONNX Runtime;
    TensorRT's parser refuses it, so in the segment route the node stays in TensorFlow).
    tf2onnx's own export rounds the zero point in float64 and so misses TF's by one step
    for ranges like [-10, 10]; it is kept only for what this handler does not cover
    (narrow range, other bit widths, non-constant ranges).
    """
    import numpy as np
    from onnx import TensorProto
    from tf2onnx import utils
    from tf2onnx.onnx_opset.quantize import FakeQuantWithMinMaxArgs

    if node.type == "FakeQuantWithMinMaxVars":
        if not (node.inputs[1].is_scalar() and node.inputs[2].is_scalar()):
            FakeQuantWithMinMaxArgs.version_10(ctx, node)
            return
        low, high = float(node.inputs[1].get_tensor_value()), float(node.inputs[2].get_tensor_value())
    else:
        low, high = node.get_attr("min").f, node.get_attr("max").f
    bits = node.get_attr("num_bits").i if node.get_attr("num_bits") else 8
    narrow = node.get_attr("narrow_range").i if node.get_attr("narrow_range") else 0
    if bits != 8 or narrow or not high > low:
        FakeQuantWithMinMaxArgs.version_10(ctx, node)
        return
    scale, zero = tf_fake_quant_grid(low, high)
    if zero == 128:
        zero_value, quantized_type = np.array(0, dtype=np.int8), TensorProto.INT8
    else:
        zero_value, quantized_type = np.array(zero, dtype=np.uint8), TensorProto.UINT8
    x = node.input[0]
    shape = ctx.get_shape(x)
    scale_name = ctx.make_const(utils.make_name(f"{name}/scale"), np.array(scale, dtype=np.float32)).output[0]
    zero_name = ctx.make_const(utils.make_name(f"{name}/zero_point"), zero_value).output[0]
    quantized = ctx.make_node("QuantizeLinear", [x, scale_name, zero_name], op_name_scope=name, shapes=[shape], dtypes=[quantized_type])
    node.type = "DequantizeLinear"
    node.domain = ""
    for key in list(node.attr):
        del node.attr[key]
    ctx.replace_inputs(node, [quantized.output[0], scale_name, zero_name])


#: TF op type -> (handler, args), in tf2onnx's ``custom_op_handlers`` form.
EXTRA_TF_HANDLERS = {
    "Erfc": (_erfc, []),
    "FakeQuantWithMinMaxArgs": (_fake_quant, []),
    "FakeQuantWithMinMaxVars": (_fake_quant, []),
}
