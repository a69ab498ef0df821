"""Constant folding of an ONNX model (onnx-graphsurgeon), a large model's weights left in place.

graphsurgeon imports a model, folds it and exports a new one: at the end the weights
were held three times (the model, the exported ``GraphProto``, the new ``ModelProto``),
and the caller's model stayed alive beside the result. A large model (tensors over
:data:`tftrt_kit._memory.LARGE_GRAPH_BYTES`) is folded here without the weights no
folding can read, standing in as valueless tensors, and the folded graph is written
back into the model itself around the weights it keeps: nodes, inputs, outputs and
the other tensors replaced, the weights not copied. The result equals graphsurgeon's
own, except that the kept weights come first among the initializers, in their order.

A weight folding could read is one read by a node whose inputs may all be constant
(initializers, ``Constant``, and ``Shape``/``Size`` outputs graphsurgeon may fold from
static shapes), or by a node graphsurgeon's cast elision may rewrite: those stay in.
"""

from __future__ import annotations

from typing import Any

from tftrt_kit.onnx_files import copy_fields, needs_external_data, numeric_bytes, tensor_bytes

#: A tensor holding at least this many bytes is a weight that may stay out of folding.
WEIGHT_BYTES = 1 << 20

#: graphsurgeon's ops whose constant inputs its cast elision may rewrite.
_CAST_ELISION_OPS = frozenset({"Add", "Sub", "Mul", "Div", "Max", "Min", "Equal", "Greater", "Less", "Concat"})

#: Marks a tensor standing for a weight left out of folding.
_STAND_IN = "tftrt_kit_weight_left_out"


def fold_constants(model: Any, keep_qdq: bool) -> Any:
    """``model`` with its constant subgraphs folded (graphsurgeon, errors tolerated).

    A large model is folded in place (the returned model is ``model``); a small one
    into a new model.

    Args:
        model: An ``onnx.ModelProto``.
        keep_qdq: Leave QuantizeLinear nodes unfolded (explicit quantization).
    """
    from tftrt_kit._memory import LARGE_GRAPH_BYTES

    left_out = _foldable_weights(model) if tensor_bytes(model) > LARGE_GRAPH_BYTES else set()
    if not left_out:
        return _folded(model, keep_qdq)
    folded = _folded(_without(model, left_out), keep_qdq)
    _write_back(model, folded, left_out)
    return model


def _folded(model: Any, keep_qdq: bool) -> Any:
    import onnx_graphsurgeon as gs

    # graphsurgeon runs the foldable part on ONNX Runtime from bytes: a model over
    # 2 GiB is folded one partition at a time (each serialized alone), not whole.
    partitioning = "basic" if needs_external_data(model) else None
    graph = gs.import_onnx(model)
    exclude = (lambda node: node.op == "QuantizeLinear") if keep_qdq else None
    graph.fold_constants(should_exclude_node=exclude, error_ok=True, partitioning=partitioning).cleanup().toposort()
    folded = gs.export_onnx(graph)
    del folded.opset_import[:]
    folded.opset_import.extend(model.opset_import)
    folded.ir_version = model.ir_version
    return folded


def _foldable_weights(model: Any) -> set[str]:
    """Names of the initializers of at least :data:`WEIGHT_BYTES` that no folding can read (none if a node has a subgraph)."""
    graph = model.graph
    if any(a.HasField("g") or a.graphs for n in graph.node for a in n.attribute):
        return set()
    constant = {t.name for t in graph.initializer} | {""}
    changed = True
    while changed:
        changed = False
        for node in graph.node:
            if node.op_type in ("Constant", "Shape", "Size") or all(i in constant for i in node.input):
                if not constant.issuperset(node.output):
                    constant.update(node.output)
                    changed = True
    readers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    graph_io = {o.name for o in graph.output} | {i.name for i in graph.input}  # an initializer may also be a graph input

    def may_read_value(node: Any) -> bool:
        if all(i in constant for i in node.input):
            return True
        return node.op_type in _CAST_ELISION_OPS and all(r.op_type == "Cast" for o in node.output for r in readers.get(o, ()))

    return {
        t.name
        for t in graph.initializer
        if numeric_bytes(t) >= WEIGHT_BYTES and t.name not in graph_io and not any(may_read_value(n) for n in readers.get(t.name, ()))
    }


def _without(model: Any, left_out: set[str]) -> Any:
    """A copy of ``model`` whose initializers named in ``left_out`` hold no value (their name, type and dims kept)."""
    import onnx

    light = onnx.ModelProto()
    copy_fields(model, light, skip={"graph"})
    copy_fields(model.graph, light.graph, skip={"initializer"})
    for tensor in model.graph.initializer:
        if tensor.name not in left_out:
            light.graph.initializer.add().CopyFrom(tensor)
            continue
        stand_in = light.graph.initializer.add(name=tensor.name, data_type=tensor.data_type, dims=tensor.dims)
        stand_in.data_location = onnx.TensorProto.EXTERNAL
        stand_in.external_data.add(key="location", value=_STAND_IN)
    return light


def _write_back(model: Any, folded: Any, left_out: set[str]) -> None:
    """Make ``model`` the ``folded`` model, keeping its own tensors for the weights ``folded`` holds as stand-ins."""
    kept = {t.name for t in folded.graph.initializer if t.name in left_out}
    initializers = model.graph.initializer
    for index in reversed(range(len(initializers))):
        if initializers[index].name not in kept:
            del initializers[index]
    for field in [f.name for f, _ in model.ListFields() if f.name != "graph"]:
        model.ClearField(field)
    copy_fields(folded, model, skip={"graph"})
    for field in [f.name for f, _ in model.graph.ListFields() if f.name != "initializer"]:
        model.graph.ClearField(field)
    copy_fields(folded.graph, model.graph, skip={"initializer"})
    initializers.extend(t for t in folded.graph.initializer if t.name not in kept)
