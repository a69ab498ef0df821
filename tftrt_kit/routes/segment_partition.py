"""From a Segmentation to runnable parts: sub-graphs, tensor specs and native functions.

Each part (TensorRT segment or TensorFlow island) becomes a small ``GraphDef`` of its
own nodes, with one ``Placeholder`` per tensor entering it; a ``tf.function`` imports
that graph with ``input_map`` so the part runs natively in TensorFlow. The same cut,
over the union of the segments, is what tf2onnx converts
(:mod:`tftrt_kit.routes.segment_export`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from tftrt_kit.graph_weights import const_content, is_weight
from tftrt_kit.segment.graph import canonical_tensor_name, parse_tensor_name
from tftrt_kit.source import TensorSpec

#: FLOP counters per op type: (output shape, input shapes, node) -> multiply-adds x 2, batch 1.
_FLOP_OPS = ("Conv2D", "DepthwiseConv2dNative", "Conv2DBackpropInput", "Conv3D", "MatMul", "BatchMatMulV2", "BatchMatMul")


@dataclasses.dataclass(frozen=True)
class PartSpec:
    """One part as the runtime sees it.

    Attributes:
        name: ``seg_<k>`` or ``tf_<k>``.
        kind: ``"segment"`` or ``"island"``.
        inputs: Specs of the tensors entering the part (``name`` is the TF tensor name).
        outputs: Specs of the tensors leaving it.
    """

    name: str
    kind: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @property
    def function_name(self) -> str:
        """Attribute name of the part's native function in the artifact SavedModel."""
        return f"tftrt_{self.name}"


class GraphTensors:
    """Static dtype and shape of every tensor of a frozen graph.

    Read from the source's one import of its graph (``Source.shapes_graph``), whose
    weights are ``Placeholder`` nodes of their dtype and shape: shapes and dtypes come
    out the same, and the import holds no second copy of the weights.
    """

    def __init__(self, graph: Any):
        self.graph = graph

    def spec(self, tensor: str) -> TensorSpec:
        """The :class:`TensorSpec` of ``tensor`` (``"node:k"``)."""
        t = self.graph.get_tensor_by_name(canonical_tensor_name(tensor))
        shape = tuple(t.shape.as_list()) if t.shape.rank is not None else None
        return TensorSpec(canonical_tensor_name(tensor), t.dtype.name, shape)

    def specs(self, tensors: Iterable[str]) -> tuple[TensorSpec, ...]:
        """Specs of several tensors, in order."""
        return tuple(self.spec(t) for t in tensors)

    def flops(self, node_name: str) -> int:
        """Approximate FLOPs (2 x multiply-adds, batch 1) of a compute-heavy node; 0 for others."""
        op = self.graph.get_operation_by_name(node_name)
        if op.type not in _FLOP_OPS or not op.outputs:
            return 0
        out = op.outputs[0].shape
        if out.rank is None or not out[1:].is_fully_defined():
            return 0
        out_elems = out[1:].num_elements()
        weight = op.inputs[1].shape
        if weight.rank is None or not weight.is_fully_defined():
            return 0
        dims = weight.as_list()
        if op.type in ("Conv2D", "Conv3D"):
            per_output = 1
            for d in dims[:-1]:
                per_output *= d
        elif op.type == "DepthwiseConv2dNative":
            per_output = dims[0] * dims[1]
        elif op.type == "Conv2DBackpropInput":
            per_output = dims[0] * dims[1] * dims[3]
        else:
            transposed = op.get_attr("transpose_b") if op.type == "MatMul" else op.get_attr("adj_y")
            per_output = dims[-1] if transposed else dims[-2]
        return 2 * out_elems * per_output


def part_spec(
    graph: GraphTensors, name: str, kind: str, inputs: Sequence[str], outputs: Sequence[str], captured: Iterable[str] = ()
) -> PartSpec:
    """The :class:`PartSpec` of a segment or island.

    Args:
        captured: The source's captured tensors (``Source.captured_tensors``): no caller
            feeds them, so they are not inputs of the part (its native function binds them).
    """
    captured = frozenset(captured)
    return PartSpec(name, kind, graph.specs([t for t in inputs if t not in captured]), graph.specs(outputs))


def _shape_proto(shape: tuple[int | None, ...] | None) -> Any:
    from tensorflow.core.framework import tensor_shape_pb2

    if shape is None:
        return tensor_shape_pb2.TensorShapeProto(unknown_rank=True)
    return tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=-1 if d is None else d) for d in shape])


