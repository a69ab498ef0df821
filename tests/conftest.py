"""Shared fixtures: SavedModels of the registered tiny models, built once per session."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

from tests.models import build  # noqa: E402


@pytest.fixture(scope="session")
def saved_model(tmp_path_factory):
    """``saved_model(name)`` -> path of the registered model exported as a SavedModel."""
    cache = {}

    def make(name: str):
        if name not in cache:
            path = tmp_path_factory.mktemp(f"sm_{name}") / "saved_model"
            build(name).export(str(path), format="tf_saved_model", verbose=False)
            cache[name] = path
        return cache[name]

    return make


@pytest.fixture(scope="session")
def source_of(saved_model):
    """``source_of(name)`` -> :class:`tftrt_kit.source.Source` of a registered model (cached)."""
    from tftrt_kit.source import load_source

    cache = {}

    def make(name: str):
        if name not in cache:
            cache[name] = load_source(saved_model(name))
        return cache[name]

    return make


def tensorrt_rtx_or_skip():
    """Import tensorrt_rtx or skip the test with the reason."""
    return pytest.importorskip("tensorrt_rtx", reason="tensorrt-rtx-cu13 (extra 'rtx') is not installed")
