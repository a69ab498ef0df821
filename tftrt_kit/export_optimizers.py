"""tf2onnx's ONNX optimizers and model making, holding a large graph's weights once.

tf2onnx keeps each constant's value twice: in the node's attributes (``Node.attr``)
and in its ``NodeProto`` (``Node.op``), where every optimizer rewrites all attributes
(``update_proto``); protobuf's arena keeps each rewritten copy until that
``NodeProto`` dies. ``optimize_graph(catch_errors=True)`` also deep-copies the graph,
weights included, before each optimizer (the copy it falls back on if the optimizer
raises), and the graph it drops waits for the cyclic collector. Then ``make_model``
copies the weights twice more (a ``GraphProto``, then the ``ModelProto``) while the
graph lives. For VGG16 (553 MB of weights) that was 7 copies at once.

For a large graph the same optimizers run here, in tf2onnx's order and with its
fallback, on copies that share each constant's value attribute instead of copying
it (tf2onnx's optimizers replace a constant's value, ``Node.set_tensor_value``,
never edit it) and whose constants' ``NodeProto`` are emptied first (the next
``update_proto`` rewrites them from ``Node.attr``); each dropped copy is collected
before the next one is made. The model is made with weightless constants, and the
weights go into its initializers once tf2onnx's graph is gone. Same model, field
for field. Small graphs take tf2onnx's own path.
"""

from __future__ import annotations

import copy
import gc
import logging
from typing import Any, Iterator, Mapping

#: Prefix of the external-data location marking a weight taken out of a constant.
_LOCATION = "tftrt_kit_weight_"


def optimized_model(graphs: list, optimizers: Mapping[str, Any], doc: str, large: bool) -> Any:
    """tf2onnx's ``optimize_graph(catch_errors=True)`` then ``make_model(doc)``; the weights held once when ``large``.

    Args:
        graphs: A list holding the tf2onnx ``Graph`` (taken out of it: a caller's own
            reference would keep the graph's copies of the weights alive to the end).
        optimizers: Name -> optimizer factory, in the order to run them.
        doc: The model's ``doc_string``.
        large: Whether the graph's weights are large (``Source.large_graph``).

    Returns:
        The ``onnx.ModelProto``.
    """
    from tf2onnx import optimizer

    graph = graphs.pop()
    if not large:
        return optimizer.optimize_graph(graph, catch_errors=True, optimizers=optimizers).make_model(doc)
    logger = logging.getLogger("tf2onnx.optimizer")
    graph = _light_copy(graph, detach=True)
    gc.collect()
    changed, iteration = True, 0
    while changed:
        changed = False
        for name, factory in optimizers.items():
            backup = graph
            graph = _light_copy(backup)
            gc.collect()  # the graph before ``backup``, and the NodeProtos it rewrote
            try:
                opt = factory()
                graph = opt.optimize(graph, iteration) or backup
                changed = changed or opt.graph_been_opt
            except Exception:  # noqa: BLE001 - as tf2onnx: a failing optimizer is skipped
                logger.warning("Failed to apply %s", name, exc_info=True)
                graph = backup
            del backup
        iteration += 1
    try:
        graph.topological_sort(graph.get_nodes())
    except Exception:  # noqa: BLE001 - as tf2onnx: the graph keeps its order
        logger.warning("Failed topological_sort", exc_info=True)
    weights = _take_weights(graph)
    model = graph.make_model(doc)
    del graph
    gc.collect()
    _put_weights_back(model, weights)
    return model


def _take_weights(graph: Any) -> dict[str, Any]:
    """Location -> value attribute of each constant of ``graph``, replaced there by a weightless reference to it."""
    weights: dict[str, Any] = {}
    for node in _weight_nodes(graph):
        value = node.attr["value"]
        location = f"{_LOCATION}{len(weights)}"
        weights[location] = value
        node.set_attr_onnx(_weightless(value, location))
    return weights


def _put_weights_back(model: Any, weights: dict[str, Any]) -> None:
    """Fill ``model``'s weightless tensors from ``weights``, emptied as it goes (each value dropped once copied)."""
    import onnx

    from tftrt_kit.onnx_files import graph_tensors

    for tensor in graph_tensors(model.graph):
        location = next((e.value for e in tensor.external_data if e.key == "location"), None)
        if tensor.data_location != onnx.TensorProto.EXTERNAL or location not in weights:
            continue
        name = tensor.name
        tensor.CopyFrom(weights.pop(location).t)
        tensor.name = name  # tf2onnx names an initializer after its constant's output


def _light_copy(graph: Any, detach: bool = False) -> Any:
    """A deep copy of ``graph`` sharing its constants' values; their ``NodeProto`` are emptied first.

    ``detach``: the copy gets its own copy of each value, so nothing it holds keeps a
    ``NodeProto`` of ``graph`` (and the weights rewritten into it) alive.
    """
    memo: dict[int, Any] = {}
    for node in _const_nodes(graph):
        value = node.attr.get("value")
        if value is not None:
            memo[id(value)] = copy.deepcopy(value) if detach else value
        del node.op.attribute[:]
    return copy.deepcopy(graph, memo)


def _const_nodes(graph: Any) -> Iterator[Any]:
    for node in graph.get_nodes():
        if node.is_const():
            yield node
        for body in (node.get_body_graphs() or {}).values():
            yield from _const_nodes(body)


def _weight_nodes(graph: Any) -> Iterator[Any]:
    """Constants whose value can leave the graph: not the default of a ``PlaceholderWithDefault``, which ``make_graph`` reads."""
    defaults = {i for n in graph.get_nodes() if n.type == "PlaceholderWithDefault" for i in n.input[:1]}
    for node in _const_nodes(graph):
        if node.output[0] not in defaults and "value" in node.attr:
            yield node


def _weightless(value: Any, location: str) -> Any:
    """A tensor attribute like ``value`` (name, dtype, dims) whose data is at external ``location``."""
    import onnx

    light = onnx.AttributeProto(name=value.name, type=value.type)
    light.t.name, light.t.data_type = value.t.name, value.t.data_type
    light.t.dims.extend(value.t.dims)
    light.t.data_location = onnx.TensorProto.EXTERNAL
    light.t.external_data.add(key="location", value=location)
    return light
