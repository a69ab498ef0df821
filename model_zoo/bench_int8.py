"""INT8 explicit quantization on MobileNetV2 and ResNet50 (random weights, seed 0).

For each model: Keras-level Q/DQ placement counts per layer type, the exported Q/DQ
ONNX checked TensorRT-shaped, INT8 plans built by TensorRT-RTX (CPU-only builder) from
the Keras Q/DQ ONNX and from ONNX Runtime's PTQ of the FP32 ONNX, and ONNX Runtime
INT8 vs FP32 latency on this CPU (batch 1, median of N calls, one process).

Calibration data is SYNTHETIC (seeded standard normal): the figures say nothing about
accuracy, only about placement, TensorRT acceptance and CPU latency.

Usage:
    python model_zoo/bench_int8.py [--models mobilenetv2 resnet50] [--runs 20]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

MODELS = {"mobilenetv2": "MobileNetV2", "resnet50": "ResNet50"}


def build(name: str) -> Any:
    """A keras.applications model with random weights and logits out."""
    import keras

    keras.utils.set_random_seed(0)
    return getattr(keras.applications, MODELS[name])(weights=None, classifier_activation=None)


def placement_counts(qmodel: Any) -> dict[str, dict[str, int]]:
    """Per Keras layer type: layers whose input is quantized, and layers whose weights are."""
    from tftrt_kit.quantize import TensorQuantizer, WeightQuantizeWrapper

    inputs, weights = collections.Counter(), collections.Counter()
    for layer in qmodel.layers:
        inner = layer.layer if isinstance(layer, WeightQuantizeWrapper) else layer
        if isinstance(layer, WeightQuantizeWrapper):
            weights[type(inner).__name__] += 1
        for node in layer._inbound_nodes:
            if any(isinstance(t._keras_history[0], TensorQuantizer) for t in node.input_tensors):
                inputs[type(inner).__name__] += 1
    return {"quantized_inputs": dict(inputs), "quantized_weights": dict(weights)}


def median_ms(onnx_model: Any, feeds: dict[str, np.ndarray], runs: int) -> float:
    """Median latency of ONNX Runtime (default CPU session) over ``runs`` calls after 3 warm-ups."""
    from tftrt_kit.engines.onnxruntime import OnnxRuntimeExecutor

    run = OnnxRuntimeExecutor(onnx_model)
    for _ in range(3):
        run(feeds)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run(feeds)
        times.append(time.perf_counter() - started)
    return 1000.0 * statistics.median(times)


def bench(name: str, runs: int, calib_samples: int) -> dict[str, Any]:
    """Every figure for one model, measured in this run."""
    from tftrt_kit.engines.tensorrt_builder import BuildOptions, TensorRTBuilder
    from tftrt_kit.export import export_source
    from tftrt_kit.quantize import calibrate, export_quantized, quantize_model, quantize_onnx, summarize_qdq
    from tftrt_kit.source import load_source

    model = build(name)
    rng = np.random.default_rng(0)
    calib = rng.standard_normal((calib_samples, *model.input_shape[1:]), dtype=np.float32)
    sample = rng.standard_normal((1, *model.input_shape[1:]), dtype=np.float32)
    out: dict[str, Any] = {"model": name}
    started = time.perf_counter()
    float_onnx = export_source(load_source(model))
    input_name = float_onnx.graph.input[0].name
    qmodel = quantize_model(model)
    result = calibrate(qmodel, calib, method="max", batch_size=8)
    keras_qdq = export_quantized(qmodel)
    ort_qdq = quantize_onnx(float_onnx, {input_name: calib}, method="max")
    out["prepare_seconds"] = round(time.perf_counter() - started, 1)
    out["calibration"] = f"synthetic N(0,1), {result.samples} samples, method=max"
    out["keras_placement"] = placement_counts(qmodel)
    builder = TensorRTBuilder("tensorrt_rtx")
    for label, onnx_model in (("keras_qdq", keras_qdq), ("ort_ptq", ort_qdq)):
        summary = summarize_qdq(onnx_model)
        plan, check = builder.build(onnx_model, BuildOptions(precision="int8", batch_sizes=(1, 1, 1)))
        out[label] = {
            "Q": summary.quantize, "DQ": summary.dequantize,
            "activation_dq_by_op": summary.activation_consumers,
            "weight_dq_by_op": dict(collections.Counter(w.consumer for w in summary.weights)),
            "tensorrt_shaped": summary.tensorrt_shaped,
            "rtx_int8_plan_mb": round(check.plan_bytes / 2**20, 1),
        }
    plan, check = builder.build(float_onnx, BuildOptions(precision="fp32", batch_sizes=(1, 1, 1)))
    out["rtx_fp32_plan_mb"] = round(check.plan_bytes / 2**20, 1)
    feeds = {input_name: sample}
    fp32 = median_ms(float_onnx, feeds, runs)
    out["ort_cpu_batch1_p50_ms"] = {"fp32": round(fp32, 2)}
    for label, onnx_model in (("keras_qdq", keras_qdq), ("ort_ptq", ort_qdq)):
        int8 = median_ms(onnx_model, feeds, runs)
        out["ort_cpu_batch1_p50_ms"][label] = round(int8, 2)
        out["ort_cpu_batch1_p50_ms"][f"{label}_int8_over_fp32"] = round(int8 / fp32, 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=["mobilenetv2", "resnet50"])
    parser.add_argument("--runs", type=int, default=20, help="timed ONNX Runtime calls per model (median)")
    parser.add_argument("--calib-samples", type=int, default=16, help="synthetic calibration samples")
    args = parser.parse_args(argv)
    print("Calibration data is SYNTHETIC (seeded N(0,1)): placement, TensorRT acceptance and CPU latency only, no accuracy.")
    for name in args.models:
        print(json.dumps(bench(name, args.runs, args.calib_samples), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
