"""What the idiom signals share about one Python code cell (``PyCell``).

What: ``PyCell.of`` gathers the cell's context once -- its facts, its top-level calls (and each
one's name with import aliases expanded, ``resolved``), whether one of them splits, the names
it binds that are not imports or functions (``assigned``), the names that look like a model's
inputs/target (``xy``), the bound names no later cell reads (``dead``) -- and carries what the
earlier idioms decided (``fits``, ``predicts``, ``writes_predictions``, ``splits``) to the later
ones. The idiom functions themselves live in ``idioms_*`` modules, named after what they own,
and run in the order ``structure.IDIOMS`` lists them.

Why: the same ``predict`` call is evaluation or prediction depending on what else the cell does;
one small object passed along keeps each idiom a short function instead of one long one.

Example: for ``X = df.drop("y", axis=1); y = df["y"]`` ``assigned == {"X", "y"}`` and
``xy == {"X", "y"}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Iterable

from nbsplit.analyze_idioms import text_idiom_facts
from nbsplit.classify import lexicon as lex
from nbsplit.classify.context import Context, name_tokens
from nbsplit.classify.evidence import Evidence
from nbsplit.model import Call, Cell, CellFacts, Stage

SIGNAL = "structure"
D, E, F, T, V, P, M, S = (
    Stage.DATA_PREP, Stage.EDA, Stage.FEATURIZATION, Stage.TRAINING, Stage.EVALUATION,
    Stage.PREDICTION, Stage.MONITORING, Stage.SETUP,
)
_XY_PATTERN = re.compile(lex.XY_NAME_PATTERN)


@dataclass(slots=True)
class PyCell:
    ctx: Context
    cell: Cell
    facts: CellFacts
    ev: Evidence
    own: list[Call]
    bound_by_import: set[str]
    assigned: frozenset[str]
    xy: set[str]
    dead: set[str]
    # (call, name, is_module) for each of ``own``, ``Context.resolve``d: the idioms all read the calls
    # resolved, so each call is resolved once per cell, not once per idiom
    resolved: list[tuple[Call, str, bool]]
    splits_call: bool  # ``calls_split(own)``: asked by two idioms
    fits: bool = False
    predicts: str | None = None
    writes_predictions: bool = False
    splits: str | None = None

    @property
    def i(self) -> int:
        return self.cell.index

    @classmethod
    def of(cls, ctx: Context, cell: Cell, facts: CellFacts, ev: Evidence) -> "PyCell":
        bound_by_import = {alias for alias, _ in facts.imports}
        assigned = facts.defines - bound_by_import - {fn.name for fn in facts.functions}
        xy = {n for n in assigned if n in lex.XY_NAMES
              or (_XY_PATTERN.match(n) and not name_tokens(n) & lex.NOT_XY_TOKENS)}
        if not xy and assigned and not facts.reads and not facts.calls:
            # featur = ["age", "income"]: a literal list of model inputs (not feature_names_comb =
            # names[idx], which looks at a fitted model)
            xy = {n for n in assigned if names_features(n)}
        # Names this cell binds that no later cell reads: a table built only to be looked at
        # (``Context.readers`` lists the reading cells in notebook order: the last one decides).
        i = cell.index
        readers = ctx.readers
        dead = {n for n in assigned if n not in readers or readers[n][-1] <= i}
        own = list(facts.calls)
        return cls(ctx, cell, facts, ev, own, bound_by_import, assigned, xy, dead, resolved_calls(ctx, own),
                   calls_split(own))


IdiomFn = Callable[[PyCell], None]


def idioms_of(ctx: Context, index: int, facts: CellFacts) -> CellFacts:
    """``facts`` with idiom facts even when the cell did not parse (then read from its text, as
    the rest of its facts are)."""
    if facts.parsed:
        return facts
    return replace(facts, idioms=text_idiom_facts(ctx.nb.cells[index].source))


def names_features(name: str) -> bool:
    """``featur``, ``feats``, ``feature_cols2``, ``predictors``: a list of model inputs."""
    tokens = name_tokens(name)
    if tokens & lex.NOT_FEATURE_LIST_TOKENS or name.isupper():
        return False
    return any(t.startswith(lex.FEATURE_PREFIXES) for t in tokens)


def resolved_calls(ctx: Context, calls: Iterable[Call]) -> list[tuple[Call, str, bool]]:
    """``(call, name, is_module)`` with ``name, is_module = ctx.resolve(call.name)``."""
    out = []
    for call in calls:
        name, is_module = ctx.resolve(call.name)
        out.append((call, name, is_module))
    return out


def plots_only(resolved: list[tuple[Call, str, bool]]) -> bool:
    """Every call of the cell (``PyCell.resolved``) is a module call of a plotting library."""
    for _, name, is_module in resolved:
        if not is_module or not name.startswith(lex.PLOT_LIBRARIES):
            return False
    return True


def calls_split(calls: list[Call]) -> bool:
    for call in calls:
        method = call.name.replace("()", "").rsplit(".", 1)[-1]
        if method in lex.SPLIT_CALLS:
            return True
    return False


def loads_training_data(ctx: Context, facts: CellFacts) -> bool:
    """The cell reads a data file into a name that is not new data (df = read_csv("train.csv"))."""
    return any(ctx.bound_here(n, facts.index) and ctx.kind_of(n, facts.index) == "file"
               and ctx.data_role(n, facts.index) != "new" for n in facts.defines)
