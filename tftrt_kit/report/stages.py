"""One stage of a route as the report keeps it: its name, seconds and outcome."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

#: Outcomes of a stage: it ran to the end, it had nothing to do here (or was not run), or it raised.
OUTCOMES = ("ok", "skipped", "failed")


@dataclasses.dataclass
class StageRecord:
    """A stage that ran (or was skipped) in a route.

    Attributes:
        name: The stage (``export``, ``build``, ``evaluate``, ...).
        seconds: Wall-clock time it took.
        outcome: ``ok``, ``skipped`` or ``failed``.
        error: ``failed``: the error and its cause chain; ``skipped``: why (an install hint,
            or the stage that did not finish before it).
    """

    name: str
    seconds: float
    outcome: str = "ok"
    error: str | None = None

    def describe(self) -> str:
        """``"build skipped (0.00 s): <why>"``; ``"export ok (1.20 s)"``."""
        text = f"{self.name} {self.outcome} ({self.seconds:.2f} s)"
        return f"{text}: {self.error}" if self.error else text


def stages_from_dict(data: Mapping[str, Any]) -> list[StageRecord]:
    """A route's stages from its JSON: ``stages``, or (reports written before stages had outcomes) ``timings``."""
    if "stages" in data:
        return [StageRecord(**s) for s in data["stages"]]
    return [StageRecord(name, seconds) for name, seconds in data.get("timings", {}).items()]
