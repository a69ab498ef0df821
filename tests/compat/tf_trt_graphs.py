"""Graph builders of TF-TRT's integration tests (``GraphFn``), rewritten as small functions.

Each builder takes the input tensors and returns the output(s), named as TF-TRT's
tests name them (``output_0``, ...) and with TF-TRT's node names where its
``ExpectedEnginesToBuild`` lists them. :mod:`tests.compat.tf_trt_cases` pairs each with
its shapes and expected engines.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def _tf():
    import tensorflow as tf

    return tf


def _const(shape: tuple[int, ...], name: str | None = None, dtype: str = "float32") -> Any:
    return _tf().constant(np.random.randn(*shape).astype(dtype), name=name)


def _incompatible(x: Any, name: str | None = None) -> Any:
    """TF-TRT's ``trt_incompatible_op``: Erfc, which it had no converter for."""
    return _tf().math.erfc(x, name=name)


def _incompatible_binary(a: Any, b: Any, name: str | None = None) -> Any:
    """TF-TRT's ``trt_incompatible_binary_op``: Igamma."""
    return _tf().math.igamma(a, b, name=name)


def _squeeze(x: Any) -> Any:
    return _tf().squeeze(x, name="output_0")


def _identity(x: Any, name: str = "output_0") -> Any:
    return _tf().identity(x, name=name)


# --- base_test.py ---------------------------------------------------------------------------


def single_engine(inp: Any) -> Any:
    tf = _tf()
    w = tf.constant([[[[1.0, 0.5, 4.0, 6.0, 0.5, 1.0], [1.0, 0.5, 1.0, 1.0, 0.5, 1.0]]]], name="weights")
    conv = tf.nn.conv2d(inp, w, strides=[1, 2, 2, 1], padding="SAME", name="conv")
    added = tf.nn.bias_add(conv, tf.constant([4.0, 1.5, 2.0, 3.0, 5.0, 7.0], name="bias"), name="bias_add")
    relu = tf.nn.relu(added, "relu")
    pool = tf.nn.max_pool2d(tf.identity(relu, "identity"), [1, 2, 2, 1], [1, 2, 2, 1], "VALID", name="max_pool")
    return _squeeze(pool)


def multi_engines(inp: Any) -> Any:
    tf = _tf()
    w = tf.constant([[[[1.0, 0.5, 4.0, 6.0, 0.5, 1.0], [1.0, 0.5, 1.0, 1.0, 0.5, 1.0]]]], name="weights")
    conv = tf.nn.conv2d(inp, w, strides=[1, 2, 2, 1], padding="SAME", name="conv")
    p = tf.multiply(conv, _const((12, 12, 6), "c1"), name="mul")
    q = tf.math.truediv(conv, _const((12, 12, 6), "c2"), name="div")
    edge = _incompatible(q, name="incompatible")
    edge = tf.subtract(tf.constant(1.0, name="one"), edge, name="one_sub")
    edge = tf.math.truediv(edge, edge, name="div1")
    r = tf.add(edge, edge, name="add")
    p = tf.subtract(p, edge, name="sub")
    q = tf.multiply(q, edge, name="mul1")
    s = tf.subtract(tf.add(p, q, name="add1"), r, name="sub1")
    return _squeeze(s)


def _add_mul_chain(n: Any, first: int, count: int, constants: tuple[float, ...]) -> Any:
    tf = _tf()
    for i, value in zip(range(first, first + count), constants):
        n = tf.add(n, tf.constant(value, name=f"c{i}"), name=f"add{i}")
        n = tf.multiply(n, n, name=f"mul{i}")
    return n


def multi_engines_2(inp: Any) -> Any:
    n = _add_mul_chain(inp, 0, 2, (0.0, 1.0))
    n = _incompatible(n, name="incompatible")
    return _squeeze(_add_mul_chain(n, 2, 2, (2.0, 3.0)))


def _add_mul_add(n: Any, c: Any, names: tuple[str, str, str]) -> Any:
    tf = _tf()
    n = tf.add(n, c, name=names[0])
    n = tf.multiply(n, n, name=names[1])
    return tf.add(n, n, name=names[2])


def const_input(inp: Any) -> Any:
    c = _tf().constant(1.0, name="c")
    n = _incompatible_binary(inp, c, name="incompatible")
    n = _incompatible(_add_mul_add(n, c, ("add", "mul", "add1")), name="incompatible1")
    return _squeeze(_add_mul_add(n, c, ("add2", "mul1", "add3")))


def const_data_single(inp: Any) -> Any:
    return _squeeze(_add_mul_add(inp, _tf().constant(1.0, name="c"), ("add", "mul", "add1")))


