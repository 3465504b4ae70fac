"""The statement shapes the classifier's idioms read (``CellFacts.idioms``, from
``nbsplit.analyze_idioms``) and the registry the idioms run from.

Each case is one cell's source and the facts it must (and, for the look-alikes, must not) give;
the look-alikes are the places where the regular expressions these facts replaced went wrong
(commented-out code, a keyword argument that looks like an assignment).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nbsplit.analyze import analyze_source
from nbsplit.analyze_idioms import text_idiom_facts
from nbsplit.classify import SIGNALS, structure
from nbsplit.classify.context import Context
from nbsplit.classify.learned import FEATURES
from nbsplit.classify.registry import Registry
from nbsplit.model import Cell, Notebook

CASES: list[tuple[str, str, dict[str, object]]] = [
    ("literal-predict", "clf.predict([[60, 11250, 10, 5]])", {"predicts_literal": True}),
    ("literal-predict-np", "m.predict_proba(np.array([[-1.5, 2]]))", {"predicts_literal": True}),
    ("predict-on-names", "m.predict([x, y])", {"predicts_literal": False}),
    ("replace-code", 'df["a"] = df["a"].replace("Yes", 1)', {"replace_codes": True}),
    ("replace-kw", 'df.a.replace(to_replace="S", value="1")', {"replace_codes": True}),
    ("replace-text", 's = s.replace("a", "b")', {"replace_codes": False}),
    ("drop-columns", 'df = df.drop(columns=["id"])', {"drops_columns": True}),
    ("drop-axis", 'df.drop("id", axis=1, inplace=True)', {"drops_columns": True}),
    ("drop-rows", "df = df.drop(bad.index)", {"drops_columns": False, "slices": True}),
    ("drop-commented", "# df = df.drop(columns=['a'])\nx = 1", {"drops_columns": False}),
    ("rescale", "x_train = x_train / 255", {"rescaled": ("x_train",)}),
    ("standardise", "x = (x - x.mean()) / x.std()", {"rescaled": ("x",)}),
    ("derive-not-rescale", 'df = df.withColumn("d", (col("b") - col("a")) / 86400)', {"rescaled": ()}),
    ("loc-encode", 'df.loc[df["Sex"] == "male", "Sex"] = 0\ndf.loc[df.Sex == "female", "Sex"] = 1',
     {"loc_encodes": ("Sex", "Sex"), "loc_fixes": True}),
    ("loc-cap", 'df.loc[df.grad_rate > 100, "grad_rate"] = 100', {"loc_caps": True, "loc_encodes": ()}),
    ("loc-fill", 'df.loc[\n    df["Age"].isnull() & (df.Pclass == 1),\n    "Age"] = means[1]',
     {"loc_fills": True, "loc_fixes": True}),
    ("loc-read", 'x = df.loc[df.a.isna()]', {"loc_fills": False, "loc_fixes": False}),
    ("row-filter", "df = df[df.age > 0]", {"row_filters": ("df",)}),
    ("row-filter-chained", 'out = df[(df[c] < lo) | (df[c] > hi)][c]', {"row_filters": ("df",)}),
    ("row-filter-drop", "df = df.drop(df[df.x < 0].index)", {"row_filters": ("df",)}),
    ("slice", "X_train, X_test = X[:800], X[800:]", {"slices": True}),
    ("slice-commented", "# X[:5]\nX.head()", {"slices": False}),
    ("mask-split", 'train = df[df.date < cut]\ntest = df.query("date >= @cut")',
     {"mask_roots": (("train", "df"), ("test", "df"))}),
    ("copy", "work = raw.copy()  # keep the raw table", {"copies": frozenset({"work"})}),
    ("widget", 'CATALOG = dbutils.widgets.get("catalog")\nLOG = dbutils.widgets.get("log") == "yes"',
     {"widget_names": frozenset({"CATALOG", "LOG"})}),
    ("loop-literal", "for d in [train, test]:\n    d.fillna(0, inplace=True)",
     {"literal_loop_targets": frozenset({"d"})}),
    ("ends-showing", "s = df.groupby('a').b.mean()\ns.head()", {"ends_showing": "s"}),
    ("ends-showing-tuple", "a, b = f()\na, b", {"ends_showing": "a"}),
    ("ends-with-keyword", "s = df.b\ns.plot(kind='bar')", {"ends_showing": ""}),
    ("ends-on-two-lines", "s = df.b\ns.agg(\n    ['mean'])", {"ends_showing": ""}),
]


@pytest.mark.parametrize(("source", "expected"), [pytest.param(s, e, id=i) for i, s, e in CASES])
def test_idiom_facts(source: str, expected: dict[str, object]) -> None:
    facts = analyze_source(source)
    assert facts.parsed
    got = {key: getattr(facts.idioms, key) for key in expected}
    assert got == expected


def test_an_unparsed_cell_gets_its_idiom_facts_from_its_text() -> None:
    # no tree: the analysis leaves them empty, the classifier reads them from the text
    source = "df = df.drop(columns=['a'])\nx = ("
    facts = analyze_source(source)
    assert not facts.parsed and not facts.idioms.drops_columns
    assert text_idiom_facts(source).drops_columns
    assert not text_idiom_facts("x = (").drops_columns


def test_registries_run_in_order_and_refuse_duplicates() -> None:
    assert SIGNALS.names() == ["calls", "structure", "headings"]
    names = structure.IDIOMS.names()
    # a fit weakens the metrics beside it, so fits come before the idioms that read c.fits
    assert names.index("fits") < names.index("applies_model") < names.index("model_outputs")
    assert FEATURES.names()[0] == "bias"
    reg: Registry = Registry("x")
    reg.register(test_idiom_facts)
    with pytest.raises(ValueError):
        reg.register(test_idiom_facts)


# --- what each assignment binds (``IdiomFacts.bindings``, read by ``classify.context``) --------
BINDING_CASES: list[tuple[str, str, list[dict[str, object]]]] = [
    ("split-over-lines", "X_tr, X_te, y_tr, y_te = train_test_split(\n    X, y, test_size=0.2)",
     [{"targets": ("X_tr", "X_te", "y_tr", "y_te"), "callee": "train_test_split", "first_arg": "X"}]),
    ("predict-space-before-dot", "p = rf .predict(X_test.values)",
     [{"targets": ("p",), "callee": "rf.predict", "first_arg": "X_test", "root": "rf"}]),
    ("chained-assignment", "a = b = pd.read_csv('../input/test.csv')",
     [{"targets": ("a", "b"), "callee": "pd.read_csv", "reads_file": True, "strings": ("../input/test.csv",)}]),
    ("udf-on-a-later-line", 'new = new.withColumn(\n  "prediction",\n  model_udf(cols)\n)',
     [{"callee": "new.withColumn", "root": "new", "called": ("model_udf",)}]),
    ("chained-transform", "X_te = StandardScaler().fit(X_te).transform(X_te)",
     [{"callee": "StandardScaler", "first_arg": "", "transformed": "X_te"}]),
    ("best", "m = (gs.best_estimator_)", [{"callee": "", "root": "", "best": True}]),
    ("spark-read", 'df = spark.read.format("delta").load(p)',
     [{"callee": "spark.read.format", "reads_file": True, "strings": ("delta",)}]),
    ("function-body", "def f():\n    model = RandomForestClassifier()\n    return model",
     [{"targets": ("model",), "callee": "RandomForestClassifier"}]),
    ("pipeline-callees", "pipe = Pipeline([\n    ('s', StandardScaler()),\n    ('m', LogisticRegression())])",
     [{"callee": "Pipeline", "callees": ("Pipeline", "StandardScaler", "LogisticRegression")}]),
    # look-alikes the line pattern took for assignments: none binds a name
    ("keyword-argument", "gs = GridSearchCV(\n    estimator=RandomForestClassifier(),\n    cv=5)",
     [{"targets": ("gs",), "callee": "GridSearchCV", "first_arg": "estimator"}]),
    ("default-argument", "def fit(df, model=RandomForestClassifier()):\n    return df", []),
    ("column-assignment", "X_new[cols] = scaler.transform(X_new[cols])", []),
    ("comment-and-string", "# model = RandomForestClassifier()\ns = '''\nm = LogisticRegression()\n'''",
     [{"targets": ("s",), "callee": "", "strings": ("\nm = LogisticRegression()\n",)}]),
]


@pytest.mark.parametrize(("source", "expected"), [pytest.param(s, e, id=i) for i, s, e in BINDING_CASES])
def test_binding_facts(source: str, expected: list[dict[str, object]]) -> None:
    facts = analyze_source(source)
    assert facts.parsed
    got = [{key: getattr(b, key) for key in want} for b, want in zip(facts.idioms.bindings, expected)]
    assert len(facts.idioms.bindings) == len(expected) and got == expected


def test_an_unparsed_cell_gets_its_bindings_from_its_lines() -> None:
    source = "X_test = test_df[features]\npreds = model.predict(X_test)  # score\nx = ("
    assert analyze_source(source).idioms.bindings == ()
    found = text_idiom_facts(source).bindings
    assert [(b.targets, b.callee, b.first_arg, b.root) for b in found] == [
        (("X_test",), "", "", "test_df"), (("preds",), "model.predict", "X_test", "model"), (("x",), "", "", "")]


def test_context_reads_what_names_hold_from_the_bindings() -> None:
    sources = [
        "import pandas as pd\nfrom sklearn.model_selection import train_test_split\n"
        "from sklearn.ensemble import RandomForestClassifier",
        "train = pd.read_csv('train.csv')\ntest = valid = pd.read_csv('../input/test.csv')",
        "X_tr, X_te, y_tr, y_te = train_test_split(\n    train.drop(columns='y'), train.y)",
        "rf = RandomForestClassifier(\n    n_estimators=10)\nrf.fit(X_tr, y_tr)",
        "p_te = rf .predict(X_te)\np_new = rf.predict(\n    test)\nX_te[cols] = rf.predict(test)",
        "x = (",  # does not parse: read from its lines
        "sub = test[feats]\nm = pd.read_csv('train.csv'); n = m.a",
    ]
    cells = tuple(Cell(i, "code", s) for i, s in enumerate(sources))
    nb = Notebook(Path("nb.ipynb"), "ipynb", cells)
    ctx = Context.build(nb, [analyze_source(s, i) for i, s in enumerate(sources)])
    assert ctx.kind_of("train", 1) == "file" and ctx.data_role("train", 1) is None
    assert ctx.kind_of("valid", 1) == "file" and ctx.data_role("valid", 1) == "new"
    assert [ctx.kind_of(n, 2) for n in ("X_tr", "X_te", "y_te")] == ["split"] * 3
    assert ctx.kind_of("rf", 3) == "model"
    assert ctx.kind_of("p_te", 4) == "test_predictions" and ctx.kind_of("p_new", 4) == "new_predictions"
    assert ctx.kind_of("X_te", 4) == "split" and ctx.kind_of("cols", 4) is None  # a column update binds nothing
    assert ctx.kind_of("sub", 6) == "newdata" and ctx.bound_here("m", 6)
