"""``nbsplit check`` as a library: every rule with a failing and a passing notebook.

Notebooks are built with nbformat in tmp_path (Databricks source and percent scripts are
copied from tests/check_cases/), checked with ``check_files`` and the report asserted line by
line in the linters' format ``path:cell N: NBS### message``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from nbsplit.check import CheckReport, check_files, format_json, format_text
from nbsplit.config import Config

CASES = Path(__file__).parent / "check_cases"

SETUP = "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression"
LOAD = "df = pd.read_csv('churn.csv')\ndf = df.dropna()"
SHOW = "df.describe()"
FIT = "model = LogisticRegression().fit(df[['tenure']], df['churn'])"
SCORE = "print(model.score(df[['tenure']], df['churn']))"


def write_nb(path: Path, cells: list[tuple[str, str, list[str]]]) -> Path:
    """cells: (kind, source, tags)."""
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    for kind, source, tags in cells:
        cell = v4.new_markdown_cell(source) if kind == "md" else v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def tagged_notebook(path: Path) -> Path:
    return write_nb(path, [
        ("md", "# Churn", ["nbsplit:setup"]),
        ("code", SETUP, ["nbsplit:setup"]),
        ("code", LOAD, ["nbsplit:data-prep"]),
        ("code", SHOW, ["nbsplit:eda"]),
        ("code", FIT, ["nbsplit:training"]),
        ("code", SCORE, ["nbsplit:evaluation"]),
        ("code", "", []),
    ])


def check(*paths: Path, config: Config | None = None, **kwargs) -> CheckReport:
    return check_files(list(paths), config=config or Config(), **kwargs)


def codes(report: CheckReport) -> list[tuple[str, int | None, str]]:
    return [(p.path.name, p.cell, p.code) for p in report.problems]


def lines(report: CheckReport) -> list[str]:
    return format_text(report).splitlines()


# -- a clean notebook ---------------------------------------------------------------------------


def test_fully_tagged_notebook_passes_even_with_required_tags(tmp_path: Path) -> None:
    path = tagged_notebook(tmp_path / "nb.ipynb")
    report = check(path, require_tags=True, threshold=1.0)
    assert report.problems == ()
    assert report.exit_code == 0
    assert lines(report) == ["1 file OK"]


# -- NBS101 ---------------------------------------------------------------------------------------


def test_nbs101_misspelled_tag_names_cell_and_suggests(tmp_path: Path) -> None:
    path = tagged_notebook(tmp_path / "nb.ipynb")
    nb = nbformat.read(path, as_version=4)
    nb.cells[4].metadata["tags"] = ["nbsplit:trainig"]
    nbformat.write(nb, path)
    report = check(path)
    assert codes(report) == [("nb.ipynb", 4, "NBS101")]
    assert lines(report)[0] == (f"{path}:cell 4: NBS101 unknown stage tag 'nbsplit:trainig' "
                                "(did you mean 'nbsplit:training'?)")
    assert lines(report)[-1] == "1 problem (1 error, 0 warnings) in 1 file"
    assert report.exit_code == 1


def test_nbs101_misspelled_prefix(tmp_path: Path) -> None:
    path = write_nb(tmp_path / "nb.ipynb", [("code", SETUP, ["nbsplit:setup"]),
                                            ("code", LOAD, ["nbslpit:data-prep"])])
    report = check(path)
    assert codes(report) == [("nb.ipynb", 1, "NBS101")]
    assert "did you mean 'nbsplit:data-prep'?" in report.problems[0].message


def test_nbs101_directive_typo_in_databricks_source(tmp_path: Path) -> None:
    bad = shutil.copy(CASES / "databricks_typo.py", tmp_path / "churn_dbx.py")
    report = check(Path(bad))
    assert codes(report) == [("churn_dbx.py", 3, "NBS101")]
    assert "'# nbsplit: trainig'" in report.problems[0].message
    assert "did you mean '# nbsplit: training'?" in report.problems[0].message

    good = tmp_path / "fixed_dbx.py"
    good.write_text(Path(bad).read_text().replace("nbsplit: trainig", "nbsplit: training"))
    assert check(good).problems == ()


def test_nbs101_tag_typo_in_percent_script(tmp_path: Path) -> None:
    path = Path(shutil.copy(CASES / "percent_tagged.py", tmp_path / "pct.py"))
    assert check(path, require_tags=True).problems == ()
    path.write_text(path.read_text().replace('"nbsplit:eda"', '"nbsplit:edaa"'))
    report = check(path)
    assert [p.code for p in report.problems] == ["NBS101"]
    assert "'nbsplit:eda'" in report.problems[0].message


def test_nbs101_directive_not_on_first_line_is_not_honoured(tmp_path: Path) -> None:
    path = write_nb(tmp_path / "nb.ipynb", [
        ("code", SETUP, ["nbsplit:setup"]),
        ("code", "# load the data\n# nbsplit: data-prep\n" + LOAD, []),
    ])
    report = check(path)
    assert codes(report) == [("nb.ipynb", 1, "NBS101")]
    assert "first line" in report.problems[0].message


# -- NBS102 ---------------------------------------------------------------------------------------


def test_nbs102_two_stage_tags(tmp_path: Path) -> None:
    path = tagged_notebook(tmp_path / "nb.ipynb")
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].metadata["tags"] = ["nbsplit:eda", "nbsplit:data-prep"]
    nbformat.write(nb, path)
    report = check(path)
    assert codes(report) == [("nb.ipynb", 3, "NBS102")]
    line = lines(report)[0]
    assert "'nbsplit:eda' and 'nbsplit:data-prep'" in line and line.endswith("| df.describe()")


def test_nbs102_tag_and_directive_disagree(tmp_path: Path) -> None:
    path = write_nb(tmp_path / "nb.ipynb", [("code", SETUP, ["nbsplit:setup"]),
                                            ("code", "# nbsplit: eda\n" + LOAD, ["nbsplit:data-prep"])])
    assert codes(check(path)) == [("nb.ipynb", 1, "NBS102")]
    # The same stage twice is fine.
    path = write_nb(tmp_path / "ok.ipynb", [("code", SETUP, ["nbsplit:setup"]),
                                            ("code", "# nbsplit: data-prep\n" + LOAD, ["nbsplit:data-prep"])])
    assert check(path).problems == ()


# -- NBS103 ---------------------------------------------------------------------------------------


def untagged_notebook(path: Path) -> Path:
    return write_nb(path, [
        ("md", "# Churn", []),
        ("code", SETUP, ["nbsplit:setup"]),
        ("code", LOAD, []),
        ("code", SHOW, []),
        ("code", "   \n", []),
        ("code", FIT, ["nbsplit:training"]),
    ])


def test_nbs103_required_tags_from_option_and_from_config(tmp_path: Path) -> None:
    path = untagged_notebook(tmp_path / "nb.ipynb")
    for report in (check(path, require_tags=True), check(path, config=Config(require_tags=True))):
        # markdown and empty code cells need no tag
        assert codes(report) == [("nb.ipynb", 2, "NBS103"), ("nb.ipynb", 3, "NBS103")]
        assert report.exit_code == 1
        assert "nbsplit:data-prep" in report.problems[0].message  # what to add
        assert lines(report)[1].endswith("| df.describe()")
    # the option wins over the config
    assert [p.code for p in check(path, config=Config(require_tags=True), require_tags=False,
                                  threshold=0.0).problems] == []


def test_nbs103_databricks_untaggable_magic_cells_are_exempt(tmp_path: Path) -> None:
    path = tmp_path / "dbx.py"
    path.write_text(
        "# Databricks notebook source\n# MAGIC %md\n# MAGIC # Title\n\n# COMMAND ----------\n\n"
        "# MAGIC %pip install mlflow\n\n# COMMAND ----------\n\n"
        "# nbsplit: data-prep\ndf = spark.table('main.churn.raw')\n\n# COMMAND ----------\n\n"
        "display(df)\n"
    )
    report = check(path, require_tags=True)
    assert codes(report) == [("dbx.py", 3, "NBS103")]
    assert "'# nbsplit: " in report.problems[0].message  # a directive, not a tag, for Databricks


# -- NBS104 ---------------------------------------------------------------------------------------


def test_nbs104_low_confidence_is_a_warning_that_fails_only_when_strict(tmp_path: Path) -> None:
    path = untagged_notebook(tmp_path / "nb.ipynb")
    report = check(path, threshold=1.0)  # every inferred stage is below 1.0
    assert codes(report) == [("nb.ipynb", 2, "NBS104"), ("nb.ipynb", 3, "NBS104")]
    assert {p.severity for p in report.problems} == {"warning"}
    assert report.exit_code == 0
    assert lines(report)[-1] == "2 problems (0 errors, 2 warnings) in 1 file"
    assert check(path, threshold=1.0, strict=True).exit_code == 1
    assert check(path, threshold=0.0).problems == ()
    # the threshold comes from the config when not given
    assert len(check(path, config=Config(threshold=1.0)).problems) == 2


def test_nbs104_not_reported_when_tags_are_required(tmp_path: Path) -> None:
    path = untagged_notebook(tmp_path / "nb.ipynb")
    assert {p.code for p in check(path, threshold=1.0, require_tags=True).problems} == {"NBS103"}


# -- NBS105 / NBS106 ------------------------------------------------------------------------------


def test_nbs105_backward_dependency_names_both_cells_and_moves_nothing(tmp_path: Path) -> None:
    path = write_nb(tmp_path / "nb.ipynb", [
        ("code", SETUP, ["nbsplit:setup"]),
        ("code", LOAD, ["nbsplit:data-prep"]),
        ("code", FIT, ["nbsplit:training"]),
        ("code", "coefs = list(model.coef_)", ["nbsplit:featurization"]),  # reads what training makes
    ])
    before = path.read_bytes()
    report = check(path)
    assert codes(report) == [("nb.ipynb", 3, "NBS105")]
    message = report.problems[0].message
    assert "cell 3" in message and "cell 2" in message and "training" in message
    assert report.exit_code == 1
    # eda is a side branch: it may look at what any stage built.
    eda = write_nb(tmp_path / "eda.ipynb", [
        ("code", SETUP, ["nbsplit:setup"]), ("code", LOAD, ["nbsplit:data-prep"]),
        ("code", FIT, ["nbsplit:training"]), ("code", "print(model.coef_)", ["nbsplit:eda"]),
    ])
    assert check(eda).problems == ()
    assert path.read_bytes() == before
    # Tagged in pipeline order, the same cells pass.
    ok = write_nb(tmp_path / "ok.ipynb", [
        ("code", SETUP, ["nbsplit:setup"]), ("code", LOAD, ["nbsplit:data-prep"]),
        ("code", FIT, ["nbsplit:training"]), ("code", "print(model.coef_)", ["nbsplit:evaluation"]),
    ])
    assert check(ok).problems == ()


def test_nbs106_cycle_between_stages_names_the_cells(tmp_path: Path) -> None:
    path = write_nb(tmp_path / "nb.ipynb", [
        ("code", SETUP, ["nbsplit:setup"]),
        ("code", LOAD, ["nbsplit:data-prep"]),
        ("code", FIT, ["nbsplit:training"]),  # training reads df from data-prep ...
        ("code", "df['pred'] = model.predict(df[['tenure']])", ["nbsplit:data-prep"]),  # ... and back
    ])
    report = check(path)
    assert codes(report) == [("nb.ipynb", 3, "NBS106")]
    message = report.problems[0].message
    assert "data-prep -> training -> data-prep" in message
    for cell in ("cell 3", "cell 2", "cell 1"):
        assert cell in message


def test_a_conflict_between_inferred_stages_warns_and_the_same_stages_tagged_fail(tmp_path: Path) -> None:
    """Errors are about what the team wrote; a backward read or cycle that involves a stage the
    classifier guessed is a warning, because convert places untagged cells itself (and a refit
    of the weights may change the guess). Written as tags, the same stages are an error."""
    from nbsplit.api import plan_notebook
    from nbsplit.check import INFERRED_CONFLICT

    cells = [
        "import pandas as pd\nfrom sklearn.pipeline import Pipeline\n"
        "from sklearn.preprocessing import StandardScaler\nfrom sklearn.linear_model import LogisticRegression",
        LOAD,
        "features = ['tenure', 'charges']\nX = df[features]\ny = df['churn']",
        "classifier = LogisticRegression(C=0.5, max_iter=500)",
        "preprocess = StandardScaler()\npipeline = Pipeline([('scale', preprocess), ('clf', classifier)])",
        "pipeline.fit(X, y)",
    ]
    untagged = write_nb(tmp_path / "untagged.ipynb", [("code", c, []) for c in cells])
    before = untagged.read_bytes()
    report = check(untagged, threshold=0.0)
    conflicts = [p for p in report.problems if p.code in ("NBS105", "NBS106")]
    assert conflicts, "the classifier no longer guesses a conflict here: pick cells it does"
    assert {p.severity for p in conflicts} == {"warning"}
    assert all(p.message.endswith(INFERRED_CONFLICT) for p in conflicts)
    assert report.exit_code == 0
    assert check(untagged, threshold=0.0, strict=True).exit_code == 1
    assert untagged.read_bytes() == before
    # convert's plan reconciles the guesses: no error, the cells placed
    placed = plan_notebook(untagged)
    assert not [d for d in placed.diagnostics if d.severity == "error"]
    assert placed.moves

    guessed = [c.stage.value for c in plan_notebook(untagged, strict=True).classifications]
    tagged = write_nb(tmp_path / "tagged.ipynb", [("code", c, [f"nbsplit:{s}"]) for c, s in zip(cells, guessed)])
    decided = check(tagged, threshold=0.0)
    assert [(p.cell, p.code) for p in decided.problems] == [(p.cell, p.code) for p in conflicts]
    assert {p.severity for p in decided.problems} == {"error"}
    assert not any(INFERRED_CONFLICT in p.message for p in decided.problems)
    assert decided.exit_code == 1
    # a team's [tool.nbsplit.rules] decide stages as tags do
    import re

    from nbsplit.config import Rule
    from nbsplit.model import Stage
    rules = tuple(Rule(Stage(s), source=re.escape(c.splitlines()[0])) for c, s in zip(cells, guessed))
    by_rules = check(untagged, config=Config(rules=rules), threshold=0.0)
    assert {(p.cell, p.code, p.severity) for p in by_rules.problems} == {(p.cell, p.code, "error") for p in conflicts}
    # one guessed cell on the loop is enough for convert to resolve it: a warning again
    loop_cell = conflicts[0].cell
    mixed = write_nb(tmp_path / "mixed.ipynb", [("code", c, [] if i == loop_cell else [f"nbsplit:{s}"])
                                                for i, (c, s) in enumerate(zip(cells, guessed))])
    assert {p.severity for p in check(mixed, threshold=0.0).problems if p.code in ("NBS105", "NBS106")} == {"warning"}


# -- NBS100 and skipped files ---------------------------------------------------------------------


def test_nbs100_unreadable_file_is_reported_and_others_still_checked(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ipynb"
    bad.write_text('{"cells": [\n  {"a": 1,,}\n]}')
    good = tagged_notebook(tmp_path / "good.ipynb")
    report = check(bad, good)
    assert codes(report) == [("broken.ipynb", None, "NBS100")]
    assert lines(report)[0].startswith(f"{bad}: NBS100 invalid JSON at line 2")
    assert report.checked == (bad, good)
    assert report.exit_code == 1


def test_plain_python_files_are_skipped_silently(tmp_path: Path) -> None:
    plain = Path(shutil.copy(CASES / "plain_module.py", tmp_path / "utils.py"))
    dbx = Path(shutil.copy(CASES / "databricks_typo.py", tmp_path / "dbx.py"))
    pct = Path(shutil.copy(CASES / "percent_tagged.py", tmp_path / "pct.py"))
    report = check(plain, dbx, pct)
    assert report.skipped == (plain,)
    assert report.checked == (dbx, pct)
    assert {p.path for p in report.problems} == {dbx}
    only_plain = check(plain)
    assert only_plain.problems == () and only_plain.exit_code == 0
    assert lines(only_plain) == ["no notebooks to check (1 skipped: not notebooks or generated stages)"]


# -- noqa and ignore ------------------------------------------------------------------------------


def test_noqa_tag_for_all_rules_and_for_one_rule(tmp_path: Path) -> None:
    path = untagged_notebook(tmp_path / "nb.ipynb")
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].metadata["tags"] = ["nbsplit:noqa"]
    nb.cells[3].metadata["tags"] = ["nbsplit:noqa=NBS104"]
    nbformat.write(nb, path)
    assert check(path, threshold=1.0).problems == ()
    # noqa=NBS104 does not silence NBS103; the bare noqa silences everything
    assert codes(check(path, require_tags=True)) == [("nb.ipynb", 3, "NBS103")]


def test_noqa_directive_in_databricks_source(tmp_path: Path) -> None:
    path = tmp_path / "dbx.py"
    text = ("# Databricks notebook source\nimport pandas as pd\n\n# COMMAND ----------\n\n"
            "{mark}df = pd.read_csv('x.csv')\n")
    path.write_text(text.format(mark=""))
    assert codes(check(path, require_tags=True)) == [("dbx.py", 0, "NBS103"), ("dbx.py", 1, "NBS103")]
    path.write_text(text.format(mark="# nbsplit: noqa\n"))
    assert codes(check(path, require_tags=True)) == [("dbx.py", 0, "NBS103")]
    path.write_text(text.format(mark="# nbsplit: noqa=NBS104\n"))
    assert codes(check(path, require_tags=True)) == [("dbx.py", 0, "NBS103"), ("dbx.py", 1, "NBS103")]


def test_noqa_on_backward_dependency_cell(tmp_path: Path) -> None:
    path = write_nb(tmp_path / "nb.ipynb", [
        ("code", SETUP, ["nbsplit:setup"]), ("code", LOAD, ["nbsplit:data-prep"]),
        ("code", FIT, ["nbsplit:training"]), ("code", "print(model.coef_)", ["nbsplit:eda", "nbsplit:noqa=NBS105"]),
    ])
    assert check(path).problems == ()


def test_ignore_in_config_switches_a_rule_off(tmp_path: Path) -> None:
    path = untagged_notebook(tmp_path / "nb.ipynb")
    assert check(path, config=Config(require_tags=True, ignore=("NBS103",))).problems == ()
    assert check(path, config=Config(threshold=1.0, ignore=("NBS104",))).problems == ()
    assert len(check(path, config=Config(threshold=1.0, ignore=("NBS101",))).problems) == 2


# -- NBS107 / NBS108 ------------------------------------------------------------------------------


def converted(folder: Path, notebook: Path, sha256: str | None = None) -> Path:
    """A converted folder with the manifest convert writes (source path relative to it)."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = sha256 or hashlib.sha256(notebook.read_bytes()).hexdigest()
    rel = Path(*[".."] * len(folder.relative_to(notebook.parent).parts)) / notebook.name
    manifest = {"source": {"path": rel.as_posix(), "sha256": digest, "format": "ipynb"}, "cells": []}
    (folder / "nbsplit-manifest.json").write_text(json.dumps(manifest))
    return folder


