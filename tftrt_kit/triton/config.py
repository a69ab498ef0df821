"""Triton ``config.pbtxt``: written from tftrt_kit's tensor specs, validated against Triton's schema.

Triton's model configuration is the protobuf message ``inference.ModelConfig``
(``model_config.proto``) in text format. tftrt_kit writes it from a
:class:`ModelConfig` and parses it back with ``tritonclient``'s copy of that
schema, so an unknown field, a bad enum or a wrong type is caught here, naming the
model and the line, rather than by a server at load time. Semantic checks that
only a server can make (does the ONNX really have this input?) stay with the server.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from tftrt_kit._optional import require
from tftrt_kit.errors import ConfigError, ModelConfigError
from tftrt_kit.source import TensorSpec

#: TensorFlow / numpy dtype name -> Triton ``DataType`` enum name.
TRITON_DTYPES = {
    "bool": "TYPE_BOOL",
    "uint8": "TYPE_UINT8", "uint16": "TYPE_UINT16", "uint32": "TYPE_UINT32", "uint64": "TYPE_UINT64",
    "int8": "TYPE_INT8", "int16": "TYPE_INT16", "int32": "TYPE_INT32", "int64": "TYPE_INT64",
    "float16": "TYPE_FP16", "float32": "TYPE_FP32", "float64": "TYPE_FP64", "bfloat16": "TYPE_BF16",
    "string": "TYPE_STRING",
}


@dataclasses.dataclass(frozen=True)
class BatchingOptions:
    """How Triton batches and places one model.

    Attributes:
        max_batch_size: Largest batch Triton forms; the batch dimension is folded into it
            (``dims`` then lists the other dimensions). Ignored (0) for a static batch.
        instances: Model instances per device (Triton's ``instance_group.count``).
        dynamic_batching: Let Triton merge concurrent requests into one batch.
        preferred_batch_sizes: Batch sizes the dynamic batcher aims for; None: powers of
            two from 4 up to ``max_batch_size``, and ``max_batch_size`` itself.
        max_queue_delay_us: How long a request may wait for others to join its batch.

    Raises:
        ConfigError: a non-positive size, or a preferred size above ``max_batch_size``.
    """

    max_batch_size: int = 16
    instances: int = 1
    dynamic_batching: bool = True
    preferred_batch_sizes: tuple[int, ...] | None = None
    max_queue_delay_us: int = 2000

    def __post_init__(self) -> None:
        if type(self.max_batch_size) is not int or self.max_batch_size < 1:
            raise ConfigError(f"Expected max_batch_size as a positive int. Received: max_batch_size={self.max_batch_size!r}.")
        if type(self.instances) is not int or self.instances < 1:
            raise ConfigError(f"Expected instances as a positive int. Received: instances={self.instances!r}.")
        if self.max_queue_delay_us < 0:
            raise ConfigError(f"Expected max_queue_delay_us >= 0. Received: max_queue_delay_us={self.max_queue_delay_us!r}.")
        sizes = self.preferred_batch_sizes
        if sizes is not None and (not sizes or any(type(b) is not int or not 1 <= b <= self.max_batch_size for b in sizes)):
            raise ConfigError(
                f"Expected preferred_batch_sizes as ints in [1, max_batch_size={self.max_batch_size}]. "
                f"Received: preferred_batch_sizes={sizes!r}."
            )

    def preferred(self, max_batch_size: int) -> tuple[int, ...]:
        """The preferred batch sizes for a model whose largest batch is ``max_batch_size``."""
        if self.preferred_batch_sizes is not None:
            return tuple(sorted({b for b in self.preferred_batch_sizes if b <= max_batch_size} or {max_batch_size}))
        return tuple(sorted({b for b in (4, 8, 16, 32, 64, 128) if b < max_batch_size} | {max_batch_size}))


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """One Triton model's configuration, rendered by :meth:`to_pbtxt`.

    Attributes:
        name: Model name (its directory in the repository).
        inputs: Input specs, batch dimension included when ``batched``.
        outputs: Output specs, likewise.
        platform: ``onnxruntime_onnx`` or ``tensorrt_plan``; or None with ``backend``.
        backend: ``python`` for a Python-backend model; or None with ``platform``.
        batched: Whether the leading dimension is the batch (folded into ``max_batch_size``).
        batching: Batch size, instances and dynamic batching.
        gpu: Place instances on GPUs (``KIND_GPU``) rather than CPUs (``KIND_CPU``).
        notes: Comment lines written at the top of the file.
        dtypes: Triton data type per tensor name, overriding the spec's dtype.
    """

    name: str
    inputs: Sequence[TensorSpec]
    outputs: Sequence[TensorSpec]
    platform: str | None = None
    backend: str | None = None
    batched: bool = True
    batching: BatchingOptions = BatchingOptions()
    gpu: bool = False
    notes: tuple[str, ...] = ()
    dtypes: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def max_batch_size(self) -> int:
        """Triton's ``max_batch_size``: 0 when the model's batch is static."""
        return self.batching.max_batch_size if self.batched else 0

    def to_pbtxt(self) -> str:
        """The ``config.pbtxt`` text.

        Raises:
            ConfigError: a tensor dtype Triton has no type for, or a tensor of unknown rank.
        """
        lines = [f"# {note}" for note in self.notes]
        lines.append(f'name: "{self.name}"')
        lines.append(f'platform: "{self.platform}"' if self.platform else f'backend: "{self.backend}"')
        lines.append(f"max_batch_size: {self.max_batch_size}")
        lines += self._tensors("input", self.inputs) + self._tensors("output", self.outputs)
        kind = "KIND_GPU" if self.gpu else "KIND_CPU"
        lines += ["instance_group [", "  {", f"    count: {self.batching.instances}", f"    kind: {kind}", "  }", "]"]
        if self.batched and self.batching.dynamic_batching:
            preferred = ", ".join(str(b) for b in self.batching.preferred(self.max_batch_size))
            lines += [
                "dynamic_batching {",
                f"  preferred_batch_size: [ {preferred} ]",
                f"  max_queue_delay_microseconds: {self.batching.max_queue_delay_us}",
                "}",
            ]
        return "\n".join(lines) + "\n"

    def _tensors(self, field: str, specs: Sequence[TensorSpec]) -> list[str]:
        entries = []
        for spec in specs:
            if spec.shape is None:
                raise ConfigError(
                    f"Expected tensors of known rank (a Triton model config lists every dim). "
                    f"Received: {field} {spec.name!r} of unknown rank."
                )
            shape = spec.shape[1:] if self.batched else spec.shape
            dims = [-1 if d is None else d for d in shape]
            # Triton needs at least one dim; a per-sample scalar is sent as [1] and reshaped to [].
            reshape = ["      reshape: { shape: [ ] }"] if not dims else []
            entries.append("\n".join([
                "  {",
                f'    name: "{spec.name}"',
                f"    data_type: {self.dtypes.get(spec.name) or triton_dtype(spec.dtype)}",
                f"    dims: [ {', '.join(str(d) for d in dims or [1])} ]",
                *reshape,
                "  }",
            ]))
        return [f"{field} [", ",\n".join(entries), "]"]


def triton_dtype(dtype: str) -> str:
    """Triton's ``DataType`` name for a TensorFlow/numpy dtype name (``float32`` -> ``TYPE_FP32``).

    Raises:
        ConfigError: a dtype Triton has no type for.
    """
    if dtype not in TRITON_DTYPES:
        raise ConfigError(f"Expected a tensor dtype in {sorted(TRITON_DTYPES)} for Triton. Received: dtype={dtype!r}.")
    return TRITON_DTYPES[dtype]


def parse_config(text: str, model: str) -> Any:
    """Parse ``config.pbtxt`` text into Triton's ``ModelConfig`` message and check what the schema cannot.

    Args:
        text: The config text.
        model: The model's name, for messages (and it must match the ``name`` field).

    Returns:
        The parsed ``inference.ModelConfig`` message.

    Raises:
        ModelConfigError: the text does not parse (the message names the line), or the
            parsed config names another model, has no input or output, or prefers a
            batch size above ``max_batch_size``.
        MissingDependencyError: ``tritonclient`` (extra ``serve``) is not installed.

    Example:
        >>> parse_config('name: "m"\\nbackend: "python"\\nmax_batch_size: 8', "m")  # doctest: +SKIP
    """
    from google.protobuf import text_format

    schema = require("tritonclient.grpc.model_config_pb2", "Validating Triton model configs")
    message = schema.ModelConfig()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as err:
        line = err.GetLine()
        quoted = text.splitlines()[line - 1].strip() if line and line <= len(text.splitlines()) else ""
        raise ModelConfigError(
            f"Expected a config.pbtxt that parses as Triton's inference.ModelConfig. Received: model {model!r}, "
            f"line {line}: {quoted!r}: {err}"
        ) from err
    problems = []
    if message.name != model:
        problems.append(f"name {message.name!r} differs from the model directory {model!r}")
    if not message.input or not message.output:
        problems.append("no input or no output")
    preferred = list(message.dynamic_batching.preferred_batch_size)
    if preferred and max(preferred) > message.max_batch_size:
        problems.append(f"preferred_batch_size {preferred} above max_batch_size {message.max_batch_size}")
    if problems:
        raise ModelConfigError(f"Expected a servable Triton config. Received: model {model!r} with {'; '.join(problems)}.")
    return message
