"""Accuracy of the classifier on the tagged sample notebooks, with their marks hidden.

Every sample notebook in ``sample_notebooks/`` is fully tagged (ground truth). We rebuild its
cells WITHOUT the ``nbsplit:`` tags and directives (in memory; no file is written), classify,
and compare with the marks on code cells (cells without a mark are not scored). Run with ``-s``
to see the per-notebook table.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nbsplit.analyze import analyze_source
from nbsplit.classify import classify_notebook
from nbsplit.config import Config
from nbsplit.model import ALL_SLUGS, Cell, Notebook, Stage
from nbsplit.read import read_notebook
from nbsplit.read.tags import parse_directive

SAMPLES = Path(__file__).resolve().parent.parent / "sample_notebooks"
OVERALL_FLOOR = 0.90
PER_NOTEBOOK_FLOOR = 0.80


def sample_paths() -> list[Path]:
    paths = []
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix == ".ipynb":
            paths.append(path)
        elif path.suffix == ".py":
            head = path.read_text(encoding="utf-8", errors="replace")[:4000]
            if head.startswith("# Databricks notebook source") or "\n# %%" in head or head.startswith("# %%"):
                paths.append(path)
    return paths


def truth_of(cell: Cell) -> Stage | None:
    for tag in cell.tags:
        if tag.startswith("nbsplit:") and tag[8:] in ALL_SLUGS:
            return Stage(tag[8:])
    slug = parse_directive(cell)
    if slug is not None and slug.strip().lower() in ALL_SLUGS:
        return Stage(slug.strip().lower())
    return None


def strip_marks(cell: Cell) -> Cell:
    tags = tuple(t for t in cell.tags if not t.startswith("nbsplit:"))
    source = cell.source
    if parse_directive(cell) is not None:
        lines = source.split("\n")
        for i, line in enumerate(lines):
            stripped = line.strip().lower()
            if stripped.lstrip("#-/ ").startswith("nbsplit") and stripped[:2] in ("# ", "#n", "--", "//"):
                del lines[i]
                break
        source = "\n".join(lines)
    return dataclasses.replace(cell, tags=tags, source=source)


def evaluate(path: Path) -> tuple[int, int, list[str]]:
    nb = read_notebook(path)
    truths = [truth_of(c) if c.kind == "code" else None for c in nb.cells]
    cells = tuple(strip_marks(c) for c in nb.cells)
    stripped = dataclasses.replace(nb, cells=cells)
    facts = tuple(analyze_source(c.source, c.index) if c.kind == "code" else None for c in cells)
    classes, _ = classify_notebook(stripped, facts, Config())
    right, total, misses = 0, 0, []
    for cell, truth, got in zip(cells, truths, classes):
        if truth is None:
            continue
        total += 1
        if got.stage is truth:
            right += 1
        else:
            first = cell.source.strip().split("\n")[0][:60]
            misses.append(f"  cell {cell.index}: want {truth.value}, got {got.stage.value} "
                          f"({got.confidence:.2f}, {'; '.join(got.reasons)}) | {first}")
    return right, total, misses


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[int, int, list[str]]]:
    paths = sample_paths()
    if not paths:
        pytest.skip("no sample notebooks")
    return {p.name: evaluate(p) for p in paths}


def test_sample_accuracy(results: dict[str, tuple[int, int, list[str]]]) -> None:
    right_all = sum(r for r, _, _ in results.values())
    total_all = sum(t for _, t, _ in results.values())
    print("\nclassifier accuracy on sample notebooks (tags hidden):")
    print(f"{'notebook':32} {'right':>6} {'cells':>6} {'accuracy':>9}")
    for name, (right, total, misses) in results.items():
        print(f"{name:32} {right:6} {total:6} {right / max(total, 1):9.2%}")
        for miss in misses:
            print(miss)
    print(f"{'ALL':32} {right_all:6} {total_all:6} {right_all / max(total_all, 1):9.2%}")
    assert total_all > 0
    assert right_all / total_all >= OVERALL_FLOOR
    low = {n: r / t for n, (r, t, _) in results.items() if t and r / t < PER_NOTEBOOK_FLOOR}
    assert not low, low
