"""Stage marks in a notebook: reading directives, and writing stage tags/directives back.

Two kinds of explicit marks exist (DESIGN: tags are the stronger one):

1. A cell tag ``nbsplit:<slug>``: nbformat ``metadata.tags`` in ``.ipynb``; the marker line
   option ``# %% tags=["nbsplit:<slug>"]`` in percent scripts.
2. A directive comment, the syntax the classifier (and ``nbsplit check``) must accept:

   - Python cell: ``# nbsplit: <slug>`` as the first non-empty line of the cell (for a
     Databricks cell, after the ``# DBTITLE`` line, which is not part of ``Cell.source``).
   - Magic cell (first non-empty line is a ``%magic``, e.g. ``%sql``, ``%sh``, ``%%sql``): the
     first non-empty line after the magic line, as a comment in the cell's language:
     ``-- nbsplit: <slug>`` (SQL), ``# nbsplit: <slug>`` (sh, python, r),
     ``// nbsplit: <slug>`` (scala). In Databricks source that line reads
     ``# MAGIC -- nbsplit: <slug>``.
   - Spaces around ``nbsplit`` and ``:`` are optional and the keyword is case-insensitive
     (``#nbsplit:eda`` is accepted). Markdown and raw cells carry no directive.

``parse_directive(cell)`` returns the raw slug text (not validated: the classifier reports an
unknown slug with the closest valid one).

Writing (``nbsplit tag``): ``planned_tag_changes`` says what would change, ``set_stage_tags``
returns the new file text, changing nothing else:

- ``.ipynb``: ``nbsplit:<slug>`` is appended to ``metadata.tags`` in the raw JSON, re-dumped
  with the file's own indentation, key order and escaping, so outputs, ids and every other
  metadata byte stay as they were. Other tags are never removed. (A hand-edited file whose
  layout json.dumps cannot reproduce is re-dumped nbformat-style: same content, new layout.)
- Databricks source: a directive line is inserted (Python: first line, after ``# DBTITLE``;
  ``%sql``/``%sh``/``%python``/``%r``/``%scala``: right after the magic line). ``%md``,
  ``%pip``, ``%run`` and other magic cells get nothing: those magics must stand alone or are
  not code.
- Percent scripts: ``tags=[...]`` on the ``# %%`` marker line (a marker is added for code
  before the first marker).

A cell that already carries a stage tag or directive is left alone unless ``overwrite=True``,
which rewrites the existing ``nbsplit:`` tag and/or directive (other tags are kept).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal, Mapping

from nbsplit.errors import NbsplitError
from nbsplit.model import Cell, Notebook

__all__ = [
    "STAGE_TAG_PREFIX",
    "parse_directive",
    "directive_line",
    "stage_tags",
    "TagChange",
    "planned_tag_changes",
    "set_stage_tags",
]

STAGE_TAG_PREFIX = "nbsplit:"
_DIRECTIVE_RE = re.compile(r"^(\s*(?:#|--|//)\s*nbsplit\s*:\s*)(.*?)\s*$", re.IGNORECASE)
_PY_DIRECTIVE_RE = re.compile(r"^(\s*#\s*nbsplit\s*:\s*)(.*?)\s*$", re.IGNORECASE)
# Comment syntax for a directive inside a Databricks magic cell, by magic language.
_MAGIC_COMMENT = {"sql": "--", "sh": "#", "python": "#", "r": "#", "scala": "//"}

Action = Literal["add", "replace", "unchanged", "kept", "unsupported"]


def _is_magic(line: str) -> bool:
    return line.lstrip().startswith("%")


def _directive_position(lines: list[str]) -> tuple[int, bool] | None:
    """(line index where a directive is read, whether it follows a magic line), or None."""
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if not nonblank:
        return None
    first = nonblank[0]
    if _is_magic(lines[first]):
        return (nonblank[1], True) if len(nonblank) > 1 else None
    return first, False


def parse_directive(cell: Cell) -> str | None:
    """The raw slug text of the cell's ``nbsplit:`` directive, or None (see module docstring)."""
    if cell.kind != "code":
        return None
    lines = cell.source.split("\n")
    position = _directive_position(lines)
    if position is None:
        return None
    index, after_magic = position
    m = (_DIRECTIVE_RE if after_magic else _PY_DIRECTIVE_RE).match(lines[index])
    return m.group(2) if m else None


