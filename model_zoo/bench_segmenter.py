"""Benchmark the segmenter on seeded random layered DAGs of 10k, 50k and 100k nodes.

Each graph has layers of ~50 nodes; every node reads 1-3 tensors from the previous
1-4 layers (realistic fan-in, skip connections), ~20% of the nodes are ops with no
TensorRT rule (``Cumsum``), the rest ``AddV2``/``Relu``, plus a few control edges.
Times are the best of ``--repeat`` runs of ``classify`` (rules only, ``opset=None``),
of reading the GraphDef into a ``GraphView``, of ``segment`` on that view (clustering
and islands: what TF-TRT's ``SegmentGraph`` does on an already parsed graph), and of
``segment`` on the GraphDef itself (both together), each measured separately; the load
average is printed last, as other processes skew the figures.

Usage:
    python model_zoo/bench_segmenter.py [--sizes 10000 50000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import time

from tensorflow.core.framework import graph_pb2

from tftrt_kit.segment import classify, segment
from tftrt_kit.segment.graph import GraphView

LAYER_WIDTH = 50
UNSUPPORTED_FRACTION = 0.2


def layered_dag(n: int, seed: int = 0) -> graph_pb2.GraphDef:
    """A random layered DAG of ``n`` nodes (one Placeholder, then AddV2/Relu/Cumsum layers)."""
    rng = random.Random(seed)
    graph = graph_pb2.GraphDef()
    graph.node.add(name="input", op="Placeholder").attr["dtype"].type = 1
    layers: list[list[str]] = [["input"]]
    count = 1
    while count < n:
        layer = []
        for _ in range(min(LAYER_WIDTH, n - count)):
            name = f"n{count}"
            count += 1
            fan_in = rng.choice((1, 1, 2, 2, 3))
            inputs = [rng.choice(layers[-rng.randint(1, min(4, len(layers)))]) for _ in range(fan_in)]
            if rng.random() < UNSUPPORTED_FRACTION:
                op = "Cumsum"
                inputs = inputs[:1]
            else:
                op = "AddV2" if len(inputs) > 1 else "Relu"
                inputs = inputs[:2]
            node = graph.node.add(name=name, op=op, input=inputs)
            if rng.random() < 0.01 and len(layers) > 2:
                node.input.append("^" + rng.choice(layers[-2]))
            node.attr["T"].type = 1
            layer.append(name)
        layers.append(layer)
    shuffled = list(graph.node)
    rng.shuffle(shuffled)
    result = graph_pb2.GraphDef()
    result.node.extend(shuffled)
    return result


def best_of(repeat: int, fn) -> tuple[float, object]:
    """Best wall time of ``repeat`` calls of ``fn`` and its last result."""
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    header = (
        f"{'n':>8} {'classify s':>11} {'view s':>7} {'segment(view) s':>16} {'segment(GraphDef) s':>20} "
        f"{'s/(n log2 n)':>13} {'segments':>9} {'islands':>8} {'coverage':>9}"
    )
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        graph = layered_dag(n)
        t_classify, support = best_of(args.repeat, lambda: classify(graph, opset=None))
        t_view, view = best_of(args.repeat, lambda: GraphView(graph))
        t_cluster, _ = best_of(args.repeat, lambda: segment(view, support, maximum_segments=None))
        t_segment, result = best_of(args.repeat, lambda: segment(graph, support, maximum_segments=None))
        print(
            f"{n:>8} {t_classify:>11.3f} {t_view:>7.3f} {t_cluster:>16.3f} {t_segment:>20.3f} "
            f"{t_segment / (n * math.log2(n)):>13.3e} {len(result.segments):>9} {len(result.islands):>8} {result.coverage:>9.3f}"
        )
    if hasattr(os, "getloadavg"):
        print("load average (1, 5, 15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
