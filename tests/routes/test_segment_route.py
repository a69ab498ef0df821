"""The segment route end to end: DESIGN.md invariants 1-3 on real Keras models."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import onnx
import pytest
import tensorflow as tf

import tftrt_kit
from tftrt_kit.errors import ArtifactError
from tftrt_kit.evaluate import compare, sample_inputs
from tftrt_kit.onnx_checks import foreign_nodes
from tftrt_kit.routes.base import RouteContext
from tftrt_kit.routes.segment import ASSETS, SegmentOptions, SegmentRoute
from tftrt_kit.segment.graph import GraphView, parse_tensor_name


@pytest.fixture(scope="module")
def converted(source_of, tmp_path_factory):
    """``converted(name)`` -> (source, RouteResult) of the segment route on a registered model."""
    cache = {}

    def run(name):
        if name not in cache:
            out = tmp_path_factory.mktemp(f"seg_{name}")
            cache[name] = (source_of(name), SegmentRoute()(source_of(name), RouteContext(output_dir=out)))
        return cache[name]

    return run


def _manifest(result):
    return json.loads((result.artifact_dir / ASSETS / "manifest.json").read_text())


def _check_partition(source, manifest):
    """Invariant 2: each node in one part, parts acyclic in manifest order, segments convex."""
    view = GraphView(source.graph_def)
    produced_by = {}
    for index, part in enumerate(manifest["parts"]):
        for spec in part["outputs"]:
            assert spec["name"] not in produced_by, f"{spec['name']} produced twice"
            produced_by[spec["name"]] = index
    graph_inputs = set(source.input_tensors)
    for index, part in enumerate(manifest["parts"]):
        for spec in part["inputs"]:
            assert spec["name"] in graph_inputs or produced_by[spec["name"]] < index, f"{part['name']} reads {spec['name']} before it exists"
    assert set(source.output_tensors) <= set(produced_by)
    placeholders = {n.name for n in source.graph_def.node if n.op == "Placeholder"}
    assert len(view) == len(source.graph_def.node) and placeholders == {parse_tensor_name(t).node for t in source.input_tensors}
    # Every node of the frozen graph lies in exactly one part (the manifest names them).
    named = [name for part in manifest["parts"] for name in part["node_names"]]
    assert len(named) == len(set(named)) and set(named) == {n.name for n in source.graph_def.node} - placeholders
    assert all(len(part["node_names"]) == part["nodes"] for part in manifest["parts"])


@pytest.mark.parametrize("name, segments, islands", [
    ("small_cnn", 1, 0), ("middle_op", 2, 1), ("two_inputs_two_outputs", 1, 0), ("diamond", 2, 1), ("mobilenet_v2", 1, 0),
    ("swish_cnn", 1, 0), ("padded_conv", 1, 0),
])
def test_segments_and_parity(converted, name, segments, islands):
    source, result = converted(name)
    assert result.ok and len(result.segments) == segments and result.details["islands"] == islands
    manifest = _manifest(result)
    _check_partition(source, manifest)
    model = tftrt_kit.load(result.artifact_dir)
    assert set(model.segment_executors.values()) == {"onnxruntime[CPU]"}
    native = tftrt_kit.load(result.artifact_dir, executor="tensorflow")
    assert set(native.segment_executors.values()) == {"tensorflow"}
    for batch in (1, 3):
        feeds = sample_inputs(source.inputs, batch=batch, seed=batch)
        reference = source.run(feeds)
        assert compare(reference, model(feeds), executor=model.executor).max_rel_error <= 1e-4
        assert compare(reference, native(feeds), executor="tensorflow").max_rel_error <= 1e-6


@pytest.mark.parametrize("name", ["small_cnn", "mobilenet_v2"])
def test_all_supported_model_is_one_segment(converted, name):
    _, result = converted(name)
    assert result.coverage == 1.0 and result.fallbacks == [] and result.flops_coverage == 1.0


def test_middle_op_falls_back_with_reason(converted):
    _, result = converted("middle_op")
    assert [(f.op_type, f.count) for f in result.fallbacks] == [("Lgamma", 1)]
    assert "Lgamma" in result.fallbacks[0].reason
    assert 0 < result.coverage < 1 and result.flops_coverage == 1.0


def test_every_segment_onnx_is_a_tensorrt_model(converted):
    """Invariant 3: standard domains, onnx.checker, and the TensorRT-RTX parser takes each segment whole."""
    _, result = converted("middle_op")
    for part in _manifest(result)["parts"]:
        if part["kind"] != "segment":
            continue
        model = onnx.load(result.artifact_dir / ASSETS / part["onnx_file"])
        onnx.checker.check_model(model)
        assert foreign_nodes(model) == []
        assert sorted(i.name for i in model.graph.input) == sorted(i["name"] for i in part["inputs"])


def test_every_segment_has_an_accepted_plan(converted):
    _, result = converted("middle_op")
    segments = [part for part in _manifest(result)["parts"] if part["kind"] == "segment"]
    if any(part["tensorrt"] is None for part in segments):
        pytest.skip(f"no TensorRT builder checked the segments: {result.details.get('tensorrt_skipped', 'none installed')}")
    for part in segments:
        assert part["tensorrt"]["accepted"] and part["plan_file"]
        assert (result.artifact_dir / ASSETS / part["plan_file"]).stat().st_size == part["tensorrt"]["plan_bytes"]
    assert all(info.tensorrt.accepted for info in result.segments)


def test_parser_refusal_moves_nodes_to_tensorflow(source_of, tmp_path):
    """Forcing an op TensorRT-RTX rejects (Det) into a segment: its parser refuses it, and it returns to TF."""
    pytest.importorskip("tensorrt_rtx", reason="tensorrt-rtx-cu13 (extra 'rtx') is not installed")

    class Det(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3, 3], tf.float32, name="m")])
        def __call__(self, m):
            x = tf.nn.relu(m) * 2.0 + 1.0
            d = tf.linalg.det(x)
            return {"y": tf.tanh(d * 0.5) + 1.0}

    module = Det()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": module.__call__})
    source = tftrt_kit.load_source(tmp_path / "sm")
    options = SegmentOptions(include_ops=("MatrixDeterminant",), minimum_segment_size=1)
    result = SegmentRoute(options)(source, RouteContext(output_dir=tmp_path / "out", backend="tensorrt_rtx"))
    falls = {f.op_type: f.reason for f in result.fallbacks}
    assert "MatrixDeterminant" in falls and "tensorrt_rtx" in falls["MatrixDeterminant"]
    assert result.details["refinement_rounds"] >= 1
    feeds = sample_inputs(source.inputs, batch=2)
    model = tftrt_kit.load(result.artifact_dir)
    np.testing.assert_allclose(model(feeds)["y"], source.run(feeds)["y"], rtol=1e-5, atol=1e-6)


PLAIN_TF = textwrap.dedent(
    """
    import sys, numpy as np, tensorflow as tf
    data = np.load(sys.argv[2], allow_pickle=False)
    loaded = tf.saved_model.load(sys.argv[1])
    worst = 0.0
    for key in sorted(loaded.signatures):
        function = loaded.signatures[key]
        _, kwargs = function.structured_input_signature
        out = function(**{k: tf.constant(data[key + "/" + k]) for k in kwargs})
        for name, value in out.items():
            worst = max(worst, float(np.abs(value.numpy() - data[key + "/out/" + name]).max()))
    assert "tftrt_kit" not in sys.modules
    print(len(loaded.signatures), worst)
    """
)


def test_plain_tensorflow_loads_every_signature(tmp_path):
    """Invariant 1, in a process that never imports tftrt_kit, on a SavedModel with two signatures."""

    class TwoSignatures(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def dense(self, x):
            return {"y": tf.nn.relu(tf.matmul(x, self.w) + 0.5) * 2.0}

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def scaled(self, x):
            return {"z": tf.tanh(tf.matmul(x * 3.0, self.w) - 1.0)}

    module = TwoSignatures()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": module.dense, "scaled": module.scaled})
    source = tftrt_kit.load_source(tmp_path / "sm")
    result = SegmentRoute(SegmentOptions(minimum_segment_size=1))(source, RouteContext(output_dir=tmp_path / "out"))
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    expected = {"serving_default/x": x, "scaled/x": x}
    for key, function in ((k, getattr(module, f)) for k, f in (("serving_default", "dense"), ("scaled", "scaled"))):
        for name, value in function(tf.constant(x)).items():
            expected[f"{key}/out/{name}"] = value.numpy()
    np.savez(tmp_path / "data.npz", **expected)
    script = tmp_path / "plain_tf.py"
    script.write_text(PLAIN_TF)
    run = subprocess.run([sys.executable, str(script), str(result.artifact_dir), str(tmp_path / "data.npz")],
                         capture_output=True, text=True, timeout=300, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr[-2000:]
    count, worst = run.stdout.split()
    assert count == "2" and float(worst) == 0.0


def test_scalar_const_shared_by_an_island_and_a_segment(source_of, tmp_path):
    """With IdentityN kept in TF, swish's scalar Const feeds both parts: a 0-d tensor crosses the boundary."""
    source = source_of("swish_cnn")
    result = SegmentRoute(SegmentOptions(exclude_ops=("IdentityN",), minimum_segment_size=1))(source, RouteContext(output_dir=tmp_path))
    assert any(f.op_type == "Const" for f in result.fallbacks)
    crossing = [i for p in _manifest(result)["parts"] if p["kind"] == "segment" for i in p["inputs"] if i["shape"] == []]
    assert crossing, "expected a scalar tensor entering a segment"
    feeds = sample_inputs(source.inputs, batch=2)
    model = tftrt_kit.load(result.artifact_dir)
    assert compare(source.run(feeds), model(feeds), executor=model.executor).max_rel_error <= 1e-4


