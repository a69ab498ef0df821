"""A frozen GraphDef without its weights: large constants become placeholders of their dtype and shape.

Shape and dtype inference, and graph passes that never read weight values, see the
same graph while holding no copy of the weights.
"""

from __future__ import annotations

from typing import Any, Callable


def without_weights(graph_def: Any, is_weight: Callable[[Any], bool]) -> tuple[Any, dict[str, Any]]:
    """A copy of ``graph_def`` whose Const nodes passing ``is_weight`` are Placeholders, and those Consts by name.

    A placeholder keeps its Const's name, device, control inputs, dtype and shape.
    """
    from tensorflow.core.framework import graph_pb2

    light = graph_pb2.GraphDef()
    light.versions.CopyFrom(graph_def.versions)
    light.library.CopyFrom(graph_def.library)
    weights = {}
    for node in graph_def.node:
        if node.op == "Const" and is_weight(node):
            control = [i for i in node.input if i.startswith("^")]
            placeholder = light.node.add(name=node.name, op="Placeholder", device=node.device, input=control)
            placeholder.attr["dtype"].CopyFrom(node.attr["dtype"])
            placeholder.attr["shape"].shape.CopyFrom(node.attr["value"].tensor.tensor_shape)
            weights[node.name] = node
        else:
            light.node.add().CopyFrom(node)
    return light, weights


def elements_over(count: int) -> Callable[[Any], bool]:
    """``is_weight`` for :func:`without_weights`: a Const of more than ``count`` elements."""

    def is_weight(node: Any) -> bool:
        total = 1
        for dim in node.attr["value"].tensor.tensor_shape.dim:
            total *= max(dim.size, 0)
        return total > count

    return is_weight


#: The weights a shape-and-dtype import leaves out: Consts of more than 1024 elements.
#: Shape inference reads constant values only of small tensors (shapes, axes, sizes).
LARGE_CONSTS = elements_over(1024)
