"""Signal: what a cell does, from its shape (CellFacts) rather than from which API it calls.

What: cells in another language (``%sql``, ``%sh``, ``%pip``, ``%run``, ...) are judged by
``idioms_magics``/``idioms_sql``; for a Python cell, magic lines first, then every idiom of
``IDIOMS`` in order, each a short function over one ``PyCell`` (``idioms``) that adds evidence
and may record what it found for the idioms after it (``fits``, ``predicts``, ``splits``). The
idioms live in modules named after what they own:

- ``idioms_setup``: only imports / constants -> setup, hyperparameter grids -> training;
- ``idioms_predict``: ``.fit`` of an estimator/scaler/monitor, ``.predict`` on a held-out split
  (evaluation) or on new data (prediction), writing predictions, metrics on training data;
- ``idioms_columns``: building ``X``/``y``, splits by hand, derived/encoded columns, value fixes
  and row filters, column drops;
- ``idioms_monitor``: drift statistics, metrics over time or on fresh labels, metrics shown;
- ``idioms_sql``: ``spark.sql("...")`` queries (and ``%sql`` cells);
- ``idioms_display``: cells that only show, or compute values only to show them.

Why: the calls signal knows APIs; this one knows idioms: the same ``predict`` call is evaluation
or prediction depending on what it is applied to and what the cell does next.

Example: ``preds = model.predict(test_df)`` then ``sub.to_csv("submission.csv")`` ->
prediction ("applies model to new data test_df", "writes predictions"), while
``print(accuracy_score(y_test, model.predict(X_test)))`` -> evaluation.
"""

from __future__ import annotations

from typing import Sequence

from nbsplit.classify import idioms_columns as columns
from nbsplit.classify import idioms_display as display
from nbsplit.classify import idioms_magics as magics
from nbsplit.classify import idioms_monitor as monitor
from nbsplit.classify import idioms_predict as predict
from nbsplit.classify import idioms_setup as setup
from nbsplit.classify import idioms_sql as sql
from nbsplit.classify.context import Context
from nbsplit.classify.evidence import Evidence
from nbsplit.classify.idioms import SIGNAL, IdiomFn, PyCell, idioms_of
from nbsplit.classify.registry import Registry

__all__ = ["apply", "IDIOMS", "SIGNAL"]

# The order matters: later idioms weigh what earlier ones found (a fit weakens the metrics
# beside it; a split made by hand is not a row filter), and a cell's hits keep this order.
IDIOMS: Registry[IdiomFn] = Registry("idioms")
IDIOMS.extend(
    setup.imports_and_constants,
    predict.fits,
    predict.applies_model,
    predict.literal_values,
    predict.writes_predictions,
    predict.scores_training_data,
    predict.fit_then_score,
    columns.model_inputs,
    columns.derived_columns,
    columns.split_row_masks,
    monitor.drift,
    monitor.metric_names,
    sql.spark_sql,
    predict.model_outputs,
    predict.new_data,
    columns.changes_data,
    columns.drops_columns,
    display.computes_to_show,
    monitor.results_over_plots,
    display.peek_after_work,
    display.shows_only,
)
_IDIOM_FNS = IDIOMS.functions()


def apply(ctx: Context, evidence: Sequence[Evidence]) -> None:
    for cell, facts, ev in zip(ctx.nb.cells, ctx.facts, evidence):
        if cell.kind != "code" or cell.is_empty:
            continue
        lang = magics.cell_language(cell)
        if lang != "python":
            magics.language_cell(lang, magics.body(cell), ev)
            continue
        if facts is None:
            continue
        magics.magics(facts, ev)
        c = PyCell.of(ctx, cell, idioms_of(ctx, cell.index, facts), ev)
        for idiom in _IDIOM_FNS:
            idiom(c)
