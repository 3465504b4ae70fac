"""The one validation layer between the disk and everything else.

Every file nbsplit reads (a notebook, ``pyproject.toml``, a converted folder's ``job.json`` and
manifest) comes through ``read_input_bytes``; every JSON document through ``load_json``; every
notebook, whatever its format, through ``validate_notebook`` before analysis. Each problem is
one ``NbsplitError`` naming the file (and the cell), so no malformed input reaches code that
would fail with a Python exception, hang (a FIFO), or write text that cannot be encoded (a lone
surrogate) into an output.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any, Mapping

from nbsplit.errors import NbsplitError

__all__ = [
    "MAX_JSON_DEPTH",
    "read_input_bytes",
    "read_input_text",
    "check_file_name",
    "load_json",
    "check_json_tree",
    "validate_ipynb_structure",
    "RUNNING_COUNT",
    "validate_notebook",
    "validate_tags",
    "lone_surrogate",
    "type_name",
]

# Real notebooks nest a dozen levels (widget state, plotly figures); the limit keeps every
# recursive consumer downstream (deepcopy, jsonschema, our own walkers) far from Python's
# recursion limit, whatever the input.
MAX_JSON_DEPTH = 200
_CELL_TYPES = ("code", "markdown", "raw")


def check_file_name(path: Path) -> None:
    """Refuse a path whose name is not valid UTF-8: it reaches JSON, YAML and README outputs,
    which cannot hold the undecodable bytes Python keeps as lone surrogates."""
    if lone_surrogate(str(path)) is not None:
        raise NbsplitError("file name is not valid UTF-8 (rename the file)", path)


def read_input_bytes(path: Path, what: str = "file") -> bytes:
    """The bytes of regular file ``path``; a missing file, a folder, a FIFO, a device or a
    symlink loop is one error line. The file is opened non-blocking and checked with fstat
    before any read, so a FIFO (or one swapped in after a stat) never blocks."""
    check_file_name(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise NbsplitError("no such file", path) from None
    except IsADirectoryError:
        raise NbsplitError(f"is a directory, not a {what}", path) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NbsplitError("symlink loop (the path resolves to itself)", path) from None
        raise NbsplitError(f"cannot read {what}: {exc.strerror or type(exc).__name__}", path) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise NbsplitError(f"is a directory, not a {what}", path)
        if not stat.S_ISREG(mode):
            raise NbsplitError(f"not a regular file ({_kind(mode)}); nbsplit reads regular files only", path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise NbsplitError(f"cannot read {what}: {exc.strerror or type(exc).__name__}", path) from None
    finally:
        os.close(fd)


def read_input_text(path: Path, what: str = "file") -> str:
    """``read_input_bytes`` decoded as strict UTF-8 (a stray byte is an error, not a U+FFFD)."""
    data = read_input_bytes(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NbsplitError(f"not UTF-8 text (byte {exc.start})", path) from None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


_LFS_POINTER = "version https://git-lfs.github.com/spec/"


def _what_text_is(text: str) -> str | None:
    """What a file that is not JSON is, when it is one of the usual mistakes: the notebook's web
    page saved from the browser, or the Git LFS pointer checked out instead of the file."""
    head = text.lstrip("\ufeff \t\r\n")[:2000].lower()
    if head.startswith(("<!doctype html", "<html")) or head.startswith("<") and "<html" in head:
        return "an HTML page (a web page saved instead of the raw .ipynb file?)"
    if head.startswith(_LFS_POINTER):
        return "a Git LFS pointer (the notebook itself is in LFS storage: run git lfs pull)"
    return None


def load_json(text: str, path: Path, what: str = "JSON") -> Any:
    """Parse ``text``; syntax errors, nesting deeper than Python's stack, integers too long to
    convert and lone surrogates are one error line each."""
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        what_it_is = _what_text_is(text)
        if what_it_is:
            raise NbsplitError(f"{what_it_is}, not {what}", path) from None
        raise NbsplitError(f"invalid {what} at line {exc.lineno} column {exc.colno}: {exc.msg}", path) from None
    except RecursionError:
        raise NbsplitError(f"invalid {what}: nested deeper than {MAX_JSON_DEPTH} levels", path) from None
    except ValueError as exc:  # e.g. an integer literal over sys.get_int_max_str_digits()
        detail = str(exc).split(":")[0].split(";")[0]
        raise NbsplitError(f"invalid {what}: {detail}", path) from None
    check_json_tree(data, path, what, surrogates="\\u" in text or "\\U" in text)
    return data


def check_json_tree(data: Any, path: Path, what: str = "JSON", *, surrogates: bool = True) -> None:
    """Refuse nesting deeper than ``MAX_JSON_DEPTH`` and (when ``surrogates``) strings holding a
    lone surrogate, naming the notebook cell the problem is in when there is one. Iterative,
    so the check itself cannot overflow the stack."""
    stack: list[tuple[Any, int, int | None]] = [(data, 1, None)]
    while stack:
        node, depth, cell = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise NbsplitError(f"invalid {what}: nested deeper than {MAX_JSON_DEPTH} levels", path, cell)
        if isinstance(node, dict):
            for key, value in node.items():
                if surrogates:
                    _check_string(key, path, cell)
                if node is data and key == "cells" and isinstance(value, list):
                    stack.extend((c, depth + 2, i) for i, c in enumerate(value))
                    continue
                if isinstance(value, (dict, list)):
                    stack.append((value, depth + 1, cell))
                elif surrogates and isinstance(value, str):
                    _check_string(value, path, cell)
        elif isinstance(node, list):
            for value in node:
                if isinstance(value, (dict, list)):
                    stack.append((value, depth + 1, cell))
                elif surrogates and isinstance(value, str):
                    _check_string(value, path, cell)
        elif surrogates and isinstance(node, str):
            _check_string(node, path, cell)


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in ``text`` as ``\\udXXX``, or None for valid Unicode text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"\\u{ord(text[exc.start]):04x}"
    return None


def _check_string(text: str, path: Path, cell: int | None) -> None:
    bad = lone_surrogate(text)
    if bad is not None:
        raise NbsplitError(f"text holds a lone surrogate {bad} (not valid Unicode; cannot be written out)", path, cell)


# The prompt number Jupyter shows, and IPython 1-3 saved, for a cell still running: read as
# never run (the repair in ipynb._repair).
RUNNING_COUNT = "*"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null", int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def validate_ipynb_structure(raw: Mapping[str, Any], path: Path) -> None:
    """The shape nbformat's own code assumes before it validates (it crashes on a ``null`` cell
    list, a number where a cell should be, or a string ``nbformat_minor``): checked first so the
    error names the field and cell instead of surfacing as a Python exception."""
    major = raw.get("nbformat")
    minor = raw.get("nbformat_minor", 0)
    if not _is_int(minor) or minor < 0:
        raise NbsplitError(f"invalid notebook: nbformat_minor must be a non-negative integer, "
                           f"got {type_name(minor)}", path)
    if "metadata" in raw and not isinstance(raw["metadata"], dict):
        raise NbsplitError(f"invalid notebook: metadata must be an object, got {type_name(raw['metadata'])}", path)
    if major == 4:
        cells = raw.get("cells")
        if not isinstance(cells, list):
            raise NbsplitError(f"invalid notebook: cells must be a list, got {type_name(cells)}", path)
        for index, cell in enumerate(cells):
            _validate_raw_cell(cell, index, path)
        return
    worksheets = raw.get("worksheets", [])
    if not isinstance(worksheets, list) or not all(isinstance(w, dict) for w in worksheets):
        raise NbsplitError("invalid notebook: worksheets must be a list of objects", path)
    index = 0
    for sheet in worksheets:
        cells = sheet.get("cells", [])
        if not isinstance(cells, list):
            raise NbsplitError(f"invalid notebook: worksheet cells must be a list, got {type_name(cells)}", path)
        for cell in cells:
            if not isinstance(cell, dict):
                raise NbsplitError(f"invalid notebook: a cell must be an object, got {type_name(cell)}", path, index)
            index += 1


def _validate_raw_cell(cell: Any, index: int, path: Path) -> None:
    if not isinstance(cell, dict):
        raise NbsplitError(f"invalid notebook: a cell must be an object, got {type_name(cell)}", path, index)
    kind = cell.get("cell_type")
    if kind not in _CELL_TYPES:
        raise NbsplitError(f"invalid notebook: cell_type must be code, markdown or raw, got {kind!r}"[:200],
                           path, index)
    source = cell.get("source", "")
    if not isinstance(source, str) and not (isinstance(source, list) and all(isinstance(s, str) for s in source)):
        raise NbsplitError(f"invalid notebook: source must be a string or a list of strings, "
                           f"got {type_name(source)}", path, index)
    metadata = cell.get("metadata", {})
    if not isinstance(metadata, dict):
        raise NbsplitError(f"invalid notebook: cell metadata must be an object, got {type_name(metadata)}",
                           path, index)
    if "tags" in metadata:
        validate_tags(metadata["tags"], path, index)
    if kind == "code":
        outputs = cell.get("outputs", [])
        if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
            raise NbsplitError("invalid notebook: outputs must be a list of objects", path, index)
        count = cell.get("execution_count")
        if count is not None and not _is_int(count) and count != RUNNING_COUNT:
            raise NbsplitError(f"invalid notebook: execution_count must be an integer or null, "
                               f"got {type_name(count)}", path, index)


def validate_tags(tags: Any, path: Path, cell: int) -> tuple[str, ...]:
    """Cell tags as nbformat defines them (a list of unique, non-empty strings without commas),
    plus no line breaks or other control characters: a tag is written on a percent marker line
    and into messages, where a line break would start a new line."""
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise NbsplitError(f"invalid cell tags: must be a list of strings, got {type_name(tags)}"
                           if not isinstance(tags, list) else "invalid cell tags: every tag must be a string",
                           path, cell)
    seen: set[str] = set()
    for tag in tags:
        if not tag.strip():
            raise NbsplitError("invalid cell tag: empty tag", path, cell)
        if "," in tag:
            raise NbsplitError(f"invalid cell tag {tag!r}: tags cannot contain a comma", path, cell)
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in tag):
            raise NbsplitError(f"invalid cell tag {tag!r}: tags cannot contain a line break or control character",
                               path, cell)
        if tag in seen:
            raise NbsplitError(f"invalid cell tags: {tag!r} appears twice", path, cell)
        seen.add(tag)
    return tuple(tags)


# Cell metadata keys nbsplit reads or writes, with the type each must have.
_METADATA_TYPES: dict[str, tuple[type, ...]] = {
    "title": (str,),
    "nbsplit": (dict,),
    "tags": (list,),
}


def validate_notebook(nb: Any) -> None:
    """Checks every reader's result passes, whatever the format: cell text is valid Unicode,
    tags are valid nbformat tags, and the metadata nbsplit itself uses has the right type."""
    path: Path = nb.path
    for cell in nb.cells:
        bad = lone_surrogate(cell.source)
        if bad is not None:
            raise NbsplitError(f"source holds a lone surrogate {bad} (not valid Unicode; cannot be written out)",
                               path, cell.index)
        validate_tags(list(cell.tags), path, cell.index)
        _validate_cell_metadata(cell.metadata, path, cell.index)
        if cell.title is not None:
            _check_string(cell.title, path, cell.index)


def _validate_cell_metadata(metadata: Mapping[str, Any], path: Path, index: int) -> None:
    for key, types in _METADATA_TYPES.items():
        if key in metadata and not isinstance(metadata[key], types):
            want = " or ".join(type_name(t()) for t in types)
            raise NbsplitError(f"invalid cell metadata: {key!r} must be {want}, got {type_name(metadata[key])}",
                               path, index)

