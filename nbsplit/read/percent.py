"""Jupytext percent scripts (``py:percent``): reader and writer, without Jupytext.

The subset of the format implemented here is the one Jupytext 1.x writes and reads::

    # ---
    # jupyter:
    #   kernelspec:
    #     display_name: Python 3
    #     language: python
    #     name: python3
    # ---

    # %% [markdown]
    # # Churn model
    #
    # Predicts who leaves.

    # %% Load data tags=["nbsplit:data-prep"]
    df = pd.read_csv("churn.csv")

- A cell starts at a ``# %%`` line: ``# %% [<title>] [markdown|md|raw] [key=<json> ...]``.
  Options are JSON values (``tags=["a", "b"]``); the title is free text before them.
- Markdown and raw cell lines are commented (``# text``, a bare ``#`` for an empty line).
- In code cells, Jupyter magics are commented (``# %matplotlib inline``, ``# !pip install x``)
  and uncommented when read, as Jupytext does; a comment that merely looks like a magic is
  escaped with one more ``# ``. A cell magic written as ``language="sql"`` is read as a
  ``%%sql`` cell.
- The YAML header is notebook metadata (the content of its ``jupyter:`` key), not a cell; a
  small YAML subset (nested mappings, scalars, flow/block lists of scalars) is parsed here so
  the core install needs no YAML library.
- Code before the first marker (after the header) is a cell.

What ``dump_percent`` writes reads back to the same cells (kind, source, title, tags), by
construction:

- A code line that would read as a marker or as an escaped magic (``# %%``, ``## %% x``,
  ``#  %time``: a comment, possibly nested, before ``%%`` or a magic) gets one more ``# ``, and
  reading removes one, the escape Jupytext applies to magics, extended to markers.
- A markdown/raw line that would read as a marker once commented (``%% note``, a LaTeX comment)
  is written ``\\%% note``: reading drops a ``\\`` before ``\\*%%``, Markdown shows ``\\%`` as ``%``.
- A title that would not read back as free text (line breaks, ``[markdown]``, ``key=value``,
  blanks around it) is written as a JSON option ``title="..."``; option values are JSON with every
  non-printable escaped, so no value can end the marker line.
- Lines end at ``\n``, ``\r\n`` or ``\r`` only, as in Python.
- Blank lines between cells belong to the separation; ``dump_percent`` writes one blank line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from nbsplit.errors import NbsplitError
from nbsplit.model import Cell, CellKind, Notebook
from nbsplit.read.databricks import split_lines, trim_blank_lines
from nbsplit.render.escape import json_text

__all__ = [
    "read_percent",
    "dump_percent",
    "parse_marker",
    "format_marker",
    "Marker",
    "split_percent",
    "PercentChunk",
]

_MARKER_RE = re.compile(r"^\s*#\s*%%(%*)(?:\s(.*))?$")
_TYPE_RE = re.compile(r"(?:^|\s)\[(markdown|md|raw)\](?=\s|$)")
_OPTION_START_RE = re.compile(r"(?:^|\s)([A-Za-z_][\w.\-]*)=")
# Jupytext's definition of a (possibly commented) Jupyter magic in a Python cell.
_MAGIC_RE = re.compile(r"^\s*(# |#)*(%|%%|%%%)[a-zA-Z]")
_BANG_RE = re.compile(r"^\s*(?:(?:# |#)+\s*)?(\?|!)\s*[A-Za-z\.\~\$\\\/\{\}]")
_PYTHON_COMMENT_RE = re.compile(r"^\s*#")
# Code lines written with one more "# " (see the module docstring): any nesting of comments, with
# any blanks, before a marker's "%%" or a magic. Lenient on purpose: removing one "#" from a line
# this matches gives a line it matches, so escaping and unescaping are inverse.
_CODE_ESCAPE_RE = re.compile(r"^\s*(?:#\s*)+%%%*(?:\s|$)|^\s*(?:#\s*)*(?:%{1,3}[a-zA-Z]|[?!]\s*[A-Za-z.~$\\/{}])")
# Markdown/raw lines that commented would be markers, and their escaped forms (leading "\").
_TEXT_ESCAPE_RE = re.compile(r"^\\*\s*%%%*(?:\s|$)")


@dataclass(frozen=True)
class Marker:
    """What a ``# %%`` line says: cell kind, title, and the key=value options (tags, ...)."""

    kind: CellKind = "code"
    title: str | None = None
    options: Mapping[str, Any] = None  # type: ignore[assignment]
    depth: int = 0
    type_token: str | None = None  # "markdown", "md" or "raw" as written

    def __post_init__(self) -> None:
        if self.options is None:
            object.__setattr__(self, "options", {})


