"""The ``tftrt-kit`` command line: ``convert``, ``inspect``, ``bench``, ``compare``, ``triton-export``, ``serve``.

Exit codes: 0 every route ok, 1 some route failed (the report says why),
2 bad input or usage (one line on stderr naming the fault, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from tftrt_kit import cli_types
from tftrt_kit.errors import ConfigError, TftrtKitError
from tftrt_kit.triton.cli import HANDLERS as TRITON_HANDLERS
from tftrt_kit.triton.cli import add_parsers as add_triton_parsers

EXIT_OK, EXIT_ROUTE_FAILED, EXIT_USAGE = 0, 1, 2

REPORT_SUFFIXES = (".json", ".md", ".html")

_EPILOG = """\
examples:
  tftrt-kit convert --demo --routes onnx
  tftrt-kit convert resnet50_savedmodel/ --routes segment,onnx --out out/ --report report.html
  tftrt-kit convert model.keras --precision int8 --calibration-data calib.npz --report r.json
  tftrt-kit convert bert/ --min-shapes ids:1x8 --opt-shapes ids:8x128 --max-shapes ids:32x512
  tftrt-kit inspect resnet50_savedmodel/
  tftrt-kit bench out/onnx --batch-sizes 1,16
  tftrt-kit compare fp32.json fp16.json int8.json

