"""Segmentation core of the segment route: support rules, segmenter, graph view.

Pure graph code over ``GraphDef`` protos: no TensorFlow session, no engines. Names
resolve lazily, so ``import tftrt_kit.segment`` stays instant.

Example:
    >>> from tftrt_kit.segment import classify, segment
    >>> from tftrt_kit.source import load_source
    >>> source = load_source("model_savedmodel/")
    >>> support = classify(source.graph_def, op_defs=source.op_defs)  # op_defs: exact output dtypes
    >>> result = segment(source.graph_def, support, output_tensors=source.output_tensors)
    >>> print(result.summary())
"""

from __future__ import annotations

from tftrt_kit._lazy import lazy_getattr

_EXPORTS = {
    "GraphView": ".graph",
    "parse_tensor_name": ".graph",
    "canonical_tensor_name": ".graph",
    "Support": ".support",
    "classify": ".support",
    "rule_verdict": ".support",
    "Segment": ".segmenter",
    "Island": ".segmenter",
    "Segmentation": ".segmenter",
    "Fallback": ".segmenter",
    "segment": ".segmenter",
    "inspect": ".preview",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
