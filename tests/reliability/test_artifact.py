"""Artifacts: atomic writes, stale staging clean-up, manifest schema, safe paths, plan fallback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings

import numpy as np
import pytest

import tftrt_kit
from tests.reliability.conftest import tree_bytes
from tftrt_kit.errors import ArtifactError, EngineBuildError, IncompatiblePlanError, OutputDirError, TftrtKitError
from tftrt_kit.runtime import artifact
from tftrt_kit.runtime.artifact import MANIFEST, atomic_directory, read_manifest, remove_stale_staging, write_text_atomic


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _edit_manifest(directory, **changes) -> None:
    path = directory / MANIFEST
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


# --- atomic writes -------------------------------------------------------------------------------


def test_failed_write_leaves_target_and_siblings_untouched(tmp_path):
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "model.onnx").write_bytes(b"old")
    (tmp_path / "segment").mkdir()
    (tmp_path / "segment" / "manifest.json").write_text("{}")
    before = tree_bytes(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        with atomic_directory(tmp_path / "onnx", overwrite=True) as staging:
            (staging / "model.onnx").write_bytes(b"new, half written")
            raise KeyboardInterrupt
    assert tree_bytes(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["onnx", "segment"]


def test_successful_write_replaces_target_whole(tmp_path):
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "stale.plan").write_bytes(b"old")
    with atomic_directory(tmp_path / "onnx", overwrite=True) as staging:
        (staging / "model.onnx").write_bytes(b"new")
    assert tree_bytes(tmp_path) == {"onnx/model.onnx": b"new"}


@pytest.mark.parametrize("kind", ["file", "non-empty"])
def test_refused_output_dir_names_it(tmp_path, kind):
    target = tmp_path / "onnx"
    if kind == "file":
        target.write_text("x")
    else:
        target.mkdir()
        (target / "keep").write_text("x")
    with pytest.raises(OutputDirError, match=str(target)):
        with atomic_directory(target):
            pass
    assert [p.name for p in tmp_path.iterdir()] == ["onnx"]


def test_stale_staging_of_dead_processes_is_cleaned(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    stale = tmp_path / f".onnx.partial-{dead}-abc"
    live = tmp_path / f".onnx.partial-{alive}-def"
    other = tmp_path / f".segment.partial-{dead}-ghi"
    for path in (stale, live, other):
        path.mkdir()
    with atomic_directory(tmp_path / "onnx") as staging:
        (staging / "model.onnx").write_bytes(b"new")
    assert not stale.exists() and live.exists() and other.exists()


def test_previous_artifact_restored_after_a_kill_between_renames(tmp_path):
    trash = tmp_path / f".onnx.old-{_dead_pid()}-xyz"
    (trash / "old").mkdir(parents=True)
    (trash / "old" / "model.onnx").write_bytes(b"previous")
    assert remove_stale_staging(tmp_path / "onnx") == [trash]
    assert tree_bytes(tmp_path) == {"onnx/model.onnx": b"previous"}


def test_write_text_atomic_keeps_old_content_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "report.json"
    write_text_atomic(path, "old")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        write_text_atomic(path, "new")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_refused_call_keeps_the_output_byte_identical(saved_model, onnx_artifact):
    out = onnx_artifact.parent
    (out / "segment").mkdir()
    (out / "segment" / "manifest.json").write_text('{"route": "segment"}')
    before = tree_bytes(out)
    with pytest.raises(OutputDirError, match=str(onnx_artifact)):
        tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx",), output_dir=out, benchmark=False)
    assert tree_bytes(out) == before and sorted(p.name for p in out.iterdir()) == ["onnx", "segment"]


# --- manifest --------------------------------------------------------------------------------------


def test_written_manifest_loads(onnx_artifact):
    data = read_manifest(onnx_artifact)
    assert data["schema_version"] == artifact.MANIFEST_VERSION and data["route"] == "onnx"


@pytest.mark.parametrize(
    "damage, names",
    [
        ("missing", ["manifest.json", "without one"]),
        ("not-json", ["valid UTF-8 JSON", "manifest.json"]),
        ("not-utf8", ["valid UTF-8 JSON"]),
        ("list", ["JSON object", "list"]),
        ("newer", ["schema_version <= 1", "Received: 2", "upgrade tftrt_kit"]),
        ("zero", ["schema_version=0"]),
        ("bool-version", ["schema_version=True"]),
        ("route", ["route='tflite'"]),
        ("field-type", ["'inputs'", "Received: 'image'"]),
        ("missing-field", ["'onnx_file'", "<missing>"]),
        ("bad-dtype", ["'inputs'", "dtype in"]),
        ("negative-dim", ["'inputs'", "int >= 0"]),
        ("precision", ["'precision'", "'int4'"]),
        ("missing-file", ["'model.onnx'", "no such file"]),
    ],
)
def test_bad_manifest(onnx_artifact, damage, names):
    path = onnx_artifact / MANIFEST
    spec = {"name": "image", "dtype": "float32", "shape": [None, 16, 16, 3]}
    edits = {
        "newer": {"schema_version": 2}, "zero": {"schema_version": 0}, "bool-version": {"schema_version": True},
        "route": {"route": "tflite"}, "field-type": {"inputs": "image"}, "bad-dtype": {"inputs": [{**spec, "dtype": "string"}]},
        "negative-dim": {"inputs": [{**spec, "shape": [-1, 16, 16, 3]}]}, "precision": {"precision": "int4"},
    }
    if damage == "missing":
        path.unlink()
    elif damage == "not-json":
        path.write_text("{'route': 'onnx'")
    elif damage == "not-utf8":
        path.write_bytes(b"\xff\xfe{}")
    elif damage == "list":
        path.write_text("[]")
    elif damage == "missing-field":
        data = json.loads(path.read_text())
        del data["onnx_file"]
        path.write_text(json.dumps(data))
    elif damage == "missing-file":
        (onnx_artifact / "model.onnx").unlink()
    else:
        _edit_manifest(onnx_artifact, **edits[damage])
    with pytest.raises(ArtifactError) as info:
        tftrt_kit.load(onnx_artifact)
    for name in names:
        assert name in str(info.value), str(info.value)


def test_unknown_fields_are_tolerated(onnx_artifact):
    _edit_manifest(onnx_artifact, added_by_a_newer_minor={"any": [1, 2]})
    assert tftrt_kit.load(onnx_artifact, executor="onnxruntime").executor.startswith("onnxruntime")


def test_not_a_directory(tmp_path):
    with pytest.raises(ArtifactError, match="not a directory"):
        tftrt_kit.load(tmp_path / "nope")


# --- safe paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("onnx_file", "../x.onnx"),
        ("onnx_file", "sub/../../x.onnx"),
        ("onnx_file", "/etc/passwd"),
        ("onnx_file", ""),
        ("onnx_file", "."),
        ("onnx_file", "a\u0000b"),
        ("plan_file", "../../model.plan"),
        ("other_file", 7),
        ("extra_files", ["model.onnx", "../y"]),
        ("nested", {"deep": [{"weights_file": "/tmp/w"}]}),
    ],
)
def test_paths_outside_the_artifact_are_refused(onnx_artifact, field, value):
    (onnx_artifact.parent / "x.onnx").write_bytes((onnx_artifact / "model.onnx").read_bytes())
    _edit_manifest(onnx_artifact, **{field: value})
    with pytest.raises(ArtifactError, match="Expected a (relative path|list of relative path)"):
        tftrt_kit.load(onnx_artifact)


def test_symlinks_escaping_the_artifact_are_refused(onnx_artifact, tmp_path):
    outside = tmp_path / "outside.onnx"
    shutil.copy(onnx_artifact / "model.onnx", outside)
    (onnx_artifact / "link.onnx").symlink_to(outside)
    (onnx_artifact / "linkdir").symlink_to(tmp_path)
    for target in ("link.onnx", "linkdir/outside.onnx"):
        _edit_manifest(onnx_artifact, onnx_file=target)
        with pytest.raises(ArtifactError, match=f"Received: '{target}'"):
            tftrt_kit.load(onnx_artifact)


def test_symlinks_inside_the_artifact_are_allowed(onnx_artifact):
    (onnx_artifact / "alias.onnx").symlink_to("model.onnx")
    _edit_manifest(onnx_artifact, onnx_file="alias.onnx")
    assert tftrt_kit.load(onnx_artifact, executor="onnxruntime")(image=np.zeros((1, 16, 16, 3), "float32"))


def test_corrupt_onnx_file(onnx_artifact):
    (onnx_artifact / "model.onnx").write_bytes(b"\x08garbage")
    with pytest.raises(ArtifactError, match="model.onnx.*convert the model again"):
        tftrt_kit.load(onnx_artifact, executor="onnxruntime")


# --- plans from elsewhere fall back to ONNX Runtime ----------------------------------------------------------


@pytest.fixture
def with_plan(onnx_artifact, monkeypatch):
    """The artifact with a tensorrt_rtx plan, on a machine that claims to have a GPU."""
    pytest.importorskip("tensorrt_rtx")
    if not read_manifest(onnx_artifact)["plan_file"]:
        pytest.skip("no plan was built")
    monkeypatch.setattr("tftrt_kit.engines.tensorrt_runner.gpu_available", lambda: True)
    return onnx_artifact


def _falls_back(directory, *names):
    with pytest.warns(RuntimeWarning, match="running on ONNX Runtime") as record:
        model = tftrt_kit.load(directory)
    assert model.executor.startswith("onnxruntime")
    message = str(record[0].message)
    for name in names:
        assert name in message, message
    return model


@pytest.mark.parametrize("content", ["garbage", "empty", "truncated-header", "other-module"])
def test_damaged_plan_falls_back(with_plan, content):
    plan = with_plan / read_manifest(with_plan)["plan_file"]
    data = plan.read_bytes()
    plan.write_bytes({"garbage": os.urandom(4096), "empty": b"", "truncated-header": data[:16], "other-module": b"ftrt" + data[4:]}[content])
    _falls_back(with_plan, "Expected a serialized tensorrt_rtx plan", str(plan))
    with pytest.raises(IncompatiblePlanError, match=str(plan)):
        tftrt_kit.load(with_plan, executor="tensorrt")


def test_plan_of_another_tensorrt_version_falls_back(with_plan):
    data = read_manifest(with_plan)
    _edit_manifest(with_plan, tensorrt={**data["tensorrt"], "backend": "tensorrt_rtx 0.9.0.1"})
    _falls_back(with_plan, "built by tensorrt_rtx 0.9.0.1", "convert the model again")


def test_valid_plan_that_cannot_deserialize_here_falls_back(with_plan):
    """A real plan on a machine without a usable GPU: TensorRTRunner fails with a TftrtKitError, never a crash."""
    with pytest.raises(EngineBuildError) as info:
        tftrt_kit.load(with_plan, executor="tensorrt")
    assert isinstance(info.value, TftrtKitError)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(RuntimeWarning, match="running on ONNX Runtime"):
            tftrt_kit.load(with_plan)
    model = _falls_back(with_plan, "TensorRT not usable here")
    assert model(image=np.zeros((1, 16, 16, 3), "float32"))["output_0"].shape == (1, 5)


def test_segment_manifest_paths_are_checked_inside_its_assets(tmp_path):
    assets = tmp_path / "segment" / "assets" / "tftrt_kit"
    assets.mkdir(parents=True)
    (assets / "seg_0.onnx").write_bytes(b"x")
    (tmp_path / "segment" / "saved_model.pb").write_bytes(b"x")
    spec = {"name": "x:0", "dtype": "float32", "shape": [None, 4]}
    part = {"name": "seg_0", "kind": "segment", "function": "seg_0", "inputs": [spec], "outputs": [spec], "onnx_file": "seg_0.onnx"}
    manifest = {
        "schema_version": 1, "route": "segment", "precision": "fp32", "source": "m", "signature": "serving_default",
        "inputs": [{**spec, "name": "x"}], "outputs": [{**spec, "name": "y"}], "input_tensors": ["x:0"], "output_tensors": ["x:0"],
        "parts": [part],
    }
    (assets / MANIFEST).write_text(json.dumps(manifest))
    assert read_manifest(tmp_path / "segment")["parts"][0]["onnx_file"] == "seg_0.onnx"
    for bad in ("../../saved_model.pb", "/etc/passwd"):
        (assets / MANIFEST).write_text(json.dumps({**manifest, "parts": [{**part, "onnx_file": bad}]}))
        with pytest.raises(ArtifactError, match=f"parts\\[0\\].onnx_file.*Received: '{bad}'"):
            read_manifest(tmp_path / "segment")
    (assets / MANIFEST).write_text(json.dumps({**manifest, "parts": [{**part, "kind": "cluster"}]}))
    with pytest.raises(ArtifactError, match="'parts'"):
        read_manifest(tmp_path / "segment")


def test_artifact_directory_and_atomic_files_take_the_umask_not_private_modes(tmp_path):
    old_mask = os.umask(0o027)
    try:
        with atomic_directory(tmp_path / "artifact") as staging:
            (staging / "model.onnx").write_bytes(b"x")
        write_text_atomic(tmp_path / "artifact" / MANIFEST, "{}")
    finally:
        os.umask(old_mask)
    assert (tmp_path / "artifact").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "artifact" / MANIFEST).stat().st_mode & 0o777 == 0o640
