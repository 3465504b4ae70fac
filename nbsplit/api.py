"""The library entry points the CLI (and tests, and other tools) call.

Each function is the whole flow for one command, minus option parsing and exit codes:
``read -> analyze -> classify -> plan``. Nothing here prints.
"""

from __future__ import annotations

from pathlib import Path

from nbsplit.config import Config, load_config
from nbsplit.errors import NbsplitError
from nbsplit.model import Diagnostic, SplitPlan

# Diagnostics that mean the notebook itself is bad input (a mistyped or doubled stage tag): the
# commands stop on them with exit 2 rather than plan around a mark the user did not mean.
INPUT_ERRORS = ("NBS101", "NBS102")


def plan_notebook(path: Path | str, config: Config | None = None, *, strict: bool = False) -> SplitPlan:
    """Read, analyze, classify and plan ``path``. Raises NbsplitError on unreadable input."""
    from nbsplit.analyze import analyze_notebook
    from nbsplit.classify import classify_notebook
    from nbsplit.plan import build_plan
    from nbsplit.read import read_notebook
    from nbsplit.reserved import reserved_name_error

    path = Path(path)
    if config is None:
        config = load_config(path)
    notebook = read_notebook(path)
    facts = analyze_notebook(notebook)
    reserved = reserved_name_error(notebook, facts)
    if reserved is not None:
        raise reserved
    classifications, diagnostics = classify_notebook(notebook, facts, config)
    return build_plan(notebook, facts, classifications, diagnostics, strict=strict or config.strict)


def input_error(path: Path | str, diagnostics: tuple[Diagnostic, ...]) -> NbsplitError | None:
    """The first bad-input diagnostic (unknown or doubled stage tag) as a user-facing error."""
    for d in diagnostics:
        if d.severity == "error" and d.code in INPUT_ERRORS:
            return NbsplitError(d.message, path, d.cell)
    return None
