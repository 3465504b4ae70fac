"""Realistic notebooks in the styles people actually write, with the stage each cell should get.

The notebooks live in ``tests/classify_cases/*.txt``: cells separated by header lines
``#### <kind>[:<language>] <expected-stage>`` (kind is code, markdown or raw; the language is a
Databricks magic language such as ``sql`` or ``pip``). The expectations are outside the cell
sources, so no marker can leak into what the classifier sees. They follow DESIGN's "What belongs
where", not whatever the classifier happens to say. Run with ``-s`` for the per-notebook table.

``tests/classify_cases/idioms/*.txt`` hold small notebooks with exact expectations per cell
(stage, not-stage, origin, reason), one idiom each, grouped by topic (``test_idiom_case``; format
in ``load_idiom_cases``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from nbsplit.analyze import analyze_source
from nbsplit.classify import classify_notebook, learned
from nbsplit.config import Config
from nbsplit.model import Cell, Classification, Notebook, Stage

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


@dataclass(frozen=True)
class Expect:
    """What one cell of an idiom case must satisfy (the header line of the cell, parsed)."""

    stage: str  # a stage slug, "!<slug>" or "-"
    origin: str = ""  # "<origin>" or "!<origin>" (must not be), "" unchecked
    scope: str = ""  # reason check: "" any reason, "1" the first, "!" none, "only" the only one
    reason: str = ""  # "" unchecked; ^ and $ anchor it to the reason's start and end


_CELL_HEADER = re.compile(r"^(?P<head>.*?)(?:\s+~(?P<scope>1|!|only)?\s+(?P<reason>.+))?$")


def _parse_cell_header(header: str) -> tuple[str, str, tuple[str, ...], str | None, Expect]:
    """``<kind>[:<language>] <expect> [origin=..|origin!=..] [tags=a,b] [title='..'] [~<scope> <text>]``."""
    m = _CELL_HEADER.match(header)
    assert m, header
    kind_lang, expect, *options = shlex.split(m["head"])
    kind, _, lang = kind_lang.partition(":")
    origin, tags, title = "", (), None
    for option in options:
        key, sep, value = option.partition("=")
        if key == "origin":
            origin = value
        elif key == "origin!":
            origin = f"!{value}"
        elif key == "tags":
            tags = tuple(value.split(","))
        elif key == "title":
            title = value
        else:
            raise ValueError(f"unknown cell option {option!r} in {header!r}")
        assert sep and value, header
    return kind, lang or "python", tags, title, Expect(expect, origin, m["scope"] or "", (m["reason"] or "").strip())


def load_idiom_cases(path: Path) -> list[tuple[str, Notebook, list[Expect]]]:
    """The cases of one idiom file: (name, notebook, one ``Expect`` per cell).

    Format (the files' headers say it too):

    - ``==== <case>`` starts a small notebook. The cells of the file's ``==== prelude`` come
      first in every case, unless the case says ``==== <case> noprelude``.
    - ``#### <kind>[:<language>] <expect> [options] [~<scope> <text>]`` starts a cell; its source
      is the lines up to the next header (blank lines around it dropped). ``<kind>`` is code,
      markdown or raw; ``<language>`` a Databricks magic language (``sql``, ``sh``, ``run``; python
      by default). ``<expect>`` is a stage slug (the cell must get it), ``!<slug>`` (it must not)
      or ``-`` (stage unchecked).
    - options: ``origin=<origin>`` / ``origin!=<origin>`` (the classification's origin must / must
      not be it), ``tags=<tag>,<tag>`` (the cell's tags), ``title='<text>'`` (a Databricks cell
      title; shell quoting).
    - ``~ <text>``: one of the cell's reasons contains <text>; ``~1 <text>``: the first reason
      does; ``~! <text>``: no reason does; ``~only <text>``: the cell has exactly one reason, and it
      does. A leading ``^`` / trailing ``$`` in <text> anchors it to the reason's start / end
      (``^x$``: the reason is exactly x).
    - Every case checks at least one cell, and no case may raise an error diagnostic.
    """
    sections: list[tuple[str, bool, list[tuple[str, str]]]] = []  # (name, prelude?, [(header, text)])
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.startswith("==== "):
            name, *options = line[5:].split()
            assert set(options) <= {"noprelude"}, line
            sections.append((name, "noprelude" not in options, []))
        elif line.startswith("#### "):
            sections[-1][2].append((line[5:], ""))
        elif sections and sections[-1][2]:
            header, text = sections[-1][2][-1]
            sections[-1][2][-1] = (header, f"{text}\n{line}" if text else line)
    prelude = next((cells for name, _, cells in sections if name == "prelude"), [])
    out = []
    for name, with_prelude, cells in sections:
        if name == "prelude":
            continue
        built, want = [], []
        for i, (header, text) in enumerate([*prelude, *cells] if with_prelude else cells):
            kind, lang, tags, title, expect = _parse_cell_header(header)
            built.append(Cell(i, kind, text.strip("\n"), tags, language=lang, title=title))
            want.append(expect)
        out.append((name, Notebook(path, "ipynb", tuple(built)), want))
    return out


def _reason_matches(reason: str, text: str) -> bool:
    start, end = text.startswith("^"), text.endswith("$")
    core = text[int(start):len(text) - int(end)]
    if start and end:
        return reason == core
    if start:
        return reason.startswith(core)
    return reason.endswith(core) if end else core in reason


def check_cell(got: Classification, expect: Expect) -> bool:
    """Whether ``got`` satisfies ``expect`` (an assertion per part, so a miss names it)."""
    if expect.stage.startswith("!"):
        assert got.stage is not Stage(expect.stage[1:]), got
    elif expect.stage != "-":
        assert got.stage is Stage(expect.stage), got
    if expect.origin.startswith("!"):
        assert got.origin != expect.origin[1:], got
    elif expect.origin:
        assert got.origin == expect.origin, got
    if expect.reason:
        hits = [_reason_matches(r, expect.reason) for r in got.reasons]
        if expect.scope == "1":
            assert hits[:1] == [True], got
        elif expect.scope == "!":
            assert not any(hits), got
        elif expect.scope == "only":
            assert hits == [True], got
        else:
            assert any(hits), got
    return expect.stage != "-" or bool(expect.origin or expect.reason)


def test_idiom_format_reads_every_option(tmp_path: Path) -> None:
    case = tmp_path / "x.txt"
    case.write_text("# comment\n==== prelude\n#### code -\nimport pandas as pd\n"
                    "==== one\n#### markdown setup title='My title' ~1 ^notebook title$\n# T\n\n"
                    "#### code:sql !eda tags=nbsplit:eda,nbsplit:noqa origin!=tag ~! shows\n%sql\nSELECT 1\n"
                    "==== two noprelude\n#### raw - origin=neighbour ~only x\nr\n", encoding="utf-8")
    (n1, nb1, want1), (n2, nb2, want2) = load_idiom_cases(case)
    assert (n1, n2) == ("one", "two")
    assert [(c.kind, c.source, c.language, c.tags, c.title) for c in nb1.cells] == [
        ("code", "import pandas as pd", "python", (), None),
        ("markdown", "# T", "python", (), "My title"),
        ("code", "%sql\nSELECT 1", "sql", ("nbsplit:eda", "nbsplit:noqa"), None)]
    assert want1 == [Expect("-"), Expect("setup", "", "1", "^notebook title$"), Expect("!eda", "!tag", "!", "shows")]
    assert [c.source for c in nb2.cells] == ["r"] and want2 == [Expect("-", "neighbour", "only", "x")]
    assert _reason_matches("helper used by eda cells", "^helper used by eda cells$")
    assert not _reason_matches("helper used by eda, training cells", "^helper used by eda$")
    assert _reason_matches("fits X on y", "^fits") and not _reason_matches("it fits X", "^fits")
    assert _reason_matches("it fits", "fits$") and _reason_matches("it fits X", "fits")


IDIOM_PARAMS = [pytest.param(nb, want, id=f"{p.stem}:{name}")
                for p in sorted(IDIOM_CASES.glob("*.txt")) for name, nb, want in load_idiom_cases(p)]


@pytest.mark.parametrize(("nb", "want"), IDIOM_PARAMS)
def test_idiom_case(nb: Notebook, want: list[Expect]) -> None:
    """One idiom case: every cell meets its header's expectation (format: ``load_idiom_cases``)."""
    learned.use_weights(None, disabled=True)  # the hand-written idioms alone, as in test_classify.py
    try:
        facts = tuple(analyze_source(c.source, c.index) if c.kind == "code" else None for c in nb.cells)
        classes, diags = classify_notebook(nb, facts, Config())
    finally:
        learned.use_weights(None)
    assert not [d for d in diags if d.severity == "error"]
    checked = [check_cell(got, expect) for got, expect in zip(classes, want, strict=True)]
    assert any(checked)
