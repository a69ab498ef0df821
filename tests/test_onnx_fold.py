"""Folding a large model in place, without the weights no folding reads: the same model as graphsurgeon's own fold."""

from __future__ import annotations

import copy

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import tftrt_kit._memory
from tftrt_kit import onnx_fold


def _weights_model() -> onnx.ModelProto:
    """relu(reshape((x @ W + b) @ Transpose(V), Shape(...))): V is read by folding (a Transpose of a constant), W is not."""
    rng = np.random.default_rng(0)
    initializers = [
        numpy_helper.from_array(rng.random((64, 128), dtype=np.float32), "W"),
        numpy_helper.from_array(rng.random((32, 128), dtype=np.float32), "V"),
        numpy_helper.from_array(rng.random((128,), dtype=np.float32), "b"),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["h"]),
        helper.make_node("Transpose", ["V"], ["vt"], perm=[1, 0]),
        helper.make_node("MatMul", ["h", "vt"], ["y0"]),
        helper.make_node("Shape", ["y0"], ["shape"]),
        helper.make_node("Reshape", ["y0", "shape"], ["y1"]),
        helper.make_node("Relu", ["y1"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 32])], initializer=initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="test")


def _both(model, monkeypatch, weight_bytes):
    """(graphsurgeon's fold of a copy, the in-place fold of another copy, that copy)."""
    monkeypatch.setattr(onnx_fold, "WEIGHT_BYTES", weight_bytes)
    whole = onnx_fold.fold_constants(copy.deepcopy(model), keep_qdq=False)
    monkeypatch.setattr(tftrt_kit._memory, "LARGE_GRAPH_BYTES", 0)
    original = copy.deepcopy(model)
    return whole, onnx_fold.fold_constants(original, keep_qdq=False), original


def _assert_same_model(got, want):
    by_name = lambda m: {t.name: t.SerializeToString(deterministic=True) for t in m.graph.initializer}  # noqa: E731
    assert by_name(got) == by_name(want)
    assert len(got.graph.initializer) == len(want.graph.initializer)
    strip = lambda m: _without_initializers(m).SerializeToString(deterministic=True)  # noqa: E731
    assert strip(got) == strip(want)


def _without_initializers(model):
    light = copy.deepcopy(model)
    del light.graph.initializer[:]
    return light


def _run(model, feeds):
    import onnxruntime as ort

    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def test_only_weights_no_folding_reads_are_left_out(monkeypatch):
    monkeypatch.setattr(onnx_fold, "WEIGHT_BYTES", 1024)
    assert onnx_fold._foldable_weights(_weights_model()) == {"W"}  # V feeds a Transpose of constants; b is small


def test_large_model_is_folded_in_place_to_the_same_model(monkeypatch):
    whole, folded, original = _both(_weights_model(), monkeypatch, weight_bytes=1024)
    assert folded is original
    assert "vt" not in {n.output[0] for n in folded.graph.node}  # the Transpose of V was folded
    _assert_same_model(folded, whole)
    onnx.checker.check_model(folded, full_check=True)
    x = np.random.default_rng(1).random((4, 64), dtype=np.float32)
    np.testing.assert_array_equal(_run(folded, {"x": x})[0], _run(whole, {"x": x})[0])


def test_real_export_is_folded_in_place_to_the_same_model(source_of, monkeypatch):
    from tftrt_kit.export import convert_traced

    source = source_of("mobilenet_v2")
    model = convert_traced(source.graph_def, list(source.input_tensors), list(source.output_tensors)).model
    whole, folded, _ = _both(model, monkeypatch, weight_bytes=4096)
    assert onnx_fold._foldable_weights(model)
    _assert_same_model(folded, whole)
    x = np.random.default_rng(1).random((2, 224, 224, 3), dtype=np.float32)
    feeds = {source.input_tensors[0]: x}
    np.testing.assert_array_equal(_run(folded, feeds)[0], _run(whole, feeds)[0])
