"""Jupyter ``.ipynb`` (nbformat JSON) reader and writer.

Reading parses the JSON ourselves first, so a syntax error is reported with its line and
column, then lets nbformat upgrade old versions (v2/v3 -> v4) and validate. Cell ids are kept
only when the file has them: ids that nbformat invents while upgrading are random, and a
random id would make our output non-deterministic.

Writing (``build_ipynb`` + ``dumps_ipynb``) goes through ``nbformat.writes`` (indent 1, sorted
keys, trailing newline), so the same cells always give the same bytes.
"""

from __future__ import annotations

import copy
import re
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import nbformat

from nbsplit.errors import NbsplitError
from nbsplit.model import Cell, Notebook
from nbsplit.languages import EXPORTED_IPYNB_MAGICS
from nbsplit.read.validate import load_json, validate_ipynb_structure

__all__ = ["read_ipynb", "build_ipynb", "dumps_ipynb", "notebook_language", "check_python"]

DATABRICKS_NOTEBOOK_KEY = "application/vnd.databricks.v1+notebook"
DATABRICKS_CELL_KEY = "application/vnd.databricks.v1+cell"
# Databricks-exported ipynb keeps non-Python magics as the first line of a code cell.
_DATABRICKS_MAGICS = EXPORTED_IPYNB_MAGICS
_VALID_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_PYTHON_NAMES = {"python", "python2", "python3", "ipython", "ipython2", "ipython3", "pyspark", "py"}


def read_ipynb(text: str, path: Path | str) -> Notebook:
    path = Path(path)
    raw = load_json(text, path)
    if not isinstance(raw, dict) or "nbformat" not in raw or not ("cells" in raw or "worksheets" in raw):
        raise NbsplitError("JSON file is not a Jupyter notebook (no 'nbformat' and 'cells')", path)
    major = raw.get("nbformat")
    if not isinstance(major, int) or major not in (2, 3, 4):
        raise NbsplitError(f"unsupported nbformat version {major!r} (supported: 2, 3, 4)", path)
    validate_ipynb_structure(raw, path)
    check_python(notebook_language(raw.get("metadata") or {}), path)

    nb = _to_v4(raw, path)
    _validate(nb, path)
    had_ids = major == 4
    databricks = DATABRICKS_NOTEBOOK_KEY in nb.metadata
    cells = tuple(_cell(i, c, had_ids, databricks) for i, c in enumerate(nb.cells))
    return Notebook(path=path, format="ipynb", cells=cells, metadata=_plain(nb.metadata), text=text)


def notebook_language(metadata: Mapping[str, Any]) -> str | None:
    """The kernel language the notebook metadata declares, lower-cased, or None."""
    candidates: list[Any] = []
    kernelspec = metadata.get("kernelspec")
    if isinstance(kernelspec, Mapping):
        candidates.append(kernelspec.get("language"))
    info = metadata.get("language_info")
    if isinstance(info, Mapping):
        candidates.append(info.get("name"))
    dbx = metadata.get(DATABRICKS_NOTEBOOK_KEY)
    if isinstance(dbx, Mapping):
        candidates.append(dbx.get("language"))
    candidates.append(metadata.get("language"))  # nbformat 3 put it here
    for lang in candidates:
        if isinstance(lang, str) and lang.strip():
            return lang.strip().lower()
    return None


def check_python(language: str | None, path: Path | str) -> None:
    """Refuse a notebook whose declared language is not Python."""
    if language is None or language in _PYTHON_NAMES or language.startswith("python"):
        return
    pretty = {"r": "R", "scala": "Scala", "julia": "Julia", "sql": "SQL"}.get(language, language)
    raise NbsplitError(f"{pretty} notebook (kernel language {language!r}): nbsplit only splits Python notebooks", path)


def _to_v4(raw: dict, path: Path) -> nbformat.NotebookNode:
    if raw["nbformat"] == 4:
        try:
            return nbformat.from_dict(raw)
        except RecursionError:
            raise NbsplitError("invalid notebook: nested too deeply", path) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # The versioned reader joins v2/v3 multi-line strings before upgrading them.
            old = nbformat.versions[raw["nbformat"]].to_notebook_json(copy.deepcopy(raw))
            return nbformat.convert(old, 4)
    except Exception as exc:  # nbformat's converters raise whatever the malformed input triggers
        raise NbsplitError(f"cannot upgrade nbformat {raw['nbformat']} notebook: {_short(exc)}", path) from None


