"""Parse and build ONNX models with TensorRT or TensorRT-RTX (the same Python API shape).

TensorRT-RTX's builder runs without a GPU ("CPU-only" mode): parsing, support
queries and ``build_serialized_network`` all work and produce a real plan, which
is how acceptance is checked on machines without a GPU. Running a plan needs a GPU
(:mod:`tftrt_kit.engines.tensorrt_runner`).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Sequence

from tftrt_kit._optional import available, require
from tftrt_kit.errors import ConfigError, EngineBuildError, MissingDependencyError

BACKENDS = ("tensorrt", "tensorrt_rtx")
PRECISIONS = ("fp32", "fp16", "int8")


@dataclasses.dataclass(frozen=True)
class UnsupportedNode:
    """A node the TensorRT ONNX parser refused, with the parser's own reason."""

    node: str
    op_type: str
    reason: str


@dataclasses.dataclass
class TensorRTCheck:
    """What TensorRT made of one ONNX model.

    Attributes:
        backend: Module and version that answered, e.g. ``"tensorrt_rtx 1.7.1.116"``.
        accepted: Whether the parser took every node.
        unsupported_nodes: Nodes refused, each with the parser's message.
        plan_bytes: Size of the serialized plan, when one was built.
        build_seconds: Time of ``build_serialized_network``, when one was built.
        network_layers: Layers of the parsed TensorRT network.
        precision: Precision the plan was built for.
        error: Why a build failed, when it did.
    """

    backend: str
    accepted: bool
    unsupported_nodes: list[UnsupportedNode] = dataclasses.field(default_factory=list)
    plan_bytes: int | None = None
    build_seconds: float | None = None
    network_layers: int | None = None
    precision: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TensorRTCheck":
        """Inverse of :meth:`to_dict`."""
        fields = dict(data)
        fields["unsupported_nodes"] = [UnsupportedNode(**n) for n in data.get("unsupported_nodes", [])]
        return cls(**fields)


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    """How a plan is built.

    Attributes:
        precision: ``fp32``, ``fp16`` or ``int8``. With a strongly typed network
            (TensorRT >= 10 and TensorRT-RTX) precision comes from the ONNX itself:
            FP16 weights (see :func:`tftrt_kit.export.convert_to_fp16`) or explicit Q/DQ.
        batch_sizes: ``(min, opt, max)`` of the optimization profile for a dynamic batch.
        workspace_bytes: Workspace memory pool limit.
        timing_cache: File to read and update with the builder's timing cache.
    """

    precision: str = "fp32"
    batch_sizes: tuple[int, int, int] = (1, 8, 32)
    workspace_bytes: int = 1 << 30
    timing_cache: Path | None = None


def resolve_backend(backend: str = "auto") -> str:
    """Pick the TensorRT module: ``tensorrt`` first, then ``tensorrt_rtx``.

    Raises:
        MissingDependencyError: neither is installed, naming both extras.
        ConfigError: ``backend`` is not one of ``auto``, ``tensorrt``, ``tensorrt_rtx``.
    """
    if backend == "auto":
        for name in BACKENDS:
            if available(name):
                return name
        raise MissingDependencyError(
            "Building TensorRT engines needs 'tensorrt' (GPU machines: pip install 'tftrt_kit[tensorrt]') "
            "or 'tensorrt_rtx' (pip install 'tftrt_kit[rtx]'). Received: neither is installed."
        )
    if backend not in BACKENDS:
        raise ConfigError(f"Expected backend in {('auto',) + BACKENDS}. Received: backend={backend!r}")
    return backend


