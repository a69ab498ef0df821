"""The Report: what one ``convert()`` run measured, per route, and its renderings.

This module runs nothing: it holds figures measured elsewhere and renders them.
Every figure names the executor it was measured on.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from tftrt_kit.engines.tensorrt_builder import TensorRTCheck
from tftrt_kit.source import TensorSpec

SCHEMA_VERSION = 1


@dataclasses.dataclass
class Latency:
    """Latency of one executor at one batch size, in milliseconds."""

    executor: str
    batch: int
    p50_ms: float
    p90_ms: float | None = None
    p99_ms: float | None = None
    throughput: float | None = None
    iterations: int | None = None


@dataclasses.dataclass
class OutputError:
    """Error of one output against the source's output on the same inputs."""

    name: str
    max_abs_error: float
    max_rel_error: float
    mean_abs_error: float
    cosine: float
    top1_agreement: float | None = None
    top5_agreement: float | None = None


@dataclasses.dataclass
class Accuracy:
    """Agreement of a route's artifact with the source model.

    ``max_rel_error`` is the max abs error divided by the max |reference| of that
    output (errors on near-zero values say nothing); the route figures are the
    worst over outputs.
    """

    executor: str
    max_abs_error: float
    max_rel_error: float
    cosine: float
    per_output: dict[str, OutputError] = dataclasses.field(default_factory=dict)
    samples: int | None = None
    verdict: str | None = None


@dataclasses.dataclass
class Fallback:
    """Nodes of one op type the segment route left in TensorFlow, and why."""

    op_type: str
    count: int
    reason: str


@dataclasses.dataclass
class SegmentInfo:
    """One TensorRT segment of the segment route."""

    name: str
    nodes: int
    op_histogram: dict[str, int]
    inputs: list[str]
    outputs: list[str]
    tensorrt: TensorRTCheck | None = None
    executor: str | None = None


@dataclasses.dataclass
class RouteResult:
    """Outcome of one route. A route that failed or was skipped carries its reason and no figures."""

    name: str
    status: str = "ok"
    error: str | None = None
    artifact_dir: Path | None = None
    precision: str = "fp32"
    tensorrt: TensorRTCheck | None = None
    accuracy: Accuracy | None = None
    latency: Latency | None = None
    latencies: list[Latency] = dataclasses.field(default_factory=list)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    sizes: dict[str, int] = dataclasses.field(default_factory=dict)
    coverage: float | None = None
    flops_coverage: float | None = None
    segments: list[SegmentInfo] = dataclasses.field(default_factory=list)
    fallbacks: list[Fallback] = dataclasses.field(default_factory=list)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the route produced an artifact."""
        return self.status == "ok"


@dataclasses.dataclass
class SourceSummary:
    """The source model and TensorFlow's own latency on the same inputs."""

    description: str
    signature: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    nodes: int
    latency: Latency | None = None
    latencies: list[Latency] = dataclasses.field(default_factory=list)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Report:
    """Everything one ``convert()`` run measured. ``print(report)`` shows it as tables."""

    source: SourceSummary
    routes: dict[str, RouteResult]
    created: str = ""
    machine: dict[str, Any] = dataclasses.field(default_factory=dict)
    versions: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (paths as strings)."""
        data = dataclasses.asdict(self)
        for route in data["routes"].values():
            if route["artifact_dir"] is not None:
                route["artifact_dir"] = str(route["artifact_dir"])
        data["schema_version"] = SCHEMA_VERSION
        return data

    def to_json(self, path: str | Path | None = None) -> str:
        """Serialize to JSON; also write it atomically to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True)
        if path is not None:
            from tftrt_kit.artifact import write_text_atomic

            write_text_atomic(Path(path), text)
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Report":
        """Inverse of :meth:`to_dict`."""
        source = dict(data["source"])
        source["inputs"] = [TensorSpec.from_dict(s) for s in source["inputs"]]
        source["outputs"] = [TensorSpec.from_dict(s) for s in source["outputs"]]
        source["latency"] = _latency(source.get("latency"))
        source["latencies"] = [Latency(**x) for x in source.get("latencies", [])]
        routes = {name: _route(route) for name, route in data["routes"].items()}
        return cls(
            source=SourceSummary(**source),
            routes=routes,
            created=data.get("created", ""),
            machine=data.get("machine", {}),
            versions=data.get("versions", {}),
        )

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> "Report":
        """Read a report from a JSON string or file."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text()
        return cls.from_dict(json.loads(text))

    load = from_json

    def __str__(self) -> str:
        from tftrt_kit.render import render_text

        return render_text(self)

    def __repr__(self) -> str:
        states = ", ".join(f"{n}={r.status}" for n, r in self.routes.items())
        return f"Report(source={self.source.description!r}, routes=[{states}])"


def _latency(data: dict[str, Any] | None) -> Latency | None:
    return Latency(**data) if data else None


def _route(data: dict[str, Any]) -> RouteResult:
    fields = dict(data)
    fields["artifact_dir"] = Path(data["artifact_dir"]) if data.get("artifact_dir") else None
    fields["tensorrt"] = TensorRTCheck.from_dict(data["tensorrt"]) if data.get("tensorrt") else None
    if data.get("accuracy"):
        accuracy = dict(data["accuracy"])
        accuracy["per_output"] = {k: OutputError(**v) for k, v in accuracy["per_output"].items()}
        fields["accuracy"] = Accuracy(**accuracy)
    fields["latency"] = _latency(data.get("latency"))
    fields["latencies"] = [Latency(**x) for x in data.get("latencies", [])]
    fields["fallbacks"] = [Fallback(**x) for x in data.get("fallbacks", [])]
    fields["segments"] = [
        SegmentInfo(**{**s, "tensorrt": TensorRTCheck.from_dict(s["tensorrt"]) if s.get("tensorrt") else None})
        for s in data.get("segments", [])
    ]
    return RouteResult(**fields)
