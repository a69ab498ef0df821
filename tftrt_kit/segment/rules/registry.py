"""The op-rule registry and the attribute readers the rules share.

A rule is a validator registered for one op family with :func:`rule`. It reads a
``NodeDef`` (proto fields only) and returns ``None`` when TensorRT can take the
node, else a human reason. The reasons follow the project's error template:
what was expected, then ``Received: name=value``.

Dtype enums are the wire values of ``tensorflow/core/framework/types.proto``
(stable across TensorFlow releases), so reading them needs no TensorFlow import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

#: A validator: NodeDef -> None (supported) or the reason it is not.
Validator = Callable[[Any], "str | None"]

#: op type -> validator. Filled by the ``@rule`` decorators of the rule modules.
RULES: dict[str, Validator] = {}

#: op type -> the only precisions at which TensorRT takes it (ops absent: every precision).
PRECISION_ONLY: dict[str, frozenset[str]] = {}

DTYPE_NAMES: dict[int, str] = {
    1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string",
    8: "complex64", 9: "int64", 10: "bool", 11: "qint8", 12: "quint8", 13: "qint32",
    14: "bfloat16", 15: "qint16", 16: "quint16", 17: "uint16", 18: "complex128", 19: "float16",
    20: "resource", 21: "variant", 22: "uint32", 23: "uint64",
}

#: TF-TRT's dtype families (TensorRT's tensor types as TF-TRT's converters allowed them),
#: widened to TensorRT 10, whose layers and ONNX parser take int64 wherever ONNX uses
#: it (indices, shapes, Cast, ArgMax, elementwise): ``FLOAT_INT32`` includes int64 now.
#: An installed parser, asked about each candidate segment, has the last word.
FLOAT = frozenset({"float32", "float16"})
INDEX = frozenset({"int32", "int64"})
FLOAT_INT32 = FLOAT | INDEX
TENSOR = FLOAT_INT32 | {"int8"}
TENSOR_BOOL = TENSOR | {"bool"}

#: Attributes that name a node's output dtype, in the order they are looked up.
OUTPUT_DTYPE_ATTRS = ("T", "dtype", "out_type", "DstT", "output_type", "Tout", "type")


def rule(*ops: str, precisions: Iterable[str] | None = None) -> Callable[[Validator], Validator]:
    """Register ``validator`` as the rule of every op type in ``ops``.

    Args:
        *ops: TensorFlow op types (``NodeDef.op``) the validator decides.
        precisions: The only build precisions (``"fp32"``, ``"fp16"``, ``"int8"``) at which
            TensorRT takes these ops; ``None``: every precision.

    Returns:
        A decorator returning the validator unchanged.

    Raises:
        ValueError: if an op type already has a rule (one place per op).
    """

    def register(validator: Validator) -> Validator:
        for op in ops:
            if op in RULES:
                raise ValueError(f"Expected one rule per op type. Received a second rule for op={op!r}")
            RULES[op] = validator
            if precisions is not None:
                PRECISION_ONLY[op] = frozenset(precisions)
        return validator

    return register


def dtype_name(node: Any, attr: str) -> str | None:
    """Name of the dtype held by ``node.attr[attr]`` (``None`` if the attr is absent)."""
    if attr not in node.attr:
        return None
    value = node.attr[attr]
    if value.WhichOneof("value") != "type":
        return None
    return DTYPE_NAMES.get(value.type, f"dtype#{value.type}")


def output_dtypes(node: Any) -> tuple[str, ...]:
    """The output dtypes named by the node's attrs (``T``, ``dtype``, ``out_type``, ...).

    Read from attrs only, without TensorFlow's op registry: ops whose outputs follow
    ``T`` or ``dtype`` (nearly all) are exact; multi-output list attrs (``Tout``) give
    every listed type. An op with none of these attrs yields an empty tuple.
    """
    for attr in OUTPUT_DTYPE_ATTRS:
        if attr not in node.attr:
            continue
        value = node.attr[attr]
        if value.WhichOneof("value") == "type":
            return (DTYPE_NAMES.get(value.type, f"dtype#{value.type}"),)
        if value.WhichOneof("value") == "list" and value.list.type:
            return tuple(DTYPE_NAMES.get(t, f"dtype#{t}") for t in value.list.type)
    return ()


def check_dtype(node: Any, allowed: Iterable[str], attr: str = "T") -> str | None:
    """Refuse a node whose ``attr`` dtype is outside ``allowed`` (absent attr passes)."""
    name = dtype_name(node, attr)
    allowed = frozenset(allowed)
    if name is None or name in allowed:
        return None
    return f"{node.op} on TensorRT expects {attr} in {{{', '.join(sorted(allowed))}}}. Received: {attr}={name}"


def attr_s(node: Any, attr: str, default: str = "") -> str:
    """A string attr, decoded (``default`` if absent)."""
    return node.attr[attr].s.decode() if attr in node.attr else default


def attr_ints(node: Any, attr: str) -> list[int]:
    """A list-of-ints attr (empty if absent)."""
    return list(node.attr[attr].list.i) if attr in node.attr else []


def attr_b(node: Any, attr: str, default: bool = False) -> bool:
    """A bool attr (``default`` if absent)."""
    return node.attr[attr].b if attr in node.attr else default


def first_failure(*reasons: str | None) -> str | None:
    """The first non-``None`` reason, so a rule can chain its checks."""
    return next((r for r in reasons if r is not None), None)
