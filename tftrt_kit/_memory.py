"""Freeing the copies of a large model's weights that reference cycles keep alive.

TensorFlow graphs, tf2onnx graphs and loaded SavedModels hold reference cycles, so
a dropped copy of the weights waits for the cyclic collector. For VGG16 (553 MB of
weights) those copies piled up past 24 GiB; for a small model a full collection
costs more time (TensorFlow's finalizers run) than the memory is worth.
"""

from __future__ import annotations

import gc
from typing import Any

#: A frozen GraphDef above this size has its dropped copies collected eagerly.
LARGE_GRAPH_BYTES = 64 * 2**20


def is_large(graph_def: Any) -> bool:
    """Whether ``graph_def`` (a ``GraphDef``) is large enough to collect its dropped copies eagerly."""
    return graph_def.ByteSize() > LARGE_GRAPH_BYTES


def collect_if_large(graph_def: Any) -> None:
    """Run the cyclic garbage collector when ``graph_def`` is large (see :func:`is_large`)."""
    if is_large(graph_def):
        gc.collect()
