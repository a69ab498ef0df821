"""``tftrt_kit.triton.export``: a Triton model repository from tftrt_kit artifacts.

Layout (Triton's): ``<repository>/<model>/config.pbtxt`` and ``<repository>/<model>/1/<file>``.

- onnx route: ``<name>`` (platform ``onnxruntime_onnx``, ``model.onnx``, CPU instances),
  which serves on any Triton; and, when the artifact holds a TensorRT plan,
  ``<name>_trt`` (platform ``tensorrt_plan``, ``model.plan``, GPU instances).
- segment route: ``<name>`` (Python backend, ``model.py`` + ``artifact/``), which runs
  the artifact through ``tftrt_kit.load()``.

Every config is validated against Triton's schema before anything is written, and the
repository is written whole into a staging directory renamed into place at the end.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

from tftrt_kit.errors import ArtifactError, ConfigError
from tftrt_kit.routes.registry import route_entry
from tftrt_kit.runtime.artifact import atomic_directory, read_manifest, write_text_atomic
from tftrt_kit.source import TensorSpec
from tftrt_kit.triton.config import BatchingOptions, ModelConfig, parse_config, triton_dtype

VERSION = "1"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclasses.dataclass
class RepositoryModel:
    """One model written into a Triton repository.

    Attributes:
        name: The model's name (its directory).
        route: The tftrt_kit route of the artifact it serves.
        runs_on: ``onnxruntime_onnx``, ``tensorrt_plan`` or ``python``.
        kind: ``KIND_CPU`` or ``KIND_GPU``.
        max_batch_size: Triton's ``max_batch_size`` (0: static batch, no batching).
        config_file: Its ``config.pbtxt``.
    """

    name: str
    route: str
    runs_on: str
    kind: str
    max_batch_size: int
    config_file: Path


@dataclasses.dataclass
class TritonRepository:
    """What :func:`export` wrote.

    Attributes:
        path: The repository directory (``tritonserver --model-repository=<path>``).
        models: The models it holds.
        skipped: Models not written, with why (a TensorRT-RTX plan, which Triton cannot load).
    """

    path: Path
    models: list[RepositoryModel]
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"Triton model repository {self.path}"]
        lines += [f"  {m.name}: {m.runs_on}, {m.kind}, max_batch_size {m.max_batch_size}" for m in self.models]
        lines += [f"  {name}: not written ({reason})" for name, reason in self.skipped.items()]
        return "\n".join(lines)


@dataclasses.dataclass
class PlannedModel:
    """A model a route's Triton exporter plans to write: its config and the files to copy into its version folder."""

    config: ModelConfig
    route: str
    runs_on: str
    files: dict[str, Path]
    trees: dict[str, Path] = dataclasses.field(default_factory=dict)
    text: str = ""


def export(
    artifact_or_report: Any,
    repository_dir: str | Path,
    *,
    name: str | None = None,
    max_batch_size: int = 16,
    instances: int = 1,
    dynamic_batching: bool = True,
    preferred_batch_sizes: tuple[int, ...] | None = None,
    max_queue_delay_us: int = 2000,
    overwrite: bool = False,
) -> TritonRepository:
    """Write a Triton model repository serving an artifact (or every ok route of a report).

    Args:
        artifact_or_report: An artifact directory (``<output_dir>/onnx`` or
            ``<output_dir>/segment``) or a :class:`~tftrt_kit.report.Report`.
        repository_dir: The repository to write (created; replaced only with ``overwrite``).
        name: Model name; default: the source model's name. With a report, each route's
            models are named ``<name>_<route>``.
        max_batch_size: Largest batch Triton forms (capped for a plan at its profile's maximum).
        instances: Model instances per device.
        dynamic_batching: Let Triton merge concurrent requests.
        preferred_batch_sizes: Batch sizes the batcher aims for (default: powers of two up to the maximum).
        max_queue_delay_us: How long a request waits for others to join its batch.
        overwrite: Replace an existing non-empty ``repository_dir``.

    Returns:
        The :class:`TritonRepository` written.

    Raises:
        ArtifactError: an artifact is missing or malformed, or a report has no ok route.
        ModelConfigError: a generated config does not parse against Triton's schema.
        OutputDirError: ``repository_dir`` exists, is not empty and ``overwrite`` is false.
        ConfigError: a bad name or batching option.
        MissingDependencyError: ``tritonclient`` (extra ``serve``) is not installed.

    Example:
        >>> report = tftrt_kit.convert("model/", routes=("onnx", "segment"))      # doctest: +SKIP
        >>> print(tftrt_kit.triton.export(report, "model_repository"))           # doctest: +SKIP
    """
    batching = BatchingOptions(max_batch_size, instances, dynamic_batching, preferred_batch_sizes, max_queue_delay_us)
    artifacts = _artifacts(artifact_or_report)
    planned: list[PlannedModel] = []
    skipped: dict[str, str] = {}
    for route, directory in artifacts:
        manifest = read_manifest(directory)
        base = _model_name(name, manifest)
        if len(artifacts) > 1:
            base = f"{base}_{route}"
        planned += route_entry(manifest["route"]).export_triton()(base, directory, manifest, batching, skipped)
    names = [p.config.name for p in planned]
    if len(set(names)) != len(names):
        raise ConfigError(f"Expected distinct model names in one repository. Received: {names}.")
    for plan in planned:
        plan.text = plan.config.to_pbtxt()
        parse_config(plan.text, plan.config.name)
    target = Path(repository_dir)
    with atomic_directory(target, overwrite=overwrite) as staging:
        for plan in planned:
            version = staging / plan.config.name / VERSION
            version.mkdir(parents=True)
            for file_name, source in plan.files.items():
                shutil.copyfile(source, version / file_name)
            for tree_name, source in plan.trees.items():
                shutil.copytree(source, version / tree_name, symlinks=False)
            write_text_atomic(staging / plan.config.name / "config.pbtxt", plan.text)
    models = [
        RepositoryModel(p.config.name, p.route, p.runs_on, "KIND_GPU" if p.config.gpu else "KIND_CPU",
                        p.config.max_batch_size, target / p.config.name / "config.pbtxt")
        for p in planned
    ]
    return TritonRepository(target, models, skipped)


