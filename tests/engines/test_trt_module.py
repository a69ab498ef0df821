"""The Polygraphy binding: explicit, scoped, and one TensorRT module at a time."""

from __future__ import annotations

import threading

import pytest

from tests.engines.fake_tensorrt import make_fake_tensorrt
from tftrt_kit.engines.trt_module import describe, polygraphy_bound
from tftrt_kit.errors import ConfigError


def test_other_module_in_the_same_thread_is_refused(fake):
    import sys

    other = make_fake_tensorrt()
    other.__name__ = "tensorrt_rtx"
    with polygraphy_bound(sys.modules["tensorrt"]):
        with polygraphy_bound(sys.modules["tensorrt"]):  # nesting the same module is fine
            with pytest.raises(ConfigError, match="one TensorRT module at a time.*tensorrt_rtx.*inside a block using tensorrt"):
                with polygraphy_bound(other):
                    pass


def test_other_module_in_another_thread_waits_for_the_block(fake):
    import sys

    from polygraphy import config
    from polygraphy.backend.trt import loader

    tensorrt = sys.modules["tensorrt"]
    other = make_fake_tensorrt()
    other.__name__ = "tensorrt_rtx_fake_for_test"
    sys.modules[other.__name__] = other
    seen = []

    def second():
        with polygraphy_bound(other):
            seen.append(("second", loader.trt.__name__))

    try:
        with polygraphy_bound(tensorrt):
            worker = threading.Thread(target=second)
            worker.start()
            worker.join(timeout=0.5)
            assert worker.is_alive(), "the other module's block ran inside this one"
            seen.append(("first", loader.trt.__name__, config.USE_TENSORRT_RTX))
        worker.join(timeout=10)
    finally:
        del sys.modules[other.__name__]
    assert seen == [("first", "tensorrt", False), ("second", "tensorrt_rtx_fake_for_test")]


def test_describe_names_module_version_and_cpu_only_builds():
    rtx = make_fake_tensorrt()
    rtx.__name__, rtx.__version__ = "tensorrt_rtx", "1.7.1.116"
    assert describe(rtx, gpu=False) == "TensorRT-RTX 1.7.1, CPU-only builder"
    assert describe(rtx, gpu=True) == "TensorRT-RTX 1.7.1"
    assert describe(make_fake_tensorrt(), gpu=True) == "TensorRT 10.13.0"
