"""``tftrt_kit.triton.load_check``: concurrent requests against a local Triton, every answer checked.

The check serves the artifact (:func:`tftrt_kit.triton.serve`), sends a bounded
number of requests from ``concurrency`` client threads over gRPC until they are
all answered or a wall-clock budget runs out, and compares every response with
the source model (or the artifact run in-process) on the same inputs. The server
is always stopped at the end.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from tftrt_kit._optional import require
from tftrt_kit.errors import ConfigError
from tftrt_kit.runtime.artifact import read_manifest
from tftrt_kit.source import TensorSpec

#: Largest error relative to the output's scale (max |reference|) a response may have, by precision.
TOLERANCES = {"fp32": 1e-3, "fp16": 5e-2, "int8": 0.25}


@dataclasses.dataclass
class LoadCheckResult:
    """What a load check measured.

    Attributes:
        model: The served artifact.
        executor: What the served model ran on (``tftrt_kit.load``'s executor).
        reference: What responses were compared with (``source``, or the artifact in-process).
        requests: Requests planned.
        completed: Requests answered (compared or not).
        concurrency: Client threads sending at once.
        rows_per_request: Samples in each request.
        seconds: Wall time from the first request sent to the last answer.
        throughput: Answered requests per second.
        samples_per_second: Answered samples per second.
        p50_ms: Median request latency (client side, round trip).
        p99_ms: 99th-percentile request latency.
        batch_sizes: Batch size -> how many times the served model ran with it (what Triton formed).
        mismatches: Responses outside ``tolerance`` (or of the wrong shape, or not finite).
        max_rel_error: Worst response error relative to the output's scale.
        tolerance: The relative error bound.
        failed: Requests that got an error instead of an answer.
        errors: The first few of those errors.
        timed_out: Whether the wall-clock budget ended the check before every request was sent.
    """

    model: str
    executor: str
    reference: str
    requests: int
    completed: int
    concurrency: int
    rows_per_request: int
    seconds: float
    throughput: float
    samples_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    batch_sizes: dict[int, int]
    mismatches: int
    max_rel_error: float
    tolerance: float
    failed: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        """Every request answered, and every answer matched."""
        return self.completed == self.requests and not self.failed and not self.mismatches

    def __str__(self) -> str:
        sizes = ", ".join(f"{b}x{n}" for b, n in sorted(self.batch_sizes.items())) or "-"
        p50 = f"{self.p50_ms:.1f}" if self.p50_ms is not None else "-"
        p99 = f"{self.p99_ms:.1f}" if self.p99_ms is not None else "-"
        lines = [
            f"load check of {self.model} on {self.executor} (reference: {self.reference})",
            f"  requests {self.completed}/{self.requests} answered, concurrency {self.concurrency}, {self.rows_per_request} sample(s) each",
            f"  throughput {self.throughput:.1f} req/s ({self.samples_per_second:.1f} samples/s) over {self.seconds:.2f} s",
            f"  latency p50 {p50} ms, p99 {p99} ms",
            f"  batches formed by Triton (size x times): {sizes}",
            f"  mismatches {self.mismatches} (max rel error {self.max_rel_error:.3g}, tolerance {self.tolerance:g}), failed {self.failed}"
            + (", stopped by the time limit" if self.timed_out else ""),
        ]
        lines += [f"  error: {e}" for e in self.errors]
        return "\n".join(lines)


def load_check(
    artifact: str | Path,
    source: Any = None,
    *,
    requests: int = 64,
    concurrency: int = 8,
    rows_per_request: int = 1,
    timeout_s: float = 120.0,
    tolerance: float | None = None,
    seed: int = 0,
    **serve_options: Any,
) -> LoadCheckResult:
    """Serve ``artifact`` locally, send ``requests`` concurrent requests, check every answer.

    Args:
        artifact: An artifact directory written by ``convert()``.
        source: The source model to compare with (SavedModel path, ``.keras`` file or
            ``keras.Model``); default: the artifact itself, run in-process.
        requests: Requests to send (the bound on work).
        concurrency: Client threads sending at once.
        rows_per_request: Samples per request.
        timeout_s: Wall-clock budget for sending and answering (the bound on time);
            requests not sent by then are counted as not completed.
        tolerance: Largest error relative to the output's scale; default by the
            artifact's precision (:data:`TOLERANCES`).
        seed: Seed of the generated inputs.
        **serve_options: Passed to :func:`tftrt_kit.triton.serve` (``max_batch_size``, ``instances``, ...).

    Returns:
        The :class:`LoadCheckResult`.

    Raises:
        ConfigError: non-positive ``requests``, ``concurrency``, ``rows_per_request`` or ``timeout_s``.
        MissingDependencyError: ``nvidia-pytriton`` or ``tritonclient`` (extra ``serve``) is not installed.
        ArtifactError: the artifact does not load.
        ServerError: the local Triton server did not start or did not load the model.

    Example:
        >>> print(tftrt_kit.triton.load_check("out/segment", "model.keras", requests=256, concurrency=16))  # doctest: +SKIP
    """
    for label, value in (("requests", requests), ("concurrency", concurrency), ("rows_per_request", rows_per_request), ("timeout_s", timeout_s)):
        if value <= 0:
            raise ConfigError(f"Expected {label} > 0. Received: {label}={value!r}.")
    grpc = require("tritonclient.grpc", "Sending requests to Triton")
    from tftrt_kit.evaluate import sample_inputs
    from tftrt_kit.triton.serve import serve

    manifest = read_manifest(Path(artifact))
    specs = [TensorSpec.from_dict(s) for s in manifest["inputs"]]
    feeds = [sample_inputs(specs, batch=rows_per_request, seed=seed + i) for i in range(requests)]
    reference_name, run_reference = _reference(artifact, source)
    # References first, so the reference model does not compete with the server for the CPU.
    expected = _run_batched(run_reference, feeds)
    bound = tolerance if tolerance is not None else TOLERANCES[manifest["precision"]]
    with serve(artifact, **serve_options) as server:
        answers, latencies, errors, seconds, timed_out = _send(grpc, server, feeds, concurrency, timeout_s)
        batch_sizes = dict(server.batch_sizes)
        executor = server.model.executor
    errs = [_rel_error(expected[i], answer) for i, answer in answers.items()]
    latencies_ms = np.asarray(latencies) * 1e3
    done = len(answers)
    return LoadCheckResult(
        model=str(artifact), executor=executor, reference=reference_name, requests=requests, completed=done + len(errors),
        concurrency=concurrency, rows_per_request=rows_per_request, seconds=seconds,
        throughput=done / seconds if seconds else 0.0, samples_per_second=done * rows_per_request / seconds if seconds else 0.0,
        p50_ms=float(np.percentile(latencies_ms, 50)) if done else None, p99_ms=float(np.percentile(latencies_ms, 99)) if done else None,
        batch_sizes=batch_sizes, mismatches=sum(1 for e in errs if not e <= bound), max_rel_error=max(errs, default=0.0),
        tolerance=bound, failed=len(errors), errors=errors[:5], timed_out=timed_out,
    )


def _reference(artifact: str | Path, source: Any) -> tuple[str, Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]]:
    if source is None:
        from tftrt_kit.runtime.loader import load

        model = load(artifact)
        return f"artifact in-process on {model.executor}", model
    from tftrt_kit.source import load_source

    loaded = load_source(source)
    return f"source {loaded.description} (TensorFlow)", loaded.run


def _run_batched(run: Callable, feeds: list[dict[str, np.ndarray]], chunk: int = 32) -> list[dict[str, np.ndarray]]:
    """Run ``feeds`` through ``run`` ``chunk`` requests at a time; split the outputs back per request."""
    results = []
    for start in range(0, len(feeds), chunk):
        group = feeds[start:start + chunk]
        merged = run({name: np.concatenate([f[name] for f in group]) for name in group[0]})
        offset = 0
        for feed in group:
            rows = len(next(iter(feed.values())))
            results.append({name: np.asarray(value)[offset:offset + rows] for name, value in merged.items()})
            offset += rows
    return results


def _send(grpc: Any, server: Any, feeds: list[dict[str, np.ndarray]], concurrency: int, timeout_s: float) -> tuple:
    """Send every feed from ``concurrency`` threads, each with its own client, until done or out of time."""
    from tritonclient.utils import InferenceServerException, np_to_triton_dtype

    answers: dict[int, dict[str, np.ndarray]] = {}
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    pending = iter(range(len(feeds)))
    outputs = [s.name for s in server.model.outputs]
    start = time.perf_counter()
    deadline = start + timeout_s
    stopped = threading.Event()

    def worker() -> None:
        client = grpc.InferenceServerClient(server.grpc_url)
        try:
            while True:
                with lock:
                    index = next(pending, None)
                remaining = deadline - time.perf_counter()
                if index is None:
                    return
                if remaining <= 0:
                    stopped.set()
                    return
                inputs = []
                for name, value in feeds[index].items():
                    tensor = grpc.InferInput(name, list(value.shape), np_to_triton_dtype(value.dtype))
                    tensor.set_data_from_numpy(value)
                    inputs.append(tensor)
                sent = time.perf_counter()
                try:
                    result = client.infer(server.model_name, inputs, outputs=[grpc.InferRequestedOutput(n) for n in outputs],
                                          client_timeout=remaining)
                except InferenceServerException as err:
                    with lock:
                        errors.append(f"request {index}: {err}")
                    continue
                elapsed = time.perf_counter() - sent
                with lock:
                    answers[index] = {n: result.as_numpy(n) for n in outputs}
                    latencies.append(elapsed)
        finally:
            client.close()

    with ThreadPoolExecutor(concurrency, thread_name_prefix="tftrt-load-check") as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return answers, latencies, errors, time.perf_counter() - start, stopped.is_set()


def _rel_error(expected: Mapping[str, np.ndarray], actual: Mapping[str, np.ndarray]) -> float:
    """Worst output error relative to the output's scale; inf for a wrong shape or a non-finite value."""
    worst = 0.0
    for name, reference in expected.items():
        if name not in actual:
            return float("inf")
        reference = np.asarray(reference, dtype=np.float64)
        answer = np.asarray(actual[name], dtype=np.float64)
        if answer.shape != reference.shape or not np.all(np.isfinite(answer)):
            return float("inf")
        scale = float(np.max(np.abs(reference))) or 1.0
        worst = max(worst, float(np.max(np.abs(answer - reference), initial=0.0)) / scale)
    return worst
