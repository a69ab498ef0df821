"""The Report: what one ``convert()`` run measured, per route, and its renderings.

This module runs nothing: it holds figures measured elsewhere and renders them.
Every figure names the executor it was measured on.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from tftrt_kit.report.measures import Accuracy, Latency, OutputError, Thresholds
from tftrt_kit.report.stages import OUTCOMES, StageRecord, stages_from_dict
from tftrt_kit.report.tensorrt import TensorRTCheck
from tftrt_kit.source import TensorSpec

SCHEMA_VERSION = 1

#: Stages that measure an artifact rather than make it; excluded from conversion time.
MEASUREMENT_STAGES = ("load artifact", "evaluate", "benchmark")


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
    """Outcome of one route. A route that failed or was skipped carries its reason and no figures.

    ``graph_fingerprint`` identifies the ONNX graph that runs the whole model (names and
    metadata aside; :mod:`tftrt_kit.graph_fingerprint`), when one does: two routes with the
    same fingerprint run the same graph.
    """

    name: str
    status: str = "ok"
    error: str | None = None
    artifact_dir: Path | None = None
    precision: str = "fp32"
    tensorrt: TensorRTCheck | None = None
    accuracy: Accuracy | None = None
    latency: Latency | None = None
    latencies: list[Latency] = dataclasses.field(default_factory=list)
    stages: list[StageRecord] = dataclasses.field(default_factory=list)
    sizes: dict[str, int] = dataclasses.field(default_factory=dict)
    coverage: float | None = None
    flops_coverage: float | None = None
    graph_fingerprint: str | None = None
    segments: list[SegmentInfo] = dataclasses.field(default_factory=list)
    fallbacks: list[Fallback] = dataclasses.field(default_factory=list)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the route produced an artifact."""
        return self.status == "ok"

    def add_stage(self, name: str, seconds: float, outcome: str = "ok", error: str | None = None) -> StageRecord:
        """Record a stage that ran (in order); ``error`` says why it failed or was skipped."""
        if outcome not in OUTCOMES:
            from tftrt_kit.errors import ConfigError

            raise ConfigError(f"Expected a stage outcome in {OUTCOMES}. Received: outcome={outcome!r}.")
        record = StageRecord(name, seconds, outcome, error)
        self.stages.append(record)
        return record

    @property
    def timings(self) -> dict[str, float]:
        """Seconds per stage name, in the order the stages ran (a repeated stage adds up)."""
        found: dict[str, float] = {}
        for record in self.stages:
            found[record.name] = found.get(record.name, 0.0) + record.seconds
        return found

    @property
    def failed_stage(self) -> StageRecord | None:
        """The stage that failed, when one did."""
        return next((s for s in self.stages if s.outcome == "failed"), None)

    @property
    def conversion_seconds(self) -> float | None:
        """Seconds of the stages that made the artifact (evaluation and benchmark excluded)."""
        spent = [s for name, s in self.timings.items() if name not in MEASUREMENT_STAGES]
        return sum(spent) if spent else None

    def latency_at(self, batch: int) -> Latency | None:
        """The measured latency at ``batch``, if that batch was measured."""
        return next((x for x in self.latencies if x.batch == batch), None)


@dataclasses.dataclass
class SourceSummary:
    """The source model and TensorFlow's own latency on the same inputs.

    ``profiles`` is the :meth:`~tftrt_kit.profiles.ProfilePlan.to_dict` of the shapes the
    plans were built for (and why none could be, when a dynamic dim had no size).
    """

    description: str
    signature: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    nodes: int
    latency: Latency | None = None
    latencies: list[Latency] = dataclasses.field(default_factory=list)
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    profiles: dict[str, Any] = dataclasses.field(default_factory=dict)

    def latency_at(self, batch: int) -> Latency | None:
        """TensorFlow's measured latency at ``batch``, if that batch was measured."""
        return next((x for x in self.latencies if x.batch == batch), None)