def _artifacts(artifact_or_report: Any) -> list[tuple[str | None, Path]]:
    routes = getattr(artifact_or_report, "routes", None)
    if routes is None:
        return [(None, Path(artifact_or_report))]
    found = [(route, result.artifact_dir) for route, result in routes.items() if result.ok and result.artifact_dir]
    if not found:
        states = {route: result.status for route, result in routes.items()}
        raise ArtifactError(f"Expected a report with at least one ok route that wrote an artifact. Received: routes {states}.")
    return found


def _model_name(name: str | None, manifest: dict) -> str:
    if name is None:
        # The manifest's source is "keras.Model 'resnet50'" or a SavedModel / .keras path.
        quoted = re.search(r"'([^']+)'", manifest["source"])
        stem = quoted.group(1) if quoted else Path(manifest["source"].rstrip("/")).stem
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip(".-") or "model"
    if not _NAME.match(name):
        raise ConfigError(f"Expected a model name of letters, digits, '_', '.' and '-'. Received: name={name!r}.")
    return name


def _specs(manifest: dict) -> tuple[list[TensorSpec], list[TensorSpec], bool]:
    inputs = [TensorSpec.from_dict(s) for s in manifest["inputs"]]
    outputs = [TensorSpec.from_dict(s) for s in manifest["outputs"]]
    batched = all(s.has_dynamic_batch for s in (*inputs, *outputs))
    return inputs, outputs, batched


def onnx_models(base: str, directory: Path, manifest: dict, batching: BatchingOptions, skipped: dict[str, str]) -> list[PlannedModel]:
    """The onnx route's Triton exporter: an ONNX Runtime model, and a TensorRT plan model when Triton can load the plan."""
    inputs, outputs, batched = _specs(manifest)
    onnx_file = directory / manifest["onnx_file"]
    dtypes = _onnx_dtypes(onnx_file, inputs, outputs)
    notes = (f"tftrt_kit onnx route, precision {manifest['precision']}, source {manifest['source']}",
             "ONNX Runtime backend: serves on CPU-only and GPU Triton alike.")
    files = {"model.onnx": onnx_file}
    if manifest.get("onnx_data_file"):  # external data, whose location inside model.onnx is "model.onnx.data"
        files[manifest["onnx_data_file"]] = directory / manifest["onnx_data_file"]
    models = [PlannedModel(ModelConfig(base, inputs, outputs, platform="onnxruntime_onnx", batched=batched, batching=batching,
                                   notes=notes, dtypes=dtypes), "onnx", "onnxruntime_onnx", files)]
    plan_file, module = manifest.get("plan_file"), manifest.get("plan_backend")
    if not plan_file:
        return models
    trt_name = f"{base}_trt"
    built_by = (manifest.get("tensorrt") or {}).get("backend") or module
    if module != "tensorrt":
        skipped[trt_name] = (f"the plan was built by {built_by}; Triton's tensorrt_plan platform loads plans of NVIDIA "
                             f"TensorRT only (serve {base} on ONNX Runtime, or convert with backend='tensorrt')")
        return models
    profile_max = plan_max_batch(manifest)
    if profile_max is None:
        skipped[trt_name] = ("the manifest records no optimization profile for the plan, so the largest batch it takes is "
                             f"unknown (serve {base} on ONNX Runtime, or convert again with this tftrt_kit)")
        return models
    trt_batching = dataclasses.replace(
        batching, max_batch_size=min(batching.max_batch_size, profile_max),
        preferred_batch_sizes=tuple(b for b in batching.preferred_batch_sizes or () if b <= profile_max) or None,
    )
    trt_notes = (
        f"TensorRT plan built by {built_by}: a plan runs only on the GPU model and TensorRT version that built it.",
        "Serve it with a Triton release shipping that TensorRT version on that GPU, or rebuild it there:",
        f"  trtexec --onnx=../{base}/1/model.onnx --saveEngine=1/model.plan  (with the same batch profile)",
        f"max_batch_size is capped at the plan's optimization profile maximum ({profile_max}).",
    )
    plan_inputs = profile_dims(inputs, (manifest.get("tensorrt") or {}).get("profiles") or [])
    models.append(PlannedModel(ModelConfig(trt_name, plan_inputs, outputs, platform="tensorrt_plan", batched=batched, batching=trt_batching,
                                       gpu=True, notes=trt_notes, dtypes=dtypes), "onnx", "tensorrt_plan",
                           {"model.plan": directory / plan_file}))
    return models


