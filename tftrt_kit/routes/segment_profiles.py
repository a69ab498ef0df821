"""Each segment's optimization profiles, from the shapes its boundary tensors take in the source.

A segment's inputs are tensors inside the model, so their sizes follow from the
model's inputs: TF-TRT recorded them while ``build(input_fn)`` ran the graph. Here
the frozen graph runs once at the min, the opt and the max shapes of every model
profile, and each boundary tensor gets min = the elementwise min of what it took,
opt = its shape at the opt inputs, max = the elementwise max. A dim that depends on
the data rather than on the input shapes (the rows ``tf.where`` keeps, say) is found
by running the max inputs again on other values: where the two runs differ, the
profile spans from 0 to the larger of twice the largest size seen and the largest
dim of any model input at its max (the bound of a mask over the batch, say), and
the report says so. A boundary tensor TensorRT may read as a shape (int32/int64, at
most one dim of at most 8 elements) also gets the VALUES it took (min, opt, max
elementwise, the probe run included); the builder uses them for the inputs the
parsed network marks ``is_shape_tensor``. Model inputs given values
(``shapes={"dims": {"values": ...}}``) are fed those values at each bound.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from tftrt_kit.dtypes import FLOATS, numpy_dtype
from tftrt_kit.profiles import Profile, ProfilePlan
from tftrt_kit.routes.segment_partition import source_function

#: Seeds of the generated inputs: one per bound, and one more to find data-dependent dims.
_SEED, _PROBE_SEED = 11, 12
#: Most elements of a shape tensor (TensorRT's largest rank).
_MAX_SHAPE_VALUES = 8


def segment_profiles(
    source: Any, segments: Sequence[Any], plan: ProfilePlan, sample_data: Mapping[str, np.ndarray] | None = None
) -> tuple[dict[str, list[Profile]], list[str], dict[str, list[Profile]]]:
    """Profiles of every segment over its input tensors, one per model profile.

    Args:
        source: The :class:`~tftrt_kit.source.Source` (its frozen graph is run, reading its variables).
        segments: The segments (``name``, ``inputs`` as graph tensor names).
        plan: The model's profiles. A static model has none: its segments get one
            fixed profile (tf2onnx leaves a segment's batch dim dynamic even then). A dim
            with no size (``plan.missing``) gives no segment a profile.
        sample_data: User inputs; used at a bound whose shapes they have, so the
            data-dependent sizes come from real data there.

    Returns:
        ``({segment: [profile, ...]}, notes, {segment: [values, ...]})``: the notes name
        each data-dependent dim; the values (same index as the profiles) are those of the
        boundary tensors that may be shape tensors.
    """
    if plan.missing or not segments:
        return {}, [], {}
    model_profiles = plan.profiles or ({s.name: (tuple(s.shape),) * 3 for s in source.inputs},)
    tensors = sorted({t for seg in segments for t in seg.inputs})
    run = source_function(source, tensors)
    # Segments reading only model inputs: nothing runs, and a float input's values are never read.
    shapes_only = set(tensors) <= set(source.input_tensors)
    per_model: list[dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]] = []
    per_model_values: list[Profile] = []
    notes: list[str] = []
    for index, profile in enumerate(model_profiles):
        widest = max((d for _, _, high in profile.values() for d in high), default=1)
        given = plan.values[index] if index < len(plan.values) else {}
        seen_values = [run(_feeds(source, profile, bound, _SEED, sample_data, given, shapes_only)) for bound in range(3)]
        probe_values = run(_feeds(source, profile, 2, _PROBE_SEED, None, given, shapes_only))
        per_model_values.append(_value_ranges(tensors, seen_values, probe_values))
        seen = [_shapes(v) for v in seen_values]
        probe = _shapes(probe_values)
        ranges = {}
        for tensor in tensors:
            shapes = [s[tensor] for s in seen]
            low = tuple(min(d) for d in zip(*shapes))
            high = tuple(max(d) for d in zip(*shapes))
            varying = [i for i, (a, b) in enumerate(zip(probe[tensor], shapes[2])) if a != b]
            if varying:
                low = tuple(0 if i in varying else d for i, d in enumerate(low))
                high = tuple(max(2 * d, 2 * probe[tensor][i], widest) if i in varying else d for i, d in enumerate(high))
                notes.append(f"profile {index}: {tensor} dim(s) {varying} depend on the data; profile spans {list(low)}..{list(high)}")
            ranges[tensor] = (low, shapes[1], high)
        per_model.append(ranges)
    profiles = {seg.name: [{t: ranges[t] for t in seg.inputs} for ranges in per_model] for seg in segments}
    values = {seg.name: [{t: v[t] for t in seg.inputs if t in v} for v in per_model_values] for seg in segments}
    return profiles, notes, values


def _shapes(values: Mapping[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    return {name: tuple(int(d) for d in np.shape(value)) for name, value in values.items()}


def _value_ranges(tensors: Sequence[str], seen: Sequence[Mapping[str, np.ndarray]], probe: Mapping[str, np.ndarray]) -> Profile:
    """(min, opt, max) values of each tensor that may be a shape tensor, over the runs at min, opt, max and the probe."""
    ranges: Profile = {}
    for tensor in tensors:
        runs = [r[tensor] for r in (*seen, probe)]
        if any(a.dtype not in (np.int32, np.int64) or a.ndim > 1 or a.size > _MAX_SHAPE_VALUES or a.size != runs[0].size for a in runs):
            continue
        flat = [tuple(int(v) for v in a.ravel()) for a in runs]
        ranges[tensor] = (tuple(map(min, zip(*flat))), flat[1], tuple(map(max, zip(*flat))))
    return ranges


def observed_shapes(source: Any, tensors: Sequence[str], feeds: Sequence[Mapping[str, np.ndarray]]) -> list[dict[str, tuple[int, ...]]]:
    """The shape each of ``tensors`` takes when the source graph runs on each of ``feeds`` (TF-TRT's ``build()`` record)."""
    if not tensors:
        return [{} for _ in feeds]
    run = source_function(source, tensors)
    return [_shapes(run(f)) for f in feeds]


def _feeds(
    source: Any,
    profile: Profile,
    bound: int,
    seed: int,
    sample_data: Mapping[str, np.ndarray] | None,
    values: Profile | None = None,
    shapes_only: bool = False,
) -> dict[str, np.ndarray]:
    """Inputs at one bound of ``profile``; a model input given shape-tensor ``values`` takes that bound's values.

    With ``shapes_only`` (no graph runs on them) floating inputs are zeros, not generated.
    """
    from tftrt_kit.evaluate import sample_inputs

    shapes = {name: triple[bound] for name, triple in profile.items()}
    if sample_data and all(tuple(np.shape(sample_data.get(n))) == tuple(s) for n, s in shapes.items()):
        feeds = dict(sample_data)
    else:
        floats = {s.name: s.dtype for s in source.inputs if shapes_only and s.dtype in FLOATS}
        feeds = {name: np.zeros(shapes[name], numpy_dtype(dtype)) for name, dtype in floats.items()}
        feeds.update(sample_inputs([s for s in source.inputs if s.name not in floats], seed=seed + bound, shapes=shapes))
    dtypes = {spec.name: spec.dtype for spec in source.inputs}
    for name, triple in (values or {}).items():
        feeds[name] = np.asarray(triple[bound], dtype=dtypes[name]).reshape(shapes[name])
    return feeds
