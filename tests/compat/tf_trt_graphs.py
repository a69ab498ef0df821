"""Graph builders of TF-TRT's integration tests (``GraphFn``), rewritten as small functions.

Each builder takes the input tensors and returns the output(s), named as TF-TRT's
tests name them (``output_0``, ...) and with TF-TRT's node names where its
``ExpectedEnginesToBuild`` lists them. :mod:`tests.compat.tf_trt_cases` pairs each with
its shapes and expected engines.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def tensorflow() -> Any:
    """The ``tensorflow`` module, imported when a graph is built (collecting the cases imports no TensorFlow)."""
    import tensorflow as tf

    return tf


def const(shape: tuple[int, ...], name: str | None = None, dtype: str = "float32") -> Any:
    """A constant of standard-normal values (numpy's global generator, seeded per case as TF-TRT's tests)."""
    return tensorflow().constant(np.random.randn(*shape).astype(dtype), name=name)


def incompatible(x: Any, name: str | None = None) -> Any:
    """TF-TRT's ``trt_incompatible_op``: Erfc, which it had no converter for."""
    return tensorflow().math.erfc(x, name=name)


def incompatible_binary(a: Any, b: Any, name: str | None = None) -> Any:
    """TF-TRT's ``trt_incompatible_binary_op``: Igamma."""
    return tensorflow().math.igamma(a, b, name=name)


def squeeze(x: Any) -> Any:
    """TF-TRT's usual last op: ``squeeze`` without an axis (an output of unknown rank), named ``output_0``."""
    return tensorflow().squeeze(x, name="output_0")


def identity(x: Any, name: str = "output_0") -> Any:
    """The named output (TF-TRT reads ``output_<k>``)."""
    return tensorflow().identity(x, name=name)


# --- base_test.py ---------------------------------------------------------------------------


def single_engine(inp: Any) -> Any:
    tf = tensorflow()
    w = tf.constant([[[[1.0, 0.5, 4.0, 6.0, 0.5, 1.0], [1.0, 0.5, 1.0, 1.0, 0.5, 1.0]]]], name="weights")
    conv = tf.nn.conv2d(inp, w, strides=[1, 2, 2, 1], padding="SAME", name="conv")
    added = tf.nn.bias_add(conv, tf.constant([4.0, 1.5, 2.0, 3.0, 5.0, 7.0], name="bias"), name="bias_add")
    relu = tf.nn.relu(added, "relu")
    pool = tf.nn.max_pool2d(tf.identity(relu, "identity"), [1, 2, 2, 1], [1, 2, 2, 1], "VALID", name="max_pool")
    return squeeze(pool)


def multi_engines(inp: Any) -> Any:
    tf = tensorflow()
    w = tf.constant([[[[1.0, 0.5, 4.0, 6.0, 0.5, 1.0], [1.0, 0.5, 1.0, 1.0, 0.5, 1.0]]]], name="weights")
    conv = tf.nn.conv2d(inp, w, strides=[1, 2, 2, 1], padding="SAME", name="conv")
    p = tf.multiply(conv, const((12, 12, 6), "c1"), name="mul")
    q = tf.math.truediv(conv, const((12, 12, 6), "c2"), name="div")
    edge = incompatible(q, name="incompatible")
    edge = tf.subtract(tf.constant(1.0, name="one"), edge, name="one_sub")
    edge = tf.math.truediv(edge, edge, name="div1")
    r = tf.add(edge, edge, name="add")
    p = tf.subtract(p, edge, name="sub")
    q = tf.multiply(q, edge, name="mul1")
    s = tf.subtract(tf.add(p, q, name="add1"), r, name="sub1")
    return squeeze(s)


def _add_mul_chain(n: Any, first: int, count: int, constants: tuple[float, ...]) -> Any:
    tf = tensorflow()
    for i, value in zip(range(first, first + count), constants):
        n = tf.add(n, tf.constant(value, name=f"c{i}"), name=f"add{i}")
        n = tf.multiply(n, n, name=f"mul{i}")
    return n


def multi_engines_2(inp: Any) -> Any:
    n = _add_mul_chain(inp, 0, 2, (0.0, 1.0))
    n = incompatible(n, name="incompatible")
    return squeeze(_add_mul_chain(n, 2, 2, (2.0, 3.0)))


def _add_mul_add(n: Any, c: Any, names: tuple[str, str, str]) -> Any:
    tf = tensorflow()
    n = tf.add(n, c, name=names[0])
    n = tf.multiply(n, n, name=names[1])
    return tf.add(n, n, name=names[2])


