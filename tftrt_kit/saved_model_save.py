"""Saving a SavedModel whose TF1 saver is plain graph nodes.

``tf.saved_model.save`` traces a save and a restore function for the TF1 loader (TF
Serving, ``saved_model_cli run``, the C API), a few milliseconds per variable and most of
the save's time on a model of a few hundred variables. Here TensorFlow saves without them
and the same ``SaverDef`` is written as nodes of the SavedModel's graph: one ``RestoreV2``
with an ``AssignVariableOp`` per variable, and one ``SaveV2`` of their reads. That needs
each checkpoint key's variable handle in that graph; where the checkpoint holds anything
but variables of distinct names (a table, a registered saver, two variables of one name),
TensorFlow's own saver is written instead.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
SCOPE = "tftrt_saver"
VARIABLE_VALUE = "VARIABLE_VALUE"


@dataclass(frozen=True)
class CheckpointedVariable:
    """One variable of a checkpoint: its key, the name its handle has in the SavedModel's graph, dtype and shape."""

    key: str
    name: str
    dtype: Any
    shape: tuple[int, ...]


def save_saved_model(obj: Any, directory: Path, signatures: Mapping[str, Any], options: Any) -> None:
    """``tf.saved_model.save(obj, directory, signatures, options)``, its TF1 saver written as graph nodes.

    Args:
        obj: The trackable object to save.
        directory: The SavedModel directory to write.
        signatures: Signature key -> concrete function.
        options: ``tf.saved_model.SaveOptions``; ``experimental_skip_saver`` is set here.
    """
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    untraced = copy.copy(options)
    untraced.experimental_skip_saver = True
    tf.saved_model.save(obj, str(directory), signatures=signatures, options=untraced)
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((Path(directory) / "saved_model.pb").read_bytes())
    meta_graph = saved.meta_graphs[0]
    prefix = Path(directory) / "variables" / "variables"
    variables, object_graph = checkpointed_variables(prefix) if Path(f"{prefix}.index").is_file() else (None, b"")
    handles = handle_nodes(meta_graph.graph_def, variables) if variables is not None else None
    if handles is None:
        tf.saved_model.save(obj, str(directory), signatures=signatures, options=options)
        return
    add_saver(meta_graph, variables, handles, object_graph)
    _write_saved_model_proto(Path(directory), saved)


def checkpointed_variables(prefix: Path) -> tuple[list[CheckpointedVariable] | None, bytes]:
    """The variables of an object-based checkpoint, and its object graph; None for the variables when it holds more.

    None when any object saves something other than one variable value, or two
    variables share a name (their handles in the graph could not be told apart).
    """
    import tensorflow as tf
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    reader = tf.train.load_checkpoint(str(prefix))
    dtypes, shapes = reader.get_variable_to_dtype_map(), reader.get_variable_to_shape_map()
    if OBJECT_GRAPH_KEY not in dtypes:
        return None, b""
    object_graph = reader.get_tensor(OBJECT_GRAPH_KEY)
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(object_graph)
    if any(node.HasField("registered_saver") for node in graph.nodes):
        return None, object_graph
    attributes = [a for node in graph.nodes for a in node.attributes]
    keys = {a.checkpoint_key for a in attributes}
    names = [a.full_name for a in attributes]
    plain = all(a.name == VARIABLE_VALUE for a in attributes) and len(set(names)) == len(names)
    if not plain or keys | {OBJECT_GRAPH_KEY} != set(dtypes) or len(keys) != len(attributes):
        return None, object_graph
    return [CheckpointedVariable(a.checkpoint_key, a.full_name, dtypes[a.checkpoint_key], tuple(shapes[a.checkpoint_key])) for a in attributes], object_graph


def handle_nodes(graph_def: Any, variables: list[CheckpointedVariable]) -> dict[str, str] | None:
    """Variable name -> its ``VarHandleOp`` node in ``graph_def``; None unless there is exactly one per variable, by shared name, dtype and shape.

    TensorFlow names each variable's handle in the saved graph after the variable, with a
    suffix where the name is taken. With every name distinct, equal sets of names mean no
    handle took a suffix, so each name is its own variable's handle. A graph node already
    in the saver's scope also fails the match.
    """
    handles = {node.attr["shared_name"].s.decode(): node for node in graph_def.node if node.op == "VarHandleOp"}
    if any(node.name.startswith(f"{SCOPE}/") for node in graph_def.node):
        return None
    if len(handles) != sum(1 for node in graph_def.node if node.op == "VarHandleOp") or set(handles) != {v.name for v in variables}:
        return None
    for variable in variables:
        attr = handles[variable.name].attr
        if attr["dtype"].type != variable.dtype.as_datatype_enum or _dims(attr["shape"].shape) != variable.shape:
            return None
    return {name: node.name for name, node in handles.items()}


