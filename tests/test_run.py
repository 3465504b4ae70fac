"""``nbsplit run``: a converted folder runs locally following job.json, in real kernels.

A tiny tagged notebook (plain Python, no pandas) keeps the kernel tests quick; the samples run
end to end in ``test_pipeline_samples.py``.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from rich.console import Console

from nbsplit.errors import NbsplitError
from nbsplit.run import RunResult, run_folder

TINY_CELLS = [
    ("setup", "import json\nimport os\nSCALE = 10"),
    ("data-prep", "data = [1, 2, 3, 4]\nprint('rows:', len(data))"),
    ("eda", "print('sum:', sum(data))"),
    ("training", "weight = SCALE * sum(data) / len(data)\ndbutils.jobs.taskValues.set('weight', weight)\n"
                 "print('weight:', weight)"),
    ("evaluation", "print('check:', dbutils.jobs.taskValues.get('training', 'weight') == weight)\n"
                   "print('catalog:', dbutils.widgets.get('catalog'))"),
]


def convert(source: Path, out: Path, fmt: str = "ipynb") -> Path:
    """The real convert; while the classifier is not available, the samples' own nbsplit tags."""
    try:
        from nbsplit.convert import convert_notebook

        convert_notebook(source, out, fmt=fmt, force=True)
        return out
    except ImportError:
        pass
    from nbsplit.analyze import analyze_notebook
    from nbsplit.convert import render_files
    from nbsplit.model import Classification, Stage
    from nbsplit.plan import build_plan
    from nbsplit.read import read_notebook

    nb = read_notebook(source)
    classes = []
    for cell in nb.cells:
        slug = next((t.split(":", 1)[1] for t in cell.tags if t.startswith("nbsplit:")), "setup")
        classes.append(Classification(cell.index, Stage(slug), 1.0, "tag"))
    plan = build_plan(nb, analyze_notebook(nb), tuple(classes), ())
    files, _ = render_files(plan, out, fmt=fmt)
    for name, text in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, encoding="utf-8")
    return out


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def output_text(cell) -> str:
    return "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))


def tagged_split(tmp_path: Path, cells: list[tuple[str, str]]) -> Path:
    """``cells`` (stage, source) as a tagged notebook in ``tmp_path/project``, converted."""
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(src, metadata={"tags": [f"nbsplit:{stage}"]}) for stage, src in cells],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    src = tmp_path / "project"
    src.mkdir()
    nbformat.write(nb, src / "tiny.ipynb")
    return convert(src / "tiny.ipynb", tmp_path / "split")


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return tagged_split(tmp_path, TINY_CELLS)


def edit_stage_cell(split: Path, stage: str, source: str) -> dict:
    """Replace the source of ``stage``'s first source cell in its stage notebook; its manifest entry."""
    manifest = json.loads((split / "nbsplit-manifest.json").read_text())
    entry = next(c for c in manifest["cells"] if c["stage"] == stage)
    nb = nbformat.read(split / entry["file"], as_version=4)
    nb.cells[entry["cell"]].source = source
    nbformat.write(nb, split / entry["file"])
    return entry


def statuses(result: RunResult) -> dict[str, str]:
    return {t.key: t.status for t in result.tasks}


# ----------------------------------------------------------------------- no kernel needed

def test_not_a_converted_folder(tmp_path: Path) -> None:
    with pytest.raises(NbsplitError, match="job.json not found"):
        run_folder(tmp_path, console=quiet())
    with pytest.raises(NbsplitError, match="compare_runs must be 1 or 2"):
        run_folder(tmp_path, compare=True, compare_runs=3, console=quiet())


def test_job_json_is_the_definition_of_the_order(tiny: Path) -> None:
    job = json.loads((tiny / "job.json").read_text())
    job["tasks"][0]["depends_on"] = [{"task_key": job["tasks"][-1]["task_key"]}]
    (tiny / "job.json").write_text(json.dumps(job))
    with pytest.raises(NbsplitError, match="cycle"):
        run_folder(tiny, console=quiet())
    job["tasks"][0]["depends_on"] = [{"task_key": "nope"}]
    (tiny / "job.json").write_text(json.dumps(job))
    with pytest.raises(NbsplitError, match="unknown task nope"):
        run_folder(tiny, console=quiet())