def test_nbs107_stale_stages_folder(tmp_path: Path) -> None:
    path = tagged_notebook(tmp_path / "nb.ipynb")
    stages = converted(tmp_path / "pipeline", path)
    assert check(path, stages_dir=stages).problems == ()
    converted(stages, path, sha256="0" * 64)
    report = check(path, stages_dir=stages)
    assert codes(report) == [("nb.ipynb", None, "NBS107")]
    assert "stale" in report.problems[0].message and "nbsplit convert" in report.problems[0].message
    assert report.exit_code == 1


def test_nbs107_notebook_edited_after_conversion(tmp_path: Path) -> None:
    path = tagged_notebook(tmp_path / "nb.ipynb")
    stages = converted(tmp_path / "pipeline", path)
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].source = "df.info()"
    nbformat.write(nb, path)
    assert [p.code for p in check(path, stages_dir=stages).problems] == ["NBS107"]


def test_nbs108_missing_folder_missing_manifest_other_notebook(tmp_path: Path) -> None:
    path = tagged_notebook(tmp_path / "nb.ipynb")
    other = tagged_notebook(tmp_path / "other.ipynb")
    report = check(path, stages_dir=tmp_path / "nowhere")
    assert codes(report) == [("nb.ipynb", None, "NBS108")] and "does not exist" in report.problems[0].message
    empty = tmp_path / "empty"
    empty.mkdir()
    report = check(path, stages_dir=empty)
    assert codes(report) == [("nb.ipynb", None, "NBS108")] and "nbsplit-manifest.json" in report.problems[0].message
    report = check(path, stages_dir=converted(tmp_path / "other_pipeline", other))
    assert codes(report) == [("nb.ipynb", None, "NBS108")] and "other.ipynb" in report.problems[0].message
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "nbsplit-manifest.json").write_text("{not json")
    assert [p.code for p in check(path, stages_dir=broken).problems] == ["NBS108"]


