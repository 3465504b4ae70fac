"""Randomness the split carries (numpy/random global state) and the one it only warns about."""

from __future__ import annotations

import pytest

from nbsplit.model import Stage
from nbsplit.plan import RNG_STATE
from tests.test_plan import plan_of, stage


def test_torch_seeded_in_one_stage_and_drawn_in_another_is_warned() -> None:
    plan = plan_of(
        ("setup", "import torch"),
        ("data-prep", "torch.manual_seed(0)\nx = torch.rand(10)"),
        ("training", "w = torch.randn(3)\nprint(w)"),
    )
    [d] = [d for d in plan.diagnostics if "global generator" in d.message]
    assert d.cell == 2 and "cell 1 (data-prep)" in d.message and "torch.manual_seed" in d.message


def test_torch_seeded_in_setup_copied_to_every_stage_is_not_warned() -> None:
    plan = plan_of(
        ("setup", "import torch\ntorch.manual_seed(0)"),
        ("training", "w = torch.randn(3)"),
    )
    assert not [d for d in plan.diagnostics if "global generator" in d.message]


def test_unseeded_search_after_a_global_seed_loads_the_generator_state() -> None:
    plan = plan_of(
        ("setup", "import numpy as np\nfrom sklearn.model_selection import RandomizedSearchCV, train_test_split\nnp.random.seed(42)"),
        ("data-prep", "import pandas as pd\ndf = pd.read_csv('a.csv')\ndf['noise'] = np.random.normal(size=len(df))"),
        ("featurization", "X_train, X_test, y_train, y_test = train_test_split(df, df['y'])"),
        ("training", "search = RandomizedSearchCV(est, grid, n_iter=3)\nsearch.fit(X_train, y_train)"),
    )
    featurization, training = stage(plan, Stage.FEATURIZATION), stage(plan, Stage.TRAINING)
    assert featurization.loads[RNG_STATE] is Stage.DATA_PREP
    assert training.loads[RNG_STATE] is Stage.FEATURIZATION


def test_torch_seed_in_a_setup_cell_every_stage_runs_is_not_warned() -> None:
    plan = plan_of(
        ("setup", "import torch\ntorch.manual_seed(0)"),
        ("data-prep", "x = torch.rand(10)"),
        ("training", "w = torch.randn(3) + x"),
    )
    assert not [d for d in plan.diagnostics if "global generator" in d.message]


# ---------------------------------------------------------------------- which fits draw

_SETUP = ("setup", "import numpy as np\nimport scipy.stats as stats\n"
          "from sklearn.model_selection import train_test_split, cross_val_score, KFold, GridSearchCV\n"
          "from sklearn.linear_model import LinearRegression, LogisticRegression\n"
          "from sklearn.preprocessing import StandardScaler, OneHotEncoder\n"
          "from sklearn.compose import ColumnTransformer\n"
          "from sklearn.pipeline import Pipeline, make_pipeline\n"
          "from sklearn.feature_selection import SelectKBest, f_classif, mutual_info_classif\n"
          "from sklearn.ensemble import RandomForestClassifier\nSEED = 7")


