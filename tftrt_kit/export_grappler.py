"""tf2onnx's grappler pass, run on a large graph without its weights.

Before converting, tf2onnx runs TensorFlow's grappler (constant folding, function
inlining, dependency pruning) over the frozen graph. Grappler copies the graph, weights
included, several times (meta graph, serialization, its item, each optimizer): for
VGG16's 553 MB of weights the pass peaked about 7 GiB above the rest of the conversion,
and a graph over protobuf's 2 GiB cannot be serialized at all. So a large graph comes
weightless (:mod:`tftrt_kit.graph_weights`), and during the pass each weight is a
Placeholder of its dtype and shape (a weightless Const would be folded as zeros); the
weightless Const is put back in the optimized graph under its own name. What grappler
would have folded from a weight: a Cast or Transpose of weights onnx-graphsurgeon folds
after tf2onnx (:func:`tftrt_kit.export.finish_export`); a batch-norm scale grappler
would multiply into the convolution's weights stays a Mul after the Conv (same outputs;
TensorRT fuses it). Small graphs keep grappler's full pass.
"""

from __future__ import annotations

from typing import Any, Sequence


def optimize(inputs: Sequence[str], outputs: Sequence[str], graph_def: Any, weights: Any = None) -> Any:
    """tf2onnx's ``tf_optimize`` of ``graph_def``; the Consts named in ``weights`` (a :class:`Weights`) as Placeholders meanwhile."""
    from tf2onnx import tf_loader

    from tftrt_kit.graph_weights import named, put_back, without_weights

    if weights is None:
        return tf_loader.tf_optimize(list(inputs), list(outputs), graph_def)
    stripped, consts = without_weights(graph_def, named(weights.names))
    optimized = tf_loader.tf_optimize(list(inputs), list(outputs), stripped)
    del stripped
    return put_back(optimized, consts)
