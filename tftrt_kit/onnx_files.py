"""ONNX models on disk, including those over protobuf's 2 GiB limit (ONNX external data).

Protobuf cannot serialize a message over 2 GiB, so a model whose tensors weigh more
than :data:`EXTERNAL_DATA_BYTES` is never turned into bytes: it is saved with its
tensors in one external data file next to it (``<file>.data``) and every consumer
(``onnx.checker``, the TensorRT parser, ONNX Runtime) reads it from the path. Below
the threshold nothing changes: one self-contained ``.onnx`` file. A model over
:data:`tftrt_kit._memory.LARGE_GRAPH_BYTES` is written one initializer at a time and
its consumers read that file: protobuf's ``SerializeToString`` held about three times
the model at once (its growing buffer, then the Python bytes), beside the model.

Tests lower the threshold to exercise the external-data path on tiny models:
``monkeypatch.setattr(tftrt_kit.onnx_files, "EXTERNAL_DATA_BYTES", 4096)``; it is
read at call time.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

#: Models whose tensors weigh more than this are saved with external data; half of
#: protobuf's 2 GiB limit leaves room for the graph itself and for FP16/Q/DQ rewrites.
EXTERNAL_DATA_BYTES = 1 << 30

#: Suffix of the external data file: ``model.onnx`` keeps its tensors in ``model.onnx.data``.
DATA_SUFFIX = ".data"


def tensor_bytes(model: Any) -> int:
    """Bytes of ``model``'s tensor data held in the proto: initializers and ``Constant`` values, in every subgraph.

    Computed from each tensor's dims and element type, never by serializing: protobuf's
    upb backend serializes a message to size it (1.3 s for one 400 MB tensor here),
    and the whole model past 2 GiB cannot be serialized at all. Tensors already in
    external data count nothing; string tensors count their serialized size.
    """
    return sum(_data_bytes(tensor) for tensor in graph_tensors(model.graph))


def _data_bytes(tensor: Any) -> int:
    import onnx

    if tensor.data_location != onnx.TensorProto.EXTERNAL and tensor.data_type in (onnx.TensorProto.STRING, onnx.TensorProto.UNDEFINED):
        return tensor.ByteSize()
    return numeric_bytes(tensor)


def numeric_bytes(tensor: Any) -> int:
    """Bytes of an in-memory numeric tensor's value, from its dims and type (0 for external data, strings and undefined)."""
    import math

    import onnx

    if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.data_type in (onnx.TensorProto.STRING, onnx.TensorProto.UNDEFINED):
        return 0
    return math.prod(tensor.dims) * onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize


def graph_tensors(graph: Any) -> Iterator[Any]:
    """Every ``TensorProto`` of an ``onnx.GraphProto``: initializers and tensor attributes, subgraphs included."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from graph_tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from graph_tensors(subgraph)


def is_large(model: Any) -> bool:
    """Whether ``model``'s tensors weigh more than :data:`tftrt_kit._memory.LARGE_GRAPH_BYTES` (written and read as a file)."""
    from tftrt_kit import _memory

    return tensor_bytes(model) > _memory.LARGE_GRAPH_BYTES


def needs_external_data(model: Any) -> bool:
    """Whether ``model`` is saved with external data (its tensors weigh more than :data:`EXTERNAL_DATA_BYTES`)."""
    return tensor_bytes(model) > EXTERNAL_DATA_BYTES


def save_onnx(model: Any, path: Path, *, external: bool | None = None) -> str | None:
    """Write ``model`` to ``path``, with its tensors in ``<path name>.data`` when it is large.

    The model is not modified: its tensors are written out one at a time
    (:func:`write_streamed`), never moved out of the proto and read back (protobuf's
    arena would keep both copies until the model dies).

    Args:
        model: An ``onnx.ModelProto``.
        path: The ``.onnx`` file to write (its directory must exist).
        external: Force external data on or off; None: :func:`needs_external_data`.

    Returns:
        The external data file's name (relative to ``path``'s folder), or None when
        the model was written as one self-contained file.
    """
    path = Path(path)
    if external is None:
        external = needs_external_data(model)
    if external:
        location = path.name + DATA_SUFFIX
        write_streamed(model, path, location)
        return location
    if is_large(model):
        write_streamed(model, path)
    else:
        path.write_bytes(model.SerializeToString())
    return None


