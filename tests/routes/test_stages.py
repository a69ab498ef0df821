"""Tests of tftrt_kit.routes.stages: a route as stages, each recorded with its seconds and outcome."""

from __future__ import annotations

import pytest

from tftrt_kit.errors import ExportError, MissingDependencyError
from tftrt_kit.report import Report, RouteResult, SourceSummary
from tftrt_kit.routes.base import RouteContext
from tftrt_kit.routes.stages import Stage, StagedRoute, StageSkipped, error_chain, record_failure, run_route
from tftrt_kit.source import TensorSpec


def _export_refused(run):
    try:
        raise ValueError("tf2onnx: no handler for op Foo")
    except ValueError as err:
        raise ExportError("Expected an ONNX model. Received: op Foo unconverted") from err


def _nothing_to_do(run):
    raise StageSkipped("fp16 only")


class _Route(StagedRoute):
    name = "fake"

    def __init__(self, *stages):
        self._stages = stages

    def stages(self, source, context):
        return self._stages


def _context(tmp_path):
    return RouteContext(output_dir=tmp_path)


def test_stages_run_in_order_and_hand_values_on(tmp_path):
    def make(run):
        run.values["model"] = 41

    def use(run):
        run.result.details["answer"] = run.values.pop("model") + 1

    result = _Route(Stage("make", make), Stage("half", _nothing_to_do), Stage("use", use))(None, _context(tmp_path))
    assert [(s.name, s.outcome, s.error) for s in result.stages] == [("make", "ok", None), ("half", "skipped", "fp16 only"), ("use", "ok", None)]
    assert result.details["answer"] == 42 and all(s.seconds >= 0 for s in result.stages)
    assert list(result.timings) == ["make", "half", "use"]


def test_a_failed_stage_keeps_timings_stage_and_cause_chain(tmp_path):
    route = _Route(Stage("load", lambda run: None), Stage("export", _export_refused), Stage("build", lambda run: None))
    result = RouteResult("fake")
    with pytest.raises(ExportError) as info:
        run_route(route, None, _context(tmp_path), result)
    assert isinstance(info.value.__cause__, ValueError)  # the cause travels with the error raised on
    record_failure(result, info.value)
    assert result.status == "failed" and result.failed_stage.name == "export"
    assert [(s.name, s.outcome) for s in result.stages] == [("load", "ok"), ("export", "failed"), ("build", "skipped")]
    assert result.error == result.failed_stage.error == (
        "ExportError: Expected an ONNX model. Received: op Foo unconverted <- caused by ValueError: tf2onnx: no handler for op Foo"
    )
    assert result.stages[2].error == "not run: stage 'export' did not finish"


def test_a_missing_optional_dependency_skips_the_route_with_its_hint(tmp_path):
    def needs_trt(run):
        raise MissingDependencyError("Building plans needs 'tensorrt'. Install it with: pip install 'tftrt_kit[tensorrt]'")

    result = RouteResult("fake")
    with pytest.raises(MissingDependencyError) as info:
        run_route(_Route(Stage("build", needs_trt)), None, _context(tmp_path), result)
    record_failure(result, info.value)
    assert result.status == "skipped" and result.failed_stage is None
    assert result.stages[0].outcome == "skipped" and "pip install 'tftrt_kit[tensorrt]'" in result.stages[0].error


def test_an_unexpected_error_says_so():
    err = KeyError("shape")
    assert record_failure(RouteResult("fake"), err).error == "KeyError: 'shape' (unexpected; please report it)"


def test_error_chain_follows_implicit_context_unless_suppressed():
    try:
        try:
            raise OSError("disk full")
        except OSError:
            raise ExportError("could not write")
    except ExportError as err:
        assert error_chain(err) == "ExportError: could not write <- caused by OSError: disk full"
    try:
        try:
            raise OSError("disk full")
        except OSError:
            raise ExportError("could not write") from None
    except ExportError as err:
        assert error_chain(err) == "ExportError: could not write"


def test_stages_survive_json_and_show_in_every_rendering(tmp_path):
    import html

    result = RouteResult("fake")
    with pytest.raises(ExportError) as info:
        run_route(_Route(Stage("load", lambda run: None), Stage("export", _export_refused), Stage("build", lambda run: None)),
                  None, _context(tmp_path), result)
    record_failure(result, info.value)
    spec = TensorSpec("x", "float32", (None, 4))
    report = Report(SourceSummary("toy", "serving_default", [spec], [spec], 3), {"fake": result})
    again = Report.from_json(report.to_json())
    assert again == report and again.routes["fake"].failed_stage.name == "export"
    for text in (str(again), again.to_markdown(), html.unescape(again.to_html(plot=False))):
        assert "Stages not ok" in text and "not run: stage 'export' did not finish" in text
        assert f"fake: failed in stage 'export': {result.error}" in text


def test_reports_written_before_stages_read_their_timings_as_ok_stages():
    spec = TensorSpec("x", "float32", (None, 4))
    data = Report(SourceSummary("toy", "serving_default", [spec], [spec], 3), {"onnx": RouteResult("onnx")}).to_dict()
    route = data["routes"]["onnx"]
    del route["stages"]
    route["timings"] = {"export": 1.5, "build": 2.0}
    old = Report.from_dict(data).routes["onnx"]
    assert [(s.name, s.seconds, s.outcome) for s in old.stages] == [("export", 1.5, "ok"), ("build", 2.0, "ok")]
    assert old.conversion_seconds == 3.5


@pytest.mark.parametrize("route_name", ["onnx", "segment"])
def test_without_tensorrt_the_build_stage_is_skipped_with_the_hint_and_the_route_goes_on(route_name, source_of, tmp_path, monkeypatch):
    from tftrt_kit.routes import engine_step
    from tftrt_kit.routes.registry import route_entry

    hint = "Building plans needs the optional module 'tensorrt_rtx'. Install it with: pip install 'tftrt_kit[rtx]'"

    def no_tensorrt(backend):
        raise MissingDependencyError(hint)

    monkeypatch.setattr(engine_step, "TensorRTBuilder", no_tensorrt)
    route = route_entry(route_name).route()
    result = route(source_of("small_cnn"), _context(tmp_path))
    build = next(s for s in result.stages if s.name == "build")
    assert result.ok and build.outcome == "skipped" and build.error == hint
    assert result.stages[-1].name == "save" and result.stages[-1].outcome == "ok" and result.artifact_dir.is_dir()
