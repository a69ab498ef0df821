"""The ONNX Runtime executor's session: threads that sleep when idle, so executors measured in turn do not slow each other."""

import onnx
from onnx import TensorProto, helper

from tftrt_kit.engines.onnxruntime import OnnxRuntimeExecutor


def _relu_model() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_idle_threads_do_not_spin():
    options = OnnxRuntimeExecutor(_relu_model()).session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
