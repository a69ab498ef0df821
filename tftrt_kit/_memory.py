"""Freeing the copies of a large model's weights that reference cycles keep alive.

TensorFlow graphs, tf2onnx graphs and loaded SavedModels hold reference cycles, so
a dropped copy of the weights waits for the cyclic collector. For VGG16 (553 MB of
weights) those copies piled up past 24 GiB; for a small model a full collection
costs more time (TensorFlow's finalizers run) than the memory is worth.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Any, Iterator

#: A frozen GraphDef above this size has its dropped copies collected eagerly.
LARGE_GRAPH_BYTES = 64 * 2**20


def is_large(graph_def: Any) -> bool:
    """Whether ``graph_def`` (a ``GraphDef``) is large enough to collect its dropped copies eagerly.

    Costly on a large graph: protobuf's upb backend serializes the whole message to
    size it (about 1 s and a transient copy for VGG16), so ask once per graph
    (:attr:`tftrt_kit.source.Source.large_graph` caches the answer).
    """
    return graph_def.ByteSize() > LARGE_GRAPH_BYTES


def collect_if_large(source: Any) -> None:
    """Run the cyclic garbage collector when ``source``'s graph is large (``source.large_graph``)."""
    if source.large_graph:
        gc.collect()


@contextlib.contextmanager
def collections_skip_existing_objects() -> Iterator[None]:
    """Within the block, the cyclic collector skips every object that existed when it began.

    A full collection traverses every tracked object: with TensorFlow imported and a model
    loaded that is some 400k objects and 0.3-0.45 s here, and a conversion triggers from
    one (small model) to some thirty (a large graph's dropped copies collected eagerly) of
    them. Objects made inside the block are collected as usual; a reference cycle among
    the older ones that becomes garbage waits for the first collection after the block
    (plain reference counting still frees everything else at once). A process that froze
    objects itself (``gc.freeze``) is left as it is.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
