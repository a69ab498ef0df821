"""Freeze a signature into a weightless GraphDef, whatever the size of its weights.

``convert_variables_to_constants_v2`` embeds every variable's value in the GraphDef,
then builds a function from it: a serialization that fails above protobuf's 2 GiB,
and a graph holding a full copy of the weights. Here TensorFlow's converter runs
(as tf2onnx does for large models) with every weight variable standing for zeros of
its shape (no value is read), the graph is kept as built (no function), and the
weights are left out of it (:func:`tftrt_kit.graph_weights.split_weights`): each
stays in the SavedModel's variable it came from.
"""

from __future__ import annotations

import dataclasses
import gc
from typing import Any

import numpy as np

from tftrt_kit import _memory
from tftrt_kit.graph_weights import Weights, is_weight_value, named, put_back, split_weights, without_weights
from tftrt_kit.inline import has_calls, inline_calls
from tftrt_kit.segment.graph import parse_tensor_name


@dataclasses.dataclass
class Frozen:
    """A signature frozen without its weights.

    Attributes:
        graph_def: The weightless frozen ``GraphDef``.
        weights: Its weights' values.
        inputs: Graph tensor names of the frozen graph's inputs: the signature's fed
            inputs, then the captured resources freezing kept (lookup tables).
        outputs: Graph tensor names of the signature's outputs.
    """

    graph_def: Any
    weights: Weights
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def freeze(function: Any) -> Frozen:
    """Freeze concrete ``function`` (a loaded signature): variables become weightless Consts read from the variables.

    While/If stay whole nodes: lowered into Switch/Merge/NextIteration they form
    cycles no segmenter can cut, and tf2onnx cannot convert the lowered loops. Calls
    left in the graph are inlined (:func:`tftrt_kit.inline.inline_calls`) with the
    weights as Placeholders, so no pass folds a weightless Const.
    """
    import tensorflow as tf
    from tensorflow.python.framework import convert_to_constants

    class _WeightlessConverter(convert_to_constants._FunctionConverterDataInEager):
        def _eval(self, tensor: Any) -> Any:
            if isinstance(tensor, tf.Variable) and is_weight_value(tensor.dtype.as_datatype_enum, tensor.shape.num_elements()):
                # Zeros stand for the value: left out of the graph below, read from the variable when needed.
                return np.zeros(tensor.shape, tensor.dtype.as_numpy_dtype)
            return super()._eval(tensor)

    converter = _WeightlessConverter(func=function, lower_control_flow=False, aggressive_inlining=False)
    graph_def, converted = convert_to_constants._replace_variables_by_constants(converter_data=converter)
    by_handle = {id(v.handle): v for v in function.graph.variables}
    variables = {}
    for name, data in converter.tensor_data.items():
        variable = by_handle.get(id(function.captured_inputs[data.index])) if data.index is not None else None
        if variable is not None and is_weight_value(variable.dtype.as_datatype_enum, variable.shape.num_elements()):
            variables[name] = variable
    del converter
    kept = {t.name for t in (function.graph.internal_captures[i] for i in converted)}
    inputs = tuple(t.name for t in function.inputs if t.name not in kept)
    outputs = tuple(t.name for t in function.outputs)
    light, weights = split_weights(_reachable(graph_def, [*inputs, *outputs]), variables)
    del graph_def
    if weights.nbytes > _memory.LARGE_GRAPH_BYTES:
        gc.collect()  # the converter's graph (zeros the size of the weights) is held by its reference cycles
    for node in light.node:
        # Colocation with nodes a part leaves out (a model input) fails the part's import;
        # a pruned function (TensorFlow's own freezing) drops these too.
        if "_class" in node.attr:
            del node.attr["_class"]
    if has_calls(light):
        placeholders, consts = without_weights(light, named(weights.names))
        light = put_back(inline_calls(placeholders, [*inputs, *outputs]), consts)
    return Frozen(light, weights, inputs, outputs)


def _reachable(graph_def: Any, tensors: list[str]) -> Any:
    """``graph_def`` (modified) keeping only the nodes ``tensors`` depend on, as a pruned function keeps them."""
    by_name = {node.name: node for node in graph_def.node}
    seen: set[str] = set()
    stack = [parse_tensor_name(t).node for t in tensors]
    while stack:
        name = stack.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        stack.extend(parse_tensor_name(i).node for i in by_name[name].input)
    for index in reversed(range(len(graph_def.node))):
        if graph_def.node[index].name not in seen:
            del graph_def.node[index]
    return graph_def
