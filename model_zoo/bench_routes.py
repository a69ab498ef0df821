"""Latency of one zoo model by TensorFlow, the onnx route and the segment route, interleaved.

Usage:
    python -m model_zoo.bench_routes [--model ResNet50] [--rounds 5] [--batch 1]

Converts the model once by both routes, then measures the three executors in
rounds, in a rotating order, so load from other processes on a shared machine
falls on all of them alike. Prints each round's p50 and the median of the
per-round ratios (ratios from one run are what this machine can measure honestly).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from typing import Sequence

from model_zoo.zoo import ZOO


def main(argv: Sequence[str] | None = None) -> int:
    """Run the interleaved measurement and print the table."""
    import tftrt_kit
    from tftrt_kit.bench import measure, tf_function_runner
    from tftrt_kit.source import load_source

    parser = argparse.ArgumentParser(prog="python -m model_zoo.bench_routes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ResNet50", choices=sorted(ZOO))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args(argv)

    entry = ZOO[args.model]
    source = load_source(entry.model())
    out = tempfile.mkdtemp(prefix="bench_routes_")
    report = tftrt_kit.convert(source, routes=("segment", "onnx"), output_dir=out, benchmark=False)
    runners = {"tensorflow": tf_function_runner(source)}
    for name, route in report.routes.items():
        if not route.ok:
            print(f"{name}: {route.error}", file=sys.stderr)
            return 1
        runners[name] = tftrt_kit.load(route.artifact_dir)
    x = entry.sample(args.batch, seed=0)
    feeds = {source.inputs[0].name: x.astype(source.inputs[0].dtype)}
    names = list(runners)
    rounds = []
    for index in range(args.rounds):
        order = names[index % len(names):] + names[: index % len(names)]
        rounds.append({n: measure(runners[n], feeds, executor=n, warmup=2, min_iterations=10, min_seconds=1.0).p50_ms for n in order})
    coverage = report.routes["segment"].coverage
    print(f"{args.model}, batch {args.batch}, {args.rounds} rounds; segment coverage {coverage:.3f}, "
          f"{len(report.routes['segment'].segments)} segment(s); executors: "
          + ", ".join(f"{n}={getattr(r, 'executor', 'tensorflow')}" for n, r in runners.items()))
    print("round  " + "  ".join(f"{n:>12}" for n in names) + "   segment/onnx  tf/onnx  tf/segment")
    for index, row in enumerate(rounds):
        print(f"{index:>5}  " + "  ".join(f"{row[n]:>10.2f}ms" for n in names)
              + f"   {row['segment'] / row['onnx']:>12.3f}  {row['tensorflow'] / row['onnx']:>7.3f}  {row['tensorflow'] / row['segment']:>10.3f}")
    med = {k: statistics.median(r[a] / r[b] for r in rounds) for k, (a, b) in
           {"segment/onnx": ("segment", "onnx"), "tf/onnx": ("tensorflow", "onnx"), "tf/segment": ("tensorflow", "segment")}.items()}
    print("median ratios: " + ", ".join(f"{k} = {v:.3f}" for k, v in med.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