def test_stages_parent_folder_holds_one_converted_folder_per_notebook(tmp_path: Path) -> None:
    a = tagged_notebook(tmp_path / "a.ipynb")
    b = tagged_notebook(tmp_path / "b.ipynb")
    pipelines = tmp_path / "pipelines"
    converted(pipelines / "a", a)
    converted(pipelines / "b", b, sha256="f" * 64)
    report = check(a, b, stages_dir=pipelines)
    assert codes(report) == [("b.ipynb", None, "NBS107")]


# -- --fix ----------------------------------------------------------------------------------------


def test_fix_tags_untagged_cells_exits_1_then_passes(tmp_path: Path) -> None:
    path = untagged_notebook(tmp_path / "nb.ipynb")
    nb_before = nbformat.read(path, as_version=4)
    report = check(path, fix=True, require_tags=True)
    # like `nbsplit tag --write`: the markdown title is tagged too (it anchors its section)
    assert [(f.path, list(f.tagged)) for f in report.fixes] == [(path, [(0, "setup"), (2, "data-prep"), (3, "eda")])]
    assert lines(report)[0] == f"{path}: tagged 3 cells"
    assert report.problems == ()  # the check after the fix finds nothing left
    assert report.exit_code == 1  # pre-commit convention: a fixer that changed files fails
    nb_after = nbformat.read(path, as_version=4)
    assert nb_after.cells[2].metadata["tags"] == ["nbsplit:data-prep"]
    assert nb_after.cells[3].metadata["tags"] == ["nbsplit:eda"]
    # already tagged cells are untouched; sources and ids are kept
    for i in (1, 5):
        assert nb_after.cells[i].metadata == nb_before.cells[i].metadata
    assert [c.source for c in nb_after.cells] == [c.source for c in nb_before.cells]
    assert [c.id for c in nb_after.cells] == [c.id for c in nb_before.cells]

    second = check(path, fix=True, require_tags=True)
    assert second.fixes == () and second.problems == () and second.exit_code == 0


