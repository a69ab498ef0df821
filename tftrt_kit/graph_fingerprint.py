"""A fingerprint of what an ONNX graph computes, blind to names and metadata.

Two routes can run the very same graph: the segment route of a fully covered model
exports the graph the onnx route exports, under other tensor and node names. Their
speed and accuracy can then differ only by the runtime around the graph, and the
report says so instead of ranking them on noise.

The fingerprint hashes, in node order: each node's domain, op type and attributes
(subgraphs by their own fingerprint), its inputs and outputs as positions of first
appearance (names dropped), constants by dtype, shape and bytes, and the graph's
input and output types. Doc strings, producer, graph and node names, opset
metadata and tensor names do not count.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def graph_fingerprint(graph: Any) -> str:
    """SHA-256 (hex) of what ``graph`` (an ``onnx.GraphProto``) computes.

    Example:
        >>> graph_fingerprint(onnx.load("a.onnx").graph) == graph_fingerprint(onnx.load("b.onnx").graph)  # doctest: +SKIP
        True
    """
    digest = hashlib.sha256()
    ids: dict[str, int] = {}
    constants = {t.name: t for t in graph.initializer}

    def ref(name: str) -> str:
        if not name:
            return "-"
        if name in constants and name not in ids:
            return "const:" + _tensor_digest(constants[name])
        return str(ids.setdefault(name, len(ids)))

    for value in graph.input:
        if value.name not in constants:
            digest.update(f"in {ref(value.name)} {_type(value.type)}\n".encode())
    for node in graph.node:
        inputs = [ref(n) for n in node.input]
        outputs = [ref(n) for n in node.output]
        attributes = sorted(_attribute_digest(a) for a in node.attribute)
        digest.update(f"node {node.domain} {node.op_type} {inputs} {outputs} {attributes}\n".encode())
    for value in graph.output:
        digest.update(f"out {ref(value.name)} {_type(value.type)}\n".encode())
    return digest.hexdigest()


def file_fingerprint(path: str | Path) -> str:
    """:func:`graph_fingerprint` of the ONNX model at ``path``."""
    import onnx

    return graph_fingerprint(onnx.load(str(path)).graph)


def whole_model_onnx(artifact_dir: str | Path) -> Path | None:
    """The ONNX file that runs the whole model of an artifact, if one does (else None).

    The onnx route's ``model.onnx``; the segment route's only part when that part is a
    segment (full coverage: no TensorFlow island before, between or after).
    """
    from tftrt_kit.runtime.artifact import manifest_path, read_manifest

    manifest = read_manifest(Path(artifact_dir))
    base = manifest_path(Path(artifact_dir)).parent
    if manifest.get("onnx_file"):
        return base / manifest["onnx_file"]
    parts = manifest.get("parts") or []
    if len(parts) == 1 and parts[0].get("kind") == "segment" and parts[0].get("onnx_file"):
        return base / parts[0]["onnx_file"]
    return None


def _tensor_digest(tensor: Any) -> str:
    from onnx import numpy_helper

    array = numpy_helper.to_array(tensor)
    return hashlib.sha256(f"{array.dtype} {array.shape}".encode() + array.tobytes()).hexdigest()[:16]


def _attribute_digest(attribute: Any) -> str:
    import onnx

    copy = onnx.AttributeProto()
    copy.CopyFrom(attribute)
    parts = [copy.name]
    if copy.HasField("t"):
        parts.append(_tensor_digest(copy.t))
        copy.ClearField("t")
    parts += [_tensor_digest(t) for t in copy.tensors]
    copy.ClearField("tensors")
    if copy.HasField("g"):
        parts.append(graph_fingerprint(copy.g))
        copy.ClearField("g")
    parts += [graph_fingerprint(g) for g in copy.graphs]
    copy.ClearField("graphs")
    copy.ClearField("doc_string")
    parts.append(hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()[:16])
    return " ".join(parts)


def _type(value_type: Any) -> str:
    """Element type and dims (a symbolic dim as ``?``, whatever its name)."""
    tensor = value_type.tensor_type
    dims = [str(d.dim_value) if d.HasField("dim_value") else "?" for d in tensor.shape.dim]
    return f"{tensor.elem_type}[{','.join(dims)}]"
