"""Export a Q/DQ Keras model to an ONNX model TensorRT quantizes explicitly.

tf2onnx converts TF ``QuantizeAndDequantizeV3/V4`` to ONNX ``QuantizeLinear ->
DequantizeLinear`` but lays out some kernels *after* the weight Q/DQ: a TF depthwise
kernel (kh, kw, in, mult) passes ``DQ -> Reshape -> Transpose`` before reaching ONNX
``Conv(group=in)`` as (in*mult, 1, kh, kw). TensorRT wants the weight DQ to feed the
Conv directly with ``axis`` = output channel, so :func:`fold_weight_layout` applies
those layout ops to the constant weight and its per-channel scale instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tftrt_kit.errors import QuantizationError
from tftrt_kit.quantize.inspect_qdq import LAYOUT_OPS, summarize_qdq


def export_quantized(qmodel: Any, *, opset: int = 17) -> Any:
    """Export ``qmodel`` (from :func:`~tftrt_kit.quantize.quantize_model`) to a Q/DQ ONNX model.

    Goes through :func:`tftrt_kit.source.load_source` and
    :func:`tftrt_kit.export.export_source` with ``keep_qdq=True``, then moves weight
    layout ops in front of the weight Q/DQ and checks DESIGN.md invariant 4.

    Args:
        qmodel: A quantized, calibrated Keras model.
        opset: ONNX opset (13 or newer: per-channel Q/DQ).

    Returns:
        An ``onnx.ModelProto`` that passed ``onnx.checker``.

    Raises:
        QuantizationError: a quantizer is uncalibrated, or the ONNX is not TensorRT-shaped
            (non-zero zero point, wrong axis, a TensorFlow quantization op left).
        ExportError: tf2onnx failed (from :mod:`tftrt_kit.export`).

    Example:
        >>> onnx_model = export_quantized(qmodel)      # doctest: +SKIP
    """
    from tftrt_kit.export import ExportOptions, export_source
    from tftrt_kit.onnx_checks import check_onnx
    from tftrt_kit.quantize.model import input_quantizers
    from tftrt_kit.source import load_source

    if opset < 13:
        raise QuantizationError(f"Expected opset >= 13 (per-channel Q/DQ). Received: opset={opset}")
    uncalibrated = [q.name for q in input_quantizers(qmodel) if float(q.amax.numpy()) <= 0.0]
    if uncalibrated:
        raise QuantizationError(
            f"Expected calibrated quantizers (amax > 0). Received: {len(uncalibrated)} uncalibrated, "
            f"e.g. {uncalibrated[:5]}; run tftrt_kit.quantize.calibrate(qmodel, data) first."
        )
    source = load_source(qmodel)
    model = fold_weight_layout(export_source(source, ExportOptions(opset=opset, keep_qdq=True)))
    check_onnx(model, [s.name for s in source.inputs], [s.name for s in source.outputs])
    summary = summarize_qdq(model)
    bad = [w for w in summary.weights if not w.per_channel_ok]
    if summary.tf_ops or not summary.zero_points_zero or bad or not summary.per_tensor_activations:
        raise QuantizationError(
            "Expected TensorRT-shaped Q/DQ (int8, zero point 0, per-tensor activations, per-channel weights "
            f"on the output-channel axis, no TF op). Received: tf_ops={list(summary.tf_ops)}, "
            f"zero_points_zero={summary.zero_points_zero}, per_tensor_activations={summary.per_tensor_activations}, "
            f"misplaced weight DQ={[(w.name, w.consumer, w.axis, w.expected_axis) for w in bad[:5]]}."
        )
    return model


def fold_weight_layout(model: Any) -> Any:
    """Rewrite ``const W -> Q -> DQ -> (Reshape|Transpose)* -> op`` as ``const W' -> Q -> DQ -> op``.

    ``W'`` is ``W`` after the layout ops; its scale is the per-channel scale moved the
    same way, so the result is identical element by element. Chains whose scale does not
    end up along a single axis are left as they are.
    """
    import onnx_graphsurgeon as gs

    graph = gs.import_onnx(model)
    changed = False
    for dq in [n for n in graph.nodes if n.op == "DequantizeLinear"]:
        changed |= _fold_chain(graph, dq)
    if not changed:
        return model
    graph.cleanup().toposort()
    folded = gs.export_onnx(graph)
    del folded.opset_import[:]
    folded.opset_import.extend(model.opset_import)
    folded.ir_version = model.ir_version
    return folded


def _fold_chain(graph: Any, dq: Any) -> bool:
    import onnx_graphsurgeon as gs

    q = dq.inputs[0].inputs[0] if dq.inputs[0].inputs else None
    if q is None or q.op != "QuantizeLinear" or not isinstance(q.inputs[0], gs.Constant):
        return False
    scale, zero_point = dq.inputs[1], dq.inputs[2] if len(dq.inputs) > 2 else None
    if not isinstance(scale, gs.Constant) or scale.values.size < 2:
        return False
    layout, tensor = [], dq.outputs[0]
    while len(tensor.outputs) == 1 and tensor.outputs[0].op in LAYOUT_OPS:
        layout.append(tensor.outputs[0])
        tensor = tensor.outputs[0].outputs[0]
    if not layout:
        return False
    weight = q.inputs[0].values
    axis = int(dq.attrs.get("axis", 1)) % weight.ndim
    shape = [1] * weight.ndim
    shape[axis] = -1
    scale_full = np.broadcast_to(scale.values.reshape(shape), weight.shape)
    try:
        new_weight, new_scale_full = weight, scale_full
        for node in layout:
            new_weight = _apply_layout(node, new_weight)
            new_scale_full = _apply_layout(node, new_scale_full)
    except (ValueError, KeyError):
        return False
    new_axis = _single_axis(new_scale_full)
    if new_axis is None:
        return False
    index = tuple(slice(None) if i == new_axis else 0 for i in range(new_weight.ndim))
    new_scale = np.ascontiguousarray(new_scale_full[index]).astype(scale.values.dtype)
    zp_values = np.zeros(new_scale.shape, dtype=zero_point.values.dtype) if zero_point is not None else None
    name = f"{dq.name}_folded"
    weight_c = gs.Constant(f"{name}_weight", np.ascontiguousarray(new_weight))
    scale_c = gs.Constant(f"{name}_scale", new_scale)
    zp_c = [gs.Constant(f"{name}_zero_point", zp_values)] if zp_values is not None else []
    quantized = gs.Variable(f"{name}_q", dtype=q.outputs[0].dtype)
    attrs = {"axis": new_axis}
    graph.nodes.append(gs.Node("QuantizeLinear", f"{name}_quantize", attrs, [weight_c, scale_c] + zp_c, [quantized]))
    consumer_input = layout[-1].outputs[0]
    layout[-1].outputs.clear()
    graph.nodes.append(gs.Node("DequantizeLinear", name, dict(attrs), [quantized, scale_c] + zp_c, [consumer_input]))
    return True


def _apply_layout(node: Any, array: np.ndarray) -> np.ndarray:
    """numpy twin of an ONNX layout op on a constant (raises ValueError if it cannot)."""
    import onnx_graphsurgeon as gs

    if node.op == "Transpose":
        return np.transpose(array, node.attrs.get("perm"))
    if node.op == "Identity":
        return array
    if node.op == "Reshape":
        target = node.inputs[1]
        if not isinstance(target, gs.Constant):
            raise ValueError("dynamic reshape")
        # ONNX Reshape: 0 copies the input dimension (allowzero=0), -1 is inferred, as numpy.
        shape = [array.shape[i] if d == 0 else int(d) for i, d in enumerate(target.values.tolist())]
        return array.reshape(shape)
    if node.op in ("Squeeze", "Unsqueeze") and len(node.inputs) > 1 and isinstance(node.inputs[1], gs.Constant):
        axes = tuple(int(a) for a in node.inputs[1].values.tolist())
        return np.squeeze(array, axes) if node.op == "Squeeze" else np.expand_dims(array, axes)
    raise ValueError(f"cannot fold {node.op}")


def _single_axis(scale_full: np.ndarray) -> int | None:
    """The one axis along which ``scale_full`` varies (None if several or none)."""
    varying = [a for a in range(scale_full.ndim) if scale_full.shape[a] > 1 and not np.all(
        scale_full == np.take(scale_full, [0], axis=a))]
    return varying[0] if len(varying) == 1 else None