def test_fix_leaves_mistyped_and_noqa_cells_alone(tmp_path: Path) -> None:
    path = untagged_notebook(tmp_path / "nb.ipynb")
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].metadata["tags"] = ["nbsplit:data_prep"]
    nb.cells[3].metadata["tags"] = ["nbsplit:noqa"]
    nbformat.write(nb, path)
    report = check(path, fix=True)
    assert [list(f.tagged) for f in report.fixes] == [[(0, "setup")]]  # only the untagged title
    after = nbformat.read(path, as_version=4)
    assert after.cells[2].metadata["tags"] == ["nbsplit:data_prep"]
    assert after.cells[3].metadata["tags"] == ["nbsplit:noqa"]
    assert codes(report) == [("nb.ipynb", 2, "NBS101")]


def test_fix_databricks_source_adds_directives(tmp_path: Path) -> None:
    path = tmp_path / "dbx.py"
    path.write_text("# Databricks notebook source\nimport pandas as pd\n\n# COMMAND ----------\n\n"
                    "df = pd.read_csv('x.csv')\n\n# COMMAND ----------\n\ndf.describe()\n")
    report = check(path, fix=True, require_tags=True)
    assert report.exit_code == 1 and sum(len(f.tagged) for f in report.fixes) == 3
    text = path.read_text()
    assert text.startswith("# Databricks notebook source\n")
    assert "# nbsplit: data-prep\ndf = pd.read_csv" in text
    assert check(path, require_tags=True).exit_code == 0