def stage_tags(cell: Cell) -> tuple[str, ...]:
    """The slug texts of the cell's ``nbsplit:<slug>`` tags, in order."""
    return tuple(t[len(STAGE_TAG_PREFIX):].strip() for t in cell.tags if t.startswith(STAGE_TAG_PREFIX))


def directive_line(slug: str, language: str = "python") -> str:
    """The directive comment for a cell of ``language`` (without Databricks ``# MAGIC``)."""
    return f"{_MAGIC_COMMENT.get(language, '#')} nbsplit: {slug}"


@dataclass(frozen=True)
class TagChange:
    """What ``nbsplit tag`` does to one cell. ``mark`` is ``tag`` or ``directive``."""

    index: int
    slug: str
    action: Action
    mark: Literal["tag", "directive"]
    detail: str = ""

    @property
    def changes(self) -> bool:
        return self.action in ("add", "replace")

    def describe(self) -> str:
        what = (f"tag nbsplit:{self.slug}" if self.mark == "tag"
                else f"directive 'nbsplit: {self.slug}'")
        text = {
            "add": f"add {what}",
            "replace": f"replace {self.detail} with {what}",
            "unchanged": f"already marked {self.slug}",
            "kept": f"keeps {self.detail} (overwrite to replace it with {self.slug})",
            "unsupported": f"not marked: {self.detail}",
        }[self.action]
        return f"cell {self.index}: {text}"


def planned_tag_changes(nb: Notebook, stages: Mapping[int, Any], *, overwrite: bool = False) -> tuple[TagChange, ...]:
    """One ``TagChange`` per cell in ``stages`` (index -> slug or ``Stage``), in index order."""
    changes = []
    for index in sorted(stages):
        if not 0 <= index < len(nb.cells):
            raise NbsplitError(f"no cell {index} (the notebook has {len(nb.cells)} cells)", nb.path)
        slug = str(getattr(stages[index], "value", stages[index]))
        changes.append(_plan_cell(nb, nb.cells[index], slug, overwrite))
    return tuple(changes)


def _plan_cell(nb: Notebook, cell: Cell, slug: str, overwrite: bool) -> TagChange:
    tagged = stage_tags(cell) if nb.format != "databricks" else ()
    directive = parse_directive(cell)
    existing = [f"tag nbsplit:{s}" for s in tagged] + ([f"directive 'nbsplit: {directive}'"] if directive is not None else [])
    mark: Literal["tag", "directive"] = "directive" if nb.format == "databricks" else "tag"
    if nb.format == "databricks" and cell.kind == "code" and cell.language != "python" and directive is None \
            and cell.language not in _MAGIC_COMMENT:
        return TagChange(cell.index, slug, "unsupported", mark, f"a %{cell.language} cell cannot carry a directive")
    if nb.format == "databricks" and cell.kind != "code":
        return TagChange(cell.index, slug, "unsupported", mark, "a %md cell cannot carry a directive")
    if not existing:
        return TagChange(cell.index, slug, "add", mark)
    if tagged:
        current = set(tagged)
    else:
        current = {directive}
        mark = "directive"
    if current == {slug} and (directive is None or directive == slug):
        return TagChange(cell.index, slug, "unchanged", mark)
    if not overwrite:
        return TagChange(cell.index, slug, "kept", mark, ", ".join(existing))
    return TagChange(cell.index, slug, "replace", mark, ", ".join(existing))


