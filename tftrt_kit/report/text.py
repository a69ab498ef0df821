"""Renderings of a :class:`~tftrt_kit.report.Report`: its sections, and the terminal text (cells and tables: :mod:`~tftrt_kit.report.cells`).

Every rendering (terminal, Markdown, HTML) draws on :func:`sections`, so they
show the same figures: each latency with its executor, each failed route with its
error and no figures.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tftrt_kit.report.cells import cell, cosine, size, table

#: Display order of stage timings; stages not listed follow in the order they ran.
STAGE_ORDER = ("load", "freeze", "support", "segment", "partition", "quantize", "calibrate", "export", "fp16", "build", "save", "load artifact", "evaluate", "benchmark")


@dataclasses.dataclass
class Section:
    """One titled part of a rendered report: a table, prose lines, or both."""

    title: str
    headers: list[str] = dataclasses.field(default_factory=list)
    rows: list[list[Any]] = dataclasses.field(default_factory=list)
    lines: list[str] = dataclasses.field(default_factory=list)


def _ops(histogram: dict[str, int], limit: int = 8) -> str:
    ranked = sorted(histogram.items(), key=lambda kv: (-kv[1], kv[0]))
    text = " ".join(f"{op}x{n}" for op, n in ranked[:limit])
    return text + (f" (+{len(ranked) - limit} more)" if len(ranked) > limit else "")


def _speedup(name: str, route: Any, versus_source: list[Any]) -> str | None:
    """How many times faster than TensorFlow the route was at its first measured batch, marked when within the noise."""
    if route.latency is None:
        return None
    ratio = next((r for r in versus_source if name in (r.faster, r.slower) and r.batch == route.latency.batch), None)
    if ratio is None:
        return None
    speedup = ratio.ratio if ratio.faster == name else 1 / ratio.ratio
    return f"{speedup:.2f}x" + ("" if ratio.beyond_noise else " (noise)")


def _accepts(route: Any) -> str | None:
    """Whether TensorRT's parser took the whole model, or how many segments it took whole."""
    if route.tensorrt is not None:
        return "yes" if route.tensorrt.accepted else "no"
    checked = [s.tensorrt for s in route.segments if s.tensorrt is not None]
    return f"{sum(c.accepted for c in checked)}/{len(route.segments)} segments" if checked else None


def plan_cell(check: Any, limit: int | None = 64) -> str | None:
    """A plan's size, or ``no plan: <TensorRT's message>`` (cut to ``limit`` characters in tables)."""
    if check is None:
        return None
    if check.plan_bytes:
        return size(check.plan_bytes)
    status = check.plan_status
    if status == "not built":
        return None
    flat = " ".join(status.split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 3] + "..."


def _route_plan(route: Any) -> str | None:
    """The summary's plan cell: the route's plan, else its segments' plans and how many are missing."""
    if route.tensorrt is not None:
        return plan_cell(route.tensorrt)
    checks = [s.tensorrt for s in route.segments if s.tensorrt is not None]
    missing = sum(1 for c in checks if c.plan_bytes is None and c.plan_status != "not built")
    total = size(route.sizes.get("plan_bytes") or None)
    if missing:
        return f"{total or 'none'}; no plan for {missing}/{len(checks)} segments"
    return total


def tensorrt_lines(report: Any) -> list[str]:
    """Which TensorRT module decided acceptance and built each route's plans, and every missing plan with TensorRT's reason."""
    lines = []
    for name, r in report.routes.items():
        if not r.ok:
            continue
        checks = [("", r.tensorrt)] if r.tensorrt is not None else [(f"{s.name}: ", s.tensorrt) for s in r.segments if s.tensorrt]
        builders = sorted({c.builder or c.backend for _, c in checks})
        if builders:
            lines.append(f"{name}: acceptance and plans by {', '.join(builders)}")
        lines += [f"{name}: {where}{plan_cell(c, None)}" for where, c in checks if c.plan_bytes is None and c.plan_status != "not built"]
    return lines


