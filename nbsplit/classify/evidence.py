"""Per-cell evidence: weighted hints ("this looks like training, because ...") from the signals.

Every signal adds ``Hit``s to a cell's ``Evidence``; the sequence decoder turns the combined
per-stage scores into log-scores. Weights are roughly nats: ~3 is clear code evidence (a call to
``sklearn.metrics.roc_auc_score``), ~1.5 a decent hint (``df.rename``), <1 a weak one (a
heading several cells away). Several hits for one stage add with diminishing returns, so a cell
with ten ``fillna`` calls is not ten times more "data-prep" than a cell with one.

Example::

    ev = Evidence()
    ev.add(Stage.EVALUATION, 3.0, "calls sklearn.metrics.roc_auc_score", "calls")
    ev.scores()  # {Stage.EVALUATION: 3.0}
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nbsplit.classify import fitted
from nbsplit.model import Stage

# the signals that read text about the code (markdown headings, comments), not the code itself:
# excluded where only what the code does counts
TEXT_SIGNALS = ("headings", "comments")

# Code evidence this strong for monitoring (a drift helper, metrics over time) is a fact about the
# cell, not a guess: it outweighs eda/evaluation looks and marks the notebook as one that monitors.
STRONG_MONITORING = 2.4

# Second-best hit counts 60 %, third 36 %, ...: more evidence helps, but sub-linearly.
_DECAY = fitted.constant("evidence.decay")
_CAP = fitted.constant("evidence.cap")


@dataclass(slots=True)
class Hit:
    stage: Stage
    weight: float
    reason: str
    signal: str  # which signal produced it: "calls", "structure", "headings", ...


@dataclass(slots=True)
class Evidence:
    hits: list[Hit] = field(default_factory=list)

    def add(self, stage: Stage, weight: float, reason: str, signal: str) -> None:
        if weight > 0:
            self.hits.append(Hit(stage, weight, reason, signal))

    def scale(self, stage: Stage, factor: float, *, signals: tuple[str, ...] = ()) -> None:
        """Weaken (or strengthen) the hits for ``stage``, e.g. metrics in a cell that also fits."""
        for hit in self.hits:
            if hit.stage is stage and (not signals or hit.signal in signals):
                hit.weight *= factor

    def stage_weight(self, stage: Stage, *, exclude: tuple[str, ...] = ()) -> float:
        return _combine(h.weight for h in self.hits if h.stage is stage and h.signal not in exclude)

    def scores(self, *, exclude: tuple[str, ...] = ()) -> dict[Stage, float]:
        by_stage: dict[Stage, list[float]] = {}
        for hit in self.hits:
            if hit.signal not in exclude:
                by_stage.setdefault(hit.stage, []).append(hit.weight)
        return {stage: _combine(ws) for stage, ws in by_stage.items()}

    def reasons(self, stage: Stage, limit: int = 3) -> list[str]:
        """The strongest distinct reasons for ``stage``, best first."""
        out: list[str] = []
        for hit in sorted((h for h in self.hits if h.stage is stage), key=lambda h: -h.weight):
            if hit.reason not in out:
                out.append(hit.reason)
            if len(out) == limit:
                break
        return out

    def has_code_evidence(self) -> bool:
        return any(h.signal not in TEXT_SIGNALS for h in self.hits)


def _combine(weights) -> float:
    total, factor = 0.0, 1.0
    for w in sorted(weights, reverse=True):
        total += w * factor
        factor *= _DECAY
    return min(total, _CAP)
