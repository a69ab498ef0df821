"""Input checks of a loaded artifact: names, dtypes and shapes, with the tensor at fault named."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from tftrt_kit.dtypes import checked_array
from tftrt_kit.errors import RuntimeInputError
from tftrt_kit.source import TensorSpec


class InputChecker:
    """Validates feeds against input specs; the message names the tensor at fault.

    Args:
        specs: The model's input specs, in order.
    """

    def __init__(self, specs: list[TensorSpec]):
        self.specs = list(specs)

    def __call__(self, feeds: Any, kwargs: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Merge dict and keyword feeds; check names, dtypes and shapes; cast floats to the spec's width.

        Args:
            feeds: ``{input name: array}``, None, or (single-input models only) the array itself.
            kwargs: Keyword arrays.

        Returns:
            ``{input name: array}`` ready for an executor.

        Raises:
            RuntimeInputError: a missing or unexpected input, a value that is not a
                regular numeric array (ragged list, object, string), a wrong dtype
                kind, a wrong rank or static dimension, or an empty array.
        """
        merged = {**self._as_mapping(feeds), **kwargs}
        expected = [s.name for s in self.specs]
        missing = [n for n in expected if n not in merged]
        extra = sorted(repr(k) if not isinstance(k, str) else k for k in merged if k not in expected)
        if missing or extra:
            received = sorted(str(k) for k in merged)
            raise RuntimeInputError(f"Expected inputs {expected}. Received: {received} (missing {missing}, unexpected {extra}).")
        return {spec.name: checked_array(spec, merged[spec.name], RuntimeInputError) for spec in self.specs}

    def _as_mapping(self, feeds: Any) -> Mapping[Any, Any]:
        if feeds is None:
            return {}
        if isinstance(feeds, Mapping):
            return feeds
        if len(self.specs) == 1 and not isinstance(feeds, (str, bytes)):
            return {self.specs[0].name: feeds}
        raise RuntimeInputError(
            f"Expected a dict {{input name: array}} or keyword arrays for inputs {[s.name for s in self.specs]}. "
            f"Received: feeds of type {type(feeds).__name__}."
        )