def const_data_multiple(inp: Any) -> Any:
    c = _tf().constant(1.0, name="c")
    n = _incompatible(_add_mul_add(inp, c, ("add", "mul", "add1")), name="incompatible1")
    return _squeeze(_add_mul_add(n, c, ("add2", "mul1", "add3")))


def control_dependency(inp: Any) -> Any:
    tf = _tf()
    c1, c2 = tf.constant(1.0, name="c1"), tf.constant(2.0, name="c2")
    d1 = _incompatible(inp, name="d1")
    d2 = _incompatible_binary(inp, inp, name="d2")
    with tf.control_dependencies([d1]):
        add = tf.add(inp, c1, name="add")
    mul = tf.multiply(add, add, name="mul")
    add1 = tf.add(mul, mul, name="add1")
    edge = _incompatible(add1, name="incompatible")
    with tf.control_dependencies([d1, d2, add1]):
        add2 = tf.add(edge, c2, name="add2")
    mul1 = tf.multiply(add2, add2, name="mul1")
    add3 = tf.add(mul1, mul1, name="add3")
    inc1 = _incompatible_binary(d1, add3, name="incompatible1")
    return _squeeze(_incompatible_binary(d2, inc1, name="incompatible2"))


# --- tf_function_test.py: the graph calls a function marked _noinline (TF-TRT converted inside it) ---


def conv_and_pool(inp: Any) -> Any:
    tf = _tf()
    w = tf.constant([[[[1.0, 0.5, 4.0], [1.0, 0.5, 1.0]]]], name="weights")
    conv = tf.nn.conv2d(inp, w, strides=[1, 2, 2, 1], padding="SAME", name="conv")
    relu = tf.nn.relu(tf.nn.bias_add(conv, tf.constant([4.0, 1.5, 2.0], name="bias"), name="bias_add"), "relu")
    return tf.squeeze(tf.nn.max_pool2d(tf.identity(relu, "identity"), [1, 2, 2, 1], [1, 2, 2, 1], "VALID", name="max_pool"))


def function_call(x: Any) -> Any:
    tf = _tf()
    spec = tf.TensorSpec([None, 32, 32, 2], tf.float32)
    inner = tf.function(conv_and_pool, input_signature=[spec], experimental_attributes={"_noinline": True})
    return _identity(inner(x))


# --- batch_matmul_test.py, identity_output_test.py, int32_test.py, cast_test.py, topk_test.py --


def batch_matmul_two_tensors(inp: Any, inp1: Any) -> Any:
    tf = _tf()
    return _identity(tf.nn.relu(tf.matmul(inp, inp1, name="matmul"), name="relu"))


def batch_matmul_weight(shape: tuple[int, ...]) -> Callable[[Any], Any]:
    def graph(inp: Any) -> Any:
        return _identity(_tf().matmul(inp, _const(shape, "kernel"), name="matmul"))

    return graph


def identity_outputs(x: Any) -> Any:
    tf = _tf()
    x1 = tf.matmul(x, _const((32, 4))) + _const((1, 4))
    return [_identity(x1, "output_0"), _identity(x1, "output_1"), _identity(tf.identity(x1), "output_2")]


def int32_matmul_bias(x: Any) -> Any:
    tf = _tf()
    x = tf.matmul(x, tf.constant(np.random.randn(4, 10).astype("int32")))
    return _identity(tf.nn.bias_add(x, tf.constant(np.random.randn(10).astype("int32"))))


def int32_transpose(inp: Any) -> Any:
    return _identity(_tf().transpose(inp, [0, 3, 2, 1], name="transpose_0"))


def cast_int32_to_fp32(x: Any) -> Any:
    tf = _tf()
    x_f = tf.multiply(tf.cast(x, tf.float32, name="Cast"), _const((1, 10)), name="Mul")
    return _identity(tf.add(x_f, _const((1, 10)), name="Add"))


def top_k(reshape: bool) -> Callable[[Any], Any]:
    def graph(x: Any) -> Any:
        tf = _tf()
        values, indices = tf.math.top_k(x, tf.constant(5, name="Const"), name="TopK")
        if reshape:
            indices = tf.reshape(indices, [-1, 1, 5], name="Reshape")
        return [_identity(values, "output_0"), _identity(indices, "output_1")]

    return graph


# --- concatenation_test.py, const_broadcast_test.py, binary_tensor_weight_broadcast_test.py, biasadd_matmul_test.py, unary_test.py


