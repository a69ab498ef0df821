"""The report as self-contained HTML: inline styles, no scripts, no external assets."""

from __future__ import annotations

import html
from typing import Any

from tftrt_kit.report.cells import cell
from tftrt_kit.report.text import sections

_STYLE = """
.tftrt-report { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1b1f24; }
.tftrt-report h2 { font-size: 1.15em; margin: 1.2em 0 0.4em; border-bottom: 1px solid #d0d7de; }
.tftrt-report table { border-collapse: collapse; font-size: 0.85em; margin-bottom: 0.4em; }
.tftrt-report th { background: #eef2f6; text-align: left; }
.tftrt-report th, .tftrt-report td { border: 1px solid #d0d7de; padding: 3px 7px; }
.tftrt-report td.num { text-align: right; font-variant-numeric: tabular-nums; }
.tftrt-report tr:nth-child(even) td { background: #f8fafc; }
.tftrt-report .pass { color: #1a7f37; font-weight: 600; }
.tftrt-report .warn { color: #9a6700; font-weight: 600; }
.tftrt-report .fail, .tftrt-report .failed { color: #cf222e; font-weight: 600; }
.tftrt-report ul { margin: 0.2em 0; }
"""


def _td(value: Any) -> str:
    text = cell(value)
    classes = []
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        classes.append("num")
    if text in ("pass", "warn", "fail", "failed"):
        classes.append(text)
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{attr}>{html.escape(text)}</td>"


def render_html_fragment(report: Any, *, plot_png: str | None = None) -> str:
    """The report as an HTML fragment (a ``<div>`` with its own ``<style>``), as Jupyter shows it.

    Args:
        report: A :class:`~tftrt_kit.report.Report`.
        plot_png: A base64 PNG to embed as an inline image.

    Returns:
        The HTML text.
    """
    parts = [f"<div class=\"tftrt-report\"><style>{_STYLE}</style>", f"<h1>tftrt_kit report: {html.escape(report.source.description)}</h1>"]
    for section in sections(report):
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.headers:
            head = "".join(f"<th>{html.escape(h)}</th>" for h in section.headers)
            body = "".join("<tr>" + "".join(_td(v) for v in row) + "</tr>" for row in section.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        if section.lines:
            parts.append("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in section.lines) + "</ul>")
    if plot_png:
        parts.append(f'<h2>Plots</h2><img alt="latency, coverage and error per route" src="data:image/png;base64,{plot_png}">')
    parts.append("</div>")
    return "\n".join(parts)


def render_html_page(report: Any, *, plot: bool = True) -> str:
    """A full HTML page of the report; with ``plot``, :meth:`Report.plot` is embedded when matplotlib is installed.

    Args:
        report: A :class:`~tftrt_kit.report.Report`.
        plot: Embed the plot as an inline PNG (skipped without matplotlib).

    Returns:
        The page's HTML text (no external assets).

    Example:
        >>> report.to_html("report.html")  # doctest: +SKIP
    """
    png = _plot_png(report) if plot else None
    title = html.escape(f"tftrt_kit report: {report.source.description}")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>\n'
        f'<body style="margin: 1.5em; background: #ffffff">\n{render_html_fragment(report, plot_png=png)}\n</body></html>\n'
    )


def _plot_png(report: Any) -> str | None:
    import base64
    import io

    from tftrt_kit._optional import available

    if not available("matplotlib"):
        return None
    buffer = io.BytesIO()
    report.plot().savefig(buffer, format="png", dpi=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
