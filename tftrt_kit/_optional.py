"""Lazy imports of optional heavy dependencies, with an install hint on failure."""

from __future__ import annotations

import importlib
from types import ModuleType

from tftrt_kit.errors import MissingDependencyError

#: module name -> the pip command that provides it.
INSTALL_HINTS = {
    "tensorrt": "pip install 'tftrt_kit[tensorrt]'  (NVIDIA TensorRT, on a machine with a GPU)",
    "tensorrt_rtx": "pip install 'tftrt_kit[rtx]'  (tensorrt-rtx-cu13)",
    "matplotlib": "pip install 'tftrt_kit[plot]'  (matplotlib)",
    "pytriton": "pip install 'tftrt_kit[serve]'  (nvidia-pytriton)",
    "tritonclient": "pip install 'tftrt_kit[serve]'  (tritonclient[grpc,http])",
    "cuda": "pip install 'tftrt_kit[tensorrt]'  (cuda-python)",
}


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra to install.

    Args:
        module: Importable module name, e.g. ``"tensorrt_rtx"``.
        purpose: What the module is needed for, shown in the error.

    Returns:
        The imported module.

    Raises:
        MissingDependencyError: if the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        hint = INSTALL_HINTS.get(module.split(".")[0], f"pip install {module}")
        raise MissingDependencyError(
            f"{purpose} needs the optional module '{module}', which is not installed. "
            f"Install it with: {hint}. Received: ImportError({err})"
        ) from err


def available(module: str) -> bool:
    """Whether ``module`` can be imported (imports it on success)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
