"""GPU detection through the CUDA runtime, pip wheels included, and what it says when there is no GPU."""

from __future__ import annotations

import ctypes
import sys

import pytest

from tftrt_kit.engines import gpu


def _wheel(root, layout: str, name: str):
    lib = root / "nvidia" / layout / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    (lib / name).write_bytes(b"")
    return str(lib / name)


def test_cudart_is_found_in_every_wheel_layout(tmp_path, monkeypatch):
    cu12 = _wheel(tmp_path / "a", "cuda_runtime", "libcudart.so.12")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "a")])
    assert gpu.find_cudart() == cu12
    cu13 = _wheel(tmp_path / "b", "cu13", "libcudart.so.13")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "a"), str(tmp_path / "b")])
    assert gpu.find_cudart() == cu13  # the newest CUDA major first


class _Runtime:
    def __init__(self, status: int, count: int):
        self.handle = self
        self._name = "/x/libcudart.so.13"
        self.status, self.count = status, count

    def cudaGetDeviceCount(self, pointer):
        ctypes.cast(pointer, ctypes.POINTER(ctypes.c_int))[0] = self.count
        return self.status


@pytest.mark.parametrize(
    "status, count, available, reason",
    [(0, 2, True, ""), (35, 0, False, "no NVIDIA driver"), (100, 0, False, "no CUDA-capable device"), (0, 0, False, "no CUDA-capable device")],
)
def test_gpu_status_reads_the_device_count(monkeypatch, status, count, available, reason):
    monkeypatch.setattr(gpu, "cuda_runtime", lambda: _Runtime(status, count))
    probed = gpu.gpu_status.__wrapped__()
    assert probed.available is available and probed.devices == (count if available else 0)
    assert reason in probed.reason and (available or probed.cudart == "/x/libcudart.so.13")


def test_no_cuda_runtime_is_a_reason_not_a_crash(monkeypatch):
    def missing():
        raise OSError("no libcudart found")

    monkeypatch.setattr(gpu, "cuda_runtime", missing)
    probed = gpu.gpu_status.__wrapped__()
    assert not probed.available and "no libcudart found" in probed.reason


def test_polygraphy_gets_the_cuda_runtime_of_the_pip_wheel(monkeypatch):
    """Polygraphy 0.53.6 searches nvidia/cuda_runtime/lib only; the CUDA 13 wheel's nvidia/cu13/lib is handed to it."""
    from polygraphy.cuda import cuda as polygraphy_cuda

    found = gpu.find_cudart()
    if found is None or "/nvidia/" not in found:
        pytest.skip("no nvidia-cuda-runtime wheel installed (pip install 'tftrt_kit[rtx]')")
    monkeypatch.setattr(polygraphy_cuda, "G_CUDA", None)
    gpu.cuda_runtime.cache_clear()
    try:
        wrapper = gpu.cuda_runtime()
        assert wrapper is polygraphy_cuda.wrapper()
        assert wrapper.handle._name == found
    finally:
        gpu.cuda_runtime.cache_clear()
