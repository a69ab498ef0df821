"""Export to ONNX: parity with TensorFlow on ONNX Runtime, names, dynamic batch, foreign ops."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import tensorflow as tf

import tftrt_kit
from tftrt_kit.engines.onnxruntime import OnnxRuntimeExecutor
from tftrt_kit.errors import ExportError, UnsupportedOpError
from tftrt_kit.evaluate import compare, sample_inputs
from tftrt_kit.export import ExportOptions, convert_to_fp16, export_source
from tftrt_kit.onnx_checks import foreign_nodes
from tftrt_kit.routes.base import RouteContext
from tftrt_kit.routes.segment import SegmentRoute
from tftrt_kit.source import load_source


@pytest.fixture(scope="module")
def exported(source_of):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = export_source(source_of(name))
        return cache[name]

    return get


@pytest.mark.parametrize("name", ["small_cnn", "attention_block", "two_inputs_two_outputs", "mobilenet_v2"])
def test_onnx_runtime_matches_tensorflow(source_of, exported, name):
    source, model = source_of(name), exported(name)
    onnx.checker.check_model(model)
    assert foreign_nodes(model) == []
    feeds = sample_inputs(source.inputs, batch=2, seed=3)
    accuracy = compare(source.run(feeds), OnnxRuntimeExecutor(model)(feeds), executor="onnxruntime")
    assert accuracy.max_rel_error <= 1e-4, accuracy
    assert accuracy.cosine > 0.99999


def test_names_kept_and_batch_dynamic(source_of, exported):
    source, model = source_of("two_inputs_two_outputs"), exported("two_inputs_two_outputs")
    assert sorted(i.name for i in model.graph.input) == ["aux", "img"]
    assert sorted(o.name for o in model.graph.output) == ["output_0", "output_1"]
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param and not dims[0].HasField("dim_value")
        assert all(d.HasField("dim_value") for d in dims[1:])
    run = OnnxRuntimeExecutor(model)
    for batch in (1, 4):
        feeds = sample_inputs(source.inputs, batch=batch, seed=batch)
        outputs = run(feeds)
        assert outputs["output_0"].shape == (batch, 3)
        np.testing.assert_allclose(outputs["output_1"], source.run(feeds)["output_1"], rtol=1e-5, atol=1e-5)


def test_opset_is_configurable(source_of):
    model = export_source(source_of("small_cnn"), ExportOptions(opset=13))
    assert {o.domain: o.version for o in model.opset_import}[""] == 13


def test_fp16_copy_keeps_float32_io_and_stays_close(source_of, exported):
    source = source_of("small_cnn")
    half = convert_to_fp16(exported("small_cnn"))
    assert half.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(init.data_type == onnx.TensorProto.FLOAT16 for init in half.graph.initializer)
    feeds = sample_inputs(source.inputs, batch=2, seed=0)
    accuracy = compare(source.run(feeds), OnnxRuntimeExecutor(half)(feeds), executor="onnxruntime")
    assert 0 < accuracy.max_rel_error < 1e-2


def test_tensorflow_op_left_in_graph_is_named(tmp_path):
    class LogGamma(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def __call__(self, x):
            return {"y": tf.math.lgamma(tf.nn.relu(x) + 1.0) * 2.0}

    module = LogGamma()
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.__call__})
    with pytest.raises(UnsupportedOpError, match=r"Lgamma \(TF node '[^']*Lgamma[^']*'\)") as caught:
        export_source(load_source(tmp_path))
    assert [op for op, _ in caught.value.ops] == ["Lgamma"]


def test_xla_call_left_in_a_graph_is_named_before_constant_folding(tmp_path):
    """A jit_compile call tf2onnx cannot convert is named with its node; folding (UnicodeDecodeError) never sees it."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from tftrt_kit.export import export_graph

    class Module(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.ones((4, 4), np.float32))

        @tf.function(jit_compile=True)
        def compiled(self, x):
            return tf.matmul(x, self.w)

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def __call__(self, x):
            return {"y": tf.nn.relu(self.compiled(x + 1.0))}

    module = Module()
    frozen = convert_variables_to_constants_v2(module.__call__.get_concrete_function(), lower_control_flow=False)
    graph_def = frozen.graph.as_graph_def()
    calls = [n.name for n in graph_def.node if n.op == "StatefulPartitionedCall"]
    assert calls, "freezing keeps the _XlaMustCompile call"
    with pytest.raises(UnsupportedOpError, match="StatefulPartitionedCall") as raised:
        export_graph(graph_def, [t.name for t in frozen.inputs], [t.name for t in frozen.outputs])
    assert [node for _, node in raised.value.ops] == calls


def test_an_output_whose_rank_tf2onnx_changed_is_noticed():
    """tf2onnx's reshape optimizer sometimes drops a Squeeze (TF-TRT's DynamicInputShapes graph): caught by rank."""
    from onnx import TensorProto, helper

    from tftrt_kit.export import _rank_changed

    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, None, None, None, 1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["output"])], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, None, None, None, 1])], [output])
    model = helper.make_model(graph)
    assert _rank_changed(model, {"output": 4})
    assert not _rank_changed(model, {"output": 5}) and not _rank_changed(model, {"output": None})


def _half_done_rewriter(g, ops):
    """Like tf2onnx's conv2d_with_pad rewriter failing after it re-wired a Conv past its Pad (stop 21's defect)."""
    for node in ops:
        if node.type == "Conv2D" and node.inputs[0].type == "Pad":
            g.replace_input(node, node.input[0], node.inputs[0].input[0], 0)
            raise KeyError("kernel_shape")
    return ops


def test_a_rewriter_that_fails_half_way_fails_the_export_and_sends_the_segment_back(source_of, monkeypatch, tmp_path):
    """tf2onnx logs a failed rewriter and goes on with the graph as it was left: here a Conv without its padding."""
    import tf2onnx.tfonnx

    source = source_of("padded_conv")
    monkeypatch.setattr(tf2onnx.tfonnx, "rewrite_conv2d_with_pad", _half_done_rewriter)
    with pytest.raises(ExportError, match=r"^Expected tf2onnx's graph rewriters to finish. Received: rewriter _half_done_rewriter raised KeyError"):
        export_source(source)
    result = SegmentRoute()(source, RouteContext(output_dir=tmp_path))
    assert result.coverage == 0.0 and not result.segments
    assert {f.op_type for f in result.fallbacks} >= {"Pad", "Conv2D"}
    assert all("rewriter _half_done_rewriter raised KeyError" in f.reason for f in result.fallbacks), result.fallbacks
    feeds = sample_inputs(source.inputs, batch=2, seed=0)
    assert compare(source.run(feeds), tftrt_kit.load(result.artifact_dir)(feeds), executor="tensorflow").max_rel_error <= 1e-5
