"""Stage notebooks a person would keep: for every sample, in every stage notebook, the lines nbsplit
generated are no more than the lines of the user's own cells.

Counted: non-blank lines of cell sources. Generated = every cell nbsplit wrote (header,
parameters, the runtime import, imports and helpers copied from elsewhere in the source, loads,
saves, MLflow calls); user = the source cells placed in the stage. The handoff runtime itself is
one module beside the notebooks (``nbsplit_runtime.py``), not part of any of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from convert_cases.support import SAMPLES
from nbsplit.convert import convert_notebook


def _samples() -> list[Path]:
    return sorted(SAMPLES.glob("*.ipynb")) + [SAMPLES / "databricks_housing.py"]


def _lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


def generated_and_user_lines(source: Path, out: Path) -> dict[str, tuple[int, int]]:
    """``{stage notebook: (generated lines, user lines)}`` of ``source`` converted to ``out``."""
    result = convert_notebook(source, out, dry_run=True)
    counts: dict[str, tuple[int, int]] = {}
    for stage in result.stages:
        generated = user = 0
        for cell in stage.cells:
            if "generated" in (cell.metadata.get("nbsplit") or {}):
                generated += _lines(cell.source)
            else:
                user += _lines(cell.source)
        counts[stage.file] = (generated, user)
    return counts


@pytest.mark.parametrize("source", _samples(), ids=lambda p: p.stem)
def test_generated_lines_are_at_most_the_users_lines(source: Path, tmp_path: Path) -> None:
    counts = generated_and_user_lines(source, source.parent / "stages")
    print(source.stem, " ".join(f"{file}:{g}/{u}" for file, (g, u) in counts.items()))
    # A generated stage (the monitoring stage of level 1, for a notebook without one) has no
    # user lines at all: the rule is about stages that carry the user's cells.
    generated_only = {file for file, (g, u) in counts.items() if u == 0}
    assert generated_only <= {"07_monitoring.ipynb", "07_monitoring.py"}, generated_only
    heavy = {file: (g, u) for file, (g, u) in counts.items() if g > u and file not in generated_only}
    assert not heavy, f"more generated than user lines (generated, user): {heavy}"
    result = convert_notebook(source, source.parent / "stages", dry_run=True)
    runtime = result.files["nbsplit_runtime.py"]
    for stage in result.stages:  # the runtime is imported, never pasted
        assert "def _nbsplit_load" not in stage.text and "def _nbsplit_load" in runtime
