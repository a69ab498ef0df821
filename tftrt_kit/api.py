"""``tftrt_kit.convert``: run the routes on one source and return the Report."""

from __future__ import annotations

import datetime
import platform
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from tftrt_kit.errors import ConfigError, TftrtKitError
from tftrt_kit.report import Report, RouteResult, SourceSummary
from tftrt_kit.routes import RouteContext, load_routes
from tftrt_kit.routes.base import PRECISIONS
from tftrt_kit.source import load_source

DEFAULT_ROUTES = ("segment", "onnx")


def convert(
    source: Any,
    *,
    routes: Sequence[str] = DEFAULT_ROUTES,
    precision: str = "fp32",
    calibration_data: Any = None,
    output_dir: str | Path | None = None,
    overwrite: bool = False,
    signature: str | None = None,
    sample_data: Mapping[str, np.ndarray] | None = None,
    backend: str = "auto",
    build_plans: bool = True,
    benchmark: bool = True,
    route_options: Mapping[str, Any] | None = None,
) -> Report:
    """Convert ``source`` by each route and report how the routes differ.

    Args:
        source: SavedModel directory, ``.keras`` file or ``keras.Model``.
        routes: Route names, in order (``"segment"``, ``"onnx"``).
        precision: ``"fp32"``, ``"fp16"`` or ``"int8"`` (INT8 needs ``calibration_data``).
        calibration_data: Inputs for INT8 calibration: arrays, dict of arrays, a
            ``tf.data.Dataset`` or a generator.
        output_dir: Where artifacts go (``<output_dir>/<route>``); a temporary
            directory when omitted (``report.routes[r].artifact_dir`` says where).
        overwrite: Replace existing artifacts in ``output_dir``.
        signature: Signature to convert (default ``serving_default``).
        sample_data: Inputs for accuracy and latency; generated from the input specs
            with a fixed seed when omitted.
        backend: TensorRT module: ``"auto"``, ``"tensorrt"`` or ``"tensorrt_rtx"``.
        build_plans: Build TensorRT plans where a builder is installed.
        benchmark: Measure latency of the source and of every artifact.
        route_options: Per-route options objects by route name, e.g.
            ``{"segment": SegmentOptions(minimum_segment_size=5)}``.

    Returns:
        The :class:`~tftrt_kit.report.Report`. A route that failed is recorded
        with its error (``report.routes[name].ok`` is false); the others go on.

    Raises:
        SourceError: the source cannot be loaded.
        ConfigError: unknown route or precision.

    Example:
        >>> report = tftrt_kit.convert("resnet50_savedmodel", routes=("onnx",))  # doctest: +SKIP
        >>> print(report)                                                         # doctest: +SKIP
    """
    registry = load_routes()
    unknown = [r for r in routes if r not in registry]
    if unknown:
        raise ConfigError(f"Expected routes from {sorted(registry)}. Received: {unknown}.")
    if precision not in PRECISIONS:
        raise ConfigError(f"Expected precision in {PRECISIONS}. Received: precision={precision!r}.")
    loaded = load_source(source, signature=signature)
    output = Path(output_dir) if output_dir is not None else Path(tempfile.mkdtemp(prefix="tftrt_kit_"))
    context = RouteContext(
        output_dir=output,
        precision=precision,
        backend=backend,
        build_plans=build_plans,
        calibration_data=calibration_data,
        overwrite=overwrite,
    )
    from tftrt_kit.evaluate import sample_inputs

    feeds = dict(sample_data) if sample_data is not None else sample_inputs(loaded.inputs, batch=1, seed=0)
    summary = _source_summary(loaded, feeds, benchmark)
    results = {}
    options = dict(route_options or {})
    for name in routes:
        route = registry[name](options[name]) if name in options else registry[name]()
        results[name] = _run_route(route, loaded, context, feeds, benchmark)
    return Report(
        source=summary,
        routes=results,
        created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        machine=machine_info(),
        versions=versions(),
    )


def _source_summary(source: Any, feeds: Mapping[str, np.ndarray], benchmark: bool) -> SourceSummary:
    from tftrt_kit.bench import measure, tf_function_runner

    latency = measure(tf_function_runner(source), feeds, executor="tensorflow") if benchmark else None
    return SourceSummary(
        description=source.description,
        signature=source.signature_key,
        inputs=list(source.inputs),
        outputs=list(source.outputs),
        nodes=len(source.graph_def.node),
        latency=latency,
        latencies=[latency] if latency else [],
        timings=dict(source.seconds),
    )


def _run_route(route: Any, source: Any, context: RouteContext, feeds: Mapping[str, np.ndarray], benchmark: bool) -> RouteResult:
    """Run one route, then evaluate its artifact; a TftrtKitError becomes a failed result."""
    from tftrt_kit.bench import measure
    from tftrt_kit.evaluate import evaluate
    from tftrt_kit.runtime import load

    try:
        result = route(source, context)
        model = load(result.artifact_dir)
        from tftrt_kit.routes.base import stage

        with stage(result, "evaluate"):
            result.accuracy = evaluate(source, model, executor=model.executor, feeds=_accuracy_feeds(source, feeds))
        if benchmark:
            result.latency = measure(model, feeds, executor=model.executor)
            result.latencies = [result.latency]
    except TftrtKitError as err:
        return RouteResult(name=route.name, status="failed", precision=context.precision, error=f"{type(err).__name__}: {err}")
    return result


def _accuracy_feeds(source: Any, feeds: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    """Inputs for accuracy: a batch of 4 generated inputs where the batch is dynamic, else ``feeds``."""
    from tftrt_kit.evaluate import sample_inputs

    if all(s.has_dynamic_batch for s in source.inputs):
        return sample_inputs(source.inputs, batch=4, seed=1)
    return feeds


def machine_info() -> dict[str, Any]:
    """The machine a report was measured on."""
    import os

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    from tftrt_kit.engines.tensorrt_runner import gpu_available

    return {"cpu": cpu, "cores": os.cpu_count(), "gpu": gpu_available(), "platform": platform.platform(), "python": platform.python_version()}


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
