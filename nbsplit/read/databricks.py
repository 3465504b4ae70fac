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

``dump_databricks`` writes the canonical layout back, so for a canonically formatted file
``dump_databricks(read(text).cells) == text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from nbsplit.errors import NbsplitError
from nbsplit.model import Cell, Notebook

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
_MARKDOWN_MAGICS = {"md", "md-sandbox"}
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
        if magic is not None:
            return Cell(index=index, kind="code", source="\n".join(body), language=magic,
                        title=title, metadata=metadata)
    return Cell(index=index, kind="code", source="\n".join(lines), language="python",
                title=title, metadata=metadata)


def read_databricks(text: str, path: Path | str) -> Notebook:
    path = Path(path)
    body = text.lstrip("\ufeff")
    lines = [line.rstrip("\r\n") for line in body.splitlines(keepends=True)]
    if not lines or lines[0].strip() != HEADER:
        raise NbsplitError(f"not a Databricks source notebook (first line must be {HEADER!r})", path)
    cells = tuple(parse_cell(i, lines[c.start : c.end]) for i, c in enumerate(split_chunks(lines)))
    if _looks_like_r(cells):
        raise NbsplitError("R Databricks notebook (R code in its cells): nbsplit only splits Python notebooks", path)
    return Notebook(path=path, format="databricks", cells=cells, metadata={}, text=text)


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
        show = cell.metadata.get("dbtitle_show", "1")
        out.append(f"# DBTITLE {show},{cell.title}")
    if cell.kind == "markdown":
        magic = str(cell.metadata.get("databricks_magic") or "%md")
        if magic.split(None, 1)[0] not in ("%md", "%md-sandbox"):
            magic = "%md"
        magic = magic.split(None, 1)[0]  # inline text (``%md # Title``) is part of the source
        body = [magic, *cell.source.split("\n")] if cell.source else [magic]
        out.extend(_magic(line) for line in body)
    elif cell.kind == "raw":
        # Databricks has no raw cells: keep the text, as comments, in a Python cell.
        out.extend(f"# {line}" if line else "#" for line in cell.source.split("\n"))
    else:
        source = trim_blank_lines(cell.source)
        first = source.split("\n", 1)[0]
        if cell.language != "python" and magic_name(first) is None:
            source = f"%{cell.language}\n{source}"
            first = source.split("\n", 1)[0]
        if magic_name(first) is not None:
            out.extend(_magic(line) for line in source.split("\n"))
        elif source:
            out.append(source)
    return "\n".join(out)


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
