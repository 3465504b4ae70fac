"""What people read in a terminal: the plan table at 80 columns, the DAG views, one-line errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from convert_cases.support import SAMPLES
from nbsplit.model import Stage


def _samples() -> list[Path]:
    return sorted(SAMPLES.glob("*.ipynb")) + [SAMPLES / "databricks_housing.py"]


def _nbsplit(*args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "nbsplit", *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.parametrize("source", _samples(), ids=lambda p: p.stem)
def test_plan_table_at_80_columns_shows_every_stage_name_whole(source: Path) -> None:
    proc = _nbsplit("plan", str(source), columns=80)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    start = next(i for i, line in enumerate(lines) if line.startswith("stages"))
    slugs = {s.value for s in Stage}
    # cells table: | cell | source | stage | ...; stages table: | stage | cells | ...
    for section, column in ((lines[:start], 3), (lines[start:], 1)):
        rows = [line.split("│") for line in section if line.startswith("│")]
        shown = [row[column].strip() for row in rows if row[column].strip()]
        assert shown and set(shown) <= slugs, sorted(set(shown) - slugs)


def test_plan_draws_the_dag_as_mermaid_and_dot() -> None:
    mermaid = _nbsplit("plan", str(SAMPLES / "churn_pandas.ipynb"), "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart LR\n") and "    data_prep --> featurization\n" in mermaid
    dot = _nbsplit("plan", str(SAMPLES / "churn_pandas.ipynb"), "--format", "dot").stdout
    assert dot.startswith("digraph nbsplit {") and '    "data-prep" -> "featurization";\n' in dot


def test_run_on_a_notebook_file_asks_for_a_converted_folder() -> None:
    proc = _nbsplit("run", str(SAMPLES / "churn_pandas.ipynb"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "takes a converted folder, not a file" in proc.stderr


def test_output_readme_embeds_the_mermaid_dag() -> None:
    from nbsplit.api import plan_notebook
    from nbsplit.convert import convert_notebook
    from nbsplit.render.dag import dag_mermaid

    source = SAMPLES / "churn_pandas.ipynb"
    result = convert_notebook(source, SAMPLES / "stages", dry_run=True)
    files = {s.stage: s.file for s in result.stages}
    assert f"```mermaid\n{dag_mermaid(plan_notebook(source), files)}```" in result.files["README.md"]


_LINE_PIECES = ["warning", "cell 3: ", "[", "]", "[/]", "\\", "\\\\", ":smile:", ":", "é", "日本", "\t",
                "x" * 170, " ", "[bold]", "`df`", "\x1b", "\r"]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("terminal", [False, True])
def test_warnings_printed_in_one_call_read_as_one_call_per_line(seed: int, terminal: bool) -> None:
    """Thousands of warnings are printed in one rich call (a call per line was most of printing
    them): the text must be what a print per line gave, escapes and emoji codes included, and no
    line is wrapped (a diagnostic stays one line for grep and problem matchers)."""
    import io
    import random

    from rich.console import Console

    from nbsplit.report import _escape, _print_lines

    rng = random.Random(seed)
    lines = [f"[yellow]warning[/]: {_escape(''.join(rng.choices(_LINE_PIECES, k=rng.randint(0, 8))))}"
             for _ in range(rng.randint(1, 6))]

    def console() -> Console:
        return Console(soft_wrap=False, width=160, highlight=False, file=io.StringIO(),
                       force_terminal=terminal, color_system="truecolor" if terminal else None)

    each, once = console(), console()
    for line in lines:
        each.print(line, soft_wrap=True)
    _print_lines(once, lines)
    assert once.file.getvalue() == each.file.getvalue()  # type: ignore[attr-defined]