exit codes: 0 all routes ok, 1 some route failed, 2 bad input or usage
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``tftrt-kit``."""
    from tftrt_kit import __version__
    from tftrt_kit.engines.executors import executor_names
    from tftrt_kit.precisions import PRECISIONS
    from tftrt_kit.routes.registry import default_routes, routes

    parser = argparse.ArgumentParser(
        prog="tftrt-kit",
        description="Take a TensorFlow/Keras model to NVIDIA TensorRT by two routes -- segment (TF-TRT-style: "
        "TensorRT segments, the rest stays TensorFlow) and onnx (tf2onnx -> TensorRT) -- and report how they differ, "
        "with every figure measured on the executor it names.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tftrt-kit {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="let TensorFlow's and TensorRT's native log lines through (or set TFTRT_KIT_VERBOSE=1)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    convert = commands.add_parser("convert", help="convert a model by each route, print the report", description=(
        "Convert SRC by each route, evaluate every artifact against the source and benchmark it, then print the report."))
    convert.add_argument("source", nargs="?", metavar="SRC", help="SavedModel directory or .keras file")
    convert.add_argument("--demo", action="store_true", help="convert the built-in demo CNN instead of SRC")
    convert.add_argument("--routes", type=cli_types.route_names, default=default_routes(),
                         help=f"comma-separated routes, from: {', '.join(sorted(routes()))} (default: {','.join(default_routes())})")
    convert.add_argument("--precision", choices=PRECISIONS, default="fp32", help="default: fp32")
    convert.add_argument("--signature", default=None, help="signature key (default: serving_default)")
    convert.add_argument("--calibration-data", type=Path, default=None, metavar="FILE", help="INT8 calibration inputs (.npy, or .npz by input name)")
    convert.add_argument("--out", type=Path, default=None, metavar="DIR", help="write artifacts to DIR/<route> (default: a temporary directory)")
    convert.add_argument("--overwrite", action="store_true", help="replace existing artifacts in --out")
    convert.add_argument("--report", type=Path, action="append", default=[], metavar="FILE",
                         help="also write the report to FILE (.json, .md or .html; repeatable)")
    convert.add_argument("--batch-sizes", type=cli_types.batch_sizes, default=(1, 8, 32), metavar="B,B,..",
                         help="latency sweep where the batch is dynamic (default: 1,8,32)")
    convert.add_argument("--no-benchmark", action="store_true", help="skip latency measurement")
    convert.add_argument("--rounds", type=cli_types.positive_int, default=10, metavar="N",
                         help="interleaved timing rounds of the source and the routes; their spread is the noise (default: 10)")
    convert.add_argument("--calibration-method", choices=("max", "percentile", "entropy", "mse"), default="max",
                         help="INT8 calibration (default: max; entropy is TensorRT's KL calibrator; mse: Keras sources only)")
    convert.add_argument("--sample-data", type=Path, default=None, metavar="FILE",
                         help="accuracy inputs (.npz by input name, or .npy for a single-input model); default: generated")
    convert.add_argument("--backend", choices=("auto", "tensorrt", "tensorrt_rtx"), default="auto", help="TensorRT module (default: auto)")
    convert.add_argument("--no-build", action="store_true", help="check TensorRT acceptance only, build no plan")
    convert.add_argument("--opset", type=cli_types.positive_int, default=None, metavar="N", help="ONNX opset of both routes' exports")
    build = convert.add_argument_group("TensorRT build")
    build.add_argument("--workspace", type=cli_types.byte_size, default=None, metavar="SIZE", help="workspace memory pool per build, e.g. 512M, 2G (default: 1G)")
    build.add_argument("--builder-optimization-level", type=cli_types.optimization_level, default=None, metavar="N",
                       help="TensorRT builder optimization level 0-5 (default: TensorRT's, 3)")
    build.add_argument("--timing-cache", type=Path, default=None, metavar="FILE",
                       help="timing cache read before and updated after every build (default: one per conversion)")
    segment = convert.add_argument_group("segment route")
    segment.add_argument("--minimum-segment-size", type=cli_types.positive_int, default=None, metavar="N",
                         help="fewest effective nodes in a TensorRT segment (default: 3, as TF-TRT)")
    segment.add_argument("--maximum-segments", type=cli_types.positive_int, default=None, metavar="N", help="most segments kept, largest first (default: 20)")
    segment.add_argument("--exclude-ops", type=cli_types.names, default=(), metavar="OP,..", help="op types or node names kept in TensorFlow")
    segment.add_argument("--include-ops", type=cli_types.names, default=(), metavar="OP,..", help="op types or node names forced into segments")
    segment.add_argument("--no-refine", action="store_true", help="do not ask the TensorRT parser to refine the segments")
    tolerance = convert.add_argument_group("accuracy verdict (pass thresholds of the chosen precision)")
    tolerance.add_argument("--max-rel-error", type=float, default=None, metavar="X", help="max abs error over the output's scale")
    tolerance.add_argument("--min-cosine", type=float, default=None, metavar="X", help="cosine similarity to the source's output")
    tolerance.add_argument("--min-top1", type=float, default=None, metavar="X", help="top-1 agreement of classifier outputs")
    for bound in ("min", "opt", "max"):
        convert.add_argument(f"--{bound}-shapes", default=None, metavar="NAME:DxD,..",
                             help=f"{bound} shapes of the optimization profile, as trtexec spells them (e.g. ids:{dict(min='1x8', opt='8x128', max='32x512')[bound]}); "
                             "inputs named take them, others keep batch 1/8/32")
    for bound in ("min", "opt", "max"):
        convert.add_argument(f"--{bound}-shape-values", default=None, metavar="NAME:VxV,..",
                             help=f"{bound} VALUES of an int input the model uses as a shape (a TensorRT shape tensor), "
                             f"spelled as a shape (e.g. dims:{dict(min='1x4', opt='3x4', max='8x4')[bound]})")

    inspect = commands.add_parser("inspect", help="preview how the segment route would split a model", description=(
        "Preview the segmentation of SRC: which ops TensorRT segments would take, which stay in TensorFlow and why."))
    inspect.add_argument("source", metavar="SRC", help="SavedModel directory or .keras file")
    inspect.add_argument("--signature", default=None, help="signature key (default: serving_default)")
    inspect.add_argument("--precision", choices=PRECISIONS, default="fp32",
                         help="precision the op rules assume: FakeQuant/QuantizeAndDequantize go to TensorRT only at int8 (default: fp32)")
    inspect.add_argument("--minimum-segment-size", type=int, default=3, metavar="N",
                         help="fewest effective nodes in a segment, counted as TF-TRT counted (default: 3)")

    bench = commands.add_parser("bench", help="measure the latency of a written artifact", description=(
        "Measure the latency of ARTIFACT (a directory written by convert) on seeded generated inputs."))
    bench.add_argument("artifact", type=Path, metavar="ARTIFACT", help="artifact directory, e.g. out/onnx")
    bench.add_argument("--batch-sizes", type=cli_types.batch_sizes, default=(1, 8, 32), metavar="B,B,..", help="default: 1,8,32")
    bench.add_argument("--rounds", type=cli_types.positive_int, default=10, metavar="N", help="timing rounds; their spread is the noise (default: 10)")
    bench.add_argument("--executor", choices=executor_names(), default="auto", help="default: auto")

    compare = commands.add_parser("compare", help="show several saved reports side by side", description=(
        "Show the routes of several JSON reports (written by convert --report FILE.json) side by side."))
    compare.add_argument("reports", type=Path, nargs="+", metavar="REPORT.json")
    add_triton_parsers(commands)
    for command in commands.choices.values():
        command.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                             help="let TensorFlow's and TensorRT's native log lines through (or set TFTRT_KIT_VERBOSE=1)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 all routes ok, 1 a route failed, 2 bad input or usage).

    Example:
        >>> main(["compare", "r1.json", "r2.json"])  # doctest: +SKIP
        0
    """
    from tftrt_kit.native_logs import captured, quiet_tensorflow, verbose_requested, verbosity

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return EXIT_USAGE if exit_.code else EXIT_OK
    handlers = {"convert": _convert, "inspect": _inspect, "bench": _bench, "compare": _compare, **TRITON_HANDLERS}
    verbose = args.verbose or verbose_requested()
    if not verbose:
        quiet_tensorflow()
    with verbosity(verbose), captured(not verbose):
        try:
            return handlers[args.command](args)
        except TftrtKitError as err:
            print(f"tftrt-kit {args.command}: error: {type(err).__name__}: {err}", file=sys.stderr)
            return EXIT_USAGE


