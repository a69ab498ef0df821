"""Preview the segment route: which nodes go to TensorRT and why the others stay in TensorFlow."""

from __future__ import annotations

from typing import Any, Iterable, Mapping


def inspect(
    source: Any,
    *,
    minimum_segment_size: int = 3,
    maximum_segments: int | None = 20,
    exclude_ops: Iterable[str] = (),
    include_ops: Iterable[str] = (),
    overrides: Mapping[str, Any] | None = None,
    opset: int = 17,
    signature: str | None = None,
    precision: str = "fp32",
) -> Any:
    """Segment ``source`` without exporting or building anything.

    Args:
        source: SavedModel directory, ``.keras`` file, ``keras.Model`` or a loaded Source.
        minimum_segment_size: Fewest effective nodes in a segment (TF-TRT's default 3).
        maximum_segments: Most segments kept, largest first.
        exclude_ops: Op types or node names forced to stay in TensorFlow.
        include_ops: Op types or node names forced into segments.
        overrides: Node name -> Support verdicts (e.g. from a TensorRT parser).
        opset: ONNX opset whose tf2onnx handlers decide exportability.
        signature: Signature to inspect (default ``serving_default``).
        precision: Build precision the op rules assume (FakeQuant and QuantizeAndDequantize
            go to TensorRT only at ``"int8"``).

    Returns:
        The :class:`~tftrt_kit.segment.segmenter.Segmentation`; ``print(x.summary())`` shows it.

    Example:
        >>> print(tftrt_kit.segment.inspect("resnet50_savedmodel").summary())   # doctest: +SKIP
    """
    from tftrt_kit.segment.segmenter import segment
    from tftrt_kit.segment.support import classify
    from tftrt_kit.source import load_source

    loaded = load_source(source, signature=signature)
    support = classify(
        loaded.graph_def,
        exclude_ops=exclude_ops,
        include_ops=include_ops,
        overrides=overrides,
        opset=opset,
        unknown_rank=loaded.unknown_rank_tensors,
        precision=precision,
        op_defs=loaded.op_defs,
    )
    return segment(
        loaded.graph_def,
        support,
        minimum_segment_size=minimum_segment_size,
        maximum_segments=maximum_segments,
        output_tensors=loaded.output_tensors,
    )
