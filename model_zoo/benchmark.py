"""Convert zoo models by each route and tabulate what was measured.

Usage:
    python -m model_zoo.benchmark [--models all|ResNet50,...] [--routes segment,onnx]
        [--precision fp32,fp16,int8] [--out DIR] [--resume] [--keep-artifacts]

Writes ``results.csv``, ``results.md`` and ``results.png`` into ``--out``. One row per
(model, precision); a model that fails is recorded with its error and the run goes
on; ``--resume`` skips rows already in ``results.csv``. Every figure comes from
the ``tftrt_kit.convert`` report of that row, measured in this run on this machine.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Sequence

from model_zoo.zoo import ZOO, accuracy, digits_data

SUMMARY_COLUMNS = [
    "model", "precision", "route", "status", "executor", "p50_ms", "vs_tf", "max_rel_error", "cosine",
    "coverage", "segments", "fallbacks", "trt_accepted", "plan_mib", "onnx_mib", "convert_s", "fp32_top1", "route_top1", "int8_top1",
]


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m model_zoo.benchmark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=_csv_list, default=["all"], help=f"'all' or some of: {', '.join(ZOO)}")
    parser.add_argument("--routes", type=_csv_list, default=["segment", "onnx"])
    parser.add_argument("--precision", type=_csv_list, default=["fp32"], help="fp32,fp16,int8")
    parser.add_argument("--out", type=Path, default=Path("zoo_results"))
    parser.add_argument("--resume", action="store_true", help="skip (model, precision) rows already in results.csv")
    parser.add_argument("--keep-artifacts", action="store_true", help="keep converted artifacts under OUT/artifacts")
    return parser


def calibration_data(name: str, samples: int = 64) -> Any:
    """INT8 calibration inputs: held-in digits for DigitsCNN, seeded synthetic inputs otherwise."""
    if name == "DigitsCNN":
        return digits_data()[0][:samples]
    entry = ZOO[name]
    data = entry.sample(samples, seed=1)
    return data.astype("int32") if name == "TransformerEncoder" else data


def run_one(name: str, precision: str, routes: Sequence[str], out: Path, machine: str) -> list[dict[str, Any]]:
    """Convert one model at one precision; one result row per route (or one failure row)."""
    import tftrt_kit
    from tftrt_kit.bench import BenchOptions

    entry = ZOO[name]
    model = entry.model()
    sample = entry.sample(1, seed=0)
    input_name = model.inputs[0].name
    if name == "TransformerEncoder":
        sample = sample.astype("int32")
    started = time.perf_counter()
    report = tftrt_kit.convert(
        model,
        routes=routes,
        precision=precision,
        calibration_data=calibration_data(name) if precision == "int8" else None,
        output_dir=out / "artifacts" / f"{name}-{precision}",
        overwrite=True,
        sample_data={input_name: sample},
        benchmark=BenchOptions(batch_sizes=(1,)),
    )
    wall = time.perf_counter() - started
    tf_p50 = report.source.latency.p50_ms if report.source.latency else None
    rows = []
    for route_name, route in report.routes.items():
        row = {"model": name, "precision": precision, "route": route_name, "status": route.status, "machine": machine,
               "date": report.created, "tf_p50_ms": tf_p50, "wall_s": round(wall, 1), "error": route.error or ""}
        if route.ok:
            row.update(_route_figures(route, tf_p50))
            if name == "DigitsCNN":
                row.update(_digits_accuracy(route, model))
        rows.append(row)
    return rows


def run_isolated(name: str, precision: str, routes: Sequence[str], out: Path, machine: str) -> list[dict[str, Any]]:
    """:func:`run_one` in a fresh process.

    Each model's memory (VGG16 alone holds several copies of 528 MB of weights while
    converting) is returned when its process ends, and a model that kills its process,
    e.g. out of memory, becomes a failed row instead of ending the run.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            return pool.submit(run_one, name, precision, tuple(routes), out, machine).result()
        except BrokenProcessPool as err:
            raise RuntimeError(f"the process converting {name} died (killed, e.g. out of memory)") from err


def _route_figures(route: Any, tf_p50: float | None) -> dict[str, Any]:
    p50 = route.latency.p50_ms if route.latency else None
    return {
        "executor": route.latency.executor if route.latency else "",
        "p50_ms": p50,
        "vs_tf": round(tf_p50 / p50, 3) if p50 and tf_p50 else None,
        "max_rel_error": route.accuracy.max_rel_error if route.accuracy else None,
        "cosine": route.accuracy.cosine if route.accuracy else None,
        "coverage": route.coverage,
        "segments": len(route.segments) if route.name == "segment" else None,
        "fallbacks": "; ".join(f"{f.op_type}x{f.count}: {f.reason}" for f in route.fallbacks),
        "trt_accepted": _accepted(route),
        "plan_mib": round(route.sizes.get("plan_bytes", 0) / 2**20, 2),
        "onnx_mib": round(route.sizes.get("onnx_bytes", 0) / 2**20, 2),
        "convert_s": round(route.conversion_seconds or 0.0, 2),
        "stages": "; ".join(f"{k}={v:.2f}" for k, v in route.timings.items()),
    }


def _accepted(route: Any) -> str | None:
    """TensorRT's verdict: yes/no for the onnx route, "accepted/segments" for the segment route."""
    if route.name == "segment":
        checks = [s.tensorrt for s in route.segments if s.tensorrt is not None]
        return f"{sum(c.accepted for c in checks)}/{len(route.segments)}" if checks else None
    return None if route.tensorrt is None else str(route.tensorrt.accepted)


