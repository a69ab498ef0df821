"""Optimization profiles: for each dynamic input, the (min, opt, max) shapes one plan accepts.

A profile is a mapping ``{input_name: (min_shape, opt_shape, max_shape)}`` with tuples
of ints; a plan may hold several. Callers compute them (:func:`batch_profiles` is
the default: one profile over a dynamic batch dimension) and pass them to
:class:`~tftrt_kit.engines.tensorrt_builder.TensorRTBuilder`; the runner picks, per
call, a profile the inputs fit (:func:`fitting_profile`).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from tftrt_kit.errors import ConfigError, EngineBuildError

Shape = tuple[int, ...]
ShapeRange = tuple[Shape, Shape, Shape]
Profile = Mapping[str, ShapeRange]

#: ``(min, opt, max)`` of the default profile over a dynamic batch dimension.
DEFAULT_BATCH_SIZES = (1, 8, 32)


def onnx_input_shapes(model: Any) -> dict[str, tuple[int, ...]]:
    """The graph inputs of an ``onnx.ModelProto`` (initializers excluded), dynamic dims as ``-1``."""
    initializers = {init.name for init in model.graph.initializer}
    shapes = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)
    return shapes


def batch_profiles(input_shapes: Mapping[str, Sequence[int]], batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES) -> list[dict[str, ShapeRange]]:
    """One profile over a dynamic leading (batch) dimension, or none when every input is static.

    Args:
        input_shapes: Input name -> shape with ``-1`` for a dynamic dim (see :func:`onnx_input_shapes`).
        batch_sizes: ``(min, opt, max)`` batch of the profile.

    Raises:
        EngineBuildError: an input has a dynamic dimension other than the first, naming it
            (give profiles for such models explicitly).
    """
    dynamic = {name: tuple(shape) for name, shape in input_shapes.items() if -1 in tuple(shape)}
    if not dynamic:
        return []
    profile = {}
    for name, shape in dynamic.items():
        if -1 in shape[1:]:
            raise EngineBuildError(
                f"Expected only the batch dimension of input {name!r} to be dynamic, or explicit optimization profiles. "
                f"Received: shape {list(shape)}; give the model static non-batch dimensions or pass profiles."
            )
        profile[name] = tuple((b, *shape[1:]) for b in batch_sizes)
    return [profile]


def normalize_profiles(profiles: Sequence[Mapping[str, Sequence[Sequence[int]]]]) -> tuple[dict[str, ShapeRange], ...]:
    """Profiles as tuples of ints, checked: three shapes of one rank per input, ``0 <= min <= opt <= max``.

    Raises:
        ConfigError: naming the profile, the input and the shapes at fault.
    """
    normalized = []
    for index, profile in enumerate(profiles):
        entry = {}
        for name, shapes in profile.items():
            try:
                low, opt, high = (tuple(int(d) for d in shape) for shape in shapes)
            except (TypeError, ValueError) as err:
                raise ConfigError(
                    f"Expected (min, opt, max) shapes of ints for input {name!r} in profile {index}. Received: {shapes!r}"
                ) from err
            ordered = all(0 <= a <= b <= c for a, b, c in zip(low, opt, high))
            if not (len(low) == len(opt) == len(high)) or not ordered:
                raise ConfigError(
                    f"Expected min <= opt <= max of one rank for input {name!r} in profile {index}. "
                    f"Received: min={list(low)}, opt={list(opt)}, max={list(high)}"
                )
            entry[name] = (low, opt, high)
        normalized.append(entry)
    return tuple(normalized)


def check_coverage(profiles: Sequence[Profile], dynamic_inputs: Mapping[str, Sequence[int]]) -> None:
    """Every profile must give shapes for every dynamic input, matching its static dims.

    Raises:
        EngineBuildError: naming the input, its shape and the profile (TensorRT would
            otherwise need a guessed size for the dynamic dims).
    """
    if dynamic_inputs and not profiles:
        listed = ", ".join(f"{n}{list(s)}" for n, s in dynamic_inputs.items())
        raise EngineBuildError(f"Expected an optimization profile for the dynamic inputs. Received: none for {listed}.")
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


def fits(shape: Sequence[int], shape_range: ShapeRange) -> bool:
    """Whether ``shape`` lies within ``(min, opt, max)`` dimension by dimension."""
    low, _, high = shape_range
    return len(shape) == len(low) and all(a <= d <= b for a, d, b in zip(low, shape, high))


def fitting_profile(shapes: Mapping[str, Sequence[int]], profiles: Sequence[Profile], preferred: int = 0) -> int | None:
    """Index of a profile every given shape fits (``preferred`` first), or None.

    Inputs a profile does not mention are static and not checked here.
    """
    order = [preferred, *(i for i in range(len(profiles)) if i != preferred)] if profiles else []
    for index in order:
        profile = profiles[index]
        if all(fits(shape, profile[name]) for name, shape in shapes.items() if name in profile):
            return index
    return None


def describe_profiles(profiles: Sequence[Profile]) -> str:
    """Profiles in one line, e.g. ``#0 x: [1, 4]..[32, 4]``."""
    return "; ".join(
        f"#{i} " + ", ".join(f"{name}: {list(low)}..{list(high)}" for name, (low, _, high) in profile.items())
        for i, profile in enumerate(profiles)
    )
