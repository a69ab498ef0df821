"""The GPU runner: runs only where a GPU and TensorRT exist, and says why it skips elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from tftrt_kit.engines.gpu import gpu_status

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def backend():
    status = gpu_status()
    if not status.available:
        pytest.skip(f"no CUDA GPU on this machine: TensorRT engines cannot run here ({status.reason})")
    for name in ("tensorrt", "tensorrt_rtx"):
        try:
            __import__(name)
            return name
        except ImportError:
            continue
    pytest.skip("neither tensorrt nor tensorrt_rtx is installed")


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_engine_matches_tensorflow(backend, source_of, precision):
    from tftrt_kit.engines.tensorrt_builder import BuildOptions, TensorRTBuilder
    from tftrt_kit.engines.tensorrt_runner import TensorRTRunner
    from tftrt_kit.evaluate import compare, sample_inputs
    from tftrt_kit.export import convert_to_fp16, export_source

    source = source_of("small_cnn")
    model = export_source(source)
    if precision == "fp16":
        model = convert_to_fp16(model)
    plan, _ = TensorRTBuilder(backend).build(model, BuildOptions(precision, batch_sizes=(1, 4, 8)))
    runner = TensorRTRunner(plan, backend=backend)
    for batch in (1, 4):
        feeds = sample_inputs(source.inputs, batch=batch, seed=batch)
        accuracy = compare(source.run(feeds), runner(feeds), executor="tensorrt")
        assert accuracy.max_rel_error < (1e-4 if precision == "fp32" else 1e-2)
        assert np.isfinite(accuracy.cosine)


def test_loaded_artifact_runs_its_plan_and_closes(backend, saved_model, source_of, tmp_path):
    import tftrt_kit
    from tftrt_kit.evaluate import compare, sample_inputs

    report = tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), output_dir=tmp_path, backend=backend, benchmark=False)
    source = source_of("small_cnn")
    feeds = sample_inputs(source.inputs, batch=2, seed=0)
    with tftrt_kit.load(report.routes["onnx"].artifact_dir, executor="tensorrt") as model:
        assert model.executor == "tensorrt"
        accuracy = compare(source.run(feeds), model(feeds), executor="tensorrt")
    assert accuracy.max_rel_error < 1e-4
