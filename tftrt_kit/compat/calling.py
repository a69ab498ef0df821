"""How TF-TRT's converter API is called and calls back: input functions' elements as feeds, the converted function's arguments.

TF-TRT scripts pass ``calibration_input_fn``/``input_fn`` generators and call the
converted function with positional or keyword tensors; this module turns both into
tftrt_kit's ``{input name: array}`` feeds.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from tftrt_kit.errors import CalibrationError


def input_feeds(fn: Callable[[], Iterable[Any]], specs: tuple, what: str, same_rows: bool = True) -> list[dict[str, Any]]:
    """The elements ``fn()`` yields as ``{input name: array}``, validated against the signature.

    TF-TRT called the converted function with each element: a tuple or list holds the
    inputs positionally (flattened signature order, i.e. sorted by name), a dict by
    name, anything else is the single input.
    """
    from tftrt_kit.calibration_data import validate_calibration_data

    names = [s.name for s in specs]
    feeds = []
    for index, element in enumerate(fn()):
        if isinstance(element, dict):
            feeds.append(element)
        elif isinstance(element, (tuple, list)):
            if len(element) != len(names):
                raise ValueError(f"Expected {what} to yield {len(names)} input(s) {names}. Received: element {index} with {len(element)}.")
            feeds.append(dict(zip(names, element)))
        elif len(names) == 1:
            feeds.append({names[0]: element})
        else:
            raise ValueError(f"Expected {what} to yield a tuple or dict of the inputs {names}. Received: element {index} of type {type(element).__name__}.")
    try:
        return validate_calibration_data(feeds, specs, same_rows=same_rows)
    except CalibrationError as err:
        raise ValueError(f"Expected {what} to yield inputs matching the signature. Received: {err}") from err


class ConvertedFunction:
    """What ``convert()`` returns: the converted signature, called like TF-TRT's.

    Positional arguments are the inputs in signature order, keyword arguments by name;
    returns a dict of ``tf.Tensor``. Segments run on TensorRT where a plan and a GPU
    exist, else on ONNX Runtime; islands run in TensorFlow. The artifact loads on first call.
    """

    def __init__(self, converter: Any):
        """Wrap ``converter`` (a ``TrtGraphConverterV2`` whose ``convert()`` ran)."""
        self._converter = converter

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        import tensorflow as tf

        model = self._converter._runtime_model()
        names = [s.name for s in model.inputs]
        if len(args) > len(names):
            raise ValueError(f"Expected at most {len(names)} positional input(s) {names}. Received: {len(args)}.")
        feeds = {**dict(zip(names, (_numpy(a) for a in args))), **{k: _numpy(v) for k, v in kwargs.items()}}
        return {name: tf.constant(value) for name, value in model(feeds).items()}


def _numpy(value: Any) -> Any:
    return value.numpy() if hasattr(value, "numpy") else value
