"""``tftrt_kit.convert``: run the routes on one source and return the Report."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import platform
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from tftrt_kit._memory import collect_if_large, collections_skip_existing_objects
from tftrt_kit.errors import ConfigError
from tftrt_kit.evaluate import sample_inputs
from tftrt_kit.profiles import evaluation_shapes, resolve_profiles
from tftrt_kit.report.data import Report, RouteResult, SourceSummary
from tftrt_kit.report.measures import Tolerances
from tftrt_kit.routes import RouteContext
from tftrt_kit.routes.registry import default_routes
from tftrt_kit.routes.registry import routes as registered_routes
from tftrt_kit.source import load_source


def convert(
    source: Any,
    *,
    routes: Sequence[str] | None = None,
    precision: str = "fp32",
    calibration_data: Any = None,
    calibration_method: str = "max",
    output_dir: str | Path | None = None,
    overwrite: bool = False,
    signature: str | None = None,
    sample_data: Mapping[str, np.ndarray] | None = None,
    shapes: Any = None,
    backend: str = "auto",
    build_plans: bool = True,
    benchmark: Any = True,
    tolerances: Tolerances | None = None,
    route_options: Mapping[str, Any] | None = None,
    progress: bool = False,
    engine: Any = None,
) -> Report:
    """Convert ``source`` by each route and report how the routes differ.

    Args:
        source: SavedModel directory, ``.keras`` file or ``keras.Model``.
        routes: Route names, in order; default: the registry's default routes
            (``("segment", "onnx")``, see :mod:`tftrt_kit.routes.registry`).
        precision: ``"fp32"``, ``"fp16"`` or ``"int8"`` (INT8 needs ``calibration_data``).
        calibration_data: Inputs for INT8 calibration: arrays, dict of arrays, a
            ``tf.data.Dataset`` or a generator.
        calibration_method: INT8 calibration: ``"max"``, ``"percentile"``, ``"entropy"``
            (TensorRT's KL calibrator) or ``"mse"`` (Keras-level quantization only).
        output_dir: Where artifacts go (``<output_dir>/<route>``); a temporary
            directory when omitted (``report.routes[r].artifact_dir`` says where).
        overwrite: Replace existing artifacts in ``output_dir``.
        signature: Signature to convert (default ``serving_default``).
        sample_data: Inputs for accuracy. When omitted: for INT8, the last rows of
            ``calibration_data`` (20%, at most 32), held out from calibration so the verdict
            is not judged on rows that set the scales (the report names the rows); for
            other precisions, the first calibration batch (up to 32 rows) if given; else
            generated from the input specs with a fixed seed at the opt shapes of the first
            optimization profile (integers 0 or 1, which every lookup accepts). If the inputs
            cannot be run, the route keeps its artifact and reports "not evaluated" with the
            reason. Latency is always measured on generated inputs at the opt shapes, the
            batch taking each size of the sweep, the source and the routes taking turns in
            interleaved rounds.
        shapes: Optimization profiles: ``{input: {"min": shape, "opt": shape, "max": shape}}``
            (a single shape fixes an input), or a list of such dicts, one per profile.
            Inputs not named take batch 1/8/32 for a dynamic leading dim and
            ``sample_data``'s size for other dynamic dims. A dynamic dim left without a
            size gets no plan, and the report says so.
        backend: TensorRT module: ``"auto"``, ``"tensorrt"`` or ``"tensorrt_rtx"``.
        build_plans: Build TensorRT plans where a builder is installed.
        benchmark: ``True`` (default :class:`~tftrt_kit.bench.BenchOptions`: batch sizes
            1, 8, 32 where the batch is dynamic), a ``BenchOptions``, or ``False`` to skip.
        tolerances: Accuracy thresholds per precision for each route's verdict
            (default :class:`~tftrt_kit.report.Tolerances`).
        route_options: Per-route options objects by route name, e.g.
            ``{"segment": SegmentOptions(minimum_segment_size=5)}``.
        progress: Show a progress bar over routes and stages on stderr (silent when
            stderr is not a terminal).
        engine: How TensorRT builds the plans: an
            :class:`~tftrt_kit.engines.tensorrt_builder.EngineOptions` (workspace,
            builder optimization level, timing cache file); default ``EngineOptions()``.
            Every plan of the conversion shares one timing cache, kept in each artifact.

    Returns:
        The :class:`~tftrt_kit.report.Report`. A route that failed is recorded
        with its error (``report.routes[name].ok`` is false); the others go on.

    Raises:
        SourceError: the source cannot be loaded.
        ConfigError: unknown route or precision, or ``benchmark`` of another type.
        RuntimeInputError: ``sample_data`` does not match the source's inputs.
        ConfigError: ``shapes`` do not fit the source's inputs (the message names the input).

    Example:
        >>> report = tftrt_kit.convert("resnet50_savedmodel", routes=("onnx",))  # doctest: +SKIP
        >>> print(report)                                                         # doctest: +SKIP
    """
    from tftrt_kit.native_logs import captured, quiet_tensorflow
    from tftrt_kit.preflight import check_call

    routes = default_routes() if routes is None else routes
    check_call(
        source, routes=routes, precision=precision, calibration_data=calibration_data, calibration_method=calibration_method,
        output_dir=output_dir, overwrite=overwrite, route_options=route_options,
    )
    engine = _engine_options(engine)
    registry = registered_routes()
    bench = _bench_options(benchmark)
    tolerances = tolerances if tolerances is not None else Tolerances()
    quiet_tensorflow()
    with captured(), _shared_timing_cache(engine) as engine, _progress_bar(progress, 1 + len(routes) * 2 + (0 if bench is None else 1)) as bar, \
            contextlib.ExitStack() as stack:
        from tftrt_kit.comparison import accuracy_inputs, benchmark_all

        bar.set_description("load source")
        loaded = load_source(source, signature=signature)
        collect_if_large(loaded)  # freezing's concrete functions and graphs (copies of the weights)
        stack.enter_context(collections_skip_existing_objects())  # TensorFlow's modules and the loaded source
        inputs = accuracy_inputs(loaded, precision=precision, calibration_data=calibration_data, sample_data=sample_data)
        plan = resolve_profiles(loaded.inputs, shapes, inputs.feeds)
        shapes_used, shapes_note = evaluation_shapes(loaded.inputs, plan)
        if inputs.feeds is None:
            generated = sample_inputs(loaded.inputs, seed=1, shapes=shapes_used)
            # A shape-tensor input takes its opt values: random ones would size nothing the model accepts.
            values = plan.opt_values()
            generated.update({n: np.asarray(v, dtype=generated[n].dtype).reshape(generated[n].shape) for n, v in values.items()})
            note = f" with shape-tensor values {', '.join(f'{n} {list(v)}' for n, v in values.items())}" if values else ""
            inputs = dataclasses.replace(inputs, feeds=generated, origin=f"generated (seed 1) at {shapes_note}{note}")
        bar.update()
        output = Path(output_dir) if output_dir is not None else temporary_output_dir()
        context = RouteContext(
            output_dir=output,
            precision=precision,
            backend=backend,
            build_plans=build_plans,
            calibration_data=inputs.calibration_data,
            calibration_method=calibration_method,
            overwrite=overwrite,
            progress=progress,
            engine=engine,
            profiles=plan,
            sample_data=inputs.feeds,
        )
        summary = _source_summary(loaded)
        summary.profiles = plan.to_dict()
        results, models = {}, {}
        options = dict(route_options or {})
        for name in routes:
            route = registry[name].route(options[name]) if name in options else registry[name].route()
            results[name], model = _run_route(route, loaded, context, inputs, tolerances, bar)
            if model is not None and bench is not None:
                models[name] = model  # only the benchmark runs it again: else released before the next route
            del model
            collect_if_large(loaded)  # the route's dropped copies, before the next route makes its own
        if bench is not None:
            bar.set_description("benchmark: source and routes in interleaved rounds")
            benchmark_all(loaded, summary, results, models, bench, shapes_used, plan.opt_values())
            bar.update()
    return Report(
        source=summary,
        routes=results,
        output_dir=output,
        temporary=output_dir is None,
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        machine=machine_info(),
        versions=versions(),
    )


def _engine_options(engine: Any) -> Any:
    from tftrt_kit.engines.tensorrt_builder import EngineOptions

    if engine is None:
        return EngineOptions()
    if not isinstance(engine, EngineOptions):
        raise ConfigError(f"Expected engine=EngineOptions(...) or None. Received: engine={engine!r}")
    return engine


@contextlib.contextmanager
def _shared_timing_cache(engine: Any) -> Iterator[Any]:
    """``engine`` with a timing cache file every build of the conversion shares (a fresh one unless given)."""
    if engine.timing_cache is not None:
        yield engine
        return
    import dataclasses

    with tempfile.TemporaryDirectory(prefix="tftrt_kit_timing_") as scratch:
        yield dataclasses.replace(engine, timing_cache=Path(scratch) / "timing.cache")


def temporary_output_dir() -> Path:
    """A fresh ``tftrt_kit_*`` directory in the system temporary folder, removed when Python exits.

    The artifacts of a call without ``output_dir`` stay loadable for the session (the
    report shows where) and leave nothing behind; pass ``output_dir`` to keep them.
    """
    import atexit
    import shutil

    path = Path(tempfile.mkdtemp(prefix="tftrt_kit_"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _bench_options(benchmark: Any) -> Any:
    from tftrt_kit.bench import BenchOptions

    if benchmark is True:
        return BenchOptions()
    if benchmark is False or benchmark is None:
        return None
    if isinstance(benchmark, BenchOptions):
        return benchmark
    raise ConfigError(f"Expected benchmark=True, False or a BenchOptions. Received: benchmark of type {type(benchmark).__name__}.")


@contextlib.contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[Any]:
    """One tqdm bar over routes and stages; ``disable=None`` keeps it silent when stderr is not a TTY."""
    if not enabled:
        yield _NoBar()
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, unit="step", disable=None, leave=False, dynamic_ncols=True) as bar:
        yield bar


class _NoBar:
    def set_description(self, _text: str) -> None:
        return None

    def update(self, _n: int = 1) -> None:
        return None


def _source_summary(source: Any) -> SourceSummary:
    return SourceSummary(
        description=source.description,
        signature=source.signature_key,
        inputs=list(source.inputs),
        outputs=list(source.outputs),
        nodes=len(source.graph_def.node),
        timings=dict(source.seconds),
    )


def _run_route(
    route: Any,
    source: Any,
    context: RouteContext,
    inputs: Any,
    tolerances: Tolerances,
    bar: Any,
) -> tuple[RouteResult, Any]:
    """Run one route's stages, then load and evaluate its artifact.

    An error makes the result failed (skipped, for a missing optional dependency), with no
    model: the result keeps every stage that ran, the failing one, the cause chain and the
    native log lines (TensorFlow, TensorRT) written meanwhile.
    """
    from tftrt_kit.comparison import evaluate_route, fingerprint
    from tftrt_kit.native_logs import active
    from tftrt_kit.routes.stages import record_failure, run_route, stage
    from tftrt_kit.runtime.artifact import check_output_dir
    from tftrt_kit.runtime.loader import load

    name = route.name
    log = active()
    mark = log.offset() if log is not None else 0
    result = RouteResult(name=name, precision=context.precision)
    try:
        check_output_dir(context.output_dir / name, overwrite=context.overwrite)
        bar.set_description(f"{name}: convert")
        run_route(route, source, context, result)
        collect_if_large(source)
        bar.update()
        fingerprint(result)
        with stage(result, "load artifact"):
            model = load(result.artifact_dir)
        for segment in result.segments:
            segment.executor = getattr(model, "segment_executors", {}).get(segment.name)
        bar.set_description(f"{name}: evaluate")
        with stage(result, "evaluate"):
            evaluate_route(result, model, source, inputs, tolerances.for_precision(result.precision))
        bar.update()
    except Exception as err:  # a dependency's own failure must not take the other routes down
        record_failure(result, err)
        lines = log.tail(mark) if log is not None else []
        if lines:
            result.details["native_log"] = lines
        return result, None
    return result, model


def machine_info() -> dict[str, Any]:
    """The machine a report was measured on."""
    import os

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    from tftrt_kit.engines.gpu import gpu_status

    gpu = gpu_status()
    return {
        "cpu": cpu, "cores": os.cpu_count(), "gpu": gpu.available, "gpu_note": gpu.reason or f"{gpu.devices} CUDA device(s)",
        "platform": platform.platform(), "python": platform.python_version(),
    }


def versions() -> dict[str, str]:
    """Versions of the libraries a report depends on (only those installed)."""
    from importlib import metadata

    found = {}
    for dist in ("tftrt_kit", "tensorflow", "tensorflow-cpu", "keras", "tf2onnx", "onnx", "onnxruntime", "tensorrt", "tensorrt-rtx-cu13"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return found
