"""Cluster candidate nodes of a :class:`~tftrt_kit.segment.graph.GraphView` as TF-TRT's segmenter does.

:func:`contract` never forms a cycle and settles each node in one pass; "is there
another path" walks back only over the clusters lying between two nodes (bounded by
heights), instead of TF-TRT's unbounded reverse DFS, which is quadratic on large graphs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from tftrt_kit.segment.graph import GraphView


def contract(view: GraphView, candidate: Sequence[bool]) -> np.ndarray:
    """Cluster candidate nodes the way TF-TRT's segmenter does, without forming a cycle.

    Nodes are visited in reverse topological order. TF-TRT merges the visited node's
    cluster with each candidate cluster it feeds, retrying until no merge is left, and
    refuses a merge when another path leads there. With every successor already
    visited, that loop has one fixed point whatever order it tries the edges in: the
    node plus exactly those candidate successor clusters that no other path reaches
    from it. (A candidate cluster's own successors all lie behind a non-candidate of
    its, so no merge frees another, and a merge never makes another one form a cycle.)
    So each node is settled in one pass.

    The contracted graph of visited clusters carries a height per cluster, larger
    than each successor's, so only clusters shorter than one of the node's targets can
    lie on another path to a target ``s``. A merge that makes a cluster taller raises its
    predecessors' heights in turn.

    Args:
        view: The graph.
        candidate: Per node id, whether it may join a cluster.

    Returns:
        Per node id, the id of a member of its cluster (the same for all members), as an array.
    """
    n = len(view)
    parent = list(range(n))
    height = [0] * n
    # Cluster -> its successor and predecessor clusters (visited ones only); set when visited.
    out: list[set[int]] = [None] * n  # type: ignore[list-item]
    inn: list[set[int]] = [None] * n  # type: ignore[list-item]

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = i = parent[parent[i]]
        return i

    def another_path(targets: set[int], s: int, ceiling: int) -> bool:
        """Whether cluster ``s``, which no target feeds directly, is reachable from one of ``targets``.

        Every cluster on such a path was visited and is shorter than a target (``ceiling``
        is the tallest target's height), so the search walks backward from ``s`` over
        those alone: the few clusters lying between the visited node and ``s``.
        """
        s_in = inn[s]
        stack, seen = [p for p in s_in if height[p] < ceiling], set(s_in)
        while stack:
            for prev in inn[stack.pop()]:
                if prev in targets:
                    return True
                if height[prev] < ceiling and prev not in seen:
                    seen.add(prev)
                    stack.append(prev)
        return False

    def raise_heights(preds: Iterable[int], floor: int) -> None:
        """Make every cluster of ``preds``, and transitively theirs, taller than ``floor``."""
        stack = [(p, floor + 1) for p in preds if height[p] <= floor]
        while stack:
            p, h = stack.pop()
            if height[p] < h:
                height[p] = h
                stack.extend((q, h + 1) for q in inn[p] if height[q] <= h)

    successor_ids = view.successor_ids
    for v in reversed(view.topo_order):
        succ = successor_ids[v]
        if len(succ) == 1:
            t = succ[0]
            if parent[t] != t:
                t = find(t)
            if candidate[v] and candidate[t]:
                parent[v] = t  # t's cluster keeps its edges and height: nothing else changes
            else:
                inn[t].add(v)
                out[v], inn[v] = {t}, set()
                height[v] = height[t] + 1
            continue
        if not succ:
            out[v], inn[v] = set(), set()  # height 0
            continue
        # Plain loops, not comprehensions: on Python 3.11 each comprehension is a function
        # call, and this runs for every node with several consumers.
        targets, top = set(), -1
        for t in succ:
            if parent[t] != t:
                t = find(t)
            targets.add(t)
            if height[t] > top:
                top = height[t]
        merged = []
        if candidate[v]:
            for s in targets:
                # A target feeding s directly, the common case, is found by one set operation;
                # a longer path from a target needs a target at least two taller than s.
                if (
                    candidate[s]
                    and inn[s].isdisjoint(targets)
                    and (height[s] + 2 > top or not another_path(targets, s, top))
                ):
                    merged.append(s)
        if not merged:
            for t in targets:
                inn[t].add(v)
            out[v], inn[v] = targets, set()
            height[v] = 1 + top
            continue
        if len(merged) == 1:
            keep = merged[0]
            new_height = height[keep]
        else:
            # The merged cluster keeps the id of its member with the most edges: only the others' edges move.
            keep = max(merged, key=lambda s: len(out[s]) + len(inn[s]))
            new_height = max([height[s] for s in merged])
        parent[v] = keep
        rest = targets.difference(merged) if len(merged) < len(targets) else ()
        for t in rest:
            if height[t] >= new_height:
                new_height = height[t] + 1
        keep_out, keep_in, moved_preds = out[keep], inn[keep], []
        for t in rest:
            keep_out.add(t)
            inn[t].add(keep)
        for s in merged:
            if s == keep:
                continue
            parent[s] = keep
            for t in out[s]:
                t_in = inn[t]
                t_in.discard(s)
                t_in.add(keep)
            keep_out |= out[s]
            for p in inn[s]:
                p_out = out[p]
                p_out.discard(s)
                p_out.add(keep)
            keep_in |= inn[s]
            moved_preds.extend(inn[s])
            out[s] = inn[s] = set()
        if new_height > height[keep]:
            raise_heights(keep_in, new_height)
            height[keep] = new_height
        elif moved_preds:
            raise_heights(moved_preds, new_height)
    root = np.array(parent, dtype=np.int64)
    while True:  # pointer jumping: each pass halves every remaining path to a root
        up = root[root]
        if np.array_equal(up, root):
            return root
        root = up
