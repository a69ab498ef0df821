"""Plots of a Report with matplotlib (imported lazily; extra ``plot``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tftrt_kit._optional import require


def plot_report(report: Any, path: str | Path | None = None) -> Any:
    """Three panels: p50 latency per route and executor across batch sizes (with its spread over rounds), TensorRT coverage, max rel error.

    Only measured figures are drawn; a panel with nothing measured says so. The
    figure is not registered with pyplot, so no window opens and nothing leaks.

    Args:
        report: A :class:`~tftrt_kit.report.Report`.
        path: Also save the figure there as PNG.

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        MissingDependencyError: matplotlib is not installed.

    Example:
        >>> report.plot("report.png")  # doctest: +SKIP
    """
    require("matplotlib", "Report.plot()")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 4), layout="constrained")
    latency, coverage, error = figure.subplots(1, 3)
    figure.suptitle(f"tftrt_kit: {report.source.description}")
    _latency(latency, report)
    _bars(coverage, {n: r.coverage * 100 for n, r in report.routes.items() if r.ok and r.coverage is not None},
          "TensorRT coverage (% of nodes)", log=False)
    _bars(error, {n: r.accuracy.max_rel_error for n, r in report.routes.items() if r.ok and r.accuracy and r.accuracy.max_rel_error > 0},
          "max rel error vs source", log=True)
    if path is not None:
        figure.savefig(str(path), format="png", dpi=100)
    return figure


def _latency(axes: Any, report: Any) -> None:
    runs = [("source (TF)", report.source.latencies)] + [(n, r.latencies) for n, r in report.routes.items() if r.ok]
    drawn = False
    batches = sorted({x.batch for _, latencies in runs for x in latencies})
    for name, latencies in runs:
        for executor in dict.fromkeys(x.executor for x in latencies):
            figures = sorted((x for x in latencies if x.executor == executor), key=lambda x: x.batch)
            (line,) = axes.plot([x.batch for x in figures], [x.p50_ms for x in figures], marker="o", label=f"{name} [{executor}]")
            spread = [x for x in figures if x.p50_low_ms is not None and x.p50_high_ms is not None]
            if spread:
                axes.fill_between([x.batch for x in spread], [x.p50_low_ms for x in spread], [x.p50_high_ms for x in spread],
                                  color=line.get_color(), alpha=0.15, linewidth=0)
            drawn = True
    axes.set_title("p50 latency (band: 95% of per-round p50s)")
    if not drawn:
        _nothing(axes)
        return
    axes.set_xscale("log", base=2)
    axes.set_xticks(batches, [str(b) for b in batches])
    axes.set_yscale("log")
    axes.set_xlabel("batch size")
    axes.set_ylabel("ms")
    axes.legend(fontsize="small")
    axes.grid(True, which="both", alpha=0.3)


def _bars(axes: Any, values: dict[str, float], title: str, *, log: bool) -> None:
    axes.set_title(title)
    if not values:
        _nothing(axes)
        return
    bars = axes.bar(list(values), list(values.values()), color="#4c72b0")
    axes.bar_label(bars, labels=[f"{v:.3g}" for v in values.values()], fontsize="small")
    if log:
        axes.set_yscale("log")


def _nothing(axes: Any) -> None:
    axes.text(0.5, 0.5, "not measured", ha="center", va="center", transform=axes.transAxes, color="#888888")
    axes.set_xticks([])
    axes.set_yticks([])
