"""Directive parsing and the tag writer: only stage marks change, every other byte is kept."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest

from nbsplit.errors import NbsplitError
from nbsplit.model import Cell, Stage
from nbsplit.read import read_notebook, read_text
from nbsplit.read.tags import parse_directive, planned_tag_changes, set_stage_tags

CASES = Path(__file__).parent / "read_cases"


def _code(source: str, language: str = "python") -> Cell:
    return Cell(index=0, kind="code", source=source, language=language)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param(_code("# nbsplit: eda\ndf.head()"), "eda", id="first-line"),
        pytest.param(_code("\n\n  #nbsplit:training  \nfit()"), "training", id="blank-lines-no-spaces"),
        pytest.param(_code("# NBSPLIT : Data-Prep"), "Data-Prep", id="raw-text-not-validated"),
        pytest.param(_code("# nbsplit: evalution"), "evalution", id="typo-returned-as-is"),
        pytest.param(_code("# nbsplit:"), "", id="empty-slug"),
        pytest.param(_code("%sql\n-- nbsplit: eda\nSELECT 1", "sql"), "eda", id="sql-after-magic"),
        pytest.param(_code("%sh\n# nbsplit: setup\nls", "sh"), "setup", id="sh-after-magic"),
        pytest.param(_code("%%time\n# nbsplit: training\nfit()"), "training", id="ipython-cell-magic"),
        pytest.param(_code("%scala\n// nbsplit: eda\nval x = 1", "scala"), "eda", id="scala"),
        pytest.param(_code("df.head()\n# nbsplit: eda"), None, id="not-first-line"),
        pytest.param(_code("x = 1  # nbsplit: eda"), None, id="trailing-comment"),
        pytest.param(_code("-- nbsplit: eda\nx"), None, id="sql-comment-in-python"),
        pytest.param(_code("# nbsplitter: eda"), None, id="other-word"),
        pytest.param(_code("%sql\nSELECT 1\n-- nbsplit: eda", "sql"), None, id="sql-not-after-magic"),
        pytest.param(Cell(index=0, kind="markdown", source="# nbsplit: eda"), None, id="markdown"),
        pytest.param(_code(""), None, id="empty"),
    ],
)
def test_parse_directive(cell: Cell, expected: str | None) -> None:
    assert parse_directive(cell) == expected


def _without_tags(value: Any) -> Any:
    """The notebook JSON with every cell's ``metadata.tags`` removed (empty metadata kept)."""
    value = json.loads(json.dumps(value))
    cells = value.get("cells") or [c for ws in value.get("worksheets", []) for c in ws["cells"]]
    for cell in cells:
        cell.get("metadata", {}).pop("tags", None)
    return value


def _changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


