"""The report as GitHub-flavoured Markdown (the same sections as the terminal rendering)."""

from __future__ import annotations

from typing import Any, Sequence

from tftrt_kit.report.cells import cell
from tftrt_kit.report.text import sections


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown pipe table; ``|`` inside cells is escaped.

    Example:
        >>> print(markdown_table(["a"], [[1]]))
        | a |
        | --- |
        | 1 |
    """
    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.replace("|", "\\|").replace("\n", " ") for v in values) + " |"

    return "\n".join([line(list(headers)), line(["---"] * len(headers))] + [line([cell(v) for v in row]) for row in rows])


def render_markdown(report: Any) -> str:
    """The report as Markdown: a heading per section, pipe tables, bullet lines.

    Args:
        report: A :class:`~tftrt_kit.report.Report`.

    Returns:
        The Markdown text.

    Example:
        >>> Path("report.md").write_text(render_markdown(report))  # doctest: +SKIP
    """
    parts = [f"# tftrt_kit report: {report.source.description}"]
    for section in sections(report):
        parts += ["", f"## {section.title}", ""]
        if section.headers:
            parts += [markdown_table(section.headers, section.rows), ""] if section.lines else [markdown_table(section.headers, section.rows)]
        parts += [f"- {line.replace('|', chr(92) + '|')}" for line in section.lines]
    return "\n".join(parts) + "\n"
