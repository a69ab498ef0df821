"""Models over protobuf's 2 GiB limit: ONNX external data, consumers reading from the path.

No 2 GiB model is built here: the threshold is lowered to a few KB so a tiny Dense
stack takes the external-data path by both routes. The one real > 2 GiB model is
``test_real_model_over_2gib`` (marked slow).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import tftrt_kit
from tftrt_kit import onnx_files
from tftrt_kit.errors import ArtifactError
from tests.conftest import tensorrt_rtx_or_skip

#: Low enough that every layer's weights below go external (the Dense kernels are 8-16 KB).
SMALL_THRESHOLD = 4096


def _dense_stack(widths=(48, 64, 64, 5), seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((widths[0],), name="features")
    x = inputs
    for width in widths[1:-1]:
        x = keras.layers.Dense(width, activation="relu", bias_initializer="random_normal")(x)
    outputs = keras.layers.Dense(widths[-1], bias_initializer="random_normal")(x)
    return keras.Model(inputs, outputs, name="dense_stack")


@pytest.fixture
def external_data(monkeypatch):
    monkeypatch.setattr(onnx_files, "EXTERNAL_DATA_BYTES", SMALL_THRESHOLD)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Both routes' artifacts of the Dense stack, written with the threshold lowered, and the model's input and output."""
    model = _dense_stack()
    saved = tmp_path_factory.mktemp("dense_sm") / "saved_model"
    model.export(str(saved), format="tf_saved_model", verbose=False)
    out = tmp_path_factory.mktemp("dense_out")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(onnx_files, "EXTERNAL_DATA_BYTES", SMALL_THRESHOLD)
        report = tftrt_kit.convert(saved, routes=("onnx", "segment"), output_dir=out, benchmark=False)
    x = np.random.default_rng(1).standard_normal((4, 48)).astype(np.float32)
    return report, out, x, np.asarray(model(x))


def _onnx_model():
    import onnx
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = numpy_helper.from_array(rng.standard_normal((64, 64)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 64])], [weights],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_small_model_stays_one_file(tmp_path):
    model = _onnx_model()
    assert onnx_files.save_onnx(model, tmp_path / "m.onnx") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]


def test_large_model_is_saved_with_external_data_and_kept_in_memory(external_data, tmp_path):
    import onnx

    model = _onnx_model()
    before = model.SerializeToString()
    assert onnx_files.save_onnx(model, tmp_path / "m.onnx") == "m.onnx.data"
    assert model.SerializeToString() == before  # the caller's model still holds its weights
    assert (tmp_path / "m.onnx").stat().st_size < SMALL_THRESHOLD < (tmp_path / "m.onnx.data").stat().st_size
    onnx.checker.check_model(str(tmp_path / "m.onnx"))
    reloaded = onnx.load(str(tmp_path / "m.onnx"))
    np.testing.assert_array_equal(
        onnx.numpy_helper.to_array(reloaded.graph.initializer[0]), onnx.numpy_helper.to_array(model.graph.initializer[0])
    )


def test_rtx_parses_and_builds_a_large_model_from_its_path(external_data):
    tensorrt_rtx_or_skip()
    from tftrt_kit.engines.tensorrt_builder import BuildOptions, TensorRTBuilder

    builder = TensorRTBuilder("tensorrt_rtx")
    model = _onnx_model()
    assert onnx_files.needs_external_data(model)
    assert builder.check(model).accepted
    assert builder.supported_node_names(model) == {"matmul"}
    plan, check = builder.build(model, BuildOptions(batch_sizes=(1, 2, 4)))
    assert check.accepted and len(plan) > 64 * 64 * 4  # the plan carries the weights read from the data file