def _digits_accuracy(route: Any, model: Any) -> dict[str, Any]:
    """Top-1 on the held-out digits: the Keras model vs the route's artifact."""
    import tftrt_kit

    _, _, x_test, y_test = digits_data()
    artifact = tftrt_kit.load(route.artifact_dir)
    key = "int8_top1" if route.precision == "int8" else "route_top1"
    return {"fp32_top1": accuracy(model.predict(x_test, verbose=0), y_test),
            key: accuracy(artifact({artifact.inputs[0].name: x_test})[artifact.outputs[0].name], y_test)}


def machine_label() -> str:
    """CPU model and core count of this machine."""
    from tftrt_kit.api import machine_info

    info = machine_info()
    return f"{info['cpu']} x{info['cores']}{' + GPU' if info['gpu'] else ''}"


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_results(rows: list[dict[str, Any]], out: Path) -> None:
    """Write results.csv (every field), results.md (summary columns) and results.png, rows in registry order."""
    from tftrt_kit.runtime.artifact import write_text_atomic

    rank = {name: i for i, name in enumerate(ZOO)}
    rows = sorted(rows, key=lambda r: (rank.get(r["model"], len(rank)), r["precision"]))  # stable: routes keep their order
    fields = sorted({k for row in rows for k in row}, key=lambda k: (SUMMARY_COLUMNS + ["machine", "date"] + [k]).index(k))
    tmp = out / ".results.csv.tmp"
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(out / "results.csv")
    columns = [c for c in SUMMARY_COLUMNS if any(row.get(c) not in (None, "") for row in rows)]
    machines = sorted({row.get("machine", "") for row in rows})
    text = f"Measured on {', '.join(machines)}.\n\n" + _markdown(columns, rows)
    errors = [f"- {r['model']} {r['precision']} {r['route']}: {r['error']}" for r in rows if r.get("error")]
    if errors:
        text += "\n\nFailures:\n" + "\n".join(errors)
    write_text_atomic(out / "results.md", text + "\n")
    _plot(rows, out / "results.png")


def _markdown(columns: list[str], rows: list[dict[str, Any]]) -> str:
    def cell(value: Any) -> str:
        if value in (None, ""):
            return ""
        if str(value) in ("True", "False"):
            return "yes" if str(value) == "True" else "no"
        try:
            number = float(value)
        except (TypeError, ValueError):
            return str(value).replace("|", "/")
        return f"{number:.3g}" if not number.is_integer() else str(int(number))

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r.get("status") == "ok" and r.get("p50_ms") not in (None, "")]
    if not ok:
        return
    labels = sorted({(r["model"], r["precision"]) for r in ok})
    routes = sorted({r["route"] for r in ok})
    figure, axes = plt.subplots(1, 2, figsize=(14, 5))
    width = 0.8 / (len(routes) + 1)
    for i, (model, precision) in enumerate(labels):
        tf_p50 = next(float(r["tf_p50_ms"]) for r in ok if (r["model"], r["precision"]) == (model, precision))
        axes[0].bar(i, tf_p50, width, color="grey", label="TensorFlow" if i == 0 else None)
        for j, route in enumerate(routes):
            match = [r for r in ok if (r["model"], r["precision"], r["route"]) == (model, precision, route)]
            if match:
                axes[0].bar(i + (j + 1) * width, float(match[0]["p50_ms"]), width, color=f"C{j}",
                            label=f"{route} ({match[0]['executor']})" if i == 0 else None)
                if match[0].get("max_rel_error") not in (None, ""):
                    axes[1].scatter(i + (j + 1) * width, max(float(match[0]["max_rel_error"]), 1e-12), color=f"C{j}")
    for axis in axes:
        axis.set_xticks([i + width * len(routes) / 2 for i in range(len(labels))], [f"{m}\n{p}" for m, p in labels], rotation=60, fontsize=7)
    axes[0].set_ylabel("p50 latency, batch 1 (ms)")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=7)
    axes[1].set_ylabel("max error / output scale")
    axes[1].set_yscale("log")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns 0 when every row converted by every route, else 1."""
    from tqdm import tqdm

    args = build_parser().parse_args(argv)
    names = list(ZOO) if args.models == ["all"] else args.models
    unknown = [n for n in names if n not in ZOO]
    if unknown:
        print(f"unknown models {unknown}; known: {list(ZOO)}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    rows = _read_rows(args.out / "results.csv") if args.resume else []
    done = {(r["model"], r["precision"]) for r in rows}
    machine = machine_label()
    jobs = [(n, p) for n in names for p in args.precision if (n, p) not in done]
    for name, precision in tqdm(jobs, desc="zoo", unit="model", disable=not sys.stderr.isatty()):
        try:
            rows += run_isolated(name, precision, args.routes, args.out, machine)
        except Exception as err:  # a model that fails is a row, and the run goes on
            rows.append({"model": name, "precision": precision, "route": "-", "status": "failed", "machine": machine,
                         "error": f"{type(err).__name__}: {err}".splitlines()[0][:300]})
            traceback.print_exc(file=sys.stderr)
        if not args.keep_artifacts:
            shutil.rmtree(args.out / "artifacts" / f"{name}-{precision}", ignore_errors=True)
        write_results(rows, args.out)
    print((args.out / "results.md").read_text())
    return 0 if all(r.get("status") == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
