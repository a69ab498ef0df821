"""A frozen GraphDef without its weights, and the weights it leaves out.

A source's frozen graph keeps each weight (a numeric ``Const`` of more than
:data:`WEIGHT_ELEMENTS` elements) as a ``Const`` of its dtype and shape holding no
value; the values live once in a :class:`Weights` store, by node name: the
SavedModel's own variables (read when needed) and numpy arrays for the constants
that came from no variable. The graph stays far below protobuf's 2 GiB limit
whatever the model's size, and no stage holds a second copy of the weights in it.

A weightless ``Const`` would run as zeros in TensorFlow: every run of the graph
binds the weights (:func:`tftrt_kit.routes.segment_partition.native_function`), every
pass that could fold constants (grappler) sees them as ``Placeholder`` nodes
(:func:`without_weights`), and tf2onnx reads their values by name
(:meth:`Weights.contents`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Collection, Iterator, Mapping

import numpy as np

#: A Const of more than this many elements is a weight. Shape inference reads the
#: values of small tensors only (shapes, axes, sizes), so it needs no weight.
WEIGHT_ELEMENTS = 1024

#: Dtypes whose constants stay in the graph: no fixed-size elements to carry as bytes.
_KEPT_DTYPES = frozenset({7, 20, 21})  # DT_STRING, DT_RESOURCE, DT_VARIANT


def elements_of(node: Any) -> int:
    """Number of elements of a ``Const`` node's value, from its shape (never from its content)."""
    total = 1
    for dim in node.attr["value"].tensor.tensor_shape.dim:
        total *= max(dim.size, 0)
    return total


def is_weight_value(dtype: int, elements: int | None) -> bool:
    """Whether a value of ``dtype`` (a ``DataType`` enum) and ``elements`` elements is a weight."""
    return dtype not in _KEPT_DTYPES and elements is not None and elements > WEIGHT_ELEMENTS


def is_weight(node: Any) -> bool:
    """Whether ``node`` is a weight: a numeric ``Const`` of more than :data:`WEIGHT_ELEMENTS` elements."""
    return node.op == "Const" and is_weight_value(node.attr["dtype"].type, elements_of(node))


@dataclasses.dataclass
class Weights:
    """The values of a weightless graph's weights, by ``Const`` node name.

    Attributes:
        variables: Node name -> the ``tf.Variable`` freezing read it from (the loaded
            SavedModel's: no copy is made).
        arrays: Node name -> the value of a weight that came from no variable.
    """

    variables: dict[str, Any] = dataclasses.field(default_factory=dict)
    arrays: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    def __contains__(self, name: object) -> bool:
        return name in self.variables or name in self.arrays

    def __len__(self) -> int:
        return len(self.variables) + len(self.arrays)

    @property
    def names(self) -> frozenset[str]:
        """Every weight's node name."""
        return frozenset(self.variables) | frozenset(self.arrays)

    @property
    def nbytes(self) -> int:
        """Bytes of all weights, from their shapes and dtypes (nothing is read)."""
        variables = sum(v.shape.num_elements() * v.dtype.size for v in self.variables.values())
        return variables + sum(a.nbytes for a in self.arrays.values())

    def value(self, name: str) -> np.ndarray:
        """The value of weight ``name``: a variable's is a read-only view of its buffer (no copy), read eagerly even inside a graph context."""
        if name not in self.variables:
            return self.arrays[name]
        from tensorflow.python.eager import context

        with context.eager_mode():  # tf2onnx converts inside a tf.Graph
            value = np.asarray(self.variables[name].read_value())
        value.flags.writeable = False
        return value

    def content(self, name: str) -> bytes:
        """The ``tensor_content`` bytes of weight ``name``."""
        return const_content(self.value(name))

    def contents(self) -> Mapping[str, bytes]:
        """Node name -> the weight's ``tensor_content`` bytes, made when asked (tf2onnx's ``const_node_values``)."""
        return _Contents(self)

    def filled(self, graph_def: Any) -> Any:
        """A copy of weightless ``graph_def`` whose weights hold their values (a graph under protobuf's 2 GiB)."""
        from tensorflow.core.framework import graph_pb2

        full = graph_pb2.GraphDef()
        full.CopyFrom(graph_def)
        for node in full.node:
            if node.op == "Const" and node.name in self:
                node.attr["value"].tensor.tensor_content = self.content(node.name)
        return full


class _Contents(Mapping):
    def __init__(self, weights: Weights):
        self._weights = weights

    def __contains__(self, name: object) -> bool:
        return name in self._weights  # Mapping's own would read the value to answer

    def __getitem__(self, name: str) -> bytes:
        if name not in self._weights:
            raise KeyError(name)
        return self._weights.content(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._weights.names)

    def __len__(self) -> int:
        return len(self._weights)


def const_content(value: np.ndarray) -> bytes:
    """A weight's value as a ``Const``'s ``tensor_content`` bytes (C order)."""
    return np.ascontiguousarray(value).tobytes()


def split_weights(graph_def: Any, variables: Mapping[str, Any] | None = None) -> tuple[Any, Weights]:
    """``graph_def`` without its weights (:func:`is_weight`), and the weights left out.

    Args:
        graph_def: A frozen ``GraphDef`` (not modified).
        variables: Const node name -> the variable its value came from: such a weight
            is read from the variable when needed, never copied out of the graph.

    Returns:
        A copy of ``graph_def`` whose weights are ``Const`` nodes of their dtype and
        shape with no value, and the :class:`Weights` holding those values.
    """
    from tensorflow.core.framework import graph_pb2
    from tensorflow.python.framework import tensor_util

    variables = variables or {}
    light = graph_pb2.GraphDef()
    light.versions.CopyFrom(graph_def.versions)
    light.library.CopyFrom(graph_def.library)
    weights = Weights()
    for node in graph_def.node:
        copy = light.node.add()
        if not is_weight(node):
            copy.CopyFrom(node)
            continue
        if node.name in variables:
            weights.variables[node.name] = variables[node.name]
        else:
            weights.arrays[node.name] = tensor_util.MakeNdarray(node.attr["value"].tensor)
        copy.name, copy.op, copy.device = node.name, node.op, node.device
        copy.input.extend(node.input)
        for key, value in node.attr.items():
            if key != "value":
                copy.attr[key].CopyFrom(value)
        tensor = copy.attr["value"].tensor
        tensor.dtype = node.attr["value"].tensor.dtype
        tensor.tensor_shape.CopyFrom(node.attr["value"].tensor.tensor_shape)
    return light, weights


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


def named(names: Collection[str]) -> Callable[[Any], bool]:
    """``is_weight`` for :func:`without_weights`: a Const named in ``names``."""
    return lambda node: node.name in names


def put_back(graph_def: Any, consts: Mapping[str, Any]) -> Any:
    """``graph_def`` (modified) with each Placeholder named in ``consts`` replaced by that Const node again."""
    for node in graph_def.node:
        if node.op == "Placeholder" and node.name in consts:
            node.CopyFrom(consts[node.name])
    return graph_def


def is_large_const(node: Any) -> bool:
    """``is_weight`` for a shape-and-dtype import (:func:`without_weights`): a Const of more than :data:`WEIGHT_ELEMENTS` elements.

    That is every weight of a weightless graph (whatever its dtype), so no valueless
    Const is read as zeros by shape inference.
    """
    return elements_of(node) > WEIGHT_ELEMENTS
