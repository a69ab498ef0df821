"""Rules for constants, control-only nodes, quantization ops and the known refusals.

Refusals carry a specific reason so a report can say why a node stayed in
TensorFlow instead of the generic "no TensorRT converter".
"""

from __future__ import annotations

from typing import Any

from tftrt_kit.segment.rules.registry import FLOAT, TENSOR_BOOL, attr_b, check_dtype, rule


@rule("Const")
def const(node: Any) -> str | None:
    """TF Const -> TensorRT weights / IConstantLayer (float32, float16, int8, int32, bool)."""
    return check_dtype(node, TENSOR_BOOL, attr="dtype")


@rule("NoOp")
def no_op(node: Any) -> str | None:
    """TF NoOp (control edges only, no tensor) -> nothing: it vanishes from the exported segment.

    Frozen graphs tie their output Identity nodes to a NoOp fed by control edges from
    the weight reads; keeping the NoOp with those nodes avoids a needless cut.
    """
    return None


@rule("QuantizeAndDequantizeV2", "QuantizeAndDequantizeV3", "QuantizeAndDequantizeV4", precisions=("int8",))
def quantize_dequantize(node: Any) -> str | None:
    """TF QuantizeAndDequantize (signed, 8 bit) -> ONNX QuantizeLinear/DequantizeLinear -> TensorRT Q/DQ layers.

    INT8 only, as in TF-TRT: at FP32/FP16 a Q/DQ pair would make TensorRT compute in INT8
    where the user asked for float.
    """
    if "num_bits" in node.attr and node.attr["num_bits"].i != 8:
        return f"{node.op} on TensorRT expects num_bits=8 (INT8 Q/DQ). Received: num_bits={node.attr['num_bits'].i}"
    if not attr_b(node, "signed_input", True):
        return f"{node.op} on TensorRT expects signed_input=true (symmetric INT8). Received: signed_input=false"
    return check_dtype(node, FLOAT)


@rule("FakeQuantWithMinMaxVars", "FakeQuantWithMinMaxArgs", "FakeQuantWithMinMaxVarsPerChannel", precisions=("int8",))
def fake_quant(node: Any) -> str | None:
    """TF FakeQuant (8 bit) -> ONNX QuantizeLinear/DequantizeLinear -> TensorRT Q/DQ layers.

    INT8 only, as in TF-TRT (it left FakeQuant in TensorFlow at FP32/FP16). TensorRT takes
    only zero point 0: a range that TF nudges to zero point 128 of uint8 exports as int8
    with zero point 0 (:mod:`tftrt_kit.export_handlers`); other ranges are refused by the parser.
    """
    if "num_bits" in node.attr and node.attr["num_bits"].i != 8:
        return f"{node.op} on TensorRT expects num_bits=8. Received: num_bits={node.attr['num_bits'].i}"
    return None


@rule("Placeholder")
def placeholder(node: Any) -> str | None:
    """Graph inputs are fed by the caller; they are never part of a segment."""
    return "graph input"


@rule("While", "StatelessWhile", "If", "StatelessIf", "Case", "StatelessCase")
def control_flow(node: Any) -> str | None:
    """TF functional control flow: TF-TRT had no converter (loops and branches stay in TF, whole)."""
    return f"{node.op} is functional control flow: TF-TRT had no TensorRT converter for it (it stays in TensorFlow)"


@rule("PartitionedCall", "StatefulPartitionedCall")
def function_call(node: Any) -> str | None:
    """A function call left after :func:`tftrt_kit.inline.inline_calls`: Grappler could not inline it."""
    function = node.attr["f"].func.name if "f" in node.attr else "?"
    return f"{node.op} of function {function!r} could not be inlined: the call runs whole in TensorFlow"


@rule(
    "TensorListReserve", "TensorListFromTensor", "TensorListStack", "TensorListGetItem",
    "TensorListSetItem", "TensorListPushBack", "TensorListPopBack", "TensorListLength",
    "TensorListElementShape", "TensorListConcatV2", "TensorListSplit",
)
def tensor_list(node: Any) -> str | None:
    """TensorList ops (RNN loop state): variant tensors TensorRT cannot hold."""
    return f"{node.op} works on a TensorList (variant tensor): TensorRT has no list type"


@rule("Where")
def where(node: Any) -> str | None:
    """TF Where(cond) returns int64 coordinates of a data-dependent count: no TF-TRT converter."""
    return "Where has a data-dependent output shape (int64 coordinates): TF-TRT had no TensorRT converter for it"


@rule("Cumsum", "Cumprod")
def cumulative(node: Any) -> str | None:
    """TF Cumsum/Cumprod: TF-TRT had no converter.

    TensorRT-RTX's ONNX parser accepts ONNX CumSum; a parser verdict passed as an
    override by the route can flip this rule for Cumsum.
    """
    return f"{node.op}: TF-TRT had no TensorRT converter for it"


@rule("Erfc")
def erfc(node: Any) -> str | None:
    """TF Erfc: TF-TRT had no converter (its integration tests use Erfc as the op that stays in TensorFlow).

    Matching that keeps TF-TRT's engines. ``include_ops=("Erfc",)`` sends it to TensorRT:
    it exports with float32 relative precision (:mod:`tftrt_kit.export_handlers`), as
    the onnx route exports it.
    """
    return "Erfc: TF-TRT had no TensorRT converter for it (include_ops=('Erfc',) sends it to TensorRT)"


@rule("ScatterNd", "TensorScatterUpdate", "TensorScatterAdd")
def scatter(node: Any) -> str | None:
    """TF scatter ops: TF-TRT had no converter."""
    return f"{node.op} (scatter): TF-TRT had no TensorRT converter for it"


@rule("NonMaxSuppressionV3", "NonMaxSuppressionV4", "NonMaxSuppressionV5")
def non_max_suppression(node: Any) -> str | None:
    """TF NonMaxSuppressionV3-V5 return a data-dependent number of boxes: no TF-TRT converter."""
    return (
        f"{node.op} returns a data-dependent number of boxes: TF-TRT had no TensorRT converter for it "
        "(it converted only CombinedNonMaxSuppression)"
    )


@rule("CombinedNonMaxSuppression")
def combined_nms(node: Any) -> str | None:
    """TF CombinedNonMaxSuppression: stays in TensorFlow, as in TF-TRT's dynamic-shape mode (its implicit-batch mode used a plugin).

    Its TensorRT form is a plugin (``EfficientNMS_TRT``), outside the standard ONNX domains:
    TensorRT-RTX has no plugins, and without full TensorRT nothing here can parse or check
    one. NMS ends a detector, so the boundary costs one TensorFlow call.
    """
    return (
        "CombinedNonMaxSuppression needs a TensorRT plugin (EfficientNMS_TRT), outside the standard ONNX "
        "domains (TensorRT-RTX has no plugins): it stays in TensorFlow"
    )


@rule(
    "ReadVariableOp", "VarHandleOp", "AssignVariableOp", "VariableV2", "Variable", "ResourceGather",
    "HashTableV2", "LookupTableFindV2", "StringToHashBucketFast", "StringSplitV2", "StringLength",
    "StringJoin", "AsString", "StringToNumber", "RegexReplace", "DecodeJpeg", "DecodePng", "ParseExampleV2",
)
def resource_or_string(node: Any) -> str | None:
    """Resource (variable, table) and string ops: TensorRT has no resource or string tensors."""
    return f"{node.op} works on resource or string tensors, which TensorRT does not have"

