"""Refinement of the segment route: one tf2onnx pass per round, every refusal mapped back, always settling."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import tftrt_kit
from tftrt_kit.engines.tensorrt_builder import TensorRTCheck, UnsupportedNode
from tftrt_kit.evaluate import sample_inputs
from tftrt_kit.export import ExportOptions
from tftrt_kit.routes import segment_export
from tftrt_kit.routes.base import RouteContext
from tftrt_kit.routes.segment import SegmentOptions, SegmentRoute, segment_source
from tftrt_kit.routes.segment_export import SegmentExporter
from tftrt_kit.routes.segment_partition import GraphTensors
from tftrt_kit.routes.segment_refine import refine


def _check_exact(source, segmentation):
    """Invariant 2 on a Segmentation: each non-input node in one part, parts in a valid order."""
    placeholders = {n.name for n in source.graph_def.node if n.op == "Placeholder"}
    parts = {p.name: p for p in (*segmentation.segments, *segmentation.islands)}
    named = [n for name in segmentation.parts_in_order for n in parts[name].nodes]
    assert len(named) == len(set(named)) and set(named) == {n.name for n in source.graph_def.node} - placeholders
    available = set(source.input_tensors)
    for name in segmentation.parts_in_order:
        assert set(parts[name].inputs) <= available, name
        available.update(parts[name].outputs)


def _stitched_matches_tf(source, result):
    model = tftrt_kit.load(result.artifact_dir)
    for batch in (1, 3):
        feeds = sample_inputs(source.inputs, batch=batch, seed=batch)
        reference, got = source.run(feeds), model(feeds)
        for name, value in reference.items():
            np.testing.assert_allclose(got[name], value, rtol=1e-5, atol=1e-5)


class _Parser:
    """A stand-in for the TensorRT parser refusing chosen ONNX nodes, at most ``per_parse`` per parse."""

    backend = "stand-in parser"

    def __init__(self, refuse, per_parse=None):
        self.refuse = refuse
        self.per_parse = per_parse
        self.parsed = []

    def check(self, model):
        self.parsed.append({n.name for n in model.graph.node})
        refused = [UnsupportedNode(n.name, n.op_type, "refused by the stand-in") for n in model.graph.node if self.refuse(n)]
        refused = refused[: self.per_parse] if self.per_parse else refused
        return TensorRTCheck(backend=self.backend, accepted=not refused, unsupported_nodes=refused)


def _refine(source, parser, max_refinements=5):
    options = SegmentOptions()
    exporter = SegmentExporter(source, ExportOptions(), GraphTensors(source.shapes_graph))
    return refine(lambda overrides: segment_source(source, options, overrides), exporter, parser, max_refinements)


@pytest.mark.parametrize("name, segments", [("middle_op", 2), ("diamond", 2)])
def test_every_segment_is_cut_from_one_tf2onnx_pass(source_of, tmp_path, name, segments):
    source = source_of(name)
    result = SegmentRoute()(source, RouteContext(output_dir=tmp_path))
    assert len(result.segments) == segments
    assert result.details["tf2onnx_passes"] == 1 and result.details["refinement_rounds"] == 0
    _stitched_matches_tf(source, result)


def test_a_refusal_in_one_segment_reexports_nothing_else(source_of):
    source = source_of("middle_op")
    first = segment_source(source, SegmentOptions())
    victim = next(n for n in first.segments[0].nodes if n.endswith("/Relu"))
    parser = _Parser(lambda node: node.name == victim)
    refined = _refine(source, parser)
    assert refined.rounds == 1 and refined.tf2onnx_passes == 2
    assert refined.segmentation.assignment[victim].startswith("tf_")
    untouched = first.segments[1]
    assert any(set(s.nodes) == set(untouched.nodes) for s in refined.segmentation.segments)
    # The untouched segment was exported and parsed once, in the first round.
    assert sum(1 for names in parser.parsed if names & set(untouched.nodes)) == 1
    _check_exact(source, refined.segmentation)


def test_a_chain_refused_node_by_node_settles(source_of):
    """A parser naming one refused node per parse, refusing everything: the worst case is coverage 0."""
    source = source_of("small_cnn")
    refined = _refine(source, _Parser(lambda node: True, per_parse=1), max_refinements=2)
    assert refined.rounds == 2 and refined.demoted
    # Only segments without a single ONNX node (constants) can stay: the parser refused every node.
    assert all(len(model.graph.node) == 0 for model in refined.models.values())
    assert all(not v.supported for n, v in refined.segmentation.support.items() if refined.segmentation.assignment.get(n, "").startswith("tf_seg"))
    assert any("still refused after 2 refinement round(s)" in f.reason for f in refined.segmentation.fallbacks)
    _check_exact(source, refined.segmentation)


def test_fake_quant_chain_refused_by_tensorrt_settles(tmp_path):
    """FakeQuant exports with a non-zero zero point, which TensorRT-RTX refuses; forced into segments, the route settles."""
    pytest.importorskip("tensorrt_rtx", reason="tensorrt-rtx-cu13 (extra 'rtx') is not installed")

    class Chain(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
        def __call__(self, x):
            y = tf.nn.relu(x) * 1.5
            for k in range(7):
                y = tf.quantization.fake_quant_with_min_max_args(y, min=-3.0 - k, max=4.0 + k) * 1.1 + 0.1
            return {"y": tf.tanh(y)}

    module = Chain()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": module.__call__})
    source = tftrt_kit.load_source(tmp_path / "sm")
    options = SegmentOptions(include_ops=("FakeQuantWithMinMaxArgs",))
    result = SegmentRoute(options)(source, RouteContext(output_dir=tmp_path / "out", backend="tensorrt_rtx"))
    assert result.ok and result.details["refinement_rounds"] <= options.max_refinements
    assert {f.op_type for f in result.fallbacks if "parser" in f.reason} >= {"FakeQuantWithMinMaxArgs"}
    _stitched_matches_tf(source, result)


def test_an_export_crash_sends_only_its_segment_back(source_of, tmp_path, monkeypatch):
    source = source_of("middle_op")
    first = segment_source(source, SegmentOptions())
    doomed = set(first.segments[1].nodes)
    finish = segment_export.finish_export

    def crash_on_doomed(model, inputs, outputs, options):
        if any(i in doomed for i in {n.name for n in model.graph.node}):
            raise RuntimeError("simulated dependency crash")
        return finish(model, inputs, outputs, options)

    monkeypatch.setattr(segment_export, "finish_export", crash_on_doomed)
    result = SegmentRoute()(source, RouteContext(output_dir=tmp_path))
    assert result.ok and [set(s.nodes) for s in _segments_of(result)] == [set(first.segments[0].nodes)]
    reasons = {f.reason for f in result.fallbacks}
    assert any("ONNX export crashed (RuntimeError: simulated dependency crash)" in r for r in reasons)
    _stitched_matches_tf(source, result)


def _segments_of(result):
    from tftrt_kit.runtime.artifact import read_manifest

    return [type("Part", (), {"nodes": p["node_names"]}) for p in read_manifest(result.artifact_dir)["parts"] if p["kind"] == "segment"]


def test_a_cut_tf2onnx_rewired_is_exported_on_its_own(source_of, tmp_path, monkeypatch):
    """tf2onnx's optimizers can make a slice read another segment's inner tensor: that segment is exported alone, never sent back."""
    from tftrt_kit import onnx_slice
    from tftrt_kit.errors import ExportError

    source = source_of("diamond")
    first = segment_source(source, SegmentOptions())
    rewired = first.segments[1].name
    slice_model = onnx_slice.slice_model

    def open_cut(model, inputs, outputs, name):
        if name == rewired:
            raise ExportError(f"Expected the outputs of {name!r} to depend only on {list(inputs)}. Received: they read graph input 'image:0'.")
        return slice_model(model, inputs, outputs, name)

    monkeypatch.setattr(onnx_slice, "slice_model", open_cut)
    result = SegmentRoute()(source, RouteContext(output_dir=tmp_path))
    assert len(result.segments) == 2 and result.details["tf2onnx_passes"] == 2
    assert not any("graph input" in f.reason for f in result.fallbacks)
    _stitched_matches_tf(source, result)
