"""The eager collection of dropped weight copies applies to large graphs only."""

from __future__ import annotations

import numpy as np
from tensorflow.core.framework import graph_pb2

from tftrt_kit._memory import LARGE_GRAPH_BYTES, is_large


def _graph_with_weights(nbytes: int) -> graph_pb2.GraphDef:
    graph = graph_pb2.GraphDef()
    node = graph.node.add(name="w", op="Const")
    node.attr["value"].tensor.tensor_content = np.zeros(nbytes, np.uint8).tobytes()
    return graph


def test_only_a_graph_above_the_threshold_is_large():
    assert not is_large(_graph_with_weights(1 << 20))
    assert is_large(_graph_with_weights(LARGE_GRAPH_BYTES + 1))


def test_a_source_sizes_its_graph_once(monkeypatch):
    import tftrt_kit.source as source_module
    from tftrt_kit.source import Source

    calls = []
    monkeypatch.setattr(source_module, "is_large", lambda graph_def: calls.append(graph_def) or False)
    source = Source("test", None, "serving_default", ("serving_default",), (), (), _graph_with_weights(16), (), ())
    assert source.large_graph is False and source.large_graph is False
    assert len(calls) == 1