def set_stage_tags(nb: Notebook, stages: Mapping[int, Any], *, overwrite: bool = False) -> str:
    """The notebook's file text with stage marks for ``stages`` added (see module docstring)."""
    changes = [c for c in planned_tag_changes(nb, stages, overwrite=overwrite) if c.changes]
    if not changes:
        return nb.text
    if nb.format == "ipynb":
        return _set_ipynb(nb, changes)
    if nb.format == "databricks":
        return _set_databricks(nb, changes)
    return _set_percent(nb, changes)


def _rewrite_directive(source: str, slug: str) -> str:
    """``source`` with its directive's slug replaced (the comment prefix is kept)."""
    lines = source.split("\n")
    position = _directive_position(lines)
    if position is not None:
        lines[position[0]] = _replace_slug(lines[position[0]], slug)
    return "\n".join(lines)


def _replace_slug(line: str, slug: str) -> str:
    """A directive line (optionally ``# MAGIC``-prefixed, with or without its line ending)
    with its slug replaced."""
    from nbsplit.read.databricks import MAGIC_PREFIX, is_magic_line, unmagic

    ending = line[len(line.rstrip("\r\n")):]
    text = line[: len(line) - len(ending)]
    prefix = ""
    if is_magic_line(text):
        prefix, text = MAGIC_PREFIX + " ", unmagic(text)
    return prefix + _DIRECTIVE_RE.sub(lambda m: m.group(1) + slug, text, count=1) + ending


def _with_tag(tags: list[Any], slug: str, replace: bool) -> list[Any]:
    if replace:
        tags = [t for t in tags if not (isinstance(t, str) and t.startswith(STAGE_TAG_PREFIX))]
    tag = STAGE_TAG_PREFIX + slug
    return tags if tag in tags else [*tags, tag]


# --- ipynb ------------------------------------------------------------------------------------


def _set_ipynb(nb: Notebook, changes: list[TagChange]) -> str:
    text = nb.text
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = text[len(bom):]
    raw = json.loads(body)
    style = _json_style(raw, body)
    cells = raw["cells"] if "cells" in raw else [c for ws in raw.get("worksheets", []) for c in ws.get("cells", [])]
    for change in changes:
        cell = cells[change.index]
        source_cell = nb.cells[change.index]
        has_directive = parse_directive(source_cell) is not None
        if change.action == "replace" and has_directive:
            key = "source" if "source" in cell else "input"
            cell[key] = _rewrite_source_field(cell[key], change.slug)
        if change.action == "add" or stage_tags(source_cell) or not has_directive:
            meta = cell.get("metadata")
            if not isinstance(meta, dict):
                meta = cell["metadata"] = {}
            tags = meta.get("tags") if isinstance(meta.get("tags"), list) else []
            meta["tags"] = _with_tag(list(tags), change.slug, change.action == "replace")
    return bom + _dump_json(raw, style)


def _rewrite_source_field(value: Any, slug: str) -> Any:
    if isinstance(value, list):
        joined = _rewrite_directive("".join(value), slug)
        return joined.splitlines(keepends=True)
    return _rewrite_directive(value, slug)


@dataclass(frozen=True)
class _JsonStyle:
    indent: str | None
    sort_keys: bool
    ensure_ascii: bool
    newline: str
    trailing: bool
    separators: tuple[str, str] | None = None


def _json_style(raw: Any, body: str) -> _JsonStyle:
    """The json.dumps settings that reproduce ``body`` (nbformat: indent 1, sorted, non-ASCII)."""
    newline = "\r\n" if "\r\n" in body else "\n"
    trailing = body.endswith("\n")
    m = re.match(r"\s*\{\r?\n([ \t]+)\S", body)
    indents: list[str | None] = [m.group(1)] if m else [None]
    fallback = _JsonStyle(indents[0] if m else " ", True, False, newline, trailing)
    for indent in indents:
        for separators in ([None] if indent is not None else [None, (",", ":")]):
            for sort_keys in (True, False):
                for ensure_ascii in (False, True):
                    style = _JsonStyle(indent, sort_keys, ensure_ascii, newline, trailing, separators)
                    if _dump_json(raw, style) == body:
                        return style
    return fallback


