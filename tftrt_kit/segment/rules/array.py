"""Rules for shape, layout, indexing and tensor-creation ops.

These map to TensorRT's IShuffleLayer (Reshape/Transpose/Squeeze/ExpandDims),
IConcatenationLayer, ISliceLayer, IGatherLayer, IShapeLayer, IPaddingLayer/ISliceLayer
(fill mode), IResizeLayer and IFillLayer.
"""

from __future__ import annotations

from typing import Any

from tftrt_kit.segment.rules.registry import (
    FLOAT,
    FLOAT_INT32,
    INDEX,
    TENSOR,
    TENSOR_BOOL,
    attr_b,
    attr_s,
    check_dtype,
    dtype_name,
    first_failure,
    output_dtypes,
    rule,
)


def _int32_attr(node: Any, attr: str) -> str | None:
    """Index/shape operands: int32 or int64 (TensorRT 10 shape tensors and indices take both)."""
    return check_dtype(node, INDEX, attr=attr)


@rule("Reshape", "Transpose", "Squeeze", "ExpandDims", "Identity", "Snapshot", "StopGradient")
def layout(node: Any) -> str | None:
    """TF layout ops (and identities) -> TensorRT IShuffleLayer (reshape / permutation) or no layer."""
    return first_failure(check_dtype(node, TENSOR_BOOL), _int32_attr(node, "Tshape"), _int32_attr(node, "Tperm"))


@rule("IdentityN")
def identity_n(node: Any) -> str | None:
    """TF IdentityN, what ``tf.custom_gradient`` leaves in a frozen graph (Keras swish/silu) -> no layer."""
    refused = sorted({t for t in output_dtypes(node) if t not in TENSOR_BOOL})
    return f"IdentityN on TensorRT expects T in {{{', '.join(sorted(TENSOR_BOOL))}}}. Received: {refused}" if refused else None


@rule("Pack", "Unpack", "ConcatV2", "Split", "SplitV", "Tile")
def join_split(node: Any) -> str | None:
    """TF Pack/Unpack/ConcatV2/Split(V)/Tile -> TensorRT IConcatenation/ISlice layers, IShuffle to add/drop the axis."""
    return first_failure(check_dtype(node, TENSOR), _int32_attr(node, "Tidx"), _int32_attr(node, "Tmultiples"))


@rule("Slice", "StridedSlice")
def slice_(node: Any) -> str | None:
    """TF (Strided)Slice -> TensorRT ISliceLayer (+ IShuffle for shrink/new axis); no ellipsis with new axes."""
    ellipsis = node.attr["ellipsis_mask"].i if "ellipsis_mask" in node.attr else 0
    new_axis = node.attr["new_axis_mask"].i if "new_axis_mask" in node.attr else 0
    if ellipsis and new_axis:
        return (
            f"{node.op} on TensorRT expects no ellipsis_mask together with new_axis_mask. "
            f"Received: ellipsis_mask={ellipsis}, new_axis_mask={new_axis}"
        )
    return first_failure(check_dtype(node, TENSOR), _int32_attr(node, "Index"))


@rule("Pad", "PadV2", "MirrorPad")
def pad(node: Any) -> str | None:
    """TF Pad (zeros) / PadV2 (constant) / MirrorPad (REFLECT) -> TensorRT ISliceLayer in fill/reflect mode."""
    if node.op == "MirrorPad" and attr_s(node, "mode") != "REFLECT":
        return f"MirrorPad on TensorRT expects mode=REFLECT. Received: mode={attr_s(node, 'mode')}"
    return first_failure(check_dtype(node, FLOAT | {"int8", "int32"}), _int32_attr(node, "Tpaddings"))


@rule("GatherV2")
def gather(node: Any) -> str | None:
    """TF GatherV2 (batch_dims=0) -> TensorRT IGatherLayer (kDEFAULT mode), int32 indices."""
    batch_dims = node.attr["batch_dims"].i if "batch_dims" in node.attr else 0
    if batch_dims != 0:
        return f"GatherV2 on TensorRT expects batch_dims=0. Received: batch_dims={batch_dims}"
    return first_failure(check_dtype(node, TENSOR, attr="Tparams"), _int32_attr(node, "Tindices"))


@rule("Shape")
def shape(node: Any) -> str | None:
    """TF Shape -> TensorRT IShapeLayer (int64 in TensorRT 10; an int32 out_type adds an ICastLayer)."""
    out = dtype_name(node, "out_type")
    if out not in (None, *INDEX):
        return f"Shape on TensorRT expects out_type in {{int32, int64}}. Received: out_type={out}"
    return None


@rule("Fill", "Range", "ZerosLike", "OnesLike")
def fill(node: Any) -> str | None:
    """TF Fill/Range/ZerosLike/OnesLike -> TensorRT IFillLayer (kLINSPACE for Range) or a constant."""
    return first_failure(check_dtype(node, FLOAT_INT32), check_dtype(node, FLOAT_INT32, attr="Tidx"))


@rule("ResizeBilinear", "ResizeNearestNeighbor")
def resize(node: Any) -> str | None:
    """TF Resize{Bilinear,NearestNeighbor} (NHWC) -> TensorRT IResizeLayer (kLINEAR / kNEAREST)."""
    if attr_b(node, "align_corners") and attr_b(node, "half_pixel_centers"):
        return f"{node.op} expects at most one of align_corners and half_pixel_centers. Received: both true"
    return check_dtype(node, FLOAT | {"int32"})


@rule("Cast")
def cast(node: Any) -> str | None:
    """TF Cast -> TensorRT ICastLayer between float32/float16/int32/int64/bool."""
    allowed = FLOAT_INT32 | {"bool"}
    return first_failure(check_dtype(node, allowed, attr="SrcT"), check_dtype(node, allowed, attr="DstT"))
