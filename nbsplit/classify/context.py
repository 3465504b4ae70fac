"""Notebook-wide facts the per-cell signals need: import aliases, what variables hold, helpers.

A cell rarely imports what it uses (imports sit in the first cell), and ``model.predict(X_test)``
only means something once we know that ``model`` is an estimator and ``X_test`` a held-out split.
``Context`` is built once per notebook, in one linear pass, so every signal can ask:

- ``resolve("pd.read_csv")`` -> ``("pandas.read_csv", True)`` (a module call), or
  ``("df.fillna", False)`` for a method on a local;
- ``kind_of("model", cell)`` -> ``"model"`` when an earlier (or the same) cell bound it from an
  estimator constructor (``model = RandomForestClassifier()``), or from its name alone;
- which cells define and call which top-level functions (for helper cells).

Example: after ``X_train, X_test, y_train, y_test = train_test_split(X, y)``,
``kind_of("X_test", i) == "split"``; after ``test = pd.read_csv("test.csv")``,
``kind_of("test", i) == "file"``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

from nbsplit.analyze_bindings import text_bindings
from nbsplit.classify import api_table as api
from nbsplit.classify import lexicon as lex
from nbsplit.classify.evidence import Hit
from nbsplit.model import Binding, CellFacts, Notebook, Stage

_TOKEN_SPLIT = re.compile(r"[_\d]+|(?<=[a-z])(?=[A-Z])")
_KNOWN_ROOTS = frozenset(k.split(".", 1)[0] for k in api.CALLS)


@lru_cache(maxsize=16384)
def name_tokens(name: str) -> frozenset[str]:
    """``rf_model2`` -> {"rf", "model", "rf_model2"}; ``testDF`` -> {"test", "df", "testdf"}."""
    parts = [p.lower() for p in _TOKEN_SPLIT.split(name) if p]
    return frozenset(parts) | {name.lower()}


_QUALIFIED = re.compile(r"[\w`]+(?:\.[\w`]+){1,3}")
_QUALIFIERS = re.compile(r"\b(?:[\w`]+\.){1,3}(?=[\w`])")
_PATH_SEP = re.compile(r"[\\/]")


def own_name(text: str) -> str:
    """What a path or a table is called itself: the last part of a path
    (``out/loan_prediction/clean.csv`` -> ``clean.csv``) or of a qualified table name
    (``churn_prediction.silver.customers`` -> ``customers``). The folders, catalogs and schemas
    above it name the project or the dataset (``loan-prediction``), not what this cell writes or
    reads. Text with spaces (a message, a query) is returned as it is."""
    t = text.strip()
    if not t or any(ch.isspace() for ch in t):
        return text
    if "/" in t or "\\" in t:
        return _PATH_SEP.split(t.rstrip("/\\"))[-1]
    if _QUALIFIED.fullmatch(t) and t.rsplit(".", 1)[-1].lower() not in lex.FILE_EXTENSIONS:
        return t.rsplit(".", 1)[-1]
    return text


_SQL_SCOPE = re.compile(lex.SQL_SETUP_PATTERN, re.I)


def own_names(strings: Sequence[str]) -> str:
    """A cell's string literals as what they name themselves, joined: each path or table cut to
    its own name (``own_name``), each query's qualified names too (``unqualified``), and a
    ``USE catalog``/``SET`` statement left out: it names where the project lives."""
    out = []
    for s in strings:
        if _SQL_SCOPE.match(s):
            continue
        out.append(unqualified(s) if " " in s.strip() else own_name(s))
    return " ".join(out)


def unqualified(sql: str) -> str:
    """``sql`` with every qualified name cut to its own name (``SELECT * FROM proj_pred.s.t`` ->
    ``SELECT * FROM t``): see ``own_name``."""
    return _QUALIFIERS.sub("", sql)


@dataclass
class Context:
    nb: Notebook
    facts: Sequence[CellFacts | None]
    aliases: dict[str, str] = field(default_factory=dict)
    # variable -> (cell indices, kinds), in source order, for "latest binding at or before cell i"
    _bind_cells: dict[str, list[int]] = field(default_factory=dict)
    _bind_kinds: dict[str, list[str]] = field(default_factory=dict)
    functions: dict[str, int] = field(default_factory=dict)  # function/class name -> defining cell
    function_hits: dict[str, list[Hit]] = field(default_factory=dict)
    readers: dict[str, list[int]] = field(default_factory=dict)  # name -> cells reading it
    writers: dict[str, list[int]] = field(default_factory=dict)  # name -> cells writing it
    _y_test_tokens: frozenset[str] | None = None
    # (name, cell) bindings that read a file named like new data ("test.csv", test_url)
    _new_files: set[tuple[str, int]] = field(default_factory=set)
    # resolve()'s answers by name: the aliases are final once ``build`` returns, and the signals
    # ask about the same few hundred call names ~15 times per cell (~150,000 calls at 10,000 cells)
    _resolved: dict[str, tuple[str, bool]] = field(default_factory=dict)

    @classmethod
    def build(cls, nb: Notebook, facts: Sequence[CellFacts | None]) -> "Context":
        ctx = cls(nb, facts, dict(api.DEFAULT_ALIASES))
        imported: dict[str, str] = {}
        local: set[str] = set()
        for f in facts:
            if f is not None:
                imported.update(f.imports)
                local |= f.defines
        # A conventional alias the notebook binds itself (``sc = StandardScaler()``) is a local.
        for name in local - imported.keys():
            ctx.aliases.pop(name, None)
        ctx.aliases.update(imported)
        for cell, f in zip(nb.cells, facts):
            if f is None or cell.kind != "code":
                continue
            for fn in f.functions:
                ctx.functions.setdefault(fn.name, cell.index)
            for name in f.reads:
                ctx.readers.setdefault(name, []).append(cell.index)
            for name in f.writes:
                ctx.writers.setdefault(name, []).append(cell.index)
            # a cell libcst cannot parse has its assignments read from its text
            ctx._bind(cell.index, f.idioms.bindings if f.parsed else text_bindings(cell.source))
        return ctx

    # --- names ------------------------------------------------------------------------------
    def resolve(self, name: str) -> tuple[str, bool]:
        """The dotted call name with aliases expanded, and whether it is a module call."""
        found = self._resolved.get(name)
        if found is None:
            found = self._resolved[name] = self._resolve(name)
        return found

    def _resolve(self, name: str) -> tuple[str, bool]:
        name = name.replace("()", "").replace("[]", "")
        head, _, rest = name.partition(".")
        qualified = self.aliases.get(head)
        if qualified is not None and qualified != head or head in _KNOWN_ROOTS:
            full = (qualified or head) + ("." + rest if rest else "")
            return full, True
        if qualified is not None:  # ``import mlflow`` binds mlflow to itself
            return name, True
        return name, False

    def kind_of(self, name: str, cell: int) -> str | None:
        """What ``name`` holds at ``cell``: model, transformer, evaluator, loaded, split, file,
        predictions, feature_store; from its latest binding, else None."""
        cells = self._bind_cells.get(name)
        if cells:
            pos = bisect_right(cells, cell)
            if pos:
                return self._bind_kinds[name][pos - 1]
        return None

    @property
    def scores_with_loaded_model(self) -> bool:
        """Whether the notebook loads a model to apply it (load_model, mlflow spark_udf)."""
        return any("loaded" in kinds for kinds in self._bind_kinds.values())

    def bound_here(self, name: str, cell: int) -> bool:
        """Whether ``cell`` itself binds ``name`` (with a kind we recognised)."""
        cells = self._bind_cells.get(name)
        if not cells:
            return False
        # the cells are in source order: a name bound in hundreds of cells is not scanned whole
        pos = bisect_right(cells, cell)
        return bool(pos) and cells[pos - 1] == cell

    def receiver_kind(self, name: str, cell: int) -> str | None:
        """Like ``kind_of`` but falls back to the variable's name (``clf``, ``scaler``)."""
        kind = self.kind_of(name, cell)
        if kind is not None:
            return kind
        tokens = name_tokens(name)
        if tokens & lex.FEATURE_STORE_TOKENS:
            return "feature_store"
        if tokens & lex.EVALUATOR_TOKENS:
            return "evaluator"
        if tokens & lex.TRANSFORMER_TOKENS:
            return "transformer"
        if tokens & lex.MODEL_TOKENS:
            return "model"
        return None

    def data_role(self, name: str, cell: int) -> str | None:
        """'test' (held-out split), 'new' (new/unlabeled data), 'train', or None (unknown)."""
        kind = self.kind_of(name, cell)
        tokens = name_tokens(name)
        if kind in ("newdata", "new_predictions"):
            return "new"
        if kind == "file":
            if tokens & (lex.TEST_SPLIT_TOKENS | lex.NEW_DATA_TOKENS):
                return "new"
            cells = self._bind_cells.get(name, [])
            pos = bisect_right(cells, cell)
            return "new" if pos and (name, cells[pos - 1]) in self._new_files else None
        if tokens & lex.NEW_DATA_TOKENS:
            return "new"
        if tokens & lex.TEST_SPLIT_TOKENS:
            if kind != "split" and name[:1] in "Xx" and not self._has_label_partner(tokens):
                return "new"  # X_test cut from Kaggle's test.csv rows: no y_test anywhere
            return "test"
        if tokens & lex.TRAIN_TOKENS:
            return "train"
        if kind == "split":
            return "test"
        return None

    def origins(self, name: str, cell: int, limit: int = 40) -> frozenset[str]:
        """Where the data in ``name`` (as read by ``cell``) comes from, following the cells that
        wrote it and what they read: "test"/"train" (a part of a split), "new" (new data: a
        test.csv read, rows to score), "new_predictions" (predictions on new data).

        Example: ``test = pd.read_csv("test.csv")``; ``te = clean(test)``; ``X_te = hstack((te_vec, te_len))``
        -> ``origins("X_te", i) == {"new"}``, so ``clf.predict(X_te)`` scores new data, not a split.
        """
        found: set[str] = set()
        seen: set[tuple[str, int]] = set()
        todo = [(name, cell)]
        while todo and len(seen) < limit:
            n, c = todo.pop()
            if (n, c) in seen:
                continue
            seen.add((n, c))
            kind = self.kind_of(n, c)
            if kind == "split":
                role = self.data_role(n, c)
                if role in ("test", "train"):
                    found.add(role)
                continue
            if kind == "test_predictions":
                found.add("test")
                continue
            if kind == "new_predictions":
                found |= {"new", "new_predictions"}
                continue
            if kind == "newdata" or kind == "file" and self.data_role(n, c) == "new":
                found.add("new")
                continue
            if kind == "file":
                continue  # the training data, read from storage
            cells = self.writers.get(n)
            if not cells:
                continue
            pos = bisect_right(cells, c - 1)
            if not pos:
                continue
            w = cells[pos - 1]
            f = self.facts[w] if w < len(self.facts) else None
            if f is None:
                continue
            for r in f.reads:
                if r in self.functions or r in self.aliases or r in ("spark", "dbutils", "display"):
                    continue
                todo.append((r, w))
        return frozenset(found)

    def _has_label_partner(self, tokens: frozenset[str]) -> bool:
        """Whether the notebook binds labels for a held-out set (``y_test`` for ``X_test``)."""
        if self._y_test_tokens is None:
            found: set[str] = set()
            labels = False
            for f in self.facts:
                if f is None:
                    continue
                for name in f.defines | f.reads:
                    name_toks = name_tokens(name)  # not ``tokens``: that is the name asked about
                    if name_toks & lex.PREDICTION_NAME_TOKENS:
                        continue  # yhat_test, y_pred_test are predictions, not labels
                    if name[:1] in "yY" or "label" in name.lower() or "target" in name.lower():
                        labels = True
                        found |= name_toks & lex.TEST_SPLIT_TOKENS
                        if name.lower() in ("ytest", "yval", "yvalid"):
                            found.add(name.lower()[1:])
            # With no labels in sight at all we cannot tell, and a held-out split is the usual case.
            self._y_test_tokens = frozenset(found) if labels else frozenset(lex.TEST_SPLIT_TOKENS)
        split_tokens = tokens & lex.TEST_SPLIT_TOKENS
        return bool(split_tokens & self._y_test_tokens) or any(
            t[1:] in self._y_test_tokens for t in split_tokens if t[:1] == "x")

    # --- bindings ----------------------------------------------------------------------------
    def _bind(self, index: int, bindings: Sequence[Binding]) -> None:
        for b in bindings:
            kind = self._value_kind(b, index)
            if kind is None:
                continue
            for target in b.targets:
                if kind == "pipeline":
                    kind = _pipeline_kind(target, b, self)
                cells = self._bind_cells.setdefault(target, [])
                kinds = self._bind_kinds.setdefault(target, [])
                if cells and cells[-1] == index:
                    kinds[-1] = kind  # the last binding in a cell wins
                else:
                    cells.append(index)
                    kinds.append(kind)
                if kind == "file" and _names_new_file(b):
                    self._new_files.add((target, index))

    def _value_kind(self, b: Binding, index: int) -> str | None:
        if b.best:
            return "model"
        if any(self.kind_of(n, index) == "loaded" for n in b.called):
            # preds = df.withColumn("prediction", model_udf(*cols)): rows scored by a loaded model
            return "new_predictions"
        callee = b.callee
        if not callee:
            return self._derived_kind(b, index)
        if any(callee.endswith(loader) for loader in lex.MODEL_LOADERS):
            return "loaded"
        resolved, is_module = self.resolve(callee)
        method = resolved.rsplit(".", 1)[-1]
        if method in ("train_test_split", "randomSplit", "split"):
            return "split"
        if method in ("predict", "predict_proba", "transform", "score_batch") and not is_module:
            receiver = callee.split(".", 1)[0]
            if self.receiver_kind(receiver, index) in ("model", "loaded", "feature_store"):
                role = self.data_role(b.first_arg, index) if b.first_arg else None
                return {"new": "new_predictions", "test": "test_predictions"}.get(role or "", "predictions")
        if is_module:
            stage = lookup_call(resolved)
            if stage is None:
                return None
            if b.transformed:
                # X_te = StandardScaler().fit(X_te).transform(X_te): still the same rows, not a transformer
                inner = self.kind_of(b.transformed, index)
                if inner == "newdata" or inner == "file" and self.data_role(b.transformed, index) == "new":
                    return "newdata"
                return inner if inner in ("split",) else None
            if resolved.endswith(("FeatureEngineeringClient", "FeatureStoreClient")):
                return "feature_store"
            if method.startswith("read_") or resolved.startswith(("spark.read", "spark.table", "spark.sql")):
                return "file"
            if method in ("Pipeline", "make_pipeline"):
                return "pipeline"  # model or preprocessing: decided by the variable's name below
            if stage[0] is Stage.MONITORING and method[:1].isupper():
                return "monitor"  # est = nannyml.CBPE(...), calc = UnivariateDriftCalculator(...)
            if stage[0] is Stage.TRAINING and method[:1].isupper() and not method.endswith("Client"):
                return "model"
            if stage[0] is Stage.FEATURIZATION and method[:1].isupper():
                return "transformer"
            if stage[0] is Stage.EVALUATION and method[:1].isupper() and "Evaluator" in method:
                return "evaluator"
            return None
        if method == "fit":  # lr_model = lr.fit(train_df)
            receiver = callee.split(".", 1)[0]
            kind = self.receiver_kind(receiver, index)
            return "model" if kind in ("model", None) else kind
        if method in ("table", "sql", "load", "csv", "parquet", "json") and callee.startswith("spark."):
            return "file"
        if "." not in callee:  # a local helper: new = clean(new_raw) keeps what its input was
            arg = b.first_arg
            if arg:
                inner = self.kind_of(arg, index)
                if inner in ("newdata", "file") and self.data_role(arg, index) == "new":
                    return "newdata"
            if b.reads_file:
                return "file"
            return None
        return self._derived_kind(b, index)

    def _derived_kind(self, b: Binding, index: int) -> str | None:
        """``X_test = test_df[features]`` after ``test_df = pd.read_csv("test.csv")``: new data."""
        root = b.root
        if not root:
            return None
        kind = self.kind_of(root, index)
        if kind == "newdata" or kind == "file" and name_tokens(root) & (lex.TEST_SPLIT_TOKENS | lex.NEW_DATA_TOKENS):
            return "newdata"
        return None


