"""The fake TensorRT module and CUDA runtime, installed for one test (see :mod:`tests.engines.fake_tensorrt`)."""

from __future__ import annotations

import sys

import pytest

from tests.engines.fake_tensorrt import FakeCuda, make_fake_tensorrt


@pytest.fixture
def fake(monkeypatch):
    """The fake ``tensorrt`` importable as ``tensorrt`` and the fake CUDA runtime installed in Polygraphy."""
    from polygraphy.cuda import cuda as polygraphy_cuda

    from tftrt_kit.engines.gpu import cuda_runtime

    trt = make_fake_tensorrt()
    device = FakeCuda()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setattr(polygraphy_cuda, "G_CUDA", device)
    cuda_runtime.cache_clear()
    yield device
    cuda_runtime.cache_clear()
