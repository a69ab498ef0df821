"""summary() checked line by line against the converter's own segmentation."""

from __future__ import annotations

import ast
import re

import pytest

from tftrt_kit.compat import trt_convert as trt
from tftrt_kit.compat.summary import COLUMNS, EngineRow, column_ends, format_row
from tftrt_kit.engines.gpu import GpuStatus, gpu_available
from tftrt_kit.runtime.artifact import read_manifest
from tftrt_kit.segment import inspect


@pytest.fixture(scope="module")
def converted(saved_model):
    """``converted(name)`` -> a converter of a registered model after convert() (cached)."""
    cache = {}

    def make(name):
        if name not in cache:
            converter = trt.TrtGraphConverterV2(input_saved_model_dir=str(saved_model(name)))
            converter.convert()
            cache[name] = converter
        return cache[name]

    return make


def _lines(converter, **kwargs) -> list[str]:
    items: list[str] = []
    converter.summary(print_fn=items.append, **kwargs)
    return "\n".join(items).split("\n")


def _fields(line: str, line_length: int = 160) -> list[str]:
    starts = [0, *column_ends(line_length)[:-1]]
    return [line[a:b].strip() for a, b in zip(starts, column_ends(line_length))]


def _shown(field: str, expected: list) -> bool:
    """Whether a table field shows ``expected`` whole, or cut to its column with " ..." as TF-TRT did."""
    if field.endswith(" ..."):
        return str(expected).startswith(field[:-4])
    return ast.literal_eval(field) == expected


def check_summary(converter, line_length: int = 160) -> None:
    """Every line of summary() against the route result, the manifest and the frozen graph."""
    result, graph = converter.route_result, converter.source.graph_def
    entries = {e["name"]: e for e in read_manifest(converter.artifact_dir)["parts"] if e["kind"] == "segment"}
    lines = iter(_lines(converter, line_length=line_length))
    assert next(lines) == format_row([h for h, _ in COLUMNS], column_ends(line_length))
    assert next(lines) == "=" * line_length
    for index, segment in enumerate(result.segments):
        if index:
            assert [next(lines), next(lines), next(lines)] == ["", "-" * 40, ""]
        entry = entries[segment.name]
        name, device, nodes, n_in, n_out, in_dtypes, out_dtypes, in_shapes, out_shapes = _fields(next(lines), line_length)
        runs_here = entry["plan_backend"] if entry["plan_file"] and gpu_available() else "onnxruntime"
        assert (name, device, int(nodes), int(n_in), int(n_out)) == (segment.name, runs_here, segment.nodes, len(segment.inputs), len(segment.outputs))
        assert _shown(in_dtypes, [s["dtype"] for s in entry["inputs"]])
        assert _shown(out_dtypes, [s["dtype"] for s in entry["outputs"]])
        assert _shown(in_shapes, [[-1 if d is None else d for d in s["shape"]] for s in entry["inputs"]])
        assert _shown(out_shapes, [[-1 if d is None else d for d in s["shape"]] for s in entry["outputs"]])
        assert next(lines) == ""
        for op, count in sorted(segment.op_histogram.items()):
            assert next(lines) == f"\t- {op}: {count}x"
        assert next(lines).startswith(f"\t[device] {runs_here}: ")
        assert next(lines) == f"\t[nodes] {', '.join(entry['node_names'])}"
        assert len(entry["node_names"]) == segment.nodes
    converted, total = sum(s.nodes for s in result.segments), len(graph.node)
    assert [next(lines), next(lines)] == ["", "=" * line_length]
    assert next(lines) == f"[*] Total number of TensorRT engines: {len(result.segments)}"
    assert next(lines) == f"[*] % of OPs Converted: {converted / total * 100:.2f}% [{converted}/{total}]"
    assert next(lines) == ""
    left = [(f.op_type, f.count, f.reason) for f in result.fallbacks]
    placeholders = sum(1 for n in graph.node if n.op == "Placeholder")
    assert next(lines) == f"[*] OPs left in TensorFlow: {sum(c for _, c, _ in left) + placeholders} [op type: nodes, reason]"
    for op, count, reason in left:
        assert next(lines) == f"\t- {op}: {count}x, {reason}"
    assert re.fullmatch(rf"\t- Placeholder: {placeholders}x, graph input .*", next(lines))
    assert next(lines, None) is None
    # Every node is converted, left in TensorFlow with a reason, or a graph input.
    assert converted + sum(c for _, c, _ in left) + placeholders == total


@pytest.mark.parametrize("name", ["middle_op", "small_cnn", "diamond"])
def test_summary_matches_the_segmentation(converted, name):
    check_summary(converted(name))


def test_summary_agrees_with_an_independent_segmentation(converted):
    converter = converted("middle_op")
    preview = inspect(converter.source)
    assert [(s.name, len(s.nodes), s.op_histogram) for s in preview.segments] == [
        (s.name, s.nodes, s.op_histogram) for s in converter.route_result.segments
    ]
    lines = _lines(converter)
    assert "\t- Lgamma: 1x, no TensorRT converter for op Lgamma" in lines


def test_summary_options(converted):
    converter = converted("middle_op")
    check_summary(converter, line_length=200)
    assert len(_lines(converter, line_length=200)[1]) == 200
    assert not any(line.startswith("\t- Conv2D") for line in _lines(converter, detailed=False))
    with pytest.raises(ValueError, match="Minimum: 160"):
        converter.summary(line_length=120)


def test_long_fields_are_cut_as_tf_trt_did():
    ends = column_ends(160)
    row = format_row(["x" * 40, "GPU:0", 1, 1, 1, [], [], [], []], ends)
    assert row.startswith("x" * 28 + " ...") and len(row) <= 160


def test_minimum_segment_size_minus_one_converts_nothing(saved_model):
    converter = trt.TrtGraphConverterV2(input_saved_model_dir=str(saved_model("small_cnn")), minimum_segment_size=-1)
    converter.convert()
    assert converter.route_result.segments == []
    check_summary(converter)
    assert "[*] Total number of TensorRT engines: 0" in _lines(converter)


def test_device_column_says_what_runs_the_segment_here():
    """A plan runs on its TensorRT module only where a GPU is usable; else ONNX Runtime, with the reason."""
    spec = {"name": "x:0", "dtype": "float32", "shape": [None, 4]}
    entry = {"name": "seg_0", "nodes": 3, "inputs": [spec], "outputs": [spec], "plan_file": "seg_0.tensorrt_rtx.plan",
             "plan_backend": "tensorrt_rtx", "tensorrt": {"backend": "tensorrt_rtx 1.7.1.116", "accepted": True, "plan_bytes": 9}}
    on_gpu = EngineRow.from_manifest(entry, {}, GpuStatus(True, devices=1))
    assert (on_gpu.device, on_gpu.device_note) == ("tensorrt_rtx", "tensorrt_rtx: plan seg_0.tensorrt_rtx.plan on the GPU")
    no_gpu = EngineRow.from_manifest(entry, {}, GpuStatus(False, reason="no CUDA runtime"))
    assert no_gpu.device == "onnxruntime" and "needs a CUDA GPU (no CUDA runtime)" in no_gpu.device_note
    failed = {**entry, "plan_file": None, "plan_backend": None,
              "tensorrt": {"backend": "tensorrt_rtx 1.7.1.116", "accepted": True, "error": "nms has no runners that implement it"}}
    row = EngineRow.from_manifest(failed, {}, GpuStatus(True, devices=1))
    assert (row.device, row.device_note) == ("onnxruntime", "onnxruntime: no plan: nms has no runners that implement it")
