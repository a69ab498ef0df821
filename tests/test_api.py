"""convert() on the onnx route, the artifact on disk, and load() of it."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tftrt_kit
from tftrt_kit.errors import OutputDirError, RuntimeInputError
from tftrt_kit.evaluate import sample_inputs


@pytest.fixture(scope="module")
def onnx_report(saved_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("convert")
    return tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), output_dir=out)


def test_report_fields(onnx_report):
    route = onnx_report.routes["onnx"]
    assert route.ok and route.error is None
    assert route.accuracy.max_rel_error <= 1e-4 and route.accuracy.cosine > 0.9999
    assert route.accuracy.executor == route.latency.executor == "onnxruntime[CPU]"
    assert route.latency.p50_ms > 0 and route.latency.batch == 1
    assert onnx_report.source.latency.executor == "tensorflow" and onnx_report.source.latency.p50_ms > 0
    assert {"export", "build", "evaluate"} <= set(route.timings)
    text = str(onnx_report)
    assert "onnx" in text and "onnxruntime[CPU]" in text and "tensorflow" in text


def _tensorrt_check(route):
    """The route's TensorRT check; an explicit skip when no TensorRT builder ran."""
    if route.tensorrt is None:
        pytest.skip(f"no TensorRT builder checked the route: {route.details.get('tensorrt_skipped', 'none installed')}")
    return route.tensorrt


def test_tensorrt_plan_figures(onnx_report):
    route = onnx_report.routes["onnx"]
    trt = _tensorrt_check(route)
    assert trt.accepted and trt.plan_bytes == route.sizes["plan_bytes"] > 0 and trt.build_seconds > 0
    manifest = json.loads((route.artifact_dir / "manifest.json").read_text())
    assert (route.artifact_dir / manifest["plan_file"]).stat().st_size == trt.plan_bytes


def test_artifact_on_disk(onnx_report):
    directory = onnx_report.routes["onnx"].artifact_dir
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["route"] == "onnx" and manifest["schema_version"] == 1
    assert (directory / manifest["onnx_file"]).stat().st_size == onnx_report.routes["onnx"].sizes["onnx_bytes"]
    leftovers = [p.name for p in directory.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_load_reproduces_source_outputs(onnx_report, source_of):
    model = tftrt_kit.load(onnx_report.routes["onnx"].artifact_dir)
    assert "onnxruntime" in repr(model)
    source = source_of("small_cnn")
    for batch in (1, 4):
        feeds = sample_inputs(source.inputs, batch=batch, seed=7)
        np.testing.assert_allclose(model(feeds)["output_0"], source.run(feeds)["output_0"], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(model(**feeds)["output_0"], model(feeds)["output_0"])


def test_runtime_input_errors(onnx_report):
    model = tftrt_kit.load(onnx_report.routes["onnx"].artifact_dir)
    good = np.zeros((1, 16, 16, 3), np.float32)
    with pytest.raises(RuntimeInputError, match="missing \\['image'\\]"):
        model({})
    with pytest.raises(RuntimeInputError, match="unexpected \\['extra'\\]"):
        model(image=good, extra=good)
    with pytest.raises(RuntimeInputError, match="'image' of shape \\[None, 16, 16, 3\\].*\\[1, 8, 8, 3\\]"):
        model(image=np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(RuntimeInputError, match="'image' of dtype float32.*int64"):
        model(image=np.zeros((1, 16, 16, 3), np.int64))


def test_output_dir_not_empty_is_refused_then_overwritten(saved_model, onnx_report):
    out = onnx_report.routes["onnx"].artifact_dir.parent
    with pytest.raises(OutputDirError, match="overwrite=True"):
        tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), output_dir=out, benchmark=False)
    assert (out / "onnx" / "manifest.json").is_file()
    report = tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), output_dir=out, overwrite=True, benchmark=False)
    assert report.routes["onnx"].ok and report.routes["onnx"].latency is None


def test_fp16_route(saved_model, tmp_path):
    report = tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), precision="fp16", output_dir=tmp_path, benchmark=False)
    route = report.routes["onnx"]
    assert route.ok and route.precision == "fp16"
    assert 0 < route.accuracy.max_rel_error < 1e-2
    trt = _tensorrt_check(route)
    assert trt.precision == "fp16" and trt.plan_bytes > 0


def test_bad_arguments(saved_model):
    with pytest.raises(tftrt_kit.ConfigError, match="Received: \\['nope'\\]"):
        tftrt_kit.convert(saved_model("small_cnn"), routes=("nope",))
    with pytest.raises(tftrt_kit.ConfigError, match="precision='int4'"):
        tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), precision="int4")
    with pytest.raises(tftrt_kit.ConfigError, match="executor='gpu'"):
        tftrt_kit.load(saved_model("small_cnn"), executor="gpu")
    assert issubclass(OutputDirError, tftrt_kit.TftrtKitError)


def test_import_is_lazy():
    import subprocess
    import sys

    code = "import sys, tftrt_kit; print(sorted(m for m in ('tensorflow', 'onnxruntime', 'tf2onnx', 'tensorrt_rtx') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_mobilenet_v2_onnx_route_acceptance(saved_model, tmp_path):
    """Issue 3's bar: every node accepted by TensorRT(-RTX), a plan built, max_rel_error <= 1e-4 vs TensorFlow."""
    report = tftrt_kit.convert(saved_model("mobilenet_v2"), routes=("onnx",), output_dir=tmp_path, benchmark=False)
    route = report.routes["onnx"]
    assert route.ok, route.error
    assert route.accuracy.max_rel_error <= 1e-4
    if route.tensorrt is None:
        pytest.skip(f"no TensorRT builder installed: {route.details.get('tensorrt_skipped')}")
    assert route.tensorrt.accepted and route.tensorrt.unsupported_nodes == []
    assert route.tensorrt.plan_bytes > 0


def test_public_functions_stay_functions_after_their_modules_load():
    import tftrt_kit.triton

    assert callable(tftrt_kit.triton.serve) and callable(tftrt_kit.triton.load_check)
    import tftrt_kit.triton.load_check  # noqa: F401  (binds the submodule on the package)

    assert callable(tftrt_kit.triton.load_check)
