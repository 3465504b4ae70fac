"""Rule (after decoding): a value computed for one later stage belongs to that stage, not to eda.

What: a code cell decoded eda (no tag, no rule) that does more than display (it binds names) and
changes nothing it read, whose names are all read later only by cells of one other pipeline stage
(display-only readers aside), takes that stage: reason "computes `age_mean` for data-prep cells".

Why: DESIGN: eda looks "without changing what later cells use". ``age_mean = df["Age"].mean()``
followed by ``df["Age"].fillna(age_mean)`` looks like exploration (a ``.mean()``), but the split
must run it with the cleaning, in the data-prep notebook, or the cleaning cell has nothing to fill.

Example: ``target_cols = train.columns.difference(test.columns)`` then ``y = train[target_cols]``
-> featurization, "computes `target_cols` for featurization cells".

A data-prep cell is moved only towards monitoring: cutting the loaded rows into the frames a
drift monitor compares (``reference = data[data.partition == "reference"]``, ``analysis = ...``)
prepares nothing for the model; it is part of the monitoring notebook, and the peeks at those
frames (``reference.head()``) then follow it there (``shows``). Reading from storage stays data-prep.
"""

from __future__ import annotations

from typing import Mapping, MutableMapping, Sequence

from nbsplit.classify import fitted
from nbsplit.classify.context import Context
from nbsplit.model import CellFacts, Classification, Stage

CONFIDENCE = fitted.constant("confidence.feeds")


def apply(ctx: Context, facts: Sequence[CellFacts | None], result: MutableMapping[int, Classification],
          forced: Mapping[int, Stage], code_cells: Sequence[int]) -> dict[int, Stage]:
    changed: dict[int, Stage] = {}
    for i in reversed(code_cells):
        f = facts[i]
        current = result.get(i)
        if f is None or current is None or i in forced or f.display_only:
            continue
        if current.stage not in (Stage.EDA, Stage.DATA_PREP):
            continue
        made = f.defines - {fn.name for fn in f.functions} - {alias for alias, _ in f.imports}
        if not made or f.functions or f.mutates - made:
            continue
        if current.stage is Stage.DATA_PREP and any(ctx.kind_of(n, i) == "file" for n in made):
            continue
        stages: set[Stage] = set()
        for name in made:
            for r in ctx.readers.get(name, ()):
                rf = facts[r] if r < len(facts) else None
                if r <= i or rf is None or rf.display_only or (c := result.get(r)) is None:
                    continue
                stages.add(c.stage)
        if len(stages) != 1:
            continue
        stage = stages.pop()
        if not stage.is_pipeline or stage is Stage.EDA:
            continue
        if current.stage is Stage.DATA_PREP and stage is not Stage.MONITORING:
            continue
        name = sorted(made)[0]
        result[i] = Classification(i, stage, CONFIDENCE, "heuristic", (f"computes `{name}` for {stage.value} cells",))
        changed[i] = stage
    return changed