def header_lines(report: Any) -> list[str]:
    """Source, inputs, outputs, when and where it was measured."""
    src = report.source
    ins = ", ".join(f"{s.name} {s.dtype}{s.shape_text}" for s in src.inputs)
    outs = ", ".join(f"{s.name} {s.dtype}{s.shape_text}" for s in src.outputs)
    m = report.machine
    gpu = ("yes" if m.get("gpu") else "no") + (f" ({m['gpu_note']})" if m.get("gpu_note") else "") if m else ""
    machine = f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, GPU: {gpu}" if m else "-"
    versions = ", ".join(f"{k} {v}" for k, v in report.versions.items()) or "-"
    return [
        f"source: {src.description} [{src.signature}], {src.nodes} nodes",
        f"inputs: {ins}",
        f"outputs: {outs}",
        f"measured: {report.created or '-'} on {machine}",
        f"versions: {versions}",
    ]


def summary_rows(report: Any) -> list[list[Any]]:
    """One row per route (and one for the TensorFlow source) of the summary table."""
    src = report.source
    lat = src.latency
    versus_source = report.differences.versus_source
    rows: list[list[Any]] = [[
        "source (TF)", "ok", None, lat.executor if lat else None, lat.batch if lat else None, lat.p50_ms if lat else None,
        "1.00x" if lat else None, None, None, None, None, None, None, None, None,
    ]]
    for name, r in report.routes.items():
        if not r.ok:
            rows.append([name, r.status, r.precision] + [None] * 12)
            continue
        acc, lat = r.accuracy, r.latency
        speedup = _speedup(name, r, versus_source)
        rows.append([
            name, r.status, r.precision,
            lat.executor if lat else None,
            lat.batch if lat else None,
            lat.p50_ms if lat else None,
            speedup,
            acc.max_rel_error if acc else None,
            cosine(acc.cosine) if acc else None,
            acc.verdict if acc else ("not evaluated" if r.details.get("not_evaluated") else None),
            f"{r.coverage:.1%}" if r.coverage is not None else None,
            _accepts(r),
            _route_plan(r),
            size(r.sizes.get("artifact_bytes")),
            round(r.conversion_seconds, 2) if r.conversion_seconds is not None else None,
        ])
    return rows


SUMMARY_HEADERS = [
    "route", "status", "precision", "executor", "batch", "p50 ms", "vs TF", "max rel err", "cosine", "verdict",
    "TRT coverage", "TRT accepts", "plan", "artifact", "convert s",
]


