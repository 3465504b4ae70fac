"""Golden files: the rendered stage notebooks and manifest of two real notebooks.

A fresh render must equal ``tests/golden/<case>/`` byte for byte. When a change to the output is
intended, regenerate (one command, see tests/golden/README.md) and review the diff:

    NBSPLIT_UPDATE_GOLDEN=1 python -m pytest tests/test_render_golden.py -q
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from convert_cases.support import CASES, SAMPLES, plan_case
from nbsplit.convert import render_files
from nbsplit.render.manifest import MANIFEST_NAME
from tests.golden_job.regenerate import pristine

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("NBSPLIT_UPDATE_GOLDEN") == "1"
SOURCES = {
    "churn_mini": CASES / "churn_mini" / "churn_mini.ipynb",
    "churn_pandas": SAMPLES / "churn_pandas.ipynb",
    "messy_sales": SAMPLES / "messy_sales.ipynb",
}


def render_golden(name: str) -> dict[str, str]:
    """The files kept as golden for ``name``: stage notebooks and manifest (job files belong to
    the job renderer's own tests)."""
    with pristine(SOURCES[name]) as source:
        files, stages = render_files(plan_case(source), source.parent / f"{source.stem}_split")
    keep = {s.file for s in stages} | {MANIFEST_NAME}
    return {k: v for k, v in files.items() if k in keep}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_render_matches_golden(name: str) -> None:
    if not SOURCES[name].exists():
        pytest.skip(f"{SOURCES[name].name} is not in this checkout")
    files = render_golden(name)
    folder = GOLDEN / name
    if UPDATE:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for file, text in files.items():
            (folder / file).write_text(text, encoding="utf-8", newline="")
    expected = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*")) if p.is_file()}
    assert sorted(expected) == sorted(files), "golden files differ in names: regenerate (tests/golden/README.md)"
    for file, text in files.items():
        assert text == expected[file], f"{name}/{file} differs from the golden file (tests/golden/README.md)"
