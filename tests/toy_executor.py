"""A toy executor for the registry tests: ONNX's reference evaluator (pure Python, exact, slow).

Its whole definition is this module and its one ``register_executor`` entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from tftrt_kit.engines.executors import Executor, register_executor


class ReferenceRunner:
    """Runs an ONNX file with ``onnx.reference.ReferenceEvaluator``."""

    name = "onnx_reference"

    def __init__(self, path: Path):
        import onnx
        from onnx.reference import ReferenceEvaluator

        model = onnx.load(str(path))
        self.input_names = [i.name for i in model.graph.input]
        self.output_names = [o.name for o in model.graph.output]
        self.session = ReferenceEvaluator(model)

    def __call__(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self.session.run(None, {name: feeds[name] for name in self.input_names})
        return dict(zip(self.output_names, outputs))


def _open(path: Any, entry: Mapping[str, Any]) -> ReferenceRunner:
    return ReferenceRunner(path)


register_executor(Executor("onnx_reference", "ONNX reference evaluator", "onnx_file", _open))