def test_fix_then_stale_stages_folder(tmp_path: Path) -> None:
    """Tagging changes the notebook's bytes, so its converted folder becomes stale."""
    path = untagged_notebook(tmp_path / "nb.ipynb")
    stages = converted(tmp_path / "pipeline", path)
    report = check(path, fix=True, stages_dir=stages)
    assert [p.code for p in report.problems] == ["NBS107"]


# -- JSON -----------------------------------------------------------------------------------------


def test_json_report(tmp_path: Path) -> None:
    path = untagged_notebook(tmp_path / "nb.ipynb")
    data = json.loads(format_json(check(path, require_tags=True)))
    assert data["summary"] == {"files": 1, "errors": 2, "warnings": 0, "tagged_cells": 0}
    assert data["exit_code"] == 1
    first = data["problems"][0]
    assert first == {"path": str(path), "cell": 2, "code": "NBS103", "severity": "error",
                     "message": first["message"], "first_line": "df = pd.read_csv('churn.csv')"}
    assert data["checked"] == [str(path)] and data["skipped"] == []


def test_same_file_twice_is_checked_once(tmp_path: Path) -> None:
    path = untagged_notebook(tmp_path / "nb.ipynb")
    report = check(path, path, require_tags=True)
    assert len(report.problems) == 2 and report.checked == (path,)


