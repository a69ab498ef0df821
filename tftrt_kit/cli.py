"""The ``tftrt-kit`` command line: ``convert`` (and ``--demo``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from tftrt_kit.errors import TftrtKitError

EXIT_OK, EXIT_ROUTE_FAILED, EXIT_USAGE = 0, 1, 2


def _routes(text: str) -> tuple[str, ...]:
    return tuple(r.strip() for r in text.split(",") if r.strip())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tftrt-kit``."""
    parser = argparse.ArgumentParser(
        prog="tftrt-kit",
        description="Take a TensorFlow/Keras model to TensorRT by two routes (segment, onnx) and compare them.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser("convert", help="convert a model by each route and print the report")
    convert.add_argument("source", nargs="?", help="SavedModel directory or .keras file")
    convert.add_argument("--demo", action="store_true", help="convert the built-in demo CNN instead of SOURCE")
    convert.add_argument("--routes", type=_routes, default=("segment", "onnx"), help="comma-separated routes (default: segment,onnx)")
    convert.add_argument("--precision", choices=("fp32", "fp16", "int8"), default="fp32")
    convert.add_argument("--signature", default=None, help="signature key (default: serving_default)")
    convert.add_argument("--calibration-data", type=Path, default=None, help="INT8 calibration inputs (.npy or .npz)")
    convert.add_argument("--out", type=Path, default=None, help="output directory for the artifacts")
    convert.add_argument("--overwrite", action="store_true", help="replace existing artifacts in --out")
    convert.add_argument("--report", type=Path, default=None, help="also write the report (.json)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 all routes ok, 1 a route failed, 2 bad input or usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_OK
    try:
        return _convert(args, parser)
    except TftrtKitError as err:
        print(f"tftrt-kit: error: {type(err).__name__}: {err}", file=sys.stderr)
        return EXIT_USAGE


def _convert(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from tftrt_kit.api import convert

    if args.demo == bool(args.source):
        parser.print_usage(sys.stderr)
        print("tftrt-kit convert: error: give exactly one of SOURCE or --demo", file=sys.stderr)
        return EXIT_USAGE
    if args.demo:
        from tftrt_kit.demo import demo_model

        source = demo_model()
    else:
        source = args.source
    calibration = None
    if args.calibration_data is not None:
        import numpy as np

        calibration = dict(np.load(args.calibration_data)) if args.calibration_data.suffix == ".npz" else np.load(args.calibration_data)
    report = convert(
        source,
        routes=args.routes,
        precision=args.precision,
        calibration_data=calibration,
        output_dir=args.out,
        overwrite=args.overwrite,
        signature=args.signature,
    )
    print(report)
    if args.report is not None:
        report.to_json(args.report)
    return EXIT_OK if all(r.ok for r in report.routes.values()) else EXIT_ROUTE_FAILED


if __name__ == "__main__":
    sys.exit(main())
