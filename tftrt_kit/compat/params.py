"""TF-TRT's conversion parameters, precision modes and profile strategies, with TF-TRT's defaults and checks."""

from __future__ import annotations

from typing import NamedTuple

#: TF-TRT's default for TensorRT < 8.4 (it used ``sys.maxsize - 512``, "no limit", from 8.4 on).
DEFAULT_TRT_MAX_WORKSPACE_SIZE_BYTES = 1 << 30

PROFILE_STRATEGY_RANGE = "Range"
PROFILE_STRATEGY_OPTIMAL = "Optimal"
PROFILE_STRATEGY_RANGE_OPTIMAL = "Range+Optimal"
PROFILE_STRATEGY_IMPLICIT_BATCH_MODE_COMPATIBLE = "ImplicitBatchModeCompatible"


class TrtPrecisionMode:
    """TF-TRT's precision names; lower case is accepted too."""

    FP32 = "FP32"
    FP16 = "FP16"
    INT8 = "INT8"

    @staticmethod
    def supported_precision_modes() -> list[str]:
        """``["FP32", "FP16", "INT8", "fp32", "fp16", "int8"]``, as TF-TRT."""
        modes = [TrtPrecisionMode.FP32, TrtPrecisionMode.FP16, TrtPrecisionMode.INT8]
        return modes + [m.lower() for m in modes]


def supported_profile_strategies() -> list[str]:
    """The ``dynamic_shape_profile_strategy`` values TF-TRT accepted (compared case-insensitively)."""
    return [PROFILE_STRATEGY_RANGE, PROFILE_STRATEGY_OPTIMAL, PROFILE_STRATEGY_RANGE_OPTIMAL, PROFILE_STRATEGY_IMPLICIT_BATCH_MODE_COMPATIBLE]


class TrtConversionParams(NamedTuple):
    """TF-TRT's conversion parameters (a NamedTuple there too, so ``_replace`` works).

    Attributes:
        max_workspace_size_bytes: TensorRT workspace memory pool limit of each plan.
        precision_mode: One of :meth:`TrtPrecisionMode.supported_precision_modes`.
        minimum_segment_size: Fewest effective nodes in a segment; ``-1`` converts nothing.
        maximum_cached_engines: No meaning here (one plan per segment); a value other
            than 1 is reported with a warning.
        use_calibration: INT8 only: calibrate on ``calibration_input_fn`` (True) or rely
            on quantization nodes already in the graph (False).
        allow_build_at_runtime: No engine is built at run time here: a segment without
            a usable plan runs on ONNX Runtime. ``save()`` before ``build()`` warns.

    Example:
        >>> params = TrtConversionParams(precision_mode=TrtPrecisionMode.FP16)
        >>> params._replace(minimum_segment_size=5).minimum_segment_size
        5
    """

    max_workspace_size_bytes: int = DEFAULT_TRT_MAX_WORKSPACE_SIZE_BYTES
    precision_mode: str = TrtPrecisionMode.FP32
    minimum_segment_size: int = 3
    maximum_cached_engines: int = 1
    use_calibration: bool = True
    allow_build_at_runtime: bool = True


DEFAULT_TRT_CONVERSION_PARAMS = TrtConversionParams()


def check_conversion_params(params: TrtConversionParams) -> None:
    """Refuse what TF-TRT refused.

    Raises:
        ValueError: an unknown precision mode, or ``minimum_segment_size`` neither positive nor -1.
    """
    modes = TrtPrecisionMode.supported_precision_modes()
    if params.precision_mode not in modes:
        raise ValueError(f"Expected precision_mode in {modes}. Received: precision_mode={params.precision_mode!r}")
    if params.minimum_segment_size <= 0 and params.minimum_segment_size != -1:
        raise ValueError(
            "Expected minimum_segment_size positive or -1 (to disable main graph conversion). "
            f"Received: minimum_segment_size={params.minimum_segment_size}"
        )
