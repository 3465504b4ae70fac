"""``nbsplit tag``: which ``nbsplit:<stage>`` tags the classifier would add, and adding them.

The decision is the plan's (so a cell moved for a backward dependency is tagged where the split
puts it); the writing is the format's tag writer (``nbsplit.read.tags``), which keeps every other
byte, and ``nbsplit.write.atomic_write_text``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from nbsplit.config import Config
from nbsplit.model import Classification, Diagnostic, Notebook, SplitPlan, Stage

_STAGE_TAG = re.compile(r"^nbsplit:(?!noqa)")
_DIRECTIVE_LINE = re.compile(r"^\s*(#|--|//)\s*nbsplit\s*:\s*[\w-]+\s*$")
_EXPLICIT = ("tag", "directive")
_NO_DIRECTIVE = ("pip", "run", "md")


@dataclass(frozen=True)
class TagChanges:
    notebook: Notebook
    plan: SplitPlan
    to_add: dict[int, str]  # cell index -> slug to write
    overwrite: bool

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return self.plan.diagnostics

    @property
    def has_errors(self) -> bool:
        return self.plan.has_errors

    def classification(self, index: int) -> Classification:
        return self.plan.classifications[index]


def strip_stage_marks(notebook: Notebook) -> Notebook:
    """The notebook as if nobody had tagged it: stage tags and first-line directives removed."""
    cells = []
    for cell in notebook.cells:
        tags = tuple(t for t in cell.tags if not _STAGE_TAG.match(t))
        lines = cell.source.split("\n")
        # A directive is the first non-empty line, or the line after a Databricks magic line.
        for i, line in enumerate(lines[:3]):
            if _DIRECTIVE_LINE.match(line):
                del lines[i]
                break
            if line.strip() and not line.lstrip().startswith("%"):
                break
        cells.append(replace(cell, tags=tags, source="\n".join(lines)))
    return replace(notebook, cells=tuple(cells))


def plan_tags(path: Path, config: Config, *, overwrite: bool = False) -> TagChanges:
    """The tags ``nbsplit tag`` would add to ``path`` (nothing is written)."""
    from nbsplit.analyze import analyze_notebook
    from nbsplit.classify import classify_notebook
    from nbsplit.plan import build_plan
    from nbsplit.read import read_notebook
    from nbsplit.reserved import reserved_name_error

    original = read_notebook(path)
    notebook = strip_stage_marks(original) if overwrite else original
    facts = analyze_notebook(notebook)
    reserved = reserved_name_error(notebook, facts)
    if reserved is not None:
        raise reserved
    classifications, diagnostics = classify_notebook(notebook, facts, config)
    plan = build_plan(notebook, facts, classifications, diagnostics)
    to_add: dict[int, str] = {}
    for cell, result in zip(original.cells, plan.classifications):
        if cell.is_empty or cell.kind == "raw":
            continue
        if not overwrite and result.origin in _EXPLICIT:
            continue
        if original.format == "databricks" and (cell.kind == "markdown" or cell.language in _NO_DIRECTIVE):
            continue  # such Databricks cells cannot carry a directive (the magic must stand alone)
        current = [t.split(":", 1)[1] for t in cell.tags if _STAGE_TAG.match(t)]
        if current == [result.stage.value]:
            continue
        to_add[cell.index] = result.stage.value
    return TagChanges(notebook=original, plan=plan, to_add=to_add, overwrite=overwrite)


def apply_tags(changes: TagChanges) -> str:
    """Write the tags into the notebook file in place (atomic); returns the new text."""
    from nbsplit.read.tags import set_stage_tags
    from nbsplit.write import atomic_write_text

    text = set_stage_tags(changes.notebook, changes.to_add, overwrite=changes.overwrite)
    if text != changes.notebook.text:
        atomic_write_text(changes.notebook.path, text)
    return text
