"""Idioms of monitoring and of looking at model results: drift statistics, metrics of fresh
labels or over time, metric values shown.

Why: the same ``accuracy_score`` is evaluation on the held-out split and monitoring on this
month's labels; a plot is eda on raw data, evaluation on predictions, monitoring on drift.

Example: ``psi = population_stability_index(ref, cur)`` -> monitoring ("computes drift");
``roc_auc_score(y_new, p_new)`` -> monitoring ("scores fresh labels").
"""

from __future__ import annotations

from nbsplit.classify import lexicon as lex
from nbsplit.classify.context import name_tokens
from nbsplit.classify.evidence import STRONG_MONITORING, TEXT_SIGNALS
from nbsplit.classify.idioms import SIGNAL, E, M, PyCell, V, resolved_calls


def drift(c: PyCell) -> None:
    """Drift helpers and objects (PSI, KS, a drift monitor), incoming data checked over time,
    metrics tracked over time or on fresh labels -> monitoring."""
    ctx, facts, ev = c.ctx, c.facts, c.ev
    for _, name, is_module in c.resolved:
        if is_module:
            continue
        tokens = name_tokens(name.rsplit(".", 1)[-1])
        if tokens & lex.DRIFT_TOKENS or "population_stability" in name:
            ev.add(M, 3.0, f"computes drift ({name})", SIGNAL)
            return
        receiver = name.split(".", 1)[0]
        if "." in name and name_tokens(receiver) & lex.DRIFT_TOKENS:
            # monitor.register_baseline(...), drift_detector.run(...): the monitoring object at work
            ev.add(M, 2.4, f"uses {receiver}", SIGNAL)
            return
    if any(name_tokens(d) & lex.DRIFT_TOKENS for d in facts.defines):
        ev.add(M, 1.6, "computes drift statistics", SIGNAL)
    elif any(name_tokens(t) & lex.DRIFT_TOKENS for t in facts.strings if len(t) < 40 and " " not in t):
        ev.add(M, 1.6, "computes drift or alert columns", SIGNAL)
    new_reads = [n for n in facts.reads if name_tokens(n) & lex.NEW_DATA_TOKENS and not n.isupper()]
    # the cell's words are read by the two tests below only: made when one of them can hold
    if new_reads or ev.stage_weight(E) > 0 or ev.stage_weight(V) > 0:
        words = set().union(*(name_tokens(n) for n in (*facts.defines, *facts.reads))) \
            if facts.defines or facts.reads else set()
        for t in facts.strings:
            if len(t) < 40:
                words |= name_tokens(t)
        if new_reads and words & (lex.TIME_TOKENS | lex.QUALITY_TOKENS):
            ev.add(M, 2.2, f"checks incoming data {sorted(new_reads)[0]} over time", SIGNAL)
        if words & lex.TIME_TOKENS and words & lex.METRIC_TOKENS and not new_reads and (
            ev.stage_weight(E) > 0 or ev.stage_weight(V) > 0
        ):
            ev.add(M, 2.0, "tracks metrics over time", SIGNAL)
    # Metrics of fresh labels, or per period over time, are monitoring, not evaluation.
    helpers = resolved_calls(ctx, (call for fn in facts.functions for call in fn.calls))
    for call, name, is_module in [*c.resolved, *helpers]:
        if not is_module or not name.startswith("sklearn.metrics"):
            continue
        if any(name_tokens(a) & lex.FRESH_TOKENS for a in call.args):
            ev.add(M, 2.6, f"scores fresh labels ({name.rsplit('.', 1)[-1]})", SIGNAL)
            return
        if any(name_tokens(n) & lex.TIME_TOKENS for n in facts.defines):
            ev.add(M, 2.4, f"tracks {name.rsplit('.', 1)[-1]} over time", SIGNAL)
            return


def metric_names(c: PyCell) -> None:
    """Showing a metric value computed earlier (``print(rmse)``) -> evaluation."""
    if c.fits:
        return
    facts = c.facts
    shown = [r for r in facts.reads if name_tokens(r) & lex.METRIC_TOKENS]
    if shown and (facts.display_only or not facts.defines):
        c.ev.add(V, 1.4, f"shows metric {sorted(shown)[0]}", SIGNAL)


def results_over_plots(c: PyCell) -> None:
    """Plots and tables of drift are monitoring, of model results evaluation, not eda."""
    ev = c.ev
    if ev.stage_weight(M, exclude=TEXT_SIGNALS) >= STRONG_MONITORING:
        ev.scale(E, 0.4)
        ev.scale(V, 0.6)
    elif ev.stage_weight(V, exclude=TEXT_SIGNALS) >= 2.5:
        ev.scale(E, 0.4)