def test_unknown_task_and_missing_handoffs_are_usage_errors(tiny: Path) -> None:
    with pytest.raises(NbsplitError, match="no such stage") as info:
        run_folder(tiny, only="monitoring", console=quiet())
    assert "data-prep" in str(info.value)  # stages are named by their slugs, as in plan and convert
    with pytest.raises(NbsplitError, match="run the upstream stages first") as info:
        run_folder(tiny, from_stage="training", console=quiet())
    assert "data (from data-prep)" in str(info.value)


# -------------------------------------------------------------------------- real kernels

@pytest.mark.slow
def test_tiny_split_runs_in_dag_order_and_reruns_reuse_handoffs(tiny: Path) -> None:
    out = io.StringIO()
    result = run_folder(tiny, console=Console(file=out, width=200))
    assert result.ok and result.exit_code == 0
    job = json.loads((tiny / "job.json").read_text())
    assert [t.key for t in result.tasks] == [t["task_key"] for t in job["tasks"]]
    assert set(statuses(result).values()) == {"succeeded"}
    executed = {t.key: nbformat.read(t.executed, as_version=4) for t in result.tasks}
    assert all(t.executed.parent == tiny / ".nbsplit" / "executed" for t in result.tasks)
    evaluation = "\n".join(output_text(c) for c in executed["evaluation"].cells)
    assert "check: True" in evaluation
    assert "catalog: main" in evaluation  # the job parameter, through the widgets stand-in
    assert "weight: 25.0" in "\n".join(output_text(c) for c in executed["training"].cells)
    # The converted notebooks on disk stay free of outputs and stand-ins.
    on_disk = nbformat.read(tiny / result.task("training").file, as_version=4)
    assert not any(c.get("outputs") for c in on_disk.cells if c.cell_type == "code")
    summary = out.getvalue()
    assert "succeeded" in summary and "training" in summary

    # --only reruns one task from the saved handoffs; --from reruns it and what follows.
    before = {t.key: t.executed.stat().st_mtime_ns for t in result.tasks}
    only = run_folder(tiny, only="training", console=quiet())
    assert statuses(only) == {"data_prep": "reused", "eda": "reused", "training": "succeeded",
                              "evaluation": "reused"}
    assert only.ok
    again = run_folder(tiny, from_stage="training", console=quiet())
    assert statuses(again) == {"data_prep": "reused", "eda": "reused", "training": "succeeded",
                               "evaluation": "succeeded"}
    assert again.task("data_prep").executed is None
    assert (tiny / ".nbsplit" / "executed" / result.task("data_prep").file).stat().st_mtime_ns == before["data_prep"]


@pytest.mark.slow
def test_a_failing_stage_names_the_source_cell_and_skips_dependents(tiny: Path) -> None:
    manifest = json.loads((tiny / "nbsplit-manifest.json").read_text())
    entry = next(c for c in manifest["cells"] if c["stage"] == "training")
    path = tiny / entry["file"]
    nb = nbformat.read(path, as_version=4)
    nb.cells[entry["cell"]].source += "\nraise ValueError('weights do not converge\\nafter 3 tries')"
    nbformat.write(nb, path)
    out = io.StringIO()
    result = run_folder(tiny, parallel=2, console=Console(file=out, width=300))
    assert not result.ok and result.exit_code == 1
    assert statuses(result) == {"data_prep": "succeeded", "eda": "succeeded", "training": "failed",
                                "evaluation": "skipped"}
    failed = result.task("training")
    assert failed.source_cell == entry["index"]
    assert failed.message == (f"stage training failed in source cell {entry['index']}: "
                              "ValueError: weights do not converge")
    assert failed.message in out.getvalue()
    assert "upstream stage training" in result.task("evaluation").message
    # The partial executed notebook is kept for inspection.
    assert "ValueError" in json.dumps(nbformat.read(failed.executed, as_version=4).cells[entry["cell"]].outputs)


