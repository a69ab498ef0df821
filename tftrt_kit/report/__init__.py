"""The Report of a ``convert()`` run and its renderings: data, text, Markdown, HTML, plot, differences.

It runs nothing: it holds figures measured elsewhere and renders them. Names resolve
lazily, so ``import tftrt_kit.report`` stays instant.

Example:
    >>> from tftrt_kit.report import Report
    >>> report = Report.from_json("report.json")                 # doctest: +SKIP
    >>> print(report.to_markdown())                              # doctest: +SKIP
"""

from __future__ import annotations

from tftrt_kit._lazy import lazy_getattr

_EXPORTS = {
    "SCHEMA_VERSION": ".data",
    "MEASUREMENT_STAGES": ".data",
    "STAGE_ORDER": ".text",
    "Thresholds": ".measures",
    "Tolerances": ".measures",
    "Latency": ".measures",
    "OutputError": ".measures",
    "Stats": ".measures",
    "Accuracy": ".measures",
    "Fallback": ".data",
    "SegmentInfo": ".data",
    "RouteResult": ".data",
    "SourceSummary": ".data",
    "Report": ".data",
    "StageRecord": ".stages",
    "TensorRTCheck": ".tensorrt",
    "UnsupportedNode": ".tensorrt",
    "render_text": ".text",
    "render_markdown": ".markdown",
    "render_html_fragment": ".html",
    "render_html_page": ".html",
    "plot_report": ".plot",
    "Differences": ".differences",
    "compute_differences": ".differences",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return __all__
