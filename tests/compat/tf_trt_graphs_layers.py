"""Graph builders of TF-TRT's integration tests, continued: convolutions, shapes, resize, quantization, NMS.

Same conventions as :mod:`tests.compat.tf_trt_graphs` (whose helpers build the constants).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tests.compat.tf_trt_graphs import const, identity, incompatible, squeeze, tensorflow


# --- conv2d_test.py, vgg_block*_test.py, neighboring engines, memory alignment ----------------


def _conv(x: Any, filters: int, kernel: tuple[int, int], strides=(1, 1), dilations=(1, 1), padding="SAME", nchw=False) -> Any:
    tf = tensorflow()
    channels = x.shape[1 if nchw else -1]
    weights = const((kernel[0], kernel[1], channels, filters))
    if nchw:
        return tf.raw_ops.Conv2D(input=x, filter=weights, strides=[1, 1, *strides], padding=padding, dilations=[1, 1, *dilations], data_format="NCHW")
    return tf.raw_ops.Conv2D(input=x, filter=weights, strides=[1, *strides, 1], padding=padding, dilations=[1, *dilations, 1], data_format="NHWC")


def conv_sum(nchw: bool) -> Callable[[Any], Any]:
    def graph(inp: Any) -> Any:
        outputs = [_conv(inp, 5, k, dilations=d, nchw=nchw) for k in ((3, 3), (3, 2)) for d in ((1, 1), (2, 3))]
        return identity(sum(outputs[1:], outputs[0]))

    return graph


def conv_strided_nchw(inp: Any) -> Any:
    out = _conv(inp, 5, (3, 2), strides=(2, 2), nchw=True)
    return identity(_conv(out, 5, (3, 3), strides=(2, 2), dilations=(2, 3), nchw=True))


def conv_transpose_nchw(inp: Any) -> Any:
    tf = tensorflow()
    output_shape = tf.constant([13, 8, 14, 22], dtype=tf.int32)
    return identity(tf.nn.conv2d_transpose(inp, const((2, 2, 8, 3)), output_shape, strides=[1, 1, 2, 2], padding="SAME", data_format="NCHW"))


def vgg_block(nchw: bool) -> Callable[[Any], Any]:
    def graph(x: Any) -> Any:
        tf = tensorflow()
        layout = "NCHW" if nchw else "NHWC"
        x = tf.compat.v1.nn.fused_batch_norm(x, [1.0, 1.0], [0.0, 0.0], mean=[0.5, 0.5], variance=[1.0, 1.0], is_training=False, data_format=layout)[0]
        strides = [1, 1, 2, 2] if nchw else [1, 2, 2, 1]
        conv = tf.nn.conv2d(x, const((1, 1, 2, 6), "weights"), strides=strides, padding="SAME", data_format=layout, name="conv")
        relu = tf.nn.relu(tf.nn.bias_add(conv, const((6,), "bias"), data_format=layout, name="biasAdd"), "relu")
        pool = tf.nn.max_pool2d(tf.identity(relu, "ID"), strides, strides, "VALID", data_format=layout, name="max_pool")
        return squeeze(pool)

    return graph


def neighboring(x: Any) -> Any:
    tf = tensorflow()
    weights = tf.constant(np.random.normal(0.3, 0.05, [3, 2, 3, 4]).astype("float32"), name="weights")
    conv = tf.nn.conv2d(x, weights, strides=[1, 1, 1, 1], padding="VALID", data_format="NCHW", name="conv")
    t = tf.multiply(conv, tf.constant(np.random.normal(1.0, 1.0, [1, 4, 1, 1]).astype("float32"), name="bias"), name="mul")
    return squeeze(tf.subtract(t, incompatible(conv, name="incompatible"), name="sub"))


def multi_connection_neighbor(x: Any) -> Any:
    tf = tensorflow()

    def bias(mean: float) -> Any:
        return tf.constant(np.random.normal(mean, 1.0, [1, 4, 1, 1]).astype("float32"), name="bias")

    weights = tf.constant(np.random.normal(0.05, 0.005, [3, 2, 3, 4]).astype("float32"), name="weights")
    conv = tf.nn.conv2d(x, weights, strides=[1, 1, 1, 1], padding="VALID", data_format="NCHW", name="conv")
    t = conv + bias(2.0)
    q = conv - bias(5.0)
    edge = incompatible(q)
    d = bias(5.0) + conv
    edge3 = incompatible(d)
    edge1 = incompatible(conv)
    t = t - edge1
    q = q + edge
    t = t + q
    t = t + d
    return squeeze(t - edge3)


def memory_alignment(inp: Any) -> Any:
    tf = tensorflow()
    conv = tf.nn.conv2d(inp, const((1, 1, 3, 5), "kernel_1"), strides=[1, 1, 1, 1], padding="VALID", name="conv")
    return squeeze(tf.nn.conv2d(conv, const((1, 1, 5, 10), "kernel_2"), strides=[1, 1, 1, 1], padding="VALID", name="conv_2"))


# --- dynamic_input_shapes_test.py, lru_cache_test.py, trt_mode_test.py, shapes ------------------


def dynamic_input_shapes(x: Any) -> Any:
    tf = tensorflow()
    for weights, channels in (((3, 3, 1, 8), 8), ((3, 3, 8, 1), 1)):
        x = tf.nn.conv2d(x, tf.ones(weights), strides=[1, 1, 1, 1], padding="SAME", name="conv")
        x = tf.nn.bias_add(x, const((channels,)))
        if channels == 8:
            x = tf.nn.relu(x)
    return identity(x, "output")


def lru_cache(x: Any) -> Any:
    tf = tensorflow()
    return identity(tf.nn.relu(tf.add(x, const((1, 10, 10, 1)))), "output")


def squeeze_batch(x1: Any) -> Any:
    tf = tensorflow()
    q = tf.abs(x1) + 1.0
    q = tf.squeeze(q * 3.0, 0)
    return identity(tf.abs(q) + 5.0)


def shape_output(reshape: bool) -> Callable[[Any], Any]:
    def graph(x: Any) -> Any:
        tf = tensorflow()
        q = tf.shape(2 * x + 1)
        if reshape:
            q = tf.reshape(q, [2, 2])
        q = incompatible(tf.cast(q, tf.float32))
        return identity(q * 2 + q * q)

    return graph


def engine_op_shapes(inp: Any) -> Any:
    tf = tensorflow()
    c = tf.nn.relu(tf.squeeze(inp, axis=[2]))
    d1 = c + c
    return [identity(d1, "output_0"), identity(tf.reduce_sum(d1), "output_1")]


def rank_two(x1: Any, x2: Any) -> Any:
    tf = tensorflow()
    outputs = []
    for i, x in enumerate((x1, x2)):
        q = tf.abs(tf.add(x, tf.constant(1.0, name=f"c{i}_1"), name=f"add{i}_1"), name=f"abs{i}_1")
        q = tf.abs(tf.add(q, tf.constant(2.2, name=f"c{i}_2"), name=f"add{i}_2"), name=f"abs{i}_2")
        q = tf.add(q, tf.constant(3.0, name=f"c{i}_3"), name=f"add{i}_3")
        if i == 0:
            axis = tf.constant(-1, dtype=tf.int32, name="axis")
            for j in range(2):
                q = tf.expand_dims(q, axis, name=f"expand{i}_{j}")
            q = incompatible(q)
        outputs.append(tf.math.reciprocal(q, name=f"reciprocal{i}"))
    return squeeze(tf.add(outputs[0], outputs[1], name="add"))


def bool_ops(x1: Any, x2: Any) -> Any:
    tf = tensorflow()
    x = tf.logical_or(tf.logical_and(x1, x2), x2)
    return identity(tf.logical_not(tf.not_equal(x, x2)))


# --- resize_test.py ------------------------------------------------------------------------------


def resize_dynamic(align_corners: bool, half_pixel_centers: bool) -> Callable[[Any], Any]:
    def graph(inp: Any) -> Any:
        tf = tensorflow()
        size = tf.multiply(tf.shape(inp)[1:3], tf.constant([2], dtype=tf.int32))
        resized = tf.raw_ops.ResizeBilinear(images=inp, size=size, align_corners=align_corners, half_pixel_centers=half_pixel_centers, name="resize")
        return identity(resized)

    return graph


def resize_static(align_corners: bool, target: tuple[int, int] = (64, 64)) -> Callable[[Any], Any]:
    def graph(inp: Any) -> Any:
        tf = tensorflow()
        size = tf.constant(np.asarray(target, dtype=np.int32))
        return identity(tf.raw_ops.ResizeBilinear(images=inp, size=size, align_corners=align_corners, half_pixel_centers=False))

    return graph


# --- quantization_test.py ------------------------------------------------------------------------


def quantization_ranges(x: Any) -> Any:
    tf = tensorflow()

    def quantize(t: Any, r: float) -> Any:
        return tf.quantization.fake_quant_with_min_max_vars(t, -r, r)

    x = quantize(x, 10.0)
    x = quantize(x + 5, 15.0)
    x = quantize(x - 5, 10.0)
    x = quantize(x * 0.1, 1.0)
    x = quantize(tf.matmul(x, tf.constant(np.ones((8, 1), dtype=np.float32))), 10.0)
    return identity(x)


# --- combined_nms_test.py ------------------------------------------------------------------------


def combined_nms(boxes: Any, scores: Any) -> Any:
    tf = tensorflow()
    outputs = tf.image.combined_non_max_suppression(
        boxes,
        scores,
        tf.constant(3, dtype=tf.int32, name="max_output_size_per_class"),
        tf.constant(3, dtype=tf.int32, name="max_total_size"),
        tf.constant(0.5, dtype=tf.float32, name="iou_threshold"),
        tf.constant(0.1, dtype=tf.float32, name="score_threshold"),
        name="combined_nms",
    )
    return [identity(t, f"output_{i}") for i, t in enumerate(outputs)]
