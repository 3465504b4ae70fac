"""Jupyter ``.ipynb`` (nbformat JSON) reader and writer.

Reading parses the JSON ourselves first, so a syntax error is reported with its line and
column, then lets nbformat upgrade old versions (v2/v3 -> v4) and validate. Cell ids are kept
only when the file has them: ids that nbformat invents while upgrading are random, and a
random id would make our output non-deterministic.

nbformat (and jsonschema under it) is imported only when needed: a v4.0-v4.5 notebook that
``_conforms`` accepts skips both the import and the schema validation, which together cost more
than everything else ``nbsplit check`` does on a typical notebook. ``_conforms`` only ever says
"certainly valid"; anything it does not recognise goes to nbformat's validator, so every error
message still comes from nbformat.

Writing (``dumps_ipynb``) gives exactly what ``nbformat.writes`` gives (indent 1, sorted keys,
trailing newline), so the same cells always give the same bytes.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from nbsplit import jsondump
from nbsplit.errors import NbsplitError
from nbsplit.model import Cell, Notebook
from nbsplit.languages import EXPORTED_IPYNB_MAGICS
from nbsplit.read.validate import RUNNING_COUNT, load_json, validate_ipynb_structure

__all__ = ["read_ipynb", "build_ipynb", "dumps_ipynb", "notebook_language", "check_python"]

DATABRICKS_NOTEBOOK_KEY = "application/vnd.databricks.v1+notebook"
DATABRICKS_CELL_KEY = "application/vnd.databricks.v1+cell"
# Databricks-exported ipynb keeps non-Python magics as the first line of a code cell.
_DATABRICKS_MAGICS = EXPORTED_IPYNB_MAGICS
_VALID_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_PYTHON_NAMES = {"python", "python2", "python3", "ipython", "ipython2", "ipython3", "pyspark", "pyspark2", "pyspark3",
                 "pysparkkernel", "py"}


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
    if major == 4 and _ids_before_v45(raw):
        # VS Code and recent Jupyter write cell ids into 4.0-4.4 notebooks, and Jupyter opens
        # them; the 4.4 schema forbids the key, so such a file is checked as the 4.5 it is.
        raw = {**raw, "nbformat_minor": 5}

    nb: Mapping[str, Any]
    if major == 4 and _conforms(raw):
        nb = raw
    else:
        nb = _to_v4(raw, path)
        nb = _validate(nb, path)
    had_ids = major == 4
    metadata = nb["metadata"]
    databricks = DATABRICKS_NOTEBOOK_KEY in metadata
    cells = tuple(_cell(i, c, had_ids, databricks) for i, c in enumerate(nb["cells"]))
    return Notebook(path=path, format="ipynb", cells=cells, metadata=_plain(metadata), text=text)


def _ids_before_v45(raw: Mapping[str, Any]) -> bool:
    minor = raw.get("nbformat_minor")
    cells = raw.get("cells")
    return (type(minor) is int and minor < 5 and type(cells) is list
            and any(type(c) is dict and "id" in c for c in cells))


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


def _to_v4(raw: dict, path: Path) -> Any:
    import nbformat

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


def _validate(nb: Any, path: Path) -> Any:
    """``nb`` checked against nbformat's schema. What the schema refuses but the split never reads
    is repaired (``_repair``); anything else stops with the path and cell nbformat names."""
    import nbformat

    # validate() may repair the node it is given (missing ids); check a copy.
    probe = copy.deepcopy(nb)
    repairs: list[Callable[[Any], None]] = []
    while True:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                nbformat.validate(probe)
            break
        except nbformat.ValidationError as exc:
            parts = list(getattr(exc, "absolute_path", ()) or ())
            repair = _repair(exc, parts)
            if repair is None:
                cell = parts[1] if len(parts) > 1 and parts[0] == "cells" and isinstance(parts[1], int) else None
                where = "/".join(str(p) for p in parts)
                raise NbsplitError(f"invalid notebook{f' at {where}' if where else ''}: {_short(exc)}",
                                   path, cell) from None
            repair(probe)
            repairs.append(repair)
        except (RecursionError, ValueError, TypeError, KeyError, AssertionError) as exc:
            # nbformat's validator assumes the shape validate_ipynb_structure already checked; any
            # other surprise in a hand-made file is still a bad notebook, not an nbsplit bug.
            raise NbsplitError(f"invalid notebook: {_short(exc)}", path) from None
    if not repairs:
        return nb
    # the same repairs on the notebook itself, not the probe: validate() may have added random
    # cell ids to the probe, and the same input must give the same output
    fixed = copy.deepcopy(nb)
    for repair in repairs:
        repair(fixed)
    return fixed


# Values for required keys the split never reads (what a new notebook or cell gets).
_REQUIRED_DEFAULTS: dict[str, Callable[[], Any]] = {
    "metadata": dict, "outputs": list, "execution_count": lambda: None, "source": str,
    "display_name": str, "name": str,  # kernelspec / language_info
}


def _repair(exc: Any, parts: list[Any]) -> Callable[[Any], None] | None:
    """A repair for a schema error in what the split never reads, or None (refuse). Jupyter opens
    such files with a warning: a stream output with ``"metadata": {"tags": null}`` written by an
    old front end, a cell carrying an ``execution_state`` key, a code cell without
    ``execution_count``, a notebook without ``metadata``, a cell saved while it ran (all in
    public notebooks)."""
    if len(parts) >= 4 and parts[0] == "cells" and parts[2] == "outputs" \
            and isinstance(parts[1], int) and isinstance(parts[3], int):
        # a stored output is a record of a past run: stage notebooks drop it unless --keep-outputs
        cell, output = parts[1], parts[3]
        return lambda d: d["cells"][cell]["outputs"].__delitem__(output)
    if len(parts) == 3 and parts[0] == "cells" and isinstance(parts[1], int) \
            and parts[2] == "execution_count" and exc.instance == RUNNING_COUNT:
        # IPython 1-3 saved a cell that was still running with prompt number "*"
        cell = parts[1]
        return lambda d: d["cells"][cell].__setitem__("execution_count", None)
    if not isinstance(exc.instance, dict) or not isinstance(exc.schema, dict):
        return None

    def target(d: Any) -> Any:
        for part in parts:
            d = d[part]
        return d

    if exc.validator == "additionalProperties" and "properties" in exc.schema:
        extra = [k for k in exc.instance if k not in exc.schema["properties"]]
        if not extra or "cell_type" in extra:
            return None

        def drop(d: Any) -> None:
            node = target(d)
            for key in extra:
                node.pop(key, None)
        return drop
    if exc.validator == "required":
        missing = [k for k in exc.validator_value if k not in exc.instance]
        if not missing or any(k not in _REQUIRED_DEFAULTS for k in missing):
            return None

        def fill(d: Any) -> None:
            node = target(d)
            for key in missing:
                node.setdefault(key, _REQUIRED_DEFAULTS[key]())
        return fill
    return None


# The parts of the v4.4/v4.5 schemas (nbformat/v4/nbformat.v4.{4,5}.schema.json) _conforms checks.
# The v4.0-v4.3 schemas are the v4.4 one with fewer rules (no ``execution``/``jupyter`` cell
# metadata, notebook ``title``/``authors`` types; a lower ``nbformat_minor`` minimum): a document
# without cell ids that passes the v4.4 rules here passes them too. About half of the public
# notebooks in the corpus are v4.0-v4.2: they skipped nbformat's import and validation only
# since then (a typical one: ~40 % of its ``nbsplit check`` process).
_MINORS = (0, 1, 2, 3, 4, 5)
_CELL_KEYS = {
    "code": frozenset({"id", "cell_type", "metadata", "source", "outputs", "execution_count"}),
    "markdown": frozenset({"id", "cell_type", "metadata", "source", "attachments"}),
    "raw": frozenset({"id", "cell_type", "metadata", "source", "attachments"}),
}
_REQUIRED = {
    "code": ("cell_type", "metadata", "source", "outputs", "execution_count"),
    "markdown": ("cell_type", "metadata", "source"),
    "raw": ("cell_type", "metadata", "source"),
}
# Every output property is required and no other is allowed, so the key set is exact.
_OUTPUT_KEYS = {
    "execute_result": frozenset({"output_type", "data", "metadata", "execution_count"}),
    "display_data": frozenset({"output_type", "data", "metadata"}),
    "stream": frozenset({"output_type", "name", "text"}),
    "error": frozenset({"output_type", "ename", "evalue", "traceback"}),
}
_SCHEMA_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_JSON_MIME = re.compile(r"application/(.*\+)?json")
_TOP_KEYS = frozenset({"metadata", "nbformat_minor", "nbformat", "cells"})


def _conforms(raw: Mapping[str, Any]) -> bool:
    """True only if ``raw`` certainly satisfies nbformat's v4.0-v4.5 schema (v4.5: every cell
    has an id, so nbformat's validator would not repair anything either). A strict subset of
    the schema: unusual but valid documents return False and take nbformat's path."""
    minor = raw.get("nbformat_minor")
    if raw.keys() != _TOP_KEYS or raw["nbformat"] != 4 or type(minor) is not int or minor not in _MINORS:
        return False
    metadata, cells = raw["metadata"], raw["cells"]
    if type(metadata) is not dict or type(cells) is not list or not _notebook_metadata_ok(metadata):
        return False
    with_ids = minor == 5
    seen: set[str] = set()
    for cell in cells:
        if type(cell) is not dict:
            return False
        kind = cell.get("cell_type")
        allowed = _CELL_KEYS.get(kind) if type(kind) is str else None
        if allowed is None or not allowed.issuperset(cell) or any(k not in cell for k in _REQUIRED[kind]):
            return False
        if with_ids:
            cell_id = cell.get("id")
            if type(cell_id) is not str or not _SCHEMA_ID.fullmatch(cell_id) or cell_id in seen:
                return False
            seen.add(cell_id)
        elif "id" in cell:
            return False
        if not _multiline(cell["source"]) or not _cell_metadata_ok(cell["metadata"], kind):
            return False
        if kind == "code":
            count = cell["execution_count"]
            if not (count is None or (type(count) is int and count >= 0)):
                return False
            outputs = cell["outputs"]
            if type(outputs) is not list or not all(_output_ok(o) for o in outputs):
                return False
        elif "attachments" in cell:
            attachments = cell["attachments"]
            if type(attachments) is not dict or not all(_mimebundle_ok(b) for b in attachments.values()):
                return False
    return True


