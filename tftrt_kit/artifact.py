"""Artifacts on disk: written whole or not at all, with a validated manifest.

A route writes into a temporary sibling of its output directory and renames it
into place at the end, so a crash or a kill never leaves a half-written artifact.
The manifest is plain JSON with a schema version; the files it names must lie
inside the artifact directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from tftrt_kit.errors import ArtifactError, OutputDirError

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
ROUTES = ("onnx", "segment")


@contextlib.contextmanager
def atomic_directory(target: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``target``; rename it to ``target`` on success.

    Args:
        target: Final directory.
        overwrite: Replace an existing non-empty ``target``.

    Raises:
        OutputDirError: ``target`` exists, is not empty, and ``overwrite`` is false.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise OutputDirError(f"Expected a directory path for the artifact. Received: {str(target)!r}, which is a file.")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise OutputDirError(
            f"Expected an empty or new output directory. Received: {str(target)!r}, which is not empty; "
            "pass overwrite=True (CLI: --overwrite) to replace it."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        yield staging
        if target.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, trash / "old")
            os.replace(staging, target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary sibling and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` (adds ``schema_version``) after validating it."""
    data = {"schema_version": MANIFEST_VERSION, **manifest}
    validate_manifest(data, directory)
    (directory / MANIFEST).write_text(json.dumps(data, indent=2, sort_keys=True))


def read_manifest(directory: Path) -> dict[str, Any]:
    """Read and validate an artifact's manifest.

    Raises:
        ArtifactError: missing directory or manifest, malformed JSON, unknown schema
            version or route, or a file path that leaves the artifact directory.
    """
    directory = Path(directory)
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ArtifactError(f"Expected a tftrt_kit artifact directory. Received: {str(directory)!r}, which is not a directory.")
    if not path.is_file():
        raise ArtifactError(f"Expected {MANIFEST} in the artifact directory. Received: {str(directory)!r} without one.")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArtifactError(f"Expected valid JSON in {str(path)!r}. Received: {err}") from err
    validate_manifest(data, directory)
    return data


def validate_manifest(data: Any, directory: Path) -> None:
    """Raise :class:`ArtifactError` unless ``data`` is a manifest this version can load."""
    where = str(Path(directory) / MANIFEST)
    if not isinstance(data, dict):
        raise ArtifactError(f"Expected a JSON object in {where!r}. Received: {type(data).__name__}.")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ArtifactError(f"Expected an integer schema_version in {where!r}. Received: schema_version={version!r}.")
    if version > MANIFEST_VERSION:
        raise ArtifactError(
            f"Expected manifest schema_version <= {MANIFEST_VERSION}. Received: {version} in {where!r}; "
            "upgrade tftrt_kit to load this artifact."
        )
    if data.get("route") not in ROUTES:
        raise ArtifactError(f"Expected route in {ROUTES} in {where!r}. Received: route={data.get('route')!r}.")
    for key, value in _file_entries(data):
        resolve_inside(directory, value, f"{where} [{key}]")


def _file_entries(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every ``*_file`` / ``files`` entry of a manifest, recursively."""
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else key
            if key.endswith("_file") and value is not None:
                if not isinstance(value, str):
                    raise ArtifactError(f"Expected a relative path string at {name}. Received: {value!r}.")
                yield name, value
            else:
                yield from _file_entries(value, name)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _file_entries(item, f"{prefix}[{index}]")


def resolve_inside(directory: Path, relative: str, where: str) -> Path:
    """``directory / relative``, refusing absolute paths and paths that leave ``directory``."""
    root = Path(directory).resolve()
    candidate = (root / relative).resolve()
    if Path(relative).is_absolute() or (candidate != root and root not in candidate.parents):
        raise ArtifactError(f"Expected a path inside the artifact directory at {where}. Received: {relative!r}.")
    return candidate
