"""The manifest schema: the fields every manifest holds, and the checks routes declare their own fields with.

Each route's registry entry (:mod:`tftrt_kit.routes.registry`) carries the fields of
its manifests; those of the built-in routes are here. Each field maps to a check
returning None when the value is valid, else what was expected (for the message). Fields a schema does not list are tolerated: a newer
tftrt_kit may add optional fields without a version bump; a breaking change bumps
``tftrt_kit.runtime.artifact.MANIFEST_VERSION``.
"""

from __future__ import annotations

from typing import Any, Callable

from tftrt_kit.precisions import PRECISIONS
from tftrt_kit.source import SIGNATURE_DTYPES, SUPPORTED_INPUT_DTYPES

#: A field check: returns None when ``value`` is valid, else what was expected.
Check = Callable[[Any], "str | None"]


def of_type(*types: type) -> Check:
    """A check accepting instances of ``types`` (``bool`` is not an ``int`` here)."""
    names = " or ".join(t.__name__ for t in types)

    def check(value: Any) -> str | None:
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        return None if ok else f"of type {names}"

    return check


def one_of(*choices: str) -> Check:
    """A check accepting one of the strings ``choices``."""
    return lambda value: None if isinstance(value, str) and value in choices else f"one of {list(choices)}"


def nullable(check: Check) -> Check:
    """``check``, or null."""
    return lambda value: None if value is None else (None if check(value) is None else f"null or {check(value)}")


def tensor_specs(dtypes: frozenset[str] | None = None) -> Check:
    """A check accepting a list of ``TensorSpec.to_dict()`` dicts, with dtypes in ``dtypes`` when given."""
    allowed = f" with dtype in {sorted(dtypes)}" if dtypes else ""
    expected = f'a list of {{"name": str, "dtype": str, "shape": [int >= 0 or null, ...] or null}}{allowed}'

    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return expected
        for spec in value:
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not isinstance(spec.get("dtype"), str):
                return expected
            if dtypes and spec["dtype"] not in dtypes:
                return expected
            shape = spec.get("shape")
            if shape is not None and (not isinstance(shape, list) or not all(d is None or (type(d) is int and d >= 0) for d in shape)):
                return expected
        return None

    return check


def _parts(value: Any) -> str | None:
    expected = (
        'a list of {"name": str, "kind": "segment" or "island", "function": str, "inputs": [...], "outputs": [...], '
        '"node_names": [str, ...] (optional; "nodes" of them, each node in one part only)}'
    )
    specs = tensor_specs()
    if not isinstance(value, list):
        return expected
    seen: set[str] = set()
    for part in value:
        if not isinstance(part, dict) or part.get("kind") not in ("segment", "island"):
            return expected
        if not isinstance(part.get("name"), str) or not isinstance(part.get("function"), str):
            return expected
        if specs(part.get("inputs")) is not None or specs(part.get("outputs")) is not None:
            return expected
        names = part.get("node_names")
        if names is not None:
            if _strings(names) is not None or len(names) != part.get("nodes") or seen.intersection(names):
                return expected
            seen.update(names)
    return None


def _strings(value: Any) -> str | None:
    return None if isinstance(value, list) and all(isinstance(v, str) for v in value) else "a list of strings"


#: Fields of every manifest, whatever its route.
SHARED: dict[str, Check] = {
    "precision": one_of(*PRECISIONS),
    "source": of_type(str),
    "signature": of_type(str),
    "inputs": tensor_specs(SIGNATURE_DTYPES),
    "outputs": tensor_specs(),
}

#: The onnx route's own fields (its registry entry carries them); its inputs are ONNX graph inputs, never strings.
ONNX_FIELDS: dict[str, Check] = {
    "inputs": tensor_specs(SUPPORTED_INPUT_DTYPES),
    "onnx_file": of_type(str),
    "plan_file": nullable(of_type(str)),
    "plan_backend": nullable(of_type(str)),
    "tensorrt": nullable(of_type(dict)),
}

#: The segment route's own fields (its registry entry carries them).
SEGMENT_FIELDS: dict[str, Check] = {
    "input_tensors": _strings,
    "output_tensors": _strings,
    "parts": _parts,
}
