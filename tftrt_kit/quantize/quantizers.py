"""Keras 3 quantizer layers emitting the TensorFlow ops tf2onnx maps to ONNX Q/DQ.

TensorRT's explicit quantization reads ``QuantizeLinear -> DequantizeLinear`` pairs:
symmetric int8, zero point 0, narrow range [-127, 127], ``scale = amax / 127``. These
layers produce exactly that through the only TensorFlow ops that export cleanly with
tf2onnx 1.17 (checked op by op, see STACK.md "Quantization facts"):

- activations, per tensor: ``QuantizeAndDequantizeV4(range_given, narrow_range)``
  -> ONNX ``QuantizeLinear(scale, zp=int8 0) -> DequantizeLinear``. Its registered
  gradient is the clipped straight-through estimator (1 inside [-amax, amax], 0 outside).
- weights, per output channel: ``QuantizeAndDequantizeV3(axis=<out channel>)``
  -> ONNX Q/DQ with ``axis`` on the ONNX weight layout (0 for Conv, 1 for ConvTranspose
  and MatMul). V4 refuses vector ranges; its registered gradient is the identity, which
  is the straight-through estimator here because the range is max|w| (nothing clips).
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable, Iterator, Sequence

import keras
import tensorflow as tf

NUM_BITS = 8
#: Largest int8 magnitude with narrow range: ``scale = amax / QMAX``.
QMAX = 127.0
#: Floor for amax so an all-zero tensor or channel gets a finite, non-zero scale.
MIN_AMAX = 1e-8
PACKAGE = "tftrt_kit"


def fake_quant_per_tensor(x: Any, amax: Any) -> Any:
    """Symmetric int8 Q/DQ of ``x`` with one ``amax`` (TF QuantizeAndDequantizeV4)."""
    amax = tf.maximum(tf.cast(amax, x.dtype), MIN_AMAX)
    return tf.raw_ops.QuantizeAndDequantizeV4(
        input=x, input_min=-amax, input_max=amax, signed_input=True, num_bits=NUM_BITS,
        range_given=True, narrow_range=True,
    )


def fake_quant_per_channel(kernel: Any, axis: int) -> Any:
    """Symmetric int8 Q/DQ of a kernel, one scale per slice along ``axis`` (TF QDQ V3).

    ``amax`` is max|w| over every other axis, recomputed at each call, so QAT updates
    keep the scales TensorRT expects for weights (max calibration).
    """
    axis = axis % kernel.shape.rank
    reduce_axes = [i for i in range(kernel.shape.rank) if i != axis]
    amax = tf.maximum(tf.reduce_max(tf.abs(kernel), axis=reduce_axes), MIN_AMAX)
    return tf.raw_ops.QuantizeAndDequantizeV3(
        input=kernel, input_min=-amax, input_max=amax, num_bits=NUM_BITS, signed_input=True,
        range_given=True, narrow_range=True, axis=axis,
    )


@keras.saving.register_keras_serializable(package=PACKAGE)
class TensorQuantizer(keras.layers.Layer):
    """Per-tensor int8 Q/DQ of an activation, with its ``amax`` as a layer weight.

    ``amax`` starts at 0 (uncalibrated: everything quantizes to 0) and is set by
    :func:`tftrt_kit.quantize.calibrate`; it is a variable so it is frozen into the
    exported graph as the constant scale of ``QuantizeLinear``.

    Args:
        amax_trainable: Let QAT train ``amax`` (the V4 gradient reaches it). TensorRT
            only reads the final value; the default keeps calibrated ranges fixed.
        **kwargs: Layer arguments (``name``...).

    Example:
        >>> q = TensorQuantizer(name="conv_input_quantizer")   # doctest: +SKIP
    """

    def __init__(self, amax_trainable: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.amax_trainable = bool(amax_trainable)
        #: Trace-time switch used only while calibrating (never saved or exported).
        self.bypass = False
        self.amax = self.add_weight(
            name="amax", shape=(), initializer="zeros", trainable=self.amax_trainable, dtype="float32"
        )

    def call(self, inputs: Any) -> Any:
        if self.bypass:
            return inputs
        return fake_quant_per_tensor(inputs, self.amax)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "amax_trainable": self.amax_trainable}


@contextlib.contextmanager
def bypassed(quantizers: Sequence[TensorQuantizer]) -> Iterator[None]:
    """Within the block, functions traced anew see the quantizers as identities."""
    for quantizer in quantizers:
        quantizer.bypass = True
    try:
        yield
    finally:
        for quantizer in quantizers:
            quantizer.bypass = False


@dataclasses.dataclass(frozen=True)
class KernelRule:
    """How a weighted Keras layer computes with a (quantized) kernel.

    Attributes:
        out_axis: Output-channel axis of the TF kernel; tf2onnx moves it to the ONNX
            weight layout (Conv2D HWIO axis 3 -> Conv OIHW axis 0; Conv2DTranspose HWOI
            axis 2 -> ConvTranspose IOHW axis 1; Dense (in, out) axis 1 -> MatMul axis 1).
        compute: ``(layer, inputs, kernel) -> outputs`` before bias and activation.
    """

    out_axis: int
    compute: Callable[[Any, Any, Any], Any]


def _depthwise(layer: Any, x: Any, kernel: Any) -> Any:
    return keras.ops.depthwise_conv(
        x, kernel, strides=layer.strides, padding=layer.padding,
        dilation_rate=layer.dilation_rate, data_format=layer.data_format,
    )


def _conv_transpose(layer: Any, x: Any, kernel: Any) -> Any:
    return keras.ops.conv_transpose(
        x, kernel, strides=list(layer.strides), padding=layer.padding, output_padding=layer.output_padding,
        dilation_rate=layer.dilation_rate, data_format=layer.data_format,
    )


#: Keras layer class -> kernel rule. Order matters: subclasses before their bases.
KERNEL_RULES: dict[type, KernelRule] = {
    keras.layers.Conv2DTranspose: KernelRule(-2, _conv_transpose),
    keras.layers.DepthwiseConv2D: KernelRule(-2, _depthwise),
    keras.layers.Conv2D: KernelRule(-1, lambda layer, x, k: layer.convolution_op(x, k)),
    keras.layers.Dense: KernelRule(-1, lambda layer, x, k: keras.ops.matmul(x, k)),
}


def kernel_rule(layer: Any) -> KernelRule | None:
    """The :class:`KernelRule` of ``layer``'s class (or a base class), else ``None``."""
    for cls, rule in KERNEL_RULES.items():
        if isinstance(layer, cls):
            return rule
    return None