def const_input(inp: Any) -> Any:
    c = tensorflow().constant(1.0, name="c")
    n = incompatible_binary(inp, c, name="incompatible")
    n = incompatible(_add_mul_add(n, c, ("add", "mul", "add1")), name="incompatible1")
    return squeeze(_add_mul_add(n, c, ("add2", "mul1", "add3")))


def const_data_single(inp: Any) -> Any:
    return squeeze(_add_mul_add(inp, tensorflow().constant(1.0, name="c"), ("add", "mul", "add1")))


def const_data_multiple(inp: Any) -> Any:
    c = tensorflow().constant(1.0, name="c")
    n = incompatible(_add_mul_add(inp, c, ("add", "mul", "add1")), name="incompatible1")
    return squeeze(_add_mul_add(n, c, ("add2", "mul1", "add3")))


def control_dependency(inp: Any) -> Any:
    tf = tensorflow()
    c1, c2 = tf.constant(1.0, name="c1"), tf.constant(2.0, name="c2")
    d1 = incompatible(inp, name="d1")
    d2 = incompatible_binary(inp, inp, name="d2")
    with tf.control_dependencies([d1]):
        add = tf.add(inp, c1, name="add")
    mul = tf.multiply(add, add, name="mul")
    add1 = tf.add(mul, mul, name="add1")
    edge = incompatible(add1, name="incompatible")
    with tf.control_dependencies([d1, d2, add1]):
        add2 = tf.add(edge, c2, name="add2")
    mul1 = tf.multiply(add2, add2, name="mul1")
    add3 = tf.add(mul1, mul1, name="add3")
    inc1 = incompatible_binary(d1, add3, name="incompatible1")
    return squeeze(incompatible_binary(d2, inc1, name="incompatible2"))


# --- tf_function_test.py: the graph calls a function marked _noinline (TF-TRT converted inside it) ---


def conv_and_pool(inp: Any) -> Any:
    tf = tensorflow()
    w = tf.constant([[[[1.0, 0.5, 4.0], [1.0, 0.5, 1.0]]]], name="weights")
    conv = tf.nn.conv2d(inp, w, strides=[1, 2, 2, 1], padding="SAME", name="conv")
    relu = tf.nn.relu(tf.nn.bias_add(conv, tf.constant([4.0, 1.5, 2.0], name="bias"), name="bias_add"), "relu")
    return tf.squeeze(tf.nn.max_pool2d(tf.identity(relu, "identity"), [1, 2, 2, 1], [1, 2, 2, 1], "VALID", name="max_pool"))


def function_call(x: Any) -> Any:
    tf = tensorflow()
    spec = tf.TensorSpec([None, 32, 32, 2], tf.float32)
    inner = tf.function(conv_and_pool, input_signature=[spec], experimental_attributes={"_noinline": True})
    return identity(inner(x))


# --- batch_matmul_test.py, identity_output_test.py, int32_test.py, cast_test.py, topk_test.py --


def batch_matmul_two_tensors(inp: Any, inp1: Any) -> Any:
    tf = tensorflow()
    return identity(tf.nn.relu(tf.matmul(inp, inp1, name="matmul"), name="relu"))


def batch_matmul_weight(shape: tuple[int, ...]) -> Callable[[Any], Any]:
    def graph(inp: Any) -> Any:
        return identity(tensorflow().matmul(inp, const(shape, "kernel"), name="matmul"))

    return graph


def identity_outputs(x: Any) -> Any:
    tf = tensorflow()
    x1 = tf.matmul(x, const((32, 4))) + const((1, 4))
    return [identity(x1, "output_0"), identity(x1, "output_1"), identity(tf.identity(x1), "output_2")]


def int32_matmul_bias(x: Any) -> Any:
    tf = tensorflow()
    x = tf.matmul(x, tf.constant(np.random.randn(4, 10).astype("int32")))
    return identity(tf.nn.bias_add(x, tf.constant(np.random.randn(10).astype("int32"))))


def int32_transpose(inp: Any) -> Any:
    return identity(tensorflow().transpose(inp, [0, 3, 2, 1], name="transpose_0"))


def cast_int32_to_fp32(x: Any) -> Any:
    tf = tensorflow()
    x_f = tf.multiply(tf.cast(x, tf.float32, name="Cast"), const((1, 10)), name="Mul")
    return identity(tf.add(x_f, const((1, 10)), name="Add"))


def top_k(reshape: bool) -> Callable[[Any], Any]:
    def graph(x: Any) -> Any:
        tf = tensorflow()
        values, indices = tf.math.top_k(x, tf.constant(5, name="Const"), name="TopK")
        if reshape:
            indices = tf.reshape(indices, [-1, 1, 5], name="Reshape")
        return [identity(values, "output_0"), identity(indices, "output_1")]

    return graph


