"""INT8 explicit quantization the way TensorRT wants it: Keras-level Q/DQ (PTQ and QAT)
and ONNX-level PTQ, plus a reader of the Q/DQ an ONNX model holds.

Importing this package is cheap; TensorFlow, Keras and ONNX Runtime load on first use
of a name below.

Example:
    >>> from tftrt_kit.quantize import quantize_model, calibrate, export_quantized
    >>> qmodel = quantize_model(model)                          # doctest: +SKIP
    >>> calibrate(qmodel, x_calib, method="entropy")            # doctest: +SKIP
    >>> onnx_model = export_quantized(qmodel)                   # doctest: +SKIP
"""

from __future__ import annotations

from tftrt_kit._lazy import lazy_getattr

#: public name -> submodule defining it.
_EXPORTS = {
    "quantize_model": ".model",
    "input_quantizers": ".model",
    "QuantizationSpec": ".placement",
    "LayerRule": ".placement",
    "calibrate": ".calibration",
    "CalibrationResult": ".calibration",
    "finetune": ".qat",
    "QatOptions": ".qat",
    "export_quantized": ".export_qdq",
    "quantize_onnx": ".onnx_ptq",
    "OnnxPtqOptions": ".onnx_ptq",
    "summarize_qdq": ".inspect_qdq",
    "QdqSummary": ".inspect_qdq",
    "TensorQuantizer": ".quantizers",
    "WeightQuantizeWrapper": ".quantizers",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return __all__
