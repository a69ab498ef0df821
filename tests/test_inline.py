"""tftrt_kit.inline: calls Keras marks jit_compile / _noinline are inlined; a Grappler failure keeps them whole."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from tftrt_kit.inline import has_calls, inline_calls


@pytest.fixture(scope="module")
def frozen():
    class Module(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.eye(4, dtype=np.float32))

        @tf.function(jit_compile=True)
        def compiled(self, x):
            return tf.matmul(x, self.w)

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def __call__(self, x):
            return {"y": tf.nn.relu(self.compiled(x - 0.5))}

    module = Module()
    function = convert_variables_to_constants_v2(module.__call__.get_concrete_function(), lower_control_flow=False)
    return function.graph.as_graph_def(), [t.name for t in (*function.inputs, *function.outputs)]


def test_marked_calls_are_inlined(frozen):
    graph_def, fetches = frozen
    assert has_calls(graph_def)
    inlined = inline_calls(graph_def, fetches)
    assert not has_calls(inlined) and {"MatMul", "Relu"} <= {n.op for n in inlined.node}
    assert has_calls(graph_def), "the input graph is not modified"


def test_grappler_failure_keeps_the_calls_whole(frozen, monkeypatch):
    from tensorflow.python.grappler import tf_optimizer

    def refuse(*args, **kwargs):
        raise RuntimeError("grappler refused")

    monkeypatch.setattr(tf_optimizer, "OptimizeGraph", refuse)
    graph_def, fetches = frozen
    assert inline_calls(graph_def, fetches) is graph_def
