"""Idioms of data frames and their columns: model inputs, derived and encoded columns, value
fixes, row filters, column drops, splits made by hand.

Why: which rows and columns a cell changes, and how, separates data-prep (fix values, drop bad
rows) from featurization (build ``X``/``y``, derive, encode, choose the model's inputs) and from
training (cut the rows into train and test).

Example: ``df.loc[df.Sex == "male", "Sex"] = 0`` encodes a category (featurization);
``df.loc[df.grad_rate > 100, "grad_rate"] = 100`` caps impossible values (data-prep).
"""

from __future__ import annotations

import re

from nbsplit.classify import lexicon as lex
from nbsplit.classify.context import Context, name_tokens
from nbsplit.classify.evidence import Evidence
from nbsplit.classify.idioms import SIGNAL, D, E, F, PyCell, T
from nbsplit.model import Cell, CellFacts

_XY_ANY = re.compile(lex.XY_SPLIT_NAME_PATTERN)

def model_inputs(c: PyCell) -> None:
    """In a cell that neither fits nor applies a model: ``X_train, X_test = X[:800], X[800:]``
    splits by hand (training); ``X = df.drop("y", axis=1)`` / ``y = df["y"]`` or a feature list
    builds the model's inputs (featurization). Sets ``c.splits``."""
    ctx, facts, ev = c.ctx, c.facts, c.ev
    c.splits = splits = _manual_split(ctx, facts, c.assigned) if not c.fits and not c.predicts else None
    if splits:
        ev.add(T, 3.0, f"splits into {splits}", SIGNAL)
    if c.xy and not c.fits and not c.predicts:
        ev.add(F, 2.6, f"builds {sorted(c.xy)[0]} (features/target)", SIGNAL)
    elif not c.fits and not c.predicts and not splits and not c.splits_call:
        order = lambda n: (bool(name_tokens(n) & lex.TEST_SPLIT_TOKENS), n)  # noqa: E731
        xs = sorted((n for n in c.assigned if _XY_ANY.match(n) and (n[0] in "Xx" or n[-1] in "Xx")), key=order)
        ys = sorted((n for n in c.assigned if _XY_ANY.match(n) and (n[0] in "yY" or n[-1] in "yY")), key=order)
        if xs and ys:  # X_train = df.drop("Survived", axis=1); Y_train = df["Survived"]
            ev.add(F, 2.4, f"builds {xs[0]} and {ys[0]}", SIGNAL)
        else:
            # x_train = df_train.drop(columns=[...]) alone in its cell (y_train two cells above):
            # a model input built from a frame, not a split and not a file read.
            built = [n for n in (*xs, *ys) if n not in facts.reads and facts.reads
                     and not name_tokens(n) & lex.NOT_INPUT_TOKENS
                     and ctx.kind_of(n, c.i) not in ("file", "split")]
            if built:
                ev.add(F, 2.0, f"builds {built[0]} from {sorted(facts.reads)[0]}", SIGNAL)


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
    if not facts.idioms.slices and not _split_by_masks(facts, trains, tests):
        return None
    return f"{trains[0]} and {tests[0]}"


def _split_by_masks(facts: CellFacts, trains: list[str], tests: list[str]) -> bool:
    """``train = df[df.date < cut]`` and ``test = df[df.date >= cut]`` (or .loc/.filter/.where/.query
    on one frame): a temporal or rule-based split, one frame cut in two."""
    roots = dict(facts.idioms.mask_roots)
    found = {roots.get(name) for name in (*trains, *tests)}
    return None not in found and len(found) == 1


def derived_columns(c: PyCell) -> None:
    """Columns encoded (``.replace("Yes", 1)``, ``df.loc[df.Sex == "male", "Sex"] = 0``), derived
    or rescaled -> featurization; values capped, filled or fixed in place, rows filtered ->
    data-prep (``CellFacts.idioms``)."""
    facts, ev = c.facts, c.ev
    idioms = facts.idioms
    if idioms.replace_codes:
        ev.add(F, 2.2, "encodes categories as numbers (replace)", SIGNAL)
        ev.scale(D, 0.5)
    if _column_derivations(facts, ev, c.dead & facts.defines):
        return
    if idioms.rescaled:
        ev.add(F, 2.2, f"rescales {idioms.rescaled[0]}", SIGNAL)
        ev.scale(D, 0.6)
    encoded = idioms.loc_encodes
    if encoded:
        ev.add(F, min(3.4, 2.4 + 0.25 * (len(encoded) - 1)), f"encodes categories of '{encoded[0]}' as numbers (loc)", SIGNAL)
        ev.scale(D, 0.6)
    elif idioms.loc_caps:
        ev.add(D, 2.4, "caps out-of-range values in place", SIGNAL)
    elif idioms.loc_fills:
        # df.loc[df["Age"].isnull() & (df.Pclass == 1), "Age"] = means[1]: filling missing values
        ev.add(D, 2.4, "fills missing values in place", SIGNAL)
        ev.scale(E, 0.5)
    elif idioms.loc_fixes:
        ev.add(D, 1.5, "fixes values in place", SIGNAL)
    elif any(frame in facts.reads for frame in idioms.row_filters):  # not an intermediate built here
        ev.add(D, 1.6, "filters rows", SIGNAL)


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


def split_row_masks(c: PyCell) -> None:
    """The row masks of a split made by hand are the split itself, not data-prep filters."""
    if c.splits:
        c.ev.scale(D, 0.3, signals=("structure", "calls"))


def changes_data(c: PyCell) -> None:
    """EDA looks without changing: a cell that rewrites data it read is not eda."""
    facts = c.facts
    changed = (facts.mutates | (facts.defines & facts.reads)) - {fn.name for fn in facts.functions}
    if changed and not facts.display_only:
        c.ev.scale(E, 0.5)


def drops_columns(c: PyCell) -> None:
    """Dropping columns right after loading cleans the raw table (data-prep); dropping them from
    a frame that was already explored or transformed chooses the model's inputs (featurization)."""
    if c.fits or c.predicts or c.splits or c.splits_call:
        return
    ctx, cell = c.ctx, c.cell
    if not c.facts.idioms.drops_columns:
        return
    frames = [call.receiver for call in c.own if call.name.rsplit(".", 1)[-1] == "drop" and call.receiver]
    if not frames:
        return
    i = cell.index
    code_before = _code_cells_before(ctx, cell, 2)
    for frame in frames:
        if frame in c.facts.idioms.copies:
            continue  # work = raw.copy(); work = work.drop(...): a fresh working copy being cleaned
        loaded = ctx.kind_of(frame, i - 1) == "file" and any(
            ctx.bound_here(frame, j) for j in code_before)
        if not loaded:
            c.ev.add(F, 1.4, f"drops columns from {frame}, a frame already explored (model inputs)", SIGNAL)
            return


def _code_cells_before(ctx: Context, cell: Cell, count: int) -> list[int]:
    """The last ``count`` non-empty code cells before ``cell``, in notebook order."""
    found: list[int] = []
    j = cell.index - 1
    while j >= 0 and len(found) < count:
        before = ctx.nb.cells[j]
        if before.kind == "code" and not before.is_empty:
            found.insert(0, before.index)
        j -= 1
    return found