@pytest.mark.slow
def test_parallel_and_compare_on_the_tiny_split(tiny: Path) -> None:
    result = run_folder(tiny, parallel=2, compare=True, console=quiet())
    assert result.ok, result.messages
    assert result.compare is not None
    # The four print cells; the setup cell prints nothing.
    assert result.compare.compared == 4 and not result.compare.mismatches
    # A split whose stage prints something else is caught, by source cell.
    entry = edit_stage_cell(tiny, "eda", "print('sum:', sum(data) + 1)")
    bad = run_folder(tiny, compare=True, console=quiet())
    assert not bad.ok and bad.exit_code == 1
    assert [m.index for m in bad.compare.mismatches] == [entry["index"]]
    assert any(f"source cell {entry['index']}" in m for m in bad.messages)


@pytest.mark.slow
def test_a_cell_listing_the_kernels_namespace_is_not_compared(tmp_path: Path) -> None:
    """Strangers' run: a Portuguese churn notebook ends with `%watermark --iversions`, which lists
    the version of every package the kernel imported; the setup cell holding it is copied into
    each stage, whose kernel imported only what that stage needs, so the listing was reported as
    the split's mismatch. `%who` and `dir()` list names the same way."""
    from nbsplit.run import _compare_messages, lists_namespace

    cells = TINY_CELLS[:2] + [
        ("training", "import math\nweight = math.fsum(data)\nprint('weight:', weight)"),
        ("evaluation", "%who"),
        ("evaluation", "print(sorted(k for k in dir() if not k.startswith('_')))"),
        ("evaluation", "print('check:', weight > 1)"),
    ]
    split = tagged_split(tmp_path, cells)
    result = run_folder(split, compare=True, console=quiet())
    assert result.ok, result.messages
    assert result.compare.namespace == (3, 4)
    assert result.compare.compared == 3 and not result.compare.mismatches
    assert any("source cell(s) 3, 4 list the kernel's namespace" in m for m in _compare_messages(result.compare))
    # What the cells would have been compared on: the monolith's kernel holds `data`, `math`,
    # `weight` there; the evaluation stage's holds nbsplit's hand-off names (it loads `weight`
    # only before the cell that reads it).
    monolith = {"data", "json", "math", "os", "SCALE", "weight"}
    stage = nbformat.read(result.task("evaluation").executed, as_version=4)
    listing = set(next(output_text(c) for c in stage.cells if c.get("source") == "%who").split())
    assert listing and not listing & monolith
    for text in ("%watermark --iversions", "%watermark -a me -iv", "whos", "%who_ls", "print(globals())"):
        assert lists_namespace(text), text
    for text in ("%watermark -v -m", "who = 3", "dir(df)", "model.locals()", "print(df.columns)"):
        assert not lists_namespace(text), text


@pytest.mark.slow
def test_a_failing_stage_whose_monolith_fails_too_says_where_the_monolith_fails(tmp_path: Path) -> None:
    """Strangers' notebooks often fail on this machine's libraries (an old scikit-learn API): the
    stage fails, and the compare line says the monolith fails at the same cell, so the user does
    not go looking for a fault in the split."""
    split = tagged_split(tmp_path, TINY_CELLS[:2] + [("training", "weight = sum(data) / (len(data) - 4)\nprint(weight)")])
    result = run_folder(split, compare=True, console=quiet())
    assert statuses(result)["training"] == "failed"
    error = result.compare.error
    assert error.startswith("the source notebook itself fails: ")
    assert "cell 2 failed: ZeroDivisionError" in error
    # the cells before the monolith's failure still prove the split: data-prep's print
    assert error.endswith("only the cells before source cell 2 were compared")
    assert result.compare.compared == 1 and not result.compare.mismatches
    assert not result.ok and result.exit_code == 1


