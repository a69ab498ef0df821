"""A large model written one initializer at a time, and read from that file by the checker, TensorRT and ONNX Runtime."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import tftrt_kit._memory
from tests.conftest import tensorrt_rtx_or_skip
from tftrt_kit import onnx_files


def _model() -> onnx.ModelProto:
    """MatMul + Add with a raw float weight, a float_data bias, an int64 shape and a Constant node."""
    rng = np.random.default_rng(0)
    bias = helper.make_tensor("b", TensorProto.FLOAT, [16], rng.random(16).tolist())  # float_data, not raw_data
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["h"]),
        helper.make_node("Constant", [], ["two"], value=numpy_helper.from_array(np.float32(2.0))),
        helper.make_node("Mul", ["h", "two"], ["h2"]),
        helper.make_node("Reshape", ["h2", "shape"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 32])],
        initializer=[numpy_helper.from_array(rng.random((32, 16), dtype=np.float32), "W"), bias, numpy_helper.from_array(np.array([2, 32], np.int64), "shape")],
        doc_string="streamed",
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="test")


def test_streamed_file_reads_back_as_the_same_model(tmp_path):
    model = _model()
    onnx_files.write_streamed(model, tmp_path / "m.onnx")
    assert onnx.load(str(tmp_path / "m.onnx")) == model


def test_streamed_export_reads_back_as_the_same_model(source_of, tmp_path):
    from tftrt_kit.export import export_source

    model = export_source(source_of("small_cnn"))
    onnx_files.write_streamed(model, tmp_path / "m.onnx")
    assert onnx.load(str(tmp_path / "m.onnx")) == model


def test_large_model_is_checked_parsed_and_run_from_its_file(monkeypatch, tmp_path):
    from tftrt_kit.engines.onnxruntime import OnnxRuntimeExecutor
    from tftrt_kit.onnx_checks import check_onnx

    model = _model()
    x = {"x": np.random.default_rng(1).random((4, 32), dtype=np.float32)}
    want = OnnxRuntimeExecutor(model)(x)["y"]
    monkeypatch.setattr(tftrt_kit._memory, "LARGE_GRAPH_BYTES", 256)
    assert onnx_files.is_large(model) and not onnx_files.needs_external_data(model)
    with onnx_files.model_on_disk(model) as path:
        assert path is not None and onnx.load(str(path)) == model
    assert onnx_files.save_onnx(model, tmp_path / "saved.onnx") is None
    assert onnx.load(str(tmp_path / "saved.onnx")) == model
    check_onnx(model, ["x"], ["y"])
    np.testing.assert_array_equal(OnnxRuntimeExecutor(model)(x)["y"], want)
    tensorrt_rtx_or_skip()
    from tftrt_kit.engines.tensorrt_builder import TensorRTBuilder

    check = TensorRTBuilder("tensorrt_rtx").check(model)
    assert check.accepted and check.network_layers > 0


def test_external_data_save_leaves_the_model_untouched(tmp_path):
    model = _model()
    before = model.SerializeToString()
    location = onnx_files.save_onnx(model, tmp_path / "m.onnx", external=True)
    assert model.SerializeToString() == before
    assert (tmp_path / location).stat().st_size == 32 * 16 * 4  # W; the float_data bias and the small shape stay inline
    onnx.checker.check_model(str(tmp_path / "m.onnx"))
    assert onnx_files.load_onnx(tmp_path / "m.onnx") == model
