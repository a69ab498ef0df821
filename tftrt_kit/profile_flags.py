"""``shapes=`` from trtexec-style CLI flags: ``--min/--opt/--max-shapes`` and ``--min/--opt/--max-shape-values``."""

from __future__ import annotations

from typing import Any, Sequence

from tftrt_kit.errors import ConfigError
from tftrt_kit.profiles import Shape

_KEYS = ("min", "opt", "max")


def parse_shape_flags(
    min_shapes: str | None,
    opt_shapes: str | None,
    max_shapes: str | None,
    values: tuple[str | None, str | None, str | None] = (None, None, None),
) -> dict[str, dict[str, Any]] | None:
    """``shapes=`` from trtexec-style flags: ``--min-shapes ids:1x8,mask:1x8`` and its opt/max siblings.

    An input named in one flag must be named in all three. Input names may hold ``:``
    (``serving_default_x:0``): the last ``:`` separates name and shape. A scalar is ``name:``.
    ``values`` are the texts of ``--min/--opt/--max-shape-values dims:1x4``: a
    shape-tensor input's values, spelled as a shape, kept under its ``"values"`` key.

    Returns:
        ``{input: {"min": shape, "opt": shape, "max": shape}}`` (and/or ``"values"``),
        or None when no flag is given.

    Raises:
        ConfigError: a malformed entry, or an input missing from one of the flags.

    Example:
        >>> parse_shape_flags("ids:1x8", "ids:8x128", "ids:32x512")
        {'ids': {'min': (1, 8), 'opt': (8, 128), 'max': (32, 512)}}
        >>> parse_shape_flags(None, None, None, values=("dims:1x4", "dims:3x4", "dims:8x4"))
        {'dims': {'values': {'min': (1, 4), 'opt': (3, 4), 'max': (8, 4)}}}
    """
    shapes = _three_flags((min_shapes, opt_shapes, max_shapes), "shapes")
    given = _three_flags(values, "shape-values")
    if shapes is None and given is None:
        return None
    merged: dict[str, dict[str, Any]] = dict(shapes or {})
    for name, triple in (given or {}).items():
        merged[name] = {**merged.get(name, {}), "values": triple}
    return merged


def _three_flags(texts_in: Sequence[str | None], what: str) -> dict[str, dict[str, Shape]] | None:
    texts = dict(zip(_KEYS, texts_in))
    if all(t is None for t in texts.values()):
        return None
    parsed = {key: _flag(f"--{key}-{what}", text or "") for key, text in texts.items()}
    names = list(dict.fromkeys(n for flag in parsed.values() for n in flag))
    for name in names:
        absent = [f"--{key}-{what}" for key in _KEYS if name not in parsed[key]]
        if absent:
            flags = ", ".join(f"--{key}-{what}" for key in _KEYS)
            raise ConfigError(f"Expected input {name!r} in {flags}. Received: it is missing from {', '.join(absent)}.")
    return {name: {key: parsed[key][name] for key in _KEYS} for name in names}


def _flag(flag: str, text: str) -> dict[str, Shape]:
    entries: dict[str, Shape] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, dims = item.rpartition(":")
        try:
            shape = tuple(int(d) for d in dims.split("x")) if dims else ()
        except ValueError:
            shape = None
        if not sep or not name or shape is None or any(d < 1 for d in shape):
            raise ConfigError(f"Expected {flag} entries as name:DxDx.. (e.g. ids:1x128). Received: {item!r}.")
        entries[name] = shape
    return entries
