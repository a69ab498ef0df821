"""Segmentation core of the segment route: support rules, segmenter, graph view.

Pure graph code over ``GraphDef`` protos: no TensorFlow session, no engines. Names
resolve lazily, so ``import tftrt_kit.segment`` stays instant.

Example:
    >>> from tftrt_kit.segment import classify, segment
    >>> support = classify(graph_def)
    >>> result = segment(graph_def, support, output_tensors=["Identity:0"])
    >>> print(result.summary())
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "GraphView": "graph",
    "parse_tensor_name": "graph",
    "canonical_tensor_name": "graph",
    "Support": "support",
    "classify": "support",
    "rule_verdict": "support",
    "Segment": "segmenter",
    "Island": "segmenter",
    "Segmentation": "segmenter",
    "Fallback": "segmenter",
    "segment": "segmenter",
    "inspect": "preview",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tftrt_kit.segment' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tftrt_kit.segment.{module}"), name)
