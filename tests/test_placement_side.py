"""The plan's side branch: a cell forced off its stage by a later stage's value, whose own value
no stage reads, looks (eda) instead of moving on, when the classifier found eda likelier."""

from __future__ import annotations

from pathlib import Path

from nbsplit.analyze import analyze_notebook
from nbsplit.model import Cell, Classification, Notebook, Stage
from nbsplit.plan import build_plan, plan_to_json

S = Stage


def plan_with_scores(*cells: tuple[str, dict[str, float]]):
    """Cells as (source, fitted probabilities); the stage is the likeliest one."""
    nb = Notebook(path=Path("demo.ipynb"), format="ipynb",
                  cells=tuple(Cell(index=i, kind="code", source=src) for i, (src, _) in enumerate(cells)))
    classes = tuple(
        Classification(index=i, stage=Stage(max(p, key=p.get)), confidence=max(p.values()),
                       origin="heuristic", reasons=("test",),
                       scores=tuple(sorted(p.items(), key=lambda kv: -kv[1])))
        for i, (_, p) in enumerate(cells))
    return build_plan(nb, analyze_notebook(nb), classes)


LOAD = ("import pandas as pd\ndf = pd.read_csv('train.csv')", {"data-prep": 0.95, "eda": 0.05})
ENCODE = ("df = pd.get_dummies(df, columns=['city'])", {"featurization": 0.97, "data-prep": 0.02, "eda": 0.01})
# binds a value nobody reads; the classifier says data-prep, eda a close second
NULLS = ("nulls = df.isna().sum()\nnulls = nulls[nulls > 0]",
         {"data-prep": 0.55, "eda": 0.35, "featurization": 0.05, "training": 0.05})


def test_a_reader_that_feeds_no_stage_looks_instead_of_moving_on() -> None:
    plan = plan_with_scores(LOAD, ENCODE, NULLS)
    assert [plan.stage_of(i) for i in range(3)] == [S.DATA_PREP, S.FEATURIZATION, S.EDA]
    assert plan.moves == {2: "eda"}
    c = plan.classifications[2]
    assert c.origin == "dataflow" and c.reasons[-1] == "moved to eda: reads `df` from cell 1 (featurization) and feeds no stage"
    assert c.confidence == 0.35
    eda = next(sp for sp in plan.stages if sp.stage is S.EDA)
    assert eda.loads == {"df": S.FEATURIZATION}  # the snapshot it looked at
    assert plan_to_json(plan)["placement"] == {"changed": 1, "forward": 0, "back": 0, "eda": 1}


def test_a_reader_whose_value_a_stage_uses_still_follows_the_dataflow() -> None:
    use = ("df = df.drop(columns=list(nulls.index))", {"data-prep": 0.6, "featurization": 0.35, "eda": 0.05})
    plan = plan_with_scores(LOAD, ENCODE, NULLS, use)
    # `nulls` feeds a main-line cell, so cell 2 cannot look: it and its reader move on
    assert [plan.stage_of(i) for i in range(4)] == [S.DATA_PREP, S.FEATURIZATION, S.FEATURIZATION, S.FEATURIZATION]
    assert plan.moves == {2: "forward", 3: "forward"}


def test_eda_unlikely_means_it_moves_on() -> None:
    sure = (NULLS[0], {"data-prep": 0.6, "featurization": 0.39, "eda": 0.01})
    plan = plan_with_scores(LOAD, ENCODE, sure)
    assert plan.stage_of(2) is S.FEATURIZATION and plan.moves == {2: "forward"}


def test_a_read_is_resolved_with_the_run_of_cells_around_it() -> None:
    """The sequence term of the re-placement (``placement.sequence_back``): moving the filling
    cell on alone would leave it behind the data-prep cell after it, so the encoder moves back."""
    cells = (
        ("import pandas as pd\nraw = pd.read_csv('a.csv')", {"data-prep": 0.95, "eda": 0.05}),
        ("enc = pd.get_dummies(raw)", {"featurization": 0.6, "data-prep": 0.33, "eda": 0.07}),
        ("enc = enc.fillna(0)", {"data-prep": 0.6, "featurization": 0.35, "eda": 0.05}),
        ("raw.to_csv('clean.csv')", {"data-prep": 0.9, "featurization": 0.05, "eda": 0.05}),
    )
    plan = plan_with_scores(*cells)
    assert [plan.stage_of(i) for i in range(4)] == [S.DATA_PREP] * 4
    assert plan.moves == {1: "back"}
    assert plan.classifications[1].reasons[-1] == "moved back to data-prep: data-prep cell 2 reads what it computes"


def test_a_writer_moved_back_to_its_readers_stage_says_it_writes_a_file() -> None:
    """The read that moved the cell back is of a file it wrote, not of a value it computed."""
    cells = (
        ("import pandas as pd\nraw = pd.read_csv('a.csv')", {"data-prep": 0.95, "eda": 0.05}),
        ("raw.dropna().to_csv('clean.csv')", {"featurization": 0.55, "data-prep": 0.4, "eda": 0.05}),
        ("clean = pd.read_csv('clean.csv')", {"data-prep": 0.97, "featurization": 0.02, "eda": 0.01}),
        ("clean.to_parquet('clean.parquet')", {"data-prep": 0.97, "featurization": 0.02, "eda": 0.01}),
    )
    plan = plan_with_scores(*cells)
    assert plan.stage_of(1) is S.DATA_PREP and plan.moves == {1: "back"}
    assert plan.classifications[1].reasons[-1] == "moved back to data-prep: data-prep cell 2 reads what it writes"
    moved = next(d for d in plan.diagnostics if d.cell == 1)
    assert moved.names == ("clean.csv",)
    assert "writes the file `clean.csv`, which cell 2 (data-prep) reads" in moved.message
