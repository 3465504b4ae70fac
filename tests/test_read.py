"""read_notebook: format detection, the three readers, and every bad-input error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from nbsplit.errors import EXIT_USAGE, NbsplitError
from nbsplit.read import read_notebook, read_text

CASES = Path(__file__).parent / "read_cases"


# --- ipynb -------------------------------------------------------------------------------


def test_ipynb_cells_tags_ids_outputs() -> None:
    nb = read_notebook(CASES / "titanic.ipynb")
    assert nb.format == "ipynb"
    assert [c.kind for c in nb.cells] == ["markdown", "code", "code", "code", "code", "code", "raw"]
    assert [c.index for c in nb.cells] == list(range(7))
    assert nb.cells[0].source.startswith("# Titanic survival\n\nPredict")
    assert nb.cells[1].source == "import pandas as pd\nimport numpy as np\n%matplotlib inline"
    assert nb.cells[1].tags == ("parameters",)
    assert nb.cells[3].tags == ("nbsplit:data-prep",)
    assert nb.cells[3].metadata["scrolled"] is True
    assert nb.cells[2].id == "load-01"
    assert nb.cells[2].execution_count == 2
    assert nb.cells[2].outputs[0]["output_type"] == "execute_result"
    assert nb.cells[4].source == "" and nb.cells[4].is_empty
    assert nb.cells[6].metadata == {"format": "text/restructuredtext"}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.text == (CASES / "titanic.ipynb").read_text(encoding="utf-8")


def test_ipynb_without_ids_is_fine() -> None:
    nb = read_notebook(CASES / "no_ids_indent2.ipynb")
    assert [c.id for c in nb.cells] == [None, None, None]
    assert nb.cells[1].tags == ("section",)


def test_ids_in_a_pre_45_notebook_are_read_as_45(tmp_path: Path) -> None:
    """VS Code and recent Jupyter write cell ids into 4.0-4.4 notebooks (the 4.4 schema forbids
    the key; Jupyter opens them anyway). nbsplit reads them, keeps the ids, and ``tag --write``
    leaves the version as the user had it."""
    from nbsplit.config import Config
    from nbsplit.tagging import apply_tags, plan_tags

    raw = json.loads((Path(__file__).parents[1] / "sample_notebooks" / "churn_pandas.ipynb").read_text())
    raw["nbformat_minor"] = 2
    for k, cell in enumerate(raw["cells"]):
        cell["id"] = f"cell-{k}"
    path = tmp_path / "vscode.ipynb"
    path.write_text(json.dumps(raw, indent=1))
    nb = read_notebook(path)
    assert [c.id for c in nb.cells] == [f"cell-{k}" for k in range(len(raw["cells"]))]
    apply_tags(plan_tags(path, Config()))
    written = json.loads(path.read_text())
    assert written["nbformat_minor"] == 2
    assert [c["id"] for c in written["cells"]] == [f"cell-{k}" for k in range(len(raw["cells"]))]
    assert any(t.startswith("nbsplit:") for c in written["cells"] for t in c["metadata"].get("tags", []))


def test_cells_missing_keys_jupyter_fills_are_read_and_tagged(tmp_path: Path) -> None:
    """A code cell without ``execution_count``/``outputs`` or a cell without ``metadata`` (seen in
    a public monitoring notebook): Jupyter opens it with a warning; nbsplit reads it with the
    values a new cell gets, and ``tag --write`` adds its tags and changes nothing else."""
    from nbsplit.config import Config
    from nbsplit.tagging import apply_tags, plan_tags

    path = tmp_path / "stripped.ipynb"
    shutil.copy(Path(__file__).parent / "bad_inputs" / "ok_required_keys_missing.ipynb", path)
    before = json.loads(path.read_text())
    nb = read_notebook(path)
    assert [c.kind for c in nb.cells] == ["markdown", "code", "code", "code"]
    assert [c.execution_count for c in nb.cells[1:]] == [None, 3, None]
    assert [len(c.outputs) for c in nb.cells[1:]] == [0, 0, 0]
    assert nb.cells[3].source == "df.describe()"
    apply_tags(plan_tags(path, Config()))
    after = json.loads(path.read_text())
    for old, new in zip(before["cells"], after["cells"]):
        tags = new.get("metadata", {}).pop("tags", [])
        assert tags and all(t.startswith("nbsplit:") for t in tags)
        if new.get("metadata") == {} and "metadata" not in old:
            del new["metadata"]
        assert new == old
    assert all(any(t.startswith("nbsplit:") for t in c.tags) for c in read_notebook(path).cells)


def test_an_output_the_schema_refuses_is_dropped_and_the_rest_kept() -> None:
    """A stream output with ``metadata`` (an old front end wrote it; Jupyter opens the file):
    outputs are a record the split never reads, so that one output goes, not the notebook."""
    nb = read_notebook(Path(__file__).parent / "bad_inputs" / "ok_stream_output_metadata.ipynb")
    assert [o["output_type"] for o in nb.cells[1].outputs] == ["execute_result"]
    assert nb.cells[1].source.endswith("len(df)")


@pytest.mark.parametrize("change, check", [
    # a key some tool added to a cell (seen: "execution_state"): dropped
    (lambda raw: raw["cells"][1].update(execution_state="idle"), lambda nb: nb.cells[1].source == "x = 1"),
    # a notebook without its metadata object
    (lambda raw: raw.pop("metadata"), lambda nb: nb.metadata == {}),
    # sparkmagic's PySpark3 kernel declares its language as "pyspark3": Python
    (lambda raw: raw["metadata"].update(kernelspec={"name": "pyspark3kernel", "language": "pyspark3"}),
     lambda nb: nb.cells[1].source == "x = 1"),
    # a cell saved while it ran: Jupyter shows its prompt as "*"
    (lambda raw: raw["cells"][1].update(execution_count="*"), lambda nb: nb.cells[1].execution_count is None),
], ids=["extra-cell-key", "no-notebook-metadata", "pyspark3-kernel", "running-cell"])
def test_what_jupyter_opens_and_the_split_never_reads_is_repaired(tmp_path: Path, change: Any, check: Any) -> None:
    raw = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# Title"},
                     {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [], "source": "x = 1"}],
           "metadata": {"kernelspec": {"name": "python3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 2}
    change(raw)
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(raw))
    nb = read_notebook(path)
    assert [c.kind for c in nb.cells] == ["markdown", "code"]
    assert check(nb)
    assert read_notebook(path) == nb  # the same input gives the same notebook


def test_an_ipython_1_notebook_saved_while_a_cell_ran_is_read(tmp_path: Path) -> None:
    """nbformat 3 stored a running cell's prompt number as "*" (seen in a public course's
    notebooks); upgraded, it is a v4 ``execution_count`` the schema refuses: read as never run,
    and any other string stays an invalid notebook naming the cell."""
    def v3(count: Any) -> dict[str, Any]:
        return {"metadata": {"name": "old"}, "nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": [
            {"cell_type": "code", "collapsed": False, "input": "x = 1", "language": "python", "metadata": {},
             "outputs": [], "prompt_number": 1},
            {"cell_type": "code", "collapsed": False, "input": "y = x + 1", "language": "python", "metadata": {},
             "outputs": [], "prompt_number": count}], "metadata": {}}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3("*")))
    nb = read_notebook(path)
    assert [(c.source, c.execution_count) for c in nb.cells] == [("x = 1", 1), ("y = x + 1", None)]
    path.write_text(json.dumps(v3("2")))
    with pytest.raises(NbsplitError, match="execution_count") as exc:
        read_notebook(path)
    assert exc.value.cell == 1


def test_a_bad_id_in_a_pre_45_notebook_is_still_refused(tmp_path: Path) -> None:
    raw = {"cells": [{"cell_type": "code", "id": "no spaces allowed", "metadata": {}, "outputs": [],
                      "execution_count": None, "source": "x = 1"}],
           "metadata": {}, "nbformat": 4, "nbformat_minor": 2}
    path = tmp_path / "bad_id.ipynb"
    path.write_text(json.dumps(raw))
    with pytest.raises(NbsplitError, match="invalid notebook"):
        read_notebook(path)


def test_nbformat3_is_upgraded() -> None:
    nb = read_notebook(CASES / "old_v3.ipynb")
    assert [c.kind for c in nb.cells] == ["markdown", "code", "markdown", "code"]
    assert nb.cells[0].source == "# Old analysis"  # heading cell -> markdown heading
    assert nb.cells[1].source == "import pandas as pd\ndf = pd.read_csv('data.csv')"
    assert nb.cells[3].tags == ("nbsplit:eda",)
    # ids invented by the upgrade would be random: we keep none
    assert all(c.id is None for c in nb.cells)


def test_nbformat2_is_upgraded(tmp_path: Path) -> None:
    v2 = {"metadata": {"name": ""}, "nbformat": 2, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "x = 1", "language": "python", "outputs": []},
        {"cell_type": "markdown", "source": "Notes"}]}]}
    path = tmp_path / "v2.ipynb"
    path.write_text(json.dumps(v2))
    nb = read_notebook(path)
    assert [(c.kind, c.source) for c in nb.cells] == [("code", "x = 1"), ("markdown", "Notes")]


def test_databricks_exported_ipynb_magics_and_titles() -> None:
    nb = read_notebook(CASES / "databricks_export.ipynb")
    assert [c.language for c in nb.cells] == ["md", "sql", "python"]
    assert nb.cells[1].source.startswith("%sql\nSELECT")
    assert nb.cells[1].title == "Count rows"
    assert nb.cells[0].title is None


def test_ipynb_detected_by_content_with_other_extension(tmp_path: Path) -> None:
    path = tmp_path / "notebook.txt"
    shutil.copy(CASES / "titanic.ipynb", path)
    assert read_notebook(path).format == "ipynb"
    bare = tmp_path / "notebook"
    shutil.copy(CASES / "titanic.ipynb", bare)
    assert len(read_notebook(bare).cells) == 7


# --- Databricks source ----------------------------------------------------------------------


def test_databricks_source_cells() -> None:
    nb = read_notebook(CASES / "databricks_churn.py")
    assert nb.format == "databricks"
    assert len(nb.cells) == 12
    kinds = [(c.kind, c.language) for c in nb.cells]
    assert kinds[:3] == [("markdown", "md"), ("code", "pip"), ("code", "run")]
    md = nb.cells[0]
    assert md.source == "# Churn model\n\nTrains a churn classifier on the bronze customer table."
    assert nb.cells[1].source == "%pip install mlflow>=3.1 scikit-learn==1.5.2"
    assert nb.cells[2].source == "%run ./00_common"
    params = nb.cells[3]
    assert params.title == "Parameters"
    assert params.source.startswith("dbutils.widgets.text")
    assert "DBTITLE" not in params.source
    sql = nb.cells[5]
    assert (sql.kind, sql.language) == ("code", "sql")
    assert sql.source == "%sql\nSELECT plan, COUNT(*) AS n\nFROM main.churn.customers\nGROUP BY plan"
    assert (nb.cells[6].kind, nb.cells[6].source) == ("markdown", '<div style="color: red">Features</div>')
    assert nb.cells[7].source.startswith("# nbsplit: featurization\n")  # directive stays in the source
    assert nb.cells[8].source == "%sh\nls /dbfs/tmp" and nb.cells[8].language == "sh"
    assert nb.cells[9].source == "" and nb.cells[9].kind == "code"  # empty cells count
    assert nb.cells[10].title == "Hidden title" and nb.cells[10].kind == "markdown"
    assert nb.cells[10].source == "## Training\n\n* fit a model"
    assert "\n\n\nmodel = " in nb.cells[11].source  # blank lines inside a cell are kept
    assert [c.index for c in nb.cells] == list(range(12))


def test_databricks_crlf_and_tight_separators() -> None:
    nb = read_notebook(CASES / "databricks_crlf.py")
    assert [(c.kind, c.language, c.source) for c in nb.cells] == [
        ("markdown", "md", "# Title"),
        ("code", "python", "x = 1"),
        ("code", "sql", "%sql\nSELECT 1"),
    ]
    assert "\r\n" in nb.text


def test_databricks_detected_in_txt(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    shutil.copy(CASES / "databricks_churn.py", path)
    assert read_notebook(path).format == "databricks"


def test_databricks_header_only_first_line_counts(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_text("# Databricks notebook source\n# MAGIC %md\n# MAGIC Hello\n# MAGIC\n", encoding="utf-8")
    nb = read_notebook(path)
    assert [(c.kind, c.source) for c in nb.cells] == [("markdown", "Hello\n")]


# A cell that opens with ``# MAGIC`` lines and goes on with plain Python lines (13 files in 6 of
# the repositories probed: Databricks' own export of a Python cell's %pip line, Delta Live Tables
# files and hand-written sources with a %md heading above the code) used to become one markdown or
# magic cell: its code vanished without a word.
_MIXED = {
    "md-heading": ("# MAGIC %md\n# MAGIC # Ingest\n\nimport pandas as pd\ndf = pd.read_csv('x.csv')",
                   "# MAGIC %md\n# MAGIC # Ingest\n\nimport pandas as pd\ndf = pd.read_csv('x.csv')"),
    "pip-line": ("# MAGIC %pip install xgboost\ndbutils.library.restartPython()",
                 "%pip install xgboost\ndbutils.library.restartPython()"),
    "sql-then-code": ("# MAGIC %sql\n# MAGIC SELECT 1\nimport pandas as pd",
                      "# MAGIC %sql\n# MAGIC SELECT 1\nimport pandas as pd"),
}


@pytest.mark.parametrize("name", sorted(_MIXED))
def test_magic_lines_above_python_lines_make_a_python_cell_and_lose_no_code(tmp_path: Path, name: str) -> None:
    from nbsplit.analyze import analyze_source
    from nbsplit.read.databricks import dump_databricks, read_databricks

    text, source = _MIXED[name]
    path = tmp_path / "mixed.py"
    path.write_text(f"# Databricks notebook source\n{text}\n\n# COMMAND ----------\n\nx = 1\n", encoding="utf-8")
    cells = read_notebook(path).cells
    assert [(c.kind, c.language, c.source) for c in cells] == [("code", "python", source), ("code", "python", "x = 1")]
    assert analyze_source(cells[0].source, 0).parsed
    again = read_databricks(dump_databricks(cells), "again.py").cells
    assert [(c.kind, c.language, c.source) for c in again] == [(c.kind, c.language, c.source) for c in cells]


def test_a_python_cell_with_a_pip_line_and_code_is_written_as_a_python_cell() -> None:
    # written all behind # MAGIC it would be a %pip cell, and pip would get the import as arguments
    from nbsplit.model import Cell
    from nbsplit.read.databricks import dump_databricks, read_databricks

    cell = Cell(index=0, kind="code", source="%pip install lightgbm\nimport lightgbm", language="python")
    text = dump_databricks((cell,))
    assert "# MAGIC %python\n# MAGIC %pip install lightgbm\n# MAGIC import lightgbm" in text
    back = read_databricks(text, "x.py").cells
    assert [(c.kind, c.language, c.source) for c in back] == [("code", "python", cell.source)]


# --- percent ----------------------------------------------------------------------------------


def test_percent_cells_header_tags() -> None:
    nb = read_notebook(CASES / "percent_churn.py")
    assert nb.format == "percent"
    assert nb.metadata["kernelspec"]["language"] == "python"
    assert nb.metadata["jupytext"]["text_representation"]["format_version"] == "1.3"
    assert [c.kind for c in nb.cells] == ["markdown", "code", "code", "code", "code", "markdown", "code", "raw"]
    assert nb.cells[0].source == "# House prices\n\nA regression on the Ames data."
    assert nb.cells[2].title == "Load"
    assert nb.cells[2].tags == ("nbsplit:data-prep",)
    assert nb.cells[3].tags == ("nbsplit:eda", "hide-input")
    assert nb.cells[4].source == ""
    assert nb.cells[5].tags == ("nbsplit:training",)
    assert nb.cells[6].source.startswith("%time\nX_train")  # commented magic is a magic again
    assert nb.cells[7].source == "a raw cell"


def test_percent_code_before_first_marker_and_txt() -> None:
    nb = read_notebook(CASES / "percent_no_header.txt")
    assert nb.format == "percent"
    assert [c.kind for c in nb.cells] == ["code", "markdown", "code"]
    assert nb.cells[0].source == "import numpy as np\nSEED = 42"
    assert nb.cells[1].source == "Notes"
    assert nb.cells[2].title == "Fit model"
    assert nb.cells[2].source.startswith("# nbsplit: training\n")


def test_percent_marker_options() -> None:
    from nbsplit.read.percent import parse_marker

    m = parse_marker('# %% Some title [markdown] tags=["a", "b"] key="v"')
    assert m is not None
    assert (m.kind, m.title, dict(m.options)) == ("markdown", "Some title", {"tags": ["a", "b"], "key": "v"})
    m = parse_marker("# %% x = 1 and more")
    assert m is not None and m.title == "x = 1 and more" and dict(m.options) == {}
    assert parse_marker("x = 1  # %% not a marker") is None
    assert parse_marker("#%%") is not None


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        pytest.param("bad_json.ipynb", "invalid JSON at line 2 column 1", id="bad-json"),
        pytest.param("not_notebook.json", "not a Jupyter notebook", id="json-not-notebook"),
        pytest.param("invalid_nb.ipynb", "at cells/0/attachments: 'chart.png' is not of type 'object'", id="invalid-notebook"),
        pytest.param("r_kernel.ipynb", "R notebook", id="r-kernel"),
        pytest.param("scala_kernel.ipynb", "Scala notebook", id="scala-kernel"),
        pytest.param("percent_r.py", "R notebook", id="percent-r"),
        pytest.param("scala_export.scala", "Scala Databricks notebook", id="scala-databricks"),
        pytest.param("scala_as_py.py", "Scala Databricks notebook", id="scala-databricks-py"),
        pytest.param("sql_export.sql", "SQL Databricks notebook", id="sql-databricks"),
        pytest.param("r_export.r", "R Databricks notebook", id="r-databricks"),
        pytest.param("r_export_as.py", "R Databricks notebook", id="r-databricks-by-content"),
        pytest.param("plain_script.py", "accepted formats", id="plain-py"),
    ],
)
def test_bad_inputs(name: str, needle: str) -> None:
    with pytest.raises(NbsplitError) as info:
        read_notebook(CASES / name)
    message = str(info.value)
    assert needle in message
    assert name in message
    assert "\n" not in message
    assert info.value.exit_code == EXIT_USAGE


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NbsplitError, match=r"nope\.ipynb: no such file"):
        read_notebook(tmp_path / "nope.ipynb")


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.ipynb"
    folder.mkdir()
    with pytest.raises(NbsplitError, match=r"folder\.ipynb: is a directory"):
        read_notebook(folder)


@pytest.mark.parametrize("content", [b"", b"  \n\n"], ids=["empty", "blank"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.ipynb"
    path.write_bytes(content)
    with pytest.raises(NbsplitError, match=r"empty\.ipynb: empty file"):
        read_notebook(path)


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\x00\x00", b"caf\xe9 = 1\n# %%\n"], ids=["nul", "latin1"])
def test_binary_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "image.py"
    path.write_bytes(content)
    with pytest.raises(NbsplitError, match=r"image\.py: (binary file|not UTF-8)"):
        read_notebook(path)


def test_unsupported_nbformat_version(tmp_path: Path) -> None:
    path = tmp_path / "future.ipynb"
    path.write_text(json.dumps({"nbformat": 9, "cells": [], "metadata": {}}))
    with pytest.raises(NbsplitError, match="future.ipynb: unsupported nbformat version 9"):
        read_notebook(path)


def test_unknown_text_without_extension(tmp_path: Path) -> None:
    path = tmp_path / "README"
    path.write_text("hello world\n")
    with pytest.raises(NbsplitError, match="README: not a notebook; accepted formats"):
        read_notebook(path)


def test_bom_is_tolerated() -> None:
    text = "\ufeff# Databricks notebook source\nx = 1\n"
    nb = read_text(text, "bom.py")
    assert nb.cells[0].source == "x = 1" and nb.text == text


def test_databricks_exported_ipynb_in_r_is_refused(tmp_path: Path) -> None:
    raw = json.loads((CASES / "databricks_export.ipynb").read_text())
    raw["metadata"]["application/vnd.databricks.v1+notebook"]["language"] = "r"
    path = tmp_path / "r_export.ipynb"
    path.write_text(json.dumps(raw))
    with pytest.raises(NbsplitError, match=r"r_export\.ipynb: R notebook"):
        read_notebook(path)


def test_non_python_cell_magics_do_not_make_a_notebook_foreign() -> None:
    nb = read_notebook(CASES / "databricks_churn.py")  # has %sql and %sh cells
    assert nb.language == "python"