def test_onnx_route_artifact_holds_external_data(converted):
    import onnx

    report, out, x, expected = converted
    manifest = json.loads((out / "onnx" / "manifest.json").read_text())
    assert manifest["onnx_data_file"] == "model.onnx.data"
    assert (out / "onnx" / "model.onnx.data").stat().st_size > SMALL_THRESHOLD
    onnx.checker.check_model(str(out / "onnx" / "model.onnx"))
    with tftrt_kit.load(out / "onnx", executor="onnxruntime") as model:
        np.testing.assert_allclose(model(features=x)["output_0"], expected, atol=1e-5, rtol=1e-5)


def test_segment_route_artifact_holds_external_data(converted):
    import onnx

    report, out, x, expected = converted
    assets = out / "segment" / "assets" / "tftrt_kit"
    manifest = json.loads((assets / "manifest.json").read_text())
    segments = [p for p in manifest["parts"] if p["kind"] == "segment"]
    assert segments and all(p["onnx_data_file"] == p["onnx_file"] + ".data" for p in segments)
    for part in segments:
        assert (assets / part["onnx_data_file"]).is_file()
        onnx.checker.check_model(str(assets / part["onnx_file"]))
    with tftrt_kit.load(out / "segment", executor="onnxruntime") as model:
        np.testing.assert_allclose(model(features=x)["output_0"], expected, atol=1e-5, rtol=1e-5)


def test_rtx_built_both_routes_plans_from_external_data(converted):
    tensorrt_rtx_or_skip()
    report, out, _, _ = converted
    onnx_manifest = json.loads((out / "onnx" / "manifest.json").read_text())
    assert onnx_manifest["tensorrt"]["accepted"] and (out / "onnx" / onnx_manifest["plan_file"]).stat().st_size > 0
    assets = out / "segment" / "assets" / "tftrt_kit"
    for part in json.loads((assets / "manifest.json").read_text())["parts"]:
        if part["kind"] == "segment":
            assert part["tensorrt"]["accepted"] and (assets / part["plan_file"]).stat().st_size > 0


def _copy(out, tmp_path, route):
    import shutil

    target = tmp_path / route
    shutil.copytree(out / route, target)
    return target


def test_manifest_refuses_external_data_outside_the_artifact(converted, tmp_path):
    _, out, _, _ = converted
    artifact = _copy(out, tmp_path, "onnx")
    (tmp_path / "stolen.data").write_bytes((artifact / "model.onnx.data").read_bytes())
    manifest = json.loads((artifact / "manifest.json").read_text())
    manifest["onnx_data_file"] = "../stolen.data"
    (artifact / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="onnx_data_file"):
        tftrt_kit.load(artifact)


def test_onnx_whose_data_location_leaves_the_artifact_is_refused(converted, tmp_path):
    import onnx

    _, out, _, _ = converted
    artifact = _copy(out, tmp_path, "onnx")
    (artifact / "model.onnx.data").rename(tmp_path / "stolen.data")
    model = onnx.load(str(artifact / "model.onnx"), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../stolen.data"
    onnx.save(model, str(artifact / "model.onnx"))
    manifest = json.loads((artifact / "manifest.json").read_text())
    manifest["onnx_data_file"] = None
    (artifact / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="model.onnx"):
        tftrt_kit.load(artifact, executor="onnxruntime")


def _run(model, x):
    from tftrt_kit.engines.onnxruntime import OnnxRuntimeExecutor

    return OnnxRuntimeExecutor(model)({"x": x})["y"]


def test_fp16_of_a_large_model_matches_the_in_memory_conversion(monkeypatch):
    import onnx

    from tftrt_kit.export import convert_to_fp16

    in_memory = convert_to_fp16(_onnx_model())
    monkeypatch.setattr(onnx_files, "EXTERNAL_DATA_BYTES", SMALL_THRESHOLD)
    from_file = convert_to_fp16(_onnx_model())
    assert from_file.graph.initializer[0].data_type == onnx.TensorProto.FLOAT16
    assert from_file.graph == in_memory.graph
    x = np.random.default_rng(2).standard_normal((3, 64)).astype(np.float32)
    np.testing.assert_allclose(_run(from_file, x), _run(_onnx_model(), x), rtol=1e-2, atol=5e-2)


def test_int8_ptq_of_a_large_model_matches_the_in_memory_quantization(monkeypatch):
    from tftrt_kit.quantize import quantize_onnx

    feeds = [{"x": np.random.default_rng(k).standard_normal((8, 64)).astype(np.float32)} for k in range(2)]
    in_memory = quantize_onnx(_onnx_model(), feeds)
    monkeypatch.setattr(onnx_files, "EXTERNAL_DATA_BYTES", SMALL_THRESHOLD)
    from_file = quantize_onnx(_onnx_model(), feeds)
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in from_file.graph.node}
    assert from_file.graph == in_memory.graph
    np.testing.assert_array_equal(_run(from_file, feeds[0]["x"]), _run(in_memory, feeds[0]["x"]))


