"""Unit tests of the split plan: one rule each, on small notebooks analysed for real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbsplit.analyze import analyze_notebook
from nbsplit.model import Cell, Classification, Handoff, Notebook, SplitPlan, Stage, StagePlan
from nbsplit.plan import RNG_STATE, Placement, build_plan, placements, plan_to_json
from nbsplit.reserved import VIEW_PREFIX

S = Stage


def notebook(*cells: tuple[str, str], tags: dict[int, str] | None = None) -> tuple:
    """Cells as (stage slug, source); a source starting with 'md:' is a markdown cell."""
    out = []
    for i, (_, src) in enumerate(cells):
        if src.startswith("md:"):
            out.append(Cell(index=i, kind="markdown", source=src[3:]))
        else:
            out.append(Cell(index=i, kind="code", source=src))
    nb = Notebook(path=Path("demo.ipynb"), format="ipynb", cells=tuple(out))
    classes = tuple(
        Classification(index=i, stage=Stage(slug), confidence=0.9,
                       origin="tag" if tags and i in tags else "heuristic",
                       reasons=("test",))
        for i, (slug, _) in enumerate(cells))
    return nb, analyze_notebook(nb), classes


def plan_of(*cells: tuple[str, str], strict: bool = False) -> SplitPlan:
    nb, facts, classes = notebook(*cells)
    return build_plan(nb, facts, classes, strict=strict)


def stage(plan: SplitPlan, s: Stage) -> StagePlan:
    for sp in plan.stages:
        if sp.stage is s:
            return sp
    raise AssertionError(f"no stage {s} in {[sp.stage.value for sp in plan.stages]}")


STUBS = ("`load`", "`fit`", "`encode`")  # functions the small examples call without defining


def messages(plan: SplitPlan, severity: str | None = None) -> list[str]:
    return [d.message for d in plan.diagnostics if severity in (None, d.severity)
            and not ("never defined" in d.message and any(s in d.message for s in STUBS))]


PIPELINE = (
    ("setup", "import pandas as pd\nimport numpy as np\nfrom sklearn.linear_model import LogisticRegression"),
    ("setup", "from sklearn.metrics import accuracy_score"),
    ("data-prep", 'df = pd.read_csv("train.csv")\ndf = df.dropna()'),
    ("eda", "df.describe()"),
    ("featurization", 'X = df[["a", "b"]].to_numpy()\ny = df["target"]'),
    ("training", "model = LogisticRegression()\nmodel.fit(X, y)"),
    ("evaluation", "print(accuracy_score(y, model.predict(X)))"),
)


def test_straight_pipeline_loads_saves_dag_and_imports_where_used() -> None:
    plan = plan_of(*PIPELINE)
    assert [sp.stage for sp in plan.stages] == [
        S.DATA_PREP, S.EDA, S.FEATURIZATION, S.TRAINING, S.EVALUATION]
    prep, eda, feat, train, ev = plan.stages
    assert prep.cells == (2,) and prep.loads == {} and prep.saves == ("df",)
    assert prep.imports == ("import pandas as pd",)
    assert eda.loads == {"df": S.DATA_PREP} and eda.imports == () and eda.saves == ()
    assert eda.depends_on == (S.DATA_PREP,)
    assert feat.loads == {"df": S.DATA_PREP} and feat.saves == ("X", "y")
    assert train.imports == ("from sklearn.linear_model import LogisticRegression",)
    assert train.loads == {"X": S.FEATURIZATION, "y": S.FEATURIZATION}
    assert train.saves == ("model",)
    # model was fit (mutated) in cell 5: evaluation loads that version
    assert ev.handoffs_in == (
        Handoff("X", 4, S.FEATURIZATION, S.EVALUATION, 6),
        Handoff("model", 5, S.TRAINING, S.EVALUATION, 6),
        Handoff("y", 4, S.FEATURIZATION, S.EVALUATION, 6),
    )
    assert ev.imports == ("from sklearn.metrics import accuracy_score",)
    assert ev.depends_on == (S.FEATURIZATION, S.TRAINING)
    # import-only setup cells are not copied into any stage
    assert all(0 not in sp.cells and 1 not in sp.cells for sp in plan.stages)
    assert plan.diagnostics == ()


def test_interleaved_eda_loads_each_intermediate_version() -> None:
    plan = plan_of(
        ("setup", "import pandas as pd"),
        ("data-prep", 'df = pd.read_csv("x.csv")'),
        ("eda", "df.shape"),
        ("data-prep", "df = df.dropna()"),
        ("eda", "df.describe()"),
    )
    prep, eda = plan.stages
    assert eda.handoffs_in == (
        Handoff("df", 1, S.DATA_PREP, S.EDA, 2), Handoff("df", 3, S.DATA_PREP, S.EDA, 4))
    assert eda.loads == {"df": S.DATA_PREP}
    assert [h.key for h in prep.handoffs_out] == ["df__c1", "df__c3"]
    assert prep.saves == ("df",)
    assert prep.cells == (1, 3) and eda.cells == (2, 4)


@pytest.mark.parametrize("change", [
    'df["ratio"] = df.a / df.b',
    'df["ratio"] = df.a / df.b\ndf.dropna(inplace=True)',
    "add_ratio(df)",  # a helper whose body changes its argument
    "for d in [df]:\n    d.dropna(inplace=True)",  # a loop variable over the frame
], ids=["column", "two-changes", "helper", "loop"])
def test_a_change_in_place_is_a_new_version(change: str) -> None:
    plan = plan_of(
        ("setup", "def add_ratio(frame):\n    frame['ratio'] = frame.a / frame.b"),
        ("data-prep", 'import pandas as pd\ndf = pd.read_csv("x.csv")'),
        ("featurization", change),
        ("evaluation", "print(len(df))"),
    )
    feat, ev = stage(plan, S.FEATURIZATION), stage(plan, S.EVALUATION)
    assert feat.handoffs_in == (Handoff("df", 1, S.DATA_PREP, S.FEATURIZATION, 2),)
    assert ev.handoffs_in == (Handoff("df", 2, S.FEATURIZATION, S.EVALUATION, 3),)
    assert ev.depends_on == (S.FEATURIZATION,)
    assert feat.saves == ("df",) and feat.handoffs_out[0].version == 2


def test_helper_copied_with_its_free_names_loaded() -> None:
    plan = plan_of(
        ("setup", "import pandas as pd"),
        ("data-prep", "THRESH = 3\n\n# keep rows above the threshold\n@staticmethod\ndef clean(d):\n    return d[d.v > THRESH].pipe(norm)"),
        ("data-prep", "def norm(d):\n    return d / SCALE\nSCALE = 2.0"),
        ("data-prep", 'raw = pd.read_csv("x.csv")'),
        ("training", "fit_on = clean(raw)"),
    )
    train = stage(plan, S.TRAINING)
    assert train.helpers == (
        "@staticmethod\ndef clean(d):\n    return d[d.v > THRESH].pipe(norm)",
        "def norm(d):\n    return d / SCALE",
    )
    assert train.loads == {"THRESH": S.DATA_PREP, "SCALE": S.DATA_PREP, "raw": S.DATA_PREP}
    assert {h.name for h in train.handoffs_in} == {"THRESH", "SCALE", "raw"}
    assert train.imports == ()
    assert placements(plan)[1] == (Placement(S.DATA_PREP, "cell"), Placement(S.TRAINING, "helper"))


def test_backward_dependency_moves_the_cell_to_the_producer() -> None:
    cells = (
        ("setup", "import matplotlib.pyplot as plt\nfrom sklearn.ensemble import RandomForestClassifier"),
        ("data-prep", "X, y = load()"),
        ("training", "model = RandomForestClassifier().fit(X, y)"),
        ("featurization", "keep = model.feature_importances_ > 0.1"),
        ("eda", "plt.hist(X[:, 0])"),
    )
    plan = plan_of(*cells)
    assert plan.stage_of(3) is S.TRAINING
    assert plan.classifications[3].reasons[-1] == (
        "moved to training: reads `model`, which training defines in cell 2")
    assert plan.stage_of(4) is S.EDA
    (warning,) = [d for d in plan.diagnostics if d.cell == 3]
    assert warning.severity == "warning"
    assert "cell 3 (featurization) reads `model` from cell 2 (training), a later stage: moved to " \
        "training" in warning.message
    assert stage(plan, S.TRAINING).cells == (2, 3)
    assert stage(plan, S.EDA).depends_on == (S.DATA_PREP,)

    strict = plan_of(*cells, strict=True)
    assert strict.stage_of(3) is S.FEATURIZATION
    (err,) = [d for d in strict.diagnostics if d.cell == 3]
    assert err.severity == "error" and strict.has_errors
    assert "tag it nbsplit:training" in err.message


def test_eda_looks_at_any_stage_and_runs_beside_the_main_line() -> None:
    plan = plan_of(
        ("setup", "import matplotlib.pyplot as plt"),
        ("data-prep", "df = load()"),
        ("featurization", "X = encode(df)"),
        ("eda", "print(X.head())"),
        ("training", "model = fit(X)"),
        ("eda", "plt.bar(range(3), model.feature_importances_)"),
        ("featurization", "X = X * 2"),
        ("training", "model2 = fit(X)"),
    )
    assert [plan.stage_of(i) for i in range(1, 8)] == [
        S.DATA_PREP, S.FEATURIZATION, S.EDA, S.TRAINING, S.EDA, S.FEATURIZATION, S.TRAINING]
    eda = stage(plan, S.EDA)
    assert eda.depends_on == (S.FEATURIZATION, S.TRAINING)
    # the snapshot of X the eda cell saw: the version of cell 2, not cell 6's
    (x,) = [h for h in eda.handoffs_in if h.name == "X"]
    assert x.version == 2
    assert all(S.EDA not in sp.depends_on for sp in plan.stages)
    assert not [d for d in plan.diagnostics if "moved" in d.message]


def test_eda_that_feeds_the_main_line_moves_to_its_use() -> None:
    plan = plan_of(
        ("data-prep", "df = load()"),
        ("eda", "corr = df.corr()"),
        ("eda", "top = corr.index[:5]"),
        ("eda", "print(df.shape)"),
        ("featurization", "X = df[top]"),
    )
    assert [plan.stage_of(i) for i in range(5)] == [
        S.DATA_PREP, S.FEATURIZATION, S.FEATURIZATION, S.EDA, S.FEATURIZATION]
    assert "eda feeds no stage" in " ".join(d.message for d in plan.diagnostics if d.cell == 2)
    assert plan.classifications[1].origin == "dataflow"


def test_the_cheaper_side_of_a_backward_read_moves() -> None:
    plan = plan_of(
        ("data-prep", "df = load()"),
        ("training", "model = fit(df)"),
        ("eda", "imp = model.feature_importances_"),
        ("eda", "top = imp[:5]"),
        ("eda", "print(df.shape)"),
        ("featurization", "Z = top * 2"),
    )
    # featurization reads what eda computed from the model: the eda cells join featurization,
    # which reads the model training makes; moving the one model cell back is cheaper than moving
    # the three cells after it on
    assert [plan.stage_of(i) for i in range(6)] == [
        S.DATA_PREP, S.FEATURIZATION, S.FEATURIZATION, S.FEATURIZATION, S.EDA, S.FEATURIZATION]
    assert [sp.stage for sp in plan.stages] == [S.DATA_PREP, S.EDA, S.FEATURIZATION]
    assert plan.moves == {1: "back", 2: "eda", 3: "eda"}


def test_rng_state_is_a_handoff() -> None:
    plan = plan_of(
        ("setup", "import numpy as np\nimport random\nnp.random.seed(42)"),
        ("data-prep", "noise = np.random.normal(size=10)"),
        ("eda", "print(noise.mean())"),
        ("training", "idx = np.random.permutation(10)\nrng = np.random.default_rng(0)"),
        ("evaluation", "pick = random.choice([1, 2])"),
    )
    prep, eda, train, ev = plan.stages
    # the seeding cell is a side effect: every stage runs it
    assert all(0 in sp.cells for sp in plan.stages)
    assert prep.handoffs_in == ()  # the seed copied into data-prep is local
    assert train.handoffs_in == (Handoff(RNG_STATE, 1, S.DATA_PREP, S.TRAINING, 3),)
    assert RNG_STATE not in eda.loads
    assert ev.handoffs_in == (Handoff(RNG_STATE, 3, S.TRAINING, S.EVALUATION, 4),)
    assert prep.saves == (RNG_STATE, "noise")  # by version, then name


def test_setup_copied_only_where_needed_side_effects_everywhere() -> None:
    plan = plan_of(
        ("setup", "md:# Churn model"),
        ("setup", "%matplotlib inline\nimport pandas as pd"),
        ("setup", "import warnings\nwarnings.filterwarnings('ignore')"),
        ("setup", "SEED = 42\nTEST_SIZE = 0.2"),
        ("setup", "def describe(d):\n    return d.describe()"),
        ("data-prep", 'df = pd.read_csv("x.csv")'),
        ("eda", "describe(df)"),
        ("training", "model = fit(df, seed=SEED)"),
        ("setup", "print('done')"),
    )
    prep, eda, train = plan.stages
    assert prep.cells == (0, 1, 2, 5, 8)  # title + display-only setup in the first stage only
    assert eda.cells == (1, 2, 4, 6)
    assert train.cells == (1, 2, 3, 7)
    assert all(sp.imports == () for sp in plan.stages)  # %matplotlib cell is copied: local
    where = placements(plan)
    assert where[3] == (Placement(S.TRAINING, "copy"),)
    assert where[1] == tuple(Placement(s, "copy") for s in (S.DATA_PREP, S.EDA, S.TRAINING))
    assert where[0] == (Placement(S.DATA_PREP, "cell"),)


def test_import_only_setup_delivers_statements_not_cells() -> None:
    plan = plan_of(
        ("setup", "import pandas as pd, numpy as np\nfrom sklearn.model_selection import (\n    train_test_split,\n)\nimport os"),
        ("data-prep", 'df = pd.read_csv("x.csv")'),
        ("training", "a, b = train_test_split(df)\nm = np.mean(a)"),
    )
    prep, train = plan.stages
    assert prep.imports == ("import pandas as pd, numpy as np",)
    assert train.imports == (
        "import pandas as pd, numpy as np",
        "from sklearn.model_selection import (\n    train_test_split,\n)")
    assert placements(plan)[0] == (
        Placement(S.DATA_PREP, "imports"), Placement(S.TRAINING, "imports"))


def test_parallel_branches_do_not_depend_on_each_other() -> None:
    plan = plan_of(
        ("data-prep", "df = load()"),
        ("eda", "df.hist()"),
        ("featurization", "X = encode(df)"),
        ("eda", "df.corr()"),
        ("training", "m = fit(X)"),
    )
    assert stage(plan, S.EDA).depends_on == (S.DATA_PREP,)
    assert stage(plan, S.FEATURIZATION).depends_on == (S.DATA_PREP,)
    assert stage(plan, S.TRAINING).depends_on == (S.FEATURIZATION,)
    assert stage(plan, S.DATA_PREP).handoffs_out == (Handoff("df", 0, S.DATA_PREP, S.EDA, 1),)


def test_setup_reading_pipeline_data_moves_to_that_stage() -> None:
    plan = plan_of(
        ("data-prep", "df = load()"),
        ("setup", "N_FEATURES = len(df.columns)"),
        ("training", "m = fit(N_FEATURES)"),
    )
    assert plan.stage_of(1) is S.DATA_PREP
    assert stage(plan, S.TRAINING).loads == {"N_FEATURES": S.DATA_PREP}
    assert "setup cell 1 reads `df`, computed by cell 0 (data-prep)" in messages(plan)[0]


def test_use_before_define_never_defined_and_runtime_names() -> None:
    plan = plan_of(
        ("data-prep", "df = spark.table('x')\ndisplay(df)\ndbutils.fs.ls('/')\nprint(sc, sqlContext)"),
        ("eda", "print(later)"),
        ("eda", "print(ghost)"),
        ("data-prep", "later = 1"),
    )
    assert messages(plan) == [
        "cell 1 reads `later` before any cell defines it (cell 3 defines it later): the "
        "notebook only works when cells run out of order",
        "cell 2 reads `ghost`, which is never defined in the notebook",
    ]
    assert [d.cell for d in plan.diagnostics] == [1, 2]
    assert stage(plan, S.EDA).loads == {"df": S.DATA_PREP} or stage(plan, S.EDA).loads == {}


def test_a_name_a_loop_binds_and_the_same_cell_reads_after_it_is_not_undefined() -> None:
    """``for tr, te in split.split(X, y): y_train = ...`` then ``y_train.value_counts()``: the
    loop may run zero times, so the cell also reads an earlier ``y_train``; with none, the loop's
    own binding is what it reads (a stranger's notebook got two false "never defined" warnings).
    A name read before the cell's own binding is still undefined."""
    plan = plan_of(
        ("data-prep", "from cv import folds, step\nX, y, done = load()"),
        ("training", "for tr, te in folds(X, y):\n    y_train, y_test = y[tr], y[te]\nprint(y_train.mean())"),
        ("training", "while not done:\n    loss, done = step()\nprint(loss)"),
        ("training", "total = total + 1\nfor i in range(3):\n    acc = acc + i\nprint(acc)"),
    )
    assert messages(plan) == [
        "cell 3 reads `acc`, which is never defined in the notebook",
        "cell 3 reads `total`, which is never defined in the notebook",
    ]


def test_a_cell_of_prose_warns_that_it_does_not_parse_not_that_its_words_are_undefined() -> None:
    """A markdown note typed into a code cell ("Unindo com o dataset") is read at the text level;
    its words are no names anybody defined, and the parse warning already says what is wrong."""
    plan = plan_of(("data-prep", "df = load()"), ("data-prep", "Unindo com o dataset"), ("eda", "print(ghost)"))
    assert messages(plan) == ["cell 2 reads `ghost`, which is never defined in the notebook"]


def test_an_enabling_import_goes_to_every_stage_importing_from_sklearn() -> None:
    """``enable_iterative_imputer`` is never named again, but ``from sklearn.impute import
    IterativeImputer`` fails in a stage that does not import it first."""
    enabler = "from sklearn.experimental import enable_iterative_imputer"
    plan = plan_of(
        ("setup", f"import pandas as pd\n{enabler}\nfrom sklearn.impute import IterativeImputer\n"
                  "from sklearn.linear_model import LinearRegression"),
        ("data-prep", "df = pd.read_csv('x.csv')"),
        ("featurization", "X = IterativeImputer().fit_transform(df)"),
        ("training", "m = LinearRegression().fit(X, df.y)"),
    )
    assert stage(plan, S.FEATURIZATION).imports == (enabler, "from sklearn.impute import IterativeImputer")
    assert enabler in stage(plan, S.TRAINING).imports
    assert enabler not in stage(plan, S.DATA_PREP).imports


def test_skipped_cells_go_nowhere_and_reads_of_them_warn() -> None:
    plan = plan_of(
        ("data-prep", "df = load()"),
        ("skip", "df = df.head(100)  # debugging"),
        ("skip", "tmp = 1"),
        ("eda", "print(df, tmp)"),
    )
    assert all(1 not in sp.cells and 2 not in sp.cells for sp in plan.stages)
    assert stage(plan, S.EDA).handoffs_in == (Handoff("df", 0, S.DATA_PREP, S.EDA, 3),)
    assert messages(plan) == [
        "cell 3 reads `df`, which skipped cell 1 changes before it: the stages run without "
        "that change",
        "cell 3 reads `tmp`, which only skipped cell 2 defines: unskip that cell or define "
        "the name in a kept cell",
    ]
    assert placements(plan)[1] == ()


def test_unpicklable_handoff_is_flagged() -> None:
    plan = plan_of(
        ("setup", "import sqlite3\nfrom sqlalchemy import create_engine"),
        ("data-prep", "conn = sqlite3.connect('db.sqlite')\nengine = create_engine('sqlite://')\nsquare = lambda v: v * v\nok = 3"),
        ("eda", "print(conn, engine, square(2), ok)"),
    )
    text = messages(plan, "warning")
    assert text == [
        "cell 1 binds `conn` to sqlite3.connect(...), which cannot be saved for eda (cell 2): "
        "recreate it in eda or tag cell 1 nbsplit:setup",
        "cell 1 binds `engine` to create_engine(...), which cannot be saved for eda (cell 2): "
        "recreate it in eda or tag cell 1 nbsplit:setup",
        "cell 1 binds `square` to a lambda, which cannot be saved for eda (cell 2): "
        "recreate it in eda or tag cell 1 nbsplit:setup",
    ]


def test_imported_name_rebound_as_data_crosses_as_data() -> None:
    plan = plan_of(
        ("setup", "import numpy as np"),
        ("evaluation", "from sklearn.metrics import r2_score\nr2_score = r2_score(y_true, y_pred)"),
        ("monitoring", "print(r2_score, np.pi)"),
        ("prediction", "from sklearn.metrics import r2_score"),
    )
    ev, pred, mon = plan.stages
    assert mon.handoffs_in == (Handoff("r2_score", 1, S.EVALUATION, S.MONITORING, 2),)
    assert mon.imports == ("import numpy as np",)


def test_markdown_follows_its_stage_and_orphans_join_the_next_section() -> None:
    plan = plan_of(
        ("setup", "md:# Title"),
        ("data-prep", "md:## Load"),
        ("data-prep", "df = load()"),
        ("monitoring", "md:## Drift (nothing here yet)"),
        ("eda", "md:## Look"),
        ("eda", "df.head()"),
    )
    assert stage(plan, S.DATA_PREP).cells == (0, 1, 2)
    assert stage(plan, S.EDA).cells == (3, 4, 5)
    assert plan.stage_of(3) is S.EDA
    assert plan.classifications[3].reasons[-1] == "moved to eda: monitoring has no code cells"


def test_json_contract_and_determinism() -> None:
    nb, facts, classes = notebook(*PIPELINE)
    doc = plan_to_json(build_plan(nb, facts, classes))
    assert json.dumps(doc, sort_keys=True) == json.dumps(
        plan_to_json(build_plan(nb, facts, classes)), sort_keys=True)
    # DESIGN's contract, plus the additive summary of what the dataflow constraints changed
    assert set(doc) == {"source", "cells", "stages", "diagnostics", "placement", "mlflow"}
    assert doc["placement"] == {"changed": 0, "forward": 0, "back": 0, "eda": 0}
    assert doc["source"] == "demo.ipynb"
    assert set(doc["cells"][0]) == {"index", "cell_type", "stage", "confidence", "origin",
                                    "reasons"}
    st = doc["stages"][-1]
    assert {"name", "cells", "loads", "saves", "depends_on"} <= set(st)
    assert st["name"] == "evaluation"
    assert st["loads"] == {"X": "featurization", "model": "training", "y": "featurization"}
    assert st["depends_on"] == ["featurization", "training"]
    assert st["handoffs"][1] == {"name": "model", "version": 5, "from": "training",
                                 "before_cell": 6}
    assert doc["stages"][0]["saves"] == ["df"]
    json.dumps(doc)  # serialisable


def test_plan_keeps_incoming_diagnostics_first() -> None:
    from nbsplit.model import Diagnostic
    nb, facts, classes = notebook(("eda", "print(nothing_here)"))
    d = Diagnostic("warning", "ambiguous cell", cell=0)
    plan = build_plan(nb, facts, classes, [d])
    assert plan.diagnostics[0] is d and len(plan.diagnostics) == 2


def test_mismatched_lengths_are_rejected() -> None:
    nb, facts, classes = notebook(("eda", "x = 1"))
    with pytest.raises(ValueError, match="one facts entry"):
        build_plan(nb, facts + (None,), classes)


def test_thousand_cells_plan() -> None:
    cells = [("setup", "import pandas as pd\nimport numpy as np\nSEED = 1")]
    stages = ["data-prep", "eda", "featurization", "training", "evaluation"]
    for i in range(1, 1000):
        s = stages[(i * 5) // 1000]
        if i % 7 == 0:
            cells.append((s, f"def h{i}(v):\n    return v + v{i - 1}"))
        elif i % 3 == 0:
            cells.append((s, f"v{i} = h{i - i % 7}(v{i - 2}) if {i % 7} else v{i - 1}\nv{i - 1}['c'] = SEED"))
        else:
            cells.append((s, f"v{i} = np.log(v{i - 1}) + pd.Series([v{max(0, i - 50)}]).sum()"))
    nb, facts, classes = notebook(*cells)
    # how fast is benchmarks/bench_plan.py's business (machines are shared and noisy); here: it plans
    plan = build_plan(nb, facts, classes)
    assert len(plan.stages) == 5


def test_setup_cell_with_a_runtime_side_effect_goes_to_every_stage() -> None:
    plan = plan_of(
        ("setup", "import mlflow\nimport os"),
        ("setup", 'RANDOM_STATE = 42\nmlflow.set_tracking_uri("sqlite:///mlflow.db")'),
        ("setup", 'OUT = "out"\nos.makedirs(OUT, exist_ok=True)\nprint(OUT)'),
        ("setup", "LIMIT = 3\nprint(LIMIT)\nplt_cfg = dict(a=1)\nplt_cfg.update(b=2)"),
        ("data-prep", "df = load()"),
        ("evaluation", "mlflow.log_metric('n', len(df))"),
    )
    prep, ev = plan.stages
    assert prep.cells == (1, 2, 3, 4)  # cell 3 has no effect outside itself: first stage only
    assert ev.cells == (1, 2, 5)
    assert ev.imports == ("import mlflow", "import os")  # os for the copied cell 2


def test_objects_of_notebook_classes_bring_their_class() -> None:
    plan = plan_of(
        ("setup", "from sklearn.base import BaseEstimator, TransformerMixin\nfrom sklearn.pipeline import Pipeline\nfrom sklearn.preprocessing import FunctionTransformer\nimport numpy as np"),
        ("featurization", "class Selector(BaseEstimator, TransformerMixin):\n    def transform(self, X):\n        return np.asarray(X)[:, COLS]"),
        ("featurization", "COLS = [0, 1]\ndef add_ratio(X):\n    return X\ndef unrelated(X):\n    return X"),
        ("featurization", "pipe = Pipeline([('sel', Selector()), ('r', FunctionTransformer(add_ratio))])\nZ = unrelated(1)"),
        ("training", "pipe.fit(X, y)"),
        ("evaluation", "print(pipe.score(X, y))"),
    )
    ev = stage(plan, S.EVALUATION)
    assert [h.split("(")[0] for h in ev.helpers] == ["class Selector", "def add_ratio"]
    assert ev.loads == {"COLS": S.FEATURIZATION, "pipe": S.TRAINING}
    assert ev.imports[:2] == ("from sklearn.base import BaseEstimator, TransformerMixin",
                              "import numpy as np")


@pytest.mark.parametrize(("dump", "load"), [
    ("import pickle\nwith open('scaler.pkl', 'wb') as f:\n    pickle.dump(scaler, f)",
     "import pickle\nwith open('scaler.pkl', 'rb') as f:\n    scaler2 = pickle.load(f)"),
    ("import joblib\njoblib.dump(scaler, 'scaler.joblib')", "import joblib\nscaler2 = joblib.load('scaler.joblib')"),
    ("import pandas as pd\nfitted = pd.Series([scaler])\nfitted.to_pickle('s.pkl')",
     "import pandas as pd\nscaler2 = pd.read_pickle('s.pkl')[0]"),
], ids=["pickle", "joblib", "pandas"])
def test_a_file_the_notebook_pickled_brings_its_class_where_it_is_unpickled(dump: str, load: str) -> None:
    """A public absenteeism notebook pickles its own CustomScaler to a file in training and loads
    it in the scoring section: the prediction stage failed with "Can't get attribute
    'CustomScaler' on <module '__main__'>". Which file is not followed: every notebook class a
    pickled value held goes where the notebook unpickles."""
    plan = plan_of(
        ("setup", "from sklearn.base import BaseEstimator, TransformerMixin"),
        ("featurization", "class CustomScaler(BaseEstimator, TransformerMixin):\n    def transform(self, X):\n        return X"),
        ("featurization", "scaler = CustomScaler()\nZ = scaler.transform(X)"),
        ("training", dump),
        ("prediction", load + "\nprint(scaler2.transform(new))"),
    )
    pred = stage(plan, S.PREDICTION)
    assert [h.split("(")[0] for h in pred.helpers] == ["class CustomScaler"]
    assert pred.imports[0] == "from sklearn.base import BaseEstimator, TransformerMixin"
    # a pickle of nothing the notebook defines brings nothing
    plain = plan_of(
        ("featurization", "class CustomScaler:\n    pass"),
        ("training", "import pickle\nmodel = fit_it(X)\npickle.dump(model, open('m.pkl', 'wb'))"),
        ("prediction", "import pickle\nm = pickle.load(open('m.pkl', 'rb'))"),
    )
    assert stage(plain, S.PREDICTION).helpers == ()


def test_copied_definition_brings_what_its_header_needs() -> None:
    plan = plan_of(
        ("setup", "from pyspark.sql.functions import udf\nfrom pyspark.sql.types import StringType\nimport re"),
        ("featurization", "@udf(returnType=StringType())\ndef clean(s, pat=re.compile('x')):\n    return s"),
        ("featurization", "LIMIT = 3\ndef cut(s, n=LIMIT):\n    return s[:n]"),
        ("prediction", "out = clean(cut(txt))"),
    )
    pred = stage(plan, S.PREDICTION)
    assert pred.imports == ("from pyspark.sql.functions import udf",
                            "from pyspark.sql.types import StringType", "import re")
    assert len(pred.helpers) == 1 and pred.helpers[0].startswith("@udf")
    # a header reading a value: the value is loaded and the function defined after it
    assert pred.loads == {"LIMIT": S.FEATURIZATION}
    assert pred.inline == ((3, "def cut(s, n=LIMIT):\n    return s[:n]"),)
    assert not any("LIMIT" in m for m in messages(plan))


@pytest.mark.parametrize("opener", ["from helpers import *", "%run ./shared_functions"])
def test_names_after_star_import_or_run_are_not_reported(opener: str) -> None:
    plan = plan_of(
        ("eda", "print(before)"),
        ("setup", opener),
        ("data-prep", "df = load_data()"),
    )
    assert messages(plan) == ["cell 0 reads `before`, which is never defined in the notebook"]
    prep = stage(plan, S.DATA_PREP)
    if opener.startswith("from"):
        assert prep.imports == (opener,) and 1 not in prep.cells
    else:
        assert prep.imports == () and 1 in prep.cells


def test_function_rebound_as_a_value_crosses_as_data() -> None:
    plan = plan_of(
        ("setup", "from pyspark.sql.functions import udf"),
        ("featurization", "def clean(s):\n    return s.strip()\nclean = udf(clean)"),
        ("prediction", "out = df.select(clean('name'))"),
    )
    pred = stage(plan, S.PREDICTION)
    assert pred.helpers == () and pred.loads == {"clean": S.FEATURIZATION}


@pytest.mark.parametrize("call, draws", [
    pytest.param("train_test_split(X, y, test_size=0.2)", True, id="split-without-random_state-draws"),
    pytest.param("train_test_split(X, y, test_size=0.2, random_state=1)", False, id="split-with-random_state"),
    pytest.param("RandomForestClassifier().fit(X, y)", True, id="fit-may-draw"),
    pytest.param("X.sample(5)", True, id="pandas-sample-draws"),
])
def test_library_calls_that_draw_from_the_global_rng(call: str, draws: bool) -> None:
    """A notebook seeded once at the top and then splitting without random_state depends on the
    seed: the stage that splits must start from the monolith's RNG state."""
    plan = plan_of(
        ("setup", "import numpy as np\nfrom sklearn.model_selection import train_test_split\n"
                  "from sklearn.ensemble import RandomForestClassifier"),
        ("data-prep", "np.random.seed(42)\nX = np.random.rand(20, 2)\ny = X[:, 0] > 0.5"),
        ("training", f"out = {call}"),
    )
    train = stage(plan, S.TRAINING)
    assert (RNG_STATE in train.loads) is draws


def test_spark_temp_view_crosses_stages_as_a_handoff() -> None:
    """A temp view lives in one Spark session: the stage whose SQL reads a view another stage
    registered must load it (the renderer registers it again under its name)."""
    plan = plan_of(
        ("data-prep", 'sdf = spark.read.csv("data/housing.csv", header=True)\n'
                      'sdf.createOrReplaceTempView("housing")'),
        ("eda", "%sql\nSELECT ocean, COUNT(*) FROM housing GROUP BY ocean"),
        ("eda", 'spark.sql("SELECT AVG(price) FROM housing JOIN regions USING (id)").show()'),
        ("featurization", 'print("reading data/housing.csv again")\nfeats = spark.table("housing")'),
    )
    eda, feats = stage(plan, S.EDA), stage(plan, S.FEATURIZATION)
    assert [(h.name, h.version, h.before_cell) for h in eda.handoffs_in] == [(VIEW_PREFIX + "housing", 0, 1)]
    assert [(h.name, h.version) for h in feats.handoffs_in] == [(VIEW_PREFIX + "housing", 0)]
    assert stage(plan, S.DATA_PREP).saves == (VIEW_PREFIX + "housing",)


def test_sql_created_view_and_file_paths_are_not_confused() -> None:
    plan = plan_of(
        ("data-prep", "%sql\nCREATE OR REPLACE TEMP VIEW clean AS SELECT * FROM raw WHERE price > 0"),
        ("eda", 'pdf = pd.read_csv("exports/clean.csv")\nprint("clean")'),
        ("eda", "%sql\nSELECT COUNT(*) FROM clean"),
    )
    eda = stage(plan, S.EDA)
    assert [(h.name, h.before_cell) for h in eda.handoffs_in] == [(VIEW_PREFIX + "clean", 2)]


def test_setup_cell_with_imports_and_module_configuration_is_copied_not_dissolved() -> None:
    """`plt.rcParams[...] = 60` after the imports changes every later plot: every stage that
    plots must run it, so the cell is copied whole rather than reduced to its imports."""
    plan = plan_of(
        ("setup", 'import matplotlib.pyplot as plt\nimport pandas as pd\nplt.rcParams["figure.dpi"] = 60'),
        ("data-prep", 'df = pd.read_csv("x.csv")'),
        ("eda", "df.plot()\nplt.show()"),
    )
    assert 0 in stage(plan, S.EDA).cells and 0 in stage(plan, S.DATA_PREP).cells


def test_planner_diagnostics_carry_codes_cells_and_names() -> None:
    cells = (
        ("setup", "import matplotlib.pyplot as plt\nfrom sklearn.ensemble import RandomForestClassifier"),
        ("data-prep", "X, y = load()"),
        ("training", "model = RandomForestClassifier().fit(X, y)"),
        ("featurization", "keep = model.feature_importances_ > 0.1"),
        ("eda", "print(undefined_name)"),
    )
    plan = plan_of(*cells)
    by_code = {d.code: d for d in plan.diagnostics}
    moved = by_code["NBS109"]
    assert (moved.cell, moved.cells, moved.names) == (3, (3, 2), ("model",))
    assert by_code["NBS112"].names == ("undefined_name",) and by_code["NBS112"].cell == 4
    assert plan.moves == {3: "forward"}
    doc = plan_to_json(plan)
    assert doc["placement"] == {"changed": 1, "forward": 1, "back": 0, "eda": 0}
    assert {"code": "NBS109", "cells": [3, 2], "names": ["model"]}.items() <= [
        d for d in doc["diagnostics"] if d["code"] == "NBS109"][0].items()
    strict = plan_of(*cells, strict=True)
    (err,) = [d for d in strict.diagnostics if d.severity == "error"]
    assert (err.code, err.cells, err.names) == ("NBS105", (3, 2), ("model",))


def test_a_producer_is_pulled_back_when_that_moves_fewer_cells() -> None:
    # the split is (mis)classified as training; four featurization cells read its output
    plan = plan_of(
        ("data-prep", "df = load()"),
        ("featurization", "X = df.drop(columns='y')\ny = df['y']"),
        ("training", "X_train, X_test, y_train, y_test = train_test_split(X, y)"),
        ("featurization", "scaler = StandardScaler().fit(X_train)"),
        ("featurization", "X_train_s = scaler.transform(X_train)"),
        ("featurization", "X_test_s = scaler.transform(X_test)"),
        ("featurization", "sel = SelectKBest(k=5).fit(X_train_s, y_train)"),
        ("training", "model = fit(sel.transform(X_train_s), y_train)"),
    )
    assert [plan.stage_of(i) for i in range(8)] == [
        S.DATA_PREP, S.FEATURIZATION, S.FEATURIZATION, S.FEATURIZATION, S.FEATURIZATION,
        S.FEATURIZATION, S.FEATURIZATION, S.TRAINING]
    assert plan.moves == {2: "back"}
    assert plan.classifications[2].origin == "dataflow"
    assert plan.classifications[2].reasons[-1].startswith("moved back to featurization")


def test_placements_from_the_planning_flow_equal_a_replay(samples_dir: Path, tmp_path: Path) -> None:
    """``placements`` reuses the flow ``build_plan`` made (convert's second dataflow run was a
    fifth of it), also for copies with other stages (convert's registry order and generated
    monitoring stage); a plan with other facts objects is replayed from the final stages. Both
    must agree, moved cells, orphans, copied imports and helpers included, lenient and strict."""
    import dataclasses

    from nbfactory import write_ml_notebook

    from nbsplit.api import plan_notebook
    from nbsplit.plan import _flow_of

    cells = (
        ("setup", "import matplotlib.pyplot as plt\nfrom sklearn.ensemble import RandomForestClassifier"),
        ("data-prep", "X, y = load()\ndef scale(v):\n    return v / 2"),
        ("training", "model = RandomForestClassifier().fit(scale(X), y)"),
        ("featurization", "keep = model.feature_importances_ > 0.1"),
        ("monitoring", "md:## Drift (nothing here yet)"),
        ("eda", "plt.hist(X[:, 0])"),
        ("evaluation", "   "),
        ("evaluation", "md:## Scores"),
    )
    paths = [samples_dir / "messy_sales.ipynb", *(write_ml_notebook(tmp_path / f"ml{s}.ipynb", s) for s in range(2))]
    plans = []
    for strict in (False, True):
        plans.append(plan_of(*cells, strict=strict))
        plans += [plan_notebook(path, strict=strict) for path in paths]
        for plan in plans[-len(paths) - 1:]:  # while their flows are cached
            # convert's copies with other stages share the planning flow
            assert _flow_of(dataclasses.replace(plan, stages=plan.stages[:1])) is _flow_of(plan)
            replayed = placements(dataclasses.replace(plan, facts=tuple(list(plan.facts))))
            assert placements(plan) == replayed, (plan.notebook.path, strict)
    # the cases where a replay could differ are exercised
    assert plans[0].moves and any("has no code cells" in c.reasons[-1] for c in plans[0].classifications)
    assert any(p.how == "helper" for ps in placements(plans[0]).values() for p in ps)


def test_assignment_text_search_is_the_per_name_pattern() -> None:
    """``dataflow._assigned_in_text`` finds what the pattern compiled per name found."""
    import random
    import re

    from nbsplit.dataflow import _assigned_in_text

    rng = random.Random(7)
    pieces = ["r2", "r2_score", "x", "é", "\u0301", "_", " ", "\t", "\n", "=", "==", ":", ",", "(", ")", "1", ".", "\u00a0"]
    found = 0
    for _ in range(3000):
        source = "".join(rng.choices(pieces, k=rng.randint(0, 14)))
        for name in ("r2", "r2_score", "x", "é", "x_"):
            pattern = rf"\b{re.escape(name)}\s*(?::[^=\n]*)?=(?!=)|\b{re.escape(name)}\s*,[^\n=]*=(?!=)"
            expected = bool(re.search(pattern, source))
            assert _assigned_in_text(name, source) == expected, (name, source)
            found += expected
    assert 100 < found < 14000  # both answers are exercised


def test_a_change_through_an_alias_keeps_both_cells_in_one_stage() -> None:
    """``df = raw`` then ``df.dropna(inplace=True)`` changes the object ``raw`` names too: the
    aliasing faithful case broke when the classifier put the change in a later stage than ``raw``
    (featurization loaded ``raw`` unchanged). The placement keeps the two cells together."""
    plan = plan_of(
        ("setup", "import pandas as pd"),
        ("data-prep", 'raw = pd.read_csv("data/customers.csv")\ndf = raw'),
        ("featurization", 'df.dropna(inplace=True)\ndf["tenure_years"] = df["tenure"] / 12'),
        ("featurization", 'feats = raw[["tenure_years", "monthly"]].copy()'),
        ("training", 'model = fit(feats, raw["churn"])'),
    )
    by_cell = {i: sp.stage for sp in plan.stages for i in sp.cells}
    assert by_cell[1] is by_cell[2]
    assert not [d for d in plan.diagnostics if "same object" in d.message]
    assert plan.moves.get(2) == "back" or plan.moves.get(1) == "forward"


def test_a_helper_in_a_cell_indented_as_a_whole_is_copied_as_the_kernel_runs_it() -> None:
    # A stray space in front of every line: Jupyter runs the cell (IPython dedents it first), so
    # the plan must see `clean` and copy it into the stage that calls it without the space.
    plan = plan_of(
        ("setup", "import pandas as pd"),
        ("data-prep", ' def clean(d):\n     return d.dropna()\n raw = clean(pd.read_csv("x.csv"))'),
        ("eda", "raw.describe()"),
        ("training", "fit_on = clean(raw)"),
    )
    assert not [d for d in plan.diagnostics if d.code in ("NBS112", "NBS116")]
    train = stage(plan, S.TRAINING)
    assert train.helpers == ("def clean(d):\n    return d.dropna()",)
    assert train.loads == {"raw": S.DATA_PREP}
    assert placements(plan)[1] == (Placement(S.DATA_PREP, "cell"), Placement(S.TRAINING, "helper"))


def test_a_stage_holds_what_a_presence_check_asks_for_before_it() -> None:
    """``if "preprocessor" not in globals(): preprocessor = ...`` skipped its branch in the
    monolith (featurization had built one); a training stage that did not load it rebuilt
    another, and a later model differed (a run probe notebook)."""
    plan = plan_of(
        ("setup", "import pandas as pd\nfrom sklearn.compose import ColumnTransformer"),
        ("data-prep", "df = pd.read_csv('a.csv')"),
        ("featurization", "preprocessor = ColumnTransformer([('num', 'passthrough', ['a'])])"),
        ("training", "if 'preprocessor' not in globals():\n    preprocessor = ColumnTransformer([])"),
        ("training", "model = fit(preprocessor, df)"),
    )
    loads = [(h.name, h.producer, h.before_cell) for h in stage(plan, Stage.TRAINING).handoffs_in]
    assert ("preprocessor", Stage.FEATURIZATION, 3) in loads
    assert not [m for m in messages(plan) if "preprocessor" in m]


@pytest.mark.parametrize("binding", [
    pytest.param("%store -r df\ndf = df.dropna()", id="restored-by-store"),
    pytest.param('globals()["df"] = pd.read_csv("a.csv")', id="bound-through-globals"),
])
def test_a_value_bound_without_an_assignment_is_handed_to_the_stage_that_uses_it(binding: str) -> None:
    plan = plan_of(
        ("setup", "import pandas as pd"),
        ("data-prep", binding),
        ("training", "model = df.mean()"),
    )
    assert stage(plan, Stage.TRAINING).loads == {"df": Stage.DATA_PREP}
    assert not [m for m in messages(plan) if "never defined" in m]


DEFAULT_READS_A_VALUE = (
    ("setup", "import re"),
    ("data-prep", 'STOPWORDS = ["a", "the"]\nraw = ["a b c", "the d e"]'),
    ("data-prep", "def clean(text, stopwords=STOPWORDS):\n    return [w for w in text.split() if w not in stopwords]"),
    ("data-prep", "raw = [' '.join(clean(t)) for t in raw]"),
    ("featurization", "feats = [clean(t) for t in raw]"),
)


def test_a_copied_definition_whose_header_reads_a_value_is_defined_after_loading_it() -> None:
    """``def clean(t, stopwords=STOPWORDS)`` evaluates ``STOPWORDS`` when it is defined (the Made
    With ML course notebook and its forks): copied to the top of featurization, with the
    helpers, it failed before the stage loaded the value. The stage loads it and defines the
    function right before its first reader."""
    plan = plan_of(*DEFAULT_READS_A_VALUE)
    feat = stage(plan, Stage.FEATURIZATION)
    assert feat.loads == {"STOPWORDS": Stage.DATA_PREP, "raw": Stage.DATA_PREP}
    assert feat.helpers == ()
    assert feat.inline == ((4, DEFAULT_READS_A_VALUE[2][1]),)
    assert not [m for m in messages(plan) if "STOPWORDS" in m]


def test_a_definition_whose_header_reads_a_later_stages_value_is_still_reported() -> None:
    plan = plan_of(
        ("setup", "import re"),
        ("training", 'STOPWORDS = ["a"]'),
        ("training", "def clean(text, stopwords=STOPWORDS):\n    return text"),
        ("featurization", "feats = clean(raw_text)"),
        ("training", "model = fit(clean(raw_text), feats)"),
    )
    assert [d for d in plan.diagnostics if d.code == "NBS111" and "STOPWORDS" in d.message]
