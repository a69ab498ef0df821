"""The layering DESIGN.md draws ("Who may import whom"), read from every import statement of tftrt_kit.

Lazy (function-level) imports count: a layer that imports another inside a function
still depends on it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tftrt_kit"

#: Heavy third-party modules: TensorFlow, the ONNX tool chain, TensorRT.
HEAVY = ("tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "tensorrt", "tensorrt_rtx", "polygraphy")

#: importer prefix -> imported prefixes it must never reach directly.
FORBIDDEN = {
    "tftrt_kit.segment": ("tftrt_kit.engines", "tftrt_kit.routes", "tftrt_kit.runtime", "tensorflow"),
    "tftrt_kit.report": ("tftrt_kit.engines", "tftrt_kit.routes", "tftrt_kit.runtime", *HEAVY),
    "tftrt_kit.engines": ("tftrt_kit.routes", "tftrt_kit.runtime", "tftrt_kit.api", "tftrt_kit.cli"),
    "tftrt_kit.source": ("tftrt_kit.routes", "tftrt_kit.runtime", "tftrt_kit.engines", "tftrt_kit.segment", "tftrt_kit.report"),
    "tftrt_kit": ("model_zoo",),
}

#: importer prefix -> modules it may import although FORBIDDEN bans their prefix.
EXCEPTIONS: dict[str, tuple[str, ...]] = {}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, as absolute names (``from a import b`` yields ``a.b``, and ``a`` within tftrt_kit)."""
    base = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                anchor = base
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                module = f"{anchor}.{module}" if module else anchor
            if module.startswith("tftrt_kit"):
                found.add(module)  # ``from tftrt_kit.x import name``: a dependency on x whatever name is
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the tftrt_kit modules and third-party modules (full dotted names) it imports."""
    modules = _modules()

    def resolve(target: str) -> str | None:
        if not target.startswith("tftrt_kit"):
            return target
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    graph = {}
    for name, path in modules.items():
        edges = {resolve(t) for t in _imports(name, path)} - {None, name}
        # A submodule reaching its own package's __init__ is not a dependency on a layer.
        graph[name] = {e for e in edges if not (name.startswith(e + ".") and modules.get(e, Path()).name == "__init__.py")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one tftrt_kit module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in graph:
        if v not in index:
            visit(v)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_walker_sees_lazy_and_relative_imports():
    graph = _graph()
    assert "tftrt_kit.report.text" in graph["tftrt_kit.report.data"]  # imported inside Report.__str__
    assert "tftrt_kit.segment.segmenter" in graph["tftrt_kit.segment.preview"]
    assert "tensorflow" in graph["tftrt_kit.source"]
    assert any(_within(t, "tensorflow.python.framework.convert_to_constants") for t in graph["tftrt_kit.freeze"])


def test_no_import_cycle():
    assert _cycles(_graph()) == []


def test_cycle_detection_fails_on_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_forbidden_edge():
    graph = _graph()
    broken = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        for importer, banned in FORBIDDEN.items() if _within(module, importer)
        for target in targets
        if any(_within(target, b) for b in banned) and not any(_within(target, e) for e in EXCEPTIONS.get(importer, ()))
    )
    assert broken == []


def test_report_runs_and_renders_without_heavy_modules(tmp_path):
    """A report read back from JSON renders every way with no TensorFlow, ONNX or TensorRT module loaded."""
    code = f"""
import json, sys
from tftrt_kit.report import Report, RouteResult, SourceSummary
from tftrt_kit.source import TensorSpec
spec = TensorSpec("x", "float32", (None, 4))
report = Report(SourceSummary("toy", "serving_default", [spec], [spec], 3), {{"onnx": RouteResult("onnx")}})
again = Report.from_json(report.to_json())
rendered = [str(again), again.to_markdown(), again.to_html(plot=False), again._repr_html_()]
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {list(HEAVY)!r} or m.startswith(("tftrt_kit.engines", "tftrt_kit.routes", "tftrt_kit.runtime")))))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("module", ["tftrt_kit", "tftrt_kit.report", "tftrt_kit.runtime", "tftrt_kit.segment"])
def test_packages_import_nothing_heavy(module):
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] in {list(HEAVY)!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
