"""Idioms of cells in other languages and of magic/shell lines: ``%pip``, ``%run``, ``%sql``,
``%sh``/``!``, ``%fs``, rendering magics, and setup magics inside Python cells.

Why: a cell's language or magic often is its stage: installing packages and running a setup
notebook prepare the environment, downloading data starts data-prep, ``ls``/``head`` of files
looks at them. Shell text is not Python, so the command patterns (``lexicon.SHELL_*``) read it.

Example: ``!pip install xgboost`` -> setup ("installs packages"); ``!wget https://.../data.zip``
-> data-prep ("downloads or unpacks data").
"""

from __future__ import annotations

import re

from nbsplit.classify import lexicon as lex
from nbsplit.classify.evidence import Evidence
from nbsplit.classify.idioms import SIGNAL, D, E, S
from nbsplit.classify.idioms_sql import sql_evidence
from nbsplit.languages import LINE_MAGIC_LANGUAGES
from nbsplit.model import Cell, CellFacts

_SHELL_INSTALL = re.compile(lex.SHELL_INSTALL_PATTERN)
_SHELL_FETCH = re.compile(lex.SHELL_FETCH_PATTERN)
# ``[^\S\n]`` not ``\s``: from every line start ``\s*`` ran across all the blank lines below it.
_SHELL_LOOK = re.compile(lex.SHELL_LOOK_PATTERN, re.M)


def cell_language(cell: Cell) -> str:
    """The language a cell's text is in: its own, or the one a leading cell magic switches to
    (``%%sql`` -> sql, ``%%bash`` -> sh, ``%pip ...`` -> pip)."""
    if cell.language != "python":
        return cell.language
    first = cell.first_line
    if first.startswith("%%"):
        magic = first[2:].split(None, 1)[0] if len(first) > 2 else ""
        if magic in lex.CELL_MAGIC_LANGUAGES:
            return lex.CELL_MAGIC_ALIASES.get(magic, magic)
    elif first.startswith("%"):
        magic = first[1:].split(None, 1)[0] if len(first) > 1 else ""
        if magic in LINE_MAGIC_LANGUAGES and (
            magic in lex.LINE_MAGICS_WITH_ARGUMENT or first == "%" + magic
        ):
            return magic
    return "python"


def body(cell: Cell) -> str:
    """The cell's text without its magic line (``%pip install x`` keeps ``install x``)."""
    lines = cell.source.strip().split("\n")
    if lines and lines[0].lstrip().startswith("%"):
        first = lines[0].lstrip()
        # %pip install x / %run ./setup keep their argument on the magic line ("%sql " has none).
        parts = first.split(None, 1)
        rest = parts[1] if len(parts) == 2 and not first.startswith("%%") else ""
        return "\n".join([rest, *lines[1:]]).strip()
    return "\n".join(lines)


def language_cell(lang: str, text: str, ev: Evidence) -> None:
    """Evidence for a whole cell in another language (``lang`` from ``cell_language``)."""
    if lang in ("pip", "conda"):
        ev.add(S, 4.0, "installs packages", SIGNAL)
    elif lang == "run":
        ev.add(S, 4.0, "runs another notebook (%run)", SIGNAL)
    elif lang == "sql":
        sql_evidence(text, ev, displayed=True)
    elif lang == "sh":
        shell_evidence(text, ev)
    elif lang == "fs":
        ev.add(D, 1.5, "inspects files (%fs)", SIGNAL)
    elif lang in lex.RENDER_LANGUAGES:
        ev.add(E, 0.8, f"renders {lang}", SIGNAL)
    elif lang == "writefile":
        ev.add(S, 2.0, "writes a file (%%writefile)", SIGNAL)


def shell_evidence(cmd: str, ev: Evidence, factor: float = 1.0) -> None:
    """Installs -> setup; downloads/unpacks -> data-prep; looks at files -> eda."""
    if _SHELL_INSTALL.search(cmd):
        ev.add(S, 4.0 * factor, "installs packages", SIGNAL)
    elif _SHELL_FETCH.search(cmd):
        ev.add(D, 2.8 * factor, "downloads or unpacks data", SIGNAL)
    elif _SHELL_LOOK.search(cmd):
        ev.add(E, 1.4 * factor, "looks at files", SIGNAL)
    elif "nvidia-smi" in cmd or "mkdir" in cmd:
        ev.add(S, 2.0 * factor, "prepares the environment", SIGNAL)


def magics(facts: CellFacts, ev: Evidence) -> None:
    """Magic and shell lines inside a Python cell (half weight beside other code)."""
    if not facts.magics:
        return
    only = not facts.calls and not facts.defines and not facts.imports
    factor = 1.0 if only else 0.5
    for line in facts.magics:
        stripped = line.strip()
        if stripped.startswith("!"):
            shell_evidence(stripped[1:], ev, factor)
            continue
        name = stripped.lstrip("%").split(None, 1)[0] if stripped.lstrip("%") else ""
        if name in ("sh", "system"):
            shell_evidence(stripped, ev, factor)
        elif name in lex.SETUP_MAGICS:
            ev.add(S, 3.5 * factor, f"sets up the environment (%{name})", SIGNAL)
