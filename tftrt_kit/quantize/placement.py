"""Where Q/DQ goes: TensorRT's placement rules, a :class:`QuantizationSpec`, ``quantize_model``.

TensorRT fuses ``DequantizeLinear`` into the op it feeds and ``QuantizeLinear`` into the op
before it, so Q/DQ marks the tensors that should be int8 (TensorRT developer guide, "Q/DQ
layer placement"; NVIDIA's TensorFlow Quantization Toolkit applies the same rules):

- Conv2D, DepthwiseConv2D, Conv2DTranspose, Dense: input per tensor, weights per output
  channel (:data:`~tftrt_kit.quantize.quantizers.KERNEL_RULES`).
- AveragePooling / GlobalAveragePooling: input per tensor (int8 pooling kernels).
- Not quantized by default: MaxPooling (precision-neutral, runs in whatever comes in),
  BatchNormalization (folded into the preceding conv), Add, Multiply, Concatenate.
- Residual Add: the branch produced by a conv (through BatchNormalization) fuses into that
  conv as its epilogue, so only the other (identity) input is quantized. When every input
  comes from a conv (projection shortcut), all but the last are quantized: TensorRT fuses
  one conv, the others then write int8.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from tftrt_kit.errors import QuantizationError

MODES = ("full", "partial")
#: Layer classes whose input is quantized by default (besides weighted layers).
POOLING_CLASSES = (
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
)
#: Layers a conv output passes through and still fuses into the conv (folded by TensorRT).
FOLDED_CLASSES = ("BatchNormalization",)
RESIDUAL = "residual"


@dataclasses.dataclass(frozen=True)
class LayerRule:
    """How to quantize the layers one rule matches.

    Attributes:
        target: A layer name, or a Keras class name (matches subclasses too).
        quantize_input: Quantize the layer's input(s).
        quantize_weights: Quantize the kernel per output channel; ``None`` means
            "if the layer has a kernel rule".
        input_indices: Which inputs of a multi-input layer (Add, Concatenate...) to
            quantize; ``None`` uses the default (residual rule for Add, all otherwise).
    """

    target: str
    quantize_input: bool = True
    quantize_weights: bool | None = None
    input_indices: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True)
class QuantizationSpec:
    """Layers to add to (or in ``"partial"`` mode, the only layers of) quantization, and layers to skip.

    Attributes:
        rules: Per-layer or per-class rules; a name rule wins over a class rule.
        exclude: Layer names or class names never quantized (inputs or weights).

    Example:
        >>> spec = (QuantizationSpec()                          # doctest: +SKIP
        ...         .add("Concatenate")                        # quantize every Concatenate input
        ...         .add("logits", quantize_input=False)       # weights only
        ...         .without("stem_conv"))                     # keep the first conv in float
    """

    rules: tuple[LayerRule, ...] = ()
    exclude: tuple[str, ...] = ()

    def add(
        self,
        target: str | type,
        *,
        quantize_input: bool = True,
        quantize_weights: bool | None = None,
        input_indices: Sequence[int] | None = None,
    ) -> "QuantizationSpec":
        """A copy of this spec with one more :class:`LayerRule` (``target``: name, class or class name)."""
        rule = LayerRule(
            _target_name(target), quantize_input, quantize_weights,
            None if input_indices is None else tuple(int(i) for i in input_indices),
        )
        return dataclasses.replace(self, rules=self.rules + (rule,))

    def without(self, *targets: str | type) -> "QuantizationSpec":
        """A copy of this spec that also excludes ``targets`` (names, classes or class names)."""
        return dataclasses.replace(self, exclude=self.exclude + tuple(_target_name(t) for t in targets))


@dataclasses.dataclass(frozen=True)
class Placement:
    """The resolved decision for one layer: input indices (or :data:`RESIDUAL`) and weights."""

    inputs: tuple[int, ...] | str
    weights: bool


def _target_name(target: str | type) -> str:
    return target if isinstance(target, str) else target.__name__


def _class_names(layer: Any) -> set[str]:
    return {cls.__name__ for cls in type(layer).__mro__}


def _default_inputs(layer: Any) -> tuple[int, ...] | str:
    return RESIDUAL if "Add" in _class_names(layer) else ()


class Planner:
    """Resolves a :class:`Placement` per layer from the default rules, a spec and a mode."""

    def __init__(self, spec: QuantizationSpec, mode: str):
        from tftrt_kit.quantize.quantizers import kernel_rule

        if mode not in MODES:
            raise QuantizationError(f"Expected mode in {MODES}. Received: mode={mode!r}")
        if mode == "partial" and not spec.rules:
            raise QuantizationError(
                "Expected a QuantizationSpec with rules in mode='partial' (only named layers are "
                "quantized). Received: spec with no rules; use spec.add('layer_name')."
            )
        self.spec, self.mode, self._kernel_rule = spec, mode, kernel_rule

    def check_targets(self, layers: Sequence[Any]) -> None:
        """Raise if a spec rule or exclusion names a layer the model does not have."""
        names = {layer.name for layer in layers}
        classes = set().union(*(_class_names(layer) for layer in layers)) if layers else set()
        targets = [r.target for r in self.spec.rules] + list(self.spec.exclude)
        unknown = sorted({t for t in targets if t not in names and t not in classes})
        if unknown:
            raise QuantizationError(
                "Expected QuantizationSpec targets to be layer names or layer classes of the model. "
                f"Received: {unknown}; the model's layers are {sorted(names)[:30]}."
            )

    def _rule(self, layer: Any) -> LayerRule | None:
        by_name = [r for r in self.spec.rules if r.target == layer.name]
        if by_name:
            return by_name[-1]
        by_class = [r for r in self.spec.rules if r.target in _class_names(layer)]
        return by_class[-1] if by_class else None

    def placement(self, layer: Any) -> Placement | None:
        """What to quantize in ``layer`` (``None``: leave it alone).

        Raises:
            QuantizationError: a rule asks for weight quantization of a layer without a kernel rule.
        """
        if layer.name in self.spec.exclude or _class_names(layer) & set(self.spec.exclude):
            return None
        weighted = self._kernel_rule(layer) is not None
        rule = self._rule(layer)
        if rule is None:
            if self.mode == "partial":
                return None
            if weighted:
                return Placement((0,), True)
            if _class_names(layer) & set(POOLING_CLASSES):
                return Placement((0,), False)
            default = _default_inputs(layer)
            return Placement(default, False) if default else None
        if rule.quantize_weights and not weighted:
            raise QuantizationError(
                "Expected weight quantization only on Conv2D, DepthwiseConv2D, Conv2DTranspose or Dense "
                f"layers. Received: rule for {rule.target!r} with quantize_weights=True on layer "
                f"{layer.name!r} of type {type(layer).__name__}."
            )
        weights = weighted if rule.quantize_weights is None else rule.quantize_weights
        if not rule.quantize_input:
            inputs: tuple[int, ...] | str = ()
        elif rule.input_indices is not None:
            inputs = rule.input_indices
        else:
            inputs = _default_inputs(layer) or "all"
        if inputs == () and not weights:
            return None
        return Placement(inputs, weights)


def residual_indices(tensors: Sequence[Any]) -> tuple[int, ...]:
    """Inputs of an Add to quantize: those not produced by a fusable conv (see module doc)."""
    fused = [_from_fusable_conv(t) for t in tensors]
    if not any(fused):
        return ()
    if all(fused):
        return tuple(range(len(tensors) - 1))
    return tuple(i for i, f in enumerate(fused) if not f)


def _from_fusable_conv(tensor: Any) -> bool:
    from tftrt_kit.quantize.quantizers import WeightQuantizeWrapper, kernel_rule

    history = getattr(tensor, "_keras_history", None)
    while history is not None:
        layer = history[0]
        if _class_names(layer) & set(FOLDED_CLASSES):
            node = layer._inbound_nodes[history[1]]
            history = getattr(node.input_tensors[0], "_keras_history", None)
            continue
        inner = layer.layer if isinstance(layer, WeightQuantizeWrapper) else layer
        if kernel_rule(inner) is None:
            return False
        activation = getattr(inner.activation, "__name__", "linear")
        return activation == "linear"
    return False
