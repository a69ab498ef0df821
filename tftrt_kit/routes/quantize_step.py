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
from tftrt_kit.routes.base import RouteContext
from tftrt_kit.routes.stages import RouteRun, Stage


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


def int8_onnx_stages(source: Any, export_options: Any) -> list[Stage]:
    """The onnx route's INT8 stages: Keras-level Q/DQ for Keras sources (quantize, calibrate, export),
    ONNX-level PTQ otherwise (export, calibrate); each leaves ``run.values["model"]``."""

    def quantize(run: RouteRun) -> None:
        from tftrt_kit.quantize import quantize_model

        run.values["batches"] = _batches(run.source, run.context)
        run.values["keras_model"] = quantize_model(run.source.keras_model)

    def calibrate_keras(run: RouteRun) -> None:
        from tftrt_kit.quantize import calibrate

        calibrate(run.values["keras_model"], run.values["batches"], method=run.context.calibration_method)

    def export_keras(run: RouteRun) -> None:
        from tftrt_kit.quantize import export_quantized

        run.values["model"] = export_quantized(run.values.pop("keras_model"), opset=export_options.opset)
        _record(run.result, "keras", run.context.calibration_method, run.values.pop("batches"))

    def export(run: RouteRun) -> None:
        from tftrt_kit.export import export_source

        run.values["batches"] = _batches(run.source, run.context)
        run.values["model"] = export_source(run.source, export_options)

    def calibrate_onnx(run: RouteRun) -> None:
        from tftrt_kit.quantize import quantize_onnx

        batches = run.values.pop("batches")
        run.values["model"] = quantize_onnx(run.values["model"], batches, method=run.context.calibration_method)
        _record(run.result, "onnx", run.context.calibration_method, batches)

    if source.keras_model is not None:
        return [Stage("quantize", quantize), Stage("calibrate", calibrate_keras), Stage("export", export_keras)]
    return [Stage("export", export), Stage("calibrate", calibrate_onnx)]


def segment_input_values(source: Any, batches: list[Mapping[str, np.ndarray]], tensors: list[str]) -> list[dict[str, np.ndarray]]:
    """Values of intermediate ``tensors`` of the source's frozen graph on each calibration batch."""
    from tftrt_kit.routes.segment_partition import source_function

    run = source_function(source, tensors)
    return [run(batch) for batch in batches]


def quantized_segments(source: Any, context: RouteContext, result: RouteResult, models: dict, specs: dict) -> dict:
    """Each segment's ONNX quantized with ONNX-level PTQ on its own input values (the segment route's calibrate stage)."""
    from tftrt_kit.quantize import quantize_onnx

    batches = _batches(source, context)
    wanted = sorted({s.name for name in models for s in specs[name].inputs})
    values = segment_input_values(source, batches, wanted)
    quantized = {
        name: quantize_onnx(model, [{s.name: v[s.name] for s in specs[name].inputs} for v in values], method=context.calibration_method)
        for name, model in models.items()
    }
    _record(result, "onnx", context.calibration_method, batches)
    return quantized
