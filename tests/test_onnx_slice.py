"""Cutting a sub-model out of an ONNX model by tensor names."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tftrt_kit.errors import ExportError
from tftrt_kit.onnx_slice import slice_model


def _model():
    """x -> Relu -> a -> Add(w) -> b -> Neg -> y, with a second input z feeding y2 = b * z."""
    w = numpy_helper.from_array(np.arange(4, dtype=np.float32), "w")
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="relu"),
        helper.make_node("Add", ["a", "w"], ["b"], name="add"),
        helper.make_node("Neg", ["b"], ["y"], name="neg"),
        helper.make_node("Mul", ["b", "z"], ["y2"], name="mul"),
    ]
    f = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n", 4])  # noqa: E731
    graph = helper.make_graph(nodes, "g", [f("x"), f("z")], [f("a"), f("b"), f("y"), f("y2")], initializer=[w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_slice_runs_like_the_whole_between_its_tensors():
    model = _model()
    part = slice_model(model, ["a"], ["y"], "part")
    onnx.checker.check_model(part)
    assert [n.name for n in part.graph.node] == ["add", "neg"] and [i.name for i in part.graph.initializer] == ["w"]
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    (y,) = ort.InferenceSession(part.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"a": a})
    np.testing.assert_array_equal(y, -(a + np.arange(4, dtype=np.float32)))


def test_missing_names_and_open_cuts_are_refused():
    model = _model()
    with pytest.raises(ExportError, match="nowhere:0"):
        slice_model(model, ["nowhere:0"], ["y"], "part")
    with pytest.raises(ExportError, match="graph input 'z'"):
        slice_model(model, ["a"], ["y2"], "part")
