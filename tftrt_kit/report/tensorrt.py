"""What TensorRT made of an ONNX model, as the report keeps it: the builder fills these in, the report renders them."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping


@dataclasses.dataclass(frozen=True)
class UnsupportedNode:
    """A node the TensorRT ONNX parser refused, with the parser's own reason."""

    node: str
    op_type: str
    reason: str


@dataclasses.dataclass
class TensorRTCheck:
    """What TensorRT made of one ONNX model.

    Attributes:
        backend: Module and version that answered, e.g. ``"tensorrt_rtx 1.7.1.116"``.
        accepted: Whether the parser took every node.
        unsupported_nodes: Every node refused, each with the parser's message.
        plan_bytes: Size of the serialized plan, when one was built.
        build_seconds: Time of the engine build, when one was built.
        network_layers: Layers of the parsed TensorRT network.
        precision: Precision the plan was built for.
        error: Why no plan was built when a build was attempted: TensorRT's own message.
        builder: Who decided and built, for people: e.g. ``"TensorRT-RTX 1.7.1, CPU-only builder"``.
        profiles: The optimization profiles of the plan, as
            :func:`tftrt_kit.profiles.profiles_to_json` writes them (shape-tensor inputs
            are in ``shape_values`` instead).
        shape_values: Per profile, the (min, opt, max) VALUES of each shape-tensor input
            (``is_shape_inference_io``), in the same JSON form.
    """

    backend: str
    accepted: bool
    unsupported_nodes: list[UnsupportedNode] = dataclasses.field(default_factory=list)
    plan_bytes: int | None = None
    build_seconds: float | None = None
    network_layers: int | None = None
    precision: str | None = None
    error: str | None = None
    builder: str | None = None
    profiles: list[dict[str, dict[str, list[int]]]] = dataclasses.field(default_factory=list)
    shape_values: list[dict[str, dict[str, list[int]]]] = dataclasses.field(default_factory=list)

    @property
    def plan_status(self) -> str:
        """``"plan 1.2 MB"``, ``"no plan: <TensorRT's message>"``, or ``"not built"`` (parse check only)."""
        if self.plan_bytes is not None:
            return f"plan {self.plan_bytes / 1e6:.1f} MB"
        if self.error:
            return f"no plan: {self.error}"
        if not self.accepted:
            return f"no plan: {len(self.unsupported_nodes)} node(s) refused by the parser"
        return "not built"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the derived :attr:`plan_status` for readers of the JSON."""
        return {**dataclasses.asdict(self), "plan_status": self.plan_status}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TensorRTCheck":
        """Inverse of :meth:`to_dict` (fields added later default when absent)."""
        known = {f.name for f in dataclasses.fields(cls)}
        fields = {k: v for k, v in data.items() if k in known}
        fields["unsupported_nodes"] = [UnsupportedNode(**n) for n in data.get("unsupported_nodes", [])]
        return cls(**fields)