def _dump_json(raw: Any, style: _JsonStyle) -> str:
    text = json.dumps(raw, indent=style.indent, sort_keys=style.sort_keys, ensure_ascii=style.ensure_ascii,
                      separators=style.separators)
    if style.newline != "\n":
        text = text.replace("\n", style.newline)
    return text + (style.newline if style.trailing else "")


# --- Databricks source ---------------------------------------------------------------------------


def _set_databricks(nb: Notebook, changes: list[TagChange]) -> str:
    from nbsplit.read.databricks import MAGIC_PREFIX, split_chunks, unmagic

    text = nb.text
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    chunks = split_chunks(lines)
    # Bottom-up, so inserting lines never shifts a chunk still to be edited.
    for change in sorted(changes, key=lambda c: c.index, reverse=True):
        chunk = chunks[change.index]
        cell = nb.cells[change.index]
        start = chunk.start
        if cell.title is not None:
            start += 1
        if change.action == "replace":
            plain = [unmagic(line.rstrip("\r\n")) for line in lines[start:chunk.end]]
            position = _directive_position(plain)
            if position is not None:
                lines[start + position[0]] = _replace_slug(lines[start + position[0]], change.slug)
            continue
        if cell.language == "python" and not _is_magic(cell.first_line):
            new, at = directive_line(change.slug), start
        else:
            body = [unmagic(line.rstrip("\r\n")) for line in lines[start:chunk.end]]
            magic_at = next(i for i, line in enumerate(body) if line.strip())
            new, at = f"{MAGIC_PREFIX} {directive_line(change.slug, cell.language)}", start + magic_at + 1
        if at > 0 and not lines[at - 1].endswith(("\n", "\r")):
            lines[at - 1] += newline
        lines.insert(at, new + newline)
    return "".join(lines)


def _uncomment_magic(line: str) -> str:
    from nbsplit.read.percent import _is_magic as is_percent_magic

    return line[2:] if line.startswith("# ") and is_percent_magic(line) else line


# --- percent ---------------------------------------------------------------------------------------


def _set_percent(nb: Notebook, changes: list[TagChange]) -> str:
    from nbsplit.read.percent import format_marker, parse_marker, split_percent

    text = nb.text
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines(keepends=True)
    _, chunks = split_percent(lines)
    for change in sorted(changes, key=lambda c: c.index, reverse=True):
        chunk = chunks[change.index]
        cell = nb.cells[change.index]
        if change.action == "replace" and parse_directive(cell) is not None:
            # Magics are commented in the file (`# %time`); look at them as the reader does.
            view = [_uncomment_magic(line.rstrip("\r\n")) for line in lines[chunk.start:chunk.end]]
            position = _directive_position(view)
            if position is not None:
                i = chunk.start + position[0]
                lines[i] = _replace_slug(lines[i], change.slug)
            if not stage_tags(cell):
                continue
        replace = change.action == "replace"
        if chunk.marker is None:
            lines.insert(chunk.start, format_marker("code", None, {"tags": [STAGE_TAG_PREFIX + change.slug]}) + newline)
            continue
        line = lines[chunk.marker]
        ending = line[len(line.rstrip("\r\n")):]
        marker = parse_marker(line)
        assert marker is not None
        options = dict(marker.options)
        options["tags"] = _with_tag(list(options.get("tags") or []), change.slug, replace)
        lines[chunk.marker] = format_marker(marker.kind, marker.title, options, depth=marker.depth,
                                            type_token=marker.type_token) + ending
    return "".join(lines)


def _uncomment_magic(line: str) -> str:
    from nbsplit.read.percent import _is_magic as is_percent_magic

    return line[2:] if line.startswith("# ") and is_percent_magic(line) else line
