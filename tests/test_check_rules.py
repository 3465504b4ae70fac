"""The lenient mark scanner behind ``nbsplit check``: what counts as a tag, a typo, a noqa."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nbsplit.check_rules import RULES, closest_slug, scan_cell
from nbsplit.model import Cell


def code(source: str = "x = 1", tags: tuple[str, ...] = ()) -> Cell:
    return Cell(index=0, kind="code", source=source, tags=tags)


@pytest.mark.parametrize(
    "cell, stages",
    [
        pytest.param(code(tags=("nbsplit:eda",)), ("eda",), id="tag"),
        pytest.param(code(tags=("NBSplit:Training",)), ("training",), id="tag-any-case"),
        pytest.param(code(tags=("parameters", "nbsplit:data-prep")), ("data-prep",), id="tag-among-others"),
        pytest.param(code("# nbsplit: featurization\nX = df"), ("featurization",), id="directive"),
        pytest.param(code("#nbsplit:eda\ndf.head()"), ("eda",), id="directive-no-spaces"),
        pytest.param(code("%sql\n-- nbsplit: eda\nSELECT 1"), ("eda",), id="directive-after-sql-magic"),
        pytest.param(code("x = 1", ("nbsplit:eda", "nbsplit:training")), ("eda", "training"), id="two-tags"),
        pytest.param(code("# nbsplit: eda\nx", ("nbsplit:eda",)), ("eda",), id="tag-and-directive-agree"),
    ],
)
def test_valid_stage_marks(cell: Cell, stages: tuple[str, ...]) -> None:
    marks = scan_cell(cell)
    assert marks.stages == stages
    assert marks.bad == ()


@pytest.mark.parametrize(
    "cell, written, suggestion",
    [
        pytest.param(code(tags=("nbsplit:trainig",)), "nbsplit:trainig", "nbsplit:training", id="slug-typo"),
        pytest.param(code(tags=("nbsplit:data_prep",)), "nbsplit:data_prep", "nbsplit:data-prep", id="underscore"),
        pytest.param(code(tags=("nbsplit:features",)), "nbsplit:features", "nbsplit:featurization", id="alias"),
        pytest.param(code(tags=("nbslpit:eda",)), "nbslpit:eda", "nbsplit:eda", id="prefix-typo"),
        pytest.param(code(tags=("nb-split:eda",)), "nb-split:eda", "nbsplit:eda", id="prefix-dash"),
        pytest.param(code(tags=("nbsplit=eda",)), "nbsplit=eda", "nbsplit:eda", id="equals-sign"),
        pytest.param(code("# nbsplit: evaluaton\nacc = 1"), "# nbsplit: evaluaton", "# nbsplit: evaluation",
                     id="directive-typo"),
        pytest.param(code("%sql\n-- nbsplit: edaa\nSELECT 1"), "-- nbsplit: edaa", "-- nbsplit: eda",
                     id="sql-directive-typo"),
        pytest.param(code(tags=("nbsplit:",)), "nbsplit:", None, id="empty-slug"),
        pytest.param(code(tags=("nbsplit:qwertyuiop",)), "nbsplit:qwertyuiop", None, id="nothing-close"),
    ],
)
def test_bad_marks_are_found_with_a_suggestion(cell: Cell, written: str, suggestion: str | None) -> None:
    marks = scan_cell(cell)
    assert not marks.tagged
    assert [(b.text, b.suggestion) for b in marks.bad] == [(written, suggestion)]


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param(code("# split: 80/20\nX_train = X[:800]"), id="split-comment"),
        pytest.param(code("# Note: slow\nx = 1"), id="note-comment"),
        pytest.param(code("x = 1  # nbsplit: eda"), id="trailing-comment-is-not-a-directive"),
        pytest.param(code("x = 1\n# nbsplit: eda"), id="directive-after-code"),
        pytest.param(code(tags=("remove-cell", "parameters", "stage:train")), id="foreign-tags"),
        pytest.param(Cell(0, "markdown", "# nbsplit: eda\nnot code"), id="markdown-heading"),
    ],
)
def test_ordinary_comments_and_foreign_tags_are_not_marks(cell: Cell) -> None:
    marks = scan_cell(cell)
    assert marks.stages == () and marks.bad == () and not marks.noqa_all


@pytest.mark.parametrize(
    "cell, all_rules, codes",
    [
        pytest.param(code(tags=("nbsplit:noqa",)), True, set(), id="tag-all"),
        pytest.param(code(tags=("nbsplit:noqa=NBS104",)), False, {"NBS104"}, id="tag-one"),
        pytest.param(code(tags=("nbsplit:noqa:NBS104,NBS105",)), False, {"NBS104", "NBS105"}, id="tag-colon-two"),
        pytest.param(code("# nbsplit: noqa\nx"), True, set(), id="directive-all"),
        pytest.param(code("# nbsplit: eda\n# nbsplit: noqa=nbs105\nx"), False, {"NBS105"},
                     id="directive-second-line-lowercase-code"),
    ],
)
def test_noqa(cell: Cell, all_rules: bool, codes: set[str]) -> None:
    marks = scan_cell(cell)
    assert marks.noqa_all is all_rules
    assert marks.noqa_codes == codes
    assert marks.bad == ()
    for code_ in RULES:
        assert marks.suppresses(code_) is (all_rules or code_ in codes)


def test_noqa_with_an_unknown_code_is_a_bad_mark() -> None:
    marks = scan_cell(code(tags=("nbsplit:noqa=NBS999",)))
    assert not marks.noqa_codes and not marks.noqa_all
    assert [b.text for b in marks.bad] == ["nbsplit:noqa=NBS999"]


@pytest.mark.parametrize(
    "word, slug",
    [("trainig", "training"), ("Data_Prep", "data-prep"), ("inference", "prediction"),
     ("evalutaion", "evaluation"), ("monitor", "monitoring"), ("EDA", "eda"), ("zzzzzz", None)],
)
def test_closest_slug(word: str, slug: str | None) -> None:
    assert closest_slug(word) == slug


def test_every_rule_documented_in_module_docstring() -> None:
    import nbsplit.check_rules as module

    for code_, rule in RULES.items():
        assert code_ in (module.__doc__ or "")
        assert rule.severity in ("error", "warning")
    assert RULES["NBS104"].severity == "warning"


def test_every_diagnostic_a_plan_gives_carries_a_documented_code(samples_dir: Path, tmp_path: Path) -> None:
    """Tools act on a diagnostic's code and cells, never on its words: a real notebook with its
    stage tags taken off (so the classifier decides, and some cells fall below the threshold),
    a cell that does not parse and a name nothing defines gives only coded diagnostics, each
    code listed in check_rules' documentation."""
    import nbformat

    from nbsplit.api import plan_notebook
    from nbsplit.check_rules import __doc__ as documented
    from nbsplit.config import Config

    nb = nbformat.read(samples_dir / "messy_sales.ipynb", as_version=4)
    for cell in nb.cells:
        cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if not t.startswith("nbsplit:")]
    nb.cells.append(nbformat.v4.new_code_cell("print 'total'"))  # Python 2: does not parse
    nb.cells.append(nbformat.v4.new_code_cell("summary = ghost_frame.describe()"))
    path = tmp_path / "messy_sales.ipynb"
    nbformat.write(nb, path)
    plan = plan_notebook(path, Config(threshold=0.99))
    codes = {d.code for d in plan.diagnostics}
    assert {"NBS104", "NBS112", "NBS116"} <= codes
    assert codes <= set(re.findall(r"^(NBS\d{3}) ", documented or "", re.M))
    assert all(d.cells and d.cells[0] == d.cell for d in plan.diagnostics if d.cell is not None)
