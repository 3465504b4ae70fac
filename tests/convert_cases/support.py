"""Shared helpers for the render/convert tests: plan a notebook, read manifests, compare outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nbsplit.model import Classification, SplitPlan, Stage

HERE = Path(__file__).resolve().parent
CASES = HERE
REPO = HERE.parent.parent
SAMPLES = REPO / "sample_notebooks"


def plan_case(path: Path, *, strict: bool = False) -> SplitPlan:
    """The plan of ``path`` through the public API; while the classifier is not there yet, the
    cells' ``nbsplit:<slug>`` tags classify them (our case notebooks are fully tagged)."""
    try:
        from nbsplit.classify import classify_notebook  # noqa: F401
    except ImportError:
        return _plan_from_tags(path, strict=strict)
    from nbsplit.api import plan_notebook

    return plan_notebook(path, strict=strict)


def _plan_from_tags(path: Path, *, strict: bool) -> SplitPlan:
    from nbsplit.analyze import analyze_notebook
    from nbsplit.plan import build_plan
    from nbsplit.read import read_notebook

    nb = read_notebook(path)
    facts = analyze_notebook(nb)
    classes = []
    for cell in nb.cells:
        slug = next((t.split(":", 1)[1] for t in cell.tags if t.startswith("nbsplit:")), "skip")
        classes.append(Classification(cell.index, Stage(slug), 1.0, "tag", (f"tag nbsplit:{slug}",)))
    return build_plan(nb, facts, tuple(classes), (), strict=strict)


def text_outputs(cell: Any) -> list[str]:
    """A code cell's comparable outputs: stream text and text/plain of results and displays."""
    out: list[str] = []
    for o in cell.get("outputs", []):
        kind = o.get("output_type")
        if kind == "stream":
            out.append(f"{o.get('name')}:{o.get('text', '')}")
        elif kind in ("execute_result", "display_data"):
            plain = o.get("data", {}).get("text/plain")
            if plain is not None:
                out.append("".join(plain) if isinstance(plain, list) else plain)
        elif kind == "error":
            out.append(f"error:{o.get('ename')}:{o.get('evalue')}")
    return out


def read_manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "nbsplit-manifest.json").read_text(encoding="utf-8"))
