"""No pickle, eval or code execution: a scan of the package source for the calls that would allow it."""

from __future__ import annotations

import ast
from pathlib import Path

import tftrt_kit

PACKAGE = Path(tftrt_kit.__file__).parent
FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "joblib"}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}


def _violations(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{where} imports {n}" for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in FORBIDDEN_CALLS and isinstance(func, ast.Name):
                found.append(f"{where} calls {name}()")
            keywords = {k.arg: k.value for k in node.keywords}
            if name == "load" and isinstance(func, ast.Attribute) and getattr(func.value, "id", "") in ("np", "numpy"):
                flag = keywords.get("allow_pickle")
                if not (isinstance(flag, ast.Constant) and flag.value is False):
                    found.append(f"{where} calls np.load without allow_pickle=False")
            if name == "load_model" and "safe_mode" in keywords:
                flag = keywords["safe_mode"]
                if not (isinstance(flag, ast.Constant) and flag.value is True):
                    found.append(f"{where} calls load_model with safe_mode off")
    return found


def test_package_never_unpickles_or_evaluates():
    violations = [v for path in sorted(PACKAGE.rglob("*.py")) for v in _violations(path)]
    assert violations == []
