"""TF-TRT's integration test graphs, re-written as a table of small graph builders.

Each :class:`Case` is one test class of TensorFlow's
``tensorflow/python/compiler/tensorrt/test/*_test.py`` (base class
``tf_trt_integration_test_base.py``): its graph (``GraphFn``), input specs and the
shapes it runs (``GetParams``), the engines TF-TRT expected (``ExpectedEnginesToBuild``)
in TF 2 dynamic-shape mode with ``minimum_segment_size=2``, and the node names of
each engine where TF-TRT listed them. The graphs are our own code, written from
reading those files. Where TF-TRT's expectation depends on the mode, the
dynamic-shape one is taken (from the latest version of the file: ImplicitBatchTest,
UnaryTest, BiasaddMatMulTest, BinaryTensorWeightBroadcastTest, CombinedNmsTest and
RankTwoTest branch on ``run_params.dynamic_shape``). Where tftrt_kit deliberately
builds other engines, ``ours`` holds our count and ``difference`` says why (the
README's migration section too).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np



@dataclasses.dataclass(frozen=True)
class Case:
    """One TF-TRT integration test class.

    Attributes:
        name: TF-TRT's class name.
        module: The TF-TRT test file it comes from.
        graph: Builds the graph from the input tensors (TF-TRT's ``GraphFn``).
        inputs: ``(shape with None where dynamic, dtype)`` per input (``input_0``, ...).
        dims: The input shapes of each run (TF-TRT's ``input_dims``).
        engines: Engines TF-TRT expected in dynamic-shape mode.
        nodes: TF-TRT's node names per engine, where it listed them.
        precision: TF-TRT precision mode of the run ported.
        calibrate: INT8 with calibration on the run's own inputs (TF-TRT's ``use_calibration``), else without.
        ours: Our engine count where it deliberately differs (else TF-TRT's).
        difference: Why it differs.
        tolerance: Largest difference from TensorFlow, absolute and relative.
        seed: Seed of the weights drawn while building the graph.
    """

    name: str
    module: str
    graph: Callable[..., Any]
    inputs: tuple[tuple[tuple[int | None, ...], str], ...]
    dims: tuple[tuple[tuple[int, ...], ...], ...]
    engines: int
    nodes: dict[str, tuple[str, ...]] | None = None
    precision: str = "FP32"
    calibrate: bool = False
    ours: int | None = None
    difference: str = ""
    tolerance: float = 1e-4
    seed: int = 1234

    @property
    def expected_engines(self) -> int:
        """The engine count tftrt_kit must give."""
        return self.engines if self.ours is None else self.ours


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


def _single_engine(inp: Any) -> Any:
    tf = _tf()
    w = tf.constant([[[[1.0, 0.5, 4.0, 6.0, 0.5, 1.0], [1.0, 0.5, 1.0, 1.0, 0.5, 1.0]]]], name="weights")
    conv = tf.nn.conv2d(inp, w, strides=[1, 2, 2, 1], padding="SAME", name="conv")
    added = tf.nn.bias_add(conv, tf.constant([4.0, 1.5, 2.0, 3.0, 5.0, 7.0], name="bias"), name="bias_add")
    relu = tf.nn.relu(added, "relu")
    pool = tf.nn.max_pool2d(tf.identity(relu, "identity"), [1, 2, 2, 1], [1, 2, 2, 1], "VALID", name="max_pool")
    return _squeeze(pool)


def _multi_engines(inp: Any) -> Any:
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


def _multi_engines_2(inp: Any) -> Any:
    n = _add_mul_chain(inp, 0, 2, (0.0, 1.0))
    n = _incompatible(n, name="incompatible")
    return _squeeze(_add_mul_chain(n, 2, 2, (2.0, 3.0)))


def _add_mul_add(n: Any, c: Any, names: tuple[str, str, str]) -> Any:
    tf = _tf()
    n = tf.add(n, c, name=names[0])
    n = tf.multiply(n, n, name=names[1])
    return tf.add(n, n, name=names[2])


def _const_input(inp: Any) -> Any:
    c = _tf().constant(1.0, name="c")
    n = _incompatible_binary(inp, c, name="incompatible")
    n = _incompatible(_add_mul_add(n, c, ("add", "mul", "add1")), name="incompatible1")
    return _squeeze(_add_mul_add(n, c, ("add2", "mul1", "add3")))


def _const_data_single(inp: Any) -> Any:
    return _squeeze(_add_mul_add(inp, _tf().constant(1.0, name="c"), ("add", "mul", "add1")))


def _const_data_multiple(inp: Any) -> Any:
    c = _tf().constant(1.0, name="c")
    n = _incompatible(_add_mul_add(inp, c, ("add", "mul", "add1")), name="incompatible1")
    return _squeeze(_add_mul_add(n, c, ("add2", "mul1", "add3")))


def _control_dependency(inp: Any) -> Any:
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


def _conv_and_pool(inp: Any) -> Any:
    tf = _tf()
    w = tf.constant([[[[1.0, 0.5, 4.0], [1.0, 0.5, 1.0]]]], name="weights")
    conv = tf.nn.conv2d(inp, w, strides=[1, 2, 2, 1], padding="SAME", name="conv")
    relu = tf.nn.relu(tf.nn.bias_add(conv, tf.constant([4.0, 1.5, 2.0], name="bias"), name="bias_add"), "relu")
    return tf.squeeze(tf.nn.max_pool2d(tf.identity(relu, "identity"), [1, 2, 2, 1], [1, 2, 2, 1], "VALID", name="max_pool"))


def _function_call(x: Any) -> Any:
    tf = _tf()
    spec = tf.TensorSpec([None, 32, 32, 2], tf.float32)
    inner = tf.function(_conv_and_pool, input_signature=[spec], experimental_attributes={"_noinline": True})
    return _identity(inner(x))


# --- batch_matmul_test.py, identity_output_test.py, int32_test.py, cast_test.py, topk_test.py --


def _batch_matmul_two_tensors(inp: Any, inp1: Any) -> Any:
    tf = _tf()
    return _identity(tf.nn.relu(tf.matmul(inp, inp1, name="matmul"), name="relu"))


def _batch_matmul_weight(shape: tuple[int, ...]) -> Callable[[Any], Any]:
    def graph(inp: Any) -> Any:
        return _identity(_tf().matmul(inp, _const(shape, "kernel"), name="matmul"))

    return graph


def _identity_outputs(x: Any) -> Any:
    tf = _tf()
    x1 = tf.matmul(x, _const((32, 4))) + _const((1, 4))
    return [_identity(x1, "output_0"), _identity(x1, "output_1"), _identity(tf.identity(x1), "output_2")]


def _int32_matmul_bias(x: Any) -> Any:
    tf = _tf()
    x = tf.matmul(x, tf.constant(np.random.randn(4, 10).astype("int32")))
    return _identity(tf.nn.bias_add(x, tf.constant(np.random.randn(10).astype("int32"))))


def _int32_transpose(inp: Any) -> Any:
    return _identity(_tf().transpose(inp, [0, 3, 2, 1], name="transpose_0"))


def _cast_int32_to_fp32(x: Any) -> Any:
    tf = _tf()
    x_f = tf.multiply(tf.cast(x, tf.float32, name="Cast"), _const((1, 10)), name="Mul")
    return _identity(tf.add(x_f, _const((1, 10)), name="Add"))


def _top_k(reshape: bool) -> Callable[[Any], Any]:
    def graph(x: Any) -> Any:
        tf = _tf()
        values, indices = tf.math.top_k(x, tf.constant(5, name="Const"), name="TopK")
        if reshape:
            indices = tf.reshape(indices, [-1, 1, 5], name="Reshape")
        return [_identity(values, "output_0"), _identity(indices, "output_1")]

    return graph


# --- concatenation_test.py, const_broadcast_test.py, binary_tensor_weight_broadcast_test.py, biasadd_matmul_test.py, unary_test.py


def _concatenation(x: Any) -> Any:
    tf = _tf()
    pieces = [
        x / _const((3, 1, 1)), _const((3, 1, 1)) / x, _const((1, 3, 1)) + x, x * _const((1, 3, 1)),
        x - _const((3, 1, 1)), _const((3, 1, 1)) - x, x - _const((3, 1)), _const((3, 1)) - x,
        tf.maximum(x, _const((3, 1, 1))), tf.minimum(_const((3, 1)), x), x * _const((3,)), _const((1,)) * x,
    ]
    concat1 = tf.concat(pieces[:6], axis=-1)
    concat2 = tf.concat(pieces[6:], axis=3)
    return tf.reshape(tf.concat([concat1, concat2], axis=-1), [2, -1], name="output_0")


def _const_broadcast(x: Any) -> Any:
    tf = _tf()
    y = x
    for k, (shape, relu) in enumerate((((3, 3, 2, 1), "z1"), ((3, 3, 1, 1), "z"), ((3, 3, 1, 1), "output_0")), start=1):
        y = tf.nn.conv2d(y, tf.constant(0.3, shape=shape, name=f"filt{k}"), strides=[1, 1, 1, 1], padding="SAME", name=f"y{k}")
        y = tf.nn.relu(y, name=relu)
    return y


def _binary_weight_broadcast(x: Any) -> Any:
    tf = _tf()
    for shape in ((1,), (24, 1, 1), (24, 24, 20), (20,), (1, 24, 1, 1), (1, 24, 24, 1), (1, 24, 24, 20), (24, 20)):
        x = _incompatible(x + _const(shape))
        x = _incompatible(_const(shape) + x)
    return tf.reshape(x, [5, -1], name="output_0")


def _biasadd_matmul(x: Any) -> Any:
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


def _unary(x1: Any, x2: Any) -> Any:
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


def _conv_sum(nchw: bool) -> Callable[[Any], Any]:
    def graph(inp: Any) -> Any:
        outputs = [_conv(inp, 5, k, dilations=d, nchw=nchw) for k in ((3, 3), (3, 2)) for d in ((1, 1), (2, 3))]
        return _identity(sum(outputs[1:], outputs[0]))

    return graph


def _conv_strided_nchw(inp: Any) -> Any:
    out = _conv(inp, 5, (3, 2), strides=(2, 2), nchw=True)
    return _identity(_conv(out, 5, (3, 3), strides=(2, 2), dilations=(2, 3), nchw=True))


def _conv_transpose_nchw(inp: Any) -> Any:
    tf = _tf()
    output_shape = tf.constant([13, 8, 14, 22], dtype=tf.int32)
    return _identity(tf.nn.conv2d_transpose(inp, _const((2, 2, 8, 3)), output_shape, strides=[1, 1, 2, 2], padding="SAME", data_format="NCHW"))


def _vgg_block(nchw: bool) -> Callable[[Any], Any]:
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


def _neighboring(x: Any) -> Any:
    tf = _tf()
    weights = tf.constant(np.random.normal(0.3, 0.05, [3, 2, 3, 4]).astype("float32"), name="weights")
    conv = tf.nn.conv2d(x, weights, strides=[1, 1, 1, 1], padding="VALID", data_format="NCHW", name="conv")
    t = tf.multiply(conv, tf.constant(np.random.normal(1.0, 1.0, [1, 4, 1, 1]).astype("float32"), name="bias"), name="mul")
    return _squeeze(tf.subtract(t, _incompatible(conv, name="incompatible"), name="sub"))


def _multi_connection_neighbor(x: Any) -> Any:
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


def _memory_alignment(inp: Any) -> Any:
    tf = _tf()
    conv = tf.nn.conv2d(inp, _const((1, 1, 3, 5), "kernel_1"), strides=[1, 1, 1, 1], padding="VALID", name="conv")
    return _squeeze(tf.nn.conv2d(conv, _const((1, 1, 5, 10), "kernel_2"), strides=[1, 1, 1, 1], padding="VALID", name="conv_2"))


# --- dynamic_input_shapes_test.py, lru_cache_test.py, trt_mode_test.py, shapes ------------------


def _dynamic_input_shapes(x: Any) -> Any:
    tf = _tf()
    for weights, channels in (((3, 3, 1, 8), 8), ((3, 3, 8, 1), 1)):
        x = tf.nn.conv2d(x, tf.ones(weights), strides=[1, 1, 1, 1], padding="SAME", name="conv")
        x = tf.nn.bias_add(x, _const((channels,)))
        if channels == 8:
            x = tf.nn.relu(x)
    return _identity(x, "output")


def _lru_cache(x: Any) -> Any:
    tf = _tf()
    return _identity(tf.nn.relu(tf.add(x, _const((1, 10, 10, 1)))), "output")


def _squeeze_batch(x1: Any) -> Any:
    tf = _tf()
    q = tf.abs(x1) + 1.0
    q = tf.squeeze(q * 3.0, 0)
    return _identity(tf.abs(q) + 5.0)


def _shape_output(reshape: bool) -> Callable[[Any], Any]:
    def graph(x: Any) -> Any:
        tf = _tf()
        q = tf.shape(2 * x + 1)
        if reshape:
            q = tf.reshape(q, [2, 2])
        q = _incompatible(tf.cast(q, tf.float32))
        return _identity(q * 2 + q * q)

    return graph


def _engine_op_shapes(inp: Any) -> Any:
    tf = _tf()
    c = tf.nn.relu(tf.squeeze(inp, axis=[2]))
    d1 = c + c
    return [_identity(d1, "output_0"), _identity(tf.reduce_sum(d1), "output_1")]


def _rank_two(x1: Any, x2: Any) -> Any:
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


def _bool_ops(x1: Any, x2: Any) -> Any:
    tf = _tf()
    x = tf.logical_or(tf.logical_and(x1, x2), x2)
    return _identity(tf.logical_not(tf.not_equal(x, x2)))


# --- resize_test.py ------------------------------------------------------------------------------


def _resize_dynamic(align_corners: bool, half_pixel_centers: bool) -> Callable[[Any], Any]:
    def graph(inp: Any) -> Any:
        tf = _tf()
        size = tf.multiply(tf.shape(inp)[1:3], tf.constant([2], dtype=tf.int32))
        resized = tf.raw_ops.ResizeBilinear(images=inp, size=size, align_corners=align_corners, half_pixel_centers=half_pixel_centers, name="resize")
        return _identity(resized)

    return graph


def _resize_static(align_corners: bool, target: tuple[int, int] = (64, 64)) -> Callable[[Any], Any]:
    def graph(inp: Any) -> Any:
        tf = _tf()
        size = tf.constant(np.asarray(target, dtype=np.int32))
        return _identity(tf.raw_ops.ResizeBilinear(images=inp, size=size, align_corners=align_corners, half_pixel_centers=False))

    return graph


# --- quantization_test.py ------------------------------------------------------------------------


def _quantization_ranges(x: Any) -> Any:
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


def _combined_nms(boxes: Any, scores: Any) -> Any:
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


def _dims(*shapes: tuple[int, ...]) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """One run with these input shapes."""
    return (tuple(shapes),)


def _batch_dynamic(*shapes: tuple[int, ...]) -> tuple[tuple[tuple[int | None, ...], str], ...]:
    """TF-TRT's ``BuildParams``: float32 inputs with a dynamic batch dimension."""
    return tuple(((None, *s[1:]), "float32") for s in shapes)


def _static(*shapes: tuple[int, ...], dtype: str = "float32") -> tuple[tuple[tuple[int | None, ...], str], ...]:
    return tuple((tuple(s), dtype) for s in shapes)


_NCHW = (2, 3, 7, 5)
_NHWC4 = (2, 32, 32, 3)

CASES: tuple[Case, ...] = (
    Case("SimpleSingleEngineTest", "base_test.py", _single_engine, _batch_dynamic((100, 24, 24, 2)), _dims((100, 24, 24, 2)), 1,
         {"TRTEngineOp_000": ("weights", "conv", "bias", "bias_add", "relu", "identity", "max_pool")}),
    Case("SimpleMultiEnginesTest", "base_test.py", _multi_engines, _batch_dynamic((100, 24, 24, 2)), _dims((100, 24, 24, 2)), 2,
         {"TRTEngineOp_000": ("add", "add1", "c1", "div1", "mul", "mul1", "sub", "sub1", "one", "one_sub"),
          "TRTEngineOp_001": ("c2", "conv", "div", "weights")}),
    Case("SimpleMultiEnginesTest2", "base_test.py", _multi_engines_2, _batch_dynamic(_NHWC4), _dims(_NHWC4), 2,
         {"TRTEngineOp_000": ("c0", "c1", "add0", "add1", "mul0", "mul1"), "TRTEngineOp_001": ("c2", "c3", "add2", "add3", "mul2", "mul3")}),
    Case("ConstInputTest", "base_test.py", _const_input, _batch_dynamic(_NHWC4), _dims(_NHWC4), 2,
         {"TRTEngineOp_000": ("add", "add1", "mul"), "TRTEngineOp_001": ("add2", "add3", "mul1")}),
    Case("ConstDataInputSingleEngineTest", "base_test.py", _const_data_single, _batch_dynamic(_NHWC4), _dims(_NHWC4), 1,
         {"TRTEngineOp_000": ("c", "add", "add1", "mul")}),
    Case("ConstDataInputMultipleEnginesTest", "base_test.py", _const_data_multiple, _batch_dynamic(_NHWC4), _dims(_NHWC4), 2,
         {"TRTEngineOp_000": ("add2", "add3", "mul1"), "TRTEngineOp_001": ("add", "add1", "mul")}),
    Case("ControlDependencyTest", "control_deps_test.py", _control_dependency, _batch_dynamic(_NHWC4), _dims(_NHWC4), 2,
         {"TRTEngineOp_000": ("c1", "add", "add1", "mul"), "TRTEngineOp_001": ("c2", "add2", "add3", "mul1")}),
    Case("TfFunctionTest", "tf_function_test.py", _function_call, _batch_dynamic((10, 32, 32, 2)), _dims((10, 32, 32, 2)), 1,
         {"TRTEngineOp_000": ("weights", "conv", "bias", "bias_add", "relu", "identity", "max_pool")}),
    Case("BatchMatMulTwoTensorTest", "batch_matmul_test.py", _batch_matmul_two_tensors, _static((12, 5, 8, 12), (12, 5, 12, 7)),
         _dims((12, 5, 8, 12), (12, 5, 12, 7)), 1, {"TRTEngineOp_0": ("matmul", "relu")}),
    Case("BatchMatMulWeightBroadcastTest", "batch_matmul_test.py", _batch_matmul_weight((1, 5, 7)), _static((12, 9, 5)), _dims((12, 9, 5)), 1,
         {"TRTEngineOp_0": ("matmul", "kernel")}),
    Case("BatchMatMulWeightBroadcastDims2Test", "batch_matmul_test.py", _batch_matmul_weight((5, 7)), _static((12, 9, 5)), _dims((12, 9, 5)), 1,
         {"TRTEngineOp_0": ("matmul", "kernel")}),
    Case("BinaryTensorWeightBroadcastTest", "binary_tensor_weight_broadcast_test.py", _binary_weight_broadcast,
         _batch_dynamic((10, 24, 24, 20)), _dims((10, 24, 24, 20)), 17),
    Case("BiasaddMatMulTest", "biasadd_matmul_test.py", _biasadd_matmul, _batch_dynamic((4, 144)), _dims((4, 144)), 3),
    Case("UnaryTest", "unary_test.py", _unary, _batch_dynamic((12, 5, 8, 1, 1, 12), (12, 5, 8, 1, 12, 1, 1)),
         _dims((12, 5, 8, 1, 1, 12), (12, 5, 8, 1, 12, 1, 1)), 1),
    Case("CastInt32ToFp32Test", "cast_test.py", _cast_int32_to_fp32, (((None, 10), "int32"),), _dims((1, 10)), 1,
         {"TRTEngineOp_0": ("Add", "Mul")}),
    Case("ConcatenationTest", "concatenation_test.py", _concatenation, _batch_dynamic((2, 3, 3, 1)), _dims((2, 3, 3, 1)), 1),
    Case("ConstBroadcastTest", "const_broadcast_test.py", _const_broadcast, _batch_dynamic((5, 12, 12, 2)), _dims((5, 12, 12, 2)), 1),
    Case("Conv2DNCHWTest", "conv2d_test.py", _conv_sum(True), _batch_dynamic((13, 3, 7, 11)), _dims((13, 3, 7, 11)), 1),
    Case("Conv2DNHWCTest", "conv2d_test.py", _conv_sum(False), _batch_dynamic((13, 7, 11, 3)), _dims((13, 7, 11, 3)), 1),
    Case("Conv2DStridedNCHWTest", "conv2d_test.py", _conv_strided_nchw, _batch_dynamic((13, 3, 7, 11)), _dims((13, 3, 7, 11)), 1),
    Case("Conv2DTranposeTest", "conv2d_test.py", _conv_transpose_nchw, _batch_dynamic((13, 3, 7, 11)), _dims((13, 3, 7, 11)), 1),
    Case("DynamicInputShapesTest", "dynamic_input_shapes_test.py", _dynamic_input_shapes, (((None, None, None, 1), "float32"),),
         tuple((s,) for s in ((1, 5, 5, 1), (10, 5, 5, 1), (3, 5, 5, 1), (1, 5, 5, 1), (1, 3, 1, 1), (2, 9, 9, 1), (1, 224, 224, 1), (1, 128, 224, 1))), 1),
    Case("IdentityTest", "identity_output_test.py", _identity_outputs, _batch_dynamic((100, 32)), _dims((100, 32)), 1),
    Case("ExcludeUnsupportedInt32Test", "int32_test.py", _int32_matmul_bias, (((None, 4), "int32"),), _dims((100, 4)), 0),
    Case("CalibrationInt32Support", "int32_test.py", _int32_transpose, (((None, 4, 5, 6), "int32"),), _dims((3, 4, 5, 6)), 1,
         {"TRTEngineOp_000": ("transpose_0",)}, precision="INT8", calibrate=True),
    Case("LRUCacheTest", "lru_cache_test.py", _lru_cache, (((None, 10, 10, 2), "float32"),),
         tuple((s,) for s in ((1, 10, 10, 2), (2, 10, 10, 2), (4, 10, 10, 2), (2, 10, 10, 2))), 1),
    Case("MemoryAlignmentTest", "memory_alignment_test.py", _memory_alignment, _batch_dynamic((2, 15, 15, 3)), _dims((2, 15, 15, 3)), 1),
    Case("MultiConnectionNeighborEngineTest", "multi_connection_neighbor_engine_test.py", _multi_connection_neighbor,
         _batch_dynamic(_NCHW), _dims(_NCHW), 2),
    Case("NeighboringEngineTest", "neighboring_engine_test.py", _neighboring, _batch_dynamic(_NCHW), _dims(_NCHW), 2,
         {"TRTEngineOp_0": ("bias", "mul", "sub"), "TRTEngineOp_1": ("weights", "conv")}),
    # Tolerance 0.1, TF-TRT's for INT8: the MatMul sums values of a FakeQuant grid, landing exactly on ties of the
    # next FakeQuant's grid, which a last-bit difference between TensorFlow's and ONNX Runtime's sums breaks either way.
    Case("QuantizationWithRangesTest", "quantization_test.py", _quantization_ranges, _batch_dynamic((8, 8)), _dims((8, 8)), 1,
         precision="INT8", ours=3, tolerance=0.1,
         difference="TF nudges the ranges [-10, 10] and [-1, 1] to zero point 127, which TensorRT cannot take: "
                    "those FakeQuant nodes stay in TensorFlow (TF-TRT approximated them, with a tolerance of 0.1)"),
    Case("NonQuantizedPrecisionsWithRangesTest", "quantization_test.py", _quantization_ranges, _batch_dynamic((8, 8)), _dims((8, 8)), 4),
    Case("RankTwoTest", "rank_two_test.py", _rank_two, _batch_dynamic((12, 5), (12, 5, 2, 2)), _dims((12, 5), (12, 5, 2, 2)), 2,
         {"TRTEngineOp_000": ("add0_1", "add0_2", "add0_3", "c0_1", "c0_2", "c0_3", "abs0_1", "abs0_2", "expand0_0", "expand0_1", "axis"),
          "TRTEngineOp_001": ("add1_1", "add1_2", "add1_3", "c1_1", "c1_2", "c1_3", "abs1_1", "abs1_2", "reciprocal1", "add", "reciprocal0")}),
    Case("ResizeTestSizeDynamic", "resize_test.py", _resize_dynamic(False, False), (((None, None, None, 1), "float32"),), _dims((1, 32, 32, 1)), 1),
    Case("ResizeTestSizeDynamicAligned", "resize_test.py", _resize_dynamic(True, False), (((None, None, None, 1), "float32"),), _dims((1, 32, 32, 1)), 1),
    Case("ResizeTestSizeDynamicHalfPixel", "resize_test.py", _resize_dynamic(False, True), (((None, None, None, 1), "float32"),), _dims((1, 32, 32, 1)), 1),
    Case("ResizeTestSizeConst", "resize_test.py", _resize_static(False), _static((1, 32, 32, 1)), _dims((1, 32, 32, 1)), 1),
    Case("ResizeTestSizeConstAligned", "resize_test.py", _resize_static(True), _static((1, 32, 32, 1)), _dims((1, 32, 32, 1)), 1),
    Case("ResizeTestSizeConstNonIntegralWAR", "resize_test.py", _resize_static(False, (33, 33)), _static((1, 31, 31, 1)), _dims((1, 31, 31, 1)), 1),
    Case("ShapeOutputTest", "shape_output_test.py", _shape_output(False), (((None, 2, 5, 3), "float32"),), (((2, 2, 5, 3),), ((8, 2, 5, 3),)), 2),
    Case("ShapeOutputWithSingleInputProfile", "shape_output_test.py", _shape_output(False), (((None, 2, 5, 3), "float32"),), _dims((2, 2, 5, 3)), 2),
    Case("ShapeOutputWithSingleInputAndReshape", "shape_output_test.py", _shape_output(True), (((None, 2, 5, 3), "float32"),), _dims((2, 2, 5, 3)), 2),
    Case("TopKTest", "topk_test.py", _top_k(False), _batch_dynamic((100, 100)), _dims((100, 100)), 1, {"TRTEngineOp_0": ("Const", "TopK")}),
    Case("TopKOutputTypeTest", "topk_test.py", _top_k(True), _batch_dynamic((100, 100)), _dims((100, 100)), 1,
         {"TRTEngineOp_0": ("Const", "TopK", "Reshape", "Reshape/shape")}),
    Case("TRTEngineOpInputOutputShapeTest", "trt_engine_op_shape_test.py", _engine_op_shapes, _batch_dynamic((1, 2, 1, 4)), _dims((1, 2, 1, 4)), 1),
    Case("ImplicitBatchTest", "trt_mode_test.py", _squeeze_batch, _batch_dynamic((1, 12, 5)), _dims((1, 12, 5)), 1),
    Case("ExplicitBatchTest", "trt_mode_test.py", _squeeze_batch, _static((1, 12, 5)), _dims((1, 12, 5)), 1),
    Case("DynamicShapesTest", "trt_mode_test.py", _squeeze_batch, (((None, None, None), "float32"),),
         tuple((s,) for s in ((1, 12, 5), (1, 2, 3), (1, 4, 6))), 1),
    Case("VGGBlockTest", "vgg_block_test.py", _vgg_block(False), _batch_dynamic((5, 8, 8, 2)), _dims((5, 8, 8, 2)), 1),
    Case("VGGBlockNCHWTest", "vgg_block_nchw_test.py", _vgg_block(True), _batch_dynamic((5, 2, 8, 8)), _dims((5, 2, 8, 8)), 1),
    Case("BoolTest", "bool_test.py", _bool_ops, (((None, 32, 32, 3), "bool"),) * 2,
         _dims(_NHWC4, _NHWC4), 1),
    # TF-TRT converted CombinedNonMaxSuppression to a plugin in implicit-batch mode only.
    Case("CombinedNmsTest", "combined_nms_test.py", _combined_nms, _batch_dynamic((1, 200, 1, 4), (1, 200, 2)), _dims((1, 200, 1, 4), (1, 200, 2)), 0),
)
