"""tftrt_kit: take a TensorFlow/Keras model to NVIDIA TensorRT by two routes and compare them.

``import tftrt_kit`` is fast: TensorFlow, tf2onnx, ONNX Runtime and TensorRT load
on first use.

Example:
    >>> import tftrt_kit                                              # doctest: +SKIP
    >>> report = tftrt_kit.convert("saved_model_dir")                 # doctest: +SKIP
    >>> print(report)                                                 # doctest: +SKIP
"""

from __future__ import annotations

from tftrt_kit._lazy import lazy_getattr
from tftrt_kit.errors import (
    ArtifactError,
    CalibrationError,
    ConfigError,
    EngineBuildError,
    ExportError,
    IncompatiblePlanError,
    MissingDependencyError,
    ModelConfigError,
    OutputDirError,
    QuantizationError,
    RuntimeInputError,
    SegmentationError,
    ServerError,
    SourceError,
    TftrtKitError,
    UnsupportedOpError,
)

__version__ = "0.1.0"

_LAZY = {
    "convert": "tftrt_kit.api",
    "load": "tftrt_kit.runtime",
    "load_source": "tftrt_kit.source",
    "Report": "tftrt_kit.report",
    "RouteResult": "tftrt_kit.report",
    "Tolerances": "tftrt_kit.report",
    "Thresholds": "tftrt_kit.report",
    "BenchOptions": "tftrt_kit.bench",
    "EngineOptions": "tftrt_kit.engines.tensorrt_builder",
    "quiet": "tftrt_kit.native_logs",
}

__all__ = [
    "ArtifactError", "CalibrationError", "ConfigError", "EngineBuildError", "ExportError", "IncompatiblePlanError", "MissingDependencyError", "ModelConfigError",
    "OutputDirError", "QuantizationError", "RuntimeInputError", "SegmentationError", "ServerError", "SourceError",
    "TftrtKitError", "UnsupportedOpError", *_LAZY,
]


__getattr__ = lazy_getattr(__name__, _LAZY)