def concatenation(x: Any) -> Any:
    tf = _tf()
    pieces = [
        x / _const((3, 1, 1)), _const((3, 1, 1)) / x, _const((1, 3, 1)) + x, x * _const((1, 3, 1)),
        x - _const((3, 1, 1)), _const((3, 1, 1)) - x, x - _const((3, 1)), _const((3, 1)) - x,
        tf.maximum(x, _const((3, 1, 1))), tf.minimum(_const((3, 1)), x), x * _const((3,)), _const((1,)) * x,
    ]
    concat1 = tf.concat(pieces[:6], axis=-1)
    concat2 = tf.concat(pieces[6:], axis=3)
    return tf.reshape(tf.concat([concat1, concat2], axis=-1), [2, -1], name="output_0")


def const_broadcast(x: Any) -> Any:
    tf = _tf()
    y = x
    for k, (shape, relu) in enumerate((((3, 3, 2, 1), "z1"), ((3, 3, 1, 1), "z"), ((3, 3, 1, 1), "output_0")), start=1):
        y = tf.nn.conv2d(y, tf.constant(0.3, shape=shape, name=f"filt{k}"), strides=[1, 1, 1, 1], padding="SAME", name=f"y{k}")
        y = tf.nn.relu(y, name=relu)
    return y


def binary_weight_broadcast(x: Any) -> Any:
    tf = _tf()
    for shape in ((1,), (24, 1, 1), (24, 24, 20), (20,), (1, 24, 1, 1), (1, 24, 24, 1), (1, 24, 24, 20), (24, 20)):
        x = _incompatible(x + _const(shape))
        x = _incompatible(_const(shape) + x)
    return tf.reshape(x, [5, -1], name="output_0")


def biasadd_matmul(x: Any) -> Any:
    tf = _tf()

    def bias_add(shape: list[int], channels: int, layout: str) -> Any:
        return tf.reshape(tf.nn.bias_add(tf.reshape(x, shape), _const((channels,)), data_format=layout), [4, -1])

    x1 = tf.matmul(x, _const((144, 4))) + _const((1, 4))
    x2 = _incompatible(tf.reshape(tf.matmul(_incompatible(x), _const((4, 144)), transpose_a=True), [4, -1]))
    x3 = tf.matmul(x, _const((4, 144)), transpose_b=True)
    x4 = _incompatible(tf.reshape(tf.matmul(_incompatible(x), _const((16, 4)), transpose_a=True, transpose_b=True), [4, -1]))
    x5 = tf.nn.bias_add(tf.matmul(x, _const((144, 48))), _const((48,)))
    rest = [
        bias_add([4, 24, 6], 6, "NHWC"), bias_add([4, 12, 4, 3], 3, "NHWC"), bias_add([4, 4, 3, 2, 6], 6, "NHWC"),
        bias_add([4, 12, 3, 2, 2], 12, "NCHW"), bias_add([4, 3, 4, 12], 3, "NCHW"), bias_add([4, 6, 24], 6, "NCHW"),
    ]
    return _squeeze(tf.concat([x1, x2, x3, x4, x5, *rest], axis=-1))


def unary(x1: Any, x2: Any) -> Any:
    tf = _tf()
    q = tf.squeeze(tf.math.log(tf.exp(tf.abs(x1) + 1.0)), axis=-2)
    q = tf.squeeze(-tf.math.rsqrt(tf.sqrt(tf.abs(q) + 2.2)), axis=3)
    a = tf.math.reciprocal(tf.abs(q) + 3.0)
    # A chain on a constant of another leading size (5): one engine in dynamic-shape mode.
    q = tf.math.log(tf.exp(tf.abs(_const((5, 8, 12))) + 2.0))
    q = -tf.math.rsqrt(tf.sqrt(tf.abs(q) + 2.1))
    b = tf.math.reciprocal(tf.abs(q) + 4.0)
    q = tf.squeeze(tf.exp(tf.abs(x2) + 5.0), axis=[-1, -2, 3])
    q = tf.reshape(tf.abs(tf.math.log(q)) + 5.1, [12, 5, 1, 1, 8, 1, 12])
    q = tf.abs(tf.sqrt(tf.squeeze(q, axis=[5, 2, 3]))) + 5.2
    c = tf.math.reciprocal(tf.abs(-tf.math.rsqrt(q)) + 5.3)
    return _squeeze((a * b) / c)


# --- conv2d_test.py, vgg_block*_test.py, neighboring engines, memory alignment ----------------


