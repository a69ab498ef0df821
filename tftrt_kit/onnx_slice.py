"""Cut a sub-model out of an ONNX model by tensor names.

The segment route converts the union of its segments in one tf2onnx pass and cuts
each segment out of the result: the nodes between the segment's input tensors and
its output tensors, the initializers they read, and the inputs' and outputs' types
as the whole model declares them. Unlike ``onnx.utils.Extractor`` this runs no shape
inference over the whole model (a full copy of the weights, and a failure past
2 GiB) and reads each initializer only for the slice that uses it.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from tftrt_kit.errors import ExportError


def missing_tensors(model: Any, names: Iterable[str]) -> list[str]:
    """The ``names`` that are neither inputs of ``model`` nor produced by one of its nodes."""
    known = {i.name for i in model.graph.input}
    known.update(out for node in model.graph.node for out in node.output)
    return [name for name in names if name not in known]


def slice_model(model: Any, inputs: Sequence[str], outputs: Sequence[str], name: str) -> Any:
    """The sub-model of ``model`` computing ``outputs`` from ``inputs``.

    Args:
        model: An ``onnx.ModelProto`` whose graph inputs and outputs declare the types of
            ``inputs`` and ``outputs`` (a tf2onnx export of the union of the slices).
        inputs: Tensor names the slice is fed.
        outputs: Tensor names it computes.
        name: Graph name of the slice.

    Returns:
        A new ``onnx.ModelProto`` with the same opsets.

    Raises:
        ExportError: a name is missing from ``model``, or ``outputs`` depend on a graph
            input other than ``inputs`` (the cut is not closed).
    """
    import onnx

    graph = model.graph
    missing = missing_tensors(model, [*inputs, *outputs])
    if missing:
        raise ExportError(f"Expected tensors {missing} in the ONNX model to cut {name!r} at. Received: a model without them.")
    producer = {out: index for index, node in enumerate(graph.node) for out in node.output}
    declared = {v.name: v for v in (*graph.input, *graph.output, *graph.value_info)}
    graph_inputs = {i.name for i in graph.input}
    stop = set(inputs)
    keep: set[int] = set()
    stack = [producer[o] for o in outputs if o not in stop]
    while stack:
        index = stack.pop()
        if index in keep:
            continue
        keep.add(index)
        for tensor in _reads(graph.node[index]):
            if tensor in stop:
                continue
            if tensor in producer:
                stack.append(producer[tensor])
            elif tensor in graph_inputs:
                raise ExportError(f"Expected the outputs of {name!r} to depend only on {list(inputs)}. Received: they read graph input {tensor!r}.")
    nodes = [graph.node[i] for i in sorted(keep)]
    read = {t for node in nodes for t in _reads(node)}
    produced = {t for node in nodes for t in node.output}
    undeclared = [t for t in (*inputs, *outputs) if t not in declared]
    if undeclared:
        raise ExportError(f"Expected the ONNX model to declare the types of {undeclared}. Received: no value_info for them.")
    sliced = onnx.helper.make_graph(
        nodes,
        name,
        [declared[t] for t in inputs],
        [declared[t] for t in outputs],
        initializer=[init for init in graph.initializer if init.name in read],
        value_info=[v for v in graph.value_info if v.name in produced and v.name not in outputs],
    )
    result = onnx.helper.make_model(sliced, opset_imports=list(model.opset_import), producer_name=model.producer_name)
    result.ir_version = model.ir_version
    return result


def _reads(node: Any) -> list[str]:
    """Tensors ``node`` reads, those its subgraphs (If/Loop bodies) read from the outer scope included."""
    import onnx

    reads = [t for t in node.input if t]
    for attribute in node.attribute:
        graphs = [attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else list(attribute.graphs)
        for body in graphs:
            inner = {i.name for i in body.input} | {i.name for i in body.initializer}
            inner.update(out for n in body.node for out in n.output)
            reads.extend(t for n in body.node for t in _reads(n) if t not in inner)
    return reads
