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