def _conv(x: Any, filters: int, kernel: tuple[int, int], strides=(1, 1), dilations=(1, 1), padding="SAME", nchw=False) -> Any:
    tf = _tf()
    channels = x.shape[1 if nchw else -1]
    weights = _const((kernel[0], kernel[1], channels, filters))
    if nchw:
        return tf.raw_ops.Conv2D(input=x, filter=weights, strides=[1, 1, *strides], padding=padding, dilations=[1, 1, *dilations], data_format="NCHW")
    return tf.raw_ops.Conv2D(input=x, filter=weights, strides=[1, *strides, 1], padding=padding, dilations=[1, *dilations, 1], data_format="NHWC")


def conv_sum(nchw: bool) -> Callable[[Any], Any]:
    def graph(inp: Any) -> Any:
        outputs = [_conv(inp, 5, k, dilations=d, nchw=nchw) for k in ((3, 3), (3, 2)) for d in ((1, 1), (2, 3))]
        return _identity(sum(outputs[1:], outputs[0]))

    return graph


def conv_strided_nchw(inp: Any) -> Any:
    out = _conv(inp, 5, (3, 2), strides=(2, 2), nchw=True)
    return _identity(_conv(out, 5, (3, 3), strides=(2, 2), dilations=(2, 3), nchw=True))


def conv_transpose_nchw(inp: Any) -> Any:
    tf = _tf()
    output_shape = tf.constant([13, 8, 14, 22], dtype=tf.int32)
    return _identity(tf.nn.conv2d_transpose(inp, _const((2, 2, 8, 3)), output_shape, strides=[1, 1, 2, 2], padding="SAME", data_format="NCHW"))


def vgg_block(nchw: bool) -> Callable[[Any], Any]:
    def graph(x: Any) -> Any:
        tf = _tf()
        layout = "NCHW" if nchw else "NHWC"
        x = tf.compat.v1.nn.fused_batch_norm(x, [1.0, 1.0], [0.0, 0.0], mean=[0.5, 0.5], variance=[1.0, 1.0], is_training=False, data_format=layout)[0]
        strides = [1, 1, 2, 2] if nchw else [1, 2, 2, 1]
        conv = tf.nn.conv2d(x, _const((1, 1, 2, 6), "weights"), strides=strides, padding="SAME", data_format=layout, name="conv")
        relu = tf.nn.relu(tf.nn.bias_add(conv, _const((6,), "bias"), data_format=layout, name="biasAdd"), "relu")
        pool = tf.nn.max_pool2d(tf.identity(relu, "ID"), strides, strides, "VALID", data_format=layout, name="max_pool")
        return _squeeze(pool)

    return graph


def neighboring(x: Any) -> Any:
    tf = _tf()
    weights = tf.constant(np.random.normal(0.3, 0.05, [3, 2, 3, 4]).astype("float32"), name="weights")
    conv = tf.nn.conv2d(x, weights, strides=[1, 1, 1, 1], padding="VALID", data_format="NCHW", name="conv")
    t = tf.multiply(conv, tf.constant(np.random.normal(1.0, 1.0, [1, 4, 1, 1]).astype("float32"), name="bias"), name="mul")
    return _squeeze(tf.subtract(t, _incompatible(conv, name="incompatible"), name="sub"))


def multi_connection_neighbor(x: Any) -> Any:
    tf = _tf()

    def bias(mean: float) -> Any:
        return tf.constant(np.random.normal(mean, 1.0, [1, 4, 1, 1]).astype("float32"), name="bias")

    weights = tf.constant(np.random.normal(0.05, 0.005, [3, 2, 3, 4]).astype("float32"), name="weights")
    conv = tf.nn.conv2d(x, weights, strides=[1, 1, 1, 1], padding="VALID", data_format="NCHW", name="conv")
    t = conv + bias(2.0)
    q = conv - bias(5.0)
    edge = _incompatible(q)
    d = bias(5.0) + conv
    edge3 = _incompatible(d)
    edge1 = _incompatible(conv)
    t = t - edge1
    q = q + edge
    t = t + q
    t = t + d
    return _squeeze(t - edge3)


def memory_alignment(inp: Any) -> Any:
    tf = _tf()
    conv = tf.nn.conv2d(inp, _const((1, 1, 3, 5), "kernel_1"), strides=[1, 1, 1, 1], padding="VALID", name="conv")
    return _squeeze(tf.nn.conv2d(conv, _const((1, 1, 5, 10), "kernel_2"), strides=[1, 1, 1, 1], padding="VALID", name="conv_2"))


# --- dynamic_input_shapes_test.py, lru_cache_test.py, trt_mode_test.py, shapes ------------------


def dynamic_input_shapes(x: Any) -> Any:
    tf = _tf()
    for weights, channels in (((3, 3, 1, 8), 8), ((3, 3, 8, 1), 1)):
        x = tf.nn.conv2d(x, tf.ones(weights), strides=[1, 1, 1, 1], padding="SAME", name="conv")
        x = tf.nn.bias_add(x, _const((channels,)))
        if channels == 8:
            x = tf.nn.relu(x)
    return _identity(x, "output")


