"""TF-TRT's integration test graphs, re-written as a table of small graph builders.

Each :class:`Case` is one test class of TensorFlow's
``tensorflow/python/compiler/tensorrt/test/*_test.py`` (base class
``tf_trt_integration_test_base.py``): its graph (``GraphFn``), input specs and the
shapes it runs (``GetParams``), the engines TF-TRT expected (``ExpectedEnginesToBuild``)
in TF 2 dynamic-shape mode with ``minimum_segment_size=2``, and the node names of
each engine where TF-TRT listed them. The graphs are our own code, written from
reading those files. Where TF-TRT's expectation depends on the mode, the
dynamic-shape one is taken (from the latest version of the file: ImplicitBatchTest,
UnaryTest, BiasaddMatMulTest, BinaryTensorWeightBroadcastTest, CombinedNmsTest and
RankTwoTest branch on ``run_params.dynamic_shape``). Where tftrt_kit deliberately
builds other engines, ``ours`` holds our count and ``difference`` says why (the
README's migration section too).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from tests.compat import tf_trt_graphs as g
from tests.compat import tf_trt_graphs_layers as layers


@dataclasses.dataclass(frozen=True)
class Case:
    """One TF-TRT integration test class.

    Attributes:
        name: TF-TRT's class name.
        module: The TF-TRT test file it comes from.
        graph: Builds the graph from the input tensors (TF-TRT's ``GraphFn``).
        inputs: ``(shape with None where dynamic, dtype)`` per input (``input_0``, ...).
        dims: The input shapes of each run (TF-TRT's ``input_dims``).
        engines: Engines TF-TRT expected in dynamic-shape mode.
        nodes: TF-TRT's node names per engine, where it listed them.
        precision: TF-TRT precision mode of the run ported.
        calibrate: INT8 with calibration on the run's own inputs (TF-TRT's ``use_calibration``), else without.
        ours: Our engine count where it deliberately differs (else TF-TRT's).
        difference: Why it differs.
        tolerance: Largest difference from TensorFlow, absolute and relative.
        seed: Seed of the weights drawn while building the graph.
    """

    name: str
    module: str
    graph: Callable[..., Any]
    inputs: tuple[tuple[tuple[int | None, ...], str], ...]
    dims: tuple[tuple[tuple[int, ...], ...], ...]
    engines: int
    nodes: dict[str, tuple[str, ...]] | None = None
    precision: str = "FP32"
    calibrate: bool = False
    ours: int | None = None
    difference: str = ""
    tolerance: float = 1e-4
    seed: int = 1234

    @property
    def expected_engines(self) -> int:
        """The engine count tftrt_kit must give."""
        return self.engines if self.ours is None else self.ours


def _dims(*shapes: tuple[int, ...]) -> tuple[tuple[tuple[int, ...], ...], ...]:
    """One run with these input shapes."""
    return (tuple(shapes),)


def _batch_dynamic(*shapes: tuple[int, ...]) -> tuple[tuple[tuple[int | None, ...], str], ...]:
    """TF-TRT's ``BuildParams``: float32 inputs with a dynamic batch dimension."""
    return tuple(((None, *s[1:]), "float32") for s in shapes)


def _static(*shapes: tuple[int, ...], dtype: str = "float32") -> tuple[tuple[tuple[int | None, ...], str], ...]:
    return tuple((tuple(s), dtype) for s in shapes)


_NCHW = (2, 3, 7, 5)
_NHWC4 = (2, 32, 32, 3)

CASES: tuple[Case, ...] = (
    Case("SimpleSingleEngineTest", "base_test.py", g.single_engine, _batch_dynamic((100, 24, 24, 2)), _dims((100, 24, 24, 2)), 1,
         {"TRTEngineOp_000": ("weights", "conv", "bias", "bias_add", "relu", "identity", "max_pool")}),
    Case("SimpleMultiEnginesTest", "base_test.py", g.multi_engines, _batch_dynamic((100, 24, 24, 2)), _dims((100, 24, 24, 2)), 2,
         {"TRTEngineOp_000": ("add", "add1", "c1", "div1", "mul", "mul1", "sub", "sub1", "one", "one_sub"),
          "TRTEngineOp_001": ("c2", "conv", "div", "weights")}),
    Case("SimpleMultiEnginesTest2", "base_test.py", g.multi_engines_2, _batch_dynamic(_NHWC4), _dims(_NHWC4), 2,
         {"TRTEngineOp_000": ("c0", "c1", "add0", "add1", "mul0", "mul1"), "TRTEngineOp_001": ("c2", "c3", "add2", "add3", "mul2", "mul3")}),
    Case("ConstInputTest", "base_test.py", g.const_input, _batch_dynamic(_NHWC4), _dims(_NHWC4), 2,
         {"TRTEngineOp_000": ("add", "add1", "mul"), "TRTEngineOp_001": ("add2", "add3", "mul1")}),
    Case("ConstDataInputSingleEngineTest", "base_test.py", g.const_data_single, _batch_dynamic(_NHWC4), _dims(_NHWC4), 1,
         {"TRTEngineOp_000": ("c", "add", "add1", "mul")}),
    Case("ConstDataInputMultipleEnginesTest", "base_test.py", g.const_data_multiple, _batch_dynamic(_NHWC4), _dims(_NHWC4), 2,
         {"TRTEngineOp_000": ("add2", "add3", "mul1"), "TRTEngineOp_001": ("add", "add1", "mul")}),
    Case("ControlDependencyTest", "control_deps_test.py", g.control_dependency, _batch_dynamic(_NHWC4), _dims(_NHWC4), 2,
         {"TRTEngineOp_000": ("c1", "add", "add1", "mul"), "TRTEngineOp_001": ("c2", "add2", "add3", "mul1")}),
    Case("TfFunctionTest", "tf_function_test.py", g.function_call, _batch_dynamic((10, 32, 32, 2)), _dims((10, 32, 32, 2)), 1,
         {"TRTEngineOp_000": ("weights", "conv", "bias", "bias_add", "relu", "identity", "max_pool")}),
    Case("BatchMatMulTwoTensorTest", "batch_matmul_test.py", g.batch_matmul_two_tensors, _static((12, 5, 8, 12), (12, 5, 12, 7)),
         _dims((12, 5, 8, 12), (12, 5, 12, 7)), 1, {"TRTEngineOp_0": ("matmul", "relu")}),
    Case("BatchMatMulWeightBroadcastTest", "batch_matmul_test.py", g.batch_matmul_weight((1, 5, 7)), _static((12, 9, 5)), _dims((12, 9, 5)), 1,
         {"TRTEngineOp_0": ("matmul", "kernel")}),
    Case("BatchMatMulWeightBroadcastDims2Test", "batch_matmul_test.py", g.batch_matmul_weight((5, 7)), _static((12, 9, 5)), _dims((12, 9, 5)), 1,
         {"TRTEngineOp_0": ("matmul", "kernel")}),
    Case("BinaryTensorWeightBroadcastTest", "binary_tensor_weight_broadcast_test.py", g.binary_weight_broadcast,
         _batch_dynamic((10, 24, 24, 20)), _dims((10, 24, 24, 20)), 17),
    Case("BiasaddMatMulTest", "biasadd_matmul_test.py", g.biasadd_matmul, _batch_dynamic((4, 144)), _dims((4, 144)), 3),
    Case("UnaryTest", "unary_test.py", g.unary, _batch_dynamic((12, 5, 8, 1, 1, 12), (12, 5, 8, 1, 12, 1, 1)),
         _dims((12, 5, 8, 1, 1, 12), (12, 5, 8, 1, 12, 1, 1)), 1),
    Case("CastInt32ToFp32Test", "cast_test.py", g.cast_int32_to_fp32, (((None, 10), "int32"),), _dims((1, 10)), 1,
         {"TRTEngineOp_0": ("Add", "Mul")}),
    Case("ConcatenationTest", "concatenation_test.py", g.concatenation, _batch_dynamic((2, 3, 3, 1)), _dims((2, 3, 3, 1)), 1),
    Case("ConstBroadcastTest", "const_broadcast_test.py", g.const_broadcast, _batch_dynamic((5, 12, 12, 2)), _dims((5, 12, 12, 2)), 1),
    Case("Conv2DNCHWTest", "conv2d_test.py", layers.conv_sum(True), _batch_dynamic((13, 3, 7, 11)), _dims((13, 3, 7, 11)), 1),
    Case("Conv2DNHWCTest", "conv2d_test.py", layers.conv_sum(False), _batch_dynamic((13, 7, 11, 3)), _dims((13, 7, 11, 3)), 1),
    Case("Conv2DStridedNCHWTest", "conv2d_test.py", layers.conv_strided_nchw, _batch_dynamic((13, 3, 7, 11)), _dims((13, 3, 7, 11)), 1),
    Case("Conv2DTranposeTest", "conv2d_test.py", layers.conv_transpose_nchw, _batch_dynamic((13, 3, 7, 11)), _dims((13, 3, 7, 11)), 1),
    Case("DynamicInputShapesTest", "dynamic_input_shapes_test.py", layers.dynamic_input_shapes, (((None, None, None, 1), "float32"),),
         tuple((s,) for s in ((1, 5, 5, 1), (10, 5, 5, 1), (3, 5, 5, 1), (1, 5, 5, 1), (1, 3, 1, 1), (2, 9, 9, 1), (1, 224, 224, 1), (1, 128, 224, 1))), 1),
    Case("IdentityTest", "identity_output_test.py", g.identity_outputs, _batch_dynamic((100, 32)), _dims((100, 32)), 1),
    Case("ExcludeUnsupportedInt32Test", "int32_test.py", g.int32_matmul_bias, (((None, 4), "int32"),), _dims((100, 4)), 0),
    Case("CalibrationInt32Support", "int32_test.py", g.int32_transpose, (((None, 4, 5, 6), "int32"),), _dims((3, 4, 5, 6)), 1,
         {"TRTEngineOp_000": ("transpose_0",)}, precision="INT8", calibrate=True),
    Case("LRUCacheTest", "lru_cache_test.py", layers.lru_cache, (((None, 10, 10, 2), "float32"),),
         tuple((s,) for s in ((1, 10, 10, 2), (2, 10, 10, 2), (4, 10, 10, 2), (2, 10, 10, 2))), 1),
    Case("MemoryAlignmentTest", "memory_alignment_test.py", layers.memory_alignment, _batch_dynamic((2, 15, 15, 3)), _dims((2, 15, 15, 3)), 1),
    Case("MultiConnectionNeighborEngineTest", "multi_connection_neighbor_engine_test.py", layers.multi_connection_neighbor,
         _batch_dynamic(_NCHW), _dims(_NCHW), 2),
    Case("NeighboringEngineTest", "neighboring_engine_test.py", layers.neighboring, _batch_dynamic(_NCHW), _dims(_NCHW), 2,
         {"TRTEngineOp_0": ("bias", "mul", "sub"), "TRTEngineOp_1": ("weights", "conv")}),
    # Tolerance 0.1, TF-TRT's for INT8: the MatMul sums values of a FakeQuant grid, landing exactly on ties of the
    # next FakeQuant's grid, which a last-bit difference between TensorFlow's and ONNX Runtime's sums breaks either way.
    Case("QuantizationWithRangesTest", "quantization_test.py", layers.quantization_ranges, _batch_dynamic((8, 8)), _dims((8, 8)), 1,
         precision="INT8", ours=3, tolerance=0.1,
         difference="TF nudges the ranges [-10, 10] and [-1, 1] to zero point 127, which TensorRT cannot take: "
                    "those FakeQuant nodes stay in TensorFlow (TF-TRT approximated them, with a tolerance of 0.1)"),
    Case("NonQuantizedPrecisionsWithRangesTest", "quantization_test.py", layers.quantization_ranges, _batch_dynamic((8, 8)), _dims((8, 8)), 4),
    Case("RankTwoTest", "rank_two_test.py", layers.rank_two, _batch_dynamic((12, 5), (12, 5, 2, 2)), _dims((12, 5), (12, 5, 2, 2)), 2,
         {"TRTEngineOp_000": ("add0_1", "add0_2", "add0_3", "c0_1", "c0_2", "c0_3", "abs0_1", "abs0_2", "expand0_0", "expand0_1", "axis"),
          "TRTEngineOp_001": ("add1_1", "add1_2", "add1_3", "c1_1", "c1_2", "c1_3", "abs1_1", "abs1_2", "reciprocal1", "add", "reciprocal0")}),
    Case("ResizeTestSizeDynamic", "resize_test.py", layers.resize_dynamic(False, False), (((None, None, None, 1), "float32"),), _dims((1, 32, 32, 1)), 1),
    Case("ResizeTestSizeDynamicAligned", "resize_test.py", layers.resize_dynamic(True, False), (((None, None, None, 1), "float32"),), _dims((1, 32, 32, 1)), 1),
    Case("ResizeTestSizeDynamicHalfPixel", "resize_test.py", layers.resize_dynamic(False, True), (((None, None, None, 1), "float32"),), _dims((1, 32, 32, 1)), 1),
    Case("ResizeTestSizeConst", "resize_test.py", layers.resize_static(False), _static((1, 32, 32, 1)), _dims((1, 32, 32, 1)), 1),
    Case("ResizeTestSizeConstAligned", "resize_test.py", layers.resize_static(True), _static((1, 32, 32, 1)), _dims((1, 32, 32, 1)), 1),
    Case("ResizeTestSizeConstNonIntegralWAR", "resize_test.py", layers.resize_static(False, (33, 33)), _static((1, 31, 31, 1)), _dims((1, 31, 31, 1)), 1),
    Case("ShapeOutputTest", "shape_output_test.py", layers.shape_output(False), (((None, 2, 5, 3), "float32"),), (((2, 2, 5, 3),), ((8, 2, 5, 3),)), 2),
    Case("ShapeOutputWithSingleInputProfile", "shape_output_test.py", layers.shape_output(False), (((None, 2, 5, 3), "float32"),), _dims((2, 2, 5, 3)), 2),
    Case("ShapeOutputWithSingleInputAndReshape", "shape_output_test.py", layers.shape_output(True), (((None, 2, 5, 3), "float32"),), _dims((2, 2, 5, 3)), 2),
    Case("TopKTest", "topk_test.py", g.top_k(False), _batch_dynamic((100, 100)), _dims((100, 100)), 1, {"TRTEngineOp_0": ("Const", "TopK")}),
    Case("TopKOutputTypeTest", "topk_test.py", g.top_k(True), _batch_dynamic((100, 100)), _dims((100, 100)), 1,
         {"TRTEngineOp_0": ("Const", "TopK", "Reshape", "Reshape/shape")}),
    Case("TRTEngineOpInputOutputShapeTest", "trt_engine_op_shape_test.py", layers.engine_op_shapes, _batch_dynamic((1, 2, 1, 4)), _dims((1, 2, 1, 4)), 1),
    Case("ImplicitBatchTest", "trt_mode_test.py", layers.squeeze_batch, _batch_dynamic((1, 12, 5)), _dims((1, 12, 5)), 1),
    Case("ExplicitBatchTest", "trt_mode_test.py", layers.squeeze_batch, _static((1, 12, 5)), _dims((1, 12, 5)), 1),
    Case("DynamicShapesTest", "trt_mode_test.py", layers.squeeze_batch, (((None, None, None), "float32"),),
         tuple((s,) for s in ((1, 12, 5), (1, 2, 3), (1, 4, 6))), 1),
    Case("VGGBlockTest", "vgg_block_test.py", layers.vgg_block(False), _batch_dynamic((5, 8, 8, 2)), _dims((5, 8, 8, 2)), 1),
    Case("VGGBlockNCHWTest", "vgg_block_nchw_test.py", layers.vgg_block(True), _batch_dynamic((5, 2, 8, 8)), _dims((5, 2, 8, 8)), 1),
    Case("BoolTest", "bool_test.py", layers.bool_ops, (((None, 32, 32, 3), "bool"),) * 2,
         _dims(_NHWC4, _NHWC4), 1),
    # TF-TRT converted CombinedNonMaxSuppression to a plugin in implicit-batch mode only.
    Case("CombinedNmsTest", "combined_nms_test.py", layers.combined_nms, _batch_dynamic((1, 200, 1, 4), (1, 200, 2)), _dims((1, 200, 1, 4), (1, 200, 2)), 0),
)
