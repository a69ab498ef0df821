"""TensorRT's Q/DQ placement rules, one tiny model per rule (Keras graph only, no export)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tftrt_kit.errors import QuantizationError
from tftrt_kit.quantize import QuantizationSpec, TensorQuantizer, WeightQuantizeWrapper, quantize_model

L = keras.layers


def _quantized_inputs(qmodel, name):
    """Indices of ``name``'s inputs that come straight from a TensorQuantizer."""
    inputs = qmodel.get_layer(name).input
    inputs = inputs if isinstance(inputs, list) else [inputs]
    return [i for i, t in enumerate(inputs) if isinstance(t._keras_history[0], TensorQuantizer)]


def _weights_quantized(qmodel, name):
    return isinstance(qmodel.get_layer(name), WeightQuantizeWrapper)


def _model(layer_fn, shape=(8, 8, 3)):
    inputs = keras.Input(shape)
    return keras.Model(inputs, layer_fn(inputs))


@pytest.mark.parametrize(
    "layer",
    [
        L.Conv2D(4, 3, name="op"),
        L.DepthwiseConv2D(3, name="op"),
        L.DepthwiseConv2D(3, depth_multiplier=2, name="op"),
        L.Conv2DTranspose(4, 3, strides=2, name="op"),
        L.Dense(5, name="op"),
    ],
    ids=["Conv2D", "DepthwiseConv2D", "DepthwiseConv2D_mult2", "Conv2DTranspose", "Dense"],
)
def test_weighted_layer_gets_input_and_per_channel_weight_quantizers(layer):
    qmodel = quantize_model(_model(layer))
    assert _quantized_inputs(qmodel, "op") == [0]
    assert _weights_quantized(qmodel, "op")


@pytest.mark.parametrize("pool", [L.AveragePooling2D(2, name="op"), L.GlobalAveragePooling2D(name="op")], ids=["AvgPool", "GAP"])
def test_average_pooling_input_is_quantized(pool):
    qmodel = quantize_model(_model(lambda x: L.Dense(2)(pool(x))))
    assert _quantized_inputs(qmodel, "op") == [0]
    assert not _weights_quantized(qmodel, "op")


def test_max_pooling_and_batch_norm_are_not_quantized():
    def body(x):
        x = L.Conv2D(4, 3, name="conv")(x)
        x = L.BatchNormalization(name="bn")(x)
        return L.MaxPooling2D(name="pool")(x)

    qmodel = quantize_model(_model(body))
    assert _quantized_inputs(qmodel, "bn") == [] and _quantized_inputs(qmodel, "pool") == []
    assert isinstance(qmodel.get_layer("bn"), L.BatchNormalization)
    assert sum(isinstance(l, TensorQuantizer) for l in qmodel.layers) == 1


def test_residual_add_quantizes_only_the_identity_branch():
    def body(x):
        x = L.ReLU(name="relu")(L.Conv2D(4, 3, padding="same", name="c0")(x))
        y = L.BatchNormalization(name="bn")(L.Conv2D(4, 3, padding="same", name="c1")(x))
        return L.Add(name="add")([x, y])

    qmodel = quantize_model(_model(body))
    assert _quantized_inputs(qmodel, "add") == [0]
    # The identity tensor also feeds c1: both read the same quantizer (one Q/DQ pair).
    assert qmodel.get_layer("add").input[0] is qmodel.get_layer("c1").input


def test_projection_add_quantizes_all_but_the_last_conv_branch():
    def body(x):
        a = L.BatchNormalization()(L.Conv2D(4, 1, name="shortcut")(x))
        b = L.BatchNormalization()(L.Conv2D(4, 1, name="main")(x))
        return L.Add(name="add")([a, b])

    assert _quantized_inputs(quantize_model(_model(body)), "add") == [0]