@pytest.mark.parametrize("build, use, draws", [
    pytest.param("m = LinearRegression()", "m.fit(X, y)", False, id="deterministic-estimator"),
    pytest.param("m = StandardScaler()", "Z = m.fit_transform(X)", False, id="deterministic-transformer"),
    pytest.param("m = RandomForestClassifier(n_estimators=5, random_state=0)", "m.fit(X, y)", False, id="literal-seed"),
    pytest.param("m = RandomForestClassifier(random_state=SEED)", "m.fit(X, y)", False, id="seed-constant"),
    pytest.param("m = RandomForestClassifier(random_state=np.random.RandomState(1))", "m.fit(X, y)", False,
                 id="own-generator"),
    pytest.param("cols = ['a', 'b']\nm = Pipeline([('prep', ColumnTransformer([('num', StandardScaler(), cols)])),"
                 " ('clf', LogisticRegression(max_iter=200))])", "m.fit(X, y)", False, id="pipeline-of-exact-parts"),
    pytest.param("m = GridSearchCV(LogisticRegression(), {'C': [0.1, 1.0]}, cv=3)", "m.fit(X, y)", False,
                 id="grid-search-of-exact-estimator"),
    pytest.param("m = LinearRegression()", "s = cross_val_score(m, X, y, cv=5)", False, id="cv-of-exact-estimator"),
    pytest.param("m = SelectKBest(f_classif, k=1)", "m.fit(X, y)", False, id="exact-score-function"),
    pytest.param("m = RandomForestClassifier()", "m.fit(X, y)", True, id="unseeded-forest"),
    pytest.param("m = make_pipeline(StandardScaler(), RandomForestClassifier())", "m.fit(X, y)", True,
                 id="pipeline-with-unseeded-part"),
    pytest.param("m = GridSearchCV(RandomForestClassifier(), {'max_depth': [2, 3]})", "m.fit(X, y)", True,
                 id="grid-search-of-unseeded-estimator"),
    pytest.param("m = LogisticRegression(solver='saga')", "m.fit(X, y)", True, id="randomised-solver"),
    pytest.param("m = RandomForestClassifier(random_state=None)", "m.fit(X, y)", True, id="explicit-none"),
    pytest.param("m = LinearRegression()", "s = cross_val_score(m, X, y, cv=KFold(5, shuffle=True))", True,
                 id="shuffled-folds"),
    pytest.param("m = SelectKBest(mutual_info_classif, k=1)", "m.fit(X, y)", True, id="random-score-function"),
    pytest.param("m = LinearRegression()\nm.set_params(fit_intercept=False)", "m.fit(X, y)", True,
                 id="settings-changed-later"),
    pytest.param("m = LinearRegression()\nm = RandomForestClassifier()", "m.fit(X, y)", True, id="rebound"),
    pytest.param("m = LinearRegression()", "def train(est):\n    return est.fit(X, y)\nfitted = train(m)", True,
                 id="fit-in-a-helper"),
    pytest.param("m = LinearRegression()", "noise = stats.norm.rvs(size=3)", True, id="scipy-rvs"),
    pytest.param("m = LinearRegression()", "Xa, Xb = train_test_split(X, shuffle=False)", False,
                 id="split-without-shuffle"),
])
def test_a_fit_draws_from_the_global_rng_unless_known_exact(build: str, use: str, draws: bool) -> None:
    """Over-approximation stays sound: only estimators known exact (no randomness, or their own
    seed) fit without a draw; everything else keeps training loading the generator's state."""
    plan = plan_of(
        _SETUP,
        ("data-prep", "np.random.seed(42)\nX = np.random.rand(30, 2)\ny = (X[:, 0] > 0.5).astype(int)"),
        ("featurization", build),
        ("training", use),
    )
    training = stage(plan, Stage.TRAINING)
    assert (RNG_STATE in training.loads) is draws


def _fit_data(name: str):  # type: ignore[no-untyped-def]
    import numpy as np

    rng = np.random.RandomState(0)
    X = rng.rand(40, 3)
    y = (X[:, 0] + 0.3 * rng.rand(40) > 0.6).astype(int)
    if name in ("CountVectorizer", "TfidfVectorizer", "HashingVectorizer"):
        return ["the cat sat", "a dog ran", "the dog sat down"] * 3, None
    if name in ("DictVectorizer", "FeatureHasher"):
        return [{"a": 1.0, "b": 2.0}, {"a": 3.0}] * 3, None
    if name in ("LabelEncoder", "LabelBinarizer"):
        return y, None
    if name == "MultiLabelBinarizer":
        return [["a"], ["a", "b"]] * 3, None
    if name in ("PoissonRegressor", "GammaRegressor", "TweedieRegressor"):
        return X, 1.0 + y
    if name == "IsotonicRegression":
        return X[:, 0], X[:, 1]
    if name in ("TimeSeriesSplit", "LeaveOneOut", "LeavePOut", "PredefinedSplit"):
        return X, y
    return X, y


_EXACT_CASES = [(n, {}) for n in sorted(__import__("nbsplit.randomness", fromlist=["_"])._DETERMINISTIC)
                if n not in ("TimeSeriesSplit", "LeaveOneOut", "LeavePOut", "PredefinedSplit")] + [
    ("LogisticRegression", {}),
    ("RandomForestClassifier", {"random_state": 0, "n_estimators": 3}),
    ("KMeans", {"random_state": 0, "n_init": 2}),
    ("SVC", {"random_state": 0}),
    ("LogisticRegression", {"solver": "saga", "random_state": 0, "max_iter": 50}),
]


