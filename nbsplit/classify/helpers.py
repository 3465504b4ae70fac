"""Signal (after decoding): a cell that only defines functions/classes goes where it is used.

What: for a helper-only cell (``def``/``class`` plus maybe imports and constants), look at the
cells that call its functions (they read the name), following helpers that call helpers. Used by
two or more different pipeline stages -> setup ("helper used by eda and training cells"); by one
stage -> that stage; never called -> left to its context.

Why: DESIGN: "helpers used by two or more stages" are setup, "a helper used by one stage
belongs to it". The body's own calls say little about where the helper is needed.

Example: ``def plot_dist(df, col): sns.histplot(...)`` called only by eda cells -> eda, origin
``heuristic``, "helper used by eda cells".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from nbsplit.classify.context import Context
from nbsplit.model import CellFacts, Stage


@dataclass(frozen=True)
class HelperVerdict:
    stage: Stage
    reason: str
    confidence: float


def is_helper_cell(facts: CellFacts | None) -> bool:
    if facts is None or not facts.functions or facts.calls:
        return False
    # No top-level calls: anything else the cell binds is a literal (n_folds = 5), not data.
    return True


def helper_stages(ctx: Context, decoded: Mapping[int, Stage]) -> dict[int, HelperVerdict]:
    """Verdicts for helper-only cells whose functions are called somewhere (by cell index)."""
    helper_cells = {
        cell.index: facts
        for cell, facts in zip(ctx.nb.cells, ctx.facts)
        if cell.kind == "code" and is_helper_cell(facts)
    }
    # A helper calling another helper reads it from its body (free names), not at top level.
    body_readers: dict[str, list[int]] = {}
    for index, facts in helper_cells.items():
        for fn in facts.functions:
            for free in fn.free_names:
                body_readers.setdefault(free, []).append(index)
    memo: dict[str, frozenset[int]] = {}
    out: dict[int, HelperVerdict] = {}
    for index, facts in helper_cells.items():
        users: set[int] = set()
        for fn in facts.functions:
            users |= _users_of(ctx, fn.name, helper_cells, memo, set(), body_readers)
        users.discard(index)
        stages = sorted({decoded[u] for u in users if u in decoded and decoded[u].is_pipeline},
                        key=lambda s: s.order)
        if not stages:
            continue
        names = ", ".join(s.value for s in stages)
        stage = Stage.SETUP if len(stages) >= 2 else stages[0]
        # The stage comes from the callers, not from the helper's own code: context, so below the
        # "certain" band (round-4 check: 80% right, same as other 0.6-0.8 cells).
        out[index] = HelperVerdict(stage, f"helper used by {names} cells", 0.7)
    return out


def _users_of(ctx: Context, name: str, helper_cells: Mapping[int, CellFacts],
              memo: dict[str, frozenset[int]], visiting: set[str],
              body_readers: Mapping[str, list[int]] | None = None) -> frozenset[int]:
    """Non-helper cells that call ``name``, directly or through other helpers (memoised)."""
    if name in memo:
        return memo[name]
    if name in visiting:  # mutually recursive helpers
        return frozenset()
    visiting.add(name)
    users: set[int] = set()
    readers = list(ctx.readers.get(name, ()))
    readers += [r for r in (body_readers or {}).get(name, ()) if r not in readers]
    for reader in readers:
        other = helper_cells.get(reader)
        if other is None:
            users.add(reader)
        else:  # a helper calling a helper: its users count
            for fn in other.functions:
                if fn.name != name:
                    users |= _users_of(ctx, fn.name, helper_cells, memo, visiting, body_readers)
    visiting.discard(name)
    memo[name] = frozenset(users)
    return memo[name]
