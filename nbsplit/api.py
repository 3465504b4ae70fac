"""The library entry points the CLI (and tests, and other tools) call.

Each function is the whole flow for one command, minus option parsing and exit codes:
``read -> analyze -> classify -> plan``. Nothing here prints.
"""

from __future__ import annotations

from pathlib import Path

from nbsplit.config import Config, load_config
from nbsplit.model import SplitPlan


def plan_notebook(path: Path | str, config: Config | None = None, *, strict: bool = False) -> SplitPlan:
    """Read, analyze, classify and plan ``path``. Raises NbsplitError on unreadable input."""
    from nbsplit.analyze import analyze_notebook
    from nbsplit.classify import classify_notebook
    from nbsplit.plan import build_plan
    from nbsplit.read import read_notebook

    path = Path(path)
    if config is None:
        config = load_config(path)
    notebook = read_notebook(path)
    facts = analyze_notebook(notebook)
    classifications, diagnostics = classify_notebook(notebook, facts, config)
    return build_plan(notebook, facts, classifications, diagnostics, strict=strict or config.strict)
