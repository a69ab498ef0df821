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


class _Cycle:
    def __init__(self):
        self.me = self


def test_collections_inside_the_block_skip_older_objects_only():
    import gc
    import weakref

    from tftrt_kit._memory import collections_skip_existing_objects

    older = _Cycle()
    with collections_skip_existing_objects():
        assert gc.get_freeze_count() > 0
        older_ref = weakref.ref(older)
        del older
        newer = _Cycle()
        newer_ref = weakref.ref(newer)
        del newer
        gc.collect()
        assert newer_ref() is None  # made inside: collected as usual
        assert older_ref() is not None  # older cycle: waits for the block's end
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert older_ref() is None


def test_a_process_own_freeze_is_left_alone():
    import gc

    from tftrt_kit._memory import collections_skip_existing_objects

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collections_skip_existing_objects():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_convert_leaves_the_collector_as_it_found_it(saved_model, tmp_path):
    import gc

    import tftrt_kit

    report = tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), output_dir=tmp_path, build_plans=False, benchmark=False)
    assert report.routes["onnx"].ok and gc.get_freeze_count() == 0 and gc.isenabled()
