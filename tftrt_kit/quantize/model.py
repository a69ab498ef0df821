"""``quantize_model``: a Keras 3 Functional or Sequential model with TensorRT-placed Q/DQ."""

from __future__ import annotations

from typing import Any

from tftrt_kit.errors import QuantizationError
from tftrt_kit.quantize.placement import RESIDUAL, Placement, Planner, QuantizationSpec, residual_indices


def quantize_model(
    model: Any,
    spec: QuantizationSpec | None = None,
    mode: str = "full",
    *,
    amax_trainable: bool = False,
) -> Any:
    """A copy of ``model`` with int8 Q/DQ quantizers placed by TensorRT's rules.

    Weighted layers (Conv2D, DepthwiseConv2D, Conv2DTranspose, Dense) are wrapped in a
    :class:`~tftrt_kit.quantize.quantizers.WeightQuantizeWrapper` of the same name
    (per-channel weight Q/DQ) and get a
    :class:`~tftrt_kit.quantize.quantizers.TensorQuantizer` named
    ``<layer>_input_quantizer`` on their input (``<layer>_input<i>_quantizer`` for a
    multi-input layer). A tensor feeding several quantized layers is quantized once.
    Weights are copied: training the result leaves ``model`` untouched. Activation
    quantizers start uncalibrated (``amax = 0``): run :func:`~tftrt_kit.quantize.calibrate`.

    Args:
        model: A built Keras 3 Functional or Sequential model. Layers inside a nested
            sub-model are copied unquantized.
        spec: Extra rules and exclusions (see :class:`QuantizationSpec`).
        mode: ``"full"``: every eligible layer plus ``spec`` rules; ``"partial"``: only the
            layers ``spec`` names.
        amax_trainable: Make activation ``amax`` trainable during QAT (default frozen).

    Returns:
        A new ``keras.Model``.

    Raises:
        QuantizationError: the model is subclassed or unbuilt, the mode is unknown,
            ``spec`` names a missing layer or asks for weights of a layer without a
            kernel, or nothing in the model is quantizable.

    Example:
        >>> qmodel = quantize_model(model)                       # doctest: +SKIP
        >>> calibrate(qmodel, x_calib, method="entropy")         # doctest: +SKIP
    """
    import keras

    from tftrt_kit.quantize.quantizers import TensorQuantizer, WeightQuantizeWrapper

    functional = _as_functional(model)
    planner = Planner(spec or QuantizationSpec(), mode)
    planner.check_targets(functional.layers)
    plans: dict[str, Placement | None] = {}
    copies: list[tuple[Any, Any]] = []
    quantized: dict[int, Any] = {}

    def clone(layer: Any) -> Any:
        new = layer.__class__.from_config(layer.get_config())
        copies.append((layer, new))
        plan = plans[layer.name] = planner.placement(layer)
        return WeightQuantizeWrapper(new) if plan is not None and plan.weights else new

    def quantize(tensor: Any, name: str) -> Any:
        if id(tensor) not in quantized:
            quantized[id(tensor)] = TensorQuantizer(amax_trainable=amax_trainable, name=name)(tensor)
        return quantized[id(tensor)]

    def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
        plan = plans.get(layer.name)
        if plan is not None and plan.inputs and args:
            args = (_quantize_inputs(layer.name, plan, args[0], quantize),) + args[1:]
        return layer(*args, **kwargs)

    try:
        qmodel = keras.models.clone_model(functional, clone_function=clone, call_function=call)
    except QuantizationError:
        raise
    except Exception as err:
        raise QuantizationError(
            f"Expected a model Keras can clone layer by layer. Received: model={model.name!r}, "
            f"whose cloning failed: {type(err).__name__}: {err}"
        ) from err
    for old, new in copies:
        new.set_weights(old.get_weights())
    if not any(isinstance(l, (TensorQuantizer, WeightQuantizeWrapper)) for l in qmodel.layers):
        raise QuantizationError(
            f"Expected at least one layer to quantize. Received: model={model.name!r} (mode={mode!r}) "
            "with no Conv2D, DepthwiseConv2D, Conv2DTranspose, Dense, average pooling or residual Add "
            "selected; add layers with QuantizationSpec.add()."
        )
    return qmodel


def _quantize_inputs(name: str, plan: Placement, inputs: Any, quantize: Any) -> Any:
    if isinstance(inputs, (list, tuple)):
        if plan.inputs == RESIDUAL:
            indices = residual_indices(inputs)
        elif plan.inputs == "all":
            indices = tuple(range(len(inputs)))
        else:
            indices = plan.inputs
        bad = [i for i in indices if not 0 <= i < len(inputs)]
        if bad:
            raise QuantizationError(
                f"Expected input indices below {len(inputs)} for layer {name!r}. Received: input_indices={list(indices)}."
            )
        chosen = set(indices)
        return type(inputs)(
            quantize(t, f"{name}_input{i}_quantizer") if i in chosen else t for i, t in enumerate(inputs)
        )
    if plan.inputs in ("all", RESIDUAL) or 0 in plan.inputs:
        return quantize(inputs, f"{name}_input_quantizer")
    return inputs


def _as_functional(model: Any) -> Any:
    import keras
    from keras.src.models.functional import Functional  # Sequential is a subclass too in Keras 3

    if isinstance(model, keras.Sequential):
        try:
            return keras.Model(model.inputs, model.outputs, name=model.name)
        except Exception as err:
            raise QuantizationError(
                f"Expected a built Sequential model (start it with keras.Input). Received: model={model.name!r}, "
                f"which has no inputs yet: {err}"
            ) from err
    if not isinstance(model, Functional):
        raise QuantizationError(
            "Expected a Keras 3 Functional or Sequential model; subclassed models have no layer graph to "
            f"place Q/DQ in. Received: {type(model).__name__} {getattr(model, 'name', '')!r}."
        )
    return model


def input_quantizers(qmodel: Any) -> list[Any]:
    """The activation :class:`~tftrt_kit.quantize.quantizers.TensorQuantizer` layers of ``qmodel``, in graph order."""
    from tftrt_kit.quantize.quantizers import TensorQuantizer

    return [layer for layer in qmodel.layers if isinstance(layer, TensorQuantizer)]