def parse_marker(line: str) -> Marker | None:
    """Parse a ``# %%`` line, or None when ``line`` is not a cell marker."""
    m = _MARKER_RE.match(line.rstrip("\r\n"))
    if not m:
        return None
    depth = len(m.group(1))
    rest = (m.group(2) or "").strip()
    kind: CellKind = "code"
    type_token = None
    t = _TYPE_RE.search(rest)
    title_part, options_part = rest, ""
    if t:
        type_token = t.group(1)
        kind = "raw" if type_token == "raw" else "markdown"
        title_part, options_part = rest[: t.start()], rest[t.end() :]
    else:
        o = _OPTION_START_RE.search(rest)
        if o:
            title_part, options_part = rest[: o.start()], rest[o.start() :]
    options = _parse_options(options_part)
    if options is None:  # not valid key=value options: Jupytext keeps such text as the title
        options, title_part = {}, rest if not t else f"{title_part} {options_part}"
    title = title_part.strip() or None
    return Marker(kind=kind, title=title, options=options, depth=depth, type_token=type_token)


def _parse_options(text: str) -> dict[str, Any] | None:
    options: dict[str, Any] = {}
    decoder = json.JSONDecoder()
    pos, text = 0, text.strip()
    while pos < len(text):
        m = re.compile(r"([A-Za-z_][\w.\-]*)(=?)").match(text, pos)
        if not m:
            return None
        key, pos = m.group(1), m.end()
        if not m.group(2):  # a bare word: this is title text, not options
            return None
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return None
        options[key] = value
        if pos < len(text) and not text[pos].isspace():
            return None
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return options


def format_marker(kind: CellKind, title: str | None = None, options: Mapping[str, Any] | None = None,
                  *, depth: int = 0, type_token: str | None = None) -> str:
    """The ``# %%`` line for a cell (Jupytext's layout: title, then ``[markdown]``, then options)."""
    parts = ["#", "%%" + "%" * depth]
    if title:
        parts.append(title)
    if kind != "code":
        parts.append(f"[{type_token or ('raw' if kind == 'raw' else 'markdown')}]")
    for key, value in (options or {}).items():
        if value is not None:
            parts.append(f"{key}={option_json(value)}")
    return " ".join(parts)


