"""A route and an executor are one module with one registry entry each: a toy of each, registered
from test modules, is seen by convert(), load(), manifest validation, the CLI and the report."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

import tftrt_kit
from tftrt_kit.cli import build_parser, main
from tftrt_kit.engines.executors import executor_names, unregister_executor
from tftrt_kit.errors import ArtifactError, ConfigError
from tftrt_kit.routes.registry import default_routes, register_route, routes, unregister_route
from tftrt_kit.routes.stages import Stage, StagedRoute

TOY_MODULES = ("tests.toy_route", "tests.toy_executor")


@pytest.fixture
def toys():
    """Import the toy route and executor modules (registering them); unregister them after the test."""
    for name in TOY_MODULES:
        sys.modules.pop(name, None)
        importlib.import_module(name)
    yield
    unregister_route("toy")
    unregister_executor("onnx_reference")
    for name in TOY_MODULES:
        sys.modules.pop(name, None)


def _subcommand(command: str):
    return next(a for a in build_parser()._actions if a.dest == "command").choices[command]


def _executor_choices(command: str) -> list[str]:
    return list(next(a for a in _subcommand(command)._actions if a.dest == "executor").choices)


def test_toy_route_and_executor_reach_convert_load_and_the_cli(toys, saved_model, source_of, tmp_path, capsys):
    assert "toy" in routes() and "toy" not in default_routes() == ("segment", "onnx")
    assert executor_names()[-1] == "onnx_reference"
    assert "onnx_reference" in _executor_choices("bench") and "onnx_reference" in _executor_choices("serve")
    assert "from: onnx, segment, toy (default: segment,onnx)" in " ".join(_subcommand("convert").format_help().split())

    report = tftrt_kit.convert(saved_model("small_cnn"), routes=("toy",), output_dir=tmp_path, benchmark=False)
    toy = report.routes["toy"]
    assert toy.ok, toy.error
    assert [(s.name, s.outcome) for s in toy.stages] == [("export", "ok"), ("save", "ok"), ("load artifact", "ok"), ("evaluate", "ok")]
    assert toy.accuracy.verdict == "pass" and toy.accuracy.executor.startswith("onnxruntime")

    model = tftrt_kit.load(toy.artifact_dir, executor="onnx_reference")
    assert model.executor == "onnx_reference"
    x = np.random.default_rng(0).standard_normal((2, 16, 16, 3)).astype("float32")
    (name, want), = source_of("small_cnn").run({"image": x}).items()
    np.testing.assert_allclose(model(image=x)[name], np.asarray(want), rtol=1e-4, atol=1e-5)

    assert main(["bench", str(toy.artifact_dir), "--executor", "onnx_reference", "--batch-sizes", "1"]) == 0
    assert "on onnx_reference" in capsys.readouterr().out

    from tftrt_kit.triton import export

    with pytest.raises(ConfigError, match="route 'toy', which has none"):
        export(toy.artifact_dir, tmp_path / "repository")
    assert not (tmp_path / "repository").exists()


def test_an_unregistered_route_is_refused_by_name(toys, saved_model, tmp_path):
    report = tftrt_kit.convert(saved_model("small_cnn"), routes=("toy",), output_dir=tmp_path, benchmark=False)
    unregister_route("toy")
    with pytest.raises(ArtifactError, match="Expected route in \\['onnx', 'segment'\\].*route='toy'"):
        tftrt_kit.load(report.routes["toy"].artifact_dir)


def test_a_route_missing_an_optional_dependency_is_skipped_with_the_install_hint(saved_model, tmp_path):
    from tftrt_kit._optional import require

    def needs_extra(run):
        require("tftrt_kit_no_such_extra", "The extra route")

    @register_route("extra", manifest_schema={}, loader="tftrt_kit.runtime.loader:OnnxArtifactModel")
    class ExtraRoute(StagedRoute):
        def stages(self, source, context):
            return [Stage("prepare", lambda run: None), Stage("export", needs_extra), Stage("save", lambda run: None)]

    try:
        report = tftrt_kit.convert(saved_model("small_cnn"), routes=("extra",), output_dir=tmp_path, benchmark=False)
    finally:
        unregister_route("extra")
    extra = report.routes["extra"]
    assert extra.status == "skipped" and "pip install tftrt_kit_no_such_extra" in extra.error
    assert [(s.name, s.outcome) for s in extra.stages] == [("prepare", "ok"), ("export", "skipped"), ("save", "skipped")]
    assert isinstance(extra.stages[1].error, str) and "pip install tftrt_kit_no_such_extra" in extra.stages[1].error
    assert extra.stages[2].error == "not run: stage 'export' did not finish"
    assert "extra: skipped" in str(report)
