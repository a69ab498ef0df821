"""TensorRT acceptance for real, through TensorRT-RTX's CPU-only builder."""

from __future__ import annotations

import onnx
import pytest

from tests.conftest import tensorrt_rtx_or_skip
from tftrt_kit.engines.tensorrt_builder import BuildOptions, TensorRTBuilder, resolve_backend
from tftrt_kit.errors import EngineBuildError, MissingDependencyError
from tftrt_kit.export import convert_to_fp16, export_source


@pytest.fixture(scope="module")
def builder():
    tensorrt_rtx_or_skip()
    return TensorRTBuilder("tensorrt_rtx")


@pytest.mark.parametrize("name", ["small_cnn", "attention_block", "mobilenet_v2"])
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_rtx_accepts_in_full_and_builds(builder, source_of, name, precision, tmp_path):
    model = export_source(source_of(name))
    if precision == "fp16":
        model = convert_to_fp16(model)
    check = builder.check(model)
    assert check.accepted and check.unsupported_nodes == [], check.unsupported_nodes
    cache = tmp_path / "timing.cache"
    plan, built = builder.build(model, BuildOptions(precision=precision, batch_sizes=(1, 4, 8), timing_cache=cache))
    assert built.plan_bytes == len(plan) > 0
    assert built.build_seconds > 0 and built.network_layers > 0 and built.precision == precision
    assert cache.is_file()
    assert built.backend.startswith("tensorrt_rtx ")


def test_fp16_plan_carries_half_weights(builder):
    import numpy as np

    weight = onnx.numpy_helper.from_array(np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32), "w")
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 512])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 512])
    graph = onnx.helper.make_graph([onnx.helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], [weight])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    fp32_plan, _ = builder.build(model, BuildOptions("fp32"))
    fp16_plan, _ = builder.build(convert_to_fp16(model), BuildOptions("fp16"))
    saved = len(fp32_plan) - len(fp16_plan)
    # Half of the 1 MiB of weights goes; the plan has fixed overhead besides.
    assert saved > weight.ByteSize() / 4, (len(fp32_plan), len(fp16_plan))


def test_parser_refusal_is_reported_per_node(builder, source_of):
    model = export_source(source_of("small_cnn"))
    victim = model.graph.node[len(model.graph.node) // 2]
    victim.op_type, victim.domain = "NotAnOp", "com.example"
    check = builder.check(model)
    assert not check.accepted
    assert any(n.node == victim.name for n in check.unsupported_nodes), check.unsupported_nodes
    with pytest.raises(EngineBuildError, match="NotAnOp"):
        builder.build(model)


def test_dynamic_non_batch_dimension_is_refused(builder):
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", "k"])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", "k"])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    with pytest.raises(EngineBuildError, match="'x'.*batch dimension"):
        builder.build(model)


def test_missing_module_names_the_extra(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *args):
        if name.startswith("tensorrt"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(MissingDependencyError, match=r"tftrt_kit\[tensorrt\].*tftrt_kit\[rtx\]"):
        resolve_backend("auto")
    with pytest.raises(MissingDependencyError, match=r"pip install 'tftrt_kit\[tensorrt\]'"):
        TensorRTBuilder("tensorrt")