def test_timings_cover_each_step(tmp_path: Path) -> None:
    report = check(tagged_notebook(tmp_path / "nb.ipynb"))
    assert {"read", "analyze", "classify", "plan"} <= set(report.timings)
    assert all(t >= 0 for t in report.timings.values())


def test_report_is_a_value(tmp_path: Path) -> None:
    report = check(tagged_notebook(tmp_path / "nb.ipynb"))
    assert replace(report, strict=True).exit_code == 0


def test_real_convert_output_is_fresh_then_stale(tmp_path: Path) -> None:
    """With the folder ``nbsplit convert`` writes: fresh right after, stale after an edit;
    found next to the notebook without --stages; its stage notebooks are skipped as output."""
    from nbsplit.convert import convert_notebook

    path = tagged_notebook(tmp_path / "nb.ipynb")
    out = tmp_path / "nb_pipeline"
    convert_notebook(path, out)
    stage_notebooks = sorted(out.glob("*.ipynb"))
    assert stage_notebooks
    assert check(path, stages_dir=out).problems == ()
    assert check(path).problems == ()
    report = check(path, *stage_notebooks)
    assert report.checked == (path,) and report.skipped == tuple(stage_notebooks)

    nb = nbformat.read(path, as_version=4)
    nb.cells[3].source = "df.info()"
    nbformat.write(nb, path)
    assert codes(check(path, stages_dir=out)) == [("nb.ipynb", None, "NBS107")]
    assert codes(check(path)) == [("nb.ipynb", None, "NBS107")]  # sibling folder found by itself
    assert "nb_pipeline" in check(path).problems[0].message