def _multiline(value: Any) -> bool:
    return type(value) is str or (type(value) is list and all(type(v) is str for v in value))


def _notebook_metadata_ok(metadata: dict) -> bool:
    kernelspec = metadata.get("kernelspec", {"name": "", "display_name": ""})
    if type(kernelspec) is not dict or type(kernelspec.get("name")) is not str \
            or type(kernelspec.get("display_name")) is not str:
        return False
    info = metadata.get("language_info", {"name": ""})
    if type(info) is not dict or type(info.get("name")) is not str:
        return False
    if any(k in info and type(info[k]) is not str for k in ("file_extension", "mimetype", "pygments_lexer")):
        return False
    if "codemirror_mode" in info and type(info["codemirror_mode"]) not in (str, dict):
        return False
    if "orig_nbformat" in metadata:
        orig = metadata["orig_nbformat"]
        if type(orig) is not int or orig < 1:
            return False
    return (type(metadata.get("title", "")) is str
            and type(metadata.get("authors", [])) is list)


def _cell_metadata_ok(metadata: Any, kind: str) -> bool:
    if type(metadata) is not dict:
        return False
    if "tags" in metadata:
        tags = metadata["tags"]
        if type(tags) is not list or len(set(t for t in tags if type(t) is str)) != len(tags) \
                or any(not t or "," in t for t in tags):
            return False
    if "name" in metadata:
        name = metadata["name"]
        if type(name) is not str or not name or "\n" in name or "\r" in name:
            return False
    if "jupyter" in metadata:
        jupyter = metadata["jupyter"]
        if type(jupyter) is not dict:
            return False
    if kind == "code":
        if "collapsed" in metadata and type(metadata["collapsed"]) is not bool:
            return False
        # the schema's enum [true, false, "auto"]: 0 and 1 are not booleans there (``0 in
        # (True, False)`` is True in Python: the fast path let ``"scrolled": 0`` through)
        if "scrolled" in metadata and not (type(metadata["scrolled"]) is bool or metadata["scrolled"] == "auto"):
            return False
        if "execution" in metadata:
            execution = metadata["execution"]
            if type(execution) is not dict or any(type(v) is not str for v in execution.values()):
                return False
    elif kind == "raw" and "format" in metadata and type(metadata["format"]) is not str:
        return False
    return True


