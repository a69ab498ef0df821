"""Checks of a whole ``convert()`` call before any work: nothing loads until the call is valid.

A mistake a user can see without the model (an unknown or repeated route, INT8
without calibration data, an artifact directory that would be clobbered) is
reported at once, each fault once, instead of after TensorFlow loaded the model
and every route failed the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from tftrt_kit.errors import ConfigError, OutputDirError, SourceError, TftrtKitError


def check_call(
    source: Any,
    *,
    routes: Sequence[str],
    precision: str,
    calibration_data: Any,
    calibration_method: str,
    output_dir: str | Path | None,
    overwrite: bool,
    route_options: Mapping[str, Any] | None = None,
) -> None:
    """Raise one error naming every fault of a ``convert()`` call that needs no model to see.

    Args:
        source: The source argument (a path is checked to exist; other sources as given).
        routes: Route names.
        precision: Precision name.
        calibration_data: Calibration data (only its presence is checked here).
        calibration_method: INT8 calibration method.
        output_dir: Where the route directories go (``None``: a fresh temporary directory).
        overwrite: Whether existing route directories may be replaced.
        route_options: Per-route options by route name.

    Raises:
        TftrtKitError: the fault (a :class:`ConfigError` listing them when several).
    """
    from tftrt_kit.routes.registry import routes as registered_routes

    registry = registered_routes()
    valid_routes = () if isinstance(routes, str) or not routes else tuple(routes)
    faults = [
        *_source_faults(source),
        *_route_faults(routes, registry, route_options or {}),
        *_precision_faults(precision, calibration_data, calibration_method),
        *_output_dir_faults(output_dir, [r for r in valid_routes if r in registry], overwrite),
    ]
    if len(faults) == 1:
        raise faults[0]
    if faults:
        listed = "".join(f"\n  {type(f).__name__}: {f}" for f in faults)
        raise ConfigError(f"Expected a valid convert() call. Received {len(faults)} faults, one per line:{listed}")


def _source_faults(source: Any) -> list[TftrtKitError]:
    if isinstance(source, (str, Path)) and not Path(source).exists():
        return [SourceError(f"Expected a SavedModel directory or a .keras file. Received: path={str(source)!r}, which does not exist.")]
    return []


def _route_faults(routes: Sequence[str], registry: Mapping[str, Any], route_options: Mapping[str, Any]) -> list[TftrtKitError]:
    faults: list[TftrtKitError] = []
    if isinstance(routes, str) or not routes:
        faults.append(ConfigError(f"Expected a sequence of route names from {sorted(registry)}. Received: routes={routes!r}."))
        routes = ()
    unknown = [r for r in routes if r not in registry]
    if unknown:
        faults.append(ConfigError(f"Expected routes from {sorted(registry)}. Received: {unknown}."))
    repeated = sorted({r for r in routes if list(routes).count(r) > 1})
    if repeated:
        faults.append(ConfigError(f"Expected each route once. Received: routes={tuple(routes)!r}, repeating {repeated}."))
    stray = sorted(set(route_options) - set(routes))
    if stray:
        faults.append(ConfigError(f"Expected route_options only for the routes run {tuple(routes)!r}. Received options for {stray}."))
    return faults


def _precision_faults(precision: str, calibration_data: Any, calibration_method: str) -> list[TftrtKitError]:
    from tftrt_kit.precisions import PRECISIONS
    from tftrt_kit.quantize.histogram import METHODS

    faults: list[TftrtKitError] = []
    if precision not in PRECISIONS:
        faults.append(ConfigError(f"Expected precision in {PRECISIONS}. Received: precision={precision!r}."))
    if precision == "int8" and calibration_data is None:
        faults.append(ConfigError(
            "Expected calibration_data for precision='int8' (TensorRT's explicit quantization needs activation ranges). "
            "Received: calibration_data=None; pass calibration_data= (CLI: --calibration-data FILE.npy|npz)."
        ))
    if calibration_method not in METHODS:
        faults.append(ConfigError(f"Expected calibration_method in {METHODS}. Received: calibration_method={calibration_method!r}."))
    return faults


def _output_dir_faults(output_dir: str | Path | None, routes: Sequence[str], overwrite: bool) -> list[TftrtKitError]:
    """Faults of ``output_dir`` and of the directories the known ``routes`` would write in it."""
    from tftrt_kit.runtime.artifact import check_output_dir

    if output_dir is None:
        return []
    if Path(output_dir).exists() and not Path(output_dir).is_dir():
        return [OutputDirError(f"Expected output_dir to be a directory. Received: {str(output_dir)!r}, which is a file.")]
    faults: list[TftrtKitError] = []
    for name in dict.fromkeys(routes):
        try:
            check_output_dir(Path(output_dir) / name, overwrite=overwrite)
        except TftrtKitError as err:
            faults.append(err)
    return faults
