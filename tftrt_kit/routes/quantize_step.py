"""INT8 for the routes: which quantization each route applies, with calibration recorded.

- Route "onnx": Keras-level Q/DQ when the source is a Keras model (placement by
  TensorRT's rules, calibration in Keras), ONNX-level PTQ with ONNX Runtime otherwise.
- Route "segment": each segment's ONNX is quantized with ONNX-level PTQ on the values
  its input tensors take when the source runs on the calibration data — the
  counterpart of TF-TRT's INT8 calibration of each TRTEngineOp.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from tftrt_kit.calibration_data import validate_calibration_data
from tftrt_kit.errors import CalibrationError
from tftrt_kit.report.data import RouteResult
from tftrt_kit.routes.base import RouteContext, stage


def _batches(source: Any, context: RouteContext) -> list[dict[str, np.ndarray]]:
    if context.calibration_data is None:
        raise CalibrationError(
            "Expected calibration_data for precision='int8' (TensorRT's explicit quantization needs "
            f"activation ranges). Received: none for inputs {[s.name for s in source.inputs]}; "
            "pass calibration_data= (CLI: --calibration-data FILE.npy|npz)."
        )
    return validate_calibration_data(context.calibration_data, source.inputs)


def _record(result: RouteResult, level: str, method: str, batches: list[Mapping[str, np.ndarray]]) -> None:
    samples = sum(next(iter(b.values())).shape[0] for b in batches)
    result.details["quantization"] = {"level": level, "method": method, "calibration_samples": int(samples), "batches": len(batches)}


def quantized_onnx(source: Any, context: RouteContext, result: RouteResult, export_options: Any) -> Any:
    """The onnx route's INT8 model: Keras-level Q/DQ for Keras sources, ONNX-level PTQ otherwise."""
    from tftrt_kit.export import export_source
    from tftrt_kit.quantize import calibrate, export_quantized, quantize_model, quantize_onnx

    batches = _batches(source, context)
    method = context.calibration_method
    if source.keras_model is not None:
        with stage(result, "quantize"):
            qmodel = quantize_model(source.keras_model)
        with stage(result, "calibrate"):
            calibrate(qmodel, batches, method=method)
        with stage(result, "export"):
            model = export_quantized(qmodel, opset=export_options.opset)
        _record(result, "keras", method, batches)
        return model
    with stage(result, "export"):
        fp32 = export_source(source, export_options)
    with stage(result, "calibrate"):
        model = quantize_onnx(fp32, batches, method=method)
    _record(result, "onnx", method, batches)
    return model


def segment_input_values(source: Any, batches: list[Mapping[str, np.ndarray]], tensors: list[str]) -> list[dict[str, np.ndarray]]:
    """Values of intermediate ``tensors`` of the source's frozen graph on each calibration batch."""
    import tensorflow as tf

    fed = dict(zip(source.input_tensors, (s.name for s in source.inputs)))
    inner = [t for t in tensors if t not in fed]
    wrapped = tf.compat.v1.wrap_function(lambda: tf.graph_util.import_graph_def(source.graph_def, name=""), [])
    graph = wrapped.graph
    pruned = wrapped.prune([graph.get_tensor_by_name(t) for t in source.input_tensors], [graph.get_tensor_by_name(t) for t in inner])
    values = []
    for batch in batches:
        outputs = pruned(*[tf.constant(batch[spec.name]) for spec in source.inputs]) if inner else []
        row = {t: v.numpy() for t, v in zip(inner, outputs)}
        row.update({t: batch[fed[t]] for t in tensors if t in fed})
        values.append(row)
    return values


def quantized_segments(source: Any, context: RouteContext, result: RouteResult, models: dict, specs: dict) -> dict:
    """Each segment's ONNX quantized with ONNX-level PTQ on its own input values."""
    from tftrt_kit.quantize import quantize_onnx

    batches = _batches(source, context)
    wanted = sorted({s.name for name in models for s in specs[name].inputs})
    with stage(result, "calibrate"):
        values = segment_input_values(source, batches, wanted)
        quantized = {
            name: quantize_onnx(model, [{s.name: v[s.name] for s in specs[name].inputs} for v in values], method=context.calibration_method)
            for name, model in models.items()
        }
    _record(result, "onnx", context.calibration_method, batches)
    return quantized
