"""ONNX-level post-training quantization for any source, in TensorRT's Q/DQ form.

ONNX Runtime's ``quantize_static`` does the calibration and Q/DQ insertion; the options
below make its output what TensorRT's explicit quantization accepts: QDQ format, int8
activations AND weights, symmetric (zero point 0; ORT then uses the narrow range
[-127, 127]), per-channel weights on the output-channel axis, float biases (TensorRT
folds biases itself) and Q/DQ only in front of the ops TensorRT runs in int8.

A residual Add gets Q/DQ as on the Keras path (:mod:`tftrt_kit.quantize.placement`):
on its identity branch only, so TensorRT fuses the Add into the conv that produces the
other branch (the conv's int8 output feeds the Add's float epilogue). ONNX Runtime
would quantize both inputs or none: it quantizes both, then the conv branch's pair is
removed.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any, Iterator

from tftrt_kit.errors import CalibrationError, QuantizationError
from tftrt_kit.onnx_files import load_onnx, save_onnx

#: ONNX op types whose inputs get Q/DQ: TensorRT's int8 kernels (weights per channel for
#: the first four); other ops run on whatever precision flows into them.
TENSORRT_OP_TYPES = ("Conv", "ConvTranspose", "MatMul", "Gemm", "AveragePool", "GlobalAveragePool")
#: Weighted ops TensorRT can fuse a following Add into (Keras path: layers with a kernel).
FUSABLE_OP_TYPES = ("Conv", "ConvTranspose", "MatMul", "Gemm")
#: Ops folded into the conv before them (so the conv still fuses the Add after them).
FOLDED_OP_TYPES = ("BatchNormalization",)
ORT_METHODS = ("max", "percentile", "entropy")
_ONNX_DTYPES = {1: "float32", 10: "float16", 11: "float64", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 9: "bool"}


@dataclasses.dataclass(frozen=True)
class OnnxPtqOptions:
    """Knobs of :func:`quantize_onnx` beyond the method.

    Attributes:
        op_types: ONNX op types to quantize (default :data:`TENSORRT_OP_TYPES`).
        nodes_to_exclude: Node names to keep in float.
        percentile: Percentile for ``method="percentile"``.
        batch_size: Rows per calibration batch when feeds are whole arrays.
        num_batches: Stop after this many batches (default: all).
    """

    op_types: tuple[str, ...] = TENSORRT_OP_TYPES
    nodes_to_exclude: tuple[str, ...] = ()
    percentile: float = 99.99
    batch_size: int = 32
    num_batches: int | None = None


def quantize_onnx(
    onnx_model: Any,
    calibration_feeds: Any,
    method: str = "max",
    per_channel: bool = True,
    options: OnnxPtqOptions = OnnxPtqOptions(),
) -> Any:
    """Quantize an ONNX model to TensorRT-shaped int8 Q/DQ with ONNX Runtime.

    Args:
        onnx_model: An ``onnx.ModelProto`` (e.g. from :func:`tftrt_kit.export.export_source`).
        calibration_feeds: A dict input name -> array, a numpy array (single input), a
            tuple of arrays in graph input order, or an iterable of such batches.
        method: ``"max"`` (ORT MinMax), ``"percentile"`` or ``"entropy"``.
        per_channel: One weight scale per output channel (TensorRT's recommendation).
        options: Op types, exclusions, percentile, batching.

    Returns:
        The quantized ``onnx.ModelProto`` (checked by :func:`summarize_qdq`).

    Raises:
        CalibrationError: no data, or a batch of the wrong shape/dtype or not finite.
        QuantizationError: unknown method, or ORT produced something TensorRT would refuse.

    Example:
        >>> q = quantize_onnx(export_source(src), {"x": x_calib}, method="entropy")  # doctest: +SKIP
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from tftrt_kit.quantize.inspect_qdq import summarize_qdq

    calibration = {"max": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                   "entropy": CalibrationMethod.Entropy}
    if method not in calibration:
        raise QuantizationError(f"Expected method in {ORT_METHODS} for ONNX-level PTQ. Received: method={method!r}")
    reader = _FeedReader(onnx_model, calibration_feeds, options)
    excluded = set(options.nodes_to_exclude)
    if not any(n.op_type in options.op_types and n.name not in excluded for n in onnx_model.graph.node):
        # Nothing runs in int8 on TensorRT (e.g. a segment of int32 transposes, TF-TRT's
        # CalibrationInt32Support): the model is already its own INT8 form, and ORT's
        # calibrators fail on a model with no tensor to calibrate.
        return onnx_model
    residual = residual_adds(onnx_model)
    other_adds = [n.name for n in onnx_model.graph.node if n.op_type == "Add" and n.name not in residual]
    op_types = list(options.op_types) + (["Add"] if residual else [])
    extra = {
        "ActivationSymmetric": True,
        "WeightSymmetric": True,
        "QuantizeBias": False,
        # TensorRT places Q/DQ on op inputs only; ORT would also quantize each op's output.
        "OpTypesToExcludeOutputQuantization": op_types,
        "QDQOpTypePerChannelSupportToAxis": {"MatMul": 1},
        "CalibPercentile": options.percentile,
        "CalibTensorRangeSymmetric": True,
    }
    with tempfile.TemporaryDirectory(prefix="tftrt_kit_ptq_") as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        external = save_onnx(onnx_model, source) is not None  # a model over 2 GiB: external data in and out
        try:
            quantize_static(
                str(source), str(target), reader, quant_format=QuantFormat.QDQ, use_external_data_format=external,
                op_types_to_quantize=op_types, per_channel=per_channel,
                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                nodes_to_exclude=list(options.nodes_to_exclude) + other_adds, calibrate_method=calibration[method],
                extra_options=extra,
            )
        except CalibrationError:
            raise
        except Exception as err:
            if reader.samples == 0:
                raise CalibrationError(
                    f"Expected at least one calibration sample for inputs {reader.names}. Received: empty feeds."
                ) from err
            raise QuantizationError(f"Expected ONNX Runtime to quantize the model. Received: {type(err).__name__}: {err}") from err
        if reader.samples == 0:
            raise CalibrationError(f"Expected at least one calibration sample for inputs {reader.names}. Received: empty feeds.")
        quantized = load_onnx(target)
    _dequantize_fused_branches(quantized, residual)
    summary = summarize_qdq(quantized)
    if not summary.zero_points_zero or set(summary.zero_point_dtypes) - {"int8"} or summary.tf_ops:
        raise QuantizationError(
            f"Expected int8 Q/DQ with zero point 0. Received: zero point types {summary.zero_point_dtypes}, "
            f"all zero={summary.zero_points_zero}."
        )
    return quantized


def residual_adds(model: Any) -> dict[str, tuple[int, ...]]:
    """Residual Adds of ``model`` -> the indices of their inputs TensorRT fuses (those stay float).

    An Add of two activations is residual when an input comes from a weighted op
    (:data:`FUSABLE_OP_TYPES`, through :data:`FOLDED_OP_TYPES`) that feeds nothing else:
    TensorRT fuses the Add into that op. The other input, the identity branch, is the
    one to quantize. When every input comes from such an op (projection shortcut), all
    but the last are quantized: TensorRT fuses one op, the others then write int8.
    """
    constants = {i.name for i in model.graph.initializer}
    constants.update(o for n in model.graph.node if n.op_type == "Constant" for o in n.output)
    producer = {o: n for n in model.graph.node for o in n.output}
    readers: dict[str, int] = {}
    for node in model.graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    for output in model.graph.output:
        readers[output.name] = readers.get(output.name, 0) + 1

    def fusable(tensor: str) -> bool:
        node = producer.get(tensor)
        while node is not None and node.op_type in FOLDED_OP_TYPES and readers.get(tensor) == 1:
            tensor = node.input[0]
            node = producer.get(tensor)
        return node is not None and node.op_type in FUSABLE_OP_TYPES and readers.get(tensor) == 1

    result = {}
    for node in model.graph.node:
        if node.op_type != "Add" or len(node.input) != 2 or constants.intersection(node.input):
            continue
        fused = [fusable(t) for t in node.input]
        if all(fused):
            result[node.name] = (len(fused) - 1,)
        elif any(fused):
            result[node.name] = tuple(i for i, f in enumerate(fused) if f)
    return result


def _dequantize_fused_branches(model: Any, residual: dict[str, tuple[int, ...]]) -> None:
    """Remove the Q/DQ pair ONNX Runtime put on the fused inputs of each residual Add (in place)."""
    producer = {o: n for n in model.graph.node for o in n.output}
    dropped = set()
    for node in model.graph.node:
        for index in residual.get(node.name, ()):
            dq = producer.get(node.input[index])
            q = producer.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
            if q is None or q.op_type != "QuantizeLinear":
                continue
            node.input[index] = q.input[0]
            dropped.update((dq.name, q.name))
    keep = list(model.graph.node)
    while True:  # a DQ goes first, then the Q it read (unless another DQ still reads it)
        read = {name for n in keep for name in n.input} | {o.name for o in model.graph.output}
        kept = [n for n in keep if n.name not in dropped or read.intersection(n.output)]
        if len(kept) == len(keep):
            break
        keep = kept
    del model.graph.node[:]
    model.graph.node.extend(keep)


class _FeedReader:
    """ORT ``CalibrationDataReader``: validated batches from any supported feed form."""

    def __init__(self, model: Any, feeds: Any, options: OnnxPtqOptions):
        from tftrt_kit.quantize.calibration import _batches

        initializers = {i.name for i in model.graph.initializer}
        self.specs = []
        for value in model.graph.input:
            if value.name in initializers:
                continue
            tensor = value.type.tensor_type
            shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)
            self.specs.append((value.name, shape, _ONNX_DTYPES.get(tensor.elem_type, "float32")))
        self.names = [s[0] for s in self.specs]
        self._iterator: Iterator[list[Any]] = _batches(feeds, self.specs, options.batch_size, options.num_batches)
        self.samples = 0

    def get_next(self) -> dict[str, Any] | None:
        arrays = next(self._iterator, None)
        if arrays is None:
            return None
        self.samples += arrays[0].shape[0]
        return dict(zip(self.names, arrays))
