"""Strip outputs, execution counts and run-time metadata from notebooks, in place.

Usage:
    python notebooks/strip_outputs.py [--check] [NOTEBOOK.ipynb ...]

Without paths, every ``*.ipynb`` next to this script. ``--check`` changes nothing and
exits 1 when a notebook would change (for CI or a pre-commit hook).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

#: Notebook-level metadata kept; the rest (widgets, execution times, ...) is run-time state.
KEEP_METADATA = ("kernelspec", "language_info")


def strip(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` with no outputs, execution counts or cell metadata, and only :data:`KEEP_METADATA`."""
    for cell in notebook.cells:
        cell.metadata = {}
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata = {k: v for k, v in notebook.metadata.items() if k in KEEP_METADATA}
    if "language_info" in notebook.metadata:
        notebook.metadata["language_info"] = {"name": notebook.metadata["language_info"].get("name", "python")}
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="report notebooks that would change, change nothing")
    args = parser.parse_args(argv)
    paths = args.paths or sorted(Path(__file__).resolve().parent.glob("*.ipynb"))
    changed = []
    for path in paths:
        text = path.read_text()
        stripped = nbformat.writes(strip(nbformat.reads(text, as_version=4))) + "\n"
        if stripped != text:
            changed.append(path)
            if not args.check:
                path.write_text(stripped)
    for path in changed:
        print(f"{'would strip' if args.check else 'stripped'} {path}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
