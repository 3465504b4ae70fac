"""Idioms of setup cells: imports, configuration constants, hyperparameter grids, echoed settings.

Why: a cell that only imports or sets constants prepares the environment, whatever the names
say; ``param_grid = {"C": [0.1, 1, 10]}`` chooses a model's settings (training); printing a
catalog name after ``%run ./setup`` echoes configuration, not data.
"""

from __future__ import annotations

from nbsplit.classify import lexicon as lex
from nbsplit.classify.context import Context, name_tokens
from nbsplit.classify.idioms import SIGNAL, PyCell, S, T, idioms_of
from nbsplit.model import Cell, CellFacts


def imports_and_constants(c: PyCell) -> None:
    """Only imports (a ``print("libraries loaded")`` changes nothing) -> setup; a few imports
    beside other work -> a weak setup hint; only constants -> setup (a grid -> training)."""
    facts, ev, bound_by_import, assigned = c.facts, c.ev, c.bound_by_import, c.assigned
    if facts.import_only or (facts.imports and facts.defines <= bound_by_import and facts.calls
                             and all(call.name in lex.SHOW_CALLS for call in facts.calls)
                             and not facts.reads - bound_by_import):
        ev.add(S, 4.0, "only imports", SIGNAL)
    elif facts.imports:
        ev.add(S, 0.7, f"imports {facts.imports[0][1].split('.')[0]}", SIGNAL)
    if assigned and not facts.mutates and not c.xy and _only_constants(c.ctx, facts, assigned):
        grids = sorted(n for n in assigned if name_tokens(n) & lex.GRID_TOKENS and not n.isupper())
        if grids:  # param_grid = {"C": [0.1, 1, 10]}: choosing a model's settings is training
            ev.add(T, 2.8, f"defines hyperparameters ({grids[0]})", SIGNAL)
        else:
            caps = all(n.isupper() or n.startswith("_") for n in assigned)
            ev.add(S, 3.4 if caps else 2.6, "only sets configuration constants", SIGNAL)


def _only_constants(ctx: Context, facts: CellFacts, assigned: frozenset[str] | set[str]) -> bool:
    for call in facts.calls:
        resolved, _ = ctx.resolve(call.name)
        if resolved in lex.SAFE_CONST_CALLS or call.name in lex.SAFE_CONST_CALLS:
            continue
        # BU = MODEL_URI.split("@")[0]; CFG = CONFIGS.get(KIND, DEFAULT): string/dict methods of
        # other constants compute configuration, not data.
        root = call.receiver
        if root is not None and (root.isupper() or root in assigned) and call.method in lex.PURE_METHODS:
            continue
        return False
    # Reads of other constants are fine (BASE = ...; PATH = BASE + "/x"); reads of data are not.
    return all(r.isupper() or r in assigned or r == "dbutils" or r in ctx.aliases for r in facts.reads)


def shows_configuration(ctx: Context, cell: Cell, facts: CellFacts) -> bool:
    """Only prints names that are constants, widget values, or bound nowhere in the notebook
    (a %run'd setup notebook defines them), through print/display/str."""
    if not facts.reads or not facts.calls or facts.attributes \
            or any(ctx.resolve(c.name)[0] not in lex.ECHO_CALLS for c in facts.calls):
        return False
    for name in facts.reads:
        if name.isupper() and len(name) > 2 or name in ctx.aliases or name in ("spark", "dbutils"):
            continue
        writers = [w for w in ctx.writers.get(name, ()) if w < cell.index]
        if not writers:
            if name in ctx.functions or name in ctx.writers:
                return False
            continue  # defined outside the notebook
        writer = ctx.facts[writers[-1]]
        if writer is None or name not in idioms_of(ctx, writers[-1], writer).idioms.widget_names:
            return False
    return True