def load_onnx(path: Path) -> Any:
    """Read the ONNX model at ``path`` with its external data (if any), every tensor held in memory.

    The tensors read back carry no ``data_location`` field, like those of a model
    that never left memory, so the two compare equal.
    """
    import onnx

    model = onnx.load(str(path))
    _clear_default_locations(model)
    return model


def _clear_default_locations(model: Any) -> None:
    import onnx

    for tensor in graph_tensors(model.graph):
        if tensor.HasField("data_location") and tensor.data_location == onnx.TensorProto.DEFAULT:
            tensor.ClearField("data_location")


@contextlib.contextmanager
def model_on_disk(model: Any) -> Iterator[Path | None]:
    """Yield a path to ``model`` saved when it is large (:func:`is_large`; external data past the 2 GiB limit), else None.

    For consumers that read a large model from a file (the TensorRT parser,
    ``onnx.checker``, ONNX Runtime) rather than from bytes serialized in memory: the
    file lives in a temporary directory removed on exit.
    """
    external = needs_external_data(model)
    if not external and not is_large(model):
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="tftrt_kit-onnx-"))
    try:
        path = directory / "model.onnx"
        save_onnx(model, path, external=external)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def write_streamed(model: Any, path: Path, data_file: str | None = None) -> None:
    """Write ``model`` to ``path`` one initializer at a time; with ``data_file``, its tensors go to that file next to it.

    Protobuf merges repeated occurrences of a message field, so the file is the model
    without its initializers followed by one ``graph`` field per initializer, each
    holding that initializer alone: the model it parses to equals ``model``, and at most
    one tensor is copied at once. With ``data_file``, each initializer's ``raw_data`` of
    1 KiB or more is appended to it instead and referenced (location, offset, length),
    as ``onnx.save_model(..., save_as_external_data=True, all_tensors_to_one_file=True)``
    does; ``model`` itself is never modified.
    """
    import sys

    import onnx

    path = Path(path)
    skeleton = onnx.ModelProto()
    copy_fields(model, skeleton, skip={"graph"})
    copy_fields(model.graph, skeleton.graph, skip={"initializer"})
    with contextlib.ExitStack() as files:
        file = files.enter_context(open(path, "wb"))
        data = files.enter_context(open(path.parent / data_file, "wb")) if data_file else None
        file.write(skeleton.SerializeToString())
        del skeleton
        for tensor in model.graph.initializer:
            head = onnx.TensorProto()
            copy_fields(tensor, head, skip={"raw_data"})
            raw = tensor.raw_data if tensor.HasField("raw_data") else None
            if data is not None and raw is not None and sys.getsizeof(raw) >= 1024:  # onnx.save_model's size_threshold
                del head.external_data[:]
                head.data_location = onnx.TensorProto.EXTERNAL
                for key, value in (("location", data_file), ("offset", data.tell()), ("length", len(raw))):
                    head.external_data.add(key=key, value=str(value))
                data.write(raw)
                raw = None
            content = head.SerializeToString() + (_field_header(9, len(raw)) if raw is not None else b"")
            size = len(content) + (len(raw) if raw is not None else 0)
            file.write(_field_header(7, len(_field_header(5, size)) + size) + _field_header(5, size) + content)
            if raw is not None:
                file.write(raw)
            del raw


def _field_header(number: int, length: int) -> bytes:
    """Protobuf wire bytes opening length-delimited field ``number`` of ``length`` bytes."""
    return _varint(number << 3 | 2) + _varint(length)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def copy_fields(source: Any, target: Any, skip: set[str]) -> None:
    """Copy every set field of protobuf message ``source`` into ``target`` except those named in ``skip``."""
    for field, value in source.ListFields():
        if field.name in skip:
            continue
        if field.label == field.LABEL_REPEATED:
            getattr(target, field.name).extend(value)
        elif field.type == field.TYPE_MESSAGE:
            getattr(target, field.name).CopyFrom(value)
        else:
            setattr(target, field.name, value)
