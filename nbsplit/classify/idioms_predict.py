"""Idioms of model use: fitting, applying a model, and what the predictions are for.

Why: the calls signal knows that ``predict`` predicts; whether that is evaluation or prediction
depends on the data it is applied to (a held-out split vs. new rows read from ``test.csv``) and
on what the cell does next (writing a submission). ``fit`` on a scaler is featurization, on a
drift monitor monitoring, on an estimator training.

Example: ``preds = model.predict(test_df)`` then ``sub.to_csv("submission.csv")`` ->
prediction ("applies model to new data test_df", "writes predictions"), while
``print(accuracy_score(y_test, model.predict(X_test)))`` -> evaluation.
"""

from __future__ import annotations

import re

from nbsplit.classify import lexicon as lex
from nbsplit.classify.context import Context, lookup_call, name_tokens, own_names
from nbsplit.classify.idioms import (
    SIGNAL, D, E, F, M, P, PyCell, T, V, loads_training_data,
)
from nbsplit.model import Call, CellFacts

_PREDICTION_TEXT = re.compile(lex.PREDICTION_TEXT_PATTERN)


def fits(c: PyCell) -> None:
    """``.fit`` of an estimator -> training; of a scaler/encoder -> featurization; of a drift
    monitor -> monitoring; saving a fitted model -> training. Sets ``c.fits``."""
    ctx, ev = c.ctx, c.ev
    fitted = False
    for call, name, is_module in c.resolved:
        if is_module and name.rsplit(".", 1)[-1] in lex.FIT_METHODS:
            # RandomForestRegressor(...).fit(X, y): the estimator is built and fitted in one chain.
            owner = name.rsplit(".", 1)[0]
            hint = lookup_call(owner)
            if hint is not None and hint[0] is T and owner.rsplit(".", 1)[-1][:1].isupper():
                ev.add(T, 3.6, f"fits {owner.rsplit('.', 1)[-1]}", SIGNAL)
                fitted = True
            continue
        if is_module or call.receiver is None and "." not in name:
            continue
        parts = name.split(".")
        receiver, method = parts[0], parts[-1]
        kind = ctx.receiver_kind(receiver, c.i)
        data = call.args[0] if call.args else None
        on = f" on {data}" if data else ""
        if method in lex.FIT_METHODS or (method == "train" and kind == "model"):
            if kind == "transformer":
                ev.add(F, 3.0, f"fits {receiver}{on}", SIGNAL)
            elif kind == "monitor":
                # CBPE(...).fit(reference), UnivariateDriftCalculator(...).fit(reference): a drift
                # or performance monitor learns its baseline; no model is trained
                ev.add(M, 3.4, f"fits the monitor {receiver}{on}", SIGNAL)
            elif kind in ("evaluator", "feature_store"):
                continue
            else:
                ev.add(T, 3.6 if kind in ("model", "loaded") else 3.0, f"fits {receiver}{on}", SIGNAL)
                fitted = True
        elif method == "fit_transform":
            if kind == "model":
                ev.add(T, 2.0, f"fits {receiver}{on}", SIGNAL)
            else:
                ev.add(F, 3.0, f"fits and applies {receiver}{on}", SIGNAL)
        elif method == "fit_predict":
            ev.add(T, 3.0, f"fits {receiver}{on}", SIGNAL)
            fitted = True
        elif method in lex.SAVE_MODEL_METHODS and kind in ("model",) and len(parts) >= 2:
            ev.add(T, 2.6, f"saves {receiver}", SIGNAL)
        elif "write" in parts[1:-1] and kind == "model":
            ev.add(T, 2.6, f"saves {receiver}", SIGNAL)
    c.fits = fitted


def applies_model(c: PyCell) -> None:
    """``.predict``/``.transform``/``.score``/``.evaluate`` of a model, judged by the data it is
    applied to: new data -> prediction, a held-out split -> evaluation, training data -> training.
    Sets ``c.predicts`` to the strongest data role seen ('new' > 'test' > 'train' > 'unknown')."""
    ctx, ev = c.ctx, c.ev
    roles: list[str] = []
    for call, name, is_module in c.resolved:
        if is_module:
            continue
        parts = name.split(".")
        if len(parts) == 1 and ctx.kind_of(name, c.i) == "loaded":
            # model_udf = mlflow.pyfunc.spark_udf(...); df.withColumn("prediction", model_udf(*cols))
            ev.add(P, 3.0, f"applies the loaded model {name}", SIGNAL)
            roles.append("new")
            continue
        if len(parts) < 2:
            continue
        receiver, method = parts[0], parts[-1]
        kind = ctx.receiver_kind(receiver, c.i)
        is_model = kind in ("model", "loaded")
        if kind == "transformer" and method == "transform" and call.args:
            # output = assembler.transform(df): building the feature vectors
            ev.add(F, 2.6, f"applies {receiver} to {call.args[0]}", SIGNAL)
            continue
        if method in lex.PREDICT_METHODS or (method in ("transform", "score") and is_model):
            pass
        elif method == "evaluate" and kind in ("model", "loaded", "evaluator", None):
            ev.add(V, 3.0, f"evaluates with {receiver}.evaluate", SIGNAL)
            roles.append("test")
            continue
        else:
            continue
        if kind in ("transformer", "feature_store"):
            continue
        roles.append(_judge_application(ctx, c, call, receiver, method, kind))
    c.predicts = next((role for role in ("new", "test", "train", "unknown") if role in roles), None)


