"""Is there a CUDA GPU here? Found through the CUDA runtime, pip wheels included.

Polygraphy's CUDA wrapper (device buffers and streams of ``TrtRunner``) loads
``libcudart`` from ``LD_LIBRARY_PATH``, the system directories and the CUDA 12 wheel
layout (``nvidia/cuda_runtime/lib``). The CUDA 13 wheel (``nvidia-cuda-runtime``
13.x, what ``tensorrt-rtx-cu13`` runs with) installs it as ``nvidia/cu13/lib``, which
that search misses. :func:`cuda_runtime` finds it in every wheel layout and hands
it to Polygraphy, so a pip-installed CUDA needs nothing on a library path.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import functools
import glob
import os
import sys
from typing import Any

#: CUDA runtime API status of "no CUDA-capable device" and "driver too old or absent".
_STATUS_TEXT = {100: "no CUDA-capable device", 35: "no NVIDIA driver (or one older than the CUDA runtime)"}


@dataclasses.dataclass(frozen=True)
class GpuStatus:
    """What this machine offers TensorRT engines.

    Attributes:
        available: A CUDA runtime loaded and reported at least one device.
        devices: Number of CUDA devices.
        cudart: Path of the CUDA runtime library used, when one was found.
        reason: Why no GPU is usable, for messages and the report ("" when one is).
    """

    available: bool
    devices: int = 0
    cudart: str | None = None
    reason: str = ""


def find_cudart() -> str | None:
    """Path of ``libcudart``: pip wheels first (any ``nvidia/*/lib`` layout), then the system loader's."""
    found: list[str] = []
    for entry in sys.path:
        if entry and os.path.isdir(entry):
            found += glob.glob(os.path.join(entry, "nvidia", "*", "lib", "libcudart.so*"))
    if found:
        # The highest CUDA major first: libcudart.so.13 sorts after libcudart.so.12.
        return sorted(found, key=lambda p: (os.path.basename(p), p))[-1]
    return ctypes.util.find_library("cudart")


@functools.lru_cache(maxsize=1)
def cuda_runtime() -> Any:
    """Polygraphy's CUDA wrapper, loading the runtime :func:`find_cudart` found.

    Raises:
        OSError: no CUDA runtime library could be loaded.
    """
    from polygraphy.cuda import cuda as polygraphy_cuda

    if polygraphy_cuda.G_CUDA is None:
        path = find_cudart()
        if path is None:
            raise OSError("no libcudart found: install 'nvidia-cuda-runtime' (pip) or the CUDA toolkit")
        # Polygraphy's Cuda() holds only the loaded library in `handle`; build it from our path
        # instead of its own search, which misses the CUDA 13 wheel layout.
        wrapper = polygraphy_cuda.Cuda.__new__(polygraphy_cuda.Cuda)
        wrapper.handle = ctypes.CDLL(path)
        polygraphy_cuda.G_CUDA = wrapper
    return polygraphy_cuda.wrapper()


@functools.lru_cache(maxsize=1)
def gpu_status() -> GpuStatus:
    """Probe the CUDA runtime once: devices, the library used, or why there is no GPU."""
    try:
        handle = cuda_runtime().handle
    except OSError as err:
        return GpuStatus(False, reason=f"no CUDA runtime ({err})")
    path = getattr(handle, "_name", None)
    count = ctypes.c_int(0)
    status = handle.cudaGetDeviceCount(ctypes.byref(count))
    if status != 0:
        text = _STATUS_TEXT.get(status, f"cudaGetDeviceCount error {status}")
        return GpuStatus(False, cudart=path, reason=f"CUDA runtime {path}: {text}")
    if count.value < 1:
        return GpuStatus(False, cudart=path, reason=f"CUDA runtime {path}: no CUDA-capable device")
    return GpuStatus(True, devices=count.value, cudart=path)


def gpu_available() -> bool:
    """Whether a CUDA runtime and at least one CUDA device are present."""
    return gpu_status().available
