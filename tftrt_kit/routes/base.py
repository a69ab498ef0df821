"""What every route shares: its context, its protocol, and the fields every manifest holds."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Protocol, Sequence

from tftrt_kit.engines.tensorrt_builder import EngineOptions
from tftrt_kit.profiles import ProfilePlan


@dataclasses.dataclass(frozen=True)
class RouteContext:
    """Inputs every route receives from ``convert()``.

    Attributes:
        output_dir: Where the route's artifact directory is written (renamed into place whole).
        precision: ``fp32``, ``fp16`` or ``int8``.
        backend: TensorRT module for checks and builds (``auto``, ``tensorrt``, ``tensorrt_rtx``).
        build_plans: Build TensorRT plans when a builder is installed (else only parse-check).
        calibration_data: Calibration inputs for INT8 (see :mod:`tftrt_kit.calibration_data`).
        calibration_method: ``max``, ``percentile``, ``entropy`` or ``mse`` (Keras level only).
        overwrite: Replace an existing non-empty artifact directory.
        progress: Show progress bars.
        engine: How plans are built (workspace, optimization level, the conversion's
            shared timing cache, which each route copies into its artifact).
        profiles: The optimization profiles of the source's inputs (from ``shapes=``,
            ``sample_data`` or the default batch); routes build every plan for them.
            None (a route run on its own): TensorRT's default batch profile 1/8/32.
        sample_data: The accuracy inputs (a segment route runs them to size its boundaries).
    """

    output_dir: Path
    precision: str = "fp32"
    backend: str = "auto"
    build_plans: bool = True
    calibration_data: Any = dataclasses.field(default=None, compare=False)
    calibration_method: str = "max"
    overwrite: bool = False
    progress: bool = False
    engine: EngineOptions = EngineOptions()
    profiles: ProfilePlan | None = None
    sample_data: Any = dataclasses.field(default=None, compare=False)


class Route(Protocol):
    """A conversion route: an ordered list of stages turning a source into an artifact (see :mod:`tftrt_kit.routes.stages`)."""

    name: str

    def stages(self, source: Any, context: RouteContext) -> Sequence[Any]:
        """The stages that turn ``source`` into this route's artifact, in the order they run."""
        ...


def directory_bytes(path: Path) -> int:
    """Total size of the files under ``path``."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


#: File name of the timing cache kept in an artifact (next to its plans).
TIMING_CACHE_FILE = "timing.cache"


def keep_timing_cache(context: RouteContext, directory: Path) -> str | None:
    """Copy the conversion's timing cache into ``directory``; its file name, or None when no build wrote one."""
    cache = context.engine.timing_cache
    if cache is None or not cache.is_file():
        return None
    (directory / TIMING_CACHE_FILE).write_bytes(cache.read_bytes())
    return TIMING_CACHE_FILE


def manifest_header(route: str, source: Any, context: RouteContext) -> dict[str, Any]:
    """The manifest fields every route writes: route, precision, where the model came from, its I/O specs."""
    return {
        "route": route,
        "precision": context.precision,
        "source": source.description,
        "signature": source.signature_key,
        "inputs": [s.to_dict() for s in source.inputs],
        "outputs": [s.to_dict() for s in source.outputs],
        "profiles": context.profiles.to_dict() if context.profiles is not None else None,
    }
