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
    """A code cell's comparable outputs: stdout text and text/plain of results and displays.

    stderr is left out: warnings and log lines depend on the process's history (Python shows a
    warning once per process, so a stage kernel shows it again where the monolith did not)."""
    out: list[str] = []
    last_stream = None
    for o in cell.get("outputs", []):
        kind = o.get("output_type")
        if kind == "stream" and o.get("name") == "stderr":
            continue
        if kind == "stream":
            head = f"{o.get('name')}:"
            text = o.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            # the same text may arrive in one chunk or several: consecutive chunks are one output
            if out and out[-1].startswith(head) and last_stream == o.get("name"):
                out[-1] += text
            else:
                out.append(head + text)
            last_stream = o.get("name")
            continue
        elif kind in ("execute_result", "display_data"):
            plain = o.get("data", {}).get("text/plain")
            if plain is not None:
                out.append("".join(plain) if isinstance(plain, list) else plain)
        elif kind == "error":
            out.append(f"error:{o.get('ename')}:{o.get('evalue')}")
        last_stream = None
    return out


def read_manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "nbsplit-manifest.json").read_text(encoding="utf-8"))
