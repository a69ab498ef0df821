"""The one error hierarchy of tftrt_kit.

Every error a user can cause or meet derives from :class:`TftrtKitError`, so
``except tftrt_kit.TftrtKitError`` catches all of them. Messages follow one
template: what was expected, then what was received, naming the file,
signature, op, node or tensor at fault, and the fix where there is one.
"""

from __future__ import annotations


class TftrtKitError(Exception):
    """Base class of every error raised by tftrt_kit on purpose."""


class ConfigError(TftrtKitError, ValueError):
    """An argument is outside what tftrt_kit accepts (route, precision, backend, executor, option)."""


class SourceError(TftrtKitError):
    """The model to convert could not be loaded (path, format, signature, input specs)."""


class ExportError(TftrtKitError):
    """TensorFlow to ONNX export failed or produced a model that is not a TensorRT model."""


class UnsupportedOpError(ExportError):
    """The exported ONNX still holds ops outside the standard ONNX domains.

    Attributes:
        ops: ``(op_type, node_name)`` pairs of the offending nodes.
    """

    def __init__(self, message: str, ops: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.ops = list(ops or [])


class SegmentationError(TftrtKitError):
    """The segment route could not partition the graph."""


class QuantizationError(TftrtKitError):
    """A model could not be quantized (placement, export of Q/DQ)."""


class CalibrationError(QuantizationError):
    """Calibration data is missing, empty, malformed or not finite."""


class EngineBuildError(TftrtKitError):
    """A TensorRT (or TensorRT-RTX) parser or builder refused the model.

    Attributes:
        check: The :class:`~tftrt_kit.engines.tensorrt_builder.TensorRTCheck` of the
            failed attempt (its ``error`` holds TensorRT's message), when there was one.
    """

    def __init__(self, message: str, check: object | None = None):
        super().__init__(message)
        self.check = check


class IncompatiblePlanError(EngineBuildError):
    """A serialized plan cannot run here: other TensorRT module or version, other GPU, or damaged bytes."""


class MissingDependencyError(TftrtKitError):
    """An optional dependency is not installed; the message names the extra to install."""


class RuntimeInputError(TftrtKitError):
    """A loaded artifact was called with missing, extra, mis-shaped or mis-typed inputs."""


class ArtifactError(TftrtKitError):
    """An artifact directory is missing, malformed, unsafe or of an unknown schema version."""


class OutputDirError(ArtifactError):
    """The output directory exists and is not empty, and ``overwrite=True`` was not given."""


class ModelConfigError(ArtifactError):
    """A generated Triton ``config.pbtxt`` does not parse against Triton's ``ModelConfig`` schema."""


class ServerError(TftrtKitError):
    """The local Triton server did not start, or did not load the model."""