# --- concatenation_test.py, const_broadcast_test.py, binary_tensor_weight_broadcast_test.py, biasadd_matmul_test.py, unary_test.py


def concatenation(x: Any) -> Any:
    tf = tensorflow()
    pieces = [
        x / const((3, 1, 1)), const((3, 1, 1)) / x, const((1, 3, 1)) + x, x * const((1, 3, 1)),
        x - const((3, 1, 1)), const((3, 1, 1)) - x, x - const((3, 1)), const((3, 1)) - x,
        tf.maximum(x, const((3, 1, 1))), tf.minimum(const((3, 1)), x), x * const((3,)), const((1,)) * x,
    ]
    concat1 = tf.concat(pieces[:6], axis=-1)
    concat2 = tf.concat(pieces[6:], axis=3)
    return tf.reshape(tf.concat([concat1, concat2], axis=-1), [2, -1], name="output_0")


def const_broadcast(x: Any) -> Any:
    tf = tensorflow()
    y = x
    for k, (shape, relu) in enumerate((((3, 3, 2, 1), "z1"), ((3, 3, 1, 1), "z"), ((3, 3, 1, 1), "output_0")), start=1):
        y = tf.nn.conv2d(y, tf.constant(0.3, shape=shape, name=f"filt{k}"), strides=[1, 1, 1, 1], padding="SAME", name=f"y{k}")
        y = tf.nn.relu(y, name=relu)
    return y


def binary_weight_broadcast(x: Any) -> Any:
    tf = tensorflow()
    for shape in ((1,), (24, 1, 1), (24, 24, 20), (20,), (1, 24, 1, 1), (1, 24, 24, 1), (1, 24, 24, 20), (24, 20)):
        x = incompatible(x + const(shape))
        x = incompatible(const(shape) + x)
    return tf.reshape(x, [5, -1], name="output_0")


def biasadd_matmul(x: Any) -> Any:
    tf = tensorflow()

    def bias_add(shape: list[int], channels: int, layout: str) -> Any:
        return tf.reshape(tf.nn.bias_add(tf.reshape(x, shape), const((channels,)), data_format=layout), [4, -1])

    x1 = tf.matmul(x, const((144, 4))) + const((1, 4))
    x2 = incompatible(tf.reshape(tf.matmul(incompatible(x), const((4, 144)), transpose_a=True), [4, -1]))
    x3 = tf.matmul(x, const((4, 144)), transpose_b=True)
    x4 = incompatible(tf.reshape(tf.matmul(incompatible(x), const((16, 4)), transpose_a=True, transpose_b=True), [4, -1]))
    x5 = tf.nn.bias_add(tf.matmul(x, const((144, 48))), const((48,)))
    rest = [
        bias_add([4, 24, 6], 6, "NHWC"), bias_add([4, 12, 4, 3], 3, "NHWC"), bias_add([4, 4, 3, 2, 6], 6, "NHWC"),
        bias_add([4, 12, 3, 2, 2], 12, "NCHW"), bias_add([4, 3, 4, 12], 3, "NCHW"), bias_add([4, 6, 24], 6, "NCHW"),
    ]
    return squeeze(tf.concat([x1, x2, x3, x4, x5, *rest], axis=-1))


def unary(x1: Any, x2: Any) -> Any:
    tf = tensorflow()
    q = tf.squeeze(tf.math.log(tf.exp(tf.abs(x1) + 1.0)), axis=-2)
    q = tf.squeeze(-tf.math.rsqrt(tf.sqrt(tf.abs(q) + 2.2)), axis=3)
    a = tf.math.reciprocal(tf.abs(q) + 3.0)
    # A chain on a constant of another leading size (5): one engine in dynamic-shape mode.
    q = tf.math.log(tf.exp(tf.abs(const((5, 8, 12))) + 2.0))
    q = -tf.math.rsqrt(tf.sqrt(tf.abs(q) + 2.1))
    b = tf.math.reciprocal(tf.abs(q) + 4.0)
    q = tf.squeeze(tf.exp(tf.abs(x2) + 5.0), axis=[-1, -2, 3])
    q = tf.reshape(tf.abs(tf.math.log(q)) + 5.1, [12, 5, 1, 1, 8, 1, 12])
    q = tf.abs(tf.sqrt(tf.squeeze(q, axis=[5, 2, 3]))) + 5.2
    c = tf.math.reciprocal(tf.abs(-tf.math.rsqrt(q)) + 5.3)
    return squeeze((a * b) / c)
