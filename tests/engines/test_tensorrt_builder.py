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


def _model(nodes, inputs, outputs, initializers=()):
    graph = onnx.helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])


def _matmul(width=64):
    import numpy as np

    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", width])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", width])
    w = onnx.numpy_helper.from_array(np.ones((width, width), np.float32), "w")
    return _model([onnx.helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], [x], [y], [w])


def _nms():
    """A per-image NonMaxSuppression graph: TensorRT-RTX parses it but has no runner for it."""
    import numpy as np

    boxes = onnx.helper.make_tensor_value_info("boxes", onnx.TensorProto.FLOAT, [1, 100, 4])
    scores = onnx.helper.make_tensor_value_info("scores", onnx.TensorProto.FLOAT, [1, 1, 100])
    selected = onnx.helper.make_tensor_value_info("selected", onnx.TensorProto.INT64, [None, 3])
    constants = [
        onnx.numpy_helper.from_array(np.array([10], np.int64), "max_boxes"),
        onnx.numpy_helper.from_array(np.array([0.5], np.float32), "iou"),
        onnx.numpy_helper.from_array(np.array([0.1], np.float32), "score"),
    ]
    node = onnx.helper.make_node("NonMaxSuppression", ["boxes", "scores", "max_boxes", "iou", "score"], ["selected"], name="nms")
    return _model([node], [boxes, scores], [selected], constants)


def test_every_refused_node_is_listed_with_its_reason_and_nothing_printed(builder, capfd):
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [3, 3])
    outs = [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, s) for n, s in (("det", []), ("uniq", [None]), ("r", [3, 3]))]
    nodes = [
        onnx.helper.make_node("Det", ["x"], ["det"], name="det_node"),
        onnx.helper.make_node("Relu", ["x"], ["r"], name="relu_node"),
        onnx.helper.make_node("Unique", ["r"], ["uniq"], name="unique_node"),
    ]
    model = _model(nodes, [x], outs)
    onnx.checker.check_model(model)
    check = builder.check(model)
    assert not check.accepted
    assert [(n.node, n.op_type) for n in check.unsupported_nodes] == [("det_node", "Det"), ("unique_node", "Unique")]
    assert all("UNSUPPORTED_NODE" in n.reason for n in check.unsupported_nodes)
    assert check.builder == builder.description
    printed = capfd.readouterr()
    assert printed.out == "" and printed.err == "", printed


def test_failed_build_carries_tensorrts_own_message(builder, capfd):
    with pytest.raises(EngineBuildError, match="no runners that implement it") as info:
        builder.build(_nms())
    check = info.value.check
    assert check.accepted and check.plan_bytes is None
    assert "nms" in check.error and check.plan_status == f"no plan: {check.error}"
    with pytest.raises(EngineBuildError, match="workspace") as info:
        builder.build(_matmul(), BuildOptions(workspace_bytes=1))
    assert "workspace limit" in info.value.check.error
    printed = capfd.readouterr()
    assert printed.out == "" and printed.err == "", printed


def test_several_profiles_and_build_options(builder, tmp_path):
    profiles = [{"x": ((1, 64), (2, 64), (4, 64))}, {"x": ((8, 64), (16, 64), (32, 64))}]
    cache = tmp_path / "timing.cache"
    plan, check = builder.build(_matmul(), BuildOptions(profiles=profiles, builder_optimization_level=1, timing_cache=cache))
    assert len(plan) == check.plan_bytes > 0
    assert check.profiles == [
        {"x": {"min": [1, 64], "opt": [2, 64], "max": [4, 64]}},
        {"x": {"min": [8, 64], "opt": [16, 64], "max": [32, 64]}},
    ]
    assert cache.is_file() and cache.stat().st_size > 0
    again, _ = builder.build(_matmul(), BuildOptions(profiles=profiles, timing_cache=cache))
    assert len(again) > 0


def test_profiles_must_cover_every_dynamic_input(builder):
    with pytest.raises(EngineBuildError, match=r"profile 0 .* dynamic input 'x'"):
        builder.build(_matmul(), BuildOptions(profiles=[{"other": ((1,), (1,), (1,))}]))
    with pytest.raises(EngineBuildError, match=r"'x' to match its shape \[-1, 64\]"):
        builder.build(_matmul(), BuildOptions(profiles=[{"x": ((1, 8), (1, 8), (1, 8))}]))


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(precision="int4"), "precision"),
        (dict(workspace_bytes=0), "workspace_bytes"),
        (dict(builder_optimization_level=6), "builder_optimization_level"),
        (dict(profiles=[{"x": ((4, 64), (2, 64), (8, 64))}]), "min <= opt <= max"),
    ],
)
def test_bad_build_options_are_refused(options, message):
    from tftrt_kit.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        BuildOptions(**options)


