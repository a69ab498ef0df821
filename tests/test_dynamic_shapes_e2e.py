"""Issue 17's "done when": dynamic models get TensorRT-RTX plans on both routes from shapes= and the CLI flags.

Each model is converted with its profiles, evaluated at the opt shapes, run through
``tftrt_kit.load`` at the min, opt and max shapes of every profile (compared with
TensorFlow), and every rendering of the report shows the profiles.
"""

import html
import json

import numpy as np
import pytest

import tftrt_kit
from tests.conftest import tensorrt_rtx_or_skip
from tests.models import build, save_dynamic_input_shapes_graph
from tftrt_kit.evaluate import sample_inputs
from tftrt_kit.profiles import format_profile, profiles_from_json, resolve_profiles
from tftrt_kit.source import load_source

CASES = {
    "dynamic_transformer": {"ids": {"min": (1, 8), "opt": (4, 32), "max": (8, 64)}},
    "dynamic_cnn": {"images": {"min": (1, 8, 8, 3), "opt": (2, 32, 32, 3), "max": (4, 64, 64, 3)}},
    "preprocessing_cnn": {"raw": {"min": (1, 8, 8, 3), "opt": (2, 48, 64, 3), "max": (4, 96, 96, 3)}},
    # TF-TRT's DynamicInputShapes graph, with two profiles from the shapes its test feeds.
    "tf_trt_dynamic_input_shapes": [
        {"input": {"min": (1, 5, 5, 1), "opt": (3, 5, 5, 1), "max": (10, 5, 5, 1)}},
        {"input": {"min": (1, 3, 1, 1), "opt": (1, 128, 224, 1), "max": (2, 224, 224, 1)}},
    ],
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    def make(name: str):
        path = tmp_path_factory.mktemp(name) / "saved_model"
        if name == "tf_trt_dynamic_input_shapes":
            save_dynamic_input_shapes_graph(str(path))
        else:
            build(name).export(str(path), format="tf_saved_model", verbose=False)
        return path

    return make


def _check_plans_and_load(report, source, shapes):
    plan = resolve_profiles(source.inputs, shapes)
    expected = [format_profile(p) for p in plan.profiles]
    for name in ("segment", "onnx"):
        route = report.routes[name]
        assert route.ok, route.error
        checks = [route.tensorrt] if name == "onnx" else [s.tensorrt for s in route.segments]
        assert checks and all(c is not None and c.plan_bytes for c in checks), [c.error for c in checks if c is not None]
        if name == "onnx":
            assert [format_profile(p) for p in profiles_from_json(route.tensorrt.profiles)] == expected
        else:
            assert all(len(c.profiles) == len(plan.profiles) for c in checks)
        assert route.accuracy.shapes == {k: list(v) for k, v in plan.opt_shapes().items()}
        assert route.accuracy.verdict == "pass", route.accuracy.reasons
        model = tftrt_kit.load(route.artifact_dir)
        for index, profile in enumerate(plan.profiles):
            for bound in range(3):
                feeds = sample_inputs(source.inputs, seed=index * 3 + bound, shapes={k: v[bound] for k, v in profile.items()})
                expected_out, actual = source.run(feeds), model(feeds)
                for out, value in expected_out.items():
                    np.testing.assert_allclose(actual[out], value, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(value).max())))
    text, page, data = str(report), html.unescape(report.to_html(plot=False)), json.loads(report.to_json())
    for line in expected:
        assert line in text and line in page
    assert [format_profile(p) for p in profiles_from_json(data["source"]["profiles"]["profiles"])] == expected
    assert data["routes"]["onnx"]["tensorrt"]["profiles"] == data["source"]["profiles"]["profiles"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_plans_on_both_routes_from_shapes(name, model_dir, tmp_path):
    tensorrt_rtx_or_skip()
    path = model_dir(name)
    report = tftrt_kit.convert(path, shapes=CASES[name], output_dir=tmp_path, benchmark=False)
    _check_plans_and_load(report, load_source(path), CASES[name])


def test_cli_flags_give_the_same_profiles(model_dir, tmp_path):
    tensorrt_rtx_or_skip()
    from tftrt_kit.cli import main

    path = model_dir("dynamic_transformer")
    out = tmp_path / "report.json"
    code = main([
        "convert", str(path), "--out", str(tmp_path / "out"), "--no-benchmark", "--report", str(out),
        "--min-shapes", "ids:1x8", "--opt-shapes", "ids:4x32", "--max-shapes", "ids:8x64",
    ])
    assert code == 0
    report = tftrt_kit.report.Report.from_json(out)
    _check_plans_and_load(report, load_source(path), CASES["dynamic_transformer"])


def test_segment_boundary_profiles_follow_the_graph(saved_model, tmp_path):
    """The second segment's input is the stride-2 conv's output: half the image size at each bound."""
    tensorrt_rtx_or_skip()
    shapes = {"images": {"min": (1, 8, 8, 3), "opt": (2, 32, 32, 3), "max": (4, 64, 64, 3)}}
    report = tftrt_kit.convert(saved_model("dynamic_middle_op"), routes=("segment",), shapes=shapes, output_dir=tmp_path, benchmark=False)
    route = report.routes["segment"]
    assert len(route.segments) == 2 and all(s.tensorrt.plan_bytes for s in route.segments)
    after = profiles_from_json(route.segments[1].tensorrt.profiles)[0]
    (tensor, (low, opt, high)), = after.items()
    assert (low, opt, high) == ((1, 4, 4, 8), (2, 16, 16, 8), (4, 32, 32, 8)), tensor
    manifest = json.loads((tmp_path / "segment" / "assets" / "tftrt_kit" / "manifest.json").read_text())
    parts = {p["name"]: p for p in manifest["parts"]}
    assert parts[route.segments[1].name]["tensorrt"]["profiles"] == route.segments[1].tensorrt.profiles


def test_a_data_dependent_boundary_dim_gets_a_wide_profile_and_is_said(tmp_path):
    """The rows boolean_mask keeps depend on the values: the segment after it spans 0 rows to the batch bound."""
    tensorrt_rtx_or_skip()
    from tests.models import save_data_dependent_graph

    save_data_dependent_graph(str(tmp_path / "sm"))
    shapes = {"x": {"min": (1, 4), "opt": (8, 4), "max": (32, 4)}}
    report = tftrt_kit.convert(tmp_path / "sm", routes=("segment",), shapes=shapes, output_dir=tmp_path / "out", benchmark=False)
    route = report.routes["segment"]
    assert route.segments and all(s.tensorrt.plan_bytes for s in route.segments)
    ranges = {t: r for s in route.segments for t, r in profiles_from_json(s.tensorrt.profiles)[0].items()}
    masked = {t: r for t, r in ranges.items() if "boolean_mask" in t}
    assert masked, sorted(ranges)
    for low, _, high in masked.values():
        assert low[0] == 0 and high[0] >= 32 and low[1:] == high[1:]
    assert any("depend on the data" in note for note in route.details["data_dependent_dims"])
    assert "depend on the data" in str(report)
    assert route.accuracy.verdict == "pass"
