"""Rule (after decoding): preparing the rows to score, once the model is trained, is prediction.

What: after the first training cell, a data-prep, featurization or eda cell that writes only new
data (rows that come from ``test.csv``, a scoring batch, ... per ``Context.origins``) and whose
products are read later only by prediction cells (directly or through other such cells; cells
that only display them do not count) takes the prediction stage, reason "prepares new data
`test` for scoring". Display cells of those products then follow by the display rule (``shows``).

Why: Kaggle-style notebooks clean and encode ``test.csv`` again in their "Submission" section,
after the model is chosen. In the split those cells feed only the prediction notebook, which
must run them on every new batch. Joint cleaning of train and test *before* training stays where
it is: its products feed featurization and training, not only prediction.

Example: ... ``rfc.fit(X_train, y_train)`` ... then ``test["Age"] = test["Age"].fillna(...)``,
``test_df = test.drop(["Name"], axis=1)``, ``pred = rfc.predict(test_df)`` -> the two cleaning
cells are prediction.
"""

from __future__ import annotations

from typing import Mapping, MutableMapping, Sequence

from nbsplit.classify import fitted
from nbsplit.classify.context import Context
from nbsplit.model import CellFacts, Classification, Stage

_PREPARING = (Stage.DATA_PREP, Stage.FEATURIZATION, Stage.EDA)
CONFIDENCE = fitted.constant("confidence.scoring")


def apply(ctx: Context, facts: Sequence[CellFacts | None], result: MutableMapping[int, Classification],
          forced: Mapping[int, Stage], code_cells: Sequence[int]) -> dict[int, Stage]:
    """Reassign new-data preparation that only prediction consumes; returns the changes."""
    first_fit = next((i for i in code_cells if (c := result.get(i)) is not None and c.stage is Stage.TRAINING), None)
    if first_fit is None:
        return {}
    predicting = {i for i in code_cells if (c := result.get(i)) is not None and c.stage is Stage.PREDICTION}
    if not predicting:
        return {}
    changed: dict[int, Stage] = {}
    for i in reversed(code_cells):
        f = facts[i]
        current = result.get(i)
        if i <= first_fit or f is None or current is None or i in forced or current.stage not in _PREPARING:
            continue
        written = f.writes - {fn.name for fn in f.functions}
        if not written or f.functions:
            continue
        new_names = []
        for name in sorted(written):
            came = ctx.origins(name, i + 1)
            if "new" not in came or came & {"test", "train"}:
                break
            new_names.append(name)
        else:
            readers = {r for n in written for r in ctx.readers.get(n, ()) if r > i}
            readers = {r for r in readers if (rf := facts[r]) is not None and not rf.display_only}
            if readers and readers <= predicting:
                result[i] = Classification(i, Stage.PREDICTION, CONFIDENCE, "heuristic",
                                           (f"prepares new data `{new_names[0]}` for scoring (only prediction uses it)",))
                predicting.add(i)
                changed[i] = Stage.PREDICTION
    return changed