@dataclasses.dataclass
class Report:
    """Everything one ``convert()`` run measured. ``print(report)`` shows it as tables.

    ``output_dir`` holds the route artifacts (``<output_dir>/<route>``); ``temporary``
    says it is a temporary directory removed when the Python process that wrote it exits.
    """

    source: SourceSummary
    routes: dict[str, RouteResult]
    created: str = ""
    machine: dict[str, Any] = dataclasses.field(default_factory=dict)
    versions: dict[str, str] = dataclasses.field(default_factory=dict)
    output_dir: Path | None = None
    temporary: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dict (paths as strings)."""
        data = dataclasses.asdict(self)
        data["output_dir"] = str(self.output_dir) if self.output_dir is not None else None
        for name, route in data["routes"].items():
            if route["artifact_dir"] is not None:
                route["artifact_dir"] = str(route["artifact_dir"])
            # Each TensorRT check with its plan status ("no plan: <TensorRT's message>").
            result = self.routes[name]
            if result.tensorrt is not None:
                route["tensorrt"] = result.tensorrt.to_dict()
            for segment, info in zip(route["segments"], result.segments):
                if info.tensorrt is not None:
                    segment["tensorrt"] = info.tensorrt.to_dict()
        data["schema_version"] = SCHEMA_VERSION
        return data

    def to_json(self, path: str | Path | None = None) -> str:
        """Serialize to JSON (routes and stages keep their order); also write it atomically to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            from tftrt_kit._files import write_text_atomic

            write_text_atomic(Path(path), text)
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Report":
        """Inverse of :meth:`to_dict`.

        Raises:
            ArtifactError: ``data`` is not a report of a schema version this tftrt_kit reads.
        """
        from tftrt_kit.errors import ArtifactError

        version = data.get("schema_version", SCHEMA_VERSION) if isinstance(data, dict) else None
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ArtifactError(f"Expected a tftrt_kit report of schema_version <= {SCHEMA_VERSION}. Received: schema_version={version!r}.")
        try:
            return cls._from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ArtifactError(f"Expected a tftrt_kit report (Report.to_json). Received: JSON missing or mistyping {err}.") from err

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> "Report":
        source = dict(data["source"])
        source["inputs"] = [TensorSpec.from_dict(s) for s in source["inputs"]]
        source["outputs"] = [TensorSpec.from_dict(s) for s in source["outputs"]]
        source["latency"] = _latency(source.get("latency"))
        source["latencies"] = [Latency(**x) for x in source.get("latencies", [])]
        routes = {name: _route(route) for name, route in data["routes"].items()}
        return cls(
            source=SourceSummary(**source),
            routes=routes,
            output_dir=Path(data["output_dir"]) if data.get("output_dir") else None,
            temporary=bool(data.get("temporary", False)),
            created=data.get("created", ""),
            machine=data.get("machine", {}),
            versions=data.get("versions", {}),
        )

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> "Report":
        """Read a report from a JSON string or file."""
        from tftrt_kit.errors import ArtifactError

        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            try:
                text = Path(text_or_path).read_text()
            except (OSError, UnicodeDecodeError) as err:
                raise ArtifactError(f"Expected a readable report JSON file. Received: {text!r} ({err}).") from err
        try:
            data = json.loads(text)
        except ValueError as err:
            raise ArtifactError(f"Expected report JSON. Received: {err}.") from err
        return cls.from_dict(data)

    load = from_json

    @property
    def differences(self) -> Any:
        """How the routes differ, computed from the measured figures (:class:`~tftrt_kit.report.differences.Differences`)."""
        from tftrt_kit.report.differences import compute_differences

        return compute_differences(self)

    def __str__(self) -> str:
        from tftrt_kit.report.text import render_text

        return render_text(self)

    def to_markdown(self, path: str | Path | None = None) -> str:
        """The report as GitHub-flavoured Markdown; also written atomically to ``path`` when given."""
        from tftrt_kit.report.markdown import render_markdown

        return _written(render_markdown(self), path)

    def _repr_html_(self) -> str:
        """HTML fragment for Jupyter (self-contained: inline styles, no external assets)."""
        from tftrt_kit.report.html import render_html_fragment

        return render_html_fragment(self)

    def to_html(self, path: str | Path | None = None, *, plot: bool = True) -> str:
        """A full self-contained HTML page; also written atomically to ``path`` when given.

        Args:
            path: File to write.
            plot: Embed :meth:`plot` as an inline PNG when matplotlib is installed.
        """
        from tftrt_kit.report.html import render_html_page

        return _written(render_html_page(self, plot=plot), path)

    def plot(self, path: str | Path | None = None) -> Any:
        """Latency per route and executor across batch sizes, TensorRT coverage and error, as a matplotlib Figure.

        Args:
            path: Also save the figure there as PNG.

        Returns:
            The ``matplotlib.figure.Figure``.

        Raises:
            MissingDependencyError: matplotlib is not installed (extra ``plot``).
        """
        from tftrt_kit.report.plot import plot_report

        return plot_report(self, path)

    def __repr__(self) -> str:
        states = ", ".join(f"{n}={r.status}" for n, r in self.routes.items())
        return f"Report(source={self.source.description!r}, routes=[{states}])"


def _written(text: str, path: str | Path | None) -> str:
    if path is not None:
        from tftrt_kit._files import write_text_atomic

        write_text_atomic(Path(path), text)
    return text


def _latency(data: dict[str, Any] | None) -> Latency | None:
    return Latency(**data) if data else None


def _route(data: dict[str, Any]) -> RouteResult:
    fields = dict(data)
    fields["artifact_dir"] = Path(data["artifact_dir"]) if data.get("artifact_dir") else None
    fields["tensorrt"] = TensorRTCheck.from_dict(data["tensorrt"]) if data.get("tensorrt") else None
    if data.get("accuracy"):
        accuracy = dict(data["accuracy"])
        accuracy["per_output"] = {k: OutputError.from_dict(v) for k, v in accuracy["per_output"].items()}
        accuracy["thresholds"] = Thresholds(**accuracy["thresholds"]) if accuracy.get("thresholds") else None
        fields["accuracy"] = Accuracy(**accuracy)
    fields["latency"] = _latency(data.get("latency"))
    fields["latencies"] = [Latency(**x) for x in data.get("latencies", [])]
    fields["stages"] = stages_from_dict(data)
    fields.pop("timings", None)
    fields["fallbacks"] = [Fallback(**x) for x in data.get("fallbacks", [])]
    fields["segments"] = [
        SegmentInfo(**{**s, "tensorrt": TensorRTCheck.from_dict(s["tensorrt"]) if s.get("tensorrt") else None})
        for s in data.get("segments", [])
    ]
    return RouteResult(**fields)
