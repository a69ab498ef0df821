"""Tests of tftrt_kit.segment.support and its rules."""

from __future__ import annotations

import pytest
from tensorflow.core.framework import graph_pb2, node_def_pb2, types_pb2

from tftrt_kit.errors import SegmentationError
from tftrt_kit.segment.rules import RULES, output_dtypes
from tftrt_kit.segment.rules.registry import DTYPE_NAMES, rule
from tftrt_kit.segment.support import Support, classify, rule_verdict, tf2onnx_ops
from tftrt_kit.source import op_defs_of

FLOAT, INT64 = types_pb2.DT_FLOAT, types_pb2.DT_INT64


def node(op: str, name: str = "n", inputs: tuple[str, ...] = (), **attrs: object) -> node_def_pb2.NodeDef:
    result = node_def_pb2.NodeDef(name=name, op=op, input=list(inputs))
    for key, value in attrs.items():
        if key in ("T", "dtype", "out_type", "output_type", "SrcT", "DstT", "Tidx"):
            result.attr[key].type = value
        elif isinstance(value, bool):
            result.attr[key].b = value
        elif isinstance(value, str):
            result.attr[key].s = value.encode()
        elif isinstance(value, list):
            result.attr[key].list.i.extend(value)
        else:
            result.attr[key].i = value
    return result


def conv(**attrs: object) -> node_def_pb2.NodeDef:
    base = {"T": FLOAT, "padding": "SAME", "data_format": "NHWC", "strides": [1, 1, 1, 1], "dilations": [1, 1, 1, 1]}
    base.update(attrs)
    return node("Conv2D", **base)


def test_dtype_table_matches_tensorflow() -> None:
    for value, name in DTYPE_NAMES.items():
        assert types_pb2.DataType.Name(value).startswith("DT_")
    assert DTYPE_NAMES[types_pb2.DT_HALF] == "float16"
    assert DTYPE_NAMES[types_pb2.DT_INT64] == "int64"


def test_conv2d_rules() -> None:
    assert rule_verdict(conv()).supported
    explicit = rule_verdict(conv(padding="EXPLICIT"))
    assert not explicit.supported and "padding=EXPLICIT" in explicit.reason
    int64 = rule_verdict(conv(T=INT64))
    assert not int64.supported and "T=int64" in int64.reason
    channel_stride = rule_verdict(conv(strides=[1, 1, 1, 2]))
    assert not channel_stride.supported and "strides" in channel_stride.reason
    # Spatial dilation is fine; dilation on the NCHW channel dim is not.
    assert rule_verdict(conv(dilations=[1, 2, 2, 1])).supported
    assert not rule_verdict(conv(data_format="NCHW", dilations=[1, 2, 1, 1])).supported


def test_int64_follows_tensorrt_10() -> None:
    """TensorRT 10 takes int64 indices, shapes, casts and arithmetic (its ONNX parser too); int64 convolution it does not."""
    assert rule_verdict(node("ArgMax", T=FLOAT, output_type=INT64)).supported
    assert rule_verdict(node("Shape", T=FLOAT, out_type=INT64)).supported
    assert rule_verdict(node("Cast", SrcT=FLOAT, DstT=INT64)).supported
    assert rule_verdict(node("AddV2", T=INT64)).supported
    assert rule_verdict(node("GatherV2", Tparams=FLOAT, Tindices=INT64)).supported
    assert not rule_verdict(node("MatMul", T=INT64)).supported


def test_other_attribute_rules() -> None:
    assert not rule_verdict(node("FusedBatchNormV3", T=FLOAT, is_training=True)).supported
    assert rule_verdict(node("FusedBatchNormV3", T=FLOAT, is_training=False)).supported
    assert not rule_verdict(node("Conv2DBackpropInput", T=FLOAT, padding="SAME", dilations=[1, 2, 2, 1])).supported
    assert rule_verdict(node("Cast", SrcT=FLOAT, DstT=types_pb2.DT_INT32)).supported
    assert not rule_verdict(node("Cast", SrcT=FLOAT, DstT=types_pb2.DT_COMPLEX64)).supported
    assert rule_verdict(node("Less", T=FLOAT)).supported


@pytest.mark.parametrize(
    ("op", "words"),
    [
        ("While", "control flow"),
        ("StatefulPartitionedCall", "could not be inlined"),
        ("TensorListReserve", "TensorList"),
        ("Where", "data-dependent"),
        ("Cumsum", "TF-TRT had no"),
        ("ScatterNd", "scatter"),
        ("NonMaxSuppressionV5", "data-dependent"),
        ("ReadVariableOp", "resource"),
        ("Placeholder", "graph input"),
        ("MadeUpOp", "no TensorRT converter for op MadeUpOp"),
    ],
)
def test_refusals_name_a_reason(op: str, words: str) -> None:
    verdict = rule_verdict(node(op))
    assert not verdict.supported
    assert words in verdict.reason


def test_registry_refuses_a_second_rule_for_an_op() -> None:
    assert "Conv2D" in RULES
    with pytest.raises(ValueError, match="one rule per op"):
        rule("Conv2D")(lambda n: None)


def test_output_dtypes_from_attrs() -> None:
    assert output_dtypes(node("Relu", T=FLOAT)) == ("float32",)
    assert output_dtypes(node("Const", dtype=INT64)) == ("int64",)
    assert output_dtypes(node("NoOp")) == ()


