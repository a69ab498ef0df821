"""The notebooks in ``notebooks/`` run top to bottom, and are committed without outputs.

Each notebook is executed with nbclient on the ``python3`` kernel of the Python running
the tests (jupyter_client starts a kernelspec whose argv is ``python`` with
``sys.executable``; the first injected cell checks that), from ``notebooks/`` as its
working directory, as Jupyter would. Any cell error fails the test; so does a cell that
runs longer than :data:`CELL_TIMEOUT`, or a notebook that leaves files in ``notebooks/``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat (extra 'notebooks') is not installed")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
EXPECTED = ["01_quickstart", "02_segment_route", "03_int8", "04_model_zoo"]

#: Seconds one cell may run (the slowest, the zoo subset, takes about 2 minutes on 2 cores).
CELL_TIMEOUT = 600

#: Prefixes of TensorFlow's C++/absl and TensorRT's native log lines, which tftrt_kit.quiet() keeps out of outputs.
NATIVE_MARKERS = ("I0000 ", "W0000 ", "E0000 ", "absl::InitializeLog", "[TRT] [")

#: Prepended to the executed copy: the kernel must be this interpreter's environment.
KERNEL_CHECK = "import sys\nprint(sys.prefix)"


def test_every_expected_notebook_is_there():
    assert set(EXPECTED) <= {p.stem for p in PATHS}


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_stripped(path: Path):
    """Committed notebooks carry no outputs or execution counts (``python notebooks/strip_outputs.py`` strips them)."""
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        index for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"Expected no outputs in {path.name}. Received: outputs or execution counts in cells {dirty}; run python notebooks/strip_outputs.py"
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"
    assert "widgets" not in notebook.metadata


@pytest.mark.notebook
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs(path: Path):
    nbclient = pytest.importorskip("nbclient", reason="nbclient (extra 'notebooks') is not installed")
    pytest.importorskip("ipykernel", reason="ipykernel (extra 'notebooks') is not installed")
    executed = nbformat.read(path, as_version=4)
    executed.cells.insert(0, nbformat.v4.new_code_cell(KERNEL_CHECK, id="kernel-check"))
    before = sorted(p.name for p in NOTEBOOKS.iterdir())
    client = nbclient.NotebookClient(
        executed,
        kernel_name="python3",
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    started = time.perf_counter()
    # Raises CellExecutionError, naming the cell, on any error; env reaches the kernel process.
    client.execute(env={k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TFTRT_KIT_VERBOSE")})
    seconds = time.perf_counter() - started

    prefix = "".join(o.get("text", "") for o in executed.cells[0].outputs).strip()
    assert prefix == sys.prefix, f"Expected the kernel to run in {sys.prefix}. Received: sys.prefix={prefix!r}"
    assert sorted(p.name for p in NOTEBOOKS.iterdir()) == before, "a notebook wrote into notebooks/"
    native = [
        line for cell in executed.cells for output in cell.get("outputs", []) for line in output.get("text", "").splitlines()
        if any(marker in line for marker in NATIVE_MARKERS)
    ]
    assert native == [], f"Expected no TensorFlow/TensorRT native log line in the outputs. Received: {native[:5]}"
    print(f"{path.name}: {seconds:.1f} s")
