"""Small notebooks built with nbformat for tests that need a file on disk."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import v4


def write_tagged_nb(path: Path, cells: list[tuple[str, list[str]]]) -> Path:
    """Write code cells given as (source, tags) to ``path``."""
    nb = v4.new_notebook()
    for source, tags in cells:
        cell = v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path
