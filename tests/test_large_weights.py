"""The TensorFlow side of a model over 2 GiB: frozen without its weights, converted by both routes.

No 2 GiB model is built here: a tiny Dense stack (``tf.Module`` of variables, as
``model_zoo.dense_stack`` builds the real 2.31 GiB one) takes the large-model path
because the thresholds are lowered: the large-graph size (weights kept out of every
GraphDef, grappler without them, tf2onnx reading them by name) and the ONNX
external-data size. Numbers are compared against TensorFlow's own output.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import tftrt_kit
from model_zoo.dense_stack import save_dense_stack
from tests.conftest import tensorrt_rtx_or_skip
from tftrt_kit import _memory, onnx_files
from tftrt_kit.source import load_source

#: Kernels of 3072 and 4096 elements: weights (more than 1024), and over 4 KB each; the last (320) is not one.
WIDTHS = (48, 64, 64, 5)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return save_dense_stack(tmp_path_factory.mktemp("dense_module") / "saved_model", WIDTHS)


@pytest.fixture(scope="module")
def features():
    return np.random.default_rng(3).standard_normal((4, WIDTHS[0])).astype(np.float32)


@pytest.fixture(scope="module")
def converted(saved, features, tmp_path_factory):
    """Both routes' artifacts, converted with the large-graph and external-data thresholds lowered, and TensorFlow's output."""
    out = tmp_path_factory.mktemp("large_out")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_memory, "LARGE_GRAPH_BYTES", 1024)
        patch.setattr(onnx_files, "EXTERNAL_DATA_BYTES", 4096)
        source = load_source(saved)
        assert source.large_graph
        report = tftrt_kit.convert(source, routes=("onnx", "segment"), output_dir=out, benchmark=False)
    return report, out, source.run({"features": features})["logits"]


def test_frozen_graph_holds_no_weight_value(saved):
    source = load_source(saved)
    consts = {n.name: n for n in source.graph_def.node if n.op == "Const"}
    assert len(source.weights.variables) == 2 and not source.weights.arrays
    assert source.weights.names <= set(consts)
    assert all(not consts[name].attr["value"].tensor.tensor_content for name in source.weights.names)
    assert source.graph_def.ByteSize() < source.weights.nbytes / 4
    kernels = {tuple(v.shape) for v in source.weights.variables.values()}
    assert kernels == {(48, 64), (64, 64)}
    assert all(any(v is w for w in source.loaded.kernels) for v in source.weights.variables.values())  # read, never copied


def test_freezing_builds_no_function_from_the_graph(saved, monkeypatch):
    """TensorFlow's freezing wraps the frozen GraphDef into a function: a serialization that fails over 2 GiB."""
    from tensorflow.python.eager import wrap_function

    def refuse(*args, **kwargs):
        raise AssertionError("the frozen graph was serialized into a function")

    monkeypatch.setattr(wrap_function, "function_from_graph_def", refuse)
    source = load_source(saved)
    x = np.ones((2, WIDTHS[0]), np.float32)
    full = source.frozen_graph_def()
    import tensorflow as tf

    with tf.Graph().as_default() as graph:
        tf.graph_util.import_graph_def(full, name="")
        with tf.compat.v1.Session(graph=graph) as session:
            got = session.run(source.output_tensors[0], {source.input_tensors[0]: x})
    np.testing.assert_allclose(got, source.run({"features": x})["logits"], rtol=1e-5, atol=1e-5)


