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
from bisect import bisect_left

from nbsplit.classify import lexicon as lex
from nbsplit.classify.context import Context, name_tokens
from nbsplit.classify.evidence import Evidence
from nbsplit.classify.idioms import SIGNAL, D, E, F, PyCell, T, calls_split
from nbsplit.model import Cell, CellFacts

_XY_ANY = re.compile(lex.XY_SPLIT_NAME_PATTERN)

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
_ROW_FILTER = re.compile(
    r"^[ \t]*(\w+)\s*=\s*(\w+)\s*\[\s*~?\(?\s*\2\s*[\[.]|^[ \t]*(\w+)\s*=\s*\3\.drop\(\s*\3\s*\[", re.M
)
# df.drop(columns=[...]) / df.drop("id", axis=1): removing columns, not rows
# (``.drop(`` followed by ``columns=``, or by ``axis=1``/``axis="columns"`` before its ``)``;
# checked occurrence by occurrence with cached positions, as ``[^)]*`` restarted at every
# ``.drop(`` of a long line is quadratic.)
_DROP_OPEN = re.compile(r"\.drop\(")
_DROP_COLUMNS_KW = re.compile(r"\s*+columns\s*+=")
_AXIS_COLUMNS = re.compile(r"\baxis\s*+=\s*+(?:1|['\"]columns['\"])")
_SLICE = re.compile(r"\[\s*[\w.()+\-*/ ]*:\s*[\w.()+\-*/ ]*\]|\.iloc\[|\.sample\(|\.drop\(\s*\w+\.index")


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
    elif not c.fits and not c.predicts and not splits and not calls_split(c.own):
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


def derived_columns(c: PyCell) -> None:
    """Columns encoded (``.replace("Yes", 1)``, ``df.loc[df.Sex == "male", "Sex"] = 0``), derived
    or rescaled -> featurization; values capped, filled or fixed in place, rows filtered ->
    data-prep."""
    source, facts, ev = c.cell.source, c.facts, c.ev
    if "=" not in source and ".replace(" not in source:
        return
    if _REPLACE_CODE.search(source):
        ev.add(F, 2.2, "encodes categories as numbers (replace)", SIGNAL)
        ev.scale(D, 0.5)
    if _column_derivations(facts, ev, c.dead & facts.defines):
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
            if (m.group(2) or m.group(3)) in facts.reads:  # not an intermediate built in this cell
                ev.add(D, 1.6, "filters rows", SIGNAL)
                break


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
    if c.fits or c.predicts or c.splits or calls_split(c.own):
        return
    ctx, cell = c.ctx, c.cell
    if not _drops_by_column(cell.source):
        return
    frames = [call.receiver for call in c.own if call.name.rsplit(".", 1)[-1] == "drop" and call.receiver]
    if not frames:
        return
    i = cell.index
    code_before = _code_cells_before(ctx, cell, 2)
    for frame in frames:
        if re.search(rf"^[ \t]*{re.escape(frame)}\s*=\s*\w+(?:\.copy\(\s*\))?\s*$", cell.source, re.M):
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

