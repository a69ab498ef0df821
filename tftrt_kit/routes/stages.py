"""A route as an ordered list of stages, each recorded in the RouteResult with its seconds and outcome.

A stage is a name and a callable doing one job on the run (export, build, save, ...);
what one stage makes for the next travels in ``run.values``. :func:`run_route` runs
the stages in order and records each one: ``ok``; ``skipped`` with why (the stage
raised :class:`StageSkipped`, or an optional dependency is missing, which skips the
rest of the route with its install hint); or ``failed`` with the error and its cause
chain, after which the remaining stages are recorded as not run and the error is raised.

Example:
    >>> class ToyRoute(StagedRoute):
    ...     def stages(self, source, context):
    ...         return [Stage("export", export_model), Stage("save", save_artifact)]
    >>> result = ToyRoute()(source, context)                      # doctest: +SKIP
    >>> [(s.name, s.outcome) for s in result.stages]               # doctest: +SKIP
    [('export', 'ok'), ('save', 'ok')]
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from typing import Any, Callable, Iterator, Sequence

from tftrt_kit.errors import MissingDependencyError, TftrtKitError
from tftrt_kit.report.data import RouteResult

#: Most characters kept of each error message in a cause chain.
_MESSAGE_CHARS = 500


class StageSkipped(Exception):
    """Raised by a stage with nothing to do in this run; its message says why. The route goes on."""


@dataclasses.dataclass
class RouteRun:
    """One run of a route: its inputs, the result being filled, and what stages hand on.

    Attributes:
        source: The loaded source.
        context: The conversion's context (output directory, precision, backend, ...).
        result: The RouteResult every stage records into.
        values: What one stage made for the next (``"model"``, ``"outcome"``, ...);
            a stage pops what no later stage needs, so big objects are freed early.
    """

    source: Any
    context: Any
    result: RouteResult
    values: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Stage:
    """One step of a route.

    Attributes:
        name: The stage's name in the report (``export``, ``build``, ...).
        run: Does the step's one job on the :class:`RouteRun`.
    """

    name: str
    run: Callable[[RouteRun], None]


class StagedRoute:
    """Base of a route made of stages: a subclass defines :meth:`stages`; calling it runs them."""

    name: str

    def stages(self, source: Any, context: Any) -> Sequence[Stage]:
        """The route's stages for this source and context, in order."""
        raise NotImplementedError

    def __call__(self, source: Any, context: Any) -> RouteResult:
        """Run the stages into a new RouteResult (see :func:`run_route`).

        Raises:
            TftrtKitError: the error of the stage that failed, its stage timings recorded.
        """
        return run_route(self, source, context)


def run_route(route: Any, source: Any, context: Any, result: RouteResult | None = None) -> RouteResult:
    """Run ``route``'s stages in order, recording each in ``result`` (a new one when None).

    Raises:
        Exception: the failing stage's error, unchanged (its ``__cause__`` kept), after
            the stage and those not run are recorded.
    """
    result = result if result is not None else RouteResult(name=route.name, precision=context.precision)
    run = RouteRun(source, context, result)
    stages = list(route.stages(source, context))
    for index, step in enumerate(stages):
        try:
            with stage(result, step.name):
                step.run(run)
        except BaseException:
            for rest in stages[index + 1:]:
                result.add_stage(rest.name, 0.0, "skipped", f"not run: stage {step.name!r} did not finish")
            raise
    return result


@contextlib.contextmanager
def stage(result: RouteResult, name: str) -> Iterator[None]:
    """Time the block and record it as stage ``name`` of ``result``, with its outcome.

    :class:`StageSkipped` is recorded as ``skipped`` and swallowed; a missing optional
    dependency as ``skipped`` with its install hint, and any other error as ``failed``
    with its cause chain; both are raised on.
    """
    started = time.perf_counter()
    try:
        yield
    except StageSkipped as why:
        result.add_stage(name, time.perf_counter() - started, "skipped", str(why))
    except MissingDependencyError as err:
        result.add_stage(name, time.perf_counter() - started, "skipped", str(err))
        raise
    except BaseException as err:
        result.add_stage(name, time.perf_counter() - started, "failed", error_chain(err))
        raise
    else:
        result.add_stage(name, time.perf_counter() - started)


def record_failure(result: RouteResult, err: BaseException) -> RouteResult:
    """Mark ``result`` failed by ``err`` (or skipped, for a missing optional dependency), keeping its stages.

    Measured figures are dropped: a route that did not finish carries none.
    """
    result.status = "skipped" if isinstance(err, MissingDependencyError) else "failed"
    chain = error_chain(err)
    result.error = chain if isinstance(err, TftrtKitError) else f"{chain} (unexpected; please report it)"
    result.accuracy, result.latency, result.latencies = None, None, []
    return result


def error_chain(err: BaseException) -> str:
    """``Type: message``, then each cause (``raise ... from``) or context it was raised in, outermost first."""
    links, seen = [], set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        links.append(f"{type(current).__name__}: {str(current)[:_MESSAGE_CHARS]}")
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return " <- caused by ".join(links)
