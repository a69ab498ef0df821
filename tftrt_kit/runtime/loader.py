"""``tftrt_kit.load``: run a written artifact, on the best executor this machine has.

The artifact's manifest names its route; the route's registry entry names the loader.
Each model part (the whole ONNX model, or one segment) runs on an executor of the
executor registry (:mod:`tftrt_kit.engines.executors`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from tftrt_kit.engines.executors import AUTO, EXECUTORS, Executor, check_executor
from tftrt_kit.errors import ArtifactError, TftrtKitError
from tftrt_kit.routes.registry import route_entry
from tftrt_kit.runtime.artifact import read_manifest, resolve_inside
from tftrt_kit.runtime.inputs import InputChecker
from tftrt_kit.source import TensorSpec


def load(artifact_dir: str | Path, *, executor: str = AUTO) -> Any:
    """Load an artifact written by ``convert()`` as a callable model.

    Args:
        artifact_dir: The route's artifact directory (``<output_dir>/onnx`` or ``<output_dir>/segment``).
        executor: ``"auto"`` (TensorRT where a GPU and a matching plan exist, else ONNX
            Runtime), or a registered executor's name to force it: ``"tensorrt"``,
            ``"onnxruntime"``, ``"tensorflow"`` (see :mod:`tftrt_kit.engines.executors`).

    Returns:
        A callable taking ``{input name: array}`` (or keyword arrays) and returning
        ``{output name: array}``; its ``repr`` names the executor it runs on.

    Raises:
        ArtifactError: the directory or its manifest is missing, malformed or unsafe.
        ConfigError: an unknown executor.

    Example:
        >>> model = tftrt_kit.load("out/onnx")                    # doctest: +SKIP
        >>> model(input_layer=x)["output_0"]                      # doctest: +SKIP
    """
    check_executor(executor)
    directory = Path(artifact_dir)
    manifest = read_manifest(directory)
    return route_entry(manifest["route"]).load_artifact()(directory, manifest, executor)


def open_runner(
    directory: Path, entry: Mapping[str, Any], executor: str, where: str, native: Callable[..., Any] | None = None
) -> Any:
    """The runner of one model part: on ``executor``, or under ``auto`` on the first executor that can run it here.

    Under ``auto``, executors are tried in registration order (TensorRT, ONNX Runtime,
    TensorFlow), skipping those the part has no file for and those unusable on this
    machine; one that fails to open is passed over with a warning naming why.

    Args:
        directory: Directory the entry's file names are relative to.
        entry: The part's manifest fields (``onnx_file``, ``plan_file``, ``plan_backend``, ...).
        executor: ``auto`` or a registered executor's name.
        where: What the part is (artifact or segment), for messages.
        native: The part's native TensorFlow function, when it has one.

    Returns:
        A runner taking ``{tensor name: array}`` and returning outputs by name.

    Raises:
        ArtifactError: the part has nothing ``executor`` can run, or its file does not load.
        EngineBuildError: a forced ``tensorrt`` whose plan cannot run here.
    """
    if executor == AUTO:
        candidates = [e for e in EXECUTORS.values() if _target(e, directory, entry, native) is not None and e.usable()]
    else:
        candidates = [EXECUTORS[check_executor(executor)]]
        if _target(candidates[0], directory, entry, native) is None:
            raise ArtifactError(
                f"Expected {where} to hold {_needs(candidates[0])} for executor {executor!r}. Received: an artifact without one."
            )
    if not candidates:
        raise ArtifactError(f"Expected {where} to hold a file an executor here can run. Received: {sorted(entry)}.")
    for candidate, following in zip(candidates, candidates[1:]):
        try:
            return candidate.open(_target(candidate, directory, entry, native), entry)
        except TftrtKitError as err:
            warnings.warn(f"{where}: {candidate.title} not usable here ({err}); running on {following.title}.", RuntimeWarning, stacklevel=3)
    last = candidates[-1]
    return last.open(_target(last, directory, entry, native), entry)


def close_runner(runner: Any) -> None:
    """Close ``runner`` if its executor holds resources (TensorRT's device memory, ONNX Runtime's session)."""
    close = getattr(runner, "close", None)
    if close is not None:
        close()


def _target(executor: Executor, directory: Path, entry: Mapping[str, Any], native: Callable[..., Any] | None) -> Any:
    """What ``executor`` would run: the part's file (checked inside the artifact) or native function; None if absent."""
    if executor.file_field is None:
        return native
    name = entry.get(executor.file_field)
    return resolve_inside(directory, name, executor.file_field) if name else None


def _needs(executor: Executor) -> str:
    return f"a {executor.file_field}" if executor.file_field else "a native TensorFlow function"


class OnnxArtifactModel:
    """A loaded onnx-route artifact: one ONNX model, one executor.

    Args:
        directory: The artifact directory.
        manifest: Its validated manifest.
        executor: ``auto`` or a registered executor (see :func:`load`).

    Raises:
        ArtifactError: the ONNX model does not load, or the executor has nothing to run (no plan, no TF graph).
        EngineBuildError: ``executor="tensorrt"`` and the plan cannot run here.
    """

    def __init__(self, directory: Path, manifest: dict, executor: str):
        self.directory = directory
        self.manifest = manifest
        self.inputs = [TensorSpec.from_dict(s) for s in manifest["inputs"]]
        self.outputs = [TensorSpec.from_dict(s) for s in manifest["outputs"]]
        self._check = InputChecker(self.inputs)
        self.runner = open_runner(self.directory, self.manifest, executor, str(self.directory))
        self.executor = self.runner.name

    def __call__(self, feeds: Mapping[str, Any] | np.ndarray | None = None, **kwargs: Any) -> dict[str, np.ndarray]:
        """Run on ``feeds`` (a dict, or the array of a single-input model) or keyword arrays.

        Returns:
            Outputs by name.

        Raises:
            RuntimeInputError: the inputs do not match the model's (see :class:`InputChecker`).
        """
        return self.runner(self._check(feeds, kwargs))

    def close(self) -> None:
        """Release what the executor holds (TensorRT: device memory, stream, context). Idempotent."""
        close_runner(self.runner)

    def __enter__(self) -> "OnnxArtifactModel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        ins = ", ".join(f"{s.name}{s.shape_text}" for s in self.inputs)
        return f"OnnxArtifactModel({str(self.directory)!r}, executor={self.executor!r}, inputs=[{ins}])"
