"""``tftrt_kit.triton.export``: repositories for each route and precision, validated and written atomically."""

from __future__ import annotations

import json
import shutil

import pytest

from tftrt_kit.errors import OutputDirError
from tftrt_kit.triton import export
from tftrt_kit.triton.config import ModelConfig, ModelConfigError, parse_config

mc = pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="tritonclient (extra 'serve') is not installed")


def _parsed(repository, model):
    return parse_config((repository.path / model / "config.pbtxt").read_text(), model)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_onnx_route_without_plan(tmp_path, artifacts, precision):
    report = artifacts(precision)
    repository = export(report.routes["onnx"].artifact_dir, tmp_path / "repo", name="cnn", max_batch_size=8)
    assert [m.name for m in repository.models] == ["cnn"] and not repository.skipped
    config = _parsed(repository, "cnn")
    assert config.platform == "onnxruntime_onnx" and config.max_batch_size == 8
    # The FP16 model keeps float32 inputs and outputs (keep_io_types), which Triton checks against the ONNX.
    assert config.input[0].data_type == mc.TYPE_FP32
    assert config.instance_group[0].kind == mc.ModelInstanceGroup.KIND_CPU
    assert (repository.path / "cnn" / "1" / "model.onnx").stat().st_size > 0
    assert f"precision {precision}" in (repository.path / "cnn" / "config.pbtxt").read_text()


