"""Optimization profiles: the min/opt/max shape of every input TensorRT builds a plan for.

TensorRT needs, for each dynamic dimension of each input, the smallest, the most
frequent and the largest size the plan will see (``trtexec --minShapes/--optShapes/
--maxShapes``); a plan may hold several such profiles and each call runs in one that
fits it. This module turns what a user gives (``convert(shapes=...)``, the CLI flags,
``sample_data``) into profiles, checks them against the model's input specs, and
says which dynamic dimension is left without a size (no plan is built then, and
the report says so).

A profile is a plain dict ``{input name: (min_shape, opt_shape, max_shape)}`` of
int tuples: the builder's interface. Pure data and numpy-free: nothing heavy is
imported.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping, Sequence

from tftrt_kit.errors import ConfigError

Shape = tuple[int, ...]
#: ``{input name: (min_shape, opt_shape, max_shape)}``.
Profile = dict[str, tuple[Shape, Shape, Shape]]

#: Batch sizes (min, opt, max) of a dynamic leading dimension nobody gave a size for.
DEFAULT_BATCH: tuple[int, int, int] = (1, 8, 32)

_KEYS = ("min", "opt", "max")


@dataclasses.dataclass(frozen=True)
class ProfilePlan:
    """The profiles plans are built with, where they came from, and what is missing.

    Attributes:
        profiles: Optimization profiles over every input (empty when no input has a
            dynamic dimension, or when a dimension has no size: see ``missing``).
        origin: Where the sizes came from: ``"shapes="``, ``"default"`` (batch
            1/8/32), ``"sample_data"`` or ``"static"``.
        missing: Each dynamic dimension with no size, as ``"input 'ids' dim 1"``;
            no plan can be built while one is missing.
        example: A ``shapes=`` value the user could pass to fill ``missing``.
        values: Per profile (same index), the (min, opt, max) VALUES of the shape-tensor
            inputs the user gave them for (``shapes={"dims": {"values": ...}}``): TensorRT
            sizes other tensors from them. Empty when none was given.
    """

    profiles: tuple[Profile, ...] = ()
    origin: str = "static"
    missing: tuple[str, ...] = ()
    example: str | None = None
    values: tuple[Profile, ...] = ()

    @property
    def buildable(self) -> bool:
        """Whether every dynamic dimension has a size (a plan can be built)."""
        return not self.missing

    @property
    def no_plan_reason(self) -> str | None:
        """Why no plan is built (``"pass shapes=..."``, shown after ``no plan:``), or None when one can be."""
        if not self.missing:
            return None
        return (
            f"pass shapes={self.example} (or --min-shapes/--opt-shapes/--max-shapes): "
            f"TensorRT needs min/opt/max sizes for {', '.join(self.missing)}"
        )

    def opt_shapes(self) -> dict[str, Shape]:
        """The opt shape of every input in the first profile (what evaluation runs at)."""
        return {name: shapes[1] for name, shapes in self.profiles[0].items()} if self.profiles else {}

    def opt_values(self) -> dict[str, Shape]:
        """The opt values of every shape-tensor input given values, in the first profile."""
        return {name: values[1] for name, values in self.values[0].items()} if self.values else {}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (profiles as ``{name: {"min": [...], "opt": [...], "max": [...]}}``, as plans record them)."""
        return {
            "profiles": profiles_to_json(self.profiles),
            "origin": self.origin,
            "missing": list(self.missing),
            "example": self.example,
            "values": profiles_to_json(self.values),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ProfilePlan":
        """Inverse of :meth:`to_dict`."""
        return cls(
            profiles=tuple(profiles_from_json(data.get("profiles") or [])),
            origin=str(data.get("origin", "static")),
            missing=tuple(data.get("missing") or ()),
            example=data.get("example"),
            values=tuple(profiles_from_json(data.get("values") or [])),
        )


def profiles_to_json(profiles: Iterable[Profile]) -> list[dict[str, dict[str, list[int]]]]:
    """Profiles as JSON-ready dicts ``{name: {"min": [...], "opt": [...], "max": [...]}}`` (a plan's ``TensorRTCheck.profiles``)."""
    return [{name: {key: list(shape) for key, shape in zip(_KEYS, shapes)} for name, shapes in p.items()} for p in profiles]


def profiles_from_json(data: Iterable[Mapping[str, Any]]) -> list[Profile]:
    """Inverse of :func:`profiles_to_json`."""
    return [{name: tuple(tuple(int(d) for d in entry[key]) for key in _KEYS) for name, entry in p.items()} for p in data]


def format_profile(profile: Profile) -> str:
    """One line per profile, as trtexec spells shapes: ``ids: 1x8 / 8x128 / 32x512``."""
    return "; ".join(f"{name}: {' / '.join(_dims(s) for s in shapes)}" for name, shapes in profile.items())


def format_values(values: Profile) -> str:
    """Shape-tensor values of one profile: ``dims: [1, 4] / [2, 8] / [4, 16]``."""
    return "; ".join(f"{name}: {' / '.join(str(list(v)) for v in triple)}" for name, triple in values.items())


def _dims(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape) if len(shape) else "scalar"


def fits(profile: Profile, shapes: Mapping[str, Sequence[int]]) -> bool:
    """Whether every shape in ``shapes`` lies within ``profile`` (inputs it does not name are ignored)."""
    for name, shape in shapes.items():
        if name not in profile:
            continue
        low, _, high = profile[name]
        if len(shape) != len(low) or any(not lo <= d <= hi for lo, d, hi in zip(low, shape, high)):
            return False
    return True


def resolve_profiles(
    specs: Sequence[Any],
    shapes: Any = None,
    sample_data: Mapping[str, Any] | None = None,
    batch: tuple[int, int, int] = DEFAULT_BATCH,
) -> ProfilePlan:
    """The optimization profiles of a model with input ``specs``.

    Each profile gives every input its min/opt/max shape. An input ``shapes`` does
    not name takes its static dims, the profile's batch for a dynamic leading dim
    (the batch the named inputs use, else ``batch``) and ``sample_data``'s size for
    any other dynamic dim; a dim left without a size is reported in ``missing``.

    Args:
        specs: Input specs (``name``, ``dtype``, ``shape`` with None for dynamic).
        shapes: ``{input: {"min": shape, "opt": shape, "max": shape}}`` (or a single
            shape for min = opt = max), a list of such dicts (one profile each), or None.
            An int32/int64 input of static shape ``[n]`` or ``[]`` that the model uses as
            a shape (a shape tensor to TensorRT) takes its VALUES under ``"values"``:
            ``{"dims": {"values": {"min": (1, 4), "opt": (2, 8), "max": (4, 16)}}}`` (or
            one sequence of values for min = opt = max), beside or instead of its shapes.
        sample_data: ``{input: array}``; sizes of dynamic non-batch dims, and the
            batch's max is raised to hold its batch.
        batch: Default ``(min, opt, max)`` of a dynamic leading dimension.

    Returns:
        The :class:`ProfilePlan`.

    Raises:
        ConfigError: ``shapes`` names an unknown input, gives a shape of the wrong
            rank, contradicts a static dimension, is not ``min <= opt <= max``, or is
            not built of positive ints, or gives ``values`` to an input that cannot be a
            shape tensor or of the wrong count; the message names the input.

    Example:
        >>> from tftrt_kit.source import TensorSpec
        >>> plan = resolve_profiles([TensorSpec("ids", "int32", (None, None))],
        ...                         {"ids": {"min": (1, 8), "opt": (8, 128), "max": (32, 512)}})
        >>> plan.profiles[0]["ids"]
        ((1, 8), (8, 128), (32, 512))
    """
    specs = list(specs)
    dynamic = [s for s in specs if s.shape is None or any(d is None for d in s.shape)]
    given = _as_profiles(shapes)
    if not dynamic and not given:
        return ProfilePlan()
    names = [s.name for s in specs]
    profiles, missing, all_values = [], [], []
    sample_shapes = {k: tuple(int(d) for d in getattr(v, "shape", ())) for k, v in (sample_data or {}).items()}
    for index, user in enumerate(given or [{}]):
        where = f"shapes[{index}]" if isinstance(shapes, (list, tuple)) else "shapes"
        unknown = sorted(str(k) for k in user if k not in names)
        if unknown:
            raise ConfigError(f"Expected {where} to name inputs among {names}. Received: unknown input(s) {unknown}.")
        values = {spec.name: _parse_values(spec, user[spec.name]["values"], where) for spec in specs if _has_values(user.get(spec.name))}
        shaped = {name: _without_values(entry) for name, entry in user.items()}
        parsed = {name: _parse_entry(spec, shaped[name], where) for spec in specs for name in [spec.name] if shaped.get(name) is not None}
        profile_batch = _profile_batch(specs, parsed, batch, sample_shapes)
        profile: Profile = {}
        for spec in specs:
            if spec.name in parsed:
                profile[spec.name] = parsed[spec.name]
                continue
            entry, lacking = _default_entry(spec, profile_batch, sample_shapes.get(spec.name))
            missing += [m for m in lacking if m not in missing]
            profile[spec.name] = entry
        profiles.append(profile)
        all_values.append(values)
    kept = tuple(all_values) if any(all_values) else ()
    if missing:
        return ProfilePlan(origin=_origin(given, sample_data), missing=tuple(missing), example=_example(specs, profiles[0]), values=kept)
    return ProfilePlan(profiles=tuple(profiles), origin=_origin(given, sample_data), values=kept)


def _origin(given: list, sample_data: Mapping | None) -> str:
    if given:
        return "shapes="
    return "sample_data" if sample_data else "default"


def _as_profiles(shapes: Any) -> list[Mapping[str, Any]]:
    if shapes is None:
        return []
    if isinstance(shapes, Mapping):
        return [shapes]
    if isinstance(shapes, (list, tuple)) and shapes and all(isinstance(p, Mapping) for p in shapes):
        return list(shapes)
    raise ConfigError(
        'Expected shapes as {input: {"min": shape, "opt": shape, "max": shape}} or a non-empty list of such dicts. '
        f"Received: shapes of type {type(shapes).__name__}."
    )


def _has_values(entry: Any) -> bool:
    return isinstance(entry, Mapping) and "values" in entry


def _without_values(entry: Any) -> Any:
    """The shapes part of a ``shapes=`` entry: None when it gives only ``values``."""
    if not _has_values(entry):
        return entry
    rest = {k: v for k, v in entry.items() if k != "values"}
    return rest or None


def _parse_values(spec: Any, value: Any, where: str) -> tuple[Shape, Shape, Shape]:
    """(min, opt, max) values of a shape-tensor input: one non-negative int per element."""
    label = f"{where}[{spec.name!r}]['values']"
    static = spec.shape is not None and all(d is not None for d in spec.shape) and len(spec.shape) <= 1
    if spec.dtype not in ("int32", "int64") or not static:
        raise ConfigError(
            f"Expected {label} only for an int32/int64 input of static shape [n] or [] (what TensorRT can read as a shape). "
            f"Received: input {spec.name!r} of dtype {spec.dtype} and shape {_spec_text(spec)}."
        )
    count = spec.shape[0] if spec.shape else 1
    if isinstance(value, Mapping):
        if sorted(value) != sorted(_KEYS):
            raise ConfigError(f'Expected {label} with the keys "min", "opt" and "max". Received: keys {sorted(map(str, value))}.')
        triple = tuple(_values(value[key], f"{label}[{key!r}]", count) for key in _KEYS)
    else:
        fixed = _values(value, label, count)
        triple = (fixed, fixed, fixed)
    low, opt, high = triple
    if any(not a <= b <= c for a, b, c in zip(low, opt, high)):
        raise ConfigError(f"Expected {label} with min <= opt <= max in every element. Received: min={list(low)}, opt={list(opt)}, max={list(high)}.")
    return triple


def _values(value: Any, label: str, count: int) -> Shape:
    items = (value,) if hasattr(value, "__index__") and not isinstance(value, bool) else value
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise ConfigError(f"Expected {label} as {count} non-negative int(s). Received: {value!r}.")
    items = tuple(items)
    if len(items) != count or any(isinstance(v, bool) or not hasattr(v, "__index__") or int(v) < 0 for v in items):
        raise ConfigError(f"Expected {label} as {count} non-negative int(s), one per element of the input. Received: {list(items)!r}.")
    return tuple(int(v) for v in items)


def _parse_entry(spec: Any, value: Any, where: str) -> tuple[Shape, Shape, Shape]:
    label = f"{where}[{spec.name!r}]"
    if isinstance(value, Mapping):
        if sorted(value) != sorted(_KEYS):
            raise ConfigError(f'Expected {label} with the keys "min", "opt" and "max". Received: keys {sorted(map(str, value))}.')
        triple = tuple(_shape(value[key], f"{label}[{key!r}]") for key in _KEYS)
    else:
        fixed = _shape(value, label)
        triple = (fixed, fixed, fixed)
    for shape, key in zip(triple, _KEYS):
        if spec.shape is None:
            if len(shape) != len(triple[0]):
                raise ConfigError(f"Expected {label} min, opt and max shapes of one rank. Received: {[list(s) for s in triple]}.")
            continue
        if len(shape) != len(spec.shape):
            raise ConfigError(
                f"Expected {label} {key} shape of rank {len(spec.shape)} (input shape {_spec_text(spec)}). Received: {list(shape)}."
            )
        clash = [i for i, (d, s) in enumerate(zip(shape, spec.shape)) if s is not None and d != s]
        if clash:
            raise ConfigError(
                f"Expected {label} {key} shape to keep the static dims of input shape {_spec_text(spec)}. "
                f"Received: {list(shape)} (dim {clash[0]})."
            )
    low, opt, high = triple
    if any(not a <= b <= c for a, b, c in zip(low, opt, high)):
        raise ConfigError(f"Expected {label} with min <= opt <= max in every dim. Received: min={list(low)}, opt={list(opt)}, max={list(high)}.")
    return triple


def _shape(value: Any, label: str) -> Shape:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigError(f"Expected {label} as a sequence of positive ints. Received: {value!r}.")
    dims = tuple(value)
    if any(isinstance(d, bool) or not hasattr(d, "__index__") or int(d) < 1 for d in dims):
        raise ConfigError(f"Expected {label} as a sequence of positive ints. Received: {list(dims)!r}.")
    return tuple(int(d) for d in dims)


def _spec_text(spec: Any) -> str:
    if spec.shape is None:
        return "<unknown rank>"
    return "[" + ", ".join("None" if d is None else str(d) for d in spec.shape) + "]"


def _profile_batch(
    specs: Sequence[Any], parsed: Mapping[str, tuple[Shape, Shape, Shape]], batch: tuple[int, int, int], samples: Mapping[str, Shape]
) -> tuple[int, int, int]:
    """The batch of a profile's unnamed inputs: a named dynamic-batch input's, else ``batch`` widened to the samples'."""
    for spec in specs:
        if spec.name in parsed and spec.has_dynamic_batch and parsed[spec.name][0]:
            low, opt, high = parsed[spec.name]
            return low[0], opt[0], high[0]
    sizes = [shape[0] for spec in specs if spec.has_dynamic_batch for shape in [samples.get(spec.name)] if shape]
    if not sizes:
        return batch
    return min(batch[0], *sizes), batch[1], max(batch[2], *sizes)


def _default_entry(spec: Any, batch: tuple[int, int, int], sample: Shape | None) -> tuple[tuple[Shape, Shape, Shape], list[str]]:
    triple: list[list[int]] = [[], [], []]
    lacking = []
    if spec.shape is None:
        if sample is None:
            return ((), (), ()), [f"input {spec.name!r} (unknown rank)"]
        dims: Sequence[int | None] = (None, *sample[1:]) if sample else ()
    else:
        dims = spec.shape
    for index, dim in enumerate(dims):
        if dim is not None:
            sizes = (dim, dim, dim)
        elif index == 0:
            sizes = batch
        elif sample is not None and len(sample) == len(dims):
            sizes = (sample[index],) * 3
        else:
            lacking.append(f"input {spec.name!r} dim {index}")
            sizes = (0, 0, 0)
        for part, size in zip(triple, sizes):
            part.append(size)
    return (tuple(triple[0]), tuple(triple[1]), tuple(triple[2])), lacking


def _example(specs: Sequence[Any], profile: Profile) -> str:
    """A ``shapes=`` value to start from: the known sizes, ``?`` where a size is missing."""
    parts = []
    for spec in specs:
        if spec.shape is None and not profile[spec.name][0]:
            parts.append(f"'{spec.name}': {{'min': (...), 'opt': (...), 'max': (...)}}")
            continue
        if spec.shape is not None and all(d is not None for d in spec.shape):
            continue
        triple = profile[spec.name]
        text = ", ".join(f"'{key}': ({', '.join('?' if d == 0 else str(d) for d in shape)}{',' if len(shape) == 1 else ''})" for key, shape in zip(_KEYS, triple))
        parts.append(f"'{spec.name}': {{{text}}}")
    return "{" + ", ".join(parts) + "}"


#: Size a dynamic non-leading dim is evaluated at when nobody gave one (said in the report).
GUESSED_DIM = 16


def evaluation_shapes(specs: Sequence[Any], plan: ProfilePlan, guess: int = GUESSED_DIM) -> tuple[dict[str, Shape], str]:
    """The input shapes accuracy and latency are measured at, and how to say where they came from.

    The opt shapes of the first profile; when a dynamic dim has no size (no plan),
    the default opt batch and ``guess`` for the others, said as a guess.

    Returns:
        ``({input: shape}, note)``, e.g. ``"opt shapes of profile 0 of 2 (shapes=)"``.
    """
    if plan.profiles:
        return plan.opt_shapes(), f"opt shapes of profile 0 of {len(plan.profiles)} ({plan.origin})"
    if not plan.missing:
        return {s.name: tuple(int(d) for d in s.shape) for s in specs}, "static shapes"
    shapes = {
        s.name: tuple(d if d is not None else DEFAULT_BATCH[1] if i == 0 else guess for i, d in enumerate(s.shape or (None,)))
        for s in specs
    }
    return shapes, f"guessed sizes: {guess} for {', '.join(plan.missing)} (no shapes= given, so no plan)"
