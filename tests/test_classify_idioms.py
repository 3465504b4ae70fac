"""The statement shapes the classifier's idioms read (``CellFacts.idioms``, from
``nbsplit.analyze_idioms``) and the registry the idioms run from.

Each case is one cell's source and the facts it must (and, for the look-alikes, must not) give;
the look-alikes are the places where the regular expressions these facts replaced went wrong
(commented-out code, a keyword argument that looks like an assignment).
"""

from __future__ import annotations

import pytest

from nbsplit.analyze import analyze_source
from nbsplit.analyze_idioms import text_idiom_facts
from nbsplit.classify import SIGNALS, structure
from nbsplit.classify.learned import FEATURES
from nbsplit.classify.registry import Registry

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
