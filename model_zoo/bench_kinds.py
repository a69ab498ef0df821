"""Segment route against TensorFlow on every model kind of issue 14, interleaved.

Usage:
    python -m model_zoo.bench_kinds [--rounds 5] [--batch 1] [--kinds lstm gru ...] [--convnext]

Converts each kind (model_zoo/kinds.py; ``--convnext`` adds ConvNeXtTiny with random
weights) by the segment route once, then measures the segment artifact
(``tftrt_kit.load``, its default executors) and the source signature as a
``tf.function`` in rounds: every round visits every model, alternating which of the
two runs first. Prints per model the segments, coverage, islands, the median p50 of
each over rounds, and the median of the per-round ratios with their range (a shared
machine is noisy: only ratios from one run mean anything).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

from model_zoo.kinds import KINDS


def _convnext(path: Path) -> Any:
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    keras.applications.ConvNeXtTiny(weights=None, classifier_activation=None).export(str(path), format="tf_saved_model", verbose=False)

    def sample(batch: int, seed: int) -> dict[str, Any]:
        return {"keras_tensor": np.random.default_rng(seed).uniform(0, 255, (batch, 224, 224, 3)).astype(np.float32)}

    return sample


def main(argv: Sequence[str] | None = None) -> int:
    """Convert, measure in interleaved rounds, print the table."""
    import tftrt_kit
    from tftrt_kit.bench import measure, tf_function_runner
    from tftrt_kit.source import load_source

    parser = argparse.ArgumentParser(prog="python -m model_zoo.bench_kinds", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--convnext", action="store_true", help="also ConvNeXtTiny (weights=None): minutes to convert")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="bench_kinds_"))
    models: dict[str, dict[str, Any]] = {}
    samples = {name: KINDS[name].sample for name in args.kinds}
    for name in args.kinds:
        KINDS[name].write(root / name)
    if args.convnext:
        samples["ConvNeXtTiny"] = _convnext(root / "ConvNeXtTiny")
    for name, sample in samples.items():
        source = load_source(root / name)
        route = tftrt_kit.convert(source, routes=("segment",), output_dir=root / f"{name}_out", benchmark=False).routes["segment"]
        if not route.ok:
            print(f"{name}: {route.error}", file=sys.stderr)
            return 1
        artifact = tftrt_kit.load(route.artifact_dir)
        models[name] = {
            "route": route,
            "runners": {"segment": artifact, "tensorflow": tf_function_runner(source)},
            "executor": artifact.executor,
            "feeds": sample(args.batch, 0),
        }
    rounds: list[dict[str, dict[str, float]]] = []
    for index in range(args.rounds):
        row = {}
        for name, model in models.items():
            order = ("segment", "tensorflow") if index % 2 == 0 else ("tensorflow", "segment")
            row[name] = {
                e: measure(model["runners"][e], model["feeds"], executor=e, warmup=3, min_iterations=20, min_seconds=0.5).p50_ms
                for e in order
            }
        rounds.append(row)
    print(f"batch {args.batch}, {args.rounds} interleaved rounds; p50 in ms (median over rounds); ratio = segment p50 / TF p50 per round")
    print("| model | segments | coverage | islands | segment p50 | TF p50 | segment/TF median [min, max] | executor |")
    print("|---|---|---|---|---|---|---|---|")
    for name, model in models.items():
        route = model["route"]
        seg = [r[name]["segment"] for r in rounds]
        tf = [r[name]["tensorflow"] for r in rounds]
        ratios = [s / t for s, t in zip(seg, tf)]
        print(
            f"| {name} | {len(route.segments)} | {route.coverage:.3f} | {route.details['islands']} | "
            f"{statistics.median(seg):.3f} | {statistics.median(tf):.3f} | "
            f"{statistics.median(ratios):.2f} [{min(ratios):.2f}, {max(ratios):.2f}] | {model['executor']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