def _names_new_file(b: Binding) -> bool:
    """``read_csv("../input/test.csv")`` / ``read_csv(test_url)``: the rows to predict, not training data."""
    words: set[str] = set()
    for path in b.strings:
        stem = path.replace("\\", "/").rsplit("/", 1)[-1].split(".", 1)[0].replace("-", "_")
        words |= name_tokens(stem)
    if b.first_arg:
        words |= name_tokens(b.first_arg)
    return bool(words & (lex.TEST_SPLIT_TOKENS | lex.NEW_DATA_TOKENS)) and not words & lex.TRAIN_TOKENS


def _pipeline_kind(target: str, b: Binding, ctx: "Context") -> str:
    """A Pipeline is a model when named like one or when it ends in an estimator."""
    tokens = name_tokens(target)
    if tokens & lex.TRANSFORMER_TOKENS and not tokens & lex.MODEL_TOKENS:
        return "transformer"
    if tokens & lex.MODEL_TOKENS:
        return "model"
    for callee in b.callees:
        hit = lookup_call(ctx.resolve(callee)[0])
        if hit is not None and hit[0] is Stage.TRAINING and callee.rsplit(".", 1)[-1][:1].isupper():
            return "model"
    return "transformer"


def lookup_call(resolved: str) -> tuple[Stage, float] | None:
    """Longest key of ``api.CALLS`` that is ``resolved`` or a dotted prefix of it."""
    name = resolved
    while True:
        hit = api.CALLS.get(name)
        if hit is not None:
            return hit
        cut = name.rfind(".")
        if cut < 0:
            return None
        name = name[:cut]