@pytest.mark.parametrize("sample", ["messy_sales.ipynb", "databricks_housing.py"])
def test_nbs107_writing_the_inferred_tags_keeps_the_stages_fresh(tmp_path: Path, sample: str) -> None:
    """Staleness is judged on what decides the split (cell sources without directives, effective
    stages), not on bytes: the nbsplit-tag hook writing tags must not make the folder stale."""
    from nbsplit.convert import convert_notebook
    from nbsplit.tagging import apply_tags, plan_tags

    source = Path(__file__).parent.parent / "sample_notebooks" / sample
    path = tmp_path / sample
    shutil.copy(source, path)
    if sample.endswith(".py"):  # strip its directives, so there are tags to write back
        path.write_text("\n".join(line for line in path.read_text().splitlines()
                                  if not line.startswith("# nbsplit:")) + "\n")
    else:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if not t.startswith("nbsplit:")]
        nbformat.write(nb, path)
    out = tmp_path / "stages"
    convert_notebook(path, out)
    before = path.read_bytes()
    changes = plan_tags(path, Config(), overwrite=False)
    assert changes.to_add
    apply_tags(changes)
    assert path.read_bytes() != before
    assert codes(check(path, stages_dir=out)) == []
    # A new code cell still makes it stale.
    if sample.endswith(".py"):
        path.write_text(path.read_text() + "\n# COMMAND ----------\n\nprint('one more cell')\n")
    else:
        nb = nbformat.read(path, as_version=4)
        nb.cells.append(v4.new_code_cell("print('one more cell')"))
        nbformat.write(nb, path)
    assert (sample, None, "NBS107") in codes(check(path, stages_dir=out))