def _judge_application(ctx: Context, c: PyCell, call: Call, receiver: str, method: str,
                       kind: str | None) -> str:
    """Evidence for one model application by the role of its data; returns that role."""
    ev = c.ev
    data_names = [a for a in call.args if a != receiver]
    role_of = {a: ctx.data_role(a, c.i) for a in data_names}
    for a, role in role_of.items():
        # Data read from storage in this very cell and scored right away is new data.
        if role is None and ctx.kind_of(a, c.i) == "file" and ctx.bound_here(a, c.i):
            role_of[a] = "new"
        elif role in (None, "test") and ctx.kind_of(a, c.i) not in ("split", "test_predictions"):
            # A name that only sounds held-out (test_sp, x_te_e): follow where its rows came from.
            came = ctx.origins(a, c.i)
            if "new" in came and "test" not in came and "train" not in came:
                role_of[a] = "new"
            elif role is None and "test" in came and "new" not in came:
                role_of[a] = "test"
    what = data_names[0] if data_names else "data"
    if "new" in role_of.values():
        target = next(a for a, r in role_of.items() if r == "new")
        ev.add(P, 3.2, f"applies {receiver} to new data {target}", SIGNAL)
        role = "new"
    elif "test" in role_of.values():
        target = next(a for a, r in role_of.items() if r == "test")
        ev.add(V, 3.0, f"{'scores' if method == 'score' else 'predicts'} on held-out {target}", SIGNAL)
        role = "test"
    elif "train" in role_of.values():
        ev.add(T, 1.6, f"scores {receiver} on training data", SIGNAL)
        role = "train"
    else:
        ev.add(V, 1.3, f"applies {receiver} to {what}", SIGNAL)
        ev.add(P, 1.1, f"applies {receiver} to {what}", SIGNAL)
        role = "unknown"
    if kind == "loaded":
        ev.add(P, 1.5, f"uses a loaded model ({receiver})", SIGNAL)
    return role


def literal_values(c: PyCell) -> None:
    """``clf.predict([[60, 11250, 10, 5]])``: values typed in by hand are new data, not the test
    split."""
    if c.facts.idioms.predicts_literal:
        c.ev.add(P, 2.6, "predicts on values written in the cell (new data)", SIGNAL)
        c.predicts = c.predicts or "new"


def writes_predictions(c: PyCell) -> None:
    """Writing a frame that holds predictions (named so, filled into a submission template, or
    written after scoring new data) -> prediction. Sets ``c.writes_predictions``."""
    ctx, facts, ev = c.ctx, c.facts, c.ev
    # a path's folders and a table's catalog/schema name the project ("loan_prediction"), not the data
    strings = own_names(facts.strings).lower()
    submission = "submission" in strings or "submit" in strings
    if submission and c.predicts is None and loads_training_data(ctx, facts):
        # train.csv, test.csv and sample_submission.csv read together: loading, not predicting
        submission = False
    if submission:
        ev.add(P, 2.2, "mentions a submission", SIGNAL)
    for call, name, is_module in c.resolved:
        parts = name.split(".")
        if is_module or len(parts) < 2 or not (set(parts[1:]) & lex.DATA_WRITERS):
            continue
        receiver = parts[0]
        pred_name = bool(name_tokens(receiver) & lex.PREDICTION_NAME_TOKENS)
        came = ctx.origins(receiver, c.i + 1) if receiver in facts.defines | facts.reads else frozenset()
        fills_template = any(name_tokens(r) & lex.SUBMISSION_TOKENS for r in facts.reads)
        if pred_name or submission or fills_template or "new_predictions" in came \
                or c.predicts in ("new", "unknown") or _PREDICTION_TEXT.search(strings):
            ev.add(P, 3.0, f"writes predictions ({receiver})", SIGNAL)
            c.writes_predictions = True
            return


def scores_training_data(c: PyCell) -> None:
    """``r2_score(y_train, train_pred)`` after the fit cell: the fitted model's metrics on the rows
    it saw (an overfitting check beside the test metrics) are evaluation (corpus: 11 of 11)."""
    trained_on = _metrics_on_training(c.ctx, c.facts, c.resolved)
    if trained_on and not c.fits:
        c.ev.add(V, 3.0, f"scores the fitted model on its training data ({trained_on})", SIGNAL)