def part_graph_def(
    graph_def: Any,
    nodes: Iterable[str],
    inputs: Sequence[TensorSpec],
    captured: Sequence[str] = (),
    variables: Sequence[str] = (),
    arrays: Mapping[str, Any] | None = None,
) -> Any:
    """A GraphDef holding ``nodes`` and one Placeholder per entering tensor.

    Fed tensors become ``tftrt_input_<k>`` (``inputs[k]``); captured resource tensors
    become ``tftrt_capture_<k>`` (``captured[k]``). Each frozen weight named in
    ``variables`` (a ``Const`` that freezing made from a variable) becomes a
    ``ReadVariableOp`` of the same name reading resource ``tftrt_variable_<k>``, so the
    part reads the SavedModel's variable instead of holding a copy of its value. A
    weight named in ``arrays`` (``Weights.arrays``: from no variable) gets its value
    back. Without ``variables`` and ``arrays`` the cut is as weightless as
    ``graph_def`` (what tf2onnx converts). Control inputs from outside the part are
    dropped: in a frozen inference graph they only order ``NoOp`` nodes and carry no data.
    """
    import tensorflow as tf
    from tensorflow.core.framework import graph_pb2

    keep = set(nodes)
    feeds = {spec.name: f"tftrt_input_{k}" for k, spec in enumerate(inputs)}
    feeds.update({canonical_tensor_name(t): f"tftrt_capture_{k}" for k, t in enumerate(captured)})
    read_from = {name: f"tftrt_variable_{k}" for k, name in enumerate(variables)}
    sub = graph_pb2.GraphDef()
    sub.versions.CopyFrom(graph_def.versions)
    sub.library.CopyFrom(graph_def.library)
    for k, spec in enumerate(inputs):
        placeholder = sub.node.add(name=f"tftrt_input_{k}", op="Placeholder")
        placeholder.attr["dtype"].type = tf.as_dtype(spec.dtype).as_datatype_enum
        placeholder.attr["shape"].shape.CopyFrom(_shape_proto(spec.shape))
    for name in (*(f"tftrt_capture_{k}" for k in range(len(captured))), *read_from.values()):
        placeholder = sub.node.add(name=name, op="Placeholder")
        placeholder.attr["dtype"].type = tf.resource.as_datatype_enum
        placeholder.attr["shape"].shape.CopyFrom(_shape_proto(()))
    for node in graph_def.node:
        if node.name not in keep:
            continue
        if node.name in read_from:
            read = sub.node.add(name=node.name, op="ReadVariableOp", input=[f"{read_from[node.name]}:0"])
            read.attr["dtype"].CopyFrom(node.attr["dtype"])
            continue
        copy = sub.node.add()
        copy.CopyFrom(node)
        if arrays is not None and node.name in arrays:
            copy.attr["value"].tensor.tensor_content = const_content(arrays[node.name])
        del copy.input[:]
        for ref in node.input:
            parsed = parse_tensor_name(ref)
            if parsed.is_control:
                if parsed.node in keep:
                    copy.input.append(ref)
            elif str(parsed) in feeds:
                copy.input.append(f"{feeds[str(parsed)]}:0")
            else:
                copy.input.append(ref)
    return sub


def variable_handles(source: Any, loaded: Any) -> dict[str, Any]:
    """Frozen ``Const`` node name -> the handle, in ``loaded``, of the variable freezing read it from.

    Freezing replaces each variable the signature captures with a ``Const`` named like
    the signature graph's capture placeholder; ``captured_inputs`` lists the handles
    in the order of those placeholders.

    Args:
        source: The :class:`~tftrt_kit.source.Source` (its own signature names the placeholders).
        loaded: A ``tf.saved_model.load`` of the same SavedModel, whose variables the parts read.
    """
    consts = {node.name for node in source.graph_def.node if node.op == "Const"}
    placeholders = [t.op.name for t in source.signature.graph.internal_captures]
    handles = loaded.signatures[source.signature_key].captured_inputs
    return {name: handle for name, handle in zip(placeholders, handles) if name in consts and handle.dtype.name == "resource"}