def _validate(nb: nbformat.NotebookNode, path: Path) -> None:
    # validate() may repair the node it is given (missing ids); check a copy.
    probe = copy.deepcopy(nb)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(probe)
    except nbformat.ValidationError as exc:
        parts = list(getattr(exc, "absolute_path", ()) or ())
        cell = parts[1] if len(parts) > 1 and parts[0] == "cells" and isinstance(parts[1], int) else None
        where = "/".join(str(p) for p in parts)
        detail = _short(exc)
        raise NbsplitError(f"invalid notebook{f' at {where}' if where else ''}: {detail}", path, cell) from None
    except (RecursionError, ValueError, TypeError, KeyError, AssertionError) as exc:
        # nbformat's validator assumes the shape validate_ipynb_structure already checked; any
        # other surprise in a hand-made file is still a bad notebook, not an nbsplit bug.
        raise NbsplitError(f"invalid notebook: {_short(exc)}", path) from None


def _short(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    first = str(message).strip().splitlines()[0] if str(message).strip() else type(exc).__name__
    return first if len(first) <= 160 else first[:157] + "..."


def _cell(index: int, cell: Mapping[str, Any], had_ids: bool, databricks: bool) -> Cell:
    kind = cell.get("cell_type", "code")
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(source)
    metadata = _plain(cell.get("metadata") or {})
    tags = metadata.get("tags") or ()
    tags = tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else ()
    language = "python"
    title = None
    if kind == "code" and databricks:
        first = source.lstrip().split("\n", 1)[0].strip()
        if first.startswith("%") and not first.startswith("%%"):
            magic = first[1:].split(None, 1)[0].lower() if len(first) > 1 else ""
            if magic in _DATABRICKS_MAGICS:
                language = magic
    dbx = metadata.get(DATABRICKS_CELL_KEY)
    if isinstance(dbx, Mapping) and isinstance(dbx.get("title"), str) and dbx.get("title"):
        title = dbx["title"]
    return Cell(
        index=index,
        kind=kind if kind in ("code", "markdown", "raw") else "raw",
        source=source,
        tags=tags,
        id=cell.get("id") if had_ids and isinstance(cell.get("id"), str) else None,
        language=language if kind == "code" else ("md" if kind == "markdown" else "raw"),
        title=title,
        metadata=metadata,
        outputs=tuple(_plain(o) for o in cell.get("outputs", ()) or ()),
        execution_count=cell.get("execution_count") if kind == "code" else None,
    )


def _plain(value: Any) -> Any:
    """NotebookNode -> plain dicts/lists (frozen model objects should not hold attribute-dicts)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def build_ipynb(cells: Sequence[Cell], metadata: Mapping[str, Any] | None = None) -> nbformat.NotebookNode:
    """An nbformat v4.5 notebook from ``cells``; ids are kept, or derived from the cell index.

    Derived ids (``cell-<index>``) keep output deterministic for notebooks whose cells have no
    id (Databricks source, percent scripts, old ipynb).
    """
    from nbformat import v4

    nb = v4.new_notebook(metadata=copy.deepcopy(dict(metadata or {})))
    used: set[str] = set()
    for cell in cells:
        meta = copy.deepcopy(dict(cell.metadata))
        if cell.tags:
            meta["tags"] = list(cell.tags)
        else:
            meta.pop("tags", None)
        if cell.kind == "code":
            node = v4.new_code_cell(source=cell.source, metadata=meta)
            node.outputs = [nbformat.from_dict(copy.deepcopy(dict(o))) for o in cell.outputs]
            node.execution_count = cell.execution_count
        elif cell.kind == "markdown":
            node = v4.new_markdown_cell(source=cell.source, metadata=meta)
        else:
            node = v4.new_raw_cell(source=cell.source, metadata=meta)
        base = cell.id if cell.id and _VALID_ID.match(cell.id) else f"cell-{cell.index}".replace("--", "-m")
        cell_id, n = base, 1
        while cell_id in used:
            n += 1
            cell_id = f"{base[:56]}-{n}"
        used.add(cell_id)
        node["id"] = cell_id
        nb.cells.append(node)
    return nb


def dumps_ipynb(cells: Sequence[Cell], metadata: Mapping[str, Any] | None = None) -> str:
    """The ``.ipynb`` text for ``cells`` (nbformat's own layout: indent 1, trailing newline)."""
    nb = build_ipynb(cells, metadata)
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"
