"""Quantization-aware training (QAT): fine-tune a calibrated Q/DQ model.

The recipe TensorRT expects (NVIDIA's TensorFlow Quantization Toolkit does the same):

1. ``qmodel = quantize_model(model)`` then ``calibrate(qmodel, data)`` (PTQ first: QAT
   starts from good activation ranges).
2. Fine-tune for a few epochs at about 1% of the original learning rate. Gradients pass
   the quantizers straight through (TF QuantizeAndDequantizeV4: 1 inside [-amax, amax],
   0 outside; V3 on weights: identity).
3. Activation ``amax`` stays frozen at its calibrated value (non-trainable weights), so
   the exported ``QuantizeLinear`` scale is ``amax / 127`` as calibrated. Weight scales are
   recomputed from the kernel at each step (max |w| per output channel), exactly what
   TensorRT reads from the exported weight Q/DQ.

The same recipe with plain Keras::

    qmodel.compile(optimizer=keras.optimizers.Adam(1e-4), loss=loss, metrics=["accuracy"])
    qmodel.fit(x, y, epochs=2, batch_size=32)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tftrt_kit.errors import QuantizationError


@dataclasses.dataclass(frozen=True)
class QatOptions:
    """Fine-tuning hyper-parameters.

    Attributes:
        epochs: Passes over ``x``.
        learning_rate: Adam learning rate (about 1% of the FP32 training rate).
        batch_size: Batch size.
        shuffle: Shuffle each epoch.
    """

    epochs: int = 2
    learning_rate: float = 1e-4
    batch_size: int = 32
    shuffle: bool = True


def finetune(
    qmodel: Any,
    x: Any,
    y: Any,
    *,
    loss: Any,
    options: QatOptions = QatOptions(),
    metrics: tuple[Any, ...] = (),
    validation_data: Any = None,
    verbose: int = 0,
) -> Any:
    """Fine-tune a calibrated quantized model with straight-through gradients.

    Args:
        qmodel: A :func:`~tftrt_kit.quantize.quantize_model` result, already calibrated.
        x: Training inputs (anything ``keras.Model.fit`` takes).
        y: Training targets.
        loss: Keras loss (name or object), e.g.
            ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``.
        options: Epochs, learning rate, batch size.
        metrics: Keras metrics to track.
        validation_data: Passed to ``fit``.
        verbose: ``fit`` verbosity.

    Returns:
        The ``keras.callbacks.History`` of the fine-tuning.

    Raises:
        QuantizationError: a quantizer is uncalibrated (amax 0), or there are none.

    Example:
        >>> calibrate(qmodel, x_train[:512])                                   # doctest: +SKIP
        >>> finetune(qmodel, x_train, y_train, loss="sparse_categorical_crossentropy")  # doctest: +SKIP
    """
    import keras

    from tftrt_kit.quantize.model import input_quantizers

    quantizers = input_quantizers(qmodel)
    if not quantizers:
        raise QuantizationError(f"Expected a quantized model (see quantize_model). Received: {qmodel.name!r} without quantizers.")
    uncalibrated = [q.name for q in quantizers if float(q.amax.numpy()) <= 0.0]
    if uncalibrated:
        raise QuantizationError(
            f"Expected calibrated quantizers before QAT. Received: {len(uncalibrated)} with amax 0, "
            f"e.g. {uncalibrated[:5]}; run calibrate(qmodel, data) first."
        )
    qmodel.compile(optimizer=keras.optimizers.Adam(options.learning_rate), loss=loss, metrics=list(metrics))
    return qmodel.fit(
        x, y, epochs=options.epochs, batch_size=options.batch_size, shuffle=options.shuffle,
        validation_data=validation_data, verbose=verbose,
    )
