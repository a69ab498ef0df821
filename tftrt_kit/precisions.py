"""The precisions a route builds for: one list, read by convert(), the CLI, the builder, the manifest and the report."""

from __future__ import annotations

from tftrt_kit.errors import ConfigError

#: Precisions of a conversion, in the order the CLI lists them.
PRECISIONS = ("fp32", "fp16", "int8")


def check_precision(precision: str) -> str:
    """Return ``precision`` when it is one of :data:`PRECISIONS`.

    Raises:
        ConfigError: any other value.

    Example:
        >>> check_precision("fp16")
        'fp16'
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"Expected precision in {PRECISIONS}. Received: precision={precision!r}.")
    return precision