def sections(report: Any) -> list[Section]:
    """The report's sections, in display order, with measured figures only."""
    out = [
        Section("Source", lines=header_lines(report)),
        Section("Summary", SUMMARY_HEADERS, summary_rows(report)),
        _artifacts(report),
    ]
    trt_lines = tensorrt_lines(report)
    if trt_lines:
        out.append(Section("TensorRT", lines=trt_lines))
    shapes = shapes_lines(report)
    if shapes:
        out.append(Section("Shapes and optimization profiles (min / opt / max)", lines=shapes))
    runs = [("source (TF)", report.source)] + [(n, r) for n, r in report.routes.items() if r.ok]
    latency_rows = [
        [who, x.executor, x.batch, x.p50_ms, _interval(x), x.p90_ms, x.p99_ms, x.mean_ms, x.throughput, x.iterations, x.rounds]
        for who, run in runs for x in run.latencies
    ]
    refused = [f"{n}: batch {b} not measured: {why}" for n, r in report.routes.items() for b, why in r.details.get("latency_refused", {}).items()]
    if latency_rows or refused:
        out.append(Section(
            "Latency (ms; throughput in samples/s)",
            ["run", "executor", "batch", "p50", "p50 95% interval", "p90", "p99", "mean", "throughput", "iterations", "rounds"],
            latency_rows, refused + _latency_notes(runs),
        ))
    accuracy_rows = []
    for name, r in report.routes.items():
        if r.ok and r.accuracy:
            for e in r.accuracy.per_output.values():
                accuracy_rows.append([
                    name, e.name, r.accuracy.executor, e.max_abs_error, e.max_rel_error, e.mean_abs_error, cosine(e.cosine),
                    e.top1_agreement, e.top5_agreement, e.verdict,
                    "compared by equality" if e.compared_by == "equality"
                    else f"atol {cell(e.max_abs_error)} | rtol {cell(e.max_elementwise_rel_error)}",
                ])
    if accuracy_rows:
        notes = [
            f"{n}: {r.accuracy.samples} sample(s), inputs {r.accuracy.inputs or '-'}, {r.precision} thresholds {_thresholds(r.accuracy.thresholds)}"
            for n, r in report.routes.items() if r.ok and r.accuracy
        ]
        notes += [f"{n}: {reason}" for n, r in report.routes.items() if r.ok and r.accuracy for reason in r.accuracy.reasons]
        out.append(Section(
            "Accuracy vs source (per output)",
            ["route", "output", "executor", "max abs", "rel to scale", "mean abs", "cosine", "top-1", "top-5", "verdict", "would pass at"],
            accuracy_rows, notes,
        ))
        out.append(_error_statistics(report))
    not_evaluated = [f"{n}: not evaluated: {r.details['not_evaluated']}" for n, r in report.routes.items() if r.ok and r.details.get("not_evaluated")]
    if not_evaluated:
        out.append(Section("Not evaluated (the artifact stands; its accuracy is unknown)", lines=not_evaluated))
    out.append(_timings(report, [("source (TF)", report.source), *report.routes.items()]))
    outcomes = [[n, st.name, st.outcome, st.seconds, st.error] for n, r in report.routes.items() for st in r.stages if st.outcome != "ok"]
    if outcomes:
        out.append(Section("Stages not ok", ["route", "stage", "outcome", "s", "why"], outcomes))
    for name, r in report.routes.items():
        if r.ok and r.segments:
            out.append(Section(
                f"{name}: TensorRT segments ({len(r.segments)})",
                ["segment", "nodes", "executor", "inputs", "outputs", "TRT accepts", "plan", "ops"],
                [[s.name, s.nodes, s.executor, len(s.inputs), len(s.outputs),
                  ("yes" if s.tensorrt.accepted else "no") if s.tensorrt else None,
                  plan_cell(s.tensorrt), _ops(s.op_histogram)]
                 for s in r.segments],
            ))
        if r.ok and r.fallbacks:
            out.append(Section(f"{name}: left in TensorFlow", ["op", "count", "reason"], [[f.op_type, f.count, f.reason] for f in r.fallbacks]))
        if r.ok and r.tensorrt and r.tensorrt.unsupported_nodes:
            out.append(Section(
                f"{name}: TensorRT refused", ["op", "node", "reason"],
                [[n.op_type, n.node, n.reason] for n in r.tensorrt.unsupported_nodes],
            ))
        if r.ok and r.details.get("quantization"):
            q = r.details["quantization"]
            out.append(Section(
                f"{name}: INT8 quantization", ["level", "calibration method", "calibration samples", "batches"],
                [[q.get("level"), q.get("method"), q.get("calibration_samples"), q.get("batches")]],
            ))
        if r.ok and r.details.get("tensorrt_skipped"):
            out.append(Section(f"{name}: TensorRT not checked", lines=[str(r.details["tensorrt_skipped"])]))
    failed = []
    for n, r in report.routes.items():
        if not r.ok:
            where = f" in stage {r.failed_stage.name!r}" if r.failed_stage else ""
            failed.append(f"{n}: {r.status}{where}: {r.error}")
            failed += [f"{n}: native log: {line}" for line in r.details.get("native_log", [])]
    if failed:
        out.append(Section("Failed routes (no figures)", lines=failed))
    out.append(Section("Differences", lines=report.differences.lines()))
    return out


def _error_statistics(report: Any) -> Section:
    """Polygraphy-style statistics per output: the reference, the absolute and relative errors, a histogram."""
    rows = []
    for name, r in report.routes.items():
        if not (r.ok and r.accuracy):
            continue
        for e in r.accuracy.per_output.values():
            rows.append([
                name, e.name, _stats_text(e.reference), _stats_text(e.abs_error), _stats_text(e.rel_error),
                _histogram(e.histogram, e.histogram_edges), "; ".join(e.flags) or None,
            ])
    return Section(
        "Error statistics (per output, finite elements)",
        ["route", "output", "reference mean/std/median/min/max", "abs error mean/std/median/min/max",
         "rel error mean/std/median/min/max", "abs error histogram", "flags"],
        rows,
    )


def _stats_text(stats: Any) -> str | None:
    if stats is None:
        return None
    return "/".join(cell(v) for v in (stats.mean, stats.std, stats.median, stats.min, stats.max))


def _histogram(counts: list[int], edges: list[float]) -> str | None:
    """Counts per bin over the error range, e.g. ``[0, 2.1e-07]: 40 12 3 0 0 0 0 0 0 1``."""
    if not counts:
        return None
    return f"[{cell(edges[0])}, {cell(edges[-1])}]: " + " ".join(str(c) for c in counts)


def _interval(latency: Any) -> str | None:
    """The 95% interval of the per-round p50s, as ``low-high``."""
    if latency.p50_low_ms is None or latency.p50_high_ms is None:
        return None
    return f"{cell(latency.p50_low_ms)}-{cell(latency.p50_high_ms)}"