@pytest.mark.slow
def test_a_stage_failing_where_the_monolith_runs_shows_as_that_cells_mismatch(tiny: Path) -> None:
    """The split's own failure: the stages that ran are compared, the failed one up to the cell
    it failed in, which differs from the monolith's output there."""
    entry = edit_stage_cell(tiny, "eda", "print('sum:', sum(data) / 0)")
    result = run_folder(tiny, compare=True, console=quiet())
    assert statuses(result)["eda"] == "failed" and not result.ok
    compare = result.compare
    assert [m.index for m in compare.mismatches] == [entry["index"]]
    assert compare.mismatches[0].expected == "sum: 10" and compare.mismatches[0].got == ""
    assert "ZeroDivisionError" in result.task("eda").message
    assert compare.error == "a task failed: the cells of the stages that did not run were not compared"
    assert compare.compared == 4  # data-prep, training and evaluation ran; eda up to its failure


@pytest.mark.slow
def test_databricks_format_split_runs(tiny: Path, tmp_path: Path) -> None:
    split = convert(tmp_path / "project" / "tiny.ipynb", tmp_path / "split_py", fmt="databricks")
    assert (split / "01_data-prep.py").read_text().startswith("# Databricks notebook source")
    result = run_folder(split, parallel=2, console=quiet())
    assert result.ok, result.messages
    assert (split / ".nbsplit" / "executed" / "04_training.ipynb").is_file()
    shutil.rmtree(split)


# ------------------------------------------------------------------ compare's runs of the source

def _run_of(outputs: list[str | None]) -> nbformat.NotebookNode:
    cells = []
    for i, text in enumerate(outputs):
        cell = nbformat.v4.new_code_cell(f"print({i})", execution_count=i + 1)
        if text is not None:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


def test_stored_outputs_count_as_a_run_only_when_the_source_was_executed(tmp_path: Path) -> None:
    from nbsplit.run import stored_run

    executed = _run_of(["a\n", None])
    nbformat.write(executed, tmp_path / "done.ipynb")
    assert stored_run(tmp_path / "done.ipynb") is not None
    executed.cells[1].execution_count = None  # a cell never run: not a complete stored run
    nbformat.write(executed, tmp_path / "partial.ipynb")
    assert stored_run(tmp_path / "partial.ipynb") is None
    failed = _run_of(["a\n"])
    failed.cells[0].outputs = [nbformat.v4.new_output("error", ename="E", evalue="x", traceback=[])]
    nbformat.write(failed, tmp_path / "failed.ipynb")
    assert stored_run(tmp_path / "failed.ipynb") is None
    (tmp_path / "src.py").write_text("# Databricks notebook source\nprint(1)\n")
    assert stored_run(tmp_path / "src.py") is None


def test_a_cell_whose_stored_output_differs_from_the_fresh_run_is_not_compared(tmp_path: Path) -> None:
    from nbsplit.run import TaskResult, compare_runs_with_split

    stored, fresh = _run_of(["same\n", "12:00\n", "x\n"]), _run_of(["same\n", "12:05\n", "x\n"])
    stage = _run_of(["same\n", "13:00\n", "y\n"])
    nbformat.write(stage, tmp_path / "01_stage.ipynb")
    manifest = {"cells": [{"index": i, "file": "01_stage.ipynb", "cell": i} for i in range(3)]}
    results = {"s": TaskResult("s", "01_stage.ipynb", "succeeded", executed=tmp_path / "01_stage.ipynb")}
    result = compare_runs_with_split(manifest, [stored, fresh], results)
    assert result.nondeterministic == (1,)
    assert result.compared == 2 and [m.index for m in result.mismatches] == [2]
    assert result.mismatches[0].expected == "x" and result.mismatches[0].got == "y"


