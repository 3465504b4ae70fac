"""Realistic notebooks in the styles people actually write, with the stage each cell should get.

The notebooks live in ``tests/classify_cases/*.txt``: cells separated by header lines
``#### <kind>[:<language>] <expected-stage>`` (kind is code, markdown or raw; the language is a
Databricks magic language such as ``sql`` or ``pip``). The expectations are outside the cell
sources, so no marker can leak into what the classifier sees. They follow DESIGN's "What belongs
where", not whatever the classifier happens to say. Run with ``-s`` for the per-notebook table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nbsplit.analyze import analyze_source
from nbsplit.classify import classify_notebook, learned
from nbsplit.config import Config
from nbsplit.model import Cell, Notebook, Stage

CASES = Path(__file__).resolve().parent / "classify_cases"
FLOOR = 0.90
PER_NOTEBOOK_FLOOR = 0.80


def load_case(path: Path) -> tuple[Notebook, list[Stage]]:
    cells: list[Cell] = []
    expected: list[Stage] = []
    header: tuple[str, str, Stage] | None = None
    lines: list[str] = []

    def flush() -> None:
        if header is not None:
            kind, lang, stage = header
            cells.append(Cell(len(cells), kind, "\n".join(lines).strip("\n"), language=lang))
            expected.append(stage)

    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.startswith("#### "):
            flush()
            kind_lang, slug = line[5:].split()
            kind, _, lang = kind_lang.partition(":")
            header, lines = (kind, lang or "python", Stage(slug)), []
        else:
            lines.append(line)
    flush()
    return Notebook(path, "ipynb", tuple(cells)), expected


def run_case(path: Path) -> tuple[int, int, list[str]]:
    nb, expected = load_case(path)
    facts = tuple(analyze_source(c.source, c.index) if c.kind == "code" else None for c in nb.cells)
    classes, _ = classify_notebook(nb, facts, Config())
    right = total = 0
    misses = []
    for cell, want, got in zip(nb.cells, expected, classes):
        if cell.kind != "code":
            continue
        total += 1
        if got.stage is want:
            right += 1
        else:
            first = cell.source.strip().split("\n")[0][:50]
            misses.append(f"  cell {cell.index}: want {want.value}, got {got.stage.value} "
                          f"({got.confidence:.2f}; {'; '.join(got.reasons)}) | {first}")
    return right, total, misses


def test_case_files_parse() -> None:
    nb, expected = load_case(CASES / "databricks_churn.txt")
    assert len(nb.cells) == len(expected) > 10
    sql = [c for c in nb.cells if c.language == "sql"]
    assert sql and sql[0].source.startswith("%sql")


def test_realistic_notebooks() -> None:
    results = {p.name: run_case(p) for p in sorted(CASES.glob("*.txt"))}
    assert results
    print(f"\n{'case notebook':28} {'right':>6} {'cells':>6} {'accuracy':>9}")
    for name, (right, total, misses) in results.items():
        print(f"{name:28} {right:6} {total:6} {right / total:9.2%}")
        for miss in misses:
            print(miss)
    right_all = sum(r for r, _, _ in results.values())
    total_all = sum(t for _, t, _ in results.values())
    print(f"{'ALL':28} {right_all:6} {total_all:6} {right_all / total_all:9.2%}")
    assert right_all / total_all >= FLOOR
    low = {n: round(r / t, 2) for n, (r, t, _) in results.items() if r / t < PER_NOTEBOOK_FLOOR}
    assert not low, low


@pytest.mark.parametrize("path", sorted(CASES.glob("*.txt")), ids=lambda p: p.stem)
def test_every_cell_classified(path: Path) -> None:
    nb, _ = load_case(path)
    facts = tuple(analyze_source(c.source, c.index) if c.kind == "code" else None for c in nb.cells)
    classes, diags = classify_notebook(nb, facts, Config())
    assert [c.index for c in classes] == list(range(len(nb.cells)))
    assert not [d for d in diags if d.severity == "error"]


# --- idiom case files: small notebooks with exact expectations ----------------------------------
IDIOM_CASES = CASES / "idioms"


def load_idiom_cases(path: Path) -> list[tuple[str, Notebook, list[tuple[str, str]]]]:
    """The cases of one idiom file (format in its header): (name, notebook, [(expect, reason)])."""
    sections: list[tuple[str, list[tuple[str, str, str, str]]]] = []
    cell: list[str] | None = None
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.startswith("==== "):
            sections.append((line[5:].strip(), []))
            cell = None
        elif line.startswith("#### "):
            head, _, reason = line[5:].partition(" ~ ")
            kind, expect = head.split()
            cell = []
            sections[-1][1].append((kind, expect, reason.strip(), ""))
        elif cell is not None:
            kind, expect, reason, text = sections[-1][1][-1]
            sections[-1][1][-1] = (kind, expect, reason, f"{text}\n{line}" if text else line)
    prelude = next((cells for name, cells in sections if name == "prelude"), [])
    out = []
    for name, cells in sections:
        if name == "prelude":
            continue
        specs = [*prelude, *cells]
        nb = Notebook(path, "ipynb", tuple(Cell(i, kind, text.strip("\n"))
                                           for i, (kind, _, _, text) in enumerate(specs)))
        out.append((name, nb, [(expect, reason) for _, expect, reason, _ in specs]))
    return out


IDIOM_PARAMS = [pytest.param(nb, want, id=f"{p.stem}:{name}")
                for p in sorted(IDIOM_CASES.glob("*.txt")) for name, nb, want in load_idiom_cases(p)]


@pytest.mark.parametrize(("nb", "want"), IDIOM_PARAMS)
def test_idiom_case(nb: Notebook, want: list[tuple[str, str]]) -> None:
    learned.use_weights(None, disabled=True)  # the hand-written idioms alone, as in test_classify.py
    try:
        facts = tuple(analyze_source(c.source, c.index) if c.kind == "code" else None for c in nb.cells)
        classes, _ = classify_notebook(nb, facts, Config())
    finally:
        learned.use_weights(None)
    checked = 0
    for got, (expect, reason) in zip(classes, want):
        if expect == "-":
            continue
        checked += 1
        if expect.startswith("!"):
            assert got.stage is not Stage(expect[1:]), got
        else:
            assert got.stage is Stage(expect), got
        assert not reason or any(reason in r for r in got.reasons), got
    assert checked
