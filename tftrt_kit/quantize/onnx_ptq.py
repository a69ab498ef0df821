"""ONNX-level post-training quantization for any source, in TensorRT's Q/DQ form.

ONNX Runtime's ``quantize_static`` does the calibration and Q/DQ insertion; the options
below make its output what TensorRT's explicit quantization accepts: QDQ format, int8
activations AND weights, symmetric (zero point 0; ORT then uses the narrow range
[-127, 127]), per-channel weights on the output-channel axis, float biases (TensorRT
folds biases itself) and Q/DQ only in front of the ops TensorRT runs in int8.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any, Iterator

from tftrt_kit.errors import CalibrationError, QuantizationError

#: ONNX op types whose inputs get Q/DQ: TensorRT's int8 kernels (weights per channel for
#: the first four); other ops run on whatever precision flows into them.
TENSORRT_OP_TYPES = ("Conv", "ConvTranspose", "MatMul", "Gemm", "AveragePool", "GlobalAveragePool")
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
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from tftrt_kit.quantize.inspect_qdq import summarize_qdq

    calibration = {"max": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
                   "entropy": CalibrationMethod.Entropy}
    if method not in calibration:
        raise QuantizationError(f"Expected method in {ORT_METHODS} for ONNX-level PTQ. Received: method={method!r}")
    reader = _FeedReader(onnx_model, calibration_feeds, options)
    extra = {
        "ActivationSymmetric": True,
        "WeightSymmetric": True,
        "QuantizeBias": False,
        # TensorRT places Q/DQ on op inputs only; ORT would also quantize each op's output.
        "OpTypesToExcludeOutputQuantization": list(options.op_types),
        "QDQOpTypePerChannelSupportToAxis": {"MatMul": 1},
        "CalibPercentile": options.percentile,
        "CalibTensorRangeSymmetric": True,
    }
    with tempfile.TemporaryDirectory(prefix="tftrt_kit_ptq_") as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        onnx.save(onnx_model, str(source))
        try:
            quantize_static(
                str(source), str(target), reader, quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(options.op_types), per_channel=per_channel,
                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                nodes_to_exclude=list(options.nodes_to_exclude), calibrate_method=calibration[method],
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
        quantized = onnx.load(str(target))
    summary = summarize_qdq(quantized)
    if not summary.zero_points_zero or set(summary.zero_point_dtypes) - {"int8"} or summary.tf_ops:
        raise QuantizationError(
            f"Expected int8 Q/DQ with zero point 0. Received: zero point types {summary.zero_point_dtypes}, "
            f"all zero={summary.zero_points_zero}."
        )
    return quantized


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