def _latency_notes(runs: list[tuple[str, Any]]) -> list[str]:
    rounds = {x.rounds for _, run in runs for x in run.latencies if x.rounds}
    if not rounds:
        return []
    return [
        "timed in interleaved rounds (the source and the routes taking turns); the interval is the 95% spread of the "
        "per-round p50s, and a speed difference counts only beyond it (see Differences)"
    ]


def _artifacts(report: Any) -> Section:
    """Where each route's artifact is, and whether it outlives this process."""
    rows = [[n, str(r.artifact_dir) if r.artifact_dir else f"none ({r.status})"] for n, r in report.routes.items()]
    lines = []
    if report.temporary and report.output_dir is not None:
        lines.append(
            f"output directory {report.output_dir} is temporary: removed when the Python process that wrote it exits; "
            "pass output_dir= (CLI: --out DIR) to keep the artifacts"
        )
    elif report.output_dir is not None:
        lines.append(f"output directory {report.output_dir}")
    return Section("Artifacts", ["route", "directory"], rows, lines)


def _shape_text(shapes: dict[str, list[int]] | None) -> str:
    return ", ".join(f"{name} {'x'.join(map(str, shape)) or 'scalar'}" for name, shape in (shapes or {}).items()) or "-"


def shapes_lines(report: Any) -> list[str]:
    """The profiles plans were built for (or why none was), each plan's own, and the shapes measured at."""
    from tftrt_kit.profiles import ProfilePlan, format_profile, format_values, profiles_from_json

    if not report.source.profiles:
        return []
    plan = ProfilePlan.from_dict(report.source.profiles)
    lines = [f"model profile {i} ({plan.origin}): {format_profile(p)}" for i, p in enumerate(plan.profiles)]
    lines += [f"model profile {i} shape-tensor values: {format_values(v)}" for i, v in enumerate(plan.values) if v]
    if plan.no_plan_reason:
        lines.append(f"no plan: {plan.no_plan_reason}")
    elif not plan.profiles:
        lines.append("static shapes: no optimization profile needed")
    for name, r in report.routes.items():
        if not r.ok:
            continue
        plans = [("plan", r.tensorrt)] + [(f"{s.name} plan", s.tensorrt) for s in r.segments]
        for what, check in plans:
            profiles = profiles_from_json(check.profiles if check is not None and check.plan_bytes else [])
            lines += [f"{name} {what} profile {i}: {format_profile(p)}" for i, p in enumerate(profiles)]
            values = profiles_from_json(check.shape_values if check is not None and check.plan_bytes else [])
            lines += [f"{name} {what} profile {i} shape-tensor values: {format_values(v)}" for i, v in enumerate(values) if v]
        lines += [f"{name}: {note}" for note in r.details.get("data_dependent_dims", [])]
        if r.accuracy is not None:
            lines.append(f"{name}: accuracy at {_shape_text(r.accuracy.shapes)} ({r.accuracy.inputs or '-'})")
        for x in r.latencies[:1]:
            lines.append(f"{name}: latency at {_shape_text(x.shapes)} (batch {x.batch}; the sweep varies the batch only)")
    return lines


def _thresholds(t: Any) -> str:
    if t is None:
        return "-"
    parts = [f"{k} {v:g}" for k, v in dataclasses.asdict(t).items() if v is not None]
    return "(" + ", ".join(parts) + ")"


def _timings(report: Any, runs: list[tuple[str, Any]]) -> Section:
    seen: list[str] = []
    for _, run in runs:
        seen += [s for s in run.timings if s not in seen]
    stages = [s for s in STAGE_ORDER if s in seen] + [s for s in seen if s not in STAGE_ORDER]
    rows = [[who] + [run.timings.get(s) for s in stages] for who, run in runs]
    return Section("Stage timings (s)", ["run", *stages], rows)


def render_text(report: Any) -> str:
    """The report as terminal text: a title, then each section as an aligned table or lines.

    Example:
        >>> print(render_text(report))  # doctest: +SKIP
    """
    parts = ["tftrt_kit report"]
    for section in sections(report):
        parts += ["", f"== {section.title} =="]
        if section.headers:
            parts.append(table(section.headers, section.rows))
        parts += [f"  {line}" if section.headers else line for line in section.lines]
    return "\n".join(parts)