def _with_plan(tmp_path, artifact, backend, max_batch=None):
    """The artifact copied, with a plan file the manifest says ``backend`` built (export copies it, never runs it).

    The manifest keeps the profiles the route recorded; ``max_batch`` rewrites their largest batch.
    """
    copy = tmp_path / f"onnx_{backend}_{max_batch}"
    shutil.copytree(artifact, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    tensorrt = {**(manifest.get("tensorrt") or {}), "backend": f"{backend} 10.9.0", "accepted": True}
    if max_batch is not None:
        for profile in tensorrt["profiles"]:
            for shapes in profile.values():
                shapes["max"][0] = max_batch
    manifest.update(plan_file=f"model.{backend}.plan", plan_backend=backend, tensorrt=tensorrt)
    (copy / manifest["plan_file"]).write_bytes(b"plan bytes")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


@pytest.mark.parametrize("precision, max_batch", [("fp32", None), ("fp16", None), ("fp32", 12)])
def test_onnx_route_with_tensorrt_plan_adds_gpu_model(tmp_path, artifacts, precision, max_batch):
    built = artifacts(precision, True).routes["onnx"]
    if not (built.tensorrt and built.tensorrt.profiles):
        pytest.skip(f"no TensorRT builder recorded the plan's profiles: {built.details.get('tensorrt_skipped', 'none installed')}")
    artifact = _with_plan(tmp_path, built.artifact_dir, "tensorrt", max_batch)
    profiles = json.loads((artifact / "manifest.json").read_text())["tensorrt"]["profiles"]
    cap = max(min(shapes["max"][0] for shapes in profile.values()) for profile in profiles)
    assert cap < 64 and (max_batch is None or cap == max_batch)
    repository = export(artifact, tmp_path / "repo", name="cnn", max_batch_size=64)
    assert [(m.name, m.runs_on, m.kind) for m in repository.models] == [
        ("cnn", "onnxruntime_onnx", "KIND_CPU"), ("cnn_trt", "tensorrt_plan", "KIND_GPU")]
    config = _parsed(repository, "cnn_trt")
    assert config.platform == "tensorrt_plan"
    assert config.max_batch_size == cap, "capped at the largest batch of the plan's recorded profiles"
    assert max(config.dynamic_batching.preferred_batch_size) <= cap
    text = (repository.path / "cnn_trt" / "config.pbtxt").read_text()
    assert "GPU model and TensorRT version" in text
    assert (repository.path / "cnn_trt" / "1" / "model.plan").read_bytes() == b"plan bytes"


def test_plan_without_recorded_profiles_is_not_offered(tmp_path, artifacts):
    artifact = _with_plan(tmp_path, artifacts().routes["onnx"].artifact_dir, "tensorrt")
    manifest = json.loads((artifact / "manifest.json").read_text())
    manifest["tensorrt"].pop("profiles", None)
    (artifact / "manifest.json").write_text(json.dumps(manifest))
    repository = export(artifact, tmp_path / "repo", name="cnn")
    assert [m.name for m in repository.models] == ["cnn"] and "no optimization profile" in repository.skipped["cnn_trt"]


def test_tensorrt_rtx_plan_is_not_offered_to_triton(tmp_path, artifacts):
    artifact = _with_plan(tmp_path, artifacts().routes["onnx"].artifact_dir, "tensorrt_rtx")
    repository = export(artifact, tmp_path / "repo", name="cnn")
    assert [m.name for m in repository.models] == ["cnn"]
    assert "built by tensorrt_rtx" in repository.skipped["cnn_trt"] and "tensorrt_plan" in repository.skipped["cnn_trt"]


def test_segment_route_is_a_python_backend_model(tmp_path, artifacts):
    repository = export(artifacts().routes["segment"].artifact_dir, tmp_path / "repo", name="cnn", instances=2,
                        preferred_batch_sizes=(2, 4), max_batch_size=4)
    config = _parsed(repository, "cnn")
    assert config.backend == "python" and config.instance_group[0].count == 2
    assert list(config.dynamic_batching.preferred_batch_size) == [2, 4]
    version = repository.path / "cnn" / "1"
    assert "class TritonPythonModel" in (version / "model.py").read_text()
    assert (version / "artifact" / "assets" / "tftrt_kit" / "manifest.json").is_file()
    assert (version / "artifact" / "saved_model.pb").is_file()


def test_segment_route_with_plans_runs_on_gpu_instances(tmp_path, artifacts):
    pytest.importorskip("tensorrt_rtx", reason="no TensorRT builder installed to build segment plans")
    repository = export(artifacts(build_plans=True).routes["segment"].artifact_dir, tmp_path / "repo", name="cnn")
    assert _parsed(repository, "cnn").instance_group[0].kind == mc.ModelInstanceGroup.KIND_GPU
    assert "On a CPU-only Triton use KIND_CPU" in (repository.path / "cnn" / "config.pbtxt").read_text()


def test_report_exports_every_route_under_route_suffixed_names(tmp_path, artifacts):
    repository = export(artifacts(), tmp_path / "repo")
    assert sorted(m.name for m in repository.models) == ["saved_model_onnx", "saved_model_segment"]


def test_malformed_config_leaves_no_repository(tmp_path, artifacts, monkeypatch):
    monkeypatch.setattr(ModelConfig, "to_pbtxt", lambda self: f'name: "{self.name}"\nbackend: python\n')
    with pytest.raises(ModelConfigError, match=r"model 'cnn', line 2"):
        export(artifacts().routes["onnx"].artifact_dir, tmp_path / "repo", name="cnn")
    assert not (tmp_path / "repo").exists() and not list(tmp_path.glob(".repo.*"))


def test_existing_repository_needs_overwrite(tmp_path, artifacts):
    artifact = artifacts().routes["onnx"].artifact_dir
    export(artifact, tmp_path / "repo", name="a")
    with pytest.raises(OutputDirError):
        export(artifact, tmp_path / "repo", name="b")
    export(artifact, tmp_path / "repo", name="b", overwrite=True)
    assert [p.name for p in (tmp_path / "repo").iterdir()] == ["b"]


def test_plan_dims_come_from_the_profiles():
    """A dim every profile fixes is written as that size in the plan model's config; a ranged one stays -1."""
    from tftrt_kit.source import TensorSpec
    from tftrt_kit.triton.repository import profile_dims

    spec = TensorSpec("image", "float32", (None, None, None, 3))
    fixed = {"image": {"min": [1, 224, 224, 3], "opt": [8, 224, 224, 3], "max": [32, 224, 224, 3]}}
    ranged = {"image": {"min": [1, 128, 224, 3], "opt": [1, 128, 224, 3], "max": [2, 224, 224, 3]}}
    assert profile_dims([spec], [fixed])[0].shape == (None, 224, 224, 3)
    assert profile_dims([spec], [fixed, ranged])[0].shape == (None, None, 224, 3)
    assert profile_dims([spec], [])[0].shape == (None, None, None, 3)