def add_saver(meta_graph: Any, variables: list[CheckpointedVariable], handles: Mapping[str, str], object_graph: bytes) -> None:
    """Add the save and restore nodes of ``variables`` to ``meta_graph``'s graph, and its ``SaverDef``.

    The restore assigns each key's value to its variable's ``VarHandleOp`` (``handles``, from :func:`handle_nodes`);
    the save writes their values and the object graph, so its checkpoint also restores
    object by object.
    """
    import tensorflow as tf
    from tensorflow.core.framework.attr_value_pb2 import AttrValue
    from tensorflow.core.protobuf import saver_pb2

    graph = meta_graph.graph_def
    dtypes = [AttrValue(type=v.dtype.as_datatype_enum) for v in variables]
    string = AttrValue(type=tf.string.as_datatype_enum)
    keys = [v.key for v in variables]
    cpu = "/device:CPU:0"

    def node(name: str, op: str, inputs: list[str] = (), device: str = "", **attrs: AttrValue) -> str:
        added = graph.node.add(name=f"{SCOPE}/{name}", op=op, input=list(inputs), device=device)
        for key, value in attrs.items():
            added.attr[key].CopyFrom(value)
        return added.name

    def const(name: str, value: Any) -> str:
        return node(name, "Const", dtype=string, value=AttrValue(tensor=tf.make_tensor_proto(value, dtype=tf.string)))

    filename = node("filename", "Placeholder", dtype=string, shape=AttrValue(shape=tf.TensorShape([]).as_proto()))
    assigns = []
    if variables:  # RestoreV2 restores at least one tensor
        restored = node("restore/RestoreV2", "RestoreV2", [filename, const("restore/tensor_names", keys), const("restore/shape_and_slices", [""] * len(keys))],
                        device=cpu, dtypes=AttrValue(list=AttrValue.ListValue(type=[d.type for d in dtypes])))
        assigns = [
            node(f"restore/assign_{k}", "AssignVariableOp", [handles[v.name], f"{restored}:{k}"], dtype=dtypes[k], validate_shape=AttrValue(b=False))
            for k, v in enumerate(variables)
        ]
    restore_all = node("restore_all", "NoOp", [f"^{a}" for a in assigns])

    reads = [node(f"save/read_{k}", "ReadVariableOp", [handles[v.name]], dtype=dtypes[k]) for k, v in enumerate(variables)]
    save = node("save/SaveV2", "SaveV2",
                [filename, const("save/tensor_names", [*keys, OBJECT_GRAPH_KEY]), const("save/shape_and_slices", [""] * (len(keys) + 1)),
                 *reads, const("save/object_graph", object_graph)],
                device=cpu, dtypes=AttrValue(list=AttrValue.ListValue(type=[*(d.type for d in dtypes), string.type])))
    saved_path = node("save/path", "Identity", [filename, f"^{save}"], T=string)

    meta_graph.saver_def.CopyFrom(saver_pb2.SaverDef(
        filename_tensor_name=f"{filename}:0", save_tensor_name=f"{saved_path}:0", restore_op_name=restore_all,
        version=saver_pb2.SaverDef.V2,
    ))


def _dims(shape: Any) -> tuple[int, ...] | None:
    """A ``TensorShapeProto``'s dimensions; None when its rank is unknown."""
    return None if shape.unknown_rank else tuple(d.size for d in shape.dim)


def _write_saved_model_proto(directory: Path, saved: Any) -> None:
    """Replace ``saved_model.pb`` with ``saved``, and its fingerprint with one of the new file."""
    from tensorflow.python.saved_model import fingerprinting_utils

    path = directory / "saved_model.pb"
    partial = path.with_name(f"{path.name}.partial")
    partial.write_bytes(saved.SerializeToString(deterministic=True))
    partial.replace(path)
    fingerprinting_utils.write_fingerprint(str(directory))