def test_spark_ml_binned_roc_metrics_are_compared_without_their_digits(tmp_path: Path) -> None:
    """spark_flights' `lr_model.summary.areaUnderROC` prints 0.8813 in the monolith and 0.8812 in
    its training stage with a bit-identical model: Spark bins the ROC curve by a sample seeded
    with the RDD's id, i.e. by how many RDDs the session made before (112 in the monolith, 79 in
    the stage). Such a cell is compared without its digits; every other cell to the last digit."""
    from nbsplit.run import TaskResult, compare_runs_with_split, _compare_messages

    auc = 'print("train AUC:", round(lr_model.summary.areaUnderROC, 4))'
    sources = ["from pyspark.ml.classification import LogisticRegression", auc, "print(test_auc)",
               "print(model.summary.roc.count())"]
    outputs = ["", "train AUC: 0.8813\n", "test AUC = 0.8934\n", "43\n"]
    got = ["", "train AUC: 0.8812\n", "test AUC = 0.8934\n", "42\n"]

    def notebook(texts: list[str]) -> nbformat.NotebookNode:
        nb = _run_of(texts)
        for cell, source in zip(nb.cells, sources):
            cell.source = source
        return nb

    nbformat.write(notebook(got), tmp_path / "01_stage.ipynb")
    manifest = {"cells": [{"index": i, "file": "01_stage.ipynb", "cell": i} for i in range(4)]}
    results = {"s": TaskResult("s", "01_stage.ipynb", "succeeded", executed=tmp_path / "01_stage.ipynb")}
    result = compare_runs_with_split(manifest, [notebook(outputs), notebook(outputs)], results)
    assert result.ok and result.compared == 3 and result.without_digits == (1, 3)
    assert "source cell(s) 1, 3 print Spark ML's binned ROC/PR metrics" in "\n".join(_compare_messages(result))
    # Its words still count, and other cells are compared to the last digit.
    changed = notebook(["", "test AUC: 0.8812\n", "test AUC = 0.8935\n", "43\n"])
    nbformat.write(changed, tmp_path / "01_stage.ipynb")
    result = compare_runs_with_split(manifest, [notebook(outputs), notebook(outputs)], results)
    assert [m.index for m in result.mismatches] == [1, 2]
    # The same text without pyspark in the notebook is an ordinary cell.
    sources[0] = "import sklearn"
    nbformat.write(notebook(got), tmp_path / "01_stage.ipynb")
    result = compare_runs_with_split(manifest, [notebook(outputs), notebook(outputs)], results)
    assert [m.index for m in result.mismatches] == [1, 3] and result.without_digits == ()


def test_the_comparison_reads_info_without_its_memory_footprint() -> None:
    # run probe: df.info() after a hand-off said 646.5 KB where the monolith said 647.9 KB (the
    # reloaded frame's buffers are compacted); the rows, columns and types were the same
    from nbsplit.run import _text_outputs

    def cell(text: str) -> dict:
        return {"outputs": [{"output_type": "stream", "name": "stdout", "text": text}]}

    info = "<class 'pandas.DataFrame'>\nRangeIndex: 3 entries\ndtypes: int64(1), str(1)\nmemory usage: {}\n"
    assert _text_outputs(cell(info.format("647.9 KB"))) == _text_outputs(cell(info.format("646.5+ KB")))
    assert _text_outputs(cell(info.format("1.2 MB"))).endswith("memory usage: #")
    # a cell that prints its own numbers on such a line is still compared digit for digit
    assert _text_outputs(cell("peak memory usage: 3 KB")) != _text_outputs(cell("peak memory usage: 4 KB"))


def test_the_monoliths_copy_lists_the_split_folder_as_the_stages_see_it(tmp_path: Path) -> None:
    # run probe: a setup cell's '!ls' printed 'stages_nbs' in every stage (they run beside it) and
    # not in the monolith's copy of the source folder
    from nbsplit.run import _copy_source_tree

    source = tmp_path / "project"
    (source / "stages_nbs").mkdir(parents=True)
    (source / "stages_nbs" / "01_data-prep.ipynb").write_text("{}")
    (source / "data.csv").write_text("a\n1\n")
    copy = _copy_source_tree(source, [source / "stages_nbs"], tmp_path / "copy")
    assert sorted(p.name for p in copy.iterdir()) == ["data.csv", "stages_nbs"]
    assert list((copy / "stages_nbs").iterdir()) == []  # its name, not its files
