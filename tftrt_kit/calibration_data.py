"""Check INT8 calibration data against a model's inputs and normalize it to batches.

Calibration data arrives in many forms (one array, a dict, a list, a
``tf.data.Dataset``, a generator); this module turns any of them into a list of
``{input name: array}`` batches, or raises a :class:`CalibrationError` naming the
input and the batch at fault. Quantizers then see one form only.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from tftrt_kit.dtypes import checked_array
from tftrt_kit.errors import CalibrationError
from tftrt_kit.source import TensorSpec

Batch = dict[str, np.ndarray]


def validate_calibration_data(
    data: Any, input_specs: Sequence[Any], *, max_batches: int | None = None, same_rows: bool = True
) -> list[Batch]:
    """Validate ``data`` against ``input_specs`` and return it as a list of batches.

    Args:
        data: One of
            - a numpy array (or tensor) for a single-input model: one batch;
            - a dict ``{input name: array}``: one batch;
            - a list or tuple of such arrays or dicts: one batch each;
            - a ``tf.data.Dataset``, generator or other iterable yielding arrays or
              dicts; Keras-style ``(features, labels)`` elements keep ``features``.
        input_specs: The model's inputs, as :class:`~tftrt_kit.source.TensorSpec`
            or ``(name, shape, dtype)`` tuples; ``None`` in a shape means any size.
        max_batches: Stop after this many batches (an endless generator needs it).
        same_rows: Require every input of a batch to have the same number of rows
            (calibration does; TF-TRT's ``build(input_fn)`` shapes need not).

    Returns:
        Batches ``{input name: array}`` with every model input, arrays cast to the
        input's dtype, all inputs of a batch with the same number of rows.

    Raises:
        CalibrationError: no data or no batch; a batch missing an input or holding
            an unknown one; an array that is ragged, of the wrong dtype kind, rank or
            static dimension, empty, or holding NaN or Inf. The message names the
            input and the batch.

    Example:
        >>> batches = validate_calibration_data(images, source.inputs)   # doctest: +SKIP
        >>> batches[0]["image"].shape                                    # doctest: +SKIP
        (32, 224, 224, 3)
    """
    specs = [_as_spec(s) for s in input_specs]
    names = [s.name for s in specs]
    if data is None:
        raise CalibrationError(f"Expected calibration data for inputs {names} (precision='int8' needs it). Received: None.")
    batches = [_batch(element, specs, index, same_rows) for index, element in enumerate(itertools.islice(_elements(data, specs), max_batches))]
    if not batches:
        raise CalibrationError(f"Expected at least one calibration batch for inputs {names}. Received: empty {type(data).__name__}.")
    return batches


def _as_spec(spec: Any) -> TensorSpec:
    if isinstance(spec, TensorSpec):
        return spec
    name, shape, dtype = spec
    return TensorSpec(str(name), str(dtype), tuple(shape))


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) or (hasattr(value, "shape") and hasattr(value, "dtype"))


def _elements(data: Any, specs: list[TensorSpec]) -> Iterable[Any]:
    """The batches of ``data``, unvalidated."""
    if _is_array(data) or isinstance(data, Mapping):
        return [data]
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise CalibrationError(
            "Expected calibration data as an array, a dict of arrays, a list of them, a tf.data.Dataset or a generator. "
            f"Received: {type(data).__name__}."
        )
    if hasattr(data, "as_numpy_iterator"):
        return data.as_numpy_iterator()
    if isinstance(data, list) and len(specs) == 1 and data and isinstance(data[0], (list, int, float)):
        # A plain nested list is one array for a single-input model, not a list of batches.
        return [data]
    return data


def _features(element: Any, specs: list[TensorSpec]) -> Any:
    """Drop labels (and sample weights) from a Keras-style ``(features, labels[, weights])`` element."""
    if isinstance(element, tuple) and len(element) in (2, 3) and (isinstance(element[0], Mapping) or len(specs) == 1):
        return element[0]
    return element


def _batch(element: Any, specs: list[TensorSpec], index: int, same_rows: bool = True) -> Batch:
    element = _features(element, specs)
    names = [s.name for s in specs]
    where = f"calibration batch {index}"
    if not isinstance(element, Mapping):
        if len(specs) != 1:
            raise CalibrationError(
                f"Expected a dict {{input name: array}} for the {len(specs)} inputs {names}. "
                f"Received: {where} of type {type(element).__name__}."
            )
        element = {specs[0].name: element}
    missing = [n for n in names if n not in element]
    extra = sorted(str(k) for k in element if k not in names)
    if missing or extra:
        raise CalibrationError(f"Expected calibration inputs {names}. Received: {where} missing {missing}, with unknown {extra}.")
    batch = {spec.name: _checked(spec, element[spec.name], where) for spec in specs}
    rows = {name: array.shape[0] for name, array in batch.items() if array.ndim}
    if same_rows and len(set(rows.values())) > 1:
        raise CalibrationError(f"Expected the same number of rows in every input of a batch. Received: {where} with rows {rows}.")
    return batch


def _checked(spec: TensorSpec, raw: Any, where: str) -> np.ndarray:
    cast = checked_array(spec, raw, CalibrationError, f" of {where}")
    if cast.dtype.kind == "f" or cast.dtype.name == "bfloat16":
        bad = int(cast.size - np.count_nonzero(np.isfinite(cast.astype(np.float64))))
        if bad:
            raise CalibrationError(
                f"Expected finite calibration values for input {spec.name!r}. Received: {where} with {bad} NaN or Inf "
                f"value(s) as {spec.dtype}; clean or drop those samples, they would set the quantization range."
            )
    return cast


#: Share of the calibration rows held out to judge INT8 accuracy, and the most rows held out.
HOLDOUT_SHARE, HOLDOUT_MAX_ROWS = 0.2, 32
#: Fewest calibration rows that can spare a held-out set (fewer: judged in-sample, and said).
HOLDOUT_MIN_ROWS = 5


@dataclasses.dataclass
class HoldoutSplit:
    """Calibration batches without the held-out rows, the held-out rows, and which rows they are."""

    calibration: list[Batch]
    held_out: Batch
    description: str


def split_holdout(batches: list[Batch]) -> HoldoutSplit:
    """Hold out the last rows of the calibration data to judge INT8 accuracy on rows that set no scale.

    Rows are counted across batches in order. The last ``min(32, rows // 5)`` rows are
    held out and the batches they came from shortened (a batch left empty is dropped);
    with fewer than 5 rows nothing can be spared: every row calibrates and judges, and
    the description says the verdict is in-sample.

    Args:
        batches: Validated batches (:func:`validate_calibration_data`).

    Returns:
        The :class:`HoldoutSplit`.

    Example:
        >>> split = split_holdout([{"x": np.zeros((100, 4), np.float32)}])
        >>> split.description
        'calibration_data rows 80-99 of 100, held out from calibration (which used rows 0-79)'
    """
    sizes = [next(iter(b.values())).shape[0] for b in batches]
    total = sum(sizes)
    if total < HOLDOUT_MIN_ROWS:
        rows = {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
        return HoldoutSplit(batches, rows, f"calibration_data rows 0-{total - 1} of {total}, in-sample: too few rows to hold any out (need {HOLDOUT_MIN_ROWS})")
    held = min(HOLDOUT_MAX_ROWS, int(total * HOLDOUT_SHARE))
    keep = total - held
    calibration, held_parts, start = [], [], 0
    for batch, size in zip(batches, sizes):
        cut = min(max(keep - start, 0), size)
        if cut:
            calibration.append({k: v[:cut] for k, v in batch.items()})
        if cut < size:
            held_parts.append({k: v[cut:] for k, v in batch.items()})
        start += size
    held_out = {k: np.concatenate([p[k] for p in held_parts]) for k in batches[0]}
    return HoldoutSplit(calibration, held_out, f"calibration_data rows {keep}-{total - 1} of {total}, held out from calibration (which used rows 0-{keep - 1})")