# --- ipynb -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["titanic.ipynb", "no_ids_indent2.ipynb", "old_v3.ipynb", "databricks_export.ipynb"])
def test_ipynb_only_tags_change(name: str) -> None:
    nb = read_notebook(CASES / name)
    stages = {i: Stage.EDA for i in range(len(nb.cells))}
    new = set_stage_tags(nb, stages)
    assert _without_tags(json.loads(new)) == _without_tags(json.loads(nb.text))
    again = read_text(new, nb.path)
    for before, after in zip(nb.cells, again.cells):
        had_stage = any(t.startswith("nbsplit:") for t in before.tags)
        if had_stage:
            assert after.tags == before.tags  # left alone without overwrite
        else:
            assert after.tags == (*before.tags, "nbsplit:eda")  # appended, nothing removed
        assert (after.id, after.source, after.outputs) == (before.id, before.source, before.outputs)
    # the file's own layout: ignoring whitespace, the new text is the old one with only tag
    # text inserted (nothing deleted or replaced)
    squeeze_old, squeeze_new = "".join(nb.text.split()), "".join(new.split())
    matcher = difflib.SequenceMatcher(None, squeeze_old, squeeze_new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        assert op in ("equal", "insert"), (op, squeeze_old[i1:i2], squeeze_new[j1:j2])
        if op == "insert":
            assert set(squeeze_new[j1:j2]) <= set('"tags:[],nbsplit:eda'), squeeze_new[j1:j2]
    # and the layout is the file's: a changed line only gained a comma or opened its metadata
    removed, _ = _changed_lines(nb.text, new)
    new_lines = {line.rstrip().rstrip(",") for line in new.splitlines()}
    for line in removed:
        assert line.rstrip().rstrip(",") in new_lines or line.strip().startswith('"metadata": {}'), line


def test_ipynb_keeps_indent_two_and_unsorted_keys() -> None:
    nb = read_notebook(CASES / "no_ids_indent2.ipynb")
    new = set_stage_tags(nb, {0: "setup"})
    assert new.startswith('{\n  "nbformat": 4,\n  "nbformat_minor": 4,')
    assert json.loads(new)["cells"][0]["metadata"] == {"tags": ["nbsplit:setup"]}
    assert json.loads(new)["cells"][1]["metadata"] == {"tags": ["section"]}


def test_ipynb_overwrite_replaces_only_stage_tags() -> None:
    nb = read_notebook(CASES / "titanic.ipynb")
    kept = set_stage_tags(nb, {3: "eda", 1: "setup"})
    assert json.loads(kept)["cells"][3]["metadata"]["tags"] == ["nbsplit:data-prep"]
    replaced = set_stage_tags(read_text(kept, nb.path), {3: "eda", 1: "training"}, overwrite=True)
    cells = json.loads(replaced)["cells"]
    assert cells[3]["metadata"]["tags"] == ["nbsplit:eda"]
    assert cells[1]["metadata"]["tags"] == ["parameters", "nbsplit:training"]


def test_ipynb_overwrite_rewrites_directive(tmp_path: Path) -> None:
    raw = {"cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
                      "source": ["# nbsplit: eda\n", "df.describe()"]}],
           "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    text = json.dumps(raw, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    nb = read_text(text, tmp_path / "d.ipynb")
    assert set_stage_tags(nb, {0: "training"}) == text  # directive present: left alone
    new = json.loads(set_stage_tags(nb, {0: "training"}, overwrite=True))
    assert new["cells"][0]["source"] == ["# nbsplit: training\n", "df.describe()"]


def test_unchanged_when_already_marked() -> None:
    nb = read_notebook(CASES / "titanic.ipynb")
    changes = planned_tag_changes(nb, {3: "data-prep"})
    assert [c.action for c in changes] == ["unchanged"]
    assert set_stage_tags(nb, {3: "data-prep"}) == nb.text


def test_bad_index_is_an_error() -> None:
    nb = read_notebook(CASES / "titanic.ipynb")
    with pytest.raises(NbsplitError, match=r"titanic\.ipynb: no cell 99"):
        planned_tag_changes(nb, {99: "eda"})


# --- Databricks ---------------------------------------------------------------------------------


def test_databricks_directives_only_lines_added() -> None:
    nb = read_notebook(CASES / "databricks_churn.py")
    stages = {0: "setup", 1: "setup", 2: "setup", 3: "setup", 4: "data-prep", 5: "eda", 6: "featurization",
              7: "training", 8: "eda", 9: "skip", 10: "training", 11: "training"}
    changes = {c.index: c for c in planned_tag_changes(nb, stages)}
    assert {i for i, c in changes.items() if c.action == "unsupported"} == {0, 1, 2, 6, 10}  # %md, %pip, %run
    assert changes[7].action == "kept" and "featurization" in changes[7].describe()
    new = set_stage_tags(nb, stages)
    removed, added = _changed_lines(nb.text, new)
    assert removed == []
    assert added == ["# nbsplit: setup", "# nbsplit: data-prep", "# MAGIC -- nbsplit: eda", "# MAGIC # nbsplit: eda",
                     "# nbsplit: skip", "# nbsplit: training"]
    again = read_text(new, nb.path)
    assert [parse_directive(c) for c in again.cells] == [
        None, None, None, "setup", "data-prep", "eda", None, "featurization", "eda", "skip", None, "training"]
    assert again.cells[3].title == "Parameters"  # directive went after the DBTITLE line
    assert new.splitlines()[new.splitlines().index("# DBTITLE 1,Parameters") + 1] == "# nbsplit: setup"
    assert again.cells[5].source.startswith("%sql\n-- nbsplit: eda\nSELECT")
    # idempotent: tagging the tagged file again changes nothing
    assert set_stage_tags(again, stages) == new


