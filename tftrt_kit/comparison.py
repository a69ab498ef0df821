"""Measuring the routes against the source for ``convert()``: which inputs judge accuracy, evaluation, latency.

- Accuracy inputs: ``sample_data`` when given; for INT8 otherwise rows of the
  calibration data held out from calibration (:func:`~tftrt_kit.calibration_data.split_holdout`);
  otherwise the first calibration batch, or generated inputs.
- Evaluation never fails a conversion: when the source or the artifact cannot run
  on the inputs, the route keeps its artifact and says "not evaluated" with the reason.
- Latency: the source and every route that produced an artifact are timed together
  in interleaved rounds (:func:`~tftrt_kit.bench.interleaved_sweep`), so their spreads
  and ratios come from the same moments of a shared machine.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

from tftrt_kit.errors import ArtifactError
from tftrt_kit.report.data import RouteResult, SourceSummary
from tftrt_kit.report.measures import Thresholds

#: Name of the source in latency comparisons.
SOURCE_RUN = "source (TF)"


@dataclasses.dataclass
class AccuracyInputs:
    """The inputs accuracy is judged on, where they came from, and the calibration data the routes get."""

    feeds: dict[str, np.ndarray] | None
    origin: str
    calibration_data: Any


def accuracy_inputs(source: Any, *, precision: str, calibration_data: Any, sample_data: Any) -> AccuracyInputs:
    """Choose the accuracy inputs of a ``convert()`` call (see the module docstring).

    Raises:
        RuntimeInputError: ``sample_data`` does not match the source's inputs.
        CalibrationError: ``calibration_data`` does not match them.
    """
    if sample_data is not None:
        from tftrt_kit.runtime.inputs import InputChecker

        return AccuracyInputs(InputChecker(list(source.inputs))(sample_data, {}), "sample_data", calibration_data)
    if calibration_data is None:
        return AccuracyInputs(None, "generated", None)
    from tftrt_kit.calibration_data import split_holdout, validate_calibration_data

    if precision == "int8":
        split = split_holdout(validate_calibration_data(calibration_data, source.inputs))
        return AccuracyInputs(split.held_out, split.description, split.calibration)
    first = validate_calibration_data(calibration_data, source.inputs, max_batches=1)[0]
    rows = next(iter(first.values())).shape[0] if first else 0
    kept = min(rows, 32)
    return AccuracyInputs({k: v[:kept] for k, v in first.items()}, f"calibration_data rows 0-{kept - 1}", calibration_data)


def evaluate_route(result: RouteResult, model: Any, source: Any, inputs: AccuracyInputs, thresholds: Thresholds) -> None:
    """Set ``result.accuracy``; when the inputs cannot be run, record ``details["not_evaluated"]`` instead.

    Raises:
        ArtifactError: the artifact ran but its outputs do not match the source's
            (names or shapes): a defect of the conversion, not of the inputs.
    """
    from tftrt_kit.evaluate import evaluate

    try:
        result.accuracy = evaluate(
            source, model, executor=model.executor, feeds=inputs.feeds, origin=inputs.origin, batch=4, seed=1, thresholds=thresholds,
        )
    except ArtifactError:
        raise
    except Exception as err:  # any failure to run the inputs: the artifact stands, its accuracy is unknown
        result.accuracy = None
        result.details["not_evaluated"] = (
            f"{type(err).__name__}: {str(err)[:300]}; pass sample_data= (CLI: --sample-data FILE.npz) with inputs the model accepts"
        )


def fingerprint(result: RouteResult) -> None:
    """Set ``result.graph_fingerprint`` when one ONNX graph runs the route's whole model."""
    from tftrt_kit.graph_fingerprint import file_fingerprint, whole_model_onnx

    whole = whole_model_onnx(result.artifact_dir) if result.artifact_dir is not None else None
    result.graph_fingerprint = file_fingerprint(whole) if whole is not None else None


def benchmark_all(
    source: Any,
    summary: SourceSummary,
    results: Mapping[str, RouteResult],
    models: Mapping[str, Any],
    options: Any,
    shapes: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
) -> None:
    """Time the source and each route's artifact in interleaved rounds, at ``shapes`` (the opt shapes) and the
    shape-tensor inputs' ``values``; fill their latencies in place."""
    from tftrt_kit.bench import interleaved_sweep, tf_function_runner

    runs = {SOURCE_RUN: (tf_function_runner(source), "tensorflow")}
    runs.update({name: (model, model.executor) for name, model in models.items()})
    found = interleaved_sweep(runs, source.inputs, options=options, shapes=shapes, values=values)
    summary.latencies = found[SOURCE_RUN].latencies
    summary.latency = summary.latencies[0] if summary.latencies else None
    summary.timings["benchmark"] = found[SOURCE_RUN].seconds
    for name in models:
        result, measured = results[name], found[name]
        result.latencies = measured.latencies
        result.latency = measured.latencies[0] if measured.latencies else None
        result.add_stage("benchmark", measured.seconds)
        if measured.refused:
            result.details["latency_refused"] = {str(b): reason for b, reason in measured.refused.items()}