@pytest.mark.parametrize("name, kwargs", _EXACT_CASES, ids=[f"{n}{'-seeded' if k else ''}" for n, k in _EXACT_CASES])
def test_estimators_the_plan_calls_exact_leave_the_global_rng_alone(name: str, kwargs: dict) -> None:
    """The facts behind ``GlobalDraws``: fitting them (scikit-learn, as installed) does not move
    numpy's global generator."""
    import warnings

    import numpy as np
    from sklearn.utils import all_estimators

    from nbsplit.randomness import _DETERMINISTIC, _EXACT_SETTINGS

    assert name in _DETERMINISTIC or name in _EXACT_SETTINGS or "random_state" in kwargs
    cls = dict(all_estimators())[name]
    X, y = _fit_data(name)
    np.random.seed(123)
    before = np.random.get_state()[1].copy(), np.random.get_state()[2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = cls(**kwargs)
        est.fit(X) if y is None else est.fit(X, y)
    after = np.random.get_state()
    assert (after[1] == before[0]).all() and after[2] == before[1], f"{name} drew from the global generator"


def test_the_exact_list_names_only_estimators_without_random_state() -> None:
    import inspect

    from sklearn.utils import all_estimators

    from nbsplit.randomness import _DETERMINISTIC

    classes = dict(all_estimators())
    import sklearn.model_selection as ms

    for name in _DETERMINISTIC:
        cls = classes.get(name) or getattr(ms, name)
        assert "random_state" not in inspect.signature(cls.__init__).parameters, name


def test_a_draw_after_a_later_stage_drew_keeps_its_stage_and_is_warned() -> None:
    """The random state is a soft constraint: a featurization cell that draws after a training
    cell drew stays in featurization (it does not follow the draw forward), loads the last state
    featurization can hold, and the plan says those numbers differ from the monolith's."""
    cells = (
        ("setup", "import numpy as np\nnp.random.seed(0)"),
        ("data-prep", "import pandas as pd\ndf = pd.read_csv('a.csv')\ndf['noise'] = np.random.normal(size=len(df))"),
        ("training", "idx = np.random.permutation(len(df))"),
        ("featurization", "df['jitter'] = df['x'] + np.random.normal(size=len(df))"),
        ("training", "sample = df.iloc[idx[:10]]\nnp.random.shuffle(idx)"),
    )
    plan = plan_of(*cells)
    assert [plan.stage_of(i) for i in range(1, 5)] == [
        Stage.DATA_PREP, Stage.TRAINING, Stage.FEATURIZATION, Stage.TRAINING]
    assert plan.moves == {}
    [d] = [d for d in plan.diagnostics if d.code == "NBS110"]
    assert d.cell == 3 and d.cells == (3, 2) and d.names == (RNG_STATE,)
    assert "cannot reproduce those numbers" in d.message and "cell 2 (training)" in d.message
    featurization, training = stage(plan, Stage.FEATURIZATION), stage(plan, Stage.TRAINING)
    assert featurization.loads[RNG_STATE] is Stage.DATA_PREP  # the state cell 1 left, not cell 2's
    # cell 2 draws from the state cell 1 left; cell 4 follows cell 3's draw, as in the monolith
    assert [(h.version, h.before_cell) for h in training.handoffs_in if h.name == RNG_STATE] == [(1, 2), (3, 4)]
    assert not plan.has_errors
    strict = plan_of(*cells, strict=True)  # not a violated read: strict warns the same way
    assert not strict.has_errors and [d.cell for d in strict.diagnostics if d.code == "NBS110"] == [3]


def test_the_one_walk_finds_the_calls_and_stores_of_the_plain_walks() -> None:
    """``randomness._walk`` (one walk, leaf fields skipped) against the two walks it replaced,
    written with ``ast.iter_child_nodes``, on every cell of the samples and a few odd forms."""
    import ast
    from pathlib import Path

    from nbsplit.randomness import _parse, _walk
    from nbsplit.read import read_notebook

    def calls_outside(tree: ast.AST) -> list[ast.AST]:
        out, stack = [], [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                stack.extend(node.decorator_list)
                continue
            if isinstance(node, ast.Call):
                out.append(node)
            stack.extend(ast.iter_child_nodes(node))
        return out

    def stores(tree: ast.AST) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                counts[node.id] = counts.get(node.id, 0) + 1
        return counts

    sources = ["@dec(f(1))\ndef g(x=h()):\n    y = rng.normal()\n    return y\nclass C(B(2)):\n    z = k()\n"
               "a, (b, *c) = f(g(h(1)), [i() for i in x])\nd = {**m(), 'k': n()} if p() else q(lambda: r())"]
    for path in sorted((Path(__file__).resolve().parent.parent / "sample_notebooks").iterdir()):
        if path.suffix in (".ipynb", ".py") and path.name != "execute_samples.py":
            sources += [c.source for c in read_notebook(path).cells if c.kind == "code"]
    walked = 0
    for source in sources:
        tree = _parse(source)
        if tree is None:
            continue
        calls, counts = _walk(tree)
        expected = calls_outside(tree)
        assert len(calls) == len(expected) and all(a is b for a, b in zip(calls, expected)), source
        assert counts == stores(tree), source
        walked += len(calls)
    assert walked > 300