def _metrics_on_training(ctx: Context, facts: CellFacts, resolved: list[tuple[Call, str, bool]]) -> str | None:
    """The training-data name when every metric call of the cell (``PyCell.resolved``) scores
    training data only."""
    found: str | None = None
    for call, name, is_module in resolved:
        if not is_module:
            continue
        hint = lookup_call(name)
        if hint is None or hint[0] is not V:
            continue
        roles = {a: ctx.data_role(a, facts.index) for a in call.args}
        if any(r in ("test", "new") for r in roles.values()):
            return None
        trains = sorted(a for a, r in roles.items() if r == "train")
        if not trains:
            return None
        found = found or trains[0]
    return found


def fit_then_score(c: PyCell) -> None:
    """"A cell that fits and then prints a quick test score is training"; scoring new data or
    writing predictions is not data-prep, whatever loading it also does."""
    ev = c.ev
    if c.fits:
        if ev.stage_weight(V) > 0:
            ev.scale(V, 0.3)
            ev.add(T, 1.0, "fits and then scores the model", SIGNAL)
        ev.scale(E, 0.5)
    if c.writes_predictions or c.predicts == "new":
        ev.scale(D, 0.4)


def model_outputs(c: PyCell) -> None:
    """Looking at predictions (in a cell that fits nothing): of the held-out split -> evaluation;
    of new data -> prediction; plotting training/validation curves -> evaluation."""
    if c.fits:
        return
    ctx, facts, ev, i, predicts = c.ctx, c.facts, c.ev, c.i, c.predicts
    test_like, new_like = [], []
    for name in facts.reads:
        kind = ctx.kind_of(name, i)
        if name_tokens(name) & lex.TRAIN_TOKENS:
            continue  # train_scores, y_train_pred: how the model fits its own data (training)
        if kind == "new_predictions" or (
            kind in ("predictions", None) and "new_predictions" in ctx.origins(name, i)
            and "test" not in ctx.origins(name, i)
        ):
            new_like.append(name)  # result = concat([ids, preds_on_test_csv]): still new predictions
        elif kind == "test_predictions" or (
            kind in ("predictions", None) and name_tokens(name) & lex.PREDICTION_NAME_TOKENS
        ):
            test_like.append(name)
        elif ctx.data_role(name, i) == "test" and name[:1] in "yY":
            test_like.append(name)
    plots = any(name.startswith(lex.PLOT_LIBRARIES) or call.name.rsplit(".", 1)[-1] == "plot"
                for call, name, _ in c.resolved)
    if plots and predicts is None:
        words: set[str] = set()
        for n in facts.reads:
            words |= name_tokens(n)
        for t in facts.strings:
            if len(t) < 30:
                words |= name_tokens(t)
        if words & lex.HISTORY_TOKENS or (words & lex.VALIDATION_TOKENS and words & lex.METRIC_TOKENS):
            ev.add(V, 2.6, "plots training/validation metrics", SIGNAL)
            return
    if new_like and predicts != "test":
        ev.add(P, 2.2, f"uses predictions on new data ({sorted(new_like)[0]})", SIGNAL)
    elif test_like and predicts != "new":
        if any(name.startswith(lex.PLOT_LIBRARIES) for _, name, _ in c.resolved):
            ev.add(V, 2.8, f"plots {', '.join(sorted(test_like)[:2])}", SIGNAL)
        elif not facts.defines - set(test_like) or facts.display_only or any(
            ctx.kind_of(n, i) in ("test_predictions", "predictions") for n in test_like
        ):
            ev.add(V, 2.2, f"examines {sorted(test_like)[0]}", SIGNAL)


def new_data(c: PyCell) -> None:
    """Loading and preparing new (unlabeled) data for scoring belongs to prediction. Only names
    that say "new" (new, novos, X_new, batch, scoring...), written here, and no training data
    written alongside: Kaggle's joint cleaning of train and test.csv stays data-prep."""
    ctx, facts, ev, i = c.ctx, c.facts, c.ev, c.i
    if c.fits or c.predicts in ("new",) or c.writes_predictions or ev.stage_weight(M) >= 2.0:
        return
    written = facts.writes - {fn.name for fn in facts.functions}
    if any(name_tokens(n) & lex.TRAIN_TOKENS for n in written) or loads_training_data(ctx, facts):
        return
    new_names = sorted(n for n in written if name_tokens(n) & lex.NEW_DATA_TOKENS and not n.isupper())
    if new_names and ev.stage_weight(D) + ev.stage_weight(F) < 1.0 and not any(
        ctx.kind_of(n, i) in ("file", "newdata") for n in new_names
    ):
        return
    if new_names:
        ev.add(P, 2.6, f"prepares new data {new_names[0]} for scoring", SIGNAL)
        ev.scale(D, 0.6)
        ev.scale(F, 0.6)
