"""Serving with NVIDIA Triton Inference Server: model repositories, a local server, a load check.

``import tftrt_kit.triton`` is light: ``tritonclient`` and ``nvidia-pytriton`` (extra
``serve``) load on first use of the function that needs them.

Example:
    >>> import tftrt_kit.triton                                                  # doctest: +SKIP
    >>> tftrt_kit.triton.export("out/onnx", "model_repository")                  # doctest: +SKIP
    >>> result = tftrt_kit.triton.load_check("out/segment", requests=64)         # doctest: +SKIP
"""

from __future__ import annotations

from tftrt_kit._lazy import lazy_getattr

_LAZY = {
    "export": "tftrt_kit.triton.repository",
    "TritonRepository": "tftrt_kit.triton.repository",
    "RepositoryModel": "tftrt_kit.triton.repository",
    "serve": "tftrt_kit.triton.serve",
    "LocalServer": "tftrt_kit.triton.serve",
    "ServerError": "tftrt_kit.errors",
    "load_check": "tftrt_kit.triton.load_check",
    "LoadCheckResult": "tftrt_kit.triton.load_check",
    "BatchingOptions": "tftrt_kit.triton.config",
    "ModelConfigError": "tftrt_kit.errors",
}

__all__ = list(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)
