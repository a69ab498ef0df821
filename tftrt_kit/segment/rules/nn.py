"""Rules for convolution, pooling, normalization and activation ops.

Each rule states the TF op's semantics next to TensorRT's layer, as TF-TRT's
validators in ``tf2tensorrt/convert/convert_nodes.cc`` checked them.
"""

from __future__ import annotations

from typing import Any

from tftrt_kit.segment.rules.registry import (
    FLOAT,
    attr_b,
    attr_ints,
    attr_s,
    check_dtype,
    first_failure,
    rule,
)

_PADDINGS = ("SAME", "VALID")


def _spatial_window(node: Any, rank: int) -> str | None:
    """Strides / dilations on batch and channel dims must be 1 (TensorRT windows are spatial)."""
    layout = attr_s(node, "data_format", "NHWC" if rank == 4 else "NDHWC")
    channel = 1 if layout.startswith("NC") else rank - 1
    for attr in ("strides", "dilations"):
        values = attr_ints(node, attr)
        if not values:
            continue
        if len(values) != rank:
            return f"{node.op} expects {attr} of length {rank}. Received: {attr}={values}"
        if values[0] != 1 or values[channel] != 1:
            return (
                f"{node.op} on TensorRT expects {attr} of 1 on the batch and channel dims "
                f"(TensorRT convolves spatial dims only). Received: {attr}={values}, data_format={layout}"
            )
    return None


def _padding(node: Any) -> str | None:
    # TF's EXPLICIT padding (explicit_paddings attr) had no TF-TRT converter path.
    padding = attr_s(node, "padding")
    if padding and padding not in _PADDINGS:
        return f"{node.op} on TensorRT expects padding in {{SAME, VALID}}. Received: padding={padding}"
    return None


@rule("Conv2D", "DepthwiseConv2dNative")
def conv2d(node: Any) -> str | None:
    """TF Conv2D (NHWC/NCHW, SAME/VALID) -> TensorRT IConvolutionLayer (NCHW, grouped for depthwise)."""
    return first_failure(check_dtype(node, FLOAT), _padding(node), _spatial_window(node, 4))


@rule("Conv2DBackpropInput")
def conv2d_transpose(node: Any) -> str | None:
    """TF Conv2DBackpropInput (conv2d_transpose) -> TensorRT IDeconvolutionLayer, no dilation."""
    dilations = attr_ints(node, "dilations")
    if any(d != 1 for d in dilations):
        return f"Conv2DBackpropInput on TensorRT expects dilations of 1 (IDeconvolutionLayer). Received: dilations={dilations}"
    return first_failure(check_dtype(node, FLOAT), _padding(node), _spatial_window(node, 4))


@rule("Conv3D", "Conv3DBackpropInputV2")
def conv3d(node: Any) -> str | None:
    """TF Conv3D (NDHWC/NCDHW) -> TensorRT IConvolutionLayer/IDeconvolutionLayer over 3 spatial dims."""
    if node.op == "Conv3DBackpropInputV2" and any(d != 1 for d in attr_ints(node, "dilations")):
        return f"Conv3DBackpropInputV2 on TensorRT expects dilations of 1. Received: dilations={attr_ints(node, 'dilations')}"
    return first_failure(check_dtype(node, FLOAT), _padding(node), _spatial_window(node, 5))


@rule("MaxPool", "AvgPool", "MaxPool3D", "AvgPool3D")
def pool(node: Any) -> str | None:
    """TF Max/AvgPool (SAME/VALID) -> TensorRT IPoolingLayer (kMAX / kAVERAGE, padding excluded from averages)."""
    rank = 5 if node.op.endswith("3D") else 4
    ksize = attr_ints(node, "ksize")
    layout = attr_s(node, "data_format", "NHWC" if rank == 4 else "NDHWC")
    channel = 1 if layout.startswith("NC") else rank - 1
    if ksize and (ksize[0] != 1 or ksize[channel] != 1):
        return f"{node.op} on TensorRT expects ksize of 1 on the batch and channel dims. Received: ksize={ksize}"
    return first_failure(check_dtype(node, FLOAT | {"int8"}), _padding(node), _spatial_window(node, rank))


@rule("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
def fused_batch_norm(node: Any) -> str | None:
    """TF FusedBatchNorm in inference mode -> TensorRT IScaleLayer (folded scale and shift)."""
    if attr_b(node, "is_training"):
        return f"{node.op} on TensorRT expects is_training=false (inference statistics). Received: is_training=true"
    layout = attr_s(node, "data_format", "NHWC")
    if layout not in ("NHWC", "NCHW"):
        return f"{node.op} on TensorRT expects data_format in {{NHWC, NCHW}}. Received: data_format={layout}"
    return check_dtype(node, FLOAT)


@rule("Relu", "Relu6", "LeakyRelu", "Sigmoid", "Tanh", "Elu", "Selu", "Softplus", "Softsign")
def activation(node: Any) -> str | None:
    """TF activations -> TensorRT IActivationLayer (kRELU, kCLIP for Relu6, kLEAKY_RELU, kSIGMOID, ...)."""
    return check_dtype(node, FLOAT | {"int8"})


@rule("Softmax", "LogSoftmax")
def softmax(node: Any) -> str | None:
    """TF (Log)Softmax over the last axis -> TensorRT ISoftMaxLayer (+ IUnaryLayer kLOG)."""
    return check_dtype(node, FLOAT)


@rule("BiasAdd")
def bias_add(node: Any) -> str | None:
    """TF BiasAdd (bias on the channel dim of data_format) -> TensorRT broadcast IElementWiseLayer kSUM.

    Float only, as TF-TRT's converter (its ExcludeUnsupportedInt32Test keeps an int32 BiasAdd in TensorFlow).
    """
    layout = attr_s(node, "data_format", "NHWC")
    if layout not in ("NHWC", "NCHW"):
        return f"BiasAdd on TensorRT expects data_format in {{NHWC, NCHW}}. Received: data_format={layout}"
    return check_dtype(node, FLOAT)