def _mimebundle_ok(bundle: Any) -> bool:
    return type(bundle) is dict and all(
        _multiline(v) or _JSON_MIME.fullmatch(k) is not None for k, v in bundle.items())


def _output_ok(output: Any) -> bool:
    if type(output) is not dict:
        return False
    kind = output.get("output_type")
    keys = _OUTPUT_KEYS.get(kind) if type(kind) is str else None
    if keys is None or output.keys() != keys:
        return False
    if kind == "stream":
        return type(output["name"]) is str and _multiline(output["text"])
    if kind == "error":
        trace = output["traceback"]
        return (type(output["ename"]) is str and type(output["evalue"]) is str
                and type(trace) is list and all(type(t) is str for t in trace))
    if kind == "execute_result":
        count = output["execution_count"]
        if not (count is None or (type(count) is int and count >= 0)):
            return False
    return type(output["metadata"]) is dict and _mimebundle_ok(output["data"])


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
    """NotebookNode -> plain dicts/lists (frozen model objects should not hold attribute-dicts).

    The JSON types are told apart by exact type first: ``isinstance(value, typing.Mapping)`` goes
    through the ABC machinery (~1 us a call), and a notebook's outputs hold thousands of values."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict:
        return {k: _plain(v) for k, v in value.items()}
    if kind is list:
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def build_ipynb(cells: Sequence[Cell], metadata: Mapping[str, Any] | None = None) -> Any:
    """An nbformat v4.5 notebook (``NotebookNode``) from ``cells``; ids are kept, or derived
    from the cell index.

    Derived ids (``cell-<index>``) keep output deterministic for notebooks whose cells have no
    id (Databricks source, percent scripts, old ipynb).
    """
    import nbformat
    from nbformat import v4

    nb = v4.new_notebook(metadata=copy.deepcopy(dict(metadata or {})))
    for cell, cell_id in zip(cells, _cell_ids(cells)):
        meta = _cell_metadata(cell)
        if cell.kind == "code":
            node = v4.new_code_cell(source=cell.source, metadata=meta)
            node.outputs = [nbformat.from_dict(copy.deepcopy(dict(o))) for o in cell.outputs]
            node.execution_count = cell.execution_count
        elif cell.kind == "markdown":
            node = v4.new_markdown_cell(source=cell.source, metadata=meta)
        else:
            node = v4.new_raw_cell(source=cell.source, metadata=meta)
        node["id"] = cell_id
        nb.cells.append(node)
    return nb


def dumps_ipynb(cells: Sequence[Cell], metadata: Mapping[str, Any] | None = None) -> str:
    """The ``.ipynb`` text for ``cells`` (nbformat's own layout: indent 1, trailing newline).

    The notebook is built as plain JSON data and written the way ``nbformat.writes`` writes it;
    nbformat itself (which validates every new cell and the whole notebook against the schema
    with jsonschema, most of a convert's time) is used only when ``_conforms`` cannot vouch
    for the document, so its validation and log messages stay exactly as they were."""
    doc = _plain_notebook(cells, metadata)
    if _conforms(doc):
        text = _writes(doc)
    else:
        import nbformat

        text = nbformat.writes(build_ipynb(cells, metadata), version=4)
    return text if text.endswith("\n") else text + "\n"


def _cell_ids(cells: Sequence[Cell]) -> list[str]:
    used: set[str] = set()
    ids = []
    for cell in cells:
        base = cell.id if cell.id and _VALID_ID.match(cell.id) else f"cell-{cell.index}".replace("--", "-m")
        cell_id, n = base, 1
        while cell_id in used:
            n += 1
            cell_id = f"{base[:56]}-{n}"
        used.add(cell_id)
        ids.append(cell_id)
    return ids


def _cell_metadata(cell: Cell) -> dict[str, Any]:
    meta = copy.deepcopy(dict(cell.metadata))
    if cell.tags:
        meta["tags"] = list(cell.tags)
    else:
        meta.pop("tags", None)
    return meta


def _plain_notebook(cells: Sequence[Cell], metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """What ``build_ipynb`` builds, as plain dicts and lists."""
    out = []
    for cell, cell_id in zip(cells, _cell_ids(cells)):
        node: dict[str, Any] = {"id": cell_id, "cell_type": cell.kind if cell.kind in ("code", "markdown") else "raw",
                                "metadata": _cell_metadata(cell), "source": cell.source}
        if cell.kind == "code":
            node["outputs"] = [copy.deepcopy(dict(o)) for o in cell.outputs]
            node["execution_count"] = cell.execution_count
        out.append(node)
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": copy.deepcopy(dict(metadata or {})),
            "cells": out}


# nbformat.v4.rwbase: mimebundle entries written as lists of lines besides text/*.
_SPLIT_MIMES = frozenset({"application/javascript", "image/svg+xml"})


def _split_bundle(bundle: dict[str, Any]) -> None:
    for key, value in list(bundle.items()):
        if isinstance(value, str) and (key.startswith("text/") or key in _SPLIT_MIMES):
            bundle[key] = value.splitlines(True)


def _writes(doc: dict[str, Any]) -> str:
    """``nbformat.v4.nbjson.writes`` on a document it would not need to validate: multi-line
    strings split into lines, transient keys dropped, the same ``json.dumps`` options."""
    for cell in doc["cells"]:
        if isinstance(cell["source"], str):
            cell["source"] = cell["source"].splitlines(True)
        for bundle in cell.get("attachments", {}).values():
            _split_bundle(bundle)
        if cell["cell_type"] == "code":
            for output in cell["outputs"]:
                if output["output_type"] in ("execute_result", "display_data"):
                    _split_bundle(output.get("data", {}))
                elif output["output_type"] == "stream" and isinstance(output["text"], str):
                    output["text"] = output["text"].splitlines(True)
        cell["metadata"].pop("trusted", None)
    for key in ("orig_nbformat", "orig_nbformat_minor", "signature"):
        doc["metadata"].pop(key, None)
    return jsondump.dumps(doc, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False)
