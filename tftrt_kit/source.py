"""Load a model to convert, once, into a :class:`Source`.

A source is a SavedModel directory, a ``keras.Model`` or a ``.keras`` file. Keras
sources are exported to a SavedModel first (``model.export``), so every route sees
the same thing: a signature function, its input and output specs, and the frozen
GraphDef (variables turned into constants) with the tensor names that feed and
fetch it. The frozen GraphDef holds no weight values: they stay in the SavedModel's
variables (:mod:`tftrt_kit.freeze`, :mod:`tftrt_kit.graph_weights`), so a model of
any size loads and its weights are held once.
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tftrt_kit._memory import LARGE_GRAPH_BYTES, is_large
from tftrt_kit.errors import SourceError
from tftrt_kit.graph_weights import Weights

DEFAULT_SIGNATURE = "serving_default"

#: TensorFlow dtypes TensorRT and ONNX both carry: the onnx route takes only these at its inputs and outputs.
SUPPORTED_INPUT_DTYPES = frozenset(
    {"float32", "float16", "bfloat16", "float64", "int8", "uint8", "int32", "int64", "bool"}
)

#: Dtypes a source signature may take or return: the numeric ones plus strings (kept in TensorFlow islands).
SIGNATURE_DTYPES = SUPPORTED_INPUT_DTYPES | {"int16", "uint16", "uint32", "uint64", "string"}


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """Name, dtype and shape of one model input or output.

    ``shape`` holds ``None`` for a dynamic dimension, and is ``None`` itself when even
    the rank is unknown (a ``squeeze()`` without axis on a dynamic batch).
    """

    name: str
    dtype: str
    shape: tuple[int | None, ...] | None

    @property
    def has_dynamic_batch(self) -> bool:
        """Whether the leading dimension is dynamic (or the rank unknown)."""
        return self.shape is None or (bool(self.shape) and self.shape[0] is None)

    @property
    def shape_text(self) -> str:
        """The shape as printed in tables and messages (``[None, 3]``, ``<unknown rank>``)."""
        return "<unknown rank>" if self.shape is None else str(list(self.shape))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``"shape": null`` for an unknown rank)."""
        return {"name": self.name, "dtype": self.dtype, "shape": None if self.shape is None else list(self.shape)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TensorSpec":
        """Inverse of :meth:`to_dict`."""
        shape = data["shape"]
        return cls(str(data["name"]), str(data["dtype"]), None if shape is None else tuple(shape))


@dataclasses.dataclass
class Source:
    """A loaded model: one signature, its specs and its frozen graph.

    Attributes:
        description: Where the model came from (a path, or ``keras.Model 'name'``).
        saved_model_dir: The SavedModel directory (a temporary export for Keras sources).
        signature_key: The chosen signature.
        signature_keys: Every signature of the SavedModel.
        inputs: Input specs, in the signature's (sorted) order.
        outputs: Output specs, in the signature's (sorted) order.
        graph_def: Frozen GraphDef of the signature, without its weights' values
            (each weight a ``Const`` of its dtype and shape; never run it as is).
        weights: The weights' values by node name (:class:`~tftrt_kit.graph_weights.Weights`).
        input_tensors: Graph tensor name feeding each input, aligned with ``inputs``.
        output_tensors: Graph tensor name of each output, aligned with ``outputs``.
        captured_tensors: Graph tensors (resource ``Placeholder`` outputs, e.g. a lookup
            table) that no caller feeds: the signature captures them, and each native part
            reading one binds it to the loaded SavedModel's resource.
        captured_indices: For each of ``captured_tensors``, its index in the signature's
            ``captured_inputs``.
        keras_model: The Keras model when the source is one (quantization works on it).
        seconds: Time spent per stage (``load``, ``freeze``).
    """

    description: str
    saved_model_dir: Path
    signature_key: str
    signature_keys: tuple[str, ...]
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    graph_def: Any
    input_tensors: tuple[str, ...]
    output_tensors: tuple[str, ...]
    weights: Weights = dataclasses.field(default_factory=Weights)
    captured_tensors: tuple[str, ...] = ()
    captured_indices: tuple[int, ...] = ()
    keras_model: Any = None
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    _loaded: Any = dataclasses.field(default=None, repr=False)
    _tempdir: Any = dataclasses.field(default=None, repr=False)

    def __repr__(self) -> str:
        ins = ", ".join(f"{s.name}:{s.dtype}{s.shape_text}" for s in self.inputs)
        outs = ", ".join(f"{s.name}:{s.dtype}{s.shape_text}" for s in self.outputs)
        return (
            f"Source({self.description!r}, signature={self.signature_key!r}, "
            f"inputs=[{ins}], outputs=[{outs}], nodes={len(self.graph_def.node)})"
        )

    @functools.cached_property
    def large_graph(self) -> bool:
        """Whether the frozen graph with its weights is large enough for its dropped copies to be collected eagerly (asked once)."""
        return self.weights.nbytes > LARGE_GRAPH_BYTES or is_large(self.graph_def)

    def frozen_graph_def(self) -> Any:
        """A copy of the frozen GraphDef holding its weights' values (runnable as is; under protobuf's 2 GiB only)."""
        return self.weights.filled(self.graph_def)

    @functools.cached_property
    def shapes_graph(self) -> Any:
        """The frozen graph imported into a ``tf.Graph`` with its weights as Placeholders: every tensor's static dtype and shape, no weight values (imported once)."""
        import tensorflow as tf

        from tftrt_kit.graph_weights import is_large_const, without_weights

        graph = tf.Graph()
        with graph.as_default():
            tf.graph_util.import_graph_def(without_weights(self.graph_def, is_large_const)[0], name="")
        return graph

    @functools.cached_property
    def unknown_rank_tensors(self) -> frozenset[str]:
        """Tensors of the frozen graph whose rank TensorFlow's shape inference leaves unknown (in :attr:`shapes_graph`)."""
        return frozenset(t.name for op in self.shapes_graph.get_operations() for t in op.outputs if t.shape.rank is None)

    @functools.cached_property
    def op_defs(self) -> dict[str, Any]:
        """Op type -> TensorFlow's ``OpDef``, for every op of the frozen graph in TensorFlow's registry (see :func:`op_defs_of`)."""
        return op_defs_of(self.graph_def)

    @property
    def signature(self) -> Any:
        """The signature's concrete function (takes keyword tensors, returns a dict)."""
        return self._loaded.signatures[self.signature_key]

    @property
    def loaded(self) -> Any:
        """The object returned by ``tf.saved_model.load``."""
        return self._loaded

    def captures(self, loaded: Any = None) -> dict[str, Any]:
        """Captured tensor name -> the resource handle it stands for, in ``loaded`` (default: the source's own).

        Args:
            loaded: Another ``tf.saved_model.load`` of the same SavedModel (an artifact
                being written binds its native parts to its own copy of the resources).
        """
        captured = (loaded or self._loaded).signatures[self.signature_key].captured_inputs
        return {name: captured[index] for name, index in zip(self.captured_tensors, self.captured_indices)}

    def run(self, feeds: dict[str, Any]) -> dict[str, Any]:
        """Run the source signature on numpy ``feeds``; returns numpy outputs by name."""
        import tensorflow as tf

        tensors = {s.name: tf.constant(feeds[s.name], dtype=s.dtype) for s in self.inputs}
        return {k: np.asarray(v.numpy()) for k, v in self.signature(**tensors).items()}


def op_defs_of(graph_def: Any) -> dict[str, Any]:
    """Op type -> TensorFlow's ``OpDef`` for the ops of ``graph_def``'s nodes that TensorFlow registers.

    An ``OpDef`` gives each output's dtype from the node's attrs; the segment
    classifier reads it to find the tensors TensorRT cannot hold, and takes it from
    here so that segment code never imports TensorFlow.
    """
    from tensorflow.python.framework import op_def_registry

    return {op: op_def for op in sorted({node.op for node in graph_def.node}) if (op_def := op_def_registry.get(op)) is not None}


def load_source(model: Any, *, signature: str | None = None) -> Source:
    """Load ``model`` into a :class:`Source`.

    Args:
        model: A SavedModel directory (str or Path), a ``.keras`` file, or a
            ``keras.Model``. A :class:`Source` is returned unchanged.
        signature: Signature key to convert (default ``serving_default``).

    Returns:
        The loaded source.

    Raises:
        SourceError: the path is missing or not a model, ``saved_model.pb`` is
            corrupt, the signature does not exist (the message lists the ones that
            do), or an input or output has a dtype no model takes (complex,
            quantized, variant). Strings, unknown dims and unknown ranks load: each
            route says what it can take.

    Example:
        >>> src = load_source("resnet_savedmodel/")          # doctest: +SKIP
        >>> src.inputs[0].shape                               # doctest: +SKIP
        (None, 224, 224, 3)
    """
    if isinstance(model, Source):
        return model
    started = time.perf_counter()
    tempdir = None
    keras_model = None
    if isinstance(model, (str, Path)):
        path = Path(model)
        if not path.exists():
            raise SourceError(f"Expected a SavedModel directory or a .keras file. Received: path={str(path)!r}, which does not exist.")
        if path.is_file():
            if path.suffix != ".keras":
                hint = "a SavedModel is a directory holding saved_model.pb"
                if path.name in ("saved_model.pb", "saved_model.pbtxt"):
                    hint = f"pass the SavedModel directory {str(path.parent)!r} instead"
                raise SourceError(
                    f"Expected a SavedModel directory or a .keras file. Received: path={str(path)!r}, "
                    f"a file that is neither ({hint})."
                )
            keras_model = _load_keras_file(path)
        else:
            saved_model_dir, description = path, str(path)
    elif _is_keras_model(model):
        keras_model = model
    else:
        raise SourceError(
            "Expected a SavedModel directory, a .keras file or a keras.Model. "
            f"Received: model of type {type(model).__name__}."
        )
    if keras_model is not None:
        tempdir = tempfile.TemporaryDirectory(prefix="tftrt_kit_src_")
        saved_model_dir = Path(tempdir.name) / "saved_model"
        description = f"keras.Model {keras_model.name!r}" if not isinstance(model, (str, Path)) else str(model)
        _export_keras(keras_model, saved_model_dir)
    loaded = _load_saved_model(saved_model_dir)
    load_seconds = time.perf_counter() - started
    source = _freeze(loaded, saved_model_dir, description, signature or DEFAULT_SIGNATURE)
    source.keras_model = keras_model
    source._tempdir = tempdir
    source.seconds["load"] = load_seconds
    return source


def _is_keras_model(obj: Any) -> bool:
    return any(c.__module__.startswith("keras") and c.__name__ in ("Model", "Layer") for c in type(obj).__mro__)


def _load_keras_file(path: Path) -> Any:
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as err:
        raise SourceError(f"Expected a readable .keras model file. Received: path={str(path)!r}, which failed to load: {err}") from err


def _export_keras(model: Any, directory: Path) -> None:
    try:
        model.export(str(directory), format="tf_saved_model", verbose=False)
    except Exception as err:
        raise SourceError(
            f"Expected a Keras model that exports to a SavedModel. Received: model={model.name!r}, "
            f"whose export failed: {err}. Build or call the model once so its input shapes are known."
        ) from err


def _load_saved_model(path: Path) -> Any:
    from tftrt_kit.saved_model_load import load_saved_model

    try:
        contents = sorted(p.name for p in path.iterdir())
    except OSError as err:
        raise SourceError(f"Expected a readable SavedModel directory. Received: path={str(path)!r} ({err}).") from err
    if "saved_model.pb" not in contents and "saved_model.pbtxt" not in contents:
        raise SourceError(
            f"Expected a SavedModel directory holding saved_model.pb. Received: path={str(path)!r} "
            f"containing {contents[:10] or 'nothing'}."
        )
    try:
        return load_saved_model(path)
    except Exception as err:
        raise SourceError(
            f"Expected a loadable SavedModel. Received: path={str(path)!r}, which TensorFlow failed to "
            f"load ({type(err).__name__}: {_first_line(err)}). {_diagnose(path)}"
        ) from err


def _diagnose(path: Path) -> str:
    """Name the damaged part of a SavedModel TensorFlow refused, and the fix."""
    from tensorflow.core.protobuf import saved_model_pb2

    pb = path / "saved_model.pb"
    if pb.is_file():
        data = pb.read_bytes()
        proto = saved_model_pb2.SavedModel()
        try:
            proto.ParseFromString(data)
        except Exception:
            return f"{str(pb)!r} ({len(data)} bytes) is not a SavedModel protobuf (truncated or corrupt): export the model again."
        if not proto.meta_graphs:
            return f"{str(pb)!r} ({len(data)} bytes) holds no MetaGraph (empty or truncated): export the model again."
    variables = path / "variables"
    if not (variables / "variables.index").is_file():
        return (
            f"{str(variables)!r} is missing or has no variables.index: copy the whole SavedModel directory, "
            "variables/ included, or export the model again."
        )
    return "Check that saved_model.pb and variables/ come from the same export."


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else ""


def _spec_of(name: str, tensor_spec: Any, role: str, where: str) -> TensorSpec:
    dtype = tensor_spec.dtype.name
    if dtype not in SIGNATURE_DTYPES:
        raise SourceError(
            f"Expected {role}s of a numeric, bool or string dtype ({', '.join(sorted(SIGNATURE_DTYPES))}). "
            f"Received: {role} {name!r} of {where} with dtype {dtype}."
        )
    shape = None if tensor_spec.shape.rank is None else tuple(tensor_spec.shape.as_list())
    return TensorSpec(name, dtype, shape)


def _freeze(loaded: Any, saved_model_dir: Path, description: str, key: str) -> Source:
    from tftrt_kit.freeze import freeze

    keys = tuple(sorted(loaded.signatures.keys()))
    if not keys:
        raise SourceError(
            f"Expected a SavedModel with at least one signature. Received: {description!r} with none; save it with "
            "tf.saved_model.save(obj, path, signatures=...) or export the Keras model with model.export(path)."
        )
    if key not in loaded.signatures:
        raise SourceError(f"Expected a signature of {description!r}. Received: signature={key!r}; available: {list(keys)}.")
    function = loaded.signatures[key]
    where = f"signature {key!r} of {description!r}"
    _, kwargs = function.structured_input_signature
    inputs = tuple(_spec_of(name, kwargs[name], "input", where) for name in sorted(kwargs))
    outputs_struct = function.structured_outputs
    if not isinstance(outputs_struct, dict):
        raise SourceError(f"Expected a signature returning a dict of tensors. Received: {where} returning {type(outputs_struct).__name__}.")
    outputs = tuple(_spec_of(name, outputs_struct[name], "output", where) for name in sorted(outputs_struct))
    started = time.perf_counter()
    try:
        frozen = freeze(function)
    except Exception as err:
        raise SourceError(f"Expected a signature whose variables can be frozen. Received: {where}, which failed: {_first_line(err)}") from err
    fed = len(inputs)
    captured = frozen.inputs[fed:]
    return Source(
        description=description,
        saved_model_dir=saved_model_dir,
        signature_key=key,
        signature_keys=keys,
        inputs=inputs,
        outputs=outputs,
        graph_def=frozen.graph_def,
        weights=frozen.weights,
        input_tensors=frozen.inputs[:fed],
        output_tensors=frozen.outputs,
        captured_tensors=captured,
        captured_indices=_capture_indices(function, captured, where),
        seconds={"freeze": time.perf_counter() - started},
        _loaded=loaded,
    )


def _capture_indices(function: Any, captured: tuple[str, ...], where: str) -> tuple[int, ...]:
    """Index in ``function.captured_inputs`` of each resource the frozen graph still reads as an input.

    Freezing turns variables into constants but keeps other resources (lookup tables)
    as ``Placeholder`` inputs named like the signature graph's own capture
    placeholders, whose order is that of ``captured_inputs``.
    """
    placeholders = [t.name for t in function.graph.internal_captures]
    unknown = [name for name in captured if name not in placeholders]
    if unknown:
        raise SourceError(
            f"Expected every extra input of the frozen signature to be one of its captured resources. "
            f"Received: {unknown} of {where}, which the signature does not capture."
        )
    return tuple(placeholders.index(name) for name in captured)
