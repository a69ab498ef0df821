"""Read an ONNX model's explicit quantization: what TensorRT will see.

ONNX ``QuantizeLinear(x, scale, zp)`` = ``saturate(round(x / scale) + zp)`` and
``DequantizeLinear(q, scale, zp)`` = ``(q - zp) * scale``; TensorRT accepts only int8
(or fp8) with zp = 0, per-tensor activations and per-channel weights whose ``axis`` is
the output-channel axis of the op they feed.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

#: TensorFlow quantization ops that must never reach an ONNX model.
TF_QUANT_OPS = (
    "QuantizeAndDequantizeV2", "QuantizeAndDequantizeV3", "QuantizeAndDequantizeV4",
    "FakeQuantWithMinMaxArgs", "FakeQuantWithMinMaxVars", "FakeQuantWithMinMaxVarsPerChannel",
)
#: Ops that only move weight elements around between a weight DQ and its consumer.
LAYOUT_OPS = ("Reshape", "Transpose", "Identity", "Squeeze", "Unsqueeze")


def expected_weight_axis(node: Any, rank: int) -> int | None:
    """Output-channel axis of the weight input of ``node`` in ONNX layout."""
    if node.op_type == "Conv":
        return 0
    if node.op_type == "ConvTranspose":
        return 1
    if node.op_type == "MatMul":
        return rank - 1
    if node.op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1
    return None


@dataclasses.dataclass(frozen=True)
class WeightQdq:
    """One weight DequantizeLinear and the op its output feeds.

    Attributes:
        name: The DequantizeLinear node.
        consumer: Op type it feeds (after layout ops such as Reshape/Transpose).
        axis: Its ``axis`` attribute (ONNX default 1), ``None`` when per tensor.
        scales: Number of scales.
        channels: Size of the weight along ``axis`` (``None`` when per tensor).
        expected_axis: Output-channel axis of the consumer's weight, when known.
        direct: Whether the DQ feeds the consumer with no layout op between.
    """

    name: str
    consumer: str
    axis: int | None
    scales: int
    channels: int | None
    expected_axis: int | None
    direct: bool

    @property
    def per_channel_ok(self) -> bool:
        """Per channel, on the consumer's output-channel axis, one scale per channel."""
        return self.axis is not None and self.direct and self.axis == self.expected_axis and self.scales == self.channels


@dataclasses.dataclass(frozen=True)
class QdqSummary:
    """Counts and properties of the Q/DQ nodes of one ONNX model.

    Attributes:
        quantize: Number of QuantizeLinear nodes.
        dequantize: Number of DequantizeLinear nodes.
        consumers: Op type -> number of DequantizeLinear outputs it reads (activations and weights).
        activation_consumers: Same, for activation DQ only (the placement of input quantizers).
        weights: One entry per weight DQ.
        zero_point_dtypes: Element types of all zero points (``"int8"`` expected).
        zero_points_zero: Whether every zero point is 0 (or omitted).
        per_tensor_activations: Whether every activation Q/DQ has a single scale.
        tf_ops: TensorFlow quantization op types still in the graph (must be empty).
    """

    quantize: int
    dequantize: int
    consumers: dict[str, int]
    activation_consumers: dict[str, int]
    weights: tuple[WeightQdq, ...]
    zero_point_dtypes: tuple[str, ...]
    zero_points_zero: bool
    per_tensor_activations: bool
    tf_ops: tuple[str, ...]

    @property
    def tensorrt_shaped(self) -> bool:
        """DESIGN.md invariant 4: int8 zp 0, per-tensor activations, per-channel weights on the right axis, no TF op."""
        return (
            self.quantize > 0 and self.zero_points_zero and set(self.zero_point_dtypes) <= {"int8"}
            and self.per_tensor_activations and all(w.per_channel_ok for w in self.weights) and not self.tf_ops
        )


def summarize_qdq(model: Any) -> QdqSummary:
    """Summarise the explicit quantization of ``model`` (an ``onnx.ModelProto``).

    Example:
        >>> s = summarize_qdq(onnx.load("model_int8.onnx"))     # doctest: +SKIP
        >>> s.consumers["Conv"], s.tensorrt_shaped              # doctest: +SKIP
        (106, True)
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    constants = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute:
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    producers = {out: node for node in graph.node for out in node.output}
    readers: dict[str, list[Any]] = collections.defaultdict(list)
    for node in graph.node:
        for name in node.input:
            readers[name].append(node)
    quantize = [n for n in graph.node if n.op_type == "QuantizeLinear"]
    dequantize = [n for n in graph.node if n.op_type == "DequantizeLinear"]
    consumers: collections.Counter = collections.Counter()
    activation_consumers: collections.Counter = collections.Counter()
    weights, zp_types, zp_zero, per_tensor = [], set(), True, True
    for node in quantize + dequantize:
        if len(node.input) > 2 and node.input[2] in constants:
            zp = constants[node.input[2]]
            zp_types.add(str(zp.dtype))
            zp_zero = zp_zero and not zp.any()
        elif len(node.input) > 2 and node.input[2]:
            zp_zero = False
        else:
            zp_types.add("uint8")  # ONNX: an omitted zero point means uint8 0
    for node in dequantize:
        weight = _weight_source(node, producers, constants)
        readers_of_dq = _consumers(node, readers)
        if not readers_of_dq:
            continue
        consumers.update(n.op_type for n, _ in readers_of_dq)
        scales = int(constants[node.input[1]].size) if node.input[1] in constants else 1
        if weight is None:
            activation_consumers.update(n.op_type for n, _ in readers_of_dq)
            per_tensor = per_tensor and scales == 1
            continue
        consumer, direct = readers_of_dq[0]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        axis = int(attrs.get("axis", 1)) % weight.ndim if scales > 1 else None
        weights.append(WeightQdq(
            name=node.name, consumer=consumer.op_type, axis=axis, scales=scales,
            channels=None if axis is None else int(weight.shape[axis]),
            expected_axis=expected_weight_axis(consumer, weight.ndim), direct=direct,
        ))
    tf_ops = tuple(sorted({n.op_type for n in graph.node if n.op_type in TF_QUANT_OPS}))
    return QdqSummary(
        quantize=len(quantize), dequantize=len(dequantize), consumers=dict(consumers),
        activation_consumers=dict(activation_consumers), weights=tuple(weights),
        zero_point_dtypes=tuple(sorted(zp_types)), zero_points_zero=zp_zero,
        per_tensor_activations=per_tensor, tf_ops=tf_ops,
    )


def _weight_source(dq: Any, producers: dict[str, Any], constants: dict[str, Any]) -> Any:
    """The constant weight behind a DQ (``int8 initializer -> DQ`` or ``float const -> Q -> DQ``), else None."""
    source = dq.input[0]
    if source in constants:
        return constants[source]
    producer = producers.get(source)
    if producer is not None and producer.op_type == "QuantizeLinear" and producer.input[0] in constants:
        return constants[producer.input[0]]
    return None


def _consumers(dq: Any, readers: dict[str, list[Any]]) -> list[tuple[Any, bool]]:
    """Every non-layout op reading the DQ output (through layout ops), and whether directly."""
    found, pending = [], [(dq.output[0], True)]
    while pending:
        tensor, direct = pending.pop()
        for node in readers.get(tensor, []):
            if node.op_type in LAYOUT_OPS:
                pending.append((node.output[0], False))
            else:
                found.append((node, direct))
    return found
