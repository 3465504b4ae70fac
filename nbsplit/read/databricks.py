"""Databricks notebook source (``.py`` export) reader and writer.

The format (see REFERENCE.md section 3)::

    # Databricks notebook source
    # MAGIC %md
    # MAGIC # Train

    # COMMAND ----------

    # DBTITLE 1,Load data
    df = spark.table("main.churn.raw")

    # COMMAND ----------

    # MAGIC %sql
    # MAGIC SELECT COUNT(*) FROM main.churn.raw

- The header line is not a cell. Cells are separated by ``# COMMAND ----------`` lines; blank
  lines around a separator belong to the separator, and CRLF files are read the same way.
- ``# DBTITLE 1,<title>`` (``0,`` = stored but hidden) opens a cell and becomes ``Cell.title``.
- A cell whose lines are ``# MAGIC``-prefixed is a magic cell: ``%md``/``%md-sandbox`` gives a
  markdown cell (source without the magic line); any other magic gives a code cell whose
  ``language`` is the magic's name and whose source starts with the magic line.
- A cell that starts with ``# MAGIC`` lines and also holds plain lines is a Python cell
  (``_mixed_cell``): its ``%pip``-style line magics are unprefixed, its other ``# MAGIC`` lines
  stay comments.

``dump_databricks`` writes the canonical layout back, so for a canonically formatted file
``dump_databricks(read(text).cells) == text``. What it writes reads back to the same cells, by
construction:

- A title is one line: line breaks in it become spaces (Databricks titles are single-line; a
  line break would put the rest of the title on a code line).
- A Python cell whose text would read back differently (a line that is a cell separator, a
  first line that looks like ``# DBTITLE``/``# MAGIC`` or a lone ``%python``) is written as a
  ``%python`` magic cell, every line behind ``# MAGIC``, as Databricks itself writes such cells.
  Reading a cell whose magic line is exactly ``%python`` gives a Python cell without that line
  (``metadata.databricks_magic`` remembers it, so the file is written back the same).
- Lines end at ``\n``, ``\r\n`` or ``\r`` only, as in Python: a form feed or ``\u2028``
  inside a line is text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from nbsplit.errors import NbsplitError
from nbsplit.model import Cell, Notebook
from nbsplit.languages import MARKDOWN_MAGICS

__all__ = [
    "read_databricks",
    "dump_databricks",
    "cell_to_databricks",
    "split_chunks",
    "Chunk",
    "HEADER",
    "SEPARATOR",
]

HEADER = "# Databricks notebook source"
SEPARATOR = "# COMMAND ----------"
MAGIC_PREFIX = "# MAGIC"
_SEPARATOR_RE = re.compile(r"^#\s*COMMAND\s*-{10,}\s*$")
_DBTITLE_RE = re.compile(r"^#\s*DBTITLE\s+(\d+)\s*,(.*)$")
_MARKDOWN_MAGICS = MARKDOWN_MAGICS
_PYTHON_MAGIC = "%python"
# IPython line magics a Databricks Python cell may hold among its code lines
_PYTHON_LINE_MAGICS = frozenset({"pip", "conda", "matplotlib", "load_ext", "reload_ext", "autoreload", "config", "env"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Lines that give an R notebook away (R exports also start with '# Databricks notebook source').
_R_ASSIGN_RE = re.compile(r"^\s*[A-Za-z.][\w.]*\s*<-\s*\S")
_R_LIBRARY_RE = re.compile(r"^\s*(library|require)\(\s*[A-Za-z][\w.]*\s*\)\s*$")


@dataclass(frozen=True)
class Chunk:
    """One cell's lines in the file: ``lines[start:end]`` of ``text.splitlines(keepends=True)``,
    blank lines around the cell excluded (``start == end`` for an empty cell)."""

    start: int
    end: int


def split_chunks(lines: Sequence[str]) -> list[Chunk]:
    """The cells of a Databricks source file given as lines (with or without line endings)."""
    bounds: list[tuple[int, int]] = []
    begin = 1  # line 0 is the header
    for i in range(1, len(lines)):
        if _SEPARATOR_RE.match(lines[i].rstrip("\r\n")):
            bounds.append((begin, i))
            begin = i + 1
    bounds.append((begin, len(lines)))
    chunks = []
    for start, end in bounds:
        while start < end and not lines[start].strip():
            start += 1
        while end > start and not lines[end - 1].strip():
            end -= 1
        chunks.append(Chunk(start, end))
    return chunks


def unmagic(line: str) -> str:
    """``# MAGIC SELECT 1`` -> ``SELECT 1``; ``# MAGIC`` -> ``""``; other lines unchanged."""
    if line.startswith(MAGIC_PREFIX + " "):
        return line[len(MAGIC_PREFIX) + 1 :]
    if line.rstrip() == MAGIC_PREFIX:
        return ""
    return line


