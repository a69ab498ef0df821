"""Artifacts of ``small_cnn`` converted once for the Triton tests."""

from __future__ import annotations

import pytest

from tests.models import build


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory, saved_model):
    """``artifacts(precision, build_plans)`` -> the Report of ``small_cnn`` by both routes (cached)."""
    import tftrt_kit

    cache = {}

    def make(precision: str = "fp32", build_plans: bool = False):
        key = (precision, build_plans)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"triton_{precision}_{int(build_plans)}")
            cache[key] = tftrt_kit.convert(
                saved_model("small_cnn"), routes=("onnx", "segment"), precision=precision, output_dir=out,
                build_plans=build_plans, benchmark=False,
            )
        return cache[key]

    return make


@pytest.fixture(scope="session")
def segment_artifact(tmp_path_factory):
    """``small_cnn`` converted by the segment route in the test, with its Keras source."""
    import tftrt_kit

    model = build("small_cnn")
    out = tmp_path_factory.mktemp("served")
    report = tftrt_kit.convert(model, routes=("segment",), benchmark=False, output_dir=out)
    assert report.routes["segment"].ok, report.routes["segment"].error
    return report.routes["segment"].artifact_dir, model