def test_polygraphy_binding_covers_every_polygraphy_trt_handle(builder):
    """Every Polygraphy module holding a lazily imported TensorRT as ``trt`` is in the scoped binding."""
    import sys

    import polygraphy.backend.trt  # noqa: F401  (imports every module of the backend)
    from polygraphy import config

    from tftrt_kit.engines.trt_module import POLYGRAPHY_TRT_MODULES, polygraphy_bound

    holders = {
        name for name, module in list(sys.modules.items())
        if name.startswith("polygraphy.") and type(getattr(module, "trt", None)).__name__ == "LazyModule"
    }
    assert holders <= set(POLYGRAPHY_TRT_MODULES), holders - set(POLYGRAPHY_TRT_MODULES)
    before = {name: sys.modules[name].trt for name in POLYGRAPHY_TRT_MODULES}, config.USE_TENSORRT_RTX
    with polygraphy_bound(builder.trt):
        assert config.USE_TENSORRT_RTX
        assert all(sys.modules[name].trt.__version__ == builder.trt.__version__ for name in POLYGRAPHY_TRT_MODULES)
    assert ({name: sys.modules[name].trt for name in POLYGRAPHY_TRT_MODULES}, config.USE_TENSORRT_RTX) == before


def test_rtx_builds_after_polygraphy_was_imported_for_plain_tensorrt(builder):
    """Polygraphy's ONNX backend (used for folding) binds its TensorRT handles at import: the build must not care."""
    import subprocess
    import sys

    code = (
        "import polygraphy.backend.onnx, polygraphy.backend.trt\n"
        "from polygraphy import config; assert not config.USE_TENSORRT_RTX\n"
        "from tests.engines.test_tensorrt_builder import _matmul\n"
        "from tftrt_kit.engines.tensorrt_builder import TensorRTBuilder\n"
        "plan, check = TensorRTBuilder('tensorrt_rtx').build(_matmul())\n"
        "print(len(plan) == check.plan_bytes > 0)\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "POLYGRAPHY_USE_TENSORRT_RTX"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr[-2000:]


def test_build_options_reach_tensorrts_builder_config(builder, monkeypatch):
    """Workspace, optimization level and profiles as TensorRT's own IBuilderConfig holds them."""
    from polygraphy.backend import trt as polygraphy_trt

    real = polygraphy_trt.EngineBytesFromNetwork
    seen = {}

    def spy(network, config, save_timing_cache=None):
        def configured(trt_builder, trt_network):
            made = config(trt_builder, trt_network)
            seen["workspace"] = made.get_memory_pool_limit(builder.trt.MemoryPoolType.WORKSPACE)
            seen["level"] = made.builder_optimization_level
            seen["profiles"] = made.num_optimization_profiles
            return made

        return real(network, config=configured, save_timing_cache=save_timing_cache)

    monkeypatch.setattr(polygraphy_trt, "EngineBytesFromNetwork", spy)
    profiles = [{"x": ((1, 64), (2, 64), (4, 64))}, {"x": ((8, 64), (16, 64), (32, 64))}]
    builder.build(_matmul(), BuildOptions(profiles=profiles, workspace_bytes=256 << 20, builder_optimization_level=2))
    assert seen == {"workspace": 256 << 20, "level": 2, "profiles": 2}


def _reshape_by_input():
    """A Reshape whose target shape is a graph input: TensorRT makes that input a shape tensor."""
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [6])
    shape = onnx.helper.make_tensor_value_info("shape", onnx.TensorProto.INT64, [2])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [None, None])
    return _model([onnx.helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")], [x, shape], [y])


def test_shape_tensor_input_needs_profile_values_never_a_guess(builder, capfd):
    with pytest.raises(EngineBuildError, match=r"profile for the dynamic and shape-tensor inputs. Received: none for shape\[2\]"):
        builder.build(_reshape_by_input())
    with pytest.raises(EngineBuildError, match=r"profile 0 to give 2 \(min, opt, max\) value\(s\) for shape-tensor input 'shape'"):
        builder.build(_reshape_by_input(), BuildOptions(shape_values=[{"shape": ((1,), (2,), (6,))}]))
    # The input's shape in a profile of shapes is never read as its values.
    with pytest.raises(EngineBuildError, match=r"value\(s\) for shape-tensor input 'shape'.*Received: None"):
        builder.build(_reshape_by_input(), BuildOptions(profiles=[{"shape": ((2,), (2,), (2,))}]))
    options = BuildOptions(profiles=[{"shape": ((2,), (2,), (2,))}], shape_values=[{"shape": ((1, 1), (2, 3), (6, 6))}])
    plan, check = builder.build(_reshape_by_input(), options)
    assert len(plan) == check.plan_bytes
    assert check.profiles == [{}] and check.shape_values == [{"shape": {"min": [1, 1], "opt": [2, 3], "max": [6, 6]}}]
    printed = capfd.readouterr()
    assert printed.out == "" and printed.err == "", printed
