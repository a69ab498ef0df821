"""TF-TRT's ``dynamic_shape_profile_strategy``: optimization profiles from the shapes ``build(input_fn)`` saw.

Read from TF-TRT's ``tensorflow/compiler/tf2tensorrt/utils/trt_shape_optimization_profiles.cc``
(``InitProfiles``, ``RangeStrategy``, ``OptimalStrategy``, ``ImplicitBatchModeCompatibleStrategy``).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from tftrt_kit.errors import ConfigError
from tftrt_kit.profiles import Profile, Shape


def strategy_profiles(collected: Sequence[Mapping[str, Sequence[int]]], strategy: str) -> list[Profile]:
    """TF-TRT's ``dynamic_shape_profile_strategy`` over the input shapes ``build(input_fn)`` saw.

    TF-TRT (``trt_shape_optimization_profiles.cc``) first drops repeated shape sets, keeping
    the order seen, then:

    - ``Range``: one profile; min and max are the elementwise min and max over every
      shape set, opt = max.
    - ``Optimal``: one profile per shape set, min = opt = max = that set.
    - ``Range+Optimal``: the ``Optimal`` profiles, then the ``Range`` one.
    - ``ImplicitBatchModeCompatible``: one profile per shape set, opt = max = that set,
      min the same with the leading dimension 1.

    Args:
        collected: One ``{input name: shape}`` per element ``input_fn`` yielded (each
            input with its own leading size).
        strategy: One of the four names, any case.

    Returns:
        The profiles, in TF-TRT's order.

    Raises:
        ConfigError: an unknown strategy, no shapes, or shape sets naming other inputs
            or ranks (the message names the input).

    Example:
        >>> strategy_profiles([{"x": (1, 5)}, {"x": (4, 5)}], "Range")
        [{'x': ((1, 5), (4, 5), (4, 5))}]
    """
    kinds = {"range": "range", "optimal": "optimal", "range+optimal": "range+optimal", "implicitbatchmodecompatible": "implicit"}
    kind = kinds.get(str(strategy).lower())
    if kind is None:
        raise ConfigError(f"Expected dynamic_shape_profile_strategy in ['Range', 'Optimal', 'Range+Optimal', 'ImplicitBatchModeCompatible']. Received: {strategy!r}.")
    unique: list[dict[str, Shape]] = []
    for element in collected:
        shapes = {name: tuple(int(d) for d in shape) for name, shape in element.items()}
        if shapes not in unique:
            unique.append(shapes)
    if not unique:
        raise ConfigError("Expected at least one set of input shapes to make profiles from. Received: none.")
    first = unique[0]
    for shapes in unique[1:]:
        clash = [n for n in set(first) | set(shapes) if n not in first or n not in shapes or len(first[n]) != len(shapes[n])]
        if clash:
            raise ConfigError(f"Expected every input set to hold the same inputs and ranks. Received: input {sorted(clash)[0]!r} differs.")
    optimal = [{name: (shape, shape, shape) for name, shape in shapes.items()} for shapes in unique]
    if kind == "optimal":
        return optimal
    if kind == "implicit":
        return [{name: ((1, *shape[1:]) if shape else shape, shape, shape) for name, shape in shapes.items()} for shapes in unique]
    low = {n: tuple(min(s[n][i] for s in unique) for i in range(len(first[n]))) for n in first}
    high = {n: tuple(max(s[n][i] for s in unique) for i in range(len(first[n]))) for n in first}
    ranged: Profile = {n: (low[n], high[n], high[n]) for n in first}
    return optimal + [ranged] if kind == "range+optimal" else [ranged]
