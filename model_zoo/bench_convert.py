"""Conversion cost of the segment route against the onnx route: seconds, artifact size, peak memory.

Usage:
    python -m model_zoo.bench_convert [--models ResNet50,MobileNetV2,ConvNeXtTiny] [--rounds 1]
        [--peak-rss VGG16] [--out DIR]

Each model (``keras.applications``, ``weights=None``, fixed seed) is exported to a
SavedModel once; then each round converts it by each route on its own
(``tftrt_kit.convert(saved_model, routes=(route,), benchmark=False)``), the route order
rotating between rounds so load from other processes falls on both alike. Printed per
model: seconds of each conversion call (load and freeze included), their ratio, and
the artifact sizes and their ratio.

``--peak-rss MODEL`` (a name above, or ``Dense2GiB``: 2.31 GiB of weights, see
:mod:`model_zoo.dense_stack`) converts a SavedModel of MODEL by both routes (benchmark off) in a
fresh process under ``/usr/bin/time -v`` and prints its "Maximum resident set size"
(the SavedModel is written by another process first, so the Keras model is not counted).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

#: keras.applications models and their input shapes.
SHAPES = {
    "ResNet50": (224, 224, 3),
    "MobileNetV2": (224, 224, 3),
    "ConvNeXtTiny": (224, 224, 3),
    "VGG16": (224, 224, 3),
    "EfficientNetB0": (224, 224, 3),
}
ROUTES = ("segment", "onnx")


def export_saved_model(name: str, directory: Path) -> Path:
    """Write ``keras.applications.<name>(weights=None)`` (seed 0, logits out) as a SavedModel under ``directory``.

    A name of :data:`model_zoo.dense_stack.WIDTHS` (``Dense2GiB``) is that Dense stack instead.
    """
    from model_zoo.dense_stack import WIDTHS, save_dense_stack

    if name in WIDTHS:
        return save_dense_stack(directory / name, WIDTHS[name])
    import keras

    keras.utils.set_random_seed(0)
    model = getattr(keras.applications, name)(weights=None, input_shape=SHAPES[name], classifier_activation=None)
    path = directory / name
    model.export(str(path), format="tf_saved_model", verbose=False)
    return path


def convert_once(saved_model: Path, route: str, out: Path) -> tuple[float, int, str | None]:
    """(seconds of the convert() call, artifact bytes, error) of one route."""
    import tftrt_kit

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    report = tftrt_kit.convert(str(saved_model), routes=(route,), output_dir=out, benchmark=False)
    seconds = time.perf_counter() - started
    result = report.routes[route]
    if not result.ok:
        return seconds, 0, str(result.error)
    return seconds, result.sizes.get("artifact_bytes", 0), None


def compare_routes(names: Sequence[str], rounds: int, work: Path, warmup: bool = True) -> None:
    """Print seconds and artifact sizes of both routes per model, rounds interleaved (after one uncounted warm-up conversion per route)."""
    print(f"{'model':<14} {'round':>5} {'segment_s':>10} {'onnx_s':>8} {'seg/onnx':>9} {'seg_MiB':>8} {'onnx_MiB':>9} {'size ratio':>10}")
    for position, name in enumerate(names):
        saved_model = export_saved_model(name, work)
        if warmup and position == 0:
            warm = {route: convert_once(saved_model, route, work / f"{name}_{route}")[0] for route in ROUTES}
            print(f"{name:<14} {'warm':>5} {warm['segment']:>10.1f} {warm['onnx']:>8.1f}   (warm-up, not counted)")
        ratios = []
        for index in range(rounds):
            order = ROUTES if index % 2 == 0 else ROUTES[::-1]
            measured = {route: convert_once(saved_model, route, work / f"{name}_{route}") for route in order}
            for route, (_, _, error) in measured.items():
                if error:
                    print(f"{name:<14} {index:>5} {route} failed: {error}")
            if any(error for _, _, error in measured.values()):
                continue
            (seg_s, seg_b, _), (onnx_s, onnx_b, _) = measured["segment"], measured["onnx"]
            ratios.append(seg_s / onnx_s)
            print(
                f"{name:<14} {index:>5} {seg_s:>10.1f} {onnx_s:>8.1f} {seg_s / onnx_s:>9.2f} "
                f"{seg_b / 2**20:>8.1f} {onnx_b / 2**20:>9.1f} {seg_b / onnx_b:>10.2f}"
            )
        if len(ratios) > 1:
            print(f"{name:<14} median segment/onnx time ratio over {len(ratios)} rounds: {statistics.median(ratios):.2f}")
        shutil.rmtree(saved_model, ignore_errors=True)


def peak_rss(name: str, work: Path) -> None:
    """Convert a SavedModel of ``name`` by both routes in a fresh process and print its peak RSS."""
    subprocess.run([sys.executable, "-m", "model_zoo.bench_convert", "--export-only", name, "--out", str(work)], check=True)
    saved_model = work / name
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "model_zoo.bench_convert", "--convert-both", str(saved_model), "--out", str(work)]
    done = subprocess.run(command, capture_output=True, text=True)
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if done.returncode or not match:
        print(done.stdout, done.stderr[-3000:], sep="\n")
        raise SystemExit(f"converting {name} failed (exit {done.returncode})")
    print(done.stdout.strip())
    print(f"{name} SavedModel, both routes, benchmark off: peak RSS {int(match.group(1)) / 2**20:.2f} GiB")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison and/or the memory measurement."""
    parser = argparse.ArgumentParser(prog="python -m model_zoo.bench_convert", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="ResNet50,MobileNetV2,ConvNeXtTiny", help=f"comma list of {', '.join(SHAPES)}, or ''")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-warmup", action="store_true", help="count the process's first conversion too")
    parser.add_argument("--peak-rss", default="", help="model to convert by both routes under /usr/bin/time -v")
    parser.add_argument("--out", type=Path, default=None, help="work directory (default: a temporary one)")
    parser.add_argument("--export-only", default="", help=argparse.SUPPRESS)
    parser.add_argument("--convert-both", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    work = args.out or Path(tempfile.mkdtemp(prefix="bench_convert_"))
    work.mkdir(parents=True, exist_ok=True)
    if args.export_only:
        export_saved_model(args.export_only, work)
        return 0
    if args.convert_both:
        import tftrt_kit

        report = tftrt_kit.convert(str(args.convert_both), routes=ROUTES, output_dir=work / "both", benchmark=False, overwrite=True)
        for route, result in report.routes.items():
            accuracy = result.accuracy
            against_tf = f" vs TF on {accuracy.executor}: max_abs={accuracy.max_abs_error:.3g} max_rel={accuracy.max_rel_error:.3g}" if accuracy else ""
            print(
                f"{route}: ok={result.ok} seconds={result.conversion_seconds} "
                f"artifact_MiB={result.sizes.get('artifact_bytes', 0) / 2**20:.1f}{against_tf} {result.error or ''}"
            )
        return 0 if all(r.ok for r in report.routes.values()) else 1
    names = [n for n in args.models.split(",") if n]
    if names:
        compare_routes(names, args.rounds, work, warmup=not args.no_warmup)
    if args.peak_rss:
        peak_rss(args.peak_rss, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
