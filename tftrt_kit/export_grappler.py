"""tf2onnx's grappler pass, run on a large graph without its weights.

Before converting, tf2onnx runs TensorFlow's grappler (constant folding, function
inlining, dependency pruning) over the frozen graph. Grappler copies the graph, weights
included, several times (meta graph, serialization, its item, each optimizer): for
VGG16's 553 MB of weights the pass peaked about 7 GiB above the rest of the conversion.
So for a large graph, during the pass each large weight is a Placeholder of its dtype
and shape, and the weight is put back in the optimized graph under its own name. What
grappler would have folded from it: a Cast or Transpose of weights onnx-graphsurgeon
folds after tf2onnx (:func:`tftrt_kit.export.finish_export`); a batch-norm scale grappler
would multiply into the convolution's weights stays a Mul after the Conv (same outputs;
TensorRT fuses it). Small graphs keep grappler's full pass.
"""

from __future__ import annotations

from typing import Any, Sequence

#: A Const holding at least this many bytes is left out of grappler's pass.
WEIGHT_BYTES = 1 << 20


def optimize(inputs: Sequence[str], outputs: Sequence[str], graph_def: Any, weightless: bool, weight_bytes: int | None = None) -> Any:
    """tf2onnx's ``tf_optimize`` of ``graph_def``; without its weights when ``weightless``.

    A weight is a Const of at least ``weight_bytes`` (default :data:`WEIGHT_BYTES`).
    """
    from tf2onnx import tf_loader

    if not weightless:
        return tf_loader.tf_optimize(list(inputs), list(outputs), graph_def)
    stripped, weights = strip_weights(graph_def, WEIGHT_BYTES if weight_bytes is None else weight_bytes)
    optimized = tf_loader.tf_optimize(list(inputs), list(outputs), stripped)
    del stripped
    for node in optimized.node:
        if node.op == "Placeholder" and node.name in weights:
            node.CopyFrom(weights[node.name])
    return optimized


def strip_weights(graph_def: Any, weight_bytes: int = WEIGHT_BYTES) -> tuple[Any, dict[str, Any]]:
    """A copy of ``graph_def`` whose input-less Consts of ``weight_bytes`` or more are Placeholders, and those Consts by name."""
    from tftrt_kit.graph_weights import without_weights

    return without_weights(graph_def, lambda node: not node.input and len(node.attr["value"].tensor.tensor_content) >= weight_bytes)
