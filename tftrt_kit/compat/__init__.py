"""Drop-in replacements for APIs TensorFlow removed; today TF-TRT's converter.

``import tftrt_kit.compat`` loads no TensorFlow: names resolve on first use.

Example:
    >>> from tftrt_kit.compat import trt_convert as trt                     # doctest: +SKIP
    >>> converter = trt.TrtGraphConverterV2(input_saved_model_dir="model")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = ("Converter", "ConversionParams", "TrtGraphConverterV2", "TrtConversionParams", "TrtPrecisionMode")

__all__ = [*_EXPORTS, "trt_convert"]


def __getattr__(name: str) -> Any:
    if name == "trt_convert":
        return importlib.import_module("tftrt_kit.compat.trt_convert")
    if name in _EXPORTS:
        return getattr(importlib.import_module("tftrt_kit.compat.trt_convert"), name)
    raise AttributeError(f"module 'tftrt_kit.compat' has no attribute {name!r}")