def test_segment_manifest_refuses_a_part_data_file_outside_the_artifact(converted, tmp_path):
    _, out, _, _ = converted
    artifact = _copy(out, tmp_path, "segment")
    path = artifact / "assets" / "tftrt_kit" / "manifest.json"
    manifest = json.loads(path.read_text())
    part = next(p for p in manifest["parts"] if p["kind"] == "segment")
    part["onnx_data_file"] = "/etc/hostname"
    path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="onnx_data_file"):
        tftrt_kit.load(artifact)


def test_triton_repository_carries_the_external_data(converted, tmp_path):
    pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="tritonclient (extra 'serve') is not installed")
    from tftrt_kit.engines.onnxruntime import OnnxRuntimeExecutor
    from tftrt_kit.triton import export

    _, out, x, expected = converted
    repository = export(out / "onnx", tmp_path / "repo", name="dense")
    version = repository.path / "dense" / "1"
    assert (version / "model.onnx.data").stat().st_size == (out / "onnx" / "model.onnx.data").stat().st_size
    np.testing.assert_allclose(OnnxRuntimeExecutor(version / "model.onnx")({"features": x})["output_0"], expected, atol=1e-5, rtol=1e-5)


def test_tensor_bytes_counts_every_tensor_without_serializing():
    import onnx
    from onnx import helper, numpy_helper

    model = _onnx_model()
    value = numpy_helper.from_array(np.zeros((3, 5), np.float16), "c")
    model.graph.node.append(helper.make_node("Constant", [], ["c"], value=value))
    names = helper.make_tensor("names", onnx.TensorProto.STRING, [2], [b"ab", b"cde"])
    model.graph.initializer.append(names)
    assert onnx_files.tensor_bytes(model) == 64 * 64 * 4 + 3 * 5 * 2 + names.ByteSize()


def test_a_large_model_is_folded_by_partitions_to_the_same_graph(source_of, monkeypatch):
    from tftrt_kit.engines.onnxruntime import OnnxRuntimeExecutor
    from tftrt_kit.export import ExportOptions, export_source

    source = source_of("dynamic_transformer")  # graphsurgeon folds 12 of its 116 nodes
    unfolded = export_source(source, ExportOptions(fold_constants=False))
    whole = export_source(source)
    monkeypatch.setattr(onnx_files, "EXTERNAL_DATA_BYTES", 256)
    assert onnx_files.needs_external_data(whole)
    partitioned = export_source(source)
    assert len(partitioned.graph.node) < len(unfolded.graph.node)
    assert sorted(n.op_type for n in partitioned.graph.node) == sorted(n.op_type for n in whole.graph.node)
    assert _initializer_shapes(partitioned) == _initializer_shapes(whole)
    ids = {"ids": np.random.default_rng(0).integers(0, 10, (2, 7)).astype(np.int32)}
    np.testing.assert_array_equal(OnnxRuntimeExecutor(partitioned)(ids)["output_0"], OnnxRuntimeExecutor(whole)(ids)["output_0"])


def _initializer_shapes(model):
    return sorted((list(t.dims), t.data_type) for t in model.graph.initializer)