def test_add_without_conv_branch_and_conv_with_activation():
    def body(x):
        a = L.ReLU()(x)
        b = L.Conv2D(3, 1, activation="relu", name="conv_relu")(x)  # ReLU output does not fuse as Conv+Add
        d = L.Conv2D(3, 1, name="conv_linear")(x)
        c = L.Add(name="add_plain")([x, a])
        return L.Add(name="add_act")([b, d, c])

    qmodel = quantize_model(_model(body))
    assert _quantized_inputs(qmodel, "add_plain") == []
    assert _quantized_inputs(qmodel, "add_act") == [0, 2]


def _two_convs(x):
    x = L.Conv2D(4, 3, name="first")(x)
    x = L.Conv2D(4, 3, name="second")(x)
    return L.Dense(2, name="head")(L.Concatenate(name="cat")([x, x]))


def test_spec_excludes_by_name_and_by_class():
    model = _model(_two_convs)
    by_name = quantize_model(model, QuantizationSpec().without("first"))
    assert not _weights_quantized(by_name, "first") and _quantized_inputs(by_name, "first") == []
    assert _weights_quantized(by_name, "second")
    by_class = quantize_model(model, QuantizationSpec().without(L.Conv2D))
    assert not _weights_quantized(by_class, "first") and not _weights_quantized(by_class, "second")
    assert _weights_quantized(by_class, "head")


def test_spec_adds_layers_and_chooses_input_or_weights():
    model = _model(_two_convs)
    spec = QuantizationSpec().add("Concatenate").add("second", quantize_input=False).add("head", quantize_weights=False)
    qmodel = quantize_model(model, spec)
    assert _quantized_inputs(qmodel, "cat") == [0, 1]
    assert _quantized_inputs(qmodel, "second") == [] and _weights_quantized(qmodel, "second")
    assert _quantized_inputs(qmodel, "head") == [0] and not _weights_quantized(qmodel, "head")
    only_second_input = quantize_model(model, QuantizationSpec().add(L.Concatenate, input_indices=[1]))
    assert _quantized_inputs(only_second_input, "cat") == [1]


def test_partial_mode_quantizes_only_named_layers():
    qmodel = quantize_model(_model(_two_convs), QuantizationSpec().add("second"), mode="partial")
    assert _weights_quantized(qmodel, "second") and _quantized_inputs(qmodel, "second") == [0]
    assert not _weights_quantized(qmodel, "first") and not _weights_quantized(qmodel, "head")
    assert _quantized_inputs(qmodel, "head") == [] and _quantized_inputs(qmodel, "cat") == []


def test_sequential_model_is_quantized_and_weights_are_copied():
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, name="d1"), L.Dense(2, name="d2")])
    qmodel = quantize_model(model)
    assert _weights_quantized(qmodel, "d1") and _weights_quantized(qmodel, "d2")
    np.testing.assert_array_equal(qmodel.get_layer("d1").layer.kernel.numpy(), model.get_layer("d1").kernel.numpy())
    qmodel.get_layer("d1").layer.kernel.assign(np.zeros((4, 3), "float32"))
    assert np.any(model.get_layer("d1").kernel.numpy() != 0), "the original model must not share variables"


@pytest.mark.parametrize(
    "spec, mode, match",
    [
        (QuantizationSpec().add("nope"), "full", "nope"),
        (QuantizationSpec().add("pool", quantize_weights=True), "full", "quantize_weights"),
        (QuantizationSpec(), "partial", "partial"),
        (None, "half", "mode"),
        (QuantizationSpec().without("conv"), "full", "at least one layer"),
    ],
    ids=["unknown-name", "weights-on-pool", "partial-without-rules", "bad-mode", "nothing-left"],
)
def test_bad_specs_raise_quantization_error(spec, mode, match):
    model = _model(lambda x: L.MaxPooling2D(name="pool")(L.Conv2D(2, 3, name="conv")(x)))
    with pytest.raises(QuantizationError, match=match):
        quantize_model(model, spec, mode)


def test_subclassed_model_is_refused():
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(QuantizationError, match="Functional or Sequential"):
        quantize_model(Tiny())