def test_nbs116_a_cell_that_does_not_parse_is_a_warning_until_fixed_or_skipped(tmp_path: Path) -> None:
    path = write_nb(tmp_path / "nb.ipynb", [
        ("code", SETUP, ["nbsplit:setup"]),
        ("code", " " + LOAD.replace("\n", "\n "), ["nbsplit:data-prep"]),  # indented as a whole: Jupyter runs it
        ("code", "%%bash\nls data | wc -l", ["nbsplit:eda"]),
        ("code", FIT, ["nbsplit:training"]),
        ("code", 'print "accuracy", model.score(df[["tenure"]], df["churn"])', ["nbsplit:evaluation"]),
    ])
    report = check(path)
    assert codes(report) == [("nb.ipynb", 4, "NBS116")]
    problem = report.problems[0]
    assert problem.severity == "warning" and report.exit_code == 0
    # Python's own words, which say what to change
    assert problem.message.startswith("does not parse as Python (line 1: Missing parentheses in call to 'print'")
    assert "classified from text only" not in problem.message
    assert lines(report)[0].endswith('| print "accuracy", model.score(df[["tenure"]], df["churn"])')
    assert check(path, strict=True).exit_code == 1

    nb = nbformat.read(path, as_version=4)
    nb.cells[4].metadata["tags"] = ["nbsplit:evaluation", "nbsplit:noqa=NBS116"]
    nbformat.write(nb, path)
    assert check(path, strict=True).problems == ()
    nb.cells[4].metadata["tags"] = ["nbsplit:skip"]  # notes, not code: it goes nowhere
    nbformat.write(nb, path)
    assert check(path, strict=True).problems == ()
    nb.cells[4].metadata["tags"] = ["nbsplit:evaluation"]
    nb.cells[4].source = 'print("accuracy", model.score(df[["tenure"]], df["churn"]))'
    nbformat.write(nb, path)
    assert check(path, strict=True).problems == ()