def graph_of(*nodes: node_def_pb2.NodeDef) -> graph_pb2.GraphDef:
    graph = graph_pb2.GraphDef()
    graph.node.extend(nodes)
    return graph


def test_classify_exclude_include_overrides() -> None:
    graph = graph_of(
        node("Placeholder", "x", dtype=FLOAT),
        node("Relu", "r1", ["x"], T=FLOAT),
        node("Relu", "r2", ["r1"], T=FLOAT),
        node("Cumsum", "c", ["r2"], T=FLOAT),
        node("Tanh", "t", ["c"], T=FLOAT),
    )
    base = classify(graph, opset=None)
    assert [base[n].supported for n in ("x", "r1", "r2", "c", "t")] == [False, True, True, False, True]

    out = classify(graph, exclude_ops=["Tanh", "r1"], opset=None)
    assert out["t"] == Support(False, "excluded by user", "user")
    assert not out["r1"].supported and out["r2"].supported

    forced = classify(graph, include_ops=["Cumsum", "Placeholder"], opset=None)
    assert forced["c"].supported and forced["c"].source == "user" and "TF-TRT" in forced["c"].reason
    assert not forced["x"].supported  # a graph input stays a graph input

    both = classify(graph, include_ops=["Cumsum"], exclude_ops=["c"], opset=None)
    assert not both["c"].supported

    parser = classify(graph, overrides={"c": Support(True, None, "tensorrt"), "t": Support(False, "no", "tensorrt")}, opset=None)
    assert parser["c"] == Support(True, None, "tensorrt")
    assert parser["t"].reason == "no"

    with pytest.raises(SegmentationError, match="ghost"):
        classify(graph, overrides={"ghost": Support(True)}, opset=None)


def test_classify_checks_tf2onnx_handlers() -> None:
    ops = tf2onnx_ops(17)
    assert {"Conv2D", "Relu", "QuantizeAndDequantizeV4"} <= ops
    assert "Einsum" not in tf2onnx_ops(1)
    graph = graph_of(node("Placeholder", "x", dtype=FLOAT), node("Snapshot", "s", ["x"], T=FLOAT))
    verdicts = classify(graph)
    if "Snapshot" not in ops:
        assert verdicts["s"].source == "tf2onnx" and "Snapshot" in verdicts["s"].reason
    assert classify(graph, include_ops=["Snapshot"])["s"].supported


def test_string_resource_and_unknown_rank_tensors_never_enter_a_segment() -> None:
    """A node touching a string, resource or variant tensor, or one of unknown rank, stays out even when included."""
    graph = graph_pb2.GraphDef()
    graph.node.extend([
        node("Placeholder", "text", dtype=types_pb2.DT_STRING),
        node("Identity", "copy", ("text",), T=types_pb2.DT_STRING),
        node("Shape", "shape", ("copy",), T=types_pb2.DT_STRING, out_type=types_pb2.DT_INT32),
        node("Placeholder", "table", dtype=types_pb2.DT_RESOURCE),
        node("Identity", "handle", ("table",), T=types_pb2.DT_RESOURCE),
        node("Placeholder", "x", dtype=FLOAT),
        node("Relu", "relu", ("x",), T=FLOAT),
        node("Neg", "neg", ("relu:0",), T=FLOAT),
        node("Abs", "abs", ("shape",), T=types_pb2.DT_INT32),
    ])
    verdicts = classify(graph, include_ops=("Identity", "Shape", "Neg"), opset=None, unknown_rank=("relu:0",), op_defs=op_defs_of(graph))
    assert not verdicts["copy"].supported and "T=string" in verdicts["copy"].reason, "the rule's own reason is kept"
    assert "reads string tensor 'copy:0'" in verdicts["shape"].reason
    assert not verdicts["handle"].supported
    assert "unknown rank" in verdicts["relu"].reason and "unknown rank" in verdicts["neg"].reason
    assert verdicts["abs"].supported, "Shape's int32 output is numeric: its reader may enter a segment"


@pytest.mark.parametrize("op", ["FakeQuantWithMinMaxVars", "FakeQuantWithMinMaxArgs", "QuantizeAndDequantizeV2", "QuantizeAndDequantizeV4"])
def test_quantization_ops_go_to_tensorrt_only_at_int8(op: str) -> None:
    quant = node(op, "q", ("x",), T=FLOAT) if op.startswith("Quantize") else node(op, "q", ("x",))
    for precision in ("fp32", "fp16"):
        verdict = rule_verdict(quant, precision)
        assert not verdict.supported and "only at precision int8" in verdict.reason and f"precision={precision}" in verdict.reason
    assert rule_verdict(quant, "int8").supported
    graph = graph_of(node("Placeholder", "x", dtype=FLOAT), quant)
    assert not classify(graph, opset=None)["q"].supported
    assert classify(graph, opset=None, precision="int8")["q"].supported


def test_erfc_joins_a_segment_only_inside_exact_gelu() -> None:
    """tf.nn.gelu's erfc(-x/sqrt(2)) goes to TensorRT; a lone Erfc stays in TensorFlow, as in TF-TRT."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None, 4])])
    def graph(x):
        return tf.nn.gelu(x) + tf.math.erfc(x, name="lone")

    graph_def = graph.get_concrete_function().graph.as_graph_def()
    verdicts = classify(graph_def, opset=None)
    gelu = next(n.name for n in graph_def.node if n.op == "Erfc" and n.name != "lone")
    assert verdicts[gelu].supported and "GELU" in verdicts[gelu].reason
    assert not verdicts["lone"].supported