def test_databricks_overwrite_rewrites_directives() -> None:
    nb = read_notebook(CASES / "databricks_churn.py")
    tagged = read_text(set_stage_tags(nb, {5: "eda"}), nb.path)
    new = set_stage_tags(tagged, {5: "data-prep", 7: "training"}, overwrite=True)
    removed, added = _changed_lines(tagged.text, new)
    assert removed == ["# MAGIC -- nbsplit: eda", "# nbsplit: featurization"]
    assert added == ["# MAGIC -- nbsplit: data-prep", "# nbsplit: training"]


def test_databricks_crlf_kept() -> None:
    nb = read_notebook(CASES / "databricks_crlf.py")
    new = set_stage_tags(nb, {1: "setup", 2: "eda"})
    assert new.count("\r\n") == nb.text.count("\r\n") + 2
    assert "\n" not in new.replace("\r\n", "")
    again = read_text(new, nb.path)
    assert [parse_directive(c) for c in again.cells] == [None, "setup", "eda"]


def test_databricks_last_line_without_newline(tmp_path: Path) -> None:
    text = "# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\n"
    nb = read_text(text, tmp_path / "n.py")
    new = set_stage_tags(nb, {1: "skip"})
    assert [parse_directive(c) for c in read_text(new, nb.path).cells] == [None, "skip"]


# --- percent -------------------------------------------------------------------------------------


def test_percent_tags_on_marker_lines() -> None:
    nb = read_notebook(CASES / "percent_churn.py")
    new = set_stage_tags(nb, {0: "setup", 1: "setup", 2: "eda", 4: "skip", 6: "training"})
    removed, added = _changed_lines(nb.text, new)
    assert removed == ["# %% [markdown]", "# %%", "# %%", "# %%"]
    assert added == ['# %% [markdown] tags=["nbsplit:setup"]', '# %% tags=["nbsplit:setup"]',
                     '# %% tags=["nbsplit:skip"]', '# %% tags=["nbsplit:training"]']
    again = read_text(new, nb.path)
    assert again.cells[2].tags == ("nbsplit:data-prep",)  # kept


def test_percent_overwrite_keeps_title_and_other_tags() -> None:
    nb = read_notebook(CASES / "percent_churn.py")
    new = set_stage_tags(nb, {2: "eda", 3: "evaluation"}, overwrite=True)
    removed, added = _changed_lines(nb.text, new)
    assert added == ['# %% Load tags=["nbsplit:eda"]', '# %% tags=["hide-input", "nbsplit:evaluation"]']
    assert len(removed) == 2


def test_percent_code_before_first_marker_gets_a_marker() -> None:
    nb = read_notebook(CASES / "percent_no_header.txt")
    new = set_stage_tags(nb, {0: "setup", 2: "eda"}, overwrite=True)
    assert new.startswith('# %% tags=["nbsplit:setup"]\nimport numpy as np\n')
    again = read_text(new, nb.path)
    assert len(again.cells) == len(nb.cells)
    assert again.cells[0].tags == ("nbsplit:setup",)
    assert parse_directive(again.cells[2]) == "eda"  # the directive was rewritten, no tag added
    assert again.cells[2].tags == ()
