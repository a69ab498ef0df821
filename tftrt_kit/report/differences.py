"""How the routes of a Report differ, computed only from figures measured in that run.

Nothing here is estimated: a comparison is made only where both sides were
measured (same batch size for latency), the executor of each figure is named,
and a route that failed contributes its error and nothing else.

Noise: latencies timed in interleaved rounds are compared round by round (the two
runs of one round shared the machine's load), and a speed difference counts only
when it is at least :data:`SAME_SPEED` and the 95% interval of the per-round ratios
lies above 1; otherwise the two are "the same speed". Routes that run the same ONNX
graph (same :attr:`~tftrt_kit.report.data.RouteResult.graph_fingerprint`) are said
to. The recommendation rests on such differences only.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

#: Speed ratios closer to 1 than this are reported as "the same speed", whatever the noise.
SAME_SPEED = 1.1

#: Max rel errors within this factor of each other are "as close" to the source.
SAME_ERROR = 2.0

#: Percentiles of the per-round ratios bounding their 95% interval.
INTERVAL = (2.5, 97.5)

_VERDICT_RANK = {"pass": 0, "inconclusive": 1, "warn": 1, "fail": 2, None: 1}


@dataclasses.dataclass(frozen=True)
class SpeedRatio:
    """Measured p50 latencies of two runs at one batch size, and how many times faster one was.

    When both were timed in the same interleaved rounds, ``paired`` is the median of
    the per-round ratios (slower over faster) and ``low``/``high`` their 95% interval;
    otherwise the ratio is the p50s' and no interval is known.
    """

    batch: int
    faster: str
    slower: str
    faster_ms: float
    slower_ms: float
    faster_executor: str
    slower_executor: str
    paired: float | None = None
    low: float | None = None
    high: float | None = None
    rounds: int | None = None

    @property
    def ratio(self) -> float:
        """How many times faster ``faster`` was: the paired median when rounds were paired, else p50 over p50."""
        return self.paired if self.paired is not None else self.slower_ms / self.faster_ms

    @property
    def beyond_noise(self) -> bool:
        """At least :data:`SAME_SPEED`, and (rounds paired) the whole 95% interval of per-round ratios above 1."""
        return self.ratio >= SAME_SPEED and (self.low is None or self.low > 1.0)

    def line(self) -> str:
        """One sentence, naming both executors and the spread."""
        fast = f"{self.faster} ({self.faster_executor}, p50 {self.faster_ms:.3g} ms)"
        slow = f"{self.slower} ({self.slower_executor}, p50 {self.slower_ms:.3g} ms)"
        spread = _spread(self.low, self.high, self.rounds)
        if not self.beyond_noise:
            ahead = f"{self.faster} ahead by {self.ratio:.2f}x" if self.paired is not None else f"{self.ratio:.2f}x"
            return f"batch {self.batch}: {fast} and {slow}: same speed ({ahead}{spread}: within the noise)"
        return f"batch {self.batch}: {fast} is {self.ratio:.2f}x faster than {slow}{spread}"


def _spread(low: float | None, high: float | None, rounds: int | None) -> str:
    if low is None or high is None:
        return ""
    return f"; median of {rounds} interleaved rounds, 95% interval {low:.2f}-{high:.2f}x"


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
        same_graph: One line per group of routes that run the same ONNX graph.
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
    same_graph: list[str] = dataclasses.field(default_factory=list)
    sizes: list[Delta] = dataclasses.field(default_factory=list)
    conversion: list[Delta] = dataclasses.field(default_factory=list)
    failed: dict[str, str] = dataclasses.field(default_factory=dict)
    recommendation: str = ""

    def lines(self) -> list[str]:
        """Every difference as one sentence, the recommendation last."""
        out = [f"{name} {error} (no figures)" for name, error in self.failed.items()]
        out += self.same_graph
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
    diff.same_graph = _same_graph(ok)
    measured = {name: r.accuracy for name, r in ok.items() if r.accuracy is not None}
    for name, acc in measured.items():
        diff.accuracy.append(
            f"{name} vs source on {acc.executor}: max rel error {acc.max_rel_error:.3g}, cosine {acc.cosine:.7f}, verdict {acc.verdict or '-'}"
        )
    diff.accuracy += [f"{name}: not evaluated: {r.details['not_evaluated']}" for name, r in ok.items() if r.details.get("not_evaluated")]
    if len(measured) > 1:
        ranked = sorted(measured.items(), key=lambda kv: kv[1].max_rel_error)
        (best, best_acc), (second, second_acc) = ranked[0], ranked[1]
        if best_acc.max_rel_error * SAME_ERROR < second_acc.max_rel_error:
            diff.closer = best
            diff.accuracy.append(
                f"closer to the source: {best} (max rel error {best_acc.max_rel_error:.3g} vs {second} {second_acc.max_rel_error:.3g})"
            )
        else:
            diff.accuracy.append(f"closer to the source: neither (max rel errors within {SAME_ERROR:g}x of each other)")
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
        paired = paired_ratio([la.round_p50_ms], [lb.round_p50_ms])
        a_faster = paired[0] < 1 if paired is not None else la.p50_ms <= lb.p50_ms
        (fast, fl), (slow, sl) = ((a_name, la), (b_name, lb)) if a_faster else ((b_name, lb), (a_name, la))
        median = low = high = rounds = None
        if paired is not None:
            median, low, high, rounds = paired if not a_faster else (1 / paired[0], 1 / paired[2], 1 / paired[1], paired[3])
        ratios.append(SpeedRatio(la.batch, fast, slow, fl.p50_ms, sl.p50_ms, fl.executor, sl.executor, median, low, high, rounds))
    return ratios


def paired_ratio(a: list[list[float]], b: list[list[float]]) -> tuple[float, float, float, int] | None:
    """Per-round ratio a/b (geometric mean over batches): its median and 95% interval.

    Args:
        a: Per batch, one run's per-round medians.
        b: Per batch, the other run's, timed in the same rounds.

    Returns:
        ``(median, low, high, rounds)``, or None when the rounds cannot be paired
        (fewer than 3, or unequal counts: figures not timed together).
    """
    import math

    counts = {len(x) for x in a + b}
    if len(counts) != 1 or min(counts) < 3:
        return None
    rounds = counts.pop()
    per_round = sorted(
        math.exp(sum(math.log(x[i] / y[i]) for x, y in zip(a, b)) / len(a))
        for i in range(rounds) if all(x[i] > 0 and y[i] > 0 for x, y in zip(a, b))
    )
    if len(per_round) < 3:
        return None
    return _percentile(per_round, 50), _percentile(per_round, INTERVAL[0]), _percentile(per_round, INTERVAL[1]), rounds


def _percentile(ordered: list[float], q: float) -> float:
    """Linear-interpolated percentile of sorted values (numpy's default method)."""
    position = (len(ordered) - 1) * q / 100
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _same_graph(routes: dict[str, Any]) -> list[str]:
    groups: dict[str, list[str]] = {}
    for name, route in routes.items():
        if route.graph_fingerprint:
            groups.setdefault(route.graph_fingerprint, []).append(name)
    return [
        f"{' and '.join(names)} run the same ONNX graph (fingerprint {fp[:12]}, names and metadata aside): "
        "a difference between them is the runtime around the graph, not the graph"
        for fp, names in groups.items() if len(names) > 1
    ]


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
    slower = [r for r in diff.versus_source if name is not None and r.slower == name and r.beyond_noise]
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
        batches = _common_batches(usable)
        paired = paired_ratio(
            [usable[second].latency_at(b).round_p50_ms for b in batches], [usable[fastest].latency_at(b).round_p50_ms for b in batches],
        )
        ratio, low = (paired[0], paired[1]) if paired is not None else (second_ms / fast_ms, None)
        if ratio >= SAME_SPEED and (low is None or low > 1.0):
            executors = " vs ".join(dict.fromkeys(usable[n].latency.executor for n in (fastest, second)))
            return fastest, (
                f"use {fastest}: {ratio:.2f}x faster than {second} (geometric mean over batches "
                f"{', '.join(map(str, batches))}{_spread(*paired[1:]) if paired else ''}; {executors}) with accuracy as good."
            )
    speed = "the same speed (no difference beyond the noise)" if speeds else "speed not measured"
    if diff.closer in usable:
        return diff.closer, f"use {diff.closer}: {speed}, and closer to the source{_measured_on(usable[diff.closer])}."
    smaller = _smaller(usable)
    if smaller:
        return smaller, f"use {smaller}: {speed} and as accurate, with the smallest artifact."
    return None, f"either of {', '.join(usable)}: {speed} and as accurate."


def _smaller(routes: dict[str, Any]) -> str | None:
    """The route whose artifact is clearly the smallest (by 10% or more), if one is (sizes do not vary between runs)."""
    sizes = {n: r.sizes.get("artifact_bytes") for n, r in routes.items()}
    if None in sizes.values():
        return None
    ranked = sorted(sizes, key=sizes.get)
    return ranked[0] if sizes[ranked[0]] * 1.1 <= sizes[ranked[1]] else None


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
