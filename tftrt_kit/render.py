"""Renderings of a :class:`~tftrt_kit.report.Report`: aligned terminal tables."""

from __future__ import annotations

from typing import Any, Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Format ``rows`` under ``headers`` as an aligned plain-text table."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:.3g}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.4g}"
    return str(value)


def _mib(n: int | None) -> str | None:
    return None if n is None else f"{n / 2**20:.2f} MiB"


def route_rows(report: Any) -> list[list[Any]]:
    """One row per route (and one for the TensorFlow source) of the summary table."""
    src = report.source
    rows: list[list[Any]] = [[
        "source (TF)", "ok", src.latency.executor if src.latency else None,
        src.latency.p50_ms if src.latency else None, None, None, None, None, None, None,
    ]]
    for name, r in report.routes.items():
        if not r.ok:
            rows.append([name, r.status, None, None, None, None, None, None, None, None])
            continue
        trt = r.tensorrt
        rows.append([
            name,
            r.status,
            r.latency.executor if r.latency else None,
            r.latency.p50_ms if r.latency else None,
            r.accuracy.max_rel_error if r.accuracy else None,
            r.accuracy.cosine if r.accuracy else None,
            r.coverage,
            (("yes" if trt.accepted else "no") if trt else None),
            _mib(trt.plan_bytes) if trt else None,
            round(sum(r.timings.values()), 2) if r.timings else None,
        ])
    return rows


def render_text(report: Any) -> str:
    """The report as terminal tables: summary per route, then failures and fallbacks."""
    src = report.source
    ins = ", ".join(f"{s.name} {s.dtype}{list(s.shape)}" for s in src.inputs)
    parts = [
        f"tftrt_kit report: {src.description} [{src.signature}], {src.nodes} nodes; inputs: {ins}",
        "",
        table(
            ["route", "status", "executor", "p50 ms", "max rel err", "cosine", "coverage", "TRT accepts", "plan", "convert s"],
            route_rows(report),
        ),
    ]
    for name, r in report.routes.items():
        if r.error:
            parts += ["", f"{name}: {r.status}: {r.error}"]
        if r.tensorrt and r.tensorrt.unsupported_nodes:
            parts += ["", f"{name}: TensorRT refused:"]
            parts += [f"  {n.op_type} {n.node}: {n.reason}" for n in r.tensorrt.unsupported_nodes]
        if r.fallbacks:
            parts += ["", f"{name}: left in TensorFlow"]
            parts.append(table(["op", "count", "reason"], [[f.op_type, f.count, f.reason] for f in r.fallbacks]))
    return "\n".join(parts)
