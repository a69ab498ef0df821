"""How the routes of a Report differ, computed only from figures measured in that run.

Nothing here is estimated: a comparison is made only where both sides were
measured (same batch size for latency), the executor of each figure is named,
and a route that failed contributes its error and nothing else.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

#: Speed ratios closer to 1 than this are reported as "about the same".
SAME_SPEED = 1.1

_VERDICT_RANK = {"pass": 0, "warn": 1, "fail": 2, None: 1}


@dataclasses.dataclass(frozen=True)
class SpeedRatio:
    """Measured p50 latencies of two runs at one batch size, and their ratio (``slower / faster`` >= 1)."""

    batch: int
    faster: str
    slower: str
    faster_ms: float
    slower_ms: float
    faster_executor: str
    slower_executor: str

    @property
    def ratio(self) -> float:
        """How many times faster ``faster`` was (p50 over p50)."""
        return self.slower_ms / self.faster_ms

    def line(self) -> str:
        """One sentence, naming both executors."""
        fast = f"{self.faster} ({self.faster_executor}, {self.faster_ms:.3g} ms)"
        slow = f"{self.slower} ({self.slower_executor}, {self.slower_ms:.3g} ms)"
        if self.ratio < SAME_SPEED:
            return f"batch {self.batch}: {fast} and {slow} are about as fast ({self.ratio:.2f}x)"
        return f"batch {self.batch}: {fast} is {self.ratio:.2f}x faster than {slow}"


@dataclasses.dataclass(frozen=True)
class Delta:
    """A measured quantity of two routes, e.g. artifact bytes or conversion seconds."""

    what: str
    first: str
    second: str
    first_value: float
    second_value: float
    unit: str

    @property
    def difference(self) -> float:
        """``second_value - first_value``."""
        return self.second_value - self.first_value

    def line(self) -> str:
        """One sentence with both values and the difference."""
        fmt = _bytes if self.unit == "bytes" else (lambda v: f"{v:.2f} s")
        both = f"{self.what}: {self.first} {fmt(self.first_value)}, {self.second} {fmt(self.second_value)}"
        if fmt(self.first_value) == fmt(self.second_value):
            return f"{both} (the same)"
        less = self.first if self.first_value < self.second_value else self.second
        return f"{both} ({less} {'smaller' if self.unit == 'bytes' else 'quicker'} by {fmt(abs(self.difference))})"


@dataclasses.dataclass
class Differences:
    """How the routes differ.

    Attributes:
        speed: Route against route, at each batch size both measured.
        versus_source: Each route against TensorFlow (``tf.function``), at each batch both measured.
        closer: The route whose outputs are closer to the source (lowest max rel error), if any.
        accuracy: One line per route with its measured error and verdict.
        left_in_tensorflow: What the segment route (or any route with fallbacks) left in TensorFlow, and why.
        sizes: Artifact size deltas between routes.
        conversion: Conversion-time deltas between routes.
        failed: Route name -> its status and error (failed or skipped routes carry no figures).
        recommendation: One line.
    """

    speed: list[SpeedRatio] = dataclasses.field(default_factory=list)
    versus_source: list[SpeedRatio] = dataclasses.field(default_factory=list)
    closer: str | None = None
    accuracy: list[str] = dataclasses.field(default_factory=list)
    left_in_tensorflow: list[str] = dataclasses.field(default_factory=list)
    sizes: list[Delta] = dataclasses.field(default_factory=list)
    conversion: list[Delta] = dataclasses.field(default_factory=list)
    failed: dict[str, str] = dataclasses.field(default_factory=dict)
    recommendation: str = ""

    def lines(self) -> list[str]:
        """Every difference as one sentence, the recommendation last."""
        out = [f"{name} {error} (no figures)" for name, error in self.failed.items()]
        out += [r.line() for r in self.speed]
        out += [r.line() for r in self.versus_source]
        out += self.accuracy
        out += self.left_in_tensorflow
        out += [d.line() for d in self.sizes + self.conversion]
        out.append(f"recommendation: {self.recommendation}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def compute_differences(report: Any) -> Differences:
    """The differences between the routes of ``report``, from its measured figures only.

    Args:
        report: A :class:`~tftrt_kit.report.Report`.

    Returns:
        The :class:`Differences`.

    Example:
        >>> print(compute_differences(report))  # doctest: +SKIP
    """
    ok = {name: r for name, r in report.routes.items() if r.ok}
    diff = Differences(failed={name: f"{r.status}: {r.error}" for name, r in report.routes.items() if not r.ok})
    for (a_name, a), (b_name, b) in itertools.combinations(ok.items(), 2):
        diff.speed += _ratios(a_name, a, b_name, b)
        diff.sizes += _delta("artifact size", a_name, a.sizes.get("artifact_bytes"), b_name, b.sizes.get("artifact_bytes"), "bytes")
        diff.conversion += _delta("conversion time", a_name, a.conversion_seconds, b_name, b.conversion_seconds, "s")
    for name, r in ok.items():
        diff.versus_source += _ratios(name, r, "source (TF)", report.source)
    measured = {name: r.accuracy for name, r in ok.items() if r.accuracy is not None}
    for name, acc in measured.items():
        diff.accuracy.append(
            f"{name} vs source on {acc.executor}: max rel error {acc.max_rel_error:.3g}, cosine {acc.cosine:.7f}, verdict {acc.verdict or '-'}"
        )
    if len(measured) > 1:
        ranked = sorted(measured.items(), key=lambda kv: kv[1].max_rel_error)
        if ranked[0][1].max_rel_error < ranked[1][1].max_rel_error:
            diff.closer = ranked[0][0]
            diff.accuracy.append(
                f"closer to the source: {diff.closer} (max rel error {ranked[0][1].max_rel_error:.3g} vs "
                f"{ranked[1][0]} {ranked[1][1].max_rel_error:.3g})"
            )
        else:
            diff.accuracy.append("closer to the source: tie (equal max rel error)")
    for name, r in ok.items():
        diff.left_in_tensorflow += _left_in_tf(name, r)
    diff.recommendation = _recommend(ok, diff)
    return diff


def _ratios(a_name: str, a: Any, b_name: str, b: Any) -> list[SpeedRatio]:
    ratios = []
    for la in a.latencies:
        lb = b.latency_at(la.batch)
        if lb is None or la.p50_ms <= 0 or lb.p50_ms <= 0:
            continue
        (fast, fl), (slow, sl) = sorted(((a_name, la), (b_name, lb)), key=lambda x: x[1].p50_ms)
        ratios.append(SpeedRatio(la.batch, fast, slow, fl.p50_ms, sl.p50_ms, fl.executor, sl.executor))
    return ratios


def _delta(what: str, a_name: str, a_value: float | None, b_name: str, b_value: float | None, unit: str) -> list[Delta]:
    if a_value is None or b_value is None:
        return []
    return [Delta(what, a_name, b_name, float(a_value), float(b_value), unit)]


def _left_in_tf(name: str, route: Any) -> list[str]:
    if not route.segments and not route.fallbacks and route.coverage is None:
        return []
    left = sum(f.count for f in route.fallbacks)
    coverage = f"{route.coverage:.1%} of nodes in TensorRT segments" if route.coverage is not None else "coverage not measured"
    sizes = ", ".join(str(s.nodes) for s in route.segments) or "none"
    lines = [f"{name}: {len(route.segments)} TensorRT segment(s) (nodes: {sizes}), {coverage}; {left} node(s) left in TensorFlow"]
    lines += [f"{name} left {f.count} {f.op_type} in TensorFlow: {f.reason}" for f in route.fallbacks]
    return lines


def _recommend(ok: dict[str, Any], diff: Differences) -> str:
    """The choice, with a warning when TensorFlow itself was measured faster than the chosen route."""
    name, text = _choose(ok, diff)
    slower = [r for r in diff.versus_source if name is not None and r.slower == name and r.ratio >= SAME_SPEED]
    if slower:
        at = ", ".join(f"batch {r.batch} ({r.ratio:.2f}x)" for r in slower)
        text = f"{text[:-1]}; but TensorFlow itself was faster at {at}."
    return text


def _choose(ok: dict[str, Any], diff: Differences) -> tuple[str | None, str]:
    if not ok:
        return None, "no route produced an artifact; fix the errors above."
    usable = {n: r for n, r in ok.items() if r.accuracy is None or r.accuracy.verdict != "fail"}
    if not usable:
        return None, f"no route passed the accuracy check ({', '.join(ok)} fail); loosen tolerances only if the error is acceptable."
    best_verdict = min(_VERDICT_RANK[r.accuracy.verdict if r.accuracy else None] for r in usable.values())
    usable = {n: r for n, r in usable.items() if _VERDICT_RANK[r.accuracy.verdict if r.accuracy else None] == best_verdict}
    if len(usable) == 1:
        (name, route), = usable.items()
        why = "the only route that produced an artifact" if len(ok) == 1 else "the only route with the best accuracy verdict"
        return name, f"use {name}: {why}{_measured_on(route)}."
    speeds = _relative_speed(usable)
    if speeds:
        (fastest, fast_ms), (second, second_ms) = speeds[0], speeds[1]
        ratio = second_ms / fast_ms
        if ratio >= SAME_SPEED:
            executors = " vs ".join(dict.fromkeys(usable[n].latency.executor for n in (fastest, second)))
            return fastest, (
                f"use {fastest}: {ratio:.2f}x faster than {second} (geometric mean of p50 over batches "
                f"{', '.join(map(str, _common_batches(usable)))}; {executors}) with accuracy as good."
            )
    if diff.closer in usable:
        return diff.closer, f"use {diff.closer}: no faster route by {SAME_SPEED:.1f}x or more, and closer to the source{_measured_on(usable[diff.closer])}."
    leaner = _leaner(usable)
    if leaner:
        return leaner, f"use {leaner}: as fast (within {SAME_SPEED:.1f}x) and as accurate, with the smallest artifact and the quickest conversion."
    return None, f"either of {', '.join(usable)}: no measured difference in speed (within {SAME_SPEED:.1f}x) or accuracy."


def _leaner(routes: dict[str, Any]) -> str | None:
    """The route with both the smallest artifact and the quickest conversion, if one has both."""
    sizes = {n: r.sizes.get("artifact_bytes") for n, r in routes.items()}
    seconds = {n: r.conversion_seconds for n, r in routes.items()}
    if None in sizes.values() or None in seconds.values():
        return None
    smallest, quickest = min(sizes, key=sizes.get), min(seconds, key=seconds.get)
    return smallest if smallest == quickest else None


def _common_batches(routes: dict[str, Any]) -> list[int]:
    sets = [{x.batch for x in r.latencies} for r in routes.values()]
    return sorted(set.intersection(*sets)) if sets else []


def _relative_speed(routes: dict[str, Any]) -> list[tuple[str, float]]:
    """Routes by geometric mean p50 over the batches all of them measured, fastest first (empty if none)."""
    import math

    batches = _common_batches(routes)
    if not batches:
        return []
    means = {
        name: math.exp(sum(math.log(r.latency_at(b).p50_ms) for b in batches) / len(batches))
        for name, r in routes.items()
    }
    return sorted(means.items(), key=lambda kv: kv[1])


def _measured_on(route: Any) -> str:
    executor = route.latency.executor if route.latency else (route.accuracy.executor if route.accuracy else None)
    return f" (measured on {executor})" if executor else ""


def _bytes(n: float) -> str:
    return f"{n / 2**20:.2f} MiB" if abs(n) >= 2**20 else f"{n / 1024:.1f} KiB"