def is_magic_line(line: str) -> bool:
    return line.rstrip() == MAGIC_PREFIX or line.startswith(MAGIC_PREFIX + " ")


def magic_name(first_line: str) -> str | None:
    """``%sql`` -> ``sql``, ``%md-sandbox`` -> ``md-sandbox``, ``%pip install x`` -> ``pip``."""
    stripped = first_line.strip()
    if not stripped.startswith("%") or stripped.startswith("%%"):
        return None
    name = stripped[1:].split(None, 1)[0] if len(stripped) > 1 else ""
    return name.lower() or None


def parse_cell(index: int, lines: Sequence[str]) -> Cell:
    """One Databricks cell (lines without endings) -> ``Cell``."""
    lines = list(lines)
    title = None
    metadata: dict[str, object] = {}
    if lines and (m := _DBTITLE_RE.match(lines[0])):
        title = m.group(2).strip()
        if m.group(1) != "1":
            metadata["dbtitle_show"] = m.group(1)
        lines = lines[1:]
    if lines and is_magic_line(lines[0]) and any(line.strip() and not is_magic_line(line) for line in lines):
        return _mixed_cell(index, lines, title, metadata)
    if lines and is_magic_line(lines[0]):
        body = [unmagic(line) for line in lines]
        magic = magic_name(body[0])
        if magic in _MARKDOWN_MAGICS:
            first = body[0].strip()
            inline = first[len(magic) + 1 :].strip()
            if first != "%md":
                metadata["databricks_magic"] = first
            rest = ([inline] if inline else []) + body[1:]
            return Cell(index=index, kind="markdown", source="\n".join(rest), language="md",
                        title=title, metadata=metadata)
        if magic == "python" and body[0].strip() == _PYTHON_MAGIC:
            metadata["databricks_magic"] = _PYTHON_MAGIC
            return Cell(index=index, kind="code", source="\n".join(body[1:]), language="python",
                        title=title, metadata=metadata)
        if magic is not None:
            return Cell(index=index, kind="code", source="\n".join(body), language=magic,
                        title=title, metadata=metadata)
    return Cell(index=index, kind="code", source="\n".join(lines), language="python",
                title=title, metadata=metadata)


def _mixed_cell(index: int, lines: Sequence[str], title: str | None, metadata: dict[str, object]) -> Cell:
    """A cell whose ``# MAGIC`` lines come with plain Python lines: a Python cell.

    Databricks writes a Python cell's IPython line magics that way (``# MAGIC %pip install x``
    above ``dbutils.library.restartPython()``), and hand-written sources and Delta Live Tables
    files put a ``# MAGIC %md`` heading above their code, where Python reads it as comments.
    Line magics become the IPython lines they stand for; every other ``# MAGIC`` line (a
    heading, a query) stays as written, a comment: no line of code is dropped or made up.
    """
    source = [unmagic(line) if is_magic_line(line) and magic_name(unmagic(line)) in _PYTHON_LINE_MAGICS
              else line for line in lines]
    return Cell(index=index, kind="code", source="\n".join(source), language="python", title=title,
                metadata=metadata)


def read_databricks(text: str, path: Path | str) -> Notebook:
    path = Path(path)
    body = text.lstrip("\ufeff")
    lines = split_lines(body)
    if not lines or lines[0].strip() != HEADER:
        raise NbsplitError(f"not a Databricks source notebook (first line must be {HEADER!r})", path)
    cells = tuple(parse_cell(i, lines[c.start : c.end]) for i, c in enumerate(split_chunks(lines)))
    if _looks_like_r(cells):
        raise NbsplitError("R Databricks notebook (R code in its cells): nbsplit only splits Python notebooks", path)
    return Notebook(path=path, format="databricks", cells=cells, metadata={}, text=text)


