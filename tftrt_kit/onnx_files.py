"""ONNX models on disk, including those over protobuf's 2 GiB limit (ONNX external data).

Protobuf cannot serialize a message over 2 GiB, so a model whose tensors weigh more
than :data:`EXTERNAL_DATA_BYTES` is never turned into bytes: it is saved with its
tensors in one external data file next to it (``<file>.data``) and every consumer
(``onnx.checker``, the TensorRT parser, ONNX Runtime) reads it from the path. Below
the threshold nothing changes: one self-contained ``.onnx`` file, bytes in memory.

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
    return sum(_data_bytes(tensor) for tensor in _tensors(model.graph))


def _data_bytes(tensor: Any) -> int:
    import math

    import onnx

    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        return 0
    if tensor.data_type in (onnx.TensorProto.STRING, onnx.TensorProto.UNDEFINED):
        return tensor.ByteSize()
    return math.prod(tensor.dims) * onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize


def _tensors(graph: Any) -> Iterator[Any]:
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _tensors(subgraph)


def needs_external_data(model: Any) -> bool:
    """Whether ``model`` is saved with external data (its tensors weigh more than :data:`EXTERNAL_DATA_BYTES`)."""
    return tensor_bytes(model) > EXTERNAL_DATA_BYTES


def save_onnx(model: Any, path: Path, *, external: bool | None = None) -> str | None:
    """Write ``model`` to ``path``, with its tensors in ``<path name>.data`` when it is large.

    The model keeps its tensors in memory: saving with external data moves them out
    of the proto, and they are read back from the file just written, so no second
    copy of the weights is made.

    Args:
        model: An ``onnx.ModelProto``.
        path: The ``.onnx`` file to write (its directory must exist).
        external: Force external data on or off; None: :func:`needs_external_data`.

    Returns:
        The external data file's name (relative to ``path``'s folder), or None when
        the model was written as one self-contained file.
    """
    import onnx
    from onnx.external_data_helper import load_external_data_for_model

    path = Path(path)
    if external is None:
        external = needs_external_data(model)
    if not external:
        path.write_bytes(model.SerializeToString())
        return None
    location = path.name + DATA_SUFFIX
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=location)
    load_external_data_for_model(model, str(path.parent))
    _clear_default_locations(model)
    return location


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

    for tensor in _tensors(model.graph):
        if tensor.HasField("data_location") and tensor.data_location == onnx.TensorProto.DEFAULT:
            tensor.ClearField("data_location")


@contextlib.contextmanager
def model_on_disk(model: Any) -> Iterator[Path | None]:
    """Yield a path to ``model`` saved with external data when it is large, else None (use it in memory).

    For consumers that cannot take a large model as bytes (the TensorRT parser,
    ``onnx.checker``, ONNX Runtime): the file lives in a temporary directory removed
    on exit.
    """
    if not needs_external_data(model):
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="tftrt_kit-onnx-"))
    try:
        path = directory / "model.onnx"
        save_onnx(model, path, external=True)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)
