"""Rule (after decoding): a cell that only shows a model's results belongs with those results.

What: for a code cell without an explicit mark that only displays values (``CellFacts
.display_only``) or only draws plots / prints of names it reads, find, for every data name it
shows, the cell that last wrote it. When the latest producer is an evaluation or monitoring cell
(metrics, a drift report, an estimated-performance frame) and comes later in the pipeline than
the cell's own stage, the cell takes that stage, reason "shows `scores`, built by evaluation
(cell 19)".

Why: DESIGN: "a cell that only shows data is eda" -- eda is a side branch that may look at any
stage, so ``X.head()`` after featurization stays eda. But a plot of test metrics is evaluation
and a plot of a drift result is monitoring (LABELING.md: "a cell that only prints or plots a
model's test metrics is evaluation"): those show a model's results, not data.

Example: ``X = df.drop(columns="y")`` (featurization) then ``X.head()`` -> eda;
``drift = calc.calculate(new)`` (monitoring) then ``drift.plot().show()`` -> monitoring.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Mapping, MutableMapping, Sequence

from nbsplit.classify import fitted
from nbsplit.classify import lexicon as lex
from nbsplit.classify.context import Context
from nbsplit.model import CellFacts, Classification, Stage

_SHOWS_CONFIDENCE_CAP = fitted.constant("confidence.shows_cap")
# Stages whose products are a model's results rather than data.
_RESULT_STAGES = frozenset({Stage.EVALUATION, Stage.MONITORING})


def apply(ctx: Context, facts: Sequence[CellFacts | None], result: MutableMapping[int, Classification],
          forced: Mapping[int, Stage], code_cells: Sequence[int]) -> dict[int, Stage]:
    """Reassign display-only cells that show a later stage's results; returns the changes."""
    writers: dict[str, list[int]] = {}
    for i in code_cells:
        f = facts[i]
        if f is not None:
            for name in f.writes:
                writers.setdefault(name, []).append(i)
    changed: dict[int, Stage] = {}
    for i in code_cells:
        f = facts[i]
        current = result.get(i)
        if f is None or current is None or i in forced or not current.stage.is_pipeline:
            continue
        viewer = f.display_only or _plots_or_prints_only(ctx, f, i)
        # An "eda" cell that only rearranges later stages' results (a table of ten accuracies,
        # a list of model names next to them) is not exploration of the data either.
        rearranges = not viewer and current.stage is Stage.EDA and not (f.mutates - f.defines) \
            and not f.imports and not f.functions
        if not (viewer or rearranges):
            continue
        best: tuple[Stage, int, str] | None = None
        earliest: Stage | None = None
        unproduced = False
        for name in sorted(f.reads):
            if name in lex.NOT_DATA_NAMES or name in ctx.aliases or name in ctx.functions:
                continue
            cells = writers.get(name)
            pos = bisect_left(cells, i) if cells else 0
            if not pos:
                unproduced = True
                continue
            producer = cells[pos - 1]
            made = result.get(producer)
            if made is None or not made.stage.is_pipeline:
                continue
            if earliest is None or made.stage.order < earliest.order:
                earliest = made.stage
            if best is None or made.stage.order > best[0].order:
                best = (made.stage, producer, name)
        if best is None or best[0].order <= current.stage.order or best[0] not in _RESULT_STAGES:
            continue
        if rearranges and (unproduced or earliest is None or earliest.order <= current.stage.order):
            continue
        stage, producer, name = best
        conf = round(min(result[producer].confidence, _SHOWS_CONFIDENCE_CAP), 2)
        result[i] = Classification(i, stage, conf, "heuristic",
                                   (f"shows `{name}`, built by {stage.value} (cell {producer})",))
        changed[i] = stage
    return changed


def _plots_or_prints_only(ctx: Context, f: CellFacts, index: int) -> bool:
    """Draws plots or prints, changing nothing that later cells use."""
    if f.mutates - f.defines or f.imports or f.functions or not f.calls:
        return False
    for name in f.defines:  # fig, ax, loop variables: nobody after this cell may read them
        if any(r > index for r in ctx.readers.get(name, ())):
            return False
    shows = False
    for call in f.calls:
        resolved, is_module = ctx.resolve(call.name)
        method = resolved.rsplit(".", 1)[-1]
        if is_module:
            if not resolved.startswith(lex.PLOT_MODULES):
                return False
            shows = True
        elif "." not in resolved:
            if resolved not in lex.VIEW_BUILTINS:
                return False
            shows = shows or resolved in ("print", "display")
        else:
            receiver = resolved.split(".", 1)[0].split("[", 1)[0]
            if receiver not in f.defines and method not in lex.VIEW_METHODS:
                return False
            shows = shows or method in ("plot", "hist", "boxplot", "scatter", "bar", "barh", "show")
    return shows