def native_function(
    graph_def: Any,
    nodes: Iterable[str],
    part: PartSpec,
    captures: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
    arrays: Mapping[str, Any] | None = None,
) -> Any:
    """A ``tf.function`` running ``part`` natively: positional input tensors in, a list of outputs out.

    Args:
        graph_def: The source's frozen graph.
        nodes: The part's nodes.
        part: Its spec.
        captures: Captured tensor name -> resource handle (``Source.captures(loaded)``):
            the function captures the handles its nodes read, so a lookup table is
            bound to the SavedModel's own table, never fed.
        variables: Frozen weight name -> variable handle (:func:`variable_handles`): the
            function reads those variables instead of embedding the frozen values, so
            the SavedModel keeps each weight once.
        arrays: The values of the part's weights that came from no variable
            (``Source.weights.arrays``), embedded in the function.

    Raises:
        ValueError: a weight of the weightless ``graph_def`` gets no value from
            ``variables`` or ``arrays`` (it would run as zeros).
    """
    import tensorflow as tf

    keep = set(nodes)
    read = {canonical_tensor_name(ref) for node in graph_def.node if node.name in keep for ref in node.input if not ref.startswith("^")}
    bound = [(name, handle) for name, handle in (captures or {}).items() if canonical_tensor_name(name) in read]
    weights = [(name, handle) for name, handle in (variables or {}).items() if name in keep]
    valued = {name for name, _ in weights} | set(arrays or ())
    unbound = [n.name for n in graph_def.node if n.name in keep and is_weight(n) and not n.attr["value"].tensor.tensor_content and n.name not in valued]
    if unbound:
        raise ValueError(f"Expected a value for every weight of part {part.name!r}. Received: none for {unbound[:5]}.")
    sub = part_graph_def(graph_def, keep, part.inputs, [name for name, _ in bound], [name for name, _ in weights], arrays)
    signature = [tf.TensorSpec(s.shape, s.dtype, name=f"input_{k}") for k, s in enumerate(part.inputs)]
    fetches = [s.name for s in part.outputs]

    def run(*tensors: Any) -> list[Any]:
        feed = {f"tftrt_input_{k}:0": t for k, t in enumerate(tensors)}
        # Identity captures the eager handle into the function graph (input_map takes graph tensors only).
        feed.update({f"tftrt_capture_{k}:0": tf.identity(handle) for k, (_, handle) in enumerate(bound)})
        feed.update({f"tftrt_variable_{k}:0": tf.identity(handle) for k, (_, handle) in enumerate(weights)})
        return tf.graph_util.import_graph_def(sub, input_map=feed, return_elements=fetches, name=part.name)

    run.__name__ = part.function_name
    return tf.function(run, input_signature=signature, autograph=False)


def source_function(source: Any, fetches: Sequence[str]) -> Any:
    """Run the source's frozen graph up to ``fetches``: numpy feeds by input name in, numpy values by tensor name out.

    The weights are read from the source's own variables (and ``Source.weights.arrays``),
    so the run holds no copy of them; a fetched model input is its fed value.
    """
    fed = dict(zip(source.input_tensors, (spec.name for spec in source.inputs)))
    inner = [t for t in dict.fromkeys(fetches) if t not in fed]
    function = None
    if inner:
        # The inputs' Placeholders stay (unfed, rewired away): nodes may be colocated with them.
        skipped = {parse_tensor_name(t).node for t in source.captured_tensors}
        inputs = tuple(TensorSpec(t, s.dtype, s.shape) for t, s in zip(source.input_tensors, source.inputs))
        part = PartSpec("source", "island", inputs, tuple(TensorSpec(t, "float32", None) for t in inner))
        nodes = [n.name for n in source.graph_def.node if n.name not in skipped]
        variables = {name: v.handle for name, v in source.weights.variables.items()}
        function = native_function(source.graph_def, nodes, part, source.captures(), variables, source.weights.arrays)

    def run(feeds: Mapping[str, Any]) -> dict[str, np.ndarray]:
        values = dict(zip(inner, (np.asarray(v) for v in function(*(feeds[s.name] for s in source.inputs))))) if function else {}
        values.update({t: np.asarray(feeds[name]) for t, name in fed.items() if t in fetches})
        return values

    return run


def whole_graph_function(source: Any, part: PartSpec, signature: Any) -> Any:
    """A ``tf.function`` running ``part``, the only part of the graph, by calling the source's signature; None if it cannot.

    A part holding every node computes what the signature computes: calling the signature
    keeps one copy of the graph in the SavedModel, where :func:`native_function` would
    trace and save a second one. The part must take every input of the signature (one
    it does not read has no value to pass) and give only outputs of it.

    Args:
        source: The :class:`~tftrt_kit.source.Source` (its input and output tensor names).
        part: The spec of the part holding every node of the frozen graph.
        signature: The signature's concrete function, in the object being saved.
    """
    import tensorflow as tf

    arguments = dict(zip(source.input_tensors, (spec.name for spec in source.inputs)))
    results = dict(zip(source.output_tensors, (spec.name for spec in source.outputs)))
    names = [arguments.get(spec.name) for spec in part.inputs]
    outputs = [results.get(spec.name) for spec in part.outputs]
    if None in names or None in outputs or set(names) != set(arguments.values()):
        return None
    specs = [tf.TensorSpec(s.shape, s.dtype, name=f"input_{k}") for k, s in enumerate(part.inputs)]

    def run(*tensors: Any) -> list[Any]:
        values = signature(**dict(zip(names, tensors)))
        return [values[name] for name in outputs]

    run.__name__ = part.function_name
    return tf.function(run, input_signature=specs, autograph=False)