def split_lines(text: str) -> list[str]:
    """``text``'s lines without their endings; only ``\n``, ``\r\n`` and ``\r`` end a line
    (``str.splitlines`` also splits at form feeds and ``\u2028``, which Python code may hold)."""
    lines = _LINE_BREAK.split(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def databricks_title(title: object) -> str:
    """A cell title as ``# DBTITLE`` holds it: one line, without the blanks the reader strips."""
    return " ".join(part.strip() for part in _LINE_BREAK.split(str(title))).strip()


def _reads_back_as_python(lines: Sequence[str]) -> bool:
    """Whether these lines, written plainly after an optional title line, read back as exactly
    this Python cell (see the module docstring)."""
    if not lines:
        return True
    first = lines[0]
    if (_DBTITLE_RE.match(first) or is_magic_line(first) or first.strip() == _PYTHON_MAGIC
            or magic_name(first) in _MARKDOWN_MAGICS):
        return False
    return not any(_SEPARATOR_RE.match(line) for line in lines)


def _looks_like_r(cells: Sequence[Cell]) -> bool:
    assigns = libraries = 0
    for cell in cells:
        if cell.kind != "code" or cell.language != "python":
            continue
        for line in cell.source.splitlines():
            assigns += bool(_R_ASSIGN_RE.match(line))
            libraries += bool(_R_LIBRARY_RE.match(line))
    return (assigns >= 1 and libraries >= 1) or assigns >= 3


def cell_to_databricks(cell: Cell) -> str:
    """The text of one cell in Databricks source form (no separator, no trailing newline)."""
    out: list[str] = []
    if cell.title is not None:
        show = str(cell.metadata.get("dbtitle_show", "1"))
        show = show if show.isascii() and show.isdigit() else "1"  # metadata is input too
        out.append(f"# DBTITLE {show},{databricks_title(cell.title)}")
    if cell.kind == "markdown":
        magic = str(cell.metadata.get("databricks_magic") or "%md")
        if magic.split(None, 1)[0] not in ("%md", "%md-sandbox"):
            magic = "%md"
        magic = magic.split(None, 1)[0]  # inline text (``%md # Title``) is part of the source
        body = [magic, *_LINE_BREAK.split(cell.source)] if cell.source else [magic]
        out.extend(_magic(line) for line in body)
    elif cell.kind == "raw":
        # Databricks has no raw cells: keep the text, as comments, in a Python cell.
        comments = [f"# {line}" if line else "#" for line in _LINE_BREAK.split(cell.source)]
        out.extend(_python_lines(trim_blank_lines("\n".join(comments)), force_magic=False))
    else:
        source = trim_blank_lines(cell.source)
        first = split_lines(source)[0] if source else ""
        if cell.language != "python" and magic_name(first) is None:
            source = f"%{cell.language}\n{source}"
            first = source.split("\n", 1)[0]
        if cell.language == "python":
            out.extend(_python_lines(source, force_magic=cell.metadata.get("databricks_magic") == _PYTHON_MAGIC))
        elif magic_name(first) is not None:
            out.extend(_magic(line) for line in split_lines(source))
        elif source:
            out.append(source)
    return "\n".join(out)


def _python_lines(source: str, *, force_magic: bool) -> list[str]:
    """A Python cell's lines: plain when they read back as this cell, else a ``%python`` cell."""
    lines = split_lines(source)
    if force_magic or not _reads_back_as_python(lines):
        return [_magic(line) for line in [_PYTHON_MAGIC, *lines]]
    if lines and magic_name(lines[0]) is not None:
        if any(line.strip() and magic_name(line) is None for line in lines[1:]):
            # ``%pip install x`` then ``import x``: as a %pip cell Databricks would hand the code
            # lines to pip; a %python cell runs the line magic and the code
            return [_magic(line) for line in [_PYTHON_MAGIC, *lines]]
        return [_magic(line) for line in lines]  # %pip, %sql...: Databricks' own magic cells
    return lines


def trim_blank_lines(text: str) -> str:
    """``text`` without blank lines at its start and end (they belong to the cell separator)."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def _magic(line: str) -> str:
    return f"{MAGIC_PREFIX} {line}" if line else MAGIC_PREFIX


def dump_databricks(cells: Sequence[Cell]) -> str:
    """Databricks source text for ``cells``: header, cells joined by the separator, final newline."""
    parts = [cell_to_databricks(cell) for cell in cells]
    return f"{HEADER}\n" + f"\n\n{SEPARATOR}\n\n".join(parts) + "\n"
