"""Cells of a rendered report: how one value is written (missing, floats, cosines, byte sizes), and aligned plain-text tables."""

from __future__ import annotations

from typing import Any, Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Format ``rows`` under ``headers`` as an aligned plain-text table.

    Example:
        >>> print(table(["a", "b"], [[1, 2.5]]))
        a  b
        -  ---
        1  2.5
    """
    cells = [[str(h) for h in headers]] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths).rstrip())
    return "\n".join(lines)


def cell(value: Any) -> str:
    """A table cell: ``-`` for missing, 4 significant digits for floats."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:.3g}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.4g}"
    return str(value)


def cosine(value: float) -> str:
    """Cosine similarity with enough digits to tell 0.99999 from 1."""
    return f"{value:.7f}"


def size(n: int | None) -> str | None:
    """Bytes as KiB or MiB."""
    if n is None:
        return None
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 1024:.1f} KiB"
