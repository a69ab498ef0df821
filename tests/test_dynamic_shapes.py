"""Dynamic shapes end to end: profiles from shapes= (or the CLI), plans, evaluation at the opt shapes, reports."""

import html
import json

import numpy as np
import pytest

import tftrt_kit
from tests.conftest import tensorrt_rtx_or_skip
from tftrt_kit.errors import ConfigError


def test_a_dynamic_dim_without_a_size_converts_and_every_rendering_says_no_plan(saved_model, tmp_path):
    tensorrt_rtx_or_skip()
    report = tftrt_kit.convert(saved_model("dynamic_transformer"), routes=("onnx",), output_dir=tmp_path, benchmark=False)
    route = report.routes["onnx"]
    assert route.ok and route.tensorrt is not None and route.tensorrt.plan_bytes is None
    assert route.tensorrt.error.startswith("pass shapes={'ids': {'min': (1, ?)")
    # Never evaluated at length 1: the guessed size is used and said.
    assert route.accuracy.shapes == {"ids": [8, 16]}
    assert "guessed sizes: 16 for input 'ids' dim 1" in route.accuracy.inputs
    for text in (str(report), report.to_markdown(), html.unescape(report.to_html(plot=False))):
        assert "no plan: pass shapes={'ids'" in text
    data = json.loads(report.to_json())
    assert data["source"]["profiles"]["missing"] == ["input 'ids' dim 1"]
    manifest = json.loads((tmp_path / "onnx" / "manifest.json").read_text())
    assert manifest["profiles"]["missing"] == ["input 'ids' dim 1"] and manifest["plan_file"] is None


def test_bad_shapes_fail_before_any_route_naming_the_input(saved_model, tmp_path):
    with pytest.raises(ConfigError, match=r"shapes\['ids'\] min shape of rank 2"):
        tftrt_kit.convert(saved_model("dynamic_transformer"), shapes={"ids": {"min": (1,), "opt": (8,), "max": (32,)}}, output_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_sample_data_sizes_the_profile_and_the_evaluation(saved_model, tmp_path):
    ids = np.random.default_rng(0).integers(0, 50, (3, 12)).astype(np.int32)
    report = tftrt_kit.convert(saved_model("dynamic_transformer"), routes=("onnx",), sample_data={"ids": ids}, output_dir=tmp_path, benchmark=False)
    assert report.source.profiles["origin"] == "sample_data"
    assert report.source.profiles["profiles"] == [{"ids": {"min": [1, 12], "opt": [8, 12], "max": [32, 12]}}]
    assert report.routes["onnx"].accuracy.shapes == {"ids": [3, 12]}