def test_source_function_reads_the_variables_and_matches_tensorflow(saved, features):
    from tftrt_kit.routes.segment_partition import source_function

    source = load_source(saved)
    hidden = next(n.name for n in source.graph_def.node if n.op == "Relu") + ":0"
    run = source_function(source, [hidden, source.input_tensors[0], source.output_tensors[0]])
    values = run({"features": features})
    np.testing.assert_allclose(values[source.output_tensors[0]], source.run({"features": features})["logits"], rtol=1e-5, atol=1e-5)
    kernel = source.weights.value(next(n for n in source.weights.names if tuple(source.weights.variables[n].shape) == (48, 64)))
    bias = source.loaded.biases[0].numpy()
    np.testing.assert_allclose(values[hidden], np.maximum(features @ kernel + bias, 0), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(values[source.input_tensors[0]], features)


def test_a_weight_without_value_is_refused(saved):
    from tftrt_kit.routes.segment_partition import PartSpec, native_function

    source = load_source(saved)
    nodes = [n.name for n in source.graph_def.node]
    part = PartSpec("all", "island", (), ())
    with pytest.raises(ValueError, match="Expected a value for every weight"):
        native_function(source.graph_def, nodes, part)


def test_both_routes_convert_with_external_data_and_match_tensorflow(converted, features):
    import onnx

    report, out, expected = converted
    assert report.routes["onnx"].ok, report.routes["onnx"].error
    assert report.routes["segment"].ok, report.routes["segment"].error
    assert json.loads((out / "onnx" / "manifest.json").read_text())["onnx_data_file"] == "model.onnx.data"
    onnx.checker.check_model(str(out / "onnx" / "model.onnx"))
    assets = out / "segment" / "assets" / "tftrt_kit"
    segments = [p for p in json.loads((assets / "manifest.json").read_text())["parts"] if p["kind"] == "segment"]
    assert len(segments) == 1 and segments[0]["onnx_data_file"]
    onnx.checker.check_model(str(assets / segments[0]["onnx_file"]))
    for route in ("onnx", "segment"):
        with tftrt_kit.load(out / route, executor="onnxruntime") as model:
            np.testing.assert_allclose(model(features=features)["logits"], expected, rtol=1e-5, atol=1e-5)


def test_both_routes_built_plans_from_the_path(converted, features):
    tensorrt_rtx_or_skip()
    report, out, expected = converted
    manifest = json.loads((out / "onnx" / "manifest.json").read_text())
    assert manifest["tensorrt"]["accepted"] and (out / "onnx" / manifest["plan_file"]).stat().st_size > 0
    assets = out / "segment" / "assets" / "tftrt_kit"
    segments = [p for p in json.loads((assets / "manifest.json").read_text())["parts"] if p["kind"] == "segment"]
    assert all(p["tensorrt"]["accepted"] and (assets / p["plan_file"]).stat().st_size > 0 for p in segments)
    for route in ("onnx", "segment"):
        accuracy = report.routes[route].accuracy
        assert accuracy is not None and accuracy.max_abs_error <= 1e-3, (route, accuracy)


@pytest.mark.slow
def test_a_model_over_2_gib_converts_by_both_routes_and_matches_tensorflow(tmp_path):
    """model_zoo's Dense2GiB (2.31 GiB of weights, over protobuf's limit), at the real thresholds (minutes, ~15 GiB of RAM)."""
    from model_zoo.dense_stack import WIDTHS as ZOO_WIDTHS

    saved_model = save_dense_stack(tmp_path / "saved_model", ZOO_WIDTHS["Dense2GiB"])
    source = load_source(saved_model)
    assert source.large_graph
    report = tftrt_kit.convert(source, routes=("onnx", "segment"), output_dir=tmp_path / "out", benchmark=False)
    features = np.random.default_rng(5).standard_normal((2, ZOO_WIDTHS["Dense2GiB"][0])).astype(np.float32)
    expected = source.run({"features": features})["logits"]
    for route in ("onnx", "segment"):
        assert report.routes[route].ok, report.routes[route].error
        assert report.routes[route].accuracy.verdict == "pass", report.routes[route].accuracy.reasons
        with tftrt_kit.load(tmp_path / "out" / route, executor="onnxruntime") as model:
            np.testing.assert_allclose(model(features=features)["logits"], expected, rtol=1e-4, atol=1e-4)