class TensorRTBuilder:
    """Parses ONNX models and builds serialized plans with one TensorRT module.

    Args:
        backend: ``"auto"`` (``tensorrt`` if installed, else ``tensorrt_rtx``),
            ``"tensorrt"`` or ``"tensorrt_rtx"``.

    Raises:
        MissingDependencyError: the module is not installed.

    Example:
        >>> builder = TensorRTBuilder("tensorrt_rtx")                     # doctest: +SKIP
        >>> plan, check = builder.build(onnx_model, BuildOptions("fp16"))  # doctest: +SKIP
    """

    def __init__(self, backend: str = "auto"):
        self.module_name = resolve_backend(backend)
        self.trt = require(self.module_name, "Building TensorRT engines")
        self.logger = self.trt.Logger(self.trt.Logger.ERROR)
        self.builder = self.trt.Builder(self.logger)

    @property
    def backend(self) -> str:
        """Module name and version, e.g. ``tensorrt_rtx 1.7.1.116``."""
        return f"{self.module_name} {self.trt.__version__}"

    def __repr__(self) -> str:
        return f"TensorRTBuilder(backend={self.backend!r})"

    def _strongly_typed(self) -> bool:
        return hasattr(self.trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED")

    def _parse(self, model: Any) -> tuple[Any, Any, list[UnsupportedNode]]:
        trt = self.trt
        flags = 0
        if self._strongly_typed():
            flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        elif hasattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH"):
            flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
        network = self.builder.create_network(flags)
        parser = trt.OnnxParser(network, self.logger)
        parser.parse(model.SerializeToString())
        refused = []
        for index in range(parser.num_errors):
            error = parser.get_error(index)
            refused.append(UnsupportedNode(node=error.node_name(), op_type=error.node_operator(), reason=error.desc()))
        return network, parser, refused

    def check(self, model: Any) -> TensorRTCheck:
        """Parse ``model`` (an ``onnx.ModelProto``) and report which nodes TensorRT refuses."""
        network, _, refused = self._parse(model)
        return TensorRTCheck(
            backend=self.backend,
            accepted=not refused,
            unsupported_nodes=refused,
            network_layers=network.num_layers,
        )

    def supported_node_names(self, model: Any) -> set[str]:
        """Names of the nodes that lie in a subgraph TensorRT's parser supports."""
        parser = self.trt.OnnxParser(self.builder.create_network(0), self.logger)
        parser.supports_model_v2(model.SerializeToString())
        names = [node.name for node in model.graph.node]
        supported: set[str] = set()
        for index in range(parser.num_subgraphs):
            if parser.is_subgraph_supported(index):
                supported.update(names[i] for i in parser.get_subgraph_nodes(index))
        return supported

    def build(self, model: Any, options: BuildOptions = BuildOptions()) -> tuple[bytes, TensorRTCheck]:
        """Build a serialized plan from ``model``.

        Args:
            model: An ``onnx.ModelProto`` (FP16 or Q/DQ already applied for those precisions).
            options: Precision, batch profile, workspace and timing cache.

        Returns:
            ``(plan, check)``: the serialized plan and what the build measured.

        Raises:
            EngineBuildError: the parser refused nodes (all named) or the build failed.
        """
        if options.precision not in PRECISIONS:
            raise ConfigError(f"Expected precision in {PRECISIONS}. Received: precision={options.precision!r}")
        network, _parser, refused = self._parse(model)
        if refused:
            listed = "; ".join(f"{n.op_type} node {n.node!r}: {n.reason}" for n in refused[:10])
            raise EngineBuildError(f"Expected an ONNX model {self.backend} parses in full. Received: {len(refused)} refused node(s): {listed}")
        config = self._config(network, options)
        started = time.perf_counter()
        serialized = self.builder.build_serialized_network(network, config)
        seconds = time.perf_counter() - started
        if serialized is None:
            raise EngineBuildError(f"Expected {self.backend} to build a {options.precision} plan. Received: build_serialized_network returned None.")
        plan = bytes(serialized)
        self._save_timing_cache(config, options.timing_cache)
        check = TensorRTCheck(
            backend=self.backend,
            accepted=True,
            plan_bytes=len(plan),
            build_seconds=seconds,
            network_layers=network.num_layers,
            precision=options.precision,
        )
        return plan, check

    def _config(self, network: Any, options: BuildOptions) -> Any:
        trt = self.trt
        config = self.builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_bytes)
        if not self._strongly_typed():
            flag = {"fp16": "FP16", "int8": "INT8"}.get(options.precision)
            if flag:
                config.set_flag(getattr(trt.BuilderFlag, flag))
        cache_bytes = options.timing_cache.read_bytes() if options.timing_cache and options.timing_cache.is_file() else b""
        config.set_timing_cache(config.create_timing_cache(cache_bytes), True)
        profile = _batch_profile(self.builder, network, options.batch_sizes)
        if profile is not None:
            config.add_optimization_profile(profile)
        return config

    @staticmethod
    def _save_timing_cache(config: Any, path: Path | None) -> None:
        if path is None:
            return
        cache = config.get_timing_cache()
        if cache is not None:
            path.write_bytes(bytes(cache.serialize()))


def _batch_profile(builder: Any, network: Any, batch_sizes: Sequence[int]) -> Any:
    """An optimization profile over the batch dimension, or None for static inputs.

    TensorRT needs min/opt/max for every dynamic dimension; only a dynamic leading
    (batch) dimension is supported here, other dynamic dimensions are an error.
    """
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    if not any(-1 in tuple(t.shape) for t in inputs):
        return None
    profile = builder.create_optimization_profile()
    for tensor in inputs:
        shape = tuple(tensor.shape)
        if -1 in shape[1:]:
            raise EngineBuildError(
                f"Expected only the batch dimension of input {tensor.name!r} to be dynamic. "
                f"Received: shape {list(shape)}; give the model static non-batch dimensions."
            )
        shapes = [tuple([b, *shape[1:]]) if shape and shape[0] == -1 else shape for b in batch_sizes]
        profile.set_shape(tensor.name, *shapes)
    return profile