@keras.saving.register_keras_serializable(package=PACKAGE)
class WeightQuantizeWrapper(keras.layers.Wrapper):
    """Runs a Conv2D, DepthwiseConv2D, Conv2DTranspose or Dense with per-channel Q/DQ weights.

    The wrapped layer keeps its variables (kernel, bias); only the kernel it computes
    with is fake-quantized, so ``model.export()`` freezes ``QDQ_V3(kernel)`` and tf2onnx
    writes ``DequantizeLinear(QuantizeLinear(W))`` in front of the Conv/MatMul.

    Args:
        layer: A built or unbuilt layer with a :data:`KERNEL_RULES` entry.
        **kwargs: Layer arguments; the name defaults to the wrapped layer's.

    Raises:
        ValueError: the layer type has no kernel rule (Keras' own constructor error style).
    """

    def __init__(self, layer: Any, **kwargs: Any):
        kwargs.setdefault("name", layer.name)
        super().__init__(layer, **kwargs)
        if kernel_rule(layer) is None:
            raise ValueError(
                f"Expected one of {[c.__name__ for c in KERNEL_RULES]}. "
                f"Received: layer={layer.name!r} of type {type(layer).__name__}."
            )

    def build(self, input_shape: Any = None) -> None:
        super().build(input_shape)
        self.built = True

    def call(self, inputs: Any) -> Any:
        layer = self.layer
        rule = kernel_rule(layer)
        kernel = _per_channel_kernel(layer, rule.out_axis)
        outputs = rule.compute(layer, inputs, kernel)
        if getattr(layer, "use_bias", False) and layer.bias is not None:
            outputs = outputs + _broadcastable_bias(layer, outputs)
        if layer.activation is not None:
            outputs = layer.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)


def _per_channel_kernel(layer: Any, out_axis: int) -> Any:
    kernel = layer.kernel
    if isinstance(layer, keras.layers.DepthwiseConv2D) and kernel.shape[-1] != 1:
        # TF depthwise kernel (kh, kw, in, mult) has in*mult output channels; ONNX Conv
        # (group=in) lays them out as axis 0 of (in*mult, 1, kh, kw): quantize that flat axis.
        kh, kw, cin, mult = kernel.shape
        flat = fake_quant_per_channel(tf.reshape(kernel, (kh, kw, 1, cin * mult)), -1)
        return tf.reshape(flat, (kh, kw, cin, mult))
    return fake_quant_per_channel(kernel, out_axis)


def _broadcastable_bias(layer: Any, outputs: Any) -> Any:
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        rank = len(outputs.shape)
        return tf.reshape(layer.bias, (1, -1) + (1,) * (rank - 2))
    return layer.bias