def lru_cache(x: Any) -> Any:
    tf = _tf()
    return _identity(tf.nn.relu(tf.add(x, _const((1, 10, 10, 1)))), "output")


def squeeze_batch(x1: Any) -> Any:
    tf = _tf()
    q = tf.abs(x1) + 1.0
    q = tf.squeeze(q * 3.0, 0)
    return _identity(tf.abs(q) + 5.0)


def shape_output(reshape: bool) -> Callable[[Any], Any]:
    def graph(x: Any) -> Any:
        tf = _tf()
        q = tf.shape(2 * x + 1)
        if reshape:
            q = tf.reshape(q, [2, 2])
        q = _incompatible(tf.cast(q, tf.float32))
        return _identity(q * 2 + q * q)

    return graph


def engine_op_shapes(inp: Any) -> Any:
    tf = _tf()
    c = tf.nn.relu(tf.squeeze(inp, axis=[2]))
    d1 = c + c
    return [_identity(d1, "output_0"), _identity(tf.reduce_sum(d1), "output_1")]


def rank_two(x1: Any, x2: Any) -> Any:
    tf = _tf()
    outputs = []
    for i, x in enumerate((x1, x2)):
        q = tf.abs(tf.add(x, tf.constant(1.0, name=f"c{i}_1"), name=f"add{i}_1"), name=f"abs{i}_1")
        q = tf.abs(tf.add(q, tf.constant(2.2, name=f"c{i}_2"), name=f"add{i}_2"), name=f"abs{i}_2")
        q = tf.add(q, tf.constant(3.0, name=f"c{i}_3"), name=f"add{i}_3")
        if i == 0:
            axis = tf.constant(-1, dtype=tf.int32, name="axis")
            for j in range(2):
                q = tf.expand_dims(q, axis, name=f"expand{i}_{j}")
            q = _incompatible(q)
        outputs.append(tf.math.reciprocal(q, name=f"reciprocal{i}"))
    return _squeeze(tf.add(outputs[0], outputs[1], name="add"))


def bool_ops(x1: Any, x2: Any) -> Any:
    tf = _tf()
    x = tf.logical_or(tf.logical_and(x1, x2), x2)
    return _identity(tf.logical_not(tf.not_equal(x, x2)))


# --- resize_test.py ------------------------------------------------------------------------------


def resize_dynamic(align_corners: bool, half_pixel_centers: bool) -> Callable[[Any], Any]:
    def graph(inp: Any) -> Any:
        tf = _tf()
        size = tf.multiply(tf.shape(inp)[1:3], tf.constant([2], dtype=tf.int32))
        resized = tf.raw_ops.ResizeBilinear(images=inp, size=size, align_corners=align_corners, half_pixel_centers=half_pixel_centers, name="resize")
        return _identity(resized)

    return graph


def resize_static(align_corners: bool, target: tuple[int, int] = (64, 64)) -> Callable[[Any], Any]:
    def graph(inp: Any) -> Any:
        tf = _tf()
        size = tf.constant(np.asarray(target, dtype=np.int32))
        return _identity(tf.raw_ops.ResizeBilinear(images=inp, size=size, align_corners=align_corners, half_pixel_centers=False))

    return graph


# --- quantization_test.py ------------------------------------------------------------------------


def quantization_ranges(x: Any) -> Any:
    tf = _tf()

    def quantize(t: Any, r: float) -> Any:
        return tf.quantization.fake_quant_with_min_max_vars(t, -r, r)

    x = quantize(x, 10.0)
    x = quantize(x + 5, 15.0)
    x = quantize(x - 5, 10.0)
    x = quantize(x * 0.1, 1.0)
    x = quantize(tf.matmul(x, tf.constant(np.ones((8, 1), dtype=np.float32))), 10.0)
    return _identity(x)


# --- combined_nms_test.py ------------------------------------------------------------------------


def combined_nms(boxes: Any, scores: Any) -> Any:
    tf = _tf()
    outputs = tf.image.combined_non_max_suppression(
        boxes,
        scores,
        tf.constant(3, dtype=tf.int32, name="max_output_size_per_class"),
        tf.constant(3, dtype=tf.int32, name="max_total_size"),
        tf.constant(0.5, dtype=tf.float32, name="iou_threshold"),
        tf.constant(0.1, dtype=tf.float32, name="score_threshold"),
        name="combined_nms",
    )
    return [_identity(t, f"output_{i}") for i, t in enumerate(outputs)]