def test_artifact_keeps_each_weight_once(converted):
    """The native parts read the source's variables (no frozen copies), and unread duplicates are not saved."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import tensor_util

    from tftrt_kit.graph_weights import elements_of

    source, result = converted("mobilenet_v2")
    placeholders = {t.op.name for t in source.signature.graph.internal_captures}
    weights = sum(
        elements_of(n) for n in source.graph_def.node if n.op == "Const" and n.name in placeholders
    )
    saved = sum(int(np.prod(shape)) for name, shape in tf.train.list_variables(str(result.artifact_dir / "variables" / "variables")) if shape)
    assert weights > 1_000_000 and saved == weights
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((result.artifact_dir / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    embedded = sum(
        tensor_util.MakeNdarray(n.attr["value"].tensor).size
        for function in graph.library.function
        for n in function.node_def
        if n.op == "Const"
    )
    assert embedded < weights / 100


LOAD_WITHOUT_TF = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tftrt_kit
    model = tftrt_kit.load(sys.argv[1])
    out = model(np.load(sys.argv[2])["x"])
    print(model.executor, "tensorflow" in sys.modules, float(np.abs(out["output_0"] - np.load(sys.argv[2])["y"]).max()))
    """
)


def test_an_artifact_all_in_segments_loads_and_runs_without_tensorflow(converted, tmp_path):
    """Every part on ONNX Runtime: load() neither imports TensorFlow nor loads the SavedModel."""
    source, result = converted("small_cnn")
    feeds = sample_inputs(source.inputs, batch=2, seed=3)
    (name,) = feeds
    (output,) = source.run(feeds).values()
    np.savez(tmp_path / "data.npz", x=feeds[name], y=output)
    script = tmp_path / "load.py"
    script.write_text(LOAD_WITHOUT_TF)
    package_root = str(Path(tftrt_kit.__file__).parent.parent)  # this checkout, not another install
    run = subprocess.run([sys.executable, str(script), str(result.artifact_dir), str(tmp_path / "data.npz")], capture_output=True,
                         text=True, timeout=300, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin", "PYTHONPATH": package_root})
    assert run.returncode == 0, run.stderr[-2000:]
    executor, imported, error = run.stdout.split()
    assert executor == "onnxruntime[CPU]" and imported == "False" and float(error) <= 1e-4 * max(1.0, float(np.abs(output).max()))


@pytest.mark.parametrize("name, executor", [("small_cnn", "tensorflow"), ("middle_op", "auto")])
def test_a_damaged_saved_model_fails_load_when_a_part_runs_in_tensorflow(converted, tmp_path, name, executor):
    _, result = converted(name)
    copy = tmp_path / "segment"
    shutil.copytree(result.artifact_dir, copy)
    (copy / "saved_model.pb").write_bytes(b"not a SavedModel")
    with pytest.raises(ArtifactError, match=f"Expected a TensorFlow SavedModel at '{copy}'"):
        tftrt_kit.load(copy, executor=executor)


def _library_ops(saved_model_dir, op):
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((saved_model_dir / "saved_model.pb").read_bytes())
    return sum(1 for f in proto.meta_graphs[0].graph_def.library.function for n in f.node_def if n.op == op)


def test_a_part_holding_the_whole_graph_calls_the_signature(converted):
    """One part: its native function calls the source's signature, so the SavedModel holds the graph once."""
    source, result = converted("mobilenet_v2")
    assert [p["name"] for p in _manifest(result)["parts"]] == ["seg_0"]
    assert _library_ops(result.artifact_dir, "Conv2D") == _library_ops(source.saved_model_dir, "Conv2D") > 0
    native = tftrt_kit.load(result.artifact_dir, executor="tensorflow")
    feeds = sample_inputs(source.inputs, batch=2, seed=5)
    assert compare(source.run(feeds), native(feeds), executor="tensorflow").max_rel_error == 0.0


def test_a_tf1_session_loader_restores_and_runs_the_artifact(converted):
    """TF Serving and saved_model_cli load with the TF1 loader, which restores variables through the saver."""
    source, result = converted("small_cnn")
    feeds = sample_inputs(source.inputs, batch=2, seed=4)
    reference = source.run(feeds)
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], str(result.artifact_dir))
        signature = meta_graph.signature_def[source.signature_key]
        outputs = session.run(
            {name: info.name for name, info in signature.outputs.items()},
            {signature.inputs[name].name: value for name, value in feeds.items()},
        )
    assert compare(reference, outputs, executor="tensorflow").max_rel_error <= 1e-6
