"""The optimization profiles of one plan: checked against the network, chosen per call.

Profiles are :data:`tftrt_kit.profiles.Profile` dicts ``{input_name: (min_shape,
opt_shape, max_shape)}``; callers compute them (:mod:`tftrt_kit.profiles`), the
builder checks they cover the parsed network's dynamic inputs, and the runner picks,
per call, a profile the inputs fit.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from tftrt_kit.errors import ConfigError, EngineBuildError
from tftrt_kit.profiles import DEFAULT_BATCH, Profile, fits, format_profile


def batch_profiles(dynamic_inputs: Mapping[str, Sequence[int]], batch_sizes: Sequence[int] = DEFAULT_BATCH) -> list[Profile]:
    """One profile over a dynamic leading (batch) dimension, or none when no input is dynamic.

    Args:
        dynamic_inputs: Input name -> shape with ``-1`` for a dynamic dim.
        batch_sizes: ``(min, opt, max)`` batch of the profile.

    Raises:
        EngineBuildError: an input has a dynamic dimension other than the first, naming it
            (such models need explicit profiles: ``convert(shapes=...)``).
    """
    profile: Profile = {}
    for name, shape in dynamic_inputs.items():
        shape = tuple(shape)
        if -1 in shape[1:]:
            raise EngineBuildError(
                f"Expected only the batch dimension of input {name!r} to be dynamic, or explicit optimization profiles. "
                f"Received: shape {list(shape)}; give the model static non-batch dimensions or pass shapes=."
            )
        if shape and shape[0] == -1:
            profile[name] = tuple((int(b), *shape[1:]) for b in batch_sizes)
    return [profile] if profile else []


def normalize_profiles(profiles: Sequence[Mapping[str, Sequence[Sequence[int]]]], what: str = "shapes") -> tuple[Profile, ...]:
    """Profiles as tuples of ints, checked: three shapes (or shape-tensor ``values``) of one
    rank per input, ``0 <= min <= opt <= max``.

    Raises:
        ConfigError: naming the profile, the input and the shapes at fault.
    """
    normalized = []
    for index, profile in enumerate(profiles):
        entry: Profile = {}
        for name, shapes in profile.items():
            try:
                low, opt, high = (tuple(int(d) for d in shape) for shape in shapes)
            except (TypeError, ValueError) as err:
                raise ConfigError(
                    f"Expected (min, opt, max) {what} of ints for input {name!r} in profile {index}. Received: {shapes!r}"
                ) from err
            ordered = all(0 <= a <= b <= c for a, b, c in zip(low, opt, high))
            if not (len(low) == len(opt) == len(high)) or not ordered:
                raise ConfigError(
                    f"Expected {what} min <= opt <= max of one length for input {name!r} in profile {index}. "
                    f"Received: min={list(low)}, opt={list(opt)}, max={list(high)}"
                )
            entry[name] = (low, opt, high)
        normalized.append(entry)
    return tuple(normalized)


def with_shape_values(profiles: Sequence[Profile], shape_tensors: Mapping[str, Sequence[int]], values: Sequence[Profile]) -> tuple[Profile, ...]:
    """``profiles`` with each shape-tensor input's entry replaced by its values from ``values``
    (same index), or dropped when ``values`` has none: a shape is never read as values.

    A network whose only non-static inputs are shape tensors has no profile of shapes: each
    ``values`` entry then makes a profile of its own.
    """
    if not shape_tensors:
        return tuple(profiles)
    count = max(len(profiles), len(values))
    merged = []
    for index in range(count):
        entry = {n: s for n, s in (profiles[index] if index < len(profiles) else {}).items() if n not in shape_tensors}
        given = values[index] if index < len(values) else {}
        entry.update({n: given[n] for n in shape_tensors if n in given})
        merged.append(entry)
    return tuple(merged)


def check_coverage(
    profiles: Sequence[Profile], dynamic_inputs: Mapping[str, Sequence[int]], shape_tensors: Mapping[str, Sequence[int]] | None = None
) -> None:
    """Every profile must give shapes for every dynamic input, matching its static dims,
    and value ranges for every shape-tensor input (one value per element).

    Raises:
        EngineBuildError: naming the input, its shape and the profile (TensorRT, through
            Polygraphy, would otherwise build for a guessed size or value: 1).
    """
    shape_tensors = dict(shape_tensors or {})
    if (dynamic_inputs or shape_tensors) and not profiles:
        listed = ", ".join(f"{n}{list(s)}" for n, s in {**dynamic_inputs, **shape_tensors}.items())
        raise EngineBuildError(
            f"Expected an optimization profile for the dynamic and shape-tensor inputs. Received: none for {listed}."
            + (_values_hint(shape_tensors) if shape_tensors else "")
        )
    for index, profile in enumerate(profiles):
        for name, shape in shape_tensors.items():
            count = int(shape[0]) if len(shape) else 1
            bounds = profile.get(name)
            if bounds is None or any(len(b) != count for b in bounds):
                raise EngineBuildError(
                    f"Expected profile {index} to give {count} (min, opt, max) value(s) for shape-tensor input {name!r} "
                    f"(TensorRT reads its values to size other tensors). Received: {None if bounds is None else [list(b) for b in bounds]}."
                    + _values_hint({name: shape})
                )
    for index, profile in enumerate(profiles):
        for name, shape in dynamic_inputs.items():
            if name not in profile:
                raise EngineBuildError(
                    f"Expected profile {index} to give shapes for dynamic input {name!r} {list(shape)}. Received: inputs {sorted(profile)}."
                )
            for bound in profile[name]:
                if len(bound) != len(shape) or any(d != -1 and d != b for d, b in zip(shape, bound)):
                    raise EngineBuildError(
                        f"Expected profile {index} shapes of input {name!r} to match its shape {list(shape)}. Received: {list(bound)}."
                    )


def _values_hint(shape_tensors: Mapping[str, Sequence[int]]) -> str:
    """How a user gives shape-tensor values, for the inputs named."""
    entries = ", ".join(
        f"{n!r}: {{'values': {{'min': {v}, 'opt': {v}, 'max': {v}}}}}"
        for n, s in shape_tensors.items()
        for v in [str(tuple(["?"] * (int(s[0]) if len(s) else 1))).replace("'", "")]
    )
    return f" For a model input pass shapes={{{entries}}}."


def fitting_profile(shapes: Mapping[str, Sequence[int]], profiles: Sequence[Profile], preferred: int = 0) -> int | None:
    """Index of a profile every given shape fits (``preferred`` first), or None.

    Inputs a profile does not name are static and not checked here.
    """
    order = [preferred, *(i for i in range(len(profiles)) if i != preferred)] if profiles else []
    return next((index for index in order if fits(profiles[index], shapes)), None)


def describe_profiles(profiles: Sequence[Profile]) -> str:
    """Every profile on one line: ``#0 x: 1x4 / 8x4 / 32x4; #1 ...``."""
    return "; ".join(f"#{i} {format_profile(p)}" for i, p in enumerate(profiles))
