"""Artifacts on disk: written whole or not at all, with a validated manifest.

A route writes into a temporary sibling of its output directory
(``.<name>.partial-<pid>-<random>``), flushes it to disk and renames it into place
at the end, so a crash or a kill never leaves a half-written artifact. Staging
directories left behind by a killed process are removed by the next write to the
same target.

The manifest is plain JSON (never pickle) with a ``schema_version``. Its schema is
checked field by field: the fields every manifest holds, then those its route's
registry entry declares; fields it does not know are
tolerated, so a newer tftrt_kit may add optional fields without a version bump,
while any breaking change bumps :data:`MANIFEST_VERSION`. Every ``*_file`` (a
relative path string or null) and ``*_files`` (a list of them) entry, at any
depth and in known or unknown fields, must name a file inside the artifact
directory: absolute paths, ``..`` and symlinks that leave it are refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from tftrt_kit._files import fsync_directory, umask, write_text_atomic
from tftrt_kit.errors import ArtifactError, OutputDirError
from tftrt_kit.routes.registry import routes
from tftrt_kit.runtime.manifest_schema import SHARED

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
SEGMENT_ASSETS = Path("assets") / "tftrt_kit"
_PARTIAL = "partial"
_OLD = "old"


@contextlib.contextmanager
def atomic_directory(target: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``target``; flush it and rename it to ``target`` on success.

    On any exception (or a kill) ``target`` is left as it was: the previous
    artifact, or nothing. Siblings of the same directory (other routes) are never
    touched, except stale staging directories of ``target`` left by dead processes.

    Args:
        target: Final directory.
        overwrite: Replace an existing non-empty ``target``.

    Yields:
        The staging directory to write the artifact into.

    Raises:
        OutputDirError: ``target`` is a file, or exists, is not empty and ``overwrite`` is false.
    """
    target = Path(target)
    check_output_dir(target, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target)
    staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(target, _PARTIAL), dir=target.parent))
    os.chmod(staging, 0o777 & ~umask())  # mkdtemp makes it private; an artifact is shared like any directory
    try:
        yield staging
        _fsync_tree(staging)
        if target.exists():
            trash = Path(tempfile.mkdtemp(prefix=_staging_prefix(target, _OLD), dir=target.parent))
            os.replace(target, trash / _OLD)
            os.replace(staging, target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(staging, target)
        fsync_directory(target.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_output_dir(target: Path, *, overwrite: bool = False) -> None:
    """Refuse an artifact target that would be clobbered; cheap, so call it before long work.

    Args:
        target: The route's artifact directory (``<output_dir>/<route>``).
        overwrite: Whether an existing non-empty ``target`` may be replaced.

    Raises:
        OutputDirError: ``target`` is a file, or is a non-empty directory and ``overwrite`` is false.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise OutputDirError(f"Expected a directory path for the artifact. Received: {str(target)!r}, which is a file.")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise OutputDirError(
            f"Expected an empty or new output directory. Received: {str(target)!r}, which is not empty; "
            "pass overwrite=True (CLI: --overwrite) to replace it."
        )


def remove_stale_staging(target: Path) -> list[Path]:
    """Clean up after processes killed while writing ``target``.

    A staging directory ``.<name>.partial-<pid>-*`` whose process is gone is
    deleted. A ``.<name>.old-<pid>-*`` directory of a dead process holds the
    previous artifact, moved aside just before the new one was renamed in: it is
    restored when ``target`` is absent (the kill fell between the two renames),
    else deleted.

    Args:
        target: The artifact directory whose stale siblings to clean.

    Returns:
        The stale directories that were removed or restored.
    """
    target = Path(target)
    if not target.parent.is_dir():
        return []
    cleaned = []
    for kind in (_OLD, _PARTIAL):
        for path in sorted(target.parent.glob(f".{target.name}.{kind}-*")):
            if not path.is_dir() or _pid_alive(_pid_of(path.name, target.name, kind)):
                continue
            previous = path / _OLD
            if kind == _OLD and previous.is_dir() and not target.exists():
                os.replace(previous, target)
            shutil.rmtree(path, ignore_errors=True)
            cleaned.append(path)
    return cleaned


def _staging_prefix(target: Path, kind: str) -> str:
    return f".{target.name}.{kind}-{os.getpid()}-"


def _pid_of(name: str, target_name: str, kind: str) -> int | None:
    rest = name[len(f".{target_name}.{kind}-"):]
    pid = rest.split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def _pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_tree(root: Path) -> None:
    """Flush every file and directory under ``root``, so the rename publishes data, not holes."""
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
        fsync_directory(Path(directory))


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Validate ``manifest`` (adding ``schema_version``) and write it as ``manifest.json``.

    Args:
        directory: The (staging) artifact directory.
        manifest: The route's manifest fields.

    Raises:
        ArtifactError: the manifest does not satisfy its route's schema.
    """
    data = {"schema_version": MANIFEST_VERSION, **manifest}
    validate_manifest(data, directory)
    write_text_atomic(Path(directory) / MANIFEST, json.dumps(data, indent=2, sort_keys=True))


def manifest_path(directory: Path) -> Path:
    """Where an artifact keeps its manifest: ``manifest.json`` (route onnx) or ``assets/tftrt_kit/manifest.json``
    (route segment, whose directory is a SavedModel). Files named in a manifest are relative to its folder.

    Args:
        directory: The artifact directory.

    Returns:
        The manifest's path (which may not exist).
    """
    directory = Path(directory)
    nested = directory / SEGMENT_ASSETS / MANIFEST
    return nested if not (directory / MANIFEST).exists() and nested.exists() else directory / MANIFEST


def read_manifest(directory: Path) -> dict[str, Any]:
    """Read and validate an artifact's manifest; every file it names must exist inside the manifest's folder.

    Args:
        directory: The artifact directory.

    Returns:
        The manifest.

    Raises:
        ArtifactError: missing directory or manifest, malformed JSON, unknown schema
            version or route, a field of the wrong type, or a file path that is
            missing or leaves the artifact directory.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(f"Expected a tftrt_kit artifact directory. Received: {str(directory)!r}, which is not a directory.")
    path = manifest_path(directory)
    if not path.is_file():
        raise ArtifactError(
            f"Expected {MANIFEST} (or {SEGMENT_ASSETS / MANIFEST}) in the artifact directory. Received: {str(directory)!r} "
            "without one; pass the route's directory (<output_dir>/onnx or <output_dir>/segment)."
        )
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, RecursionError) as err:
        raise ArtifactError(f"Expected valid UTF-8 JSON in {str(path)!r}. Received: {type(err).__name__}: {err}") from err
    validate_manifest(data, path.parent)
    for key, value in _file_entries(data):
        resolved = resolve_inside(path.parent, value, f"{path} [{key}]")
        if not resolved.is_file():
            raise ArtifactError(f"Expected the file {value!r} named at {key} in {str(path)!r}. Received: no such file in the artifact.")
    return data


def validate_manifest(data: Any, directory: Path) -> None:
    """Check ``data`` against the schema of its version and route.

    Args:
        data: Parsed manifest JSON.
        directory: The folder holding the manifest, which every file it names must lie in.

    Raises:
        ArtifactError: naming the field at fault and what it should hold.
    """
    where = str(Path(directory) / MANIFEST)
    if not isinstance(data, dict):
        raise ArtifactError(f"Expected a JSON object in {where!r}. Received: {type(data).__name__}.")
    version = data.get("schema_version")
    if type(version) is not int or version < 1:
        raise ArtifactError(f"Expected a positive integer schema_version in {where!r}. Received: schema_version={version!r}.")
    if version > MANIFEST_VERSION:
        raise ArtifactError(
            f"Expected manifest schema_version <= {MANIFEST_VERSION}. Received: {version} in {where!r}; "
            "upgrade tftrt_kit to load this artifact."
        )
    known = routes()
    route = data.get("route")
    if not isinstance(route, str) or route not in known:
        raise ArtifactError(f"Expected route in {sorted(known)} in {where!r}. Received: route={route!r}.")
    for field, check in {**SHARED, **known[route].manifest_schema}.items():
        problem = check(data[field]) if field in data else "present"
        if problem is not None:
            received = _short(data.get(field, "<missing>"))
            raise ArtifactError(f"Expected field {field!r} of the {route} route's manifest to be {problem}. Received: {received} in {where!r}.")
    for key, value in _file_entries(data):
        resolve_inside(directory, value, f"{where} [{key}]")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _file_entries(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every non-null ``*_file`` entry and every item of a ``*_files`` list, at any depth."""
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key.endswith("_file"):
                if value is None:
                    continue
                if not isinstance(value, str):
                    raise ArtifactError(f"Expected a relative path string or null at {name}. Received: {_short(value)}.")
                yield name, value
            elif key.endswith("_files"):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ArtifactError(f"Expected a list of relative path strings at {name}. Received: {_short(value)}.")
                yield from ((f"{name}[{i}]", v) for i, v in enumerate(value))
            else:
                yield from _file_entries(value, name)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _file_entries(item, f"{prefix}[{index}]")


def resolve_inside(directory: Path, relative: str, where: str) -> Path:
    """``directory / relative`` with symlinks resolved, refusing anything that leaves ``directory``.

    Args:
        directory: The artifact directory.
        relative: A path from the manifest.
        where: Manifest location of ``relative``, for the message.

    Returns:
        The resolved path, strictly inside ``directory``.

    Raises:
        ArtifactError: ``relative`` is empty, absolute, contains a NUL byte, or
            (after resolving ``..`` and symlinks) names ``directory`` itself or a
            path outside it.
    """
    refused = ArtifactError(f"Expected a relative path inside the artifact directory at {where}. Received: {_short(relative)}.")
    if not isinstance(relative, str) or not relative or "\0" in relative or Path(relative).is_absolute():
        raise refused
    try:
        root = Path(directory).resolve()
        candidate = (root / relative).resolve()
    except (OSError, RuntimeError) as err:
        raise refused from err
    if root not in candidate.parents:
        raise refused
    return candidate
