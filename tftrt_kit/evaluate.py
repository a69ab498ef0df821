"""Numerical agreement of an artifact with its source, on the same inputs, and its verdict.

Per output: max abs error, error relative to the output's scale, mean abs error,
cosine similarity, top-1/top-5 agreement for classifier-shaped outputs, and (as
Polygraphy prints) the tolerances that would have passed. A route's verdict is
pass / warn / fail against :class:`~tftrt_kit.report.Thresholds` of its precision.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from tftrt_kit.errors import ArtifactError
from tftrt_kit.report.measures import Accuracy, OutputError, Stats, Thresholds
from tftrt_kit.source import TensorSpec


#: Words generated string inputs are made of.
SAMPLE_WORDS = ("the", "a", "model", "runs", "in", "tensorflow", "and", "tensorrt", "fast", "text")


def sample_inputs(
    specs: Sequence[TensorSpec], *, batch: int = 1, seed: int = 0, shapes: Mapping[str, Sequence[int]] | None = None
) -> dict[str, np.ndarray]:
    """Seeded inputs matching ``specs``.

    An input named in ``shapes`` takes that shape (e.g. the opt shapes of an
    optimization profile, :meth:`~tftrt_kit.profiles.ProfilePlan.opt_shapes`); any
    other input's dynamic dims take ``batch`` (leading) or 1, and an input of unknown
    rank is a vector. Floats are standard normal; integers and bools 0 or 1 (uniform):
    ids, indices and masks of any model accept them (a lookup table has at least 2
    rows, a segment id of BERT's is 0 or 1), where a wider range can index past a
    small table; strings a few words drawn from :data:`SAMPLE_WORDS`.
    """
    rng = np.random.default_rng(seed)
    feeds = {}
    shapes = shapes or {}
    for spec in specs:
        dims = spec.shape if spec.shape is not None else (None,)
        if spec.name in shapes:
            shape = [int(d) for d in shapes[spec.name]]
        else:
            shape = [batch if (i == 0 and d is None) else (1 if d is None else d) for i, d in enumerate(dims)]
        if spec.dtype == "string":
            words = rng.choice(SAMPLE_WORDS, (*shape, 3))
            feeds[spec.name] = np.array([" ".join(w) for w in words.reshape(-1, 3)], dtype=object).reshape(shape)
            continue
        dtype = np.dtype(spec.dtype) if spec.dtype != "bfloat16" else np.float32
        if np.issubdtype(dtype, np.floating):
            feeds[spec.name] = rng.standard_normal(shape).astype(dtype)
        elif dtype == np.bool_:
            feeds[spec.name] = rng.integers(0, 2, shape).astype(bool)
        else:
            feeds[spec.name] = rng.integers(0, 2, shape).astype(dtype)
    return feeds


#: Bins of the absolute-error histogram (as Polygraphy prints).
HISTOGRAM_BINS = 10

#: A reference whose spread is within this share of its largest magnitude is constant.
CONSTANT_SPREAD = 1e-6


def compare_output(name: str, reference: np.ndarray, actual: np.ndarray) -> OutputError:
    """Errors of ``actual`` against ``reference`` (same shape), relative to the reference's scale.

    Figures are over the elements finite on both sides; what makes the comparison say
    little (a constant reference, one identical for every input row, non-finite
    values) is named in ``flags``, and NaN/Inf of ``actual`` where the reference is
    finite is counted in ``non_finite``. A non-numeric output (strings) is compared by
    equality: see :func:`compare_by_equality`.

    Raises:
        ArtifactError: the shapes differ.
    """
    if not _numeric(reference) or not _numeric(actual):
        return compare_by_equality(name, reference, actual)
    ref = np.asarray(reference, dtype=np.float64)
    act = np.asarray(actual, dtype=np.float64)
    if ref.shape != act.shape:
        raise ArtifactError(f"Expected output {name!r} of shape {ref.shape}. Received: shape {act.shape}.")
    finite = np.isfinite(ref) & np.isfinite(act)
    r, a = ref[finite], act[finite]
    diff = np.abs(r - a)
    nonzero = r != 0
    rel = diff[nonzero] / np.abs(r[nonzero])
    scale = float(np.max(np.abs(r))) if r.size else 0.0
    max_abs = float(diff.max()) if diff.size else 0.0
    norms = float(np.linalg.norm(r) * np.linalg.norm(a))
    cosine = float(np.dot(r, a) / norms) if norms > 0 else float(np.array_equal(r, a))
    top1 = top5 = None
    if ref.ndim == 2 and ref.shape[1] > 1 and finite.all():
        top1 = float(np.mean(ref.argmax(1) == act.argmax(1)))
        if ref.shape[1] > 5:
            top5_sets = np.argsort(-act, axis=1)[:, :5]
            top5 = float(np.mean([i in row for i, row in zip(ref.argmax(1), top5_sets)]))
    counts, edges = np.histogram(diff, bins=HISTOGRAM_BINS) if diff.size else (np.array([], int), np.array([]))
    return OutputError(
        name=name,
        max_abs_error=max_abs,
        max_rel_error=max_abs / scale if scale > 0 else max_abs,
        mean_abs_error=float(diff.mean()) if diff.size else 0.0,
        cosine=cosine,
        top1_agreement=top1,
        top5_agreement=top5,
        max_elementwise_rel_error=float(rel.max()) if rel.size else None,
        reference=_stats(r),
        abs_error=_stats(diff),
        rel_error=_stats(rel),
        histogram=[int(c) for c in counts],
        histogram_edges=[float(e) for e in edges],
        flags=_reference_flags(ref),
        non_finite=int(np.count_nonzero(np.isfinite(ref) & ~np.isfinite(act))),
    )


def _numeric(value: np.ndarray) -> bool:
    return np.asarray(value).dtype.kind in "biuf" or np.asarray(value).dtype.name == "bfloat16"


def compare_by_equality(name: str, reference: np.ndarray, actual: np.ndarray) -> OutputError:
    """Compare a non-numeric output (strings) element by element.

    The figures are those of the mismatch indicator (0 where equal, 1 where not):
    max abs and max rel error are 1 when any element differs, mean abs error is the
    fraction that differ, cosine is the fraction that agree.

    Raises:
        ArtifactError: the shapes differ.
    """
    ref, act = np.asarray(reference), np.asarray(actual)
    if ref.shape != act.shape:
        raise ArtifactError(f"Expected output {name!r} of shape {ref.shape}. Received: shape {act.shape}.")
    differ = np.array([_text(r) != _text(a) for r, a in zip(ref.ravel().tolist(), act.ravel().tolist())], dtype=bool)
    worst = float(differ.max()) if differ.size else 0.0
    fraction = float(differ.mean()) if differ.size else 0.0
    return OutputError(name, worst, worst, fraction, 1.0 - fraction, max_elementwise_rel_error=worst, compared_by="equality")


def _text(value: object) -> object:
    """str and bytes of the same text compare equal (TensorFlow returns bytes; a user may pass str)."""
    return value.encode() if isinstance(value, str) else value


def _stats(values: np.ndarray) -> Stats | None:
    if not values.size:
        return None
    return Stats(float(values.mean()), float(values.std()), float(np.median(values)), float(values.min()), float(values.max()))


def _reference_flags(ref: np.ndarray) -> list[str]:
    """Why a comparison against ``ref`` says little: non-finite values, a constant, rows all alike."""
    flags = []
    bad = int(ref.size - np.count_nonzero(np.isfinite(ref)))
    if bad:
        flags.append(f"reference has {bad} non-finite value(s) (NaN/Inf) of {ref.size}: compared on the finite ones only")
    finite = ref[np.isfinite(ref)]
    if finite.size > 1 and np.ptp(finite) <= CONSTANT_SPREAD * np.max(np.abs(finite)):
        flags.append(
            f"reference is constant ({finite.flat[0]:.6g} everywhere): any model printing that constant would agree, "
            "so the comparison cannot tell a right conversion from a wrong one (e.g. a saturated or untrained softmax: compare logits)"
        )
    elif ref.ndim >= 1 and ref.shape[0] > 1 and not bad and all(np.array_equal(ref[0], row) for row in ref[1:]):
        flags.append(f"reference is the same for all {ref.shape[0]} input rows: the inputs do not reach this output, so it says nothing about them")
    return flags


def compare(
    reference: Mapping[str, np.ndarray],
    actual: Mapping[str, np.ndarray],
    *,
    executor: str,
    samples: int | None = None,
    thresholds: Thresholds | None = None,
) -> Accuracy:
    """Accuracy of ``actual`` against ``reference`` over every output of ``reference``.

    Args:
        reference: Source outputs by name.
        actual: Artifact outputs by name.
        executor: Label of what produced ``actual``.
        samples: Batch size of the inputs, recorded on the result.
        thresholds: When given, each output and the whole gets a verdict.

    Returns:
        The :class:`~tftrt_kit.report.Accuracy` (worst figure over outputs at the top level).

    Raises:
        ArtifactError: an output is missing from ``actual`` or has another shape.

    Example:
        >>> acc = compare({"y": np.ones(3)}, {"y": np.ones(3)}, executor="test")
        >>> acc.max_abs_error, acc.cosine
        (0.0, 1.0)
    """
    missing = sorted(set(reference) - set(actual))
    if missing:
        raise ArtifactError(f"Expected outputs {sorted(reference)}. Received: {sorted(actual)}; missing {missing}.")
    per_output = {name: compare_output(name, reference[name], actual[name]) for name in reference}
    accuracy = Accuracy(
        executor=executor,
        max_abs_error=max(e.max_abs_error for e in per_output.values()),
        max_rel_error=max(e.max_rel_error for e in per_output.values()),
        cosine=min(e.cosine for e in per_output.values()),
        per_output=per_output,
        samples=samples,
    )
    return judge(accuracy, thresholds) if thresholds is not None else accuracy


_RANK = {"pass": 0, "inconclusive": 1, "warn": 2, "fail": 3}


def judge(accuracy: Accuracy, thresholds: Thresholds) -> Accuracy:
    """Set the verdict of every output and of ``accuracy`` (the worst) against ``thresholds``.

    An output passes when every check is within the pass thresholds, warns when
    within the warn thresholds, and fails otherwise. An output the comparison says
    little about (``flags``: a constant reference, non-finite values) is
    ``inconclusive`` at best; NaN/Inf in the artifact's output where the reference is
    finite fails. Each check missed and each flag is named in ``accuracy.reasons``.

    Args:
        accuracy: Measured figures; updated in place.
        thresholds: Thresholds of the route's precision.

    Returns:
        ``accuracy``, for chaining.
    """
    reasons: list[str] = []
    for error in accuracy.per_output.values():
        error.verdict = "pass"
        for label, value, passing, warning, higher_is_better in (
            ("max rel error", error.max_rel_error, thresholds.max_rel_error, thresholds.warn_max_rel_error, False),
            ("cosine", error.cosine, thresholds.min_cosine, thresholds.warn_min_cosine, True),
            ("top-1 agreement", error.top1_agreement, thresholds.min_top1, thresholds.warn_min_top1, True),
        ):
            if value is None or passing is None or _within(value, passing, higher_is_better):
                continue
            level = "warn" if warning is not None and _within(value, warning, higher_is_better) else "fail"
            bound = "<" if higher_is_better else ">"
            reasons.append(f"{error.name}: {label} {value:.4g} {bound} {passing:.4g} ({level})")
            error.verdict = max(error.verdict, level, key=_RANK.__getitem__)
        if error.non_finite:
            reasons.append(f"{error.name}: {error.non_finite} non-finite value(s) where the reference is finite (fail)")
            error.verdict = "fail"
        for flag in error.flags:
            reasons.append(f"{error.name}: {flag} (inconclusive)")
            error.verdict = max(error.verdict, "inconclusive", key=_RANK.__getitem__)
    accuracy.thresholds = thresholds
    accuracy.reasons = reasons
    accuracy.verdict = max((e.verdict for e in accuracy.per_output.values()), key=_RANK.__getitem__, default="pass")
    return accuracy


def _within(value: float, bound: float, higher_is_better: bool) -> bool:
    return value >= bound if higher_is_better else value <= bound


def evaluate(
    source: Any,
    run: Any,
    *,
    executor: str,
    batch: int = 4,
    seed: int = 0,
    feeds: Mapping[str, np.ndarray] | None = None,
    thresholds: Thresholds | None = None,
    origin: str = "sample_data",
) -> Accuracy:
    """Run the source and ``run`` (a callable artifact) on the same inputs and compare.

    Args:
        source: A :class:`~tftrt_kit.source.Source`.
        run: Callable taking ``{input name: array}`` and returning ``{output name: array}``.
        executor: Label of what ``run`` executes on.
        batch: Batch size of generated inputs (when the batch is dynamic).
        seed: Seed of generated inputs.
        feeds: User inputs instead of generated ones.
        origin: Where ``feeds`` came from, recorded in ``Accuracy.inputs``.
        thresholds: Thresholds for the verdict (none given: no verdict).

    Returns:
        The :class:`~tftrt_kit.report.Accuracy`; ``inputs`` says where the inputs came from.

    Raises:
        ArtifactError: the artifact's outputs do not match the source's.

    Example:
        >>> acc = evaluate(source, tftrt_kit.load("out/onnx"), executor="onnxruntime[CPU]")  # doctest: +SKIP
    """
    origin = origin if feeds is not None else f"generated (seed {seed})"
    feeds = dict(feeds) if feeds is not None else sample_inputs(source.inputs, batch=batch, seed=seed)
    reference = source.run(feeds)
    first = next(iter(feeds.values()), None)
    samples = int(first.shape[0]) if first is not None and first.ndim else None
    accuracy = compare(reference, run(feeds), executor=executor, samples=samples, thresholds=thresholds)
    accuracy.inputs = origin
    accuracy.shapes = {name: [int(d) for d in np.shape(value)] for name, value in feeds.items()}
    return accuracy
