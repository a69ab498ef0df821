"""Parse and build ONNX models with TensorRT or TensorRT-RTX, through Polygraphy's loaders.

TensorRT-RTX's builder runs without a GPU ("CPU-only" mode): parsing, support
queries and the engine build all work and produce a real plan, which is how
acceptance is checked on machines without a GPU. Running a plan needs a GPU
(:mod:`tftrt_kit.engines.tensorrt_runner`). Polygraphy drives the TensorRT API
(``CreateConfig``, ``Profile``, ``EngineBytesFromNetwork``); this module decides what
to build and keeps what the report needs, with TensorRT's own log for every failure.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Sequence

from tftrt_kit._optional import require
from tftrt_kit.engines.plan_profiles import batch_profiles, check_coverage, normalize_profiles, with_shape_values
from tftrt_kit.engines.trt_log import capture, logger_for
from tftrt_kit.engines.trt_module import BACKENDS, describe, polygraphy_bound, resolve_backend
from tftrt_kit.errors import ConfigError, EngineBuildError
from tftrt_kit.precisions import PRECISIONS
from tftrt_kit.profiles import DEFAULT_BATCH, Profile, profiles_to_json
from tftrt_kit.report.tensorrt import TensorRTCheck, UnsupportedNode

#: Refused nodes named in a build error's message (the check keeps all of them).
_LISTED = 10

__all__ = ["BACKENDS", "BuildOptions", "EngineOptions", "PRECISIONS", "TensorRTBuilder", "TensorRTCheck", "UnsupportedNode", "resolve_backend"]


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    """How a plan is built.

    Attributes:
        precision: ``fp32``, ``fp16`` or ``int8``. Networks are strongly typed, so
            precision comes from the ONNX itself: FP16 weights (see
            :func:`tftrt_kit.export.convert_to_fp16`) or explicit Q/DQ.
        profiles: Optimization profiles, each ``{input_name: (min, opt, max)}``; several
            per plan. None: one profile over a dynamic batch dim, from ``batch_sizes``.
            A shape-tensor input's entry here (its shape) is not used: see ``shape_values``.
        shape_values: Per profile, ``{input_name: (min, opt, max)}`` VALUES of the inputs
            the parsed network reads as shapes (``is_shape_tensor``); one value per element.
        batch_sizes: ``(min, opt, max)`` of the default profile when ``profiles`` is None.
        workspace_bytes: Workspace memory pool limit; None leaves TensorRT's default.
        builder_optimization_level: TensorRT's builder optimization level (0-5); None
            leaves TensorRT's default (3).
        timing_cache: File the builder's timing cache is read from and merged into.
    """

    precision: str = "fp32"
    profiles: tuple[Profile, ...] | None = None
    shape_values: tuple[Profile, ...] | None = None
    batch_sizes: tuple[int, int, int] = DEFAULT_BATCH
    workspace_bytes: int | None = 1 << 30
    builder_optimization_level: int | None = None
    timing_cache: Path | None = None

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"Expected precision in {PRECISIONS}. Received: precision={self.precision!r}")
        if self.workspace_bytes is not None and self.workspace_bytes < 1:
            raise ConfigError(f"Expected workspace_bytes >= 1. Received: workspace_bytes={self.workspace_bytes}")
        level = self.builder_optimization_level
        if level is not None and not 0 <= level <= 5:
            raise ConfigError(f"Expected builder_optimization_level in 0..5. Received: builder_optimization_level={level}")
        if self.profiles is not None:
            object.__setattr__(self, "profiles", normalize_profiles(self.profiles))
        if self.shape_values is not None:
            object.__setattr__(self, "shape_values", normalize_profiles(self.shape_values, what="values"))


@dataclasses.dataclass(frozen=True)
class EngineOptions:
    """How TensorRT builds every plan of one conversion: ``convert(engine=...)`` and the CLI flags.

    Attributes:
        workspace_bytes: Workspace memory pool limit of each build (``--workspace``);
            None leaves TensorRT's default.
        builder_optimization_level: 0-5 (``--builder-optimization-level``); None:
            TensorRT's default (3). Higher levels search longer for faster kernels.
        timing_cache: A timing cache file read before and merged into after every
            build (``--timing-cache``); None: a fresh cache per conversion. Either
            way one cache serves every plan of the conversion and each artifact
            keeps a copy.

    Example:
        >>> tftrt_kit.convert("model_dir", engine=EngineOptions(workspace_bytes=2 << 30))  # doctest: +SKIP
    """

    workspace_bytes: int | None = 1 << 30
    builder_optimization_level: int | None = None
    timing_cache: Path | None = None

    def __post_init__(self) -> None:
        if self.timing_cache is not None:
            object.__setattr__(self, "timing_cache", Path(self.timing_cache))
        self.build_options("fp32")  # the same checks as BuildOptions, at construction

    def build_options(
        self, precision: str, profiles: Sequence[Profile] | None = None, shape_values: Sequence[Profile] | None = None
    ) -> "BuildOptions":
        """The :class:`BuildOptions` of one plan of the conversion."""
        return BuildOptions(
            precision=precision,
            profiles=None if profiles is None else tuple(profiles),
            shape_values=None if shape_values is None else tuple(shape_values),
            workspace_bytes=self.workspace_bytes,
            builder_optimization_level=self.builder_optimization_level,
            timing_cache=self.timing_cache,
        )


class TensorRTBuilder:
    """Parses ONNX models and builds serialized plans with one TensorRT module, through Polygraphy.

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
        from tftrt_kit.engines.gpu import gpu_available

        self.module_name = resolve_backend(backend)
        self.trt = require(self.module_name, "Building TensorRT engines")
        self.description = describe(self.trt, gpu=gpu_available())

    @property
    def backend(self) -> str:
        """Module name and version, e.g. ``tensorrt_rtx 1.7.1.116``."""
        return f"{self.module_name} {self.trt.__version__}"

    def __repr__(self) -> str:
        return f"TensorRTBuilder(backend={self.backend!r})"

    def _new_check(self, **fields: Any) -> TensorRTCheck:
        return TensorRTCheck(backend=self.backend, builder=self.description, **fields)

    def _parse(self, model: Any) -> tuple[Any, Any, Any, list[UnsupportedNode]]:
        """Parse inside a Polygraphy binding and a log capture; returns builder, network, parser, refusals.

        A model over :data:`tftrt_kit.onnx_files.EXTERNAL_DATA_BYTES` is parsed from a
        file with external data (protobuf cannot serialize it past 2 GiB).
        """
        from tftrt_kit.engines.polygraphy_loaders import NetworkFromOnnxKeepingErrors
        from tftrt_kit.onnx_files import model_on_disk

        with capture() as log, model_on_disk(model) as path:
            builder, network, parser, parsed_ok = NetworkFromOnnxKeepingErrors(path or model.SerializeToString())()
        refused = [_unsupported(parser.get_error(i)) for i in range(parser.num_errors)]
        if not parsed_ok and not refused:
            refused = [UnsupportedNode("", "", log.reason() or "the ONNX parser failed without naming a node")]
        return builder, network, parser, refused

    def check(self, model: Any) -> TensorRTCheck:
        """Parse ``model`` (an ``onnx.ModelProto``) and report every node TensorRT refuses, with its reason."""
        with polygraphy_bound(self.trt):
            _, network, _, refused = self._parse(model)
            return self._new_check(accepted=not refused, unsupported_nodes=refused, network_layers=network.num_layers)

    def supported_node_names(self, model: Any) -> set[str]:
        """Names of the nodes that lie in a subgraph TensorRT's parser supports."""
        from polygraphy.backend.trt import CreateNetwork

        from tftrt_kit.onnx_files import model_on_disk

        names = [node.name for node in model.graph.node]
        with polygraphy_bound(self.trt), capture(), model_on_disk(model) as path:
            builder, network = CreateNetwork(strongly_typed=True)()
            parser = self.trt.OnnxParser(network, logger_for(self.trt))
            if path is None:
                parser.supports_model_v2(model.SerializeToString())
            else:  # the file without its weights, which TensorRT reads from the data file next to ``path``
                parser.supports_model_v2(path.read_bytes(), str(path))
            supported: set[str] = set()
            for index in range(parser.num_subgraphs):
                if parser.is_subgraph_supported(index):
                    supported.update(names[i] for i in parser.get_subgraph_nodes(index))
            del parser, network, builder  # the parser holds the network: release in order
        return supported

    def build(self, model: Any, options: BuildOptions = BuildOptions()) -> tuple[bytes, TensorRTCheck]:
        """Build a serialized plan from ``model``.

        Args:
            model: An ``onnx.ModelProto`` (FP16 or Q/DQ already applied for those precisions).
            options: Precision, profiles, workspace, optimization level and timing cache.

        Returns:
            ``(plan, check)``: the serialized plan and what the build measured.

        Raises:
            EngineBuildError: the parser refused nodes (all named) or the build failed
                (TensorRT's own message). Its ``check`` attribute holds the
                :class:`TensorRTCheck` of the attempt, with ``error`` set.
        """
        # The outer capture keeps TensorRT's incidental messages (e.g. reading is_shape_tensor) off the terminal.
        with polygraphy_bound(self.trt), capture():
            builder, network, parser, refused = self._parse(model)
            check = self._new_check(accepted=not refused, unsupported_nodes=refused, network_layers=network.num_layers, precision=options.precision)
            if refused:
                # Every refusal stays in check.unsupported_nodes; the message names the first few.
                listed = "; ".join(f"{n.op_type} node {n.node!r}: {n.reason}" for n in refused[:_LISTED])
                more = f" (+{len(refused) - _LISTED} more)" if len(refused) > _LISTED else ""
                check.error = f"{len(refused)} node(s) refused by the {self.description} parser: {listed}{more}"
                raise _build_error(f"Expected an ONNX model {self.backend} parses in full. Received: {check.error}", check)
            profiles, shape_tensors = self._profiles(network, options, check)
            check.profiles = profiles_to_json({n: s for n, s in p.items() if n not in shape_tensors} for p in profiles)
            check.shape_values = profiles_to_json({n: s for n, s in p.items() if n in shape_tensors} for p in profiles) if shape_tensors else []
            serialized, seconds = self._build(builder, network, parser, profiles, options, check)
            # The network reads its weights from the parser: both released before the plan is copied out.
            del builder, network, parser
            plan = bytes(serialized)
            del serialized
        check.plan_bytes, check.build_seconds = len(plan), seconds
        return plan, check

    def _profiles(self, network: Any, options: BuildOptions, check: TensorRTCheck) -> tuple[tuple[Profile, ...], dict[str, tuple]]:
        """The profiles TensorRT gets: shapes of the dynamic inputs, values of the shape-tensor inputs."""
        inputs = [network.get_input(i) for i in range(network.num_inputs)]
        shape_tensors = {t.name: tuple(t.shape) for t in inputs if t.is_shape_tensor}
        dynamic = {t.name: tuple(t.shape) for t in inputs if -1 in tuple(t.shape) and t.name not in shape_tensors}
        try:
            if options.profiles is not None:
                profiles = options.profiles
            else:
                profiles = normalize_profiles(batch_profiles(dynamic, options.batch_sizes))
            profiles = with_shape_values(profiles, shape_tensors, options.shape_values or ())
            check_coverage(profiles, dynamic, shape_tensors)
        except EngineBuildError as err:
            check.error = str(err)
            raise _build_error(str(err), check) from None
        return profiles, shape_tensors

    def _build(self, builder: Any, network: Any, parser: Any, profiles: Sequence[Profile], options: BuildOptions, check: TensorRTCheck) -> tuple[Any, float]:
        """The serialized plan (TensorRT's host memory) and the build's seconds."""
        from polygraphy.backend.trt import CreateConfig, EngineBytesFromNetwork, Profile
        from polygraphy.exception import PolygraphyException

        pools = {self.trt.MemoryPoolType.WORKSPACE: options.workspace_bytes} if options.workspace_bytes is not None else None
        cache = str(options.timing_cache) if options.timing_cache is not None else None
        config = CreateConfig(
            profiles=[_polygraphy_profile(Profile, p) for p in profiles] or None,
            memory_pool_limits=pools,
            builder_optimization_level=options.builder_optimization_level,
            load_timing_cache=cache if cache and Path(cache).is_file() else None,
        )
        started = time.perf_counter()
        with capture() as log:
            try:
                serialized = EngineBytesFromNetwork((builder, network, parser), config=config, save_timing_cache=cache)()
            except PolygraphyException as err:
                check.error = log.reason() or str(err)
                raise _build_error(f"Expected {self.description} to build a {options.precision} plan. Received: {check.error}", check) from None
        return serialized, time.perf_counter() - started


def _unsupported(error: Any) -> UnsupportedNode:
    """One parser error as a refused node; the reason names TensorRT's check when its text is terse."""
    code = getattr(error.code(), "name", str(error.code()))
    where = f" in {error.func()}" if error.func() else ""
    return UnsupportedNode(node=error.node_name(), op_type=error.node_operator(), reason=f"{code}{where}: {error.desc()}")


def _polygraphy_profile(profile_type: type, shapes: Profile) -> Any:
    profile = profile_type()
    for name, (low, opt, high) in shapes.items():
        profile.add(name, min=low, opt=opt, max=high)
    return profile


def _build_error(message: str, check: TensorRTCheck) -> EngineBuildError:
    return EngineBuildError(message, check=check)
