"""Loading a written artifact: its manifest, the loader of its route, input checks, executors.

Names resolve lazily, so ``import tftrt_kit.runtime`` stays instant.

Example:
    >>> from tftrt_kit.runtime import load
    >>> model = load("out/onnx")                                 # doctest: +SKIP
    >>> model(input_layer=x)                                     # doctest: +SKIP
"""

from __future__ import annotations

from tftrt_kit._lazy import lazy_getattr

_EXPORTS = {
    "EXECUTORS": ".loader",
    "LOADERS": ".loader",
    "register_loader": ".loader",
    "load": ".loader",
    "InputChecker": ".loader",
    "check_plan": ".loader",
    "OnnxArtifactModel": ".loader",
    "engine_runner": ".loader",
    "SegmentArtifactModel": ".segment",
    "MANIFEST": ".artifact",
    "MANIFEST_VERSION": ".artifact",
    "SEGMENT_ASSETS": ".artifact",
    "atomic_directory": ".artifact",
    "check_output_dir": ".artifact",
    "read_manifest": ".artifact",
    "write_manifest": ".artifact",
    "write_text_atomic": ".artifact",
    "resolve_inside": ".artifact",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return __all__
