"""Loading a written artifact: its manifest, the loader its route registers, input checks, the executor of each part.

Names resolve lazily, so ``import tftrt_kit.runtime`` stays instant.

Example:
    >>> from tftrt_kit.runtime import load
    >>> model = load("out/onnx")                                 # doctest: +SKIP
    >>> model(input_layer=x)                                     # doctest: +SKIP
"""

from __future__ import annotations

from tftrt_kit._lazy import lazy_getattr

_EXPORTS = {
    "load": ".loader",
    "open_runner": ".loader",
    "OnnxArtifactModel": ".loader",
    "InputChecker": ".inputs",
    "SegmentArtifactModel": ".segment",
    "MANIFEST": ".artifact",
    "MANIFEST_VERSION": ".artifact",
    "SEGMENT_ASSETS": ".artifact",
    "atomic_directory": ".artifact",
    "check_output_dir": ".artifact",
    "read_manifest": ".artifact",
    "write_manifest": ".artifact",
    "resolve_inside": ".artifact",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return __all__
