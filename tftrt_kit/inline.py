"""Inline the function calls freezing leaves in a graph, so TensorRT sees their bodies.

``convert_variables_to_constants_v2`` inlines calls through Grappler's function
optimizer, which skips a call marked ``_noinline`` or ``_XlaMustCompile``: Keras 3
runs grouped convolutions through ``tf.function(jit_compile=True)``, and ConvNeXt's
frozen graph keeps 18 such ``StatefulPartitionedCall`` nodes, each an opaque island
for the segment route and an unconvertible node for tf2onnx. Those marks ask for
XLA compilation or a separate function at run time; inlining changes neither what
the call computes nor the graph's inputs and outputs, so they are dropped and the
same optimizer runs again. A call it still cannot inline stays one node, and the
segment route keeps it in TensorFlow (the fallback table says why).
"""

from __future__ import annotations

from typing import Any, Sequence

#: Op types of a function call node.
CALL_OPS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})

#: Marks that stop Grappler from inlining a call (on the call node or on the FunctionDef).
_NO_INLINE_MARKS = ("_noinline", "_XlaMustCompile", "api_implements")


def has_calls(graph_def: Any) -> bool:
    """Whether a top-level node of ``graph_def`` calls a function."""
    return any(node.op in CALL_OPS for node in graph_def.node)


def inline_calls(graph_def: Any, fetches: Sequence[str]) -> Any:
    """``graph_def`` with its top-level function calls inlined where Grappler can.

    Args:
        graph_def: A frozen ``GraphDef`` (not modified).
        fetches: Tensor names that must survive (the graph's inputs and outputs).

    Returns:
        ``graph_def`` itself when it holds no call, or when Grappler fails or drops a
        fetched tensor (the calls then stay whole, in TensorFlow); else the rewritten
        graph (functional control flow is left whole: ``While``/``If`` keep
        ``_lower_using_switch_merge``).
    """
    if not has_calls(graph_def):
        return graph_def
    import tensorflow as tf
    from tensorflow.core.protobuf import config_pb2, meta_graph_pb2, rewriter_config_pb2
    from tensorflow.python.grappler import tf_optimizer
    from tensorflow.python.training.saver import export_meta_graph

    unmarked = graph_def.__class__()
    unmarked.CopyFrom(graph_def)
    for function in unmarked.library.function:
        for mark in _NO_INLINE_MARKS:
            if mark in function.attr:
                del function.attr[mark]
    for node in unmarked.node:
        if node.op in CALL_OPS:
            for mark in _NO_INLINE_MARKS:
                if mark in node.attr:
                    del node.attr[mark]
    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(unmarked, name="")
    meta_graph = export_meta_graph(graph_def=unmarked, graph=graph)
    # Grappler keeps what the "train_op" collection names, as convert_to_constants does.
    keep = meta_graph_pb2.CollectionDef()
    keep.node_list.value.extend(fetches)
    meta_graph.collection_def["train_op"].CopyFrom(keep)
    config = config_pb2.ConfigProto()
    rewrite = config.graph_options.rewrite_options
    rewrite.min_graph_nodes = -1
    rewrite.optimizers.append("function")
    rewrite.function_optimization = rewriter_config_pb2.RewriterConfig.AGGRESSIVE
    try:
        inlined = tf_optimizer.OptimizeGraph(config, meta_graph)
    except Exception:  # Grappler's own failure: inlining is an optimization, the calls stay whole
        return graph_def
    names = {node.name for node in inlined.node}
    return inlined if all(fetch.split(":")[0] in names for fetch in fetches) else graph_def
