"""``nbsplit-manifest.json``: where every source cell went, what crosses between stages, the DAG.

Shape (keys in this order, JSON with 2-space indent)::

    {"nbsplit_version": "0.1.0", "classifier_version": "...",
     "source": {"path": "../churn.ipynb", "sha256": "...", "format": "ipynb", "split_sha256": "..."},
     "cells": [{"index": 0, "stage": "setup", "file": "01_data-prep.ipynb", "cell": 5,
                "also": [{"file": "04_training.ipynb", "cell": 6}]},
               {"index": 3, "stage": "skip", "file": null, "cell": null}, ...],
     "handoffs": [{"key": "df__c2", "name": "df", "version": 2, "from": "data-prep",
                   "to": "eda", "before_cell": 3}, ...],
     "dag": {"data-prep": [], "eda": ["data-prep"], ...},
     "stages": [{"name": "data-prep", "file": "01_data-prep.ipynb"}, ...],
     "runtime": "nbsplit_runtime.py",
     "files": [{"path": "data/churn.csv", "cells": [2], "input": true}, ...],
     "parameters": {"handoff_dir": "...", "data_dir": "..", ...},
     "spark": {"conf": {"spark.sql.adaptive.enabled": "false", ...}, "stages": ["data-prep", ...],
               "session": "runtime"}}

``split_sha256`` fingerprints what decides the split: each cell's kind and source (without
``nbsplit:`` directive lines) and its effective stage. ``nbsplit check`` (NBS107) calls a folder
stale only when that changed, so writing the inferred tags into the notebook (``nbsplit-tag``)
does not make every committed stages folder stale.

``files`` are the paths the notebook names relative to its folder (inputs existed when converting);
``data_dir`` is that folder seen from the output folder.

``spark`` is present when some stage needs a Spark session (``nbsplit.sparkuse``): ``stages`` are
those stages, ``conf`` the settings ``nbsplit run`` gives every local session it makes (the
source runs of ``--compare`` included, so the monolith and the split compute under one
configuration); ``session`` says who makes it: ``runtime`` (Databricks' ``spark``: the local run
starts one before the first cell) or ``notebook`` (its own builder, whose settings then apply).

``mlflow`` is what the analysis found (:meth:`nbsplit.mlfacts.MLFacts.to_json`: models and
their parameters, metrics, the main model, the primary metric and its direction, tracking URIs
the notebook sets) and ``instrumented``: whether the stages carry MLflow cells (not with
``--no-mlflow``), which ``nbsplit run`` reads to make the pipeline's parent run.

``source.path`` is relative to the output folder; ``cell`` is the position of the cell in its
stage notebook (generated cells counted). A cell whose only content went into a stage's
generated imports or helpers cell (an import-only setup cell, a helper definition) has
``"file": null`` and lists those under ``"generated": [{"file", "kind"}]``. A cell placed in
no stage at all (``skip``, or a ``setup`` cell no stage uses) has ``"file": null`` and says why
under ``"unplaced"``; every source cell has exactly one entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from nbsplit import __version__
from nbsplit.model import MANIFEST_NAME, SplitPlan, Stage
from nbsplit.paths import relative_paths
from nbsplit.render.parameters import RUNTIME_MODULE
from nbsplit.render.escape import json_text
from nbsplit.render.notebooks import RenderedStage
from nbsplit.sparkuse import builds_session, spark_stages
from nbsplit.standins import SPARK_CONF

__all__ = ["MANIFEST_NAME", "manifest", "manifest_json", "classifier_version", "split_fingerprint"]


# A stage directive or noqa comment line: marks that say how to split, not what is split.
_DIRECTIVE = re.compile(r"^[ \t]*(#|--)[ \t]*nbsplit:.*(\n|$)", re.MULTILINE)


def split_fingerprint(plan: SplitPlan) -> str:
    """sha256 of what decides the split (cell kinds, sources without directives, stages)."""
    cells = [[c.kind, _DIRECTIVE.sub("", c.source), plan.stage_of(c.index).value] for c in plan.notebook.cells]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode("utf-8")).hexdigest()


def classifier_version() -> str:
    try:
        import nbsplit.classify as classify
    except ImportError:  # pragma: no cover - classify is part of the core package
        return __version__
    return str(getattr(classify, "CLASSIFIER_VERSION", None) or getattr(classify, "__version__", None) or __version__)


def manifest(plan: SplitPlan, stages: Sequence[RenderedStage], out: Path,
             parameters: Mapping[str, str], *, source_sha256: str | None = None,
             mlflow: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The manifest as a dict (``manifest_json`` gives its file text)."""
    notebook = plan.notebook
    if source_sha256 is None:
        source_sha256 = hashlib.sha256(notebook.text.encode("utf-8")).hexdigest()
    source_rel = Path(os.path.relpath(os.path.abspath(notebook.path), os.path.abspath(out))).as_posix()
    generated = _generated_placements(plan, stages)
    cells: list[dict[str, Any]] = []
    for cell in notebook.cells:
        where = [{"file": s.file, "cell": s.placements[cell.index]} for s in stages if cell.index in s.placements]
        entry: dict[str, Any] = {
            "index": cell.index,
            "stage": plan.stage_of(cell.index).value,
            "file": where[0]["file"] if where else None,
            "cell": where[0]["cell"] if where else None,
        }
        if len(where) > 1:
            entry["also"] = where[1:]
        if generated.get(cell.index):
            entry["generated"] = generated[cell.index]
        elif not where:
            entry["unplaced"] = _unplaced_reason(plan.stage_of(cell.index))
        cells.append(entry)
    rendered = {s.stage for s in stages}
    handoffs = []
    for stage_plan in sorted(plan.stages, key=lambda s: s.stage.order):
        if stage_plan.stage not in rendered:
            continue
        for h in sorted(stage_plan.handoffs_in, key=lambda h: (h.before_cell, h.version, h.name)):
            handoffs.append({"key": h.key, "name": h.name, "version": h.version, "from": h.producer.value,
                             "to": h.consumer.value, "before_cell": h.before_cell})
    by_stage = {sp.stage: sp for sp in plan.stages}
    dag = {
        s.stage.value: [d.value for d in sorted(by_stage[s.stage].depends_on, key=lambda d: d.order)]
        for s in stages
    }
    out: dict[str, Any] = {
        "nbsplit_version": __version__,
        "classifier_version": classifier_version(),
        "source": {"path": source_rel, "sha256": source_sha256, "format": notebook.format,
                   "split_sha256": split_fingerprint(plan)},
        "cells": cells,
        "handoffs": handoffs,
        "dag": dag,
        "stages": [{"name": s.stage.value, "file": s.file} for s in stages],
        "runtime": f"{RUNTIME_MODULE}.py",
        "files": [{"path": u.path, "cells": list(u.cells), "input": u.exists} for u in relative_paths(notebook)],
        "parameters": dict(parameters),
    }
    rendered_names = [s.stage for s in stages]
    needing = [st.value for st in spark_stages(plan) if st in rendered_names]
    if needing:
        out["spark"] = {"conf": dict(SPARK_CONF), "stages": needing,
                        "session": "notebook" if builds_session(notebook.cells) else "runtime"}
    if mlflow is not None:
        out["mlflow"] = dict(mlflow)
    return out


def _unplaced_reason(stage: Stage) -> str:
    # A cell in no stage notebook must say why, so the manifest accounts for every source cell.
    if stage is Stage.SKIP:
        return "skip: excluded from every stage"
    if stage is Stage.SETUP:
        return "setup: no stage uses what it defines"
    return f"{stage.value}: no stage notebook was written for it"


def manifest_json(data: Mapping[str, Any]) -> str:
    return json_text(data, indent=2) + "\n"


def _generated_placements(plan: SplitPlan, stages: Sequence[RenderedStage]) -> dict[int, list[dict[str, str]]]:
    """Source cells whose imports/definitions went into generated cells (from the plan)."""
    try:
        from nbsplit.plan import placements
    except ImportError:
        return {}
    try:
        found = placements(plan)
    except Exception:  # a hand-built plan the planner cannot replay: no extra information
        return {}
    files = {s.stage: s.file for s in stages}
    out: dict[int, list[dict[str, str]]] = {}
    kinds = {"imports": "imports", "helper": "helpers"}
    for index, places in found.items():
        for place in places:
            if place.how in kinds and place.stage in files:
                out.setdefault(index, []).append({"file": files[place.stage], "kind": kinds[place.how]})
    return out
