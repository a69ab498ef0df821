"""TensorFlow graph to ONNX, checked to be a TensorRT model.

tf2onnx converts; polygraphy folds constants; then the checks of
:mod:`tftrt_kit.onnx_checks` make the file a TensorRT model or raise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import time
from typing import Any, Iterator, Sequence

from tftrt_kit.errors import ExportError
from tftrt_kit.export_handlers import EXTRA_TF_HANDLERS
from tftrt_kit.onnx_checks import check_onnx, check_onnx_io, check_standard_ops
from tftrt_kit.onnx_fold import fold_constants

DEFAULT_OPSET = 17

#: tf2onnx optimizers that fold weight QuantizeLinear/DequantizeLinear pairs into float
#: constants; explicit quantization needs them kept (onnx/tensorflow-onnx#1719).
QDQ_FOLDING_OPTIMIZERS = ("q_dq_optimizer", "const_dequantize_optimizer")


@dataclasses.dataclass(frozen=True)
class ExportOptions:
    """How a graph is exported.

    Attributes:
        opset: ONNX opset (13 or newer for per-channel Q/DQ).
        fold_constants: Run polygraphy's constant folding after tf2onnx.
        keep_qdq: Keep explicit Q/DQ (turns off tf2onnx's Q/DQ folding and skips
            folding of QuantizeLinear nodes).
    """

    opset: int = DEFAULT_OPSET
    fold_constants: bool = True
    keep_qdq: bool = False


def export_source(source: Any, options: ExportOptions = ExportOptions()) -> Any:
    """Export a :class:`~tftrt_kit.source.Source` to an ONNX model named like its signature.

    ONNX inputs and outputs take the signature's names (``source.inputs[i].name``),
    so a user feeds the ONNX model exactly as the SavedModel signature.

    Args:
        source: The loaded source.
        options: Export options.

    Returns:
        A checked ``onnx.ModelProto``.

    Raises:
        ExportError: an input or output ONNX and TensorRT cannot carry (see
            :func:`check_onnx_io`), tf2onnx failed, or the result does not pass ``onnx.checker``.
        UnsupportedOpError: an op could not be converted to standard ONNX.
    """
    check_onnx_io(source)
    renames = {t: s.name for t, s in zip(source.input_tensors, source.inputs)}
    renames.update({t: s.name for t, s in zip(source.output_tensors, source.outputs)})
    return export_graph(
        source.graph_def,
        list(source.input_tensors),
        list(source.output_tensors),
        options,
        renames=renames,
        name=source.signature_key,
        large_graph=source.large_graph,
        weights=source.weights,
    )


@dataclasses.dataclass
class TracedExport:
    """An exported ONNX model and the TensorFlow node each of its nodes came from.

    Attributes:
        model: The checked ``onnx.ModelProto``.
        origins: ONNX node name -> the TF node(s) it came from (see :mod:`tftrt_kit.export_origins`).
    """

    model: Any
    origins: dict[str, tuple[str, ...]]


def export_graph(
    graph_def: Any,
    input_tensors: Sequence[str],
    output_tensors: Sequence[str],
    options: ExportOptions = ExportOptions(),
    *,
    renames: dict[str, str] | None = None,
    name: str = "tftrt_kit",
    large_graph: bool = False,
    weights: Any = None,
) -> Any:
    """Export the part of a frozen GraphDef between ``input_tensors`` and ``output_tensors``.

    Intermediate tensors are valid inputs: tf2onnx converts only the subgraph
    between them, which is how a segment is exported without GraphDef surgery.

    Args:
        graph_def: A frozen ``GraphDef``.
        input_tensors: Tensor names (``"node:0"``) to feed.
        output_tensors: Tensor names to fetch.
        options: Export options.
        renames: Optional tensor name -> ONNX name mapping for inputs and outputs.
        name: Graph name written in the ONNX model.
        large_graph: Convert without putting the weights in a GraphDef (grappler sees
            them as Placeholders, tf2onnx reads them by name), and collect tf2onnx's
            dropped copies of the graph between its optimizers (``Source.large_graph``;
            a small graph pays more time than it saves).
        weights: The :class:`~tftrt_kit.graph_weights.Weights` of a weightless
            ``graph_def`` (``Source.weights``); None when ``graph_def`` holds its values.

    Returns:
        A checked ``onnx.ModelProto``.

    Raises:
        UnsupportedOpError: a node outside the standard ONNX domains remains.
        ExportError: tf2onnx failed, or the model fails ``onnx.checker``.
    """
    started = time.perf_counter()
    model = export_traced(
        graph_def, input_tensors, output_tensors, options, renames=renames, name=name, large_graph=large_graph, weights=weights, trace=False
    ).model
    model.doc_string = f"tftrt_kit export in {time.perf_counter() - started:.2f}s"
    return model


def export_traced(
    graph_def: Any,
    input_tensors: Sequence[str],
    output_tensors: Sequence[str],
    options: ExportOptions = ExportOptions(),
    *,
    renames: dict[str, str] | None = None,
    name: str = "tftrt_kit",
    large_graph: bool = False,
    weights: Any = None,
    trace: bool = True,
) -> TracedExport:
    """:func:`export_graph`, also recording which TF node each ONNX node came from (when ``trace``).

    Raises:
        UnsupportedOpError: a node outside the standard ONNX domains remains.
        ExportError: tf2onnx failed, or the model fails ``onnx.checker``.
    """
    renames = renames or {}
    converted = convert_traced(
        graph_def, input_tensors, output_tensors, options, renames=renames, name=name, large_graph=large_graph, weights=weights, trace=trace
    )
    inputs, outputs = [renames.get(t, t) for t in input_tensors], [renames.get(t, t) for t in output_tensors]
    return TracedExport(finish_export(converted.model, inputs, outputs, options), converted.origins)


def convert_traced(
    graph_def: Any,
    input_tensors: Sequence[str],
    output_tensors: Sequence[str],
    options: ExportOptions = ExportOptions(),
    *,
    renames: dict[str, str] | None = None,
    name: str = "tftrt_kit",
    large_graph: bool = False,
    weights: Any = None,
    trace: bool = True,
) -> TracedExport:
    """tf2onnx's conversion alone (no folding, no checks), with node origins when ``trace``.

    The model may still hold TensorFlow ops tf2onnx could not convert: the caller
    checks the parts it keeps (:func:`finish_export`).

    Raises:
        ExportError: tf2onnx failed.
    """
    from tftrt_kit.export_origins import resolve_origins
    from tftrt_kit.graph_weights import split_weights

    if weights is not None and not large_graph:
        graph_def, weights = weights.filled(graph_def), None
    elif weights is None and large_graph:
        graph_def, weights = split_weights(graph_def)
    model, tracker = _tf2onnx(graph_def, weights, list(input_tensors), list(output_tensors), options, renames or {}, name, trace)
    return TracedExport(model, resolve_origins(model, tracker) if tracker else {})


def finish_export(model: Any, input_names: Sequence[str], output_names: Sequence[str], options: ExportOptions = ExportOptions()) -> Any:
    """Fold constants (when ``options.fold_constants``) and check that ``model`` is a TensorRT model.

    Raises:
        UnsupportedOpError: a node outside the standard ONNX domains remains (checked
            before folding, which cannot read TensorFlow ops' binary attributes).
        ExportError: the model fails ``onnx.checker`` or lost an input/output name.
    """
    # Before folding: onnx-graphsurgeon cannot even read some TF ops tf2onnx leaves
    # (a binary config_proto attr fails with UnicodeDecodeError), so name them first.
    check_standard_ops(model)
    if options.fold_constants:
        model = fold_constants(model, options.keep_qdq)
    check_onnx(model, input_names, output_names)
    return model


def _tf2onnx(graph_def, weights, inputs, outputs, options, renames, name, trace, skip_optimizers=()):
    """tf2onnx's conversion and optimizers; returns the model and its :class:`OriginTracker` (when ``trace``).

    ``weights`` (a large graph's): ``graph_def`` is weightless, grappler runs with
    the weights as Placeholders and tf2onnx reads their values by name, so no
    GraphDef ever holds them (over 2 GiB, none could).

    tf2onnx's reshape optimizer sometimes (not on every run) loses the Squeeze it adds
    after a Reshape on an NHWC graph with one channel (TF-TRT's DynamicInputShapes
    graph), so an output gains a leading dim of 1. An output whose rank differs from
    TensorFlow's is converted again without that optimizer.
    """
    import tensorflow as tf
    from tf2onnx import optimizer
    from tf2onnx.tfonnx import process_tf_graph

    from tftrt_kit import export_grappler as grappler
    from tftrt_kit.export_optimizers import optimized_model
    from tftrt_kit.export_origins import OriginTracker

    optimizers = {k: v for k, v in optimizer._get_optimizers().items() if k not in skip_optimizers}
    if options.keep_qdq:
        for key in QDQ_FOLDING_OPTIMIZERS:
            optimizers.pop(key, None)
    # tf2onnx logs every op it cannot convert at ERROR level; check_onnx reports them
    # with their TF node names, so its own log lines would only say it twice.
    tf2onnx_logger = logging.getLogger("tf2onnx")
    level = tf2onnx_logger.level
    tf2onnx_logger.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            with tf.Graph().as_default():
                optimized = grappler.optimize(inputs, outputs, graph_def, weights=weights)
            tracker = OriginTracker({n.op for n in optimized.node}, options.opset, EXTRA_TF_HANDLERS) if trace else None
            with (
                tf.Graph().as_default() as tf_graph,
                tracker.rewriters_use_tf2onnx_handlers() if tracker else contextlib.nullcontext(),
                _rewriter_failures() as failed,
            ):
                tf.import_graph_def(optimized, name="")
                del optimized
                ranks = {renames.get(o, o): tf_graph.get_tensor_by_name(o).shape.rank for o in outputs}
                graph = process_tf_graph(
                    tf_graph,
                    continue_on_error=True,
                    opset=options.opset,
                    input_names=inputs,
                    output_names=outputs,
                    tensors_to_rename=renames,
                    custom_op_handlers=tracker.custom_op_handlers() if tracker else dict(EXTRA_TF_HANDLERS),
                    custom_rewriter=tracker.custom_rewriter() if tracker else None,
                    const_node_values=weights.contents() if weights is not None else None,
                )
            del tf_graph  # its import holds a copy of the weights
            if failed:
                raise ExportError(
                    f"Expected tf2onnx's graph rewriters to finish. Received: {'; '.join(failed)}. tf2onnx goes on with the "
                    "graph as a failed rewriter left it, which can compute something else, so this export is not used."
                )
            if tracker:
                tracker.snapshot(graph)
            # Handed over in a list: no reference here keeps tf2onnx's graph past its optimized copy.
            graphs = [graph]
            del graph
            model = optimized_model(graphs, optimizers, f"converted from {name} by tftrt_kit", weights is not None)
        if "reshape_optimizer" in optimizers and _rank_changed(model, ranks):
            return _tf2onnx(graph_def, weights, inputs, outputs, options, renames, name, trace, ("reshape_optimizer",))
        return model, tracker
    except ExportError:
        raise
    except Exception as err:
        raise ExportError(
            f"Expected tf2onnx to convert the graph between {inputs} and {outputs}. "
            f"Received: {type(err).__name__}: {str(err).strip()[:500]}"
        ) from err
    finally:
        tf2onnx_logger.setLevel(level)


class _RewriterFailureLog(logging.Filter):
    """Keeps tf2onnx's "rewriter ...: exception ..." records (a failed rewriter is logged, not raised) and drops every record."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "rewriter %s: exception %s" and len(record.args) == 2:
            rewriter, error = record.args
            self.failures.append(f"rewriter {getattr(rewriter, '__name__', rewriter)} raised {type(error).__name__}: {str(error)[:200]}")
        return False


@contextlib.contextmanager
def _rewriter_failures() -> Iterator[list[str]]:
    """Collect the rewriters tf2onnx reports as failed inside the block (its log lines stay silent)."""
    tfonnx = logging.getLogger("tf2onnx.tfonnx")
    log, level = _RewriterFailureLog(), tfonnx.level
    tfonnx.setLevel(logging.ERROR)
    tfonnx.addFilter(log)
    try:
        yield log.failures
    finally:
        tfonnx.removeFilter(log)
        tfonnx.setLevel(level)


def _rank_changed(model: Any, ranks: dict[str, int | None]) -> bool:
    """Whether an ONNX graph output has another rank than the TensorFlow tensor it stands for."""
    return any(
        ranks.get(o.name) is not None and o.type.tensor_type.HasField("shape") and len(o.type.tensor_type.shape.dim) != ranks[o.name]
        for o in model.graph.output
    )


def convert_to_fp16(model: Any) -> Any:
    """FP16 copy of ``model``: float weights and compute in half, inputs and outputs kept float32.

    TensorRT-RTX (and TensorRT with a strongly typed network) takes precision from
    the ONNX types rather than a builder flag, so FP16 is expressed in the model;
    ONNX Runtime then measures the same FP16 model's accuracy.
    """
    import onnx
    from onnxconverter_common import float16

    from tftrt_kit.onnx_files import load_onnx, model_on_disk

    with model_on_disk(model) as path:
        if path is None:
            return float16.convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=False)
        # Shape inference serializes the model: one over 2 GiB is inferred from its file.
        onnx.shape_inference.infer_shapes_path(str(path))
        inferred = load_onnx(path)
    return float16.convert_float_to_float16(inferred, keep_io_types=True, disable_shape_infer=True)
