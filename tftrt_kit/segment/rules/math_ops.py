"""Rules for elementwise math, reductions, matrix products and selection ops.

TF broadcasting binary ops map to TensorRT's IElementWiseLayer (numpy broadcasting
on both sides); TF unary math to IUnaryLayer; reductions to IReduceLayer.
"""

from __future__ import annotations

from typing import Any

from tftrt_kit.segment.rules.registry import (
    FLOAT,
    FLOAT_INT32,
    INDEX,
    attr_b,
    check_dtype,
    dtype_name,
    first_failure,
    rule,
)


@rule(
    "Add", "AddV2", "Sub", "Mul", "Div", "RealDiv", "FloorDiv", "FloorMod", "Minimum", "Maximum",
    "Pow", "SquaredDifference", "DivNoNan",
)
def binary(node: Any) -> str | None:
    """TF binary arithmetic -> TensorRT IElementWiseLayer (kSUM, kSUB, kPROD, kDIV, kMIN, kMAX, kPOW, ...)."""
    return check_dtype(node, FLOAT_INT32)


@rule("AddN")
def add_n(node: Any) -> str | None:
    """TF AddN (N same-shape tensors) -> a chain of TensorRT IElementWiseLayer kSUM."""
    return check_dtype(node, FLOAT_INT32)


@rule(
    "Neg", "Abs", "Sqrt", "Rsqrt", "Reciprocal", "Exp", "Log", "Log1p", "Square", "Sin", "Cos", "Tan",
    "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Ceil", "Floor", "Round",
    "Sign", "Erf",
)
def unary(node: Any) -> str | None:
    """TF unary math -> TensorRT IUnaryLayer (or IElementWiseLayer for Square/Rsqrt/Reciprocal)."""
    if node.op in ("Neg", "Abs", "Sign", "Square"):
        return check_dtype(node, FLOAT_INT32)
    return check_dtype(node, FLOAT)


@rule("Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual")
def comparison(node: Any) -> str | None:
    """TF comparisons (bool output) -> TensorRT IElementWiseLayer kEQUAL/kLESS/kGREATER (+ kOR / kNOT)."""
    return check_dtype(node, FLOAT_INT32)


@rule("LogicalAnd", "LogicalOr", "LogicalNot")
def logical(node: Any) -> str | None:
    """TF logical ops on bool -> TensorRT IElementWiseLayer kAND/kOR, IUnaryLayer kNOT (bool tensors)."""
    return None


@rule("Select", "SelectV2")
def select(node: Any) -> str | None:
    """TF Select(V2)(cond, x, y) -> TensorRT ISelectLayer (bool condition, broadcasting for V2)."""
    return check_dtype(node, FLOAT_INT32)


@rule("ClipByValue")
def clip(node: Any) -> str | None:
    """TF ClipByValue(x, lo, hi) -> TensorRT IActivationLayer kCLIP (constant bounds) or kMAX+kMIN."""
    return check_dtype(node, FLOAT)


@rule("Sum", "Prod", "Max", "Min", "Mean", "All", "Any")
def reduce(node: Any) -> str | None:
    """TF reductions over constant axes -> TensorRT IReduceLayer (kSUM, kPROD, kMAX, kMIN, kAVG)."""
    if node.op in ("All", "Any"):
        return None
    return first_failure(check_dtype(node, FLOAT_INT32), check_dtype(node, INDEX, attr="Tidx"))


@rule("ArgMax", "ArgMin")
def arg_min_max(node: Any) -> str | None:
    """TF ArgMax/ArgMin -> ONNX ArgMax/ArgMin (int64) -> TensorRT ITopKLayer with k=1, its index output."""
    out = dtype_name(node, "output_type")
    if out not in (None, *INDEX):
        return f"{node.op} on TensorRT expects output_type in {{int32, int64}}. Received: output_type={out}"
    return check_dtype(node, FLOAT)


@rule("TopKV2")
def top_k(node: Any) -> str | None:
    """TF TopKV2 (sorted, constant k) -> TensorRT ITopKLayer kMAX on the last axis."""
    if not attr_b(node, "sorted", True):
        return "TopKV2 on TensorRT expects sorted=true. Received: sorted=false"
    return check_dtype(node, FLOAT)


@rule("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")
def matmul(node: Any) -> str | None:
    """TF MatMul/BatchMatMul (transpose/adj attrs) -> TensorRT IMatrixMultiplyLayer (kTRANSPOSE ops)."""
    if node.op == "BatchMatMulV3":
        return first_failure(*(check_dtype(node, FLOAT, attr=a) for a in ("Ta", "Tb", "Tout")))
    return check_dtype(node, FLOAT)


@rule("Einsum")
def einsum(node: Any) -> str | None:
    """TF Einsum over two operands -> TensorRT IEinsumLayer (TF-TRT: two inputs, no ellipsis)."""
    equation = node.attr["equation"].s.decode() if "equation" in node.attr else ""
    operands = len([i for i in node.input if not i.startswith("^")])
    if operands > 2:
        return f"Einsum on TensorRT expects at most 2 operands. Received: {operands} operands"
    if "..." in equation:
        return f"Einsum on TensorRT expects an equation without ellipsis. Received: equation={equation!r}"
    return check_dtype(node, FLOAT)
