"""A file one cell writes and a later cell reads orders the split like a value does (file_uses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbsplit.file_uses import file_uses
from nbsplit.model import Cell, Notebook, Stage
from nbsplit.plan import plan_to_json
from tests.test_plan import plan_of, stage

S = Stage


def code_nb(*sources: str) -> Notebook:
    return Notebook(path=Path("demo.ipynb"), format="ipynb",
                    cells=tuple(Cell(index=i, kind="code", source=s) for i, s in enumerate(sources)))


@pytest.mark.parametrize("writer, path", [
    ('df.to_csv("out/clean.csv", index=False)', "out/clean.csv"),
    ('df.to_parquet(path="clean.parquet")', "clean.parquet"),
    ('OUT = "data/"\ndf.to_csv(OUT + "clean.csv")', "data/clean.csv"),
    ('import os\ndf.to_csv(os.path.join("data", "clean.csv"), sep=";")', "data/clean.csv"),
    ('joblib.dump(model, "./models/model.pkl")', "models/model.pkl"),
    ('with open("model.pkl", "wb") as f:\n    pickle.dump(model, f)', "model.pkl"),
    ('Path("report.txt").write_text(text)', "report.txt"),
    ('sdf.write.mode("overwrite").option("header", True).parquet("/dbfs/tmp/clean")', "/dbfs/tmp/clean"),
    ('plt.savefig("figures/roc.png", dpi=120)', "figures/roc.png"),
    ('np.save("arrays/X.npy", X)', "arrays/X.npy"),
    ('shutil.copy("raw.csv", "backup/raw.csv")', "backup/raw.csv"),
    ('os.replace("tmp.csv", "final.csv")', "final.csv"),
    ('Path("tmp.csv").rename("data/final.csv")', "data/final.csv"),
])
def test_a_write_call_names_the_file_it_writes(writer: str, path: str) -> None:
    uses = file_uses(code_nb(writer))
    assert path in uses.writes[0]


@pytest.mark.parametrize("source", [
    'df = pd.read_csv("clean.csv", sep=";")',
    'with open("clean.csv") as f:\n    text = f.read()',
    'df.to_csv(f"out/{name}.csv")',  # a loop variable: which file is not known
    'df.to_csv(buffer)',
    'print(df.to_csv())',
    'spark.read.parquet("clean.parquet").write.saveAsTable("clean")',
    # values replaced, not files moved: a stranger's weather column ("T" for a trace of rain)
    "df['rain'] = df['precipitation'].replace('T', '0.01')",
    "df['name'] = df['name'].str.replace('_', 'a.b')",
    'np.save("1e-3", X)',  # a number is no file name
])
def test_reads_and_unknown_targets_write_no_file(source: str) -> None:
    assert file_uses(code_nb(source)).writes == {}


def test_a_later_cell_names_a_written_file_through_a_constant() -> None:
    nb = code_nb('CLEAN = "data/clean.csv"',
                 'df = pd.read_csv("raw.csv")\ndf.to_csv(CLEAN, index=False)',
                 'clean = pd.read_csv(CLEAN)',
                 'other = pd.read_csv("data/other.csv")')
    uses = file_uses(nb)
    assert uses.writes == {1: frozenset({"data/clean.csv"})}
    assert uses.names.get(2) == frozenset({"data/clean.csv"})
    assert 3 not in uses.names  # it names a file no cell writes


WRITE_THEN_READ = (
    ("setup", "import pandas as pd"),
    ("data-prep", 'raw = pd.read_csv("raw.csv").dropna()'),
    ("featurization", 'features = pd.get_dummies(raw)'),
    ("featurization", 'features.to_csv("features.csv", index=False)'),
    ("data-prep", 'df = pd.read_csv("features.csv")'),
    ("eda", "df.describe()"),
    ("training", 'model = fit(df)'),
)


def test_a_cell_reading_a_file_a_later_stage_wrote_moves_after_the_writer() -> None:
    plan = plan_of(*WRITE_THEN_READ)
    assert plan.classifications[4].stage is S.FEATURIZATION
    assert plan.classifications[4].origin == "dataflow"
    moved = [d for d in plan.diagnostics if d.code == "NBS109" and d.cell == 4]
    assert moved and moved[0].cells == (4, 3) and moved[0].names == ("features.csv",)
    assert "reads the file `features.csv` from cell 3 (featurization)" in moved[0].message
    # on disk, not handed off: nothing is saved or loaded under the path
    assert all(h.name != "features.csv" for sp in plan.stages for h in sp.handoffs_in)


def test_a_stage_reading_another_stages_file_depends_on_it() -> None:
    plan = plan_of(
        ("setup", "import pandas as pd"),
        ("data-prep", 'raw = pd.read_csv("raw.csv").dropna()'),
        ("training", 'model = fit(raw)\njoblib.dump(model, "model.pkl")'),
        ("prediction", 'loaded = joblib.load("model.pkl")\nloaded.predict(new)'),
    )
    prediction = stage(plan, S.PREDICTION)
    assert S.TRAINING in prediction.depends_on
    assert [(f.path, f.producer, f.writer, f.before_cell) for f in prediction.files_in] == \
        [("model.pkl", S.TRAINING, 2, 3)]
    entry = next(s for s in plan_to_json(plan)["stages"] if s["name"] == "prediction")
    assert entry["files"] == [{"path": "model.pkl", "from": "training", "written_by": 2, "before_cell": 3}]
    assert "training" in entry["depends_on"]


def test_eda_looking_at_a_written_file_runs_after_its_writer_and_stays_eda() -> None:
    plan = plan_of(
        ("setup", "import pandas as pd"),
        ("data-prep", 'raw = pd.read_csv("raw.csv").dropna()'),
        ("training", 'scores = fit(raw)\nscores.to_csv("scores.csv")'),
        ("eda", 'pd.read_csv("scores.csv").head()'),
    )
    assert plan.classifications[3].stage is S.EDA
    assert S.TRAINING in stage(plan, S.EDA).depends_on


def test_a_file_read_before_the_notebook_writes_it_imposes_no_order() -> None:
    plan = plan_of(
        ("setup", "import pandas as pd"),
        ("data-prep", 'df = pd.read_csv("data.csv").dropna()'),
        ("featurization", 'df["ratio"] = df.a / df.b\ndf.to_csv("data.csv")'),
    )
    assert [c.stage for c in plan.classifications] == [S.SETUP, S.DATA_PREP, S.FEATURIZATION]
    assert not any(d.code == "NBS109" for d in plan.diagnostics)
    assert stage(plan, S.DATA_PREP).files_in == ()


def test_strict_planning_reports_a_backward_file_read() -> None:
    plan = plan_of(*WRITE_THEN_READ, strict=True)
    errors = [d for d in plan.diagnostics if d.severity == "error" and d.cell == 4]
    assert errors and errors[0].code == "NBS105" and errors[0].names == ("features.csv",)
    assert plan.classifications[4].stage is S.DATA_PREP


def test_a_write_inside_a_function_happens_when_it_is_called_not_where_it_is_defined() -> None:
    uses = file_uses(code_nb('def plot(fig):\n    fig.savefig("pred.png")\n    return fig',
                             'mlflow.log_artifact("pred.png")'))
    assert uses.writes == {}


def test_rebinding_a_path_constant_does_not_name_its_old_file() -> None:
    uses = file_uses(code_nb('path = "sub_a.csv"\nsub.to_csv(path)',
                             'path = "sub_b.csv"\nsub.to_csv(path)\nprint("saved", path)'))
    assert uses.writes == {0: frozenset({"sub_a.csv"}), 1: frozenset({"sub_b.csv"})}
    assert "sub_a.csv" not in uses.names.get(1, ())


def test_plan_output_lists_a_file_another_stage_wrote_with_the_loads() -> None:
    import io

    from rich.console import Console

    from nbsplit.config import Config
    from nbsplit.report import print_plan

    plan = plan_of(
        ("setup", "import pandas as pd"),
        ("data-prep", 'raw = pd.read_csv("raw.csv").dropna()'),
        ("training", 'model = fit(raw)\njoblib.dump(model, "model.pkl")'),
        ("prediction", 'loaded = joblib.load("model.pkl")\nloaded.predict(raw)'),
    )
    buffer = io.StringIO()
    print_plan(plan, Config(), Console(file=buffer, width=200, highlight=False))
    row = next(line for line in buffer.getvalue().splitlines() if line.startswith("│ prediction"))
    assert "raw <- data-prep, file model.pkl <- training" in row


@pytest.mark.parametrize("cell, path", [
    ("%%writefile churn_report.py\ndef report(m):\n    return m", "churn_report.py"),
    ("%%writefile -a src/utils.py\nX = 1", "src/utils.py"),
    ('\n%%writefile "app.py"\nimport streamlit as st', "app.py"),
    ("%%writefile ./dags/model_eval.py\ndef f():\n    pass", "dags/model_eval.py"),
])
def test_a_writefile_cell_writes_its_file(cell: str, path: str) -> None:
    assert file_uses(code_nb(cell)).writes == {0: frozenset({path})}


@pytest.mark.parametrize("cell", [
    "%%writefile {folder}/utils.py\nX = 1",  # IPython expands the name: the path is not known here
    "%%bash\necho hi > utils.py",
    "# %%writefile utils.py\nX = 1",
])
def test_other_cells_write_no_module(cell: str) -> None:
    assert file_uses(code_nb(cell)).writes == {}


@pytest.mark.parametrize("reader", [
    "from dags.model_eval import evaluate\nevaluate(model)",
    "from dags import model_eval",
    "import dags.model_eval as me",
    "%run dags/model_eval.py",
    "!python ./dags/model_eval.py --out scores.csv",
    "res = subprocess.run(['python', 'dags/model_eval.py'])",
])
def test_a_later_cell_importing_or_running_a_written_module_reads_it(reader: str) -> None:
    uses = file_uses(code_nb("%%writefile dags/model_eval.py\ndef evaluate(m):\n    return m", reader))
    assert uses.names == {1: frozenset({"dags/model_eval.py"})}


@pytest.mark.parametrize("reader", [
    "from .model_eval import evaluate",  # relative: the package's own module, not the notebook's file
    "import model_eval",  # another file: dags/ is not on the path
    "import os\nos.listdir('.')",
    "%%writefile dags/model_eval.py\ndef evaluate(m):\n    return 0",  # written again, not read
])
def test_other_imports_and_rewrites_read_no_written_module(reader: str) -> None:
    uses = file_uses(code_nb("%%writefile dags/model_eval.py\ndef evaluate(m):\n    return m", reader))
    assert uses.names == {}


def test_ipython_lines_beside_python_hide_no_write_or_read() -> None:
    uses = file_uses(code_nb('%matplotlib inline\nfeatures.to_csv("features.csv")',
                             '!ls -la\ndf = pd.read_csv("features.csv")',
                             '%%time\nagain = pd.read_csv("features.csv")'))
    assert uses.writes == {0: frozenset({"features.csv"})}
    assert uses.names == {1: frozenset({"features.csv"}), 2: frozenset({"features.csv"})}


def test_an_import_of_a_module_a_later_stage_writes_moves_after_the_writer() -> None:
    """A module the notebook writes with ``%%writefile`` is read where it is imported: the
    importing cell runs in the writer's stage or a later one, or it would import a stale copy or
    nothing."""
    plan = plan_of(
        ("setup", "import pandas as pd"),
        ("data-prep", 'raw = pd.read_csv("raw.csv").dropna()'),
        ("training", "model = fit(raw)"),
        ("evaluation", "%%writefile churn_report.py\ndef report(model, X):\n    return model.score(X)"),
        ("training", "from churn_report import report\nprint(report(model, raw))"),
    )
    assert plan.stage_of(3) is plan.stage_of(4) is S.EVALUATION
    moved = next(d for d in plan.diagnostics if d.code == "NBS109" and d.cell == 4)
    assert moved.names == ("churn_report.py",) and moved.cells == (4, 3)
    assert "reads the file `churn_report.py` from cell 3 (evaluation), a later stage" in moved.message
    assert stage(plan, S.EVALUATION).files_in == ()  # written and read in one stage


def test_strict_planning_reports_an_import_of_a_module_a_later_stage_writes() -> None:
    plan = plan_of(
        ("setup", "import pandas as pd"),
        ("training", "model = fit(pd.read_csv('raw.csv'))"),
        ("prediction", "%%writefile scorer.py\ndef score(model, X):\n    return model.predict(X)"),
        ("evaluation", "import scorer\nprint(scorer.score(model, X_test))"),
        strict=True,
    )
    errors = [d for d in plan.diagnostics if d.severity == "error" and d.code == "NBS105"]
    assert [(d.cell, d.names) for d in errors] == [(3, ("scorer.py",))]


def test_a_stage_imports_a_module_it_writes_right_before_the_cell_that_uses_it() -> None:
    """``%%writefile prep_utils.py`` at the top, then ``from prep_utils import clean``: both are
    setup, copied into the stages that use ``clean``. The stage's imports cell runs before the
    copied ``%%writefile`` cell, so the import runs inline, right before its first reader."""
    plan = plan_of(
        ("setup", "%%writefile prep_utils.py\ndef clean(frame):\n    return frame.dropna()"),
        ("setup", "import pandas as pd\nfrom prep_utils import clean"),
        ("data-prep", 'raw = clean(pd.read_csv("raw.csv"))'),
        ("featurization", "X = pd.get_dummies(raw)"),
    )
    prep = stage(plan, S.DATA_PREP)
    assert 0 in prep.cells  # the cell that writes the module runs in the stage
    assert prep.imports == ("import pandas as pd",)
    assert prep.inline == ((2, "from prep_utils import clean"),)
    featurization = stage(plan, S.FEATURIZATION)
    assert "from prep_utils import clean" not in featurization.imports + tuple(t for _, t in featurization.inline)


def test_an_import_of_a_module_an_earlier_stage_wrote_stays_in_the_imports_cell() -> None:
    plan = plan_of(
        ("setup", "import pandas as pd"),
        ("training", "%%writefile scorer.py\ndef score(model, X):\n    return model.predict(X)"),
        ("training", "from scorer import score\nmodel = fit(pd.read_csv('raw.csv'))"),
        ("prediction", "print(score(model, pd.read_csv('new.csv')))"),
    )
    prediction = stage(plan, S.PREDICTION)
    assert "from scorer import score" in prediction.imports and prediction.inline == ()
    assert [(f.path, f.writer) for f in prediction.files_in] == [("scorer.py", 1)]
    assert S.TRAINING in prediction.depends_on


def test_a_script_written_as_setup_goes_only_to_the_stage_that_runs_it() -> None:
    """``%%writefile steps/train.py`` then ``%run -i steps/train.py``: the run cell is the
    script's code (it reads ``X``, defines ``model``), and the written cell goes with it, not to
    every stage as a setup cell with a magic would; a stage that never runs the file gets no copy
    (``%%writefile -a`` would append once per stage)."""
    plan = plan_of(
        ("setup", "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression"),
        ("data-prep", 'df = pd.read_csv("raw.csv").dropna()'),
        ("featurization", 'X, y = df[["a", "b"]], df["target"]'),
        ("setup", "%%writefile steps/train.py\ndef score_of(m, X, y):\n    return round(m.score(X, y), 4)\n\n"
                  "model = LogisticRegression().fit(X, y)"),
        ("training", "%run -i steps/train.py"),
        ("evaluation", "print(score_of(model, X, y))"),
    )
    training = stage(plan, S.TRAINING)
    assert 3 in training.cells and 4 in training.cells
    assert all(3 not in sp.cells for sp in plan.stages if sp.stage is not S.TRAINING)
    assert {"X", "y"} <= set(training.loads) and "model" in training.saves
    assert "model" in stage(plan, S.EVALUATION).loads
    evaluation = stage(plan, S.EVALUATION)
    assert "%run -i steps/train.py" not in evaluation.imports
    # the script's function is copied as its definition, not as the cell that runs the training
    assert evaluation.helpers == ("def score_of(m, X, y):\n    return round(m.score(X, y), 4)",)
    assert not [d for d in plan.diagnostics if "could not extract" in d.message]


def test_a_call_of_the_notebooks_own_function_writes_its_files_where_it_is_called() -> None:
    uses = file_uses(code_nb(
        'import joblib\nOUT = "out"',
        'def save(obj, path="model.pkl"):\n    joblib.dump(obj, path)\n\n'
        'def save_df(df, name):\n    df.to_csv(OUT + "/" + name, index=False)\n\n'
        'def log(x):\n    open("log.txt", "w").write(x)',
        "save(clf)",
        'save_df(df, name="clean.csv")',
        'm = joblib.load("model.pkl")\nd = pd.read_csv("out/clean.csv")',
        "for n in names:\n    save_df(df, n)",  # a path from a loop variable: not known
        'def save_df(df, name):\n    name = name + ".bak"\n    df.to_csv(name)',
        'save_df(df, "other.csv")',  # the parameter is rebound in the body: not the value passed
    ))
    assert uses.writes == {2: {"model.pkl"}, 3: {"out/clean.csv"}}
    # passing the path to write is no read of it; the cell reading both files names them
    assert uses.names == {4: {"model.pkl", "out/clean.csv"}}


def test_a_stage_reading_what_a_helper_call_wrote_runs_after_it() -> None:
    plan = plan_of(
        ("setup", 'import joblib\ndef persist(model, path="artifacts/model.joblib"):\n    joblib.dump(model, path)'),
        ("data-prep", 'raw = pd.read_csv("raw.csv")'),
        ("training", "model = fit(raw)\npersist(model)"),
        ("prediction", 'loaded = joblib.load("artifacts/model.joblib")\nloaded.predict(raw)'),
    )
    prediction = stage(plan, S.PREDICTION)
    assert [(f.path, f.producer, f.writer) for f in prediction.files_in] == [("artifacts/model.joblib", S.TRAINING, 2)]
    assert S.TRAINING in prediction.depends_on
