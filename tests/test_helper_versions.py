"""Two versions of one helper in one stage: a notebook redefines ``clean`` later and cells that
land in the same stage use both. Each use must get the version it had in the monolith: the first
version is emitted with the stage's helpers, the later one right before its first reader."""

from __future__ import annotations

from pathlib import Path

from nbsplit.model import Stage
from nbsplit.render.notebooks import RenderOptions, render_stages
from tests.test_plan import plan_of, stage

CELLS = (
    ("setup", "import pandas as pd"),
    ("data-prep", "def clean(s):\n    return s.strip()"),
    ("data-prep", "raw = pd.Series([' a ', 'B '])"),
    ("featurization", "first = raw.map(clean)\nprint(list(first))"),
    ("data-prep", "def clean(s):\n    return s.strip().lower()"),
    ("featurization", "second = raw.map(clean)\nprint(list(second))"),
)


def _exec_stage(plan, s: Stage) -> dict:  # type: ignore[no-untyped-def]
    """Run the stage's code as its notebook orders it (helpers, then cells with the inline
    statements before their reader), with the handed-off values given."""
    sp = stage(plan, s)
    ns: dict = {}
    for text in sp.imports + sp.helpers:
        exec(text, ns)
    import pandas as pd

    ns["raw"] = pd.Series([" a ", "B "])
    printed = []
    ns["print"] = printed.append
    for index in sp.cells:
        for before, text in sp.inline:
            if before == index:
                exec(text, ns)
        exec(plan.notebook.cells[index].source, ns)
    return {"printed": printed, **ns}


def test_each_use_gets_the_version_it_had_in_the_monolith() -> None:
    plan = plan_of(*CELLS)
    feat = stage(plan, Stage.FEATURIZATION)
    assert feat.helpers == ("def clean(s):\n    return s.strip()",)
    assert feat.inline == ((5, "def clean(s):\n    return s.strip().lower()"),)
    assert not [d for d in plan.diagnostics if d.code == "NBS111"], plan.diagnostics
    ran = _exec_stage(plan, Stage.FEATURIZATION)
    assert ran["printed"] == [["a", "B"], ["a", "b"]]  # what the monolith printed


def test_a_stage_cell_that_rebinds_the_name_does_not_shadow_the_helper() -> None:
    plan = plan_of(
        ("data-prep", "def clean(s):\n    return s.strip()"),
        ("featurization", "def clean(s):\n    return s.upper()\nup = clean('x ')"),
        ("data-prep", "def clean(s):\n    return s.strip() + '!'"),
        ("featurization", "bang = clean(' y ')"),
    )
    feat = stage(plan, Stage.FEATURIZATION)
    assert feat.inline == ((3, "def clean(s):\n    return s.strip() + '!'"),)
    ns: dict = {}
    for index in feat.cells:
        for before, text in feat.inline:
            if before == index:
                exec(text, ns)
        exec(plan.notebook.cells[index].source, ns)
    assert (ns["up"], ns["bang"]) == ("X ", "y!")


def test_the_stage_notebook_defines_the_second_version_right_before_its_reader() -> None:
    plan = plan_of(*CELLS)
    rendered = {r.stage: r for r in render_stages(plan, RenderOptions(out=Path("out")))}
    cells = rendered[Stage.FEATURIZATION].cells
    sources = [c.source for c in cells]
    second = next(i for i, c in enumerate(cells) if c.source.startswith("second ="))
    before = cells[second - 1]
    assert dict(before.metadata)["nbsplit"]["generated"] == "helpers"
    assert "return s.strip().lower()" in before.source
    assert sum("def clean" in s for s in sources) == 2
    first = next(i for i, c in enumerate(cells) if c.source.startswith("first ="))
    assert first < second - 1