def _convert(args: argparse.Namespace) -> int:
    if args.demo == bool(args.source):
        raise ConfigError(f"Expected exactly one of SRC or --demo. Received: SRC={args.source!r}, --demo={args.demo}.")
    for path in args.report:
        if path.suffix not in REPORT_SUFFIXES:
            raise ConfigError(f"Expected --report with a suffix in {REPORT_SUFFIXES}. Received: {str(path)!r}.")
    calibration = _arrays(args.calibration_data, "--calibration-data") if args.calibration_data is not None else None
    sample = _arrays(args.sample_data, "--sample-data") if args.sample_data is not None else None
    route_options = _route_options(args)
    from tftrt_kit.preflight import check_call

    check_call(
        None if args.demo else args.source, routes=args.routes, precision=args.precision, calibration_data=calibration,
        calibration_method=args.calibration_method, output_dir=args.out, overwrite=args.overwrite, route_options=route_options,
    )
    from tftrt_kit.profile_flags import parse_shape_flags

    values = (args.min_shape_values, args.opt_shape_values, args.max_shape_values)
    shapes = parse_shape_flags(args.min_shapes, args.opt_shapes, args.max_shapes, values=values)
    if args.demo:
        from tftrt_kit.demo import demo_model

        source: Any = demo_model()
    else:
        source = args.source
    from tftrt_kit.api import convert
    from tftrt_kit.bench import BenchOptions

    report = convert(
        source,
        routes=args.routes,
        precision=args.precision,
        calibration_data=calibration,
        calibration_method=args.calibration_method,
        output_dir=args.out,
        overwrite=args.overwrite,
        signature=args.signature,
        sample_data=sample,
        backend=args.backend,
        build_plans=not args.no_build,
        shapes=shapes,
        benchmark=False if args.no_benchmark else BenchOptions(batch_sizes=args.batch_sizes, rounds=args.rounds),
        tolerances=_tolerances(args),
        route_options=route_options,
        progress=True,
        engine=_engine_options(args),
    )
    print(report)
    writers = {".json": report.to_json, ".md": report.to_markdown, ".html": report.to_html}
    for path in args.report:
        writers[path.suffix](path)
        print(f"report written to {path}")
    return EXIT_OK if all(r.ok for r in report.routes.values()) else EXIT_ROUTE_FAILED


def _engine_options(args: argparse.Namespace) -> Any:
    from tftrt_kit.engines.tensorrt_builder import EngineOptions

    defaults = EngineOptions()
    return EngineOptions(
        workspace_bytes=args.workspace if args.workspace is not None else defaults.workspace_bytes,
        builder_optimization_level=args.builder_optimization_level,
        timing_cache=args.timing_cache,
    )


def _arrays(path: Path, flag: str) -> Any:
    """The arrays of a ``.npy`` file, or of a ``.npz`` file by input name."""
    import numpy as np

    if path.suffix not in (".npy", ".npz"):
        raise ConfigError(f"Expected {flag} FILE.npy or FILE.npz. Received: {str(path)!r}.")
    if not path.is_file():
        raise ConfigError(f"Expected {flag} to name an existing file. Received: {str(path)!r}, which does not exist.")
    try:
        data = np.load(path, allow_pickle=False)
        return dict(data) if path.suffix == ".npz" else data
    except (OSError, ValueError) as err:
        raise ConfigError(f"Expected a NumPy .npy/.npz file at {flag}. Received: {str(path)!r}, unreadable: {err}.") from err


def _route_options(args: argparse.Namespace) -> dict[str, Any]:
    """Options objects of the routes run, from the route flags given (defaults elsewhere)."""
    import dataclasses

    from tftrt_kit.export import ExportOptions

    export = ExportOptions(opset=args.opset) if args.opset is not None else ExportOptions()
    options: dict[str, Any] = {}
    if "onnx" in args.routes and args.opset is not None:
        options["onnx"] = export
    segment_flags = {
        "minimum_segment_size": args.minimum_segment_size,
        "maximum_segments": args.maximum_segments,
        "exclude_ops": args.exclude_ops or None,
        "include_ops": args.include_ops or None,
        "refine_with_tensorrt": False if args.no_refine else None,
    }
    given = {k: v for k, v in segment_flags.items() if v is not None}
    if "segment" not in args.routes and given:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise ConfigError(f"Expected segment route flags only with --routes including segment. Received: {flags} with --routes {','.join(args.routes)}.")
    if "segment" in args.routes and (given or args.opset is not None):
        from tftrt_kit.routes.segment import SegmentOptions

        options["segment"] = dataclasses.replace(SegmentOptions(), export=export, **given)
    return options


def _tolerances(args: argparse.Namespace) -> Any:
    """Default tolerances, with the pass thresholds of ``--precision`` replaced by the flags given."""
    import dataclasses

    from tftrt_kit.report import Tolerances

    given = {k: getattr(args, k) for k in ("max_rel_error", "min_cosine", "min_top1") if getattr(args, k) is not None}
    if not given:
        return None
    defaults = Tolerances()
    return dataclasses.replace(defaults, **{args.precision: dataclasses.replace(defaults.for_precision(args.precision), **given)})


def _inspect(args: argparse.Namespace) -> int:
    from tftrt_kit.segment import inspect

    print(inspect(args.source, signature=args.signature, precision=args.precision, minimum_segment_size=args.minimum_segment_size).summary())
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    from tftrt_kit.bench import BenchOptions, sweep
    from tftrt_kit.errors import ArtifactError
    from tftrt_kit.report.cells import table
    from tftrt_kit.runtime.loader import load

    model = load(args.artifact, executor=args.executor)
    specs = getattr(model, "inputs", None)
    if not specs:
        raise ArtifactError(f"Expected an artifact whose model names its inputs. Received: {model!r}.")
    from tftrt_kit.profiles import ProfilePlan

    plan = ProfilePlan.from_dict(getattr(model, "manifest", {}).get("profiles") or {})
    options = BenchOptions(batch_sizes=args.batch_sizes, rounds=args.rounds)
    latencies, refused = sweep(model, specs, executor=model.executor, options=options, shapes=plan.opt_shapes(), values=plan.opt_values())
    print(f"{args.artifact} on {model.executor}")
    print(table(
        ["executor", "batch", "p50 ms", "p90 ms", "p99 ms", "mean ms", "samples/s", "iterations", "rounds", "p50 95% interval"],
        [[x.executor, x.batch, x.p50_ms, x.p90_ms, x.p99_ms, x.mean_ms, x.throughput, x.iterations, x.rounds,
          f"{x.p50_low_ms:.4g}-{x.p50_high_ms:.4g}" if x.p50_low_ms is not None else None] for x in latencies],
    ))
    for batch, reason in refused.items():
        print(f"batch {batch} not measured: {reason}")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from tftrt_kit.report.cells import table

    rows = []
    for path in args.reports:
        report = _read_report(path)
        tf = ", ".join(f"{x.batch}: {x.p50_ms:.3g}" for x in report.source.latencies) or None
        rows.append([path.name, report.source.description, "source (TF)", "ok", None, "tensorflow", tf, None, None, None, None, None])
        for name, r in report.routes.items():
            if not r.ok:
                rows.append([path.name, report.source.description, name, r.status, r.precision] + [None] * 7)
                continue
            p50 = ", ".join(f"{x.batch}: {x.p50_ms:.3g}" for x in r.latencies) or None
            acc = r.accuracy
            rows.append([
                path.name, report.source.description, name, r.status, r.precision,
                r.latency.executor if r.latency else (acc.executor if acc else None), p50,
                acc.max_rel_error if acc else None, acc.verdict if acc else None,
                f"{r.coverage:.1%}" if r.coverage is not None else None,
                round(r.conversion_seconds, 2) if r.conversion_seconds is not None else None, report.created,
            ])
    print(table(
        ["report", "source", "route", "status", "precision", "executor", "p50 ms by batch", "max rel err", "verdict",
         "TRT coverage", "convert s", "measured"],
        rows,
    ))
    return EXIT_OK


def _read_report(path: Path) -> Any:
    import json

    from tftrt_kit.report.data import Report

    if not path.is_file():
        raise ConfigError(f"Expected a JSON report written by 'tftrt-kit convert --report FILE.json'. Received: {str(path)!r}, which does not exist.")
    try:
        return Report.from_dict(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"Expected a JSON report written by tftrt-kit. Received: {str(path)!r}, unreadable: {type(err).__name__}: {err}.") from err


if __name__ == "__main__":
    sys.exit(main())
