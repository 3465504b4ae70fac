"""Signal: what a cell does, from its shape (CellFacts) rather than from which API it calls.

What (the main rules; weights in rough nats):

- only imports / magics / installs / ``%run`` / constants -> setup; a cell that only shows values
  (``df.head()``, ``X.shape``) -> eda;
- ``.fit`` on an estimator -> training (on a scaler/encoder -> featurization); metrics in a cell
  that also fits are a "quick test score" of training, so they are weakened;
- ``.predict``/``.predict_proba``/``.score``/``.transform`` of a model: on a held-out split
  (``X_test``, ``x_teste``, ``X_val``, names bound by ``train_test_split``/``randomSplit``) ->
  evaluation; on new data (read from a file like ``test.csv``, ``df_new``, ``submission``) or
  followed by writing predictions -> prediction;
- drift statistics (PSI, KS, Wasserstein helpers) -> monitoring; metrics on fresh labels ->
  monitoring;
- building ``X``/``y`` or feature lists, derived columns from arithmetic on other columns ->
  featurization; row filters and value fixes (``df.loc[m, "c"] = v``) -> data-prep;
- SQL (``%sql`` cells, ``spark.sql("...")`` strings): CREATE/INSERT/MERGE -> data-prep (or
  featurization for feature tables), SELECT with GROUP BY/COUNT/AVG or DESCRIBE/SHOW -> eda;
- ``%sh`` / ``!``: installs -> setup, downloads -> data-prep.

Why: the calls signal knows APIs; this one knows idioms: the same ``predict`` call is evaluation
or prediction depending on what it is applied to and what the cell does next.

Example: ``preds = model.predict(test_df)`` then ``sub.to_csv("submission.csv")`` ->
prediction ("predicts on new data test_df", "writes predictions"), while
``print(accuracy_score(y_test, model.predict(X_test)))`` -> evaluation.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Sequence

from nbsplit.classify import lexicon as lex
from nbsplit.classify.context import Context, lookup_call, name_tokens
from nbsplit.classify.evidence import Evidence
from nbsplit.model import Call, Cell, CellFacts, Stage
from nbsplit.languages import LINE_MAGIC_LANGUAGES

SIGNAL = "structure"
D, E, F, T, V, P, M, S = (
    Stage.DATA_PREP, Stage.EDA, Stage.FEATURIZATION, Stage.TRAINING, Stage.EVALUATION,
    Stage.PREDICTION, Stage.MONITORING, Stage.SETUP,
)

_XY_PATTERN = re.compile(r"^(?:[Xx]|[yY])(?:_[A-Za-z]\w*)?$")
_XY_ANY = re.compile(r"^(?:[Xx]|[yY])(?:_[A-Za-z]\w*|train|test|val|valid)?$|^(?:train|test|val|valid)_?[XxYy]$")


# col.replace("Yes", 1) / .replace(to_replace="S", value="1") / .replace(False, 0): categories -> codes
_REPLACE_CODE = re.compile(
    r"\.replace\(\s*(?:to_replace\s*=\s*)?(?:(['\"])[^'\"\n]*\1|True|False)\s*,\s*(?:value\s*=\s*)?"
    r"(?:-?\d+(?:\.\d+)?|(['\"])-?\d+\2)\s*[,)]"
)
_RESCALE = re.compile(r"^[ \t]*(\w+)\s*=\s*\(?\s*\1\b[^\n]*\)?\s*/\s*(?:\d|\1\.max|\(?\s*\1\.std|np\.max)", re.M)
_LOC_FIX = re.compile(r"^[ \t]*\w+\.(?:loc|iloc|at)\[[^\n]*\]\s*=(?!=)", re.M)
# ``.loc[...isna()...] =`` on one line. Not one regex: ``[^\n]*`` twice after an opener that
# repeats is cubic in the line length (42 KB of ``.loc[...isna()]`` items took 47 s).
_LOC_OPEN = re.compile(r"\.(?:loc|iloc|at)\[")
_ISNA_CALL = re.compile(r"\.(?:isnull|isna)\(\)")
_ASSIGNED = re.compile(r"\s*+=(?!=)")
# df.loc[df["Sex"] == "male", "Sex"] = 0 / df.loc[df.Embarked == 'S', 'Embarked'] = 0: a category
# replaced by a number in the same column is an encoding, not a fix of bad values.
# df.loc[df.grad_rate > 100, 'grad_rate'] = 100: impossible values of a column capped in place.
_LOC_CAP = re.compile(
    r"^[ \t]*(\w+)\.loc\[\s*\(?\s*\1\s*(?:\[\s*(['\"])(?P<a>[^'\"\n]+)\2\s*\]|\.(?P<b>\w+))\s*[<>]=?\s*"
    r"-?\d+(?:\.\d+)?\s*\)?\s*,\s*(['\"])(?P<c>[^'\"\n]+)\5\s*\]\s*=\s*-?\d+(?:\.\d+)?\s*(?:#[^\n]*)?$",
    re.M,
)
_LOC_ENCODE = re.compile(
    r"^[ \t]*(\w+)\.loc\[\s*\(?\s*\1\s*(?:\[\s*(['\"])(?P<a>[^'\"\n]+)\2\s*\]|\.(?P<b>\w+))\s*==\s*"
    r"(['\"])[^'\"\n]*\5\s*\)?\s*,\s*(['\"])(?P<c>[^'\"\n]+)\6\s*\]\s*=\s*-?\d+(?:\.\d+)?\s*(?:#[^\n]*)?$",
    re.M,
)


def _fills_missing_in_place(text: str) -> bool:
    """A line with ``.loc[``/``.iloc[``/``.at[``, then ``.isna()``/``.isnull()``, then a ``]``
    followed by an assignment (``=``, not ``==``; the ``=`` may follow on a later line)."""
    if "isn" not in text:
        return False
    pos, n = 0, len(text)
    while pos <= n:
        end = text.find("\n", pos)
        if end < 0:
            end = n
        opener = _LOC_OPEN.search(text, pos, end)
        call = _ISNA_CALL.search(text, opener.end(), end) if opener else None
        if call is not None:
            bracket = text.find("]", call.end(), end)
            while bracket >= 0:
                if _ASSIGNED.match(text, bracket + 1):
                    return True
                bracket = text.find("]", bracket + 1, end)
        pos = end + 1
    return False


_ROW_FILTER = re.compile(
    r"^[ \t]*(\w+)\s*=\s*(\w+)\s*\[\s*~?\(?\s*\2\s*[\[.]|^[ \t]*(\w+)\s*=\s*\3\.drop\(\s*\3\s*\[", re.M
)

_SQL_WRITE = re.compile(r"\b(create\s+(or\s+replace\s+)?(temp(orary)?\s+)?(table|view)|insert\s+(into|overwrite)|merge\s+into|update\s+\w|delete\s+from|copy\s+into|alter\s+table|optimize\s|vacuum\s)", re.I)
_SQL_SETUP = re.compile(r"^\s*(use\s+(catalog|schema|database)?|create\s+(schema|database|catalog)|set\s+)", re.I)
_SQL_AGG = re.compile(r"\b(group\s+by|count\s*\(|avg\s*\(|sum\s*\(|min\s*\(|max\s*\(|stddev\w*\s*\(|percentile\w*\s*\(|corr\s*\(|approx_\w+\s*\()", re.I)
_SQL_TABLES = re.compile(r"\b(?:from|join)\s+([\w.`]+)", re.I)
_SQL_SHOW = re.compile(r"^\s*(describe|desc|show)\b", re.I)
_SQL_SELECT = re.compile(r"\bselect\b[\s\S]+\bfrom\b", re.I)
_SQL_LEADING_SELECT = re.compile(r"\s*(select|with)\s", re.I)
_SQL_STATEMENT = re.compile(r"^\s*(select|with|create|insert|merge|update|delete|describe|desc|show|use|copy|alter|optimize|drop)\b", re.I)

_SHELL_INSTALL = re.compile(r"\b(pip3?|conda|mamba|apt(-get)?|uv)\s+(install|update|upgrade)\b|\bpip\s+-q\b")
_SHELL_FETCH = re.compile(r"\b(wget|curl|unzip|tar\s|gunzip|kaggle\s|gsutil|aws\s+s3|azcopy|git\s+clone|dbfs\s+cp|hdfs|7z)\b")
# ``[^\S\n]`` not ``\s``: from every line start ``\s*`` ran across all the blank lines below it.
_SHELL_LOOK = re.compile(r"^[^\S\n]*+(ls|head|cat|du|wc|tail|file|find)\b", re.M)


def apply(ctx: Context, evidence: Sequence[Evidence]) -> None:
    for cell, facts, ev in zip(ctx.nb.cells, ctx.facts, evidence):
        if cell.kind != "code" or cell.is_empty:
            continue
        lang = _cell_language(cell)
        if lang != "python":
            _language_cell(lang, _body(cell), ev)
            continue
        if facts is None:
            continue
        _magics(facts, ev)
        _python_cell(ctx, cell, facts, ev)


# --- non-Python cells --------------------------------------------------------------------------
def _cell_language(cell: Cell) -> str:
    if cell.language != "python":
        return cell.language
    first = cell.first_line
    if first.startswith("%%"):
        magic = first[2:].split(None, 1)[0] if len(first) > 2 else ""
        if magic in ("sql", "sh", "bash", "script", "html", "javascript", "js", "latex", "markdown", "writefile"):
            return {"bash": "sh", "script": "sh"}.get(magic, magic)
    elif first.startswith("%"):
        magic = first[1:].split(None, 1)[0] if len(first) > 1 else ""
        if magic in LINE_MAGIC_LANGUAGES and (
            magic in ("pip", "run", "conda", "fs") or first == "%" + magic
        ):
            return magic
    return "python"


def _body(cell: Cell) -> str:
    lines = cell.source.strip().split("\n")
    if lines and lines[0].lstrip().startswith("%"):
        first = lines[0].lstrip()
        # %pip install x / %run ./setup keep their argument on the magic line.
        rest = first.split(None, 1)[1] if " " in first and not first.startswith("%%") else ""
        return "\n".join([rest, *lines[1:]]).strip()
    return "\n".join(lines)


def _language_cell(lang: str, body: str, ev: Evidence) -> None:
    if lang in ("pip", "conda"):
        ev.add(S, 4.0, "installs packages", SIGNAL)
    elif lang == "run":
        ev.add(S, 4.0, "runs another notebook (%run)", SIGNAL)
    elif lang == "sql":
        sql_evidence(body, ev, displayed=True)
    elif lang == "sh":
        shell_evidence(body, ev)
    elif lang == "fs":
        ev.add(D, 1.5, "inspects files (%fs)", SIGNAL)
    elif lang in ("html", "javascript", "latex", "markdown", "md"):
        ev.add(E, 0.8, f"renders {lang}", SIGNAL)
    elif lang == "writefile":
        ev.add(S, 2.0, "writes a file (%%writefile)", SIGNAL)


def sql_evidence(sql: str, ev: Evidence, *, displayed: bool, factor: float = 1.0) -> None:
    text = "\n".join(line for line in sql.split("\n") if not line.strip().startswith("--"))
    if not text.strip():
        return
    if _SQL_WRITE.search(text):
        lowered = text.lower()
        if "feature" in lowered:
            ev.add(F, 3.0 * factor, "writes a feature table with SQL", SIGNAL)
        elif re.search(r"\bpred|\bscor|inference", lowered):
            ev.add(P, 2.6 * factor, "writes predictions with SQL", SIGNAL)
        else:
            ev.add(D, 3.0 * factor, "creates or changes tables with SQL", SIGNAL)
        return
    statements = [s for s in text.split(";") if s.strip()]
    if statements and all(_SQL_SETUP.match(s) for s in statements):
        ev.add(S, 3.2 * factor, "selects the catalog/schema", SIGNAL)
        return
    if _SQL_SHOW.match(text):
        ev.add(E, 3.0 * factor, "describes tables with SQL", SIGNAL)
        return
    # analyze caps string literals, so a long query may have lost its FROM: a leading SELECT counts.
    if _SQL_SELECT.search(text) or _SQL_LEADING_SELECT.match(text):
        lowered = text.lower()
        tables = " ".join(_SQL_TABLES.findall(lowered))
        if displayed and re.search(r"pred|scor|inferen", tables + " " + lowered.split("from", 1)[0]):
            if re.search(r"\bprod\w*|\bchampion", lowered) and re.search(r"\bstag\w*|\bchallenger", lowered):
                # production vs staging (champion vs challenger) predictions side by side
                ev.add(V, 3.0 * factor, "compares the predictions of two model versions with SQL", SIGNAL)
                return
            if re.search(r"pred|scor|inferen", tables):
                ev.add(P, 2.6 * factor, "shows stored predictions with SQL", SIGNAL)
                return
        if not displayed:
            ev.add(D, 2.6 * factor, "loads data with a SQL query", SIGNAL)
        elif _SQL_AGG.search(text):
            ev.add(E, 3.0 * factor, "summarises data with SQL (GROUP BY/aggregates)", SIGNAL)
        else:
            ev.add(E, 2.2 * factor, "queries and shows data with SQL", SIGNAL)


def shell_evidence(cmd: str, ev: Evidence, factor: float = 1.0) -> None:
    if _SHELL_INSTALL.search(cmd):
        ev.add(S, 4.0 * factor, "installs packages", SIGNAL)
    elif _SHELL_FETCH.search(cmd):
        ev.add(D, 2.8 * factor, "downloads or unpacks data", SIGNAL)
    elif _SHELL_LOOK.search(cmd):
        ev.add(E, 1.4 * factor, "looks at files", SIGNAL)
    elif "nvidia-smi" in cmd or "mkdir" in cmd:
        ev.add(S, 2.0 * factor, "prepares the environment", SIGNAL)


def _magics(facts: CellFacts, ev: Evidence) -> None:
    if not facts.magics:
        return
    only = not facts.calls and not facts.defines and not facts.imports
    factor = 1.0 if only else 0.5
    for line in facts.magics:
        stripped = line.strip()
        if stripped.startswith("!"):
            shell_evidence(stripped[1:], ev, factor)
            continue
        name = stripped.lstrip("%").split(None, 1)[0] if stripped.lstrip("%") else ""
        if name in ("sh", "system"):
            shell_evidence(stripped, ev, factor)
        elif name in lex.SETUP_MAGICS:
            ev.add(S, 3.5 * factor, f"sets up the environment (%{name})", SIGNAL)


# --- Python cells ------------------------------------------------------------------------------
def _python_cell(ctx: Context, cell: Cell, facts: CellFacts, ev: Evidence) -> None:
    i = cell.index
    own = [c for c in facts.calls]
    # imports and constants
    bound_by_import = {alias for alias, _ in facts.imports}
    if facts.import_only or (facts.imports and facts.defines <= bound_by_import and facts.calls
                             and all(c.name in ("print", "display") for c in facts.calls)
                             and not facts.reads - bound_by_import):
        ev.add(S, 4.0, "only imports", SIGNAL)  # print("libraries loaded") changes nothing
    elif facts.imports:
        ev.add(S, 0.7, f"imports {facts.imports[0][1].split('.')[0]}", SIGNAL)
    assigned = facts.defines - bound_by_import - {fn.name for fn in facts.functions}
    xy = {n for n in assigned if n in lex.XY_NAMES or (_XY_PATTERN.match(n) and not name_tokens(n) & lex.NOT_XY_TOKENS)}
    if not xy and assigned and not facts.reads and not facts.calls:
        # featur = ["age", "income"]: a literal list of model inputs (not feature_names_comb =
        # names[idx], which looks at a fitted model)
        xy = {n for n in assigned if _names_features(n)}
    if assigned and not facts.mutates and not xy and _only_constants(ctx, facts, assigned):
        grids = sorted(n for n in assigned if name_tokens(n) & lex.GRID_TOKENS and not n.isupper())
        if grids:  # param_grid = {"C": [0.1, 1, 10]}: choosing a model's settings is training
            ev.add(T, 2.8, f"defines hyperparameters ({grids[0]})", SIGNAL)
        else:
            caps = all(n.isupper() or n.startswith("_") for n in assigned)
            ev.add(S, 3.4 if caps else 2.6, "only sets configuration constants", SIGNAL)

    fits = _fits(ctx, cell, own, ev)
    predicts = _predicts(ctx, cell, facts, own, ev, fits)
    if _LITERAL_PREDICT.search(cell.source):
        # clf.predict([[60, 11250, 10, 5]]): values typed in by hand are new data, not the test split
        ev.add(P, 2.6, "predicts on values written in the cell (new data)", SIGNAL)
        predicts = predicts or "new"
    writes_predictions = _writes_predictions(ctx, cell, facts, own, predicts, ev)
    trained_on = _metrics_on_training(ctx, facts, own)
    if trained_on and not fits:
        # r2_score(y_train, train_pred) after the fit cell: the fitted model's metrics on the rows
        # it saw (an overfitting check beside the test metrics) are evaluation (corpus: 11 of 11)
        ev.add(V, 3.0, f"scores the fitted model on its training data ({trained_on})", SIGNAL)
    # Names this cell binds that no later cell reads: a table built only to be looked at.
    dead = {n for n in assigned if not any(r > i for r in ctx.readers.get(n, ()))}

    if fits:
        # "A cell that fits and then prints a quick test score is training."
        if ev.stage_weight(V) > 0:
            ev.scale(V, 0.3)
            ev.add(T, 1.0, "fits and then scores the model", SIGNAL)
        ev.scale(E, 0.5)
    if writes_predictions or predicts == "new":
        ev.scale(D, 0.4)

    splits = _manual_split(ctx, facts, assigned) if not fits and not predicts else None
    if splits:
        ev.add(T, 3.0, f"splits into {splits}", SIGNAL)
    if xy and not fits and not predicts:
        name = sorted(xy)[0]
        ev.add(F, 2.6, f"builds {name} (features/target)", SIGNAL)
    elif not fits and not predicts and not splits and not _calls_split(ctx, own):
        order = lambda n: (bool(name_tokens(n) & lex.TEST_SPLIT_TOKENS), n)  # noqa: E731
        xs = sorted((n for n in assigned if _XY_ANY.match(n) and (n[0] in "Xx" or n[-1] in "Xx")), key=order)
        ys = sorted((n for n in assigned if _XY_ANY.match(n) and (n[0] in "yY" or n[-1] in "yY")), key=order)
        if xs and ys:  # X_train = df.drop("Survived", axis=1); Y_train = df["Survived"]
            ev.add(F, 2.4, f"builds {xs[0]} and {ys[0]}", SIGNAL)
        else:
            # x_train = df_train.drop(columns=[...]) alone in its cell (y_train two cells above):
            # a model input built from a frame, not a split and not a file read.
            built = [n for n in (*xs, *ys) if n not in facts.reads and facts.reads
                     and not name_tokens(n) & lex.NOT_INPUT_TOKENS and ctx.kind_of(n, i) not in ("file", "split")]
            if built:
                ev.add(F, 2.0, f"builds {built[0]} from {sorted(facts.reads)[0]}", SIGNAL)

    _derived_columns(cell.source, facts, ev, dead & facts.defines)
    if splits:
        ev.scale(D, 0.3, signals=("structure", "calls"))  # the row masks are the split itself
    _drift(ctx, facts, own, ev)
    _metric_names(facts, ev, fits)
    _spark_sql(ctx, facts, own, ev)
    if not fits:
        _model_outputs(ctx, cell, facts, own, predicts, ev)
        _new_data(ctx, cell, facts, predicts, writes_predictions, ev)
    _changes_data(ctx, cell, facts, ev)
    if not fits and not predicts and not splits and not _calls_split(ctx, own):
        _drops_columns(ctx, cell, own, ev)

    loop_aliases = set(re.findall(r"^[ \t]*for\s+(\w+)\s+in\s*[(\[]", cell.source, re.M)) & facts.mutates
    if assigned and dead == assigned and not fits and not predicts and not writes_predictions \
            and not facts.mutates - assigned and not loop_aliases and _shows_something(cell, facts, assigned):
        # "look without changing what later cells use": working = df[df.age < 60]; print(working.income.mean())
        ev.add(E, 1.8, "computes values only to show them", SIGNAL)
    if ev.stage_weight(M, exclude=("headings", "comments")) >= 2.4:
        ev.scale(E, 0.4)  # plots and tables of drift are monitoring
        ev.scale(V, 0.6)
    elif ev.stage_weight(V, exclude=("headings", "comments")) >= 2.5:
        ev.scale(E, 0.4)  # plots and tables of model results are evaluation
    if assigned - xy and not facts.display_only and ev.stage_weight(E) > 0 and any(
        s is not E and w >= 1.5 for s, w in ev.scores(exclude=("headings", "comments")).items()
    ):
        ev.scale(E, 0.6)  # a peek (.head(), .shape) after real work does not make the cell eda
    if facts.display_only and not facts.reads:
        pass  # print("done"): literals only, nothing about the data
    elif facts.display_only and _shows_configuration(ctx, cell, facts):
        # print("Catalog: " + catalogName) after %run ./setup: echoing settings, not data
        ev.add(S, 2.8, f"shows configuration ({sorted(facts.reads)[0]})", SIGNAL)
    elif facts.display_only and all(ctx.receiver_kind(r, i) in ("model", "loaded") for r in facts.reads):
        ev.add(T, 1.5, f"shows the model {sorted(facts.reads)[0]}", SIGNAL)
    elif facts.display_only:
        other = max((w for s, w in ev.scores().items() if s is not E), default=0.0)
        if other >= 2.0:
            ev.add(E, 0.6, "only displays values", SIGNAL)
        elif own:
            ev.add(E, 2.6, "only displays data", SIGNAL)
        else:
            ev.add(E, 1.8, "only displays values", SIGNAL)
    elif not facts.defines and not facts.mutates and own and _plots_only(ctx, own):
        ev.add(E, 1.5, "only draws plots", SIGNAL)
    _ = i


def _model_outputs(ctx: Context, cell: Cell, facts: CellFacts, calls: list[Call], predicts: str | None,
                   ev: Evidence) -> None:
    """Looking at predictions: of the held-out split -> evaluation; of new data -> prediction."""
    i = cell.index
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
    plots = any(ctx.resolve(c.name)[0].startswith(("matplotlib", "seaborn", "plotly")) or
                c.name.rsplit(".", 1)[-1] == "plot" for c in calls)
    if plots and predicts is None:
        words: set[str] = set()
        for n in facts.reads:
            words |= name_tokens(n)
        for t in facts.strings:
            if len(t) < 30:
                words |= name_tokens(t)
        if words & lex.HISTORY_TOKENS or (words & {"val", "valid", "validation"} and words & lex.METRIC_TOKENS):
            ev.add(V, 2.6, "plots training/validation metrics", SIGNAL)
            return
    if new_like and predicts != "test":
        ev.add(P, 2.2, f"uses predictions on new data ({sorted(new_like)[0]})", SIGNAL)
    elif test_like and predicts != "new":
        plots = any(ctx.resolve(c.name)[0].startswith(("matplotlib", "seaborn", "plotly")) for c in calls)
        if plots:
            ev.add(V, 2.8, f"plots {', '.join(sorted(test_like)[:2])}", SIGNAL)
        elif not facts.defines - set(test_like) or facts.display_only or any(
            ctx.kind_of(n, i) in ("test_predictions", "predictions") for n in test_like
        ):
            ev.add(V, 2.2, f"examines {sorted(test_like)[0]}", SIGNAL)


def _new_data(ctx: Context, cell: Cell, facts: CellFacts, predicts: str | None, writes: bool,
              ev: Evidence) -> None:
    """Loading and preparing new (unlabeled) data for scoring belongs to prediction."""
    if predicts in ("new",) or writes or ev.stage_weight(M) >= 2.0:
        return
    # Only names that say "new" (new, novos, X_new, batch, scoring...), written here, and no training
    # data written alongside: Kaggle's joint cleaning of train and test.csv stays data-prep.
    i = cell.index
    written = facts.writes - {fn.name for fn in facts.functions}
    if any(name_tokens(n) & lex.TRAIN_TOKENS for n in written) or _loads_training_data(ctx, facts):
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


def _loads_training_data(ctx: Context, facts: CellFacts) -> bool:
    """The cell reads a data file into a name that is not new data (df = read_csv("train.csv"))."""
    return any(ctx.bound_here(n, facts.index) and ctx.kind_of(n, facts.index) == "file"
               and ctx.data_role(n, facts.index) != "new" for n in facts.defines)


# df.drop(columns=[...]) / df.drop("id", axis=1): removing columns, not rows
# (``.drop(`` followed by ``columns=``, or by ``axis=1``/``axis="columns"`` before its ``)``;
# checked occurrence by occurrence with cached positions, as ``[^)]*`` restarted at every
# ``.drop(`` of a long line is quadratic.)
_DROP_OPEN = re.compile(r"\.drop\(")
_DROP_COLUMNS_KW = re.compile(r"\s*+columns\s*+=")
_AXIS_COLUMNS = re.compile(r"\baxis\s*+=\s*+(?:1|['\"]columns['\"])")


def _drops_by_column(source: str) -> bool:
    """``df.drop(columns=...)`` or ``df.drop(..., axis=1)`` somewhere in ``source``."""
    if ".drop(" not in source:
        return False
    axes = [m.start() for m in _AXIS_COLUMNS.finditer(source)]
    close = -1
    for m in _DROP_OPEN.finditer(source):
        if _DROP_COLUMNS_KW.match(source, m.end()):
            return True
        if close < m.end():
            close = source.find(")", m.end())
            if close < 0:
                close = len(source)
        i = bisect_left(axes, m.end())
        if i < len(axes) and axes[i] < close:
            return True
    return False


def _drops_columns(ctx: Context, cell: Cell, calls: list[Call], ev: Evidence) -> None:
    """Dropping columns right after loading cleans the raw table (data-prep); dropping them from
    a frame that was already explored or transformed chooses the model's inputs (featurization)."""
    if not _drops_by_column(cell.source):
        return
    frames = [c.receiver for c in calls if c.name.rsplit(".", 1)[-1] == "drop" and c.receiver]
    if not frames:
        return
    i = cell.index
    code_before: list[int] = []  # the last two non-empty code cells before this one
    j = i - 1
    while j >= 0 and len(code_before) < 2:
        before = ctx.nb.cells[j]
        if before.kind == "code" and not before.is_empty:
            code_before.insert(0, before.index)
        j -= 1
    for frame in frames:
        if re.search(rf"^[ \t]*{re.escape(frame)}\s*=\s*\w+(?:\.copy\(\s*\))?\s*$", cell.source, re.M):
            continue  # work = raw.copy(); work = work.drop(...): a fresh working copy being cleaned
        loaded = ctx.kind_of(frame, i - 1) == "file" and any(
            ctx.bound_here(frame, j) for j in code_before)
        if not loaded:
            ev.add(F, 1.4, f"drops columns from {frame}, a frame already explored (model inputs)", SIGNAL)
            return


def _changes_data(ctx: Context, cell: Cell, facts: CellFacts, ev: Evidence) -> None:
    """EDA looks without changing: a cell that rewrites data it read is not eda."""
    changed = (facts.mutates | (facts.defines & facts.reads)) - {fn.name for fn in facts.functions}
    if changed and not facts.display_only:
        ev.scale(E, 0.5)


_LITERAL_PREDICT = re.compile(r"\.(?:predict|predict_proba)\(\s*(?:np\.array\(\s*)?\[\s*\[?\s*-?[\d'\"]")
_SLICE = re.compile(r"\[\s*[\w.()+\-*/ ]*:\s*[\w.()+\-*/ ]*\]|\.iloc\[|\.sample\(|\.drop\(\s*\w+\.index")


def _manual_split(ctx: Context, facts: CellFacts, assigned: set[str] | frozenset[str]) -> str | None:
    """``X_train, X_test = X[:800], X[800:]``: a split without train_test_split."""
    trains = sorted(n for n in assigned if name_tokens(n) & lex.TRAIN_TOKENS)
    tests = sorted(n for n in assigned if name_tokens(n) & lex.TEST_SPLIT_TOKENS)
    if not trains or not tests:
        return None
    if any(ctx.kind_of(n, facts.index) == "file" for n in (*trains, *tests)):
        return None  # train.csv and test.csv loaded side by side
    if set(trains + tests) & facts.reads:
        return None  # x_train = x_train / 255: rebinding, not splitting
    if any("new" in ctx.origins(r, facts.index) for r in facts.reads):
        return None  # X_test = full[n:] of concat([train, test.csv]): test.csv's rows back, not a split
    source = ctx.nb.cells[facts.index].source if facts.index < len(ctx.nb.cells) else ""
    if not _SLICE.search(source) and not _split_by_masks(source, trains, tests):
        return None
    return f"{trains[0]} and {tests[0]}"


def _split_by_masks(source: str, trains: list[str], tests: list[str]) -> bool:
    """``train = df[df.date < cut]`` and ``test = df[df.date >= cut]`` (or .loc/.filter/.where/.query
    on one frame): a temporal or rule-based split, one frame cut in two."""
    roots: dict[str, str] = {}
    for name in (*trains, *tests):
        m = re.search(rf"^[ \t]*{re.escape(name)}\s*=\s*(\w+)\s*(?:\[|\.loc\[|\.(?:filter|where|query)\()",
                      source, re.M)
        if m is None:
            return False
        roots[name] = m.group(1)
    return len(set(roots.values())) == 1


def _shows_something(cell: Cell, facts: CellFacts, assigned: set[str] | frozenset[str]) -> bool:
    """The cell prints/displays, or ends with a bare expression of what it built."""
    if any(c.name in lex.SHOW_CALLS for c in facts.calls):
        return True
    lines = [ln for ln in cell.source.strip().split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines or lines[-1].startswith((" ", "\t")):
        return False
    last = lines[-1].strip()
    head = re.match(r"[A-Za-z_]\w*", last)
    return bool(head) and head.group(0) in assigned and not re.search(r"(?<![=!<>])=(?!=)", last)


def _metrics_on_training(ctx: Context, facts: CellFacts, calls: list[Call]) -> str | None:
    """The training-data name when every metric call of the cell scores training data only."""
    found: str | None = None
    for call in calls:
        name, is_module = ctx.resolve(call.name)
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


def _join_brackets(source: str) -> str:
    """Source with newlines inside brackets replaced by spaces (multi-line subscripts on one line)."""
    out: list[str] = []
    depth = 0
    quote = ""
    for ch in source:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch == "\n" and depth:
            ch = " "
        out.append(ch)
    return "".join(out)


def _names_features(name: str) -> bool:
    """``featur``, ``feats``, ``feature_cols2``, ``predictors``: a list of model inputs."""
    tokens = name_tokens(name)
    if tokens & lex.NOT_FEATURE_LIST_TOKENS or name.isupper():
        return False
    return any(t.startswith(lex.FEATURE_PREFIXES) for t in tokens)


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


def _shows_configuration(ctx: Context, cell: Cell, facts: CellFacts) -> bool:
    """Only prints names that are constants, widget values, or bound nowhere in the notebook
    (a %run'd setup notebook defines them), through print/display/str."""
    if not facts.reads or not facts.calls or facts.attributes \
            or any(ctx.resolve(c.name)[0] not in ("print", "display", "str") for c in facts.calls):
        return False
    for name in facts.reads:
        if name.isupper() and len(name) > 2 or name in ctx.aliases or name in ("spark", "dbutils"):
            continue
        writers = [w for w in ctx.writers.get(name, ()) if w < cell.index]
        if not writers:
            if name in ctx.functions or name in ctx.writers:
                return False
            continue  # defined outside the notebook
        source = ctx.nb.cells[writers[-1]].source
        if not re.search(rf"\b{re.escape(name)}\s*=\s*dbutils\.widgets\.get\(", source):
            return False
    return True


def _calls_split(ctx: Context, calls: list[Call]) -> bool:
    for call in calls:
        method = call.name.replace("()", "").rsplit(".", 1)[-1]
        if method in ("train_test_split", "randomSplit"):
            return True
    return False


def _fits(ctx: Context, cell: Cell, calls: list[Call], ev: Evidence) -> bool:
    fitted = False
    for call in calls:
        name, is_module = ctx.resolve(call.name)
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
        kind = ctx.receiver_kind(receiver, cell.index)
        data = call.args[0] if call.args else None
        on = f" on {data}" if data else ""
        if method in lex.FIT_METHODS or (method == "train" and kind == "model"):
            if kind == "transformer":
                ev.add(F, 3.0, f"fits {receiver}{on}", SIGNAL)
            elif kind == "monitor":
                # CBPE(...).fit(reference), UnivariateDriftCalculator(...).fit(reference): a drift
                # or performance monitor learns its baseline; no model is trained
                ev.add(M, 3.4, f"fits the monitor {receiver}{on}", SIGNAL)
            elif kind == "evaluator":
                continue
            elif kind == "feature_store":
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
    return fitted


def data_role(ctx: Context, name: str, cell: int) -> str | None:
    return ctx.data_role(name, cell)


def _predicts(ctx: Context, cell: Cell, facts: CellFacts, calls: list[Call], ev: Evidence,
              fits: bool = False) -> str | None:
    """Evidence for model application; returns the strongest data role seen ('new' > 'test' > ...)."""
    roles: list[str] = []
    for call in calls:
        name, is_module = ctx.resolve(call.name)
        if is_module:
            continue
        parts = name.split(".")
        if len(parts) == 1 and ctx.kind_of(name, cell.index) == "loaded":
            # model_udf = mlflow.pyfunc.spark_udf(...); df.withColumn("prediction", model_udf(*cols))
            ev.add(P, 3.0, f"applies the loaded model {name}", SIGNAL)
            roles.append("new")
            continue
        if len(parts) < 2:
            continue
        receiver, method = parts[0], parts[-1]
        kind = ctx.receiver_kind(receiver, cell.index)
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
        data_names = [a for a in call.args if a != receiver]
        role_of = {a: data_role(ctx, a, cell.index) for a in data_names}
        for a, role in role_of.items():
            # Data read from storage in this very cell and scored right away is new data.
            if role is None and ctx.kind_of(a, cell.index) == "file" and ctx.bound_here(a, cell.index):
                role_of[a] = "new"
            elif role in (None, "test") and ctx.kind_of(a, cell.index) not in ("split", "test_predictions"):
                # A name that only sounds held-out (test_sp, x_te_e): follow where its rows came from.
                came = ctx.origins(a, cell.index)
                if "new" in came and "test" not in came and "train" not in came:
                    role_of[a] = "new"
                elif role is None and "test" in came and "new" not in came:
                    role_of[a] = "test"
        what = data_names[0] if data_names else "data"
        if "new" in role_of.values():
            target = next(a for a, r in role_of.items() if r == "new")
            ev.add(P, 3.2, f"applies {receiver} to new data {target}", SIGNAL)
            roles.append("new")
        elif "test" in role_of.values():
            target = next(a for a, r in role_of.items() if r == "test")
            ev.add(V, 3.0, f"{'scores' if method == 'score' else 'predicts'} on held-out {target}", SIGNAL)
            roles.append("test")
        elif "train" in role_of.values():
            ev.add(T, 1.6, f"scores {receiver} on training data", SIGNAL)
            roles.append("train")
        else:
            ev.add(V, 1.3, f"applies {receiver} to {what}", SIGNAL)
            ev.add(P, 1.1, f"applies {receiver} to {what}", SIGNAL)
            roles.append("unknown")
        if kind == "loaded":
            ev.add(P, 1.5, f"uses a loaded model ({receiver})", SIGNAL)
    for role in ("new", "test", "train", "unknown"):
        if role in roles:
            return role
    return None


def _writes_predictions(ctx: Context, cell: Cell, facts: CellFacts, calls: list[Call],
                        predicts: str | None, ev: Evidence) -> bool:
    strings = " ".join(facts.strings).lower()
    submission = "submission" in strings or "submit" in strings
    if submission and predicts is None and _loads_training_data(ctx, facts):
        # train.csv, test.csv and sample_submission.csv read together: loading, not predicting
        submission = False
    if submission:
        ev.add(P, 2.2, "mentions a submission", SIGNAL)
    for call in calls:
        name, is_module = ctx.resolve(call.name)
        parts = name.split(".")
        if is_module or len(parts) < 2 or not (set(parts[1:]) & lex.DATA_WRITERS):
            continue
        receiver = parts[0]
        pred_name = bool(name_tokens(receiver) & lex.PREDICTION_NAME_TOKENS)
        came = ctx.origins(receiver, cell.index + 1) if receiver in facts.defines | facts.reads else frozenset()
        fills_template = any(name_tokens(r) & {"sub", "submission", "submit", "sample"} for r in facts.reads)
        if pred_name or submission or fills_template or "new_predictions" in came or predicts in ("new", "unknown") \
                or re.search(r"pred|scor|inferen|submission", strings):
            ev.add(P, 3.0, f"writes predictions ({receiver})", SIGNAL)
            return True
    return False


def _column_derivations(facts: CellFacts, ev: Evidence, local_unused: set[str] | frozenset[str]) -> bool:
    """The first telling column write (``CellFacts.column_writes``): a label column built, a
    column encoded or normalised in place, derived from other columns or transformed."""
    for cw in facts.column_writes:
        if not cw.column or cw.kind == "assign" or cw.frame in local_unused:
            continue  # local_unused: a column of a summary table built here and only shown
        target = cw.column
        if target.lower() in lex.LABEL_COLUMNS and cw.frame not in ("X", "x"):
            ev.add(F, 2.6, f"builds the label column '{target}'", SIGNAL)
            return True
        if cw.kind == "withColumn":
            if cw.arith or "when" in cw.words or any("log" in w or "datediff" in w for w in cw.words):
                ev.add(F, 2.0, f"derives column '{target}'", SIGNAL)
                return True
            continue
        refs = cw.refs | (cw.attrs - lex.NOT_COLUMN_ATTRS)
        if refs and target in refs and cw.codes:
            if "str" in cw.words:  # lower/strip then map: normalising messy values
                ev.add(D, 1.8, f"normalises values of '{target}'", SIGNAL)
            else:
                ev.add(F, 2.2, f"encodes column '{target}'", SIGNAL)
            return True
        if refs and target not in refs and (cw.arith or cw.words & lex.DERIVE_WORDS):
            ev.add(F, 2.6, f"derives column '{target}' from other columns", SIGNAL)
            return True
        if refs and target in refs and cw.arith and "fillna" not in cw.words:
            ev.add(F, 1.3, f"transforms column '{target}'", SIGNAL)
            return True
    return False


def _derived_columns(source: str, facts: CellFacts, ev: Evidence,
                     local_unused: set[str] | frozenset[str] = frozenset()) -> None:
    reads = facts.reads
    if "=" not in source and ".replace(" not in source:
        return
    if _REPLACE_CODE.search(source):
        ev.add(F, 2.2, "encodes categories as numbers (replace)", SIGNAL)
        ev.scale(D, 0.5)
    if _column_derivations(facts, ev, local_unused):
        return
    scaled = _RESCALE.search(source)
    if scaled:
        ev.add(F, 2.2, f"rescales {scaled.group(1)}", SIGNAL)
        ev.scale(D, 0.6)
    flat = _join_brackets(source) if "\n" in source else source
    encoded = [m for m in _LOC_ENCODE.finditer(flat) if (m.group("a") or m.group("b")) == m.group("c")]
    if encoded:
        column = encoded[0].group("c")
        ev.add(F, min(3.4, 2.4 + 0.25 * (len(encoded) - 1)), f"encodes categories of '{column}' as numbers (loc)", SIGNAL)
        ev.scale(D, 0.6)
    elif any((m.group("a") or m.group("b")) == m.group("c") for m in _LOC_CAP.finditer(flat)):
        ev.add(D, 2.4, "caps out-of-range values in place", SIGNAL)
    elif _fills_missing_in_place(flat):
        # df.loc[df["Age"].isnull() & (df.Pclass == 1), "Age"] = means[1]: filling missing values
        ev.add(D, 2.4, "fills missing values in place", SIGNAL)
        ev.scale(E, 0.5)
    elif _LOC_FIX.search(flat):
        ev.add(D, 1.5, "fixes values in place", SIGNAL)
    else:
        for m in _ROW_FILTER.finditer(source):
            if (m.group(2) or m.group(3)) in reads:  # not an intermediate built in this cell
                ev.add(D, 1.6, "filters rows", SIGNAL)
                break


def _drift(ctx: Context, facts: CellFacts, calls: list[Call], ev: Evidence) -> None:
    for call in calls:
        name, is_module = ctx.resolve(call.name)
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
    i = min(facts.index, len(ctx.nb.cells) - 1)
    new_reads = [n for n in facts.reads if name_tokens(n) & lex.NEW_DATA_TOKENS and not n.isupper()]
    words = set().union(*(name_tokens(n) for n in (*facts.defines, *facts.reads))) if facts.defines or facts.reads else set()
    for t in facts.strings:
        if len(t) < 40:
            words |= name_tokens(t)
    if new_reads and words & (lex.TIME_TOKENS | lex.QUALITY_TOKENS):
        ev.add(M, 2.2, f"checks incoming data {sorted(new_reads)[0]} over time", SIGNAL)
    if words & lex.TIME_TOKENS and words & lex.METRIC_TOKENS and not new_reads and (
        ev.stage_weight(E) > 0 or ev.stage_weight(V) > 0
    ):
        ev.add(M, 2.0, "tracks metrics over time", SIGNAL)
    _ = i
    # Metrics of fresh labels, or per period over time, are monitoring, not evaluation.
    for call in [*calls, *(c for fn in facts.functions for c in fn.calls)]:
        name, is_module = ctx.resolve(call.name)
        if not is_module or not name.startswith("sklearn.metrics"):
            continue
        if any(name_tokens(a) & lex.FRESH_TOKENS for a in call.args):
            ev.add(M, 2.6, f"scores fresh labels ({name.rsplit('.', 1)[-1]})", SIGNAL)
            return
        if any(name_tokens(n) & lex.TIME_TOKENS for n in facts.defines):
            ev.add(M, 2.4, f"tracks {name.rsplit('.', 1)[-1]} over time", SIGNAL)
            return


def _metric_names(facts: CellFacts, ev: Evidence, fits: bool) -> None:
    if fits:
        return
    shown = [r for r in facts.reads if name_tokens(r) & lex.METRIC_TOKENS]
    if shown and (facts.display_only or not facts.defines):
        ev.add(V, 1.4, f"shows metric {sorted(shown)[0]}", SIGNAL)


def _spark_sql(ctx: Context, facts: CellFacts, calls: list[Call], ev: Evidence) -> None:
    if not any(ctx.resolve(c.name)[0].endswith(".sql") for c in calls):
        return
    for text in facts.strings:
        if _SQL_STATEMENT.match(text):
            sql_evidence(text, ev, displayed=not facts.defines, factor=0.9)
            return


def _plots_only(ctx: Context, calls: list[Call]) -> bool:
    for call in calls:
        name, is_module = ctx.resolve(call.name)
        if not is_module or not name.startswith(("matplotlib", "seaborn", "plotly")):
            return False
    return True
