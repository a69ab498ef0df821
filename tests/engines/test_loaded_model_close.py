"""``tftrt_kit.load`` on TensorRT (the fake module): the plan runs through TrtRunner, and closing frees the GPU memory."""

from __future__ import annotations

import numpy as np
import pytest

import tftrt_kit
from tests.engines.fake_tensorrt import plan
from tftrt_kit.errors import RuntimeInputError
from tftrt_kit.runtime.artifact import SEGMENT_ASSETS, read_manifest, write_manifest

BUILT_BY = {"backend": "tensorrt 10.13.0", "accepted": True}


def _fake_plan(entry: dict) -> bytes:
    """An "affine" fake plan over the entry's first input and first output, batch 1..8."""
    (first, *_), out = entry["inputs"], entry["outputs"][0]
    shape = [-1 if d is None else d for d in first["shape"]]
    low, high = ([1 if d == -1 else d for d in shape], [8 if d == -1 else d for d in shape])
    return plan(
        {i["name"]: {"dtype": i["dtype"], "shape": [-1 if d is None else d for d in i["shape"]]} for i in entry["inputs"]},
        {out["name"]: {"dtype": out["dtype"], "shape": [-1 if d is None else d for d in out["shape"]]}},
        [{first["name"]: [low, low, high]}],
        "affine",
    )


@pytest.fixture(scope="module")
def artifacts(saved_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("close")
    report = tftrt_kit.convert(saved_model("small_cnn"), routes=("onnx", "segment"), output_dir=out, build_plans=False, benchmark=False)
    assert all(r.ok for r in report.routes.values())
    return out


def _with_fake_plan(entry, where):
    entry.update(plan_file=f"{entry.get('name', 'model')}.tensorrt.plan", plan_backend="tensorrt", tensorrt=dict(BUILT_BY))
    (where / entry["plan_file"]).write_bytes(_fake_plan(entry))


def test_onnx_artifact_runs_on_tensorrt_and_close_frees_device_memory(artifacts, fake, tmp_path):
    import shutil

    directory = tmp_path / "onnx"
    shutil.copytree(artifacts / "onnx", directory)
    manifest = read_manifest(directory)
    _with_fake_plan(manifest, directory)
    write_manifest(directory, {k: v for k, v in manifest.items() if k != "schema_version"})
    x = np.random.default_rng(0).standard_normal([2, *manifest["inputs"][0]["shape"][1:]]).astype(np.float32)
    with tftrt_kit.load(directory, executor="tensorrt") as model:
        assert model.executor == "tensorrt"
        out = model({manifest["inputs"][0]["name"]: x})
        # The fake plan computes 2x + 1 of its first input: proof the call went through the plan.
        np.testing.assert_array_equal(next(iter(out.values())), 2 * x + 1)
        assert fake.live
    assert fake.live == {} and fake.streams == set()
    with pytest.raises(RuntimeInputError, match="after close"):
        model({manifest["inputs"][0]["name"]: x})


def test_segment_artifact_closes_every_tensorrt_segment(artifacts, fake, tmp_path, monkeypatch):
    import shutil

    directory = tmp_path / "segment"
    shutil.copytree(artifacts / "segment", directory)
    assets = directory / SEGMENT_ASSETS
    manifest = read_manifest(directory)
    segments = [e for e in manifest["parts"] if e["kind"] == "segment"]
    for entry in segments:
        _with_fake_plan(entry, assets)
    write_manifest(assets, {k: v for k, v in manifest.items() if k != "schema_version"})
    monkeypatch.setattr("tftrt_kit.engines.tensorrt_runner.gpu_available", lambda: True)
    model = tftrt_kit.load(directory)  # auto: TensorRT where "a GPU" and a plan exist
    assert set(model.segment_executors.values()) == {"tensorrt"}
    assert len(fake.streams) == len(segments)  # one TrtRunner activated per segment
    model.close()
    assert fake.live == {} and fake.streams == set()
