"""Lazy package attributes: heavy modules load on first use of a name, not on import."""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` resolving ``exports`` on first use.

    Args:
        package: The package's ``__name__``.
        exports: Public name -> module defining it (absolute, or relative to ``package``
            like ``".graph"``).

    Returns:
        The function to bind as the package's ``__getattr__``.

    Example:
        >>> __getattr__ = lazy_getattr(__name__, {"segment": ".segmenter"})   # doctest: +SKIP
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name], package), name)
        # Cache on the package: importing a submodule named like the attribute (triton.serve)
        # binds the module there, and the public name must stay the function.
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
