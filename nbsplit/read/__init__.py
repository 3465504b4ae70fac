"""Read a notebook file, whatever its format, into a ``Notebook``.

Three formats are accepted, chosen by content first and extension second (a notebook saved
as ``.txt`` or without an extension is still recognised):

- ``ipynb``: nbformat JSON (v4; v3 and v2 are upgraded to v4 on the fly);
- ``databricks``: Databricks source export, a ``.py`` whose first line is
  ``# Databricks notebook source``;
- ``percent``: Jupytext percent scripts, cells started by ``# %%`` lines.

Only Python notebooks are split: an R/Scala/SQL/Julia notebook is refused with a clear error
rather than split into nonsense. Every problem with the input is an ``NbsplitError`` (exit code
2) whose one-line message names the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from nbsplit.errors import NbsplitError
from nbsplit.model import Cell, Notebook, NotebookFormat

__all__ = [
    "read_notebook",
    "read_text",
    "detect_format",
    "dumps_notebook",
    "ACCEPTED_FORMATS",
]

ACCEPTED_FORMATS = (
    "accepted formats: .ipynb (Jupyter JSON), Databricks source .py (first line "
    "'# Databricks notebook source') and Jupytext percent .py ('# %%' cell markers)"
)

_DATABRICKS_HEADER = "# Databricks notebook source"
# Other languages' Databricks exports: the header's comment syntax gives the language away.
_FOREIGN_DATABRICKS_HEADERS = {
    "// Databricks notebook source": "Scala",
    "-- Databricks notebook source": "SQL",
}
_PERCENT_MARKER = re.compile(r"^\s*#\s*%%(%*)(\s.*)?$", re.MULTILINE)
_FOREIGN_EXTENSIONS = {".r": "R", ".scala": "Scala", ".sql": "SQL", ".jl": "Julia"}


def read_notebook(path: Path | str) -> Notebook:
    """Read ``path`` into a ``Notebook``; raise ``NbsplitError`` naming the file on bad input."""
    from nbsplit.read.validate import read_input_bytes

    path = Path(path)
    data = read_input_bytes(path, "notebook file")
    if b"\x00" in data:
        raise NbsplitError("binary file (contains NUL bytes), not a notebook", path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NbsplitError(f"not UTF-8 text (byte {exc.start}), not a notebook", path) from None
    return read_text(text, path)


def read_text(text: str, path: Path | str = "<string>") -> Notebook:
    """Parse notebook ``text`` as if read from ``path`` (the name is used for format and errors)."""
    path = Path(path)
    if not text.strip():
        raise NbsplitError("empty file", path)
    from nbsplit.read.validate import validate_notebook

    fmt = detect_format(text, path)
    if fmt == "ipynb":
        from nbsplit.read.ipynb import read_ipynb

        notebook = read_ipynb(text, path)
    elif fmt == "databricks":
        from nbsplit.read.databricks import read_databricks

        notebook = read_databricks(text, path)
    else:
        from nbsplit.read.percent import read_percent

        notebook = read_percent(text, path)
    validate_notebook(notebook)
    return notebook


def detect_format(text: str, path: Path | str) -> NotebookFormat:
    """The format of ``text``: by content (header line, JSON, ``# %%`` markers), then extension."""
    path = Path(path)
    body = text.lstrip("\ufeff")
    first_line = body.split("\n", 1)[0].rstrip("\r").strip()
    suffix = path.suffix.lower()
    if first_line == _DATABRICKS_HEADER:
        if suffix == ".r":
            raise NbsplitError("R Databricks notebook: nbsplit only splits Python notebooks", path)
        return "databricks"
    if first_line in _FOREIGN_DATABRICKS_HEADERS:
        lang = _FOREIGN_DATABRICKS_HEADERS[first_line]
        raise NbsplitError(f"{lang} Databricks notebook: nbsplit only splits Python notebooks", path)
    if body.lstrip().startswith("{") or suffix == ".ipynb":
        return "ipynb"
    if suffix in _FOREIGN_EXTENSIONS:
        raise NbsplitError(
            f"{_FOREIGN_EXTENSIONS[suffix]} file: nbsplit only splits Python notebooks; {ACCEPTED_FORMATS}",
            path,
        )
    if _PERCENT_MARKER.search(body):
        return "percent"
    if suffix == ".py":
        raise NbsplitError(
            f"a .py file that is neither a Databricks source notebook nor a percent script; {ACCEPTED_FORMATS}",
            path,
        )
    raise NbsplitError(f"not a notebook; {ACCEPTED_FORMATS}", path)


def dumps_notebook(cells: Sequence[Cell], fmt: NotebookFormat, metadata: Mapping[str, Any] | None = None) -> str:
    """File text for ``cells`` in ``fmt`` (``ipynb``, ``databricks`` or ``percent``); deterministic.

    The per-format writers are ``nbsplit.read.ipynb.dumps_ipynb`` (and ``build_ipynb`` for an
    ``nbformat.NotebookNode``), ``nbsplit.read.databricks.dump_databricks`` and
    ``nbsplit.read.percent.dump_percent``.
    """
    if fmt == "ipynb":
        from nbsplit.read.ipynb import dumps_ipynb

        return dumps_ipynb(cells, metadata)
    if fmt == "databricks":
        from nbsplit.read.databricks import dump_databricks

        return dump_databricks(cells)
    if fmt == "percent":
        from nbsplit.read.percent import dump_percent

        return dump_percent(cells, metadata)
    raise ValueError(f"unknown notebook format {fmt!r}")
