"""Numerical agreement of an artifact with its source, on the same inputs."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from tftrt_kit.errors import ArtifactError
from tftrt_kit.report import Accuracy, OutputError
from tftrt_kit.source import TensorSpec


def sample_inputs(specs: Sequence[TensorSpec], *, batch: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded inputs matching ``specs``: dynamic dims take ``batch`` (leading) or 1.

    Floats are standard normal; integers uniform in [0, 10); bools uniform.
    """
    rng = np.random.default_rng(seed)
    feeds = {}
    for spec in specs:
        shape = [batch if (i == 0 and d is None) else (1 if d is None else d) for i, d in enumerate(spec.shape)]
        dtype = np.dtype(spec.dtype) if spec.dtype != "bfloat16" else np.float32
        if np.issubdtype(dtype, np.floating):
            feeds[spec.name] = rng.standard_normal(shape).astype(dtype)
        elif dtype == np.bool_:
            feeds[spec.name] = rng.integers(0, 2, shape).astype(bool)
        else:
            feeds[spec.name] = rng.integers(0, 10, shape).astype(dtype)
    return feeds


def compare_output(name: str, reference: np.ndarray, actual: np.ndarray) -> OutputError:
    """Errors of ``actual`` against ``reference`` (same shape), relative to the reference's scale."""
    ref = np.asarray(reference, dtype=np.float64)
    act = np.asarray(actual, dtype=np.float64)
    if ref.shape != act.shape:
        raise ArtifactError(f"Expected output {name!r} of shape {ref.shape}. Received: shape {act.shape}.")
    diff = np.abs(ref - act)
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    max_abs = float(diff.max()) if diff.size else 0.0
    norms = float(np.linalg.norm(ref) * np.linalg.norm(act))
    cosine = float(np.dot(ref.ravel(), act.ravel()) / norms) if norms > 0 else float(np.array_equal(ref, act))
    top1 = top5 = None
    if ref.ndim == 2 and ref.shape[1] > 1:
        top1 = float(np.mean(ref.argmax(1) == act.argmax(1)))
        if ref.shape[1] > 5:
            top5_sets = np.argsort(-act, axis=1)[:, :5]
            top5 = float(np.mean([r in s for r, s in zip(ref.argmax(1), top5_sets)]))
    return OutputError(
        name=name,
        max_abs_error=max_abs,
        max_rel_error=max_abs / scale if scale > 0 else max_abs,
        mean_abs_error=float(diff.mean()) if diff.size else 0.0,
        cosine=cosine,
        top1_agreement=top1,
        top5_agreement=top5,
    )


def compare(
    reference: Mapping[str, np.ndarray], actual: Mapping[str, np.ndarray], *, executor: str, samples: int | None = None
) -> Accuracy:
    """Accuracy of ``actual`` against ``reference`` over every output of ``reference``.

    Raises:
        ArtifactError: an output is missing from ``actual`` or has another shape.
    """
    missing = sorted(set(reference) - set(actual))
    if missing:
        raise ArtifactError(f"Expected outputs {sorted(reference)}. Received: {sorted(actual)}; missing {missing}.")
    per_output = {name: compare_output(name, reference[name], actual[name]) for name in reference}
    return Accuracy(
        executor=executor,
        max_abs_error=max(e.max_abs_error for e in per_output.values()),
        max_rel_error=max(e.max_rel_error for e in per_output.values()),
        cosine=min(e.cosine for e in per_output.values()),
        per_output=per_output,
        samples=samples,
    )


def evaluate(source: Any, run: Any, *, executor: str, batch: int = 4, seed: int = 0, feeds: Mapping[str, np.ndarray] | None = None) -> Accuracy:
    """Run the source and ``run`` (a callable artifact) on the same inputs and compare.

    Args:
        source: A :class:`~tftrt_kit.source.Source`.
        run: Callable taking ``{input name: array}`` and returning ``{output name: array}``.
        executor: Label of what ``run`` executes on.
        batch: Batch size of generated inputs (when the batch is dynamic).
        seed: Seed of generated inputs.
        feeds: User inputs instead of generated ones.
    """
    feeds = dict(feeds) if feeds is not None else sample_inputs(source.inputs, batch=batch, seed=seed)
    reference = source.run(feeds)
    samples = next(iter(feeds.values())).shape[0] if feeds and next(iter(feeds.values())).ndim else None
    return compare(reference, run(feeds), executor=executor, samples=samples)
