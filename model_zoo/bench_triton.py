"""Load check of ResNet50 (random weights, seed 0) served by a local Triton through PyTriton.

Converts ResNet50 by the segment route (FP32, no benchmark), exports the Triton
model repository (validated), then serves the artifact on 127.0.0.1 and sends
``--requests`` single-image requests from ``--concurrency`` threads, comparing
every answer with the Keras model. Prints the load check (throughput, p50/p99,
the batches Triton formed, mismatches). Needs the ``serve`` extra.

Usage:
    python model_zoo/bench_triton.py [--requests 128] [--concurrency 16] [--max-batch-size 16] [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import keras

import tftrt_kit
import tftrt_kit.triton


def main() -> None:
    """Convert, export, serve and load-check ResNet50; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=128)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-batch-size", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=300.0, help="wall-clock budget of the load check (s)")
    parser.add_argument("--out", type=Path, default=None, help="where the artifact and repository go (default: a temp dir)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_triton_"))

    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(weights=None, classifier_activation=None)
    start = time.perf_counter()
    report = tftrt_kit.convert(model, routes=("segment",), benchmark=False, output_dir=out, overwrite=True)
    route = report.routes["segment"]
    print(f"segment route: {route.status} in {time.perf_counter() - start:.1f} s, coverage {route.coverage}, {route.error or ''}")
    print(tftrt_kit.triton.export(route.artifact_dir, out / "model_repository", name="resnet50",
                                  max_batch_size=args.max_batch_size, overwrite=True))
    result = tftrt_kit.triton.load_check(
        route.artifact_dir, model, requests=args.requests, concurrency=args.concurrency, timeout_s=args.timeout,
        max_batch_size=args.max_batch_size, log_file=out / "triton.log",
    )
    print(result)


if __name__ == "__main__":
    main()