def plan_max_batch(manifest: dict[str, Any]) -> int | None:
    """The largest batch the artifact's plan takes: over its profiles, the most any profile's maxima allow.

    Read from ``manifest["tensorrt"]["profiles"]`` (``[{input: {"min", "opt", "max"}}]``); None
    when the manifest records no profile with a batch dimension.
    """
    profiles = (manifest.get("tensorrt") or {}).get("profiles") or []
    caps = []
    for profile in profiles:
        batches = [shapes["max"][0] for shapes in profile.values() if shapes.get("max")]
        if batches:
            caps.append(min(int(b) for b in batches))
    return max(caps) if caps else None


def profile_dims(inputs: list[TensorSpec], profiles: list[dict[str, Any]]) -> list[TensorSpec]:
    """``inputs`` with each dynamic non-batch dim that every profile fixes (min = max, the same size) set to that size.

    A plan built for 224x224 images only takes 224x224: its Triton config says so
    rather than ``-1``, and Triton refuses other sizes before they reach the plan.
    """
    out = []
    for spec in inputs:
        ranges = [p[spec.name] for p in profiles if spec.name in p]
        if spec.shape is None or not ranges or len(ranges) != len(profiles):
            out.append(spec)
            continue
        dims = list(spec.shape)
        for i in range(1, len(dims)):
            sizes = {(r["min"][i], r["max"][i]) for r in ranges}
            if dims[i] is None and len(sizes) == 1 and len({*next(iter(sizes))}) == 1:
                dims[i] = int(next(iter(sizes))[0])
        out.append(TensorSpec(spec.name, spec.dtype, tuple(dims)))
    return out


def _onnx_dtypes(path: Path, inputs: list[TensorSpec], outputs: list[TensorSpec]) -> dict[str, str]:
    """Triton types of the ONNX graph's inputs and outputs, which the backend checks the config against."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    found = {v.name: v.type.tensor_type.elem_type for v in (*graph.input, *graph.output)}
    missing = [s.name for s in (*inputs, *outputs) if s.name not in found]
    if missing:
        raise ArtifactError(f"Expected the ONNX model {str(path)!r} to have the manifest's tensors. Received: no {missing} in it.")
    return {s.name: triton_dtype(onnx.helper.tensor_dtype_to_np_dtype(found[s.name]).name) for s in (*inputs, *outputs)}


def segment_model(base: str, directory: Path, manifest: dict, batching: BatchingOptions, skipped: dict[str, str]) -> list[PlannedModel]:
    """The segment route's Triton exporter: a Python-backend model running the artifact through ``tftrt_kit.load()``."""
    from tftrt_kit.triton import model_py

    inputs, outputs, batched = _specs(manifest)
    gpu = any(part.get("plan_file") for part in manifest["parts"])
    notes = (
        f"tftrt_kit segment route, precision {manifest['precision']}, source {manifest['source']}",
        "Python backend: 1/model.py runs 1/artifact with tftrt_kit.load(); the Python running it needs tftrt_kit installed.",
    )
    if gpu:
        notes += ("KIND_GPU: the artifact holds TensorRT plans. On a CPU-only Triton use KIND_CPU (segments then run on ONNX Runtime).",)
    config = ModelConfig(base, inputs, outputs, backend="python", batched=batched, batching=batching, gpu=gpu, notes=notes)
    return [PlannedModel(config, "segment", "python", {"model.py": Path(model_py.__file__)}, {"artifact": directory})]
