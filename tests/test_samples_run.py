"""The sample notebooks: well-formed ground truth and small data.

These tests check the stage marks (every cell carries exactly one valid ``nbsplit:`` stage), the
sizes, and that the committed CSVs are what ``data/make_data.py`` generates. That every sample
really runs top to bottom (the ``.ipynb`` files in a fresh kernel, the Databricks source on the
local stand-ins for ``spark``/``dbutils``/``display``/``%sql``) and writes its outputs is proven
by ``test_pipeline_samples.py``, which executes each sample once, as source and as a split.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nbsplit.model import ALL_SLUGS

SAMPLES = Path(__file__).resolve().parent.parent / "sample_notebooks"
IPYNB = sorted(SAMPLES.glob("*.ipynb"))
DATABRICKS = sorted(p for p in SAMPLES.glob("*.py") if p.read_text().startswith("# Databricks notebook source"))

SAMPLE_NAMES = {"churn_pandas", "spark_flights", "messy_sales", "credito_ptbr", "monitoring_drift",
                "databricks_housing"}

_DIRECTIVE = re.compile(r"^\s*(?:#|--)\s*nbsplit\s*:\s*(\S+)\s*$", re.IGNORECASE)
_SEPARATOR = "\n\n# COMMAND ----------\n\n"
_EXEMPT_MAGICS = {"md", "md-sandbox", "pip", "run"}


def _stage_tags(cell: nbformat.NotebookNode) -> list[str]:
    return [t for t in cell.get("metadata", {}).get("tags", []) if t.startswith("nbsplit:")]


def _databricks_cells(path: Path) -> list[tuple[str | None, str | None, list[str]]]:
    """(title, magic, body lines without the ``# MAGIC`` prefix) per cell, header excluded."""
    text = path.read_text()
    header, _, rest = text.partition("\n")
    assert header == "# Databricks notebook source"
    cells = []
    for chunk in rest.split(_SEPARATOR):
        lines = chunk.strip("\n").splitlines()
        title = None
        if lines and lines[0].startswith("# DBTITLE "):
            title = lines[0].split(",", 1)[1]
            lines = lines[1:]
        magic = None
        if lines and lines[0].startswith("# MAGIC %"):
            lines = [ln[len("# MAGIC "):] if ln.startswith("# MAGIC ") else ln[len("# MAGIC"):] for ln in lines]
            magic = lines[0][1:].split(None, 1)[0]
        cells.append((title, magic, lines))
    return cells


def _directive(magic: str | None, lines: list[str]) -> str | None:
    body = lines[1:] if magic else lines
    first = next((ln for ln in body if ln.strip()), "")
    m = _DIRECTIVE.match(first)
    return m.group(1) if m else None


# ------------------------------------------------------------------------------ fast checks
def test_samples_exist() -> None:
    names = {p.stem for p in IPYNB} | {p.stem for p in DATABRICKS}
    assert names == SAMPLE_NAMES


@pytest.mark.parametrize("path", IPYNB, ids=lambda p: p.stem)
def test_every_ipynb_cell_has_exactly_one_valid_stage_tag(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        tags = _stage_tags(cell)
        assert len(tags) == 1, f"{path.name} cell {i}: stage tags {tags}"
        assert tags[0].removeprefix("nbsplit:") in ALL_SLUGS, f"{path.name} cell {i}: {tags[0]}"


@pytest.mark.parametrize("path", DATABRICKS, ids=lambda p: p.stem)
def test_every_databricks_cell_has_a_directive_or_is_exempt(path: Path) -> None:
    cells = _databricks_cells(path)
    assert 20 <= len(cells) <= 45
    kinds = set()
    for i, (_title, magic, lines) in enumerate(cells):
        slug = _directive(magic, lines)
        if magic in _EXEMPT_MAGICS:
            assert slug is None, f"{path.name} cell {i}: %{magic} cells carry no directive"
            kinds.add(magic)
            continue
        assert slug in ALL_SLUGS, f"{path.name} cell {i}: directive {slug!r}"
        # exactly one: no second directive anywhere in the cell
        assert sum(bool(_DIRECTIVE.match(ln)) for ln in lines) == 1, f"{path.name} cell {i}"
        kinds.add(magic or "python")
    assert {"md", "pip", "sql", "python"} <= kinds


@pytest.mark.parametrize("path", DATABRICKS, ids=lambda p: p.stem)
def test_databricks_python_cells_are_valid_python(path: Path) -> None:
    for i, (_title, magic, lines) in enumerate(_databricks_cells(path)):
        if magic is None:
            compile("\n".join(lines), f"{path.name}[{i}]", "exec")


@pytest.mark.parametrize("path", IPYNB, ids=lambda p: p.stem)
def test_ipynb_is_stored_executed_and_small(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert 20 <= len(nb.cells) <= 45
    assert path.stat().st_size < 400 * 1024
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count is not None for c in code), "stored without execution"
    assert any(c.outputs for c in code)
    for c in code:
        assert not any(o.get("output_type") == "error" for o in c.outputs)
        for o in c.outputs:
            text = o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
            assert not re.search(r"0x[0-9a-f]{8,}", text), f"{path.name}: memory address in output"


def test_messy_notebook_looks_messy() -> None:
    nb = nbformat.read(SAMPLES / "messy_sales.ipynb", as_version=4)
    assert all(c.cell_type == "code" for c in nb.cells)
    counts = [c.execution_count for c in nb.cells if c.execution_count is not None]
    assert counts != sorted(counts), "execution counts should be out of order"
    sources = "\n".join(c.source for c in nb.cells)
    for needle in ("%matplotlib inline", "!ls data", "!head -3", "%time ", "inplace=True"):
        assert needle in sources


def test_portuguese_notebook_headings() -> None:
    nb = nbformat.read(SAMPLES / "credito_ptbr.ipynb", as_version=4)
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown"]
    for h in ("# Previsão de inadimplência", "## Preparação dos dados", "## Análise exploratória",
              "## Engenharia de features", "## Treinamento do modelo", "## Avaliação do modelo",
              "## Predição", "## Monitoramento"):
        assert h in headings


def test_data_files_are_small() -> None:
    files = [p for p in (SAMPLES / "data").iterdir() if p.is_file()]
    assert files
    for p in files:
        assert p.stat().st_size < 1024 * 1024, p.name
    assert sum(p.stat().st_size for p in files) < 3 * 1024 * 1024


def test_committed_csvs_are_what_the_generator_writes(tmp_path: Path) -> None:
    shutil.copy(SAMPLES / "data" / "make_data.py", tmp_path)
    subprocess.run([sys.executable, "make_data.py"], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    generated = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert generated == sorted(p.name for p in (SAMPLES / "data").glob("*.csv"))
    for name in generated:
        assert (tmp_path / name).read_bytes() == (SAMPLES / "data" / name).read_bytes(), name