def option_json(value: Any) -> str:
    """An option value on the marker line: JSON on one line whose strings hold no ``[`` or ``=``
    (escaped), so nothing inside a value reads as ``[markdown]`` or as the start of an option."""
    if isinstance(value, str):
        return json_text(value).replace("[", "\\u005b").replace("=", "\\u003d")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(option_json(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{option_json(str(k))}: {option_json(v)}" for k, v in value.items()) + "}"
    return json_text(value)


@dataclass(frozen=True)
class PercentChunk:
    """A cell's lines in the file: marker line index (None for code before the first marker)
    and its body ``lines[start:end]`` (blank lines around it excluded)."""

    marker: int | None
    start: int
    end: int


def header_end(lines: Sequence[str]) -> int:
    """Index of the first line after the YAML header block (0 when there is none)."""
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and lines[i].rstrip("\r\n").strip() == "# ---":
        for j in range(i + 1, len(lines)):
            stripped = lines[j].rstrip("\r\n").strip()
            if stripped == "# ---":
                return j + 1
            if not stripped.startswith("#"):
                break
    return 0


def split_percent(lines: Sequence[str]) -> tuple[int, list[PercentChunk]]:
    """(header end, cells) of a percent script given as lines."""
    start = header_end(lines)
    markers = [i for i in range(start, len(lines)) if _MARKER_RE.match(lines[i].rstrip("\r\n"))]
    chunks: list[PercentChunk] = []
    if not markers or any(line.strip() for line in lines[start : markers[0]]):
        first = markers[0] if markers else len(lines)
        chunks.append(_trim(None, start, first, lines))
    for k, m in enumerate(markers):
        end = markers[k + 1] if k + 1 < len(markers) else len(lines)
        chunks.append(_trim(m, m + 1, end, lines))
    return start, chunks


def _trim(marker: int | None, start: int, end: int, lines: Sequence[str]) -> PercentChunk:
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return PercentChunk(marker, start, end)


def _uncomment(line: str) -> str:
    if line.startswith("# "):
        return line[2:]
    if line.startswith("#"):
        return line[1:]
    return line


def _is_magic(line: str) -> bool:
    return bool(_MAGIC_RE.match(line) or _BANG_RE.match(line))


def _escape_code(line: str) -> str:
    return _comment(line) if _CODE_ESCAPE_RE.match(line) else line


def _unescape_code(line: str) -> str:
    if line.startswith("#"):
        inner = _uncomment(line)
        if _CODE_ESCAPE_RE.match(inner):
            return inner
    return line


def _escape_text(line: str) -> str:
    return "\\" + line if _TEXT_ESCAPE_RE.match(line) else line


def _unescape_text(line: str) -> str:
    return line[1:] if line.startswith("\\") and _TEXT_ESCAPE_RE.match(line) else line


def read_percent(text: str, path: Path | str) -> Notebook:
    path = Path(path)
    body = text.lstrip("\ufeff")
    lines = split_lines(body)
    hdr_end, chunks = split_percent(lines)
    metadata: dict[str, Any] = {}
    if hdr_end:
        header = [_uncomment(line) for line in lines[:hdr_end] if line.strip()]
        try:
            document = parse_yaml(header[1:-1])
        except ValueError as exc:
            raise NbsplitError(f"cannot read the YAML header: {exc}", path) from None
        jupyter = document.get("jupyter") if isinstance(document, dict) else None
        metadata = dict(jupyter) if isinstance(jupyter, dict) else {}
    from nbsplit.read.ipynb import check_python, notebook_language

    check_python(notebook_language(metadata), path)
    cells = []
    for index, chunk in enumerate(chunks):
        marker = parse_marker(lines[chunk.marker]) if chunk.marker is not None else Marker()
        assert marker is not None
        cells.append(_cell(index, marker, lines[chunk.start : chunk.end], path))
    return Notebook(path=path, format="percent", cells=tuple(cells), metadata=metadata, text=text)


def _cell(index: int, marker: Marker, body: list[str], path: Path) -> Cell:
    from nbsplit.read.validate import validate_tags

    options = dict(marker.options)
    raw_tags = options.pop("tags", None)
    # A tag nbformat would reject (empty, doubled, not a string) is refused here, not when the
    # converted .ipynb fails validation on the way out.
    tags = validate_tags(raw_tags, path, index) if raw_tags is not None else ()
    title = marker.title
    if title is None and isinstance(options.get("title"), str):
        title = options.pop("title")  # a title free text could not carry (see cell_to_percent)
    metadata: dict[str, Any] = dict(options)
    if title is not None:
        metadata["title"] = title
    if marker.type_token == "md":
        metadata["percent_type"] = "md"
    if marker.depth:
        metadata["cell_depth"] = marker.depth
    if marker.kind != "code":
        source = "\n".join(_unescape_text(_uncomment(line)) if _PYTHON_COMMENT_RE.match(line) else line
                            for line in body)
        return Cell(index=index, kind=marker.kind, source=source, tags=tags,
                    language="md" if marker.kind == "markdown" else "raw",
                    title=title, metadata=metadata)
    language = metadata.pop("language", None)
    if isinstance(language, str) and language:
        # A cell magic Jupytext wrote as `language="sql"` with every line commented.
        source = "\n".join([f"%%{language}", *(_uncomment(line) for line in body)])
    else:
        source = "\n".join(_unescape_code(line) for line in body)
    return Cell(index=index, kind="code", source=source, tags=tags, title=title, metadata=metadata)


# --- writing -----------------------------------------------------------------------------


_HEADER_KEYS = ("jupytext", "kernelspec")
_CELL_MAGIC_LANGUAGES = {"sql", "bash", "sh", "html", "javascript", "js", "latex", "markdown", "perl",
                         "ruby", "r", "R", "sparksql", "scala", "svg", "writefile"}


def dump_percent(cells: Sequence[Cell], metadata: Mapping[str, Any] | None = None) -> str:
    """Percent-script text for ``cells``; ``metadata`` (notebook metadata) becomes the header."""
    blocks: list[str] = []
    # Like Jupytext's default header filter: only what a percent script needs to be re-opened.
    header = {k: metadata[k] for k in metadata if k in _HEADER_KEYS} if metadata else {}
    if header:
        blocks.append("\n".join(["# ---", *(_comment(line) for line in dump_yaml({"jupyter": header})), "# ---"]))
    for cell in cells:
        blocks.append(cell_to_percent(cell))
    return "\n\n".join(blocks) + "\n"


def cell_to_percent(cell: Cell) -> str:
    """One cell: its marker line, then its (commented where needed) lines."""
    options: dict[str, Any] = {}
    meta = dict(cell.metadata)
    title = cell.title if cell.title is not None else meta.get("title")
    title = title if isinstance(title, str) else None
    type_token = meta.get("percent_type") if cell.kind == "markdown" else None
    depth = meta.get("cell_depth", 0) if isinstance(meta.get("cell_depth", 0), int) else 0
    source = trim_blank_lines(cell.source) if cell.kind == "code" else cell.source
    body = re.split(r"\r\n|\r|\n", source) if source else []
    if cell.kind == "code":
        first = body[0].strip() if body else ""
        magic = first[2:].split(None, 1)[0] if first.startswith("%%") and len(first) > 2 else ""
        if (magic in _CELL_MAGIC_LANGUAGES and first == f"%%{magic}"
                and not any(_MARKER_RE.match(_comment(line)) for line in body[1:])):
            options["language"] = magic
            body = [_comment(line) for line in body[1:]]
        else:
            body = [_escape_code(line) for line in body]
    else:
        body = [_comment(_escape_text(line)) for line in body]
    if cell.tags:
        options["tags"] = list(cell.tags)
    for key in _percent_option_keys(meta):
        options.setdefault(key, meta[key])
    marker = format_marker(cell.kind, title, options, depth=depth, type_token=type_token)
    if title is not None and not _reads_back(marker, cell.kind, title, options):
        # Free text would not come back (line breaks, "[raw]", "a=1", blanks): a JSON option does.
        marker = format_marker(cell.kind, None, {**options, "title": title}, depth=depth, type_token=type_token)
    return "\n".join([marker, *body])


def _reads_back(marker: str, kind: CellKind, title: str, options: Mapping[str, Any]) -> bool:
    if not title or title != title.strip() or not title.isprintable():
        return False
    parsed = parse_marker(marker)
    return (parsed is not None and parsed.title == title and parsed.kind == kind
            and dict(parsed.options) == {k: v for k, v in options.items() if v is not None})


def _percent_option_keys(meta: Mapping[str, Any]) -> list[str]:
    # Options that came from a marker line (and other small JSON-able cell metadata) go back on
    # it; nbsplit's own bookkeeping keys and Jupyter's bulky UI state are not written.
    skip = {"title", "tags", "language", "percent_type", "cell_depth", "dbtitle_show", "databricks_magic",
            "application/vnd.databricks.v1+cell", "execution", "collapsed", "scrolled", "jupyter"}
    return [k for k in meta if k not in skip and re.fullmatch(r"[A-Za-z_][\w.\-]*", k)]


def _comment(line: str) -> str:
    return f"# {line}" if line else "#"


# --- a YAML subset for the header ---------------------------------------------------------------

_PLAIN_UNSAFE = re.compile(r"^[\s\-?:,\[\]{}#&*!|>'\"%@`]|[:#]\s|\s$|:$|^$")
_SPECIAL_SCALARS = re.compile(
    r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|no|on|off|Yes|No|On|Off|"
    r"[-+]?(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][-+]?\d+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|0x[0-9a-fA-F]+|0o[0-7]+)$"
)


def dump_yaml(value: Mapping[str, Any], indent: int = 0) -> list[str]:
    """Block-style YAML lines in Jupytext's layout and plain scalars; ``indent`` counts levels."""
    from nbsplit.yamltext import emit_yaml

    return emit_yaml(value, 2 * indent, scalar=_scalar, key=lambda name: _scalar(str(name)))


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if "\n" in text or any(ord(ch) < 32 and ch != "\t" for ch in text):
        return json.dumps(text, ensure_ascii=False)
    if _PLAIN_UNSAFE.search(text) or _SPECIAL_SCALARS.match(text):
        return "'" + text.replace("'", "''") + "'"
    return text


def parse_yaml(lines: Sequence[str]) -> Any:
    """Parse the YAML subset ``dump_yaml`` writes (and Jupytext headers use)."""
    entries = []
    for raw in lines:
        stripped = _strip_comment(raw).rstrip()
        if stripped.strip():
            entries.append((len(stripped) - len(stripped.lstrip(" ")), stripped.strip()))
    value, pos = _parse_block(entries, 0, 0)
    if pos != len(entries):
        raise ValueError(f"unexpected line {entries[pos][1]!r}")
    return value if value is not None else {}


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _parse_block(entries: list[tuple[int, str]], pos: int, indent: int) -> tuple[Any, int]:
    if pos >= len(entries):
        return None, pos
    if entries[pos][1].startswith("- ") or entries[pos][1] == "-":
        items: list[Any] = []
        col = entries[pos][0]
        while pos < len(entries) and entries[pos][0] == col and entries[pos][1].startswith("-"):
            items.append(_parse_scalar(entries[pos][1][1:].strip()))
            pos += 1
        return items, pos
    mapping: dict[str, Any] = {}
    col = entries[pos][0]
    if col < indent:
        return None, pos
    while pos < len(entries) and entries[pos][0] == col:
        text = entries[pos][1]
        key, sep, rest = _split_key(text)
        if not sep:
            raise ValueError(f"expected 'key: value', got {text!r}")
        pos += 1
        if rest:
            mapping[key] = _parse_scalar(rest)
        elif pos < len(entries) and (entries[pos][0] > col or
                                     (entries[pos][0] == col and entries[pos][1].startswith("- "))):
            mapping[key], pos = _parse_block(entries, pos, col + 1)
        else:
            mapping[key] = None
    if pos < len(entries) and entries[pos][0] > col:
        raise ValueError(f"bad indentation at {entries[pos][1]!r}")
    return mapping, pos


def _split_key(text: str) -> tuple[str, bool, str]:
    if text[:1] in "'\"":
        end = text.find(text[0], 1)
        while text[0] == "'" and end != -1 and text[end + 1 : end + 2] == "'":
            end = text.find("'", end + 2)
        if end != -1 and text[end + 1 : end + 2] == ":":
            return _parse_scalar(text[: end + 1]), True, text[end + 2 :].strip()
    m = re.match(r"^([^:]*?):(?:\s+(.*))?$", text)
    if not m:
        return text, False, ""
    return m.group(1).strip(), True, (m.group(2) or "").strip()


def _parse_scalar(text: str) -> Any:
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return json.loads(text)
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [_parse_scalar(part.strip()) for part in _split_flow(inner)] if inner else []
    if text.startswith("{") and text.endswith("}"):
        inner = text[1:-1].strip()
        result = {}
        for part in _split_flow(inner) if inner else []:
            key, sep, rest = _split_key(part.strip())
            if not sep:
                raise ValueError(f"bad flow mapping entry {part!r}")
            result[key] = _parse_scalar(rest) if rest else None
        return result
    if text in ("~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?", text):
        return float(text)
    return text


def _split_flow(text: str) -> list[str]:
    parts, depth, quote, current = [], 0, None, []
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts
