"""The ``triton-export`` and ``serve`` commands of ``tftrt-kit``, wired in by ``tftrt_kit.cli``.

``tftrt_kit.cli`` calls :func:`add_parsers` on its subcommands and dispatches through
:data:`HANDLERS`; each handler returns an exit code (0 ok, 1 a load check failed)
and lets :class:`~tftrt_kit.errors.TftrtKitError` through for the CLI to report.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Callable

from tftrt_kit.cli_types import positive_ints

EXIT_OK, EXIT_CHECK_FAILED = 0, 1


def add_parsers(subcommands: Any) -> None:
    """Add ``triton-export`` and ``serve`` to ``tftrt-kit``'s subcommands.

    Args:
        subcommands: The ``argparse`` object returned by ``add_subparsers``.

    Example:
        >>> commands = argparse.ArgumentParser().add_subparsers(dest="command")  # doctest: +SKIP
        >>> add_parsers(commands)                                                # doctest: +SKIP
    """
    from tftrt_kit.engines.executors import executor_names

    export = subcommands.add_parser("triton-export", help="write a Triton model repository for an artifact", description=(
        "Write a Triton Inference Server model repository (<name>/config.pbtxt, <name>/1/<model>) serving ARTIFACT "
        "(a directory written by convert) or every ok route of a JSON report; each config is validated against "
        "Triton's schema. Serve it with: tritonserver --model-repository=REPOSITORY"))
    export.add_argument("artifact", type=Path, metavar="ARTIFACT|REPORT.json", help="artifact directory (out/onnx, out/segment) or report")
    export.add_argument("repository", type=Path, metavar="REPOSITORY", help="model repository directory to write")
    export.add_argument("--name", default=None, help="model name (default: the source model's name)")
    _batching_arguments(export)
    export.add_argument("--no-dynamic-batching", action="store_true", help="leave batching to the client")
    export.add_argument("--overwrite", action="store_true", help="replace an existing repository")

    serve = subcommands.add_parser("serve", help="serve an artifact on a local Triton server (PyTriton)", description=(
        "Serve ARTIFACT on a local Triton server (extra 'serve': nvidia-pytriton) with dynamic batching, bound to --host. "
        "With --check, send concurrent requests instead, compare every answer with the source (or the artifact "
        "in-process), print throughput, latency and the batches Triton formed, and stop."))
    serve.add_argument("artifact", type=Path, metavar="ARTIFACT", help="artifact directory, e.g. out/segment")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--http-port", type=int, default=8000, help="default: 8000 (--check: a free port)")
    serve.add_argument("--grpc-port", type=int, default=8001, help="default: 8001 (--check: a free port)")
    serve.add_argument("--name", default="model", help="model name clients call (default: model)")
    _batching_arguments(serve)
    serve.add_argument("--executor", choices=executor_names(), default="auto", help="default: auto")
    serve.add_argument("--check", action="store_true", help="run a load check and stop")
    serve.add_argument("--source", default=None, metavar="SRC", help="--check: compare with this SavedModel or .keras file")
    serve.add_argument("--requests", type=int, default=64, help="--check: requests to send (default: 64)")
    serve.add_argument("--concurrency", type=int, default=8, help="--check: client threads (default: 8)")
    serve.add_argument("--timeout", type=float, default=120.0, metavar="S", help="--check: wall-clock budget in seconds (default: 120)")


def _batching_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-batch-size", type=int, default=16, help="largest batch Triton forms (default: 16)")
    parser.add_argument("--instances", type=int, default=1, help="model instances (default: 1)")
    parser.add_argument("--preferred-batch-sizes", type=positive_ints("4,8,16"), default=None, metavar="B,B,..",
                        help="batch sizes the dynamic batcher aims for (default: powers of two up to the maximum)")


def triton_export_command(args: argparse.Namespace) -> int:
    """``tftrt-kit triton-export``: write the repository and print what it holds.

    Returns:
        0.

    Raises:
        TftrtKitError: the artifact, report or a config is invalid, or the repository exists.
    """
    from tftrt_kit.triton.repository import export

    target: Any = args.artifact
    if args.artifact.suffix == ".json" and args.artifact.is_file():
        from tftrt_kit.report.data import Report

        target = Report.from_json(args.artifact)
    repository = export(
        target, args.repository, name=args.name, max_batch_size=args.max_batch_size, instances=args.instances,
        dynamic_batching=not args.no_dynamic_batching, preferred_batch_sizes=args.preferred_batch_sizes, overwrite=args.overwrite,
    )
    print(repository)
    print(f"serve it with: tritonserver --model-repository={repository.path.resolve()}")
    return EXIT_OK


def serve_command(args: argparse.Namespace) -> int:
    """``tftrt-kit serve``: serve until interrupted, or with ``--check`` run a load check.

    Returns:
        0, or 1 when the load check had mismatches, failures or unanswered requests.

    Raises:
        TftrtKitError: the artifact does not load, or the ``serve`` extra is missing.
    """
    options = dict(name=args.name, host=args.host, max_batch_size=args.max_batch_size, instances=args.instances,
                   preferred_batch_sizes=args.preferred_batch_sizes, executor=args.executor)
    if args.check:
        from tftrt_kit.triton.load_check import load_check

        result = load_check(args.artifact, args.source, requests=args.requests, concurrency=args.concurrency,
                            timeout_s=args.timeout, **options)
        print(result)
        return EXIT_OK if result.ok else EXIT_CHECK_FAILED
    from tftrt_kit.triton.serve import serve

    with serve(args.artifact, http_port=args.http_port, grpc_port=args.grpc_port, **options) as server:
        print(f"serving {args.artifact} as model {server.model_name!r} on {server.model.executor}: "
              f"HTTP {server.http_url}, gRPC {server.grpc_url} (Ctrl-C stops)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return EXIT_OK


#: Command name -> handler, for ``tftrt_kit.cli.main``.
HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {"triton-export": triton_export_command, "serve": serve_command}
