"""Idioms of cells that look at data without changing it (eda) -- and of peeks that do not.

Why: DESIGN: "a cell that only shows data is eda", and so is one that computes a table only to
show it; but a ``.head()`` after real work does not make the cell eda, and showing settings or
a model is setup or training.

Example: ``working = df[df.age < 60]; print(working.income.mean())`` -> eda ("computes values
only to show them"); ``print("Catalog: " + catalog)`` after ``%run ./setup`` -> setup.
"""

from __future__ import annotations

from nbsplit.classify import lexicon as lex
from nbsplit.classify.evidence import TEXT_SIGNALS
from nbsplit.classify.idioms import SIGNAL, E, PyCell, S, T, plots_only
from nbsplit.classify.idioms_setup import shows_configuration
from nbsplit.model import CellFacts


def computes_to_show(c: PyCell) -> None:
    """"Look without changing what later cells use": every name the cell binds is read by no
    later cell, nothing earlier is changed, and the cell shows something -> eda."""
    facts, assigned = c.facts, c.assigned
    loop_aliases = facts.idioms.literal_loop_targets & facts.mutates
    if assigned and c.dead == assigned and not c.fits and not c.predicts and not c.writes_predictions \
            and not facts.mutates - assigned and not loop_aliases and _shows_something(facts, assigned):
        c.ev.add(E, 1.8, "computes values only to show them", SIGNAL)


def _shows_something(facts: CellFacts, assigned: set[str] | frozenset[str]) -> bool:
    """The cell prints/displays, or ends with a bare expression of what it built."""
    if any(c.name in lex.SHOW_CALLS for c in facts.calls):
        return True
    return facts.idioms.ends_showing in assigned


def peek_after_work(c: PyCell) -> None:
    """A peek (``.head()``, ``.shape``) after real work does not make the cell eda."""
    ev = c.ev
    if c.assigned - c.xy and not c.facts.display_only and ev.stage_weight(E) > 0 and any(
        s is not E and w >= 1.5 for s, w in ev.scores(exclude=TEXT_SIGNALS).items()
    ):
        ev.scale(E, 0.6)


def shows_only(c: PyCell) -> None:
    """A cell that only shows: configuration -> setup, a model -> training, data -> eda (weak
    when other evidence is strong); a cell that only draws plots -> eda."""
    ctx, facts, ev, i = c.ctx, c.facts, c.ev, c.i
    if facts.display_only and not facts.reads:
        pass  # print("done"): literals only, nothing about the data
    elif facts.display_only and shows_configuration(ctx, c.cell, facts):
        # print("Catalog: " + catalogName) after %run ./setup: echoing settings, not data
        ev.add(S, 2.8, f"shows configuration ({sorted(facts.reads)[0]})", SIGNAL)
    elif facts.display_only and all(ctx.receiver_kind(r, i) in ("model", "loaded") for r in facts.reads):
        ev.add(T, 1.5, f"shows the model {sorted(facts.reads)[0]}", SIGNAL)
    elif facts.display_only:
        other = max((w for s, w in ev.scores().items() if s is not E), default=0.0)
        if other >= 2.0:
            ev.add(E, 0.6, "only displays values", SIGNAL)
        elif c.own:
            ev.add(E, 2.6, "only displays data", SIGNAL)
        else:
            ev.add(E, 1.8, "only displays values", SIGNAL)
    elif not facts.defines and not facts.mutates and c.own and plots_only(c.resolved):
        ev.add(E, 1.5, "only draws plots", SIGNAL)
