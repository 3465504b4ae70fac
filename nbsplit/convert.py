"""``nbsplit convert`` as a library call: plan a notebook, render every output file in memory,
write them atomically.

The output folder holds the stage notebooks (``NN_<slug>.ipynb``, or ``.py`` for the
``databricks``/``percent`` formats), the handoff runtime module they import
(``nbsplit_runtime.py``), ``nbsplit-manifest.json``, a README, a ``.gitignore`` for the local
handoff data, ``job.json`` and a Databricks Asset Bundle (:mod:`nbsplit.render.outputs`). Rendering is pure (same notebook and options -> same bytes); only
``nbsplit.write.write_tree`` touches the disk, and the input notebook is only read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbsplit.config import Config
from nbsplit.errors import EXIT_PROBLEMS, EXIT_USAGE, NbsplitError
from nbsplit.model import Diagnostic, NotebookFormat, SplitPlan
from nbsplit.render.manifest import MANIFEST_NAME
from nbsplit.render.notebooks import RenderedStage
from nbsplit.render.outputs import FORMATS, render_outputs

__all__ = ["ConvertResult", "convert_notebook", "render_files", "FORMATS"]



@dataclass(frozen=True)
class ConvertResult:
    """What convert produced. ``files`` maps each output path (relative to ``out``, sorted) to
    its text; ``written`` is False for a dry run."""

    out: Path
    files: Mapping[str, str]
    plan: SplitPlan
    stages: tuple[RenderedStage, ...]
    written: bool
    diagnostics: tuple[Diagnostic, ...] = field(default=())


def render_files(plan: SplitPlan, out: Path | str, *, fmt: NotebookFormat = "ipynb",
                 templates: Path | str | None = None, keep_outputs: bool = False,
                 job_options: Any = None, source_sha256: str | None = None, mlflow: Any = None,
                 ) -> tuple[dict[str, str], tuple[RenderedStage, ...]]:
    """Every output file of ``plan`` as ``{relative path: text}`` (sorted), plus the stages.
    ``mlflow`` is an :class:`nbsplit.render.tracking.MLflowOptions` (default: instrumented)."""
    return render_outputs(plan, Path(out), fmt=fmt, templates=Path(templates) if templates is not None else None,
                          keep_outputs=keep_outputs, job_options=job_options, source_sha256=source_sha256,
                          mlflow=mlflow)


def convert_notebook(path: Path | str, out: Path | str, *, fmt: NotebookFormat = "ipynb", force: bool = False,
                     dry_run: bool = False, templates: Path | str | None = None, keep_outputs: bool = False,
                     strict: bool = False, config: Config | None = None, job_options: Any = None,
                     mlflow: Any = None) -> ConvertResult:
    """Split the notebook at ``path`` into ``out``. Raises ``NbsplitError`` (one line) when the
    plan has errors, the folder is not empty (without ``force``), or a template fails."""
    from nbsplit.api import INPUT_ERRORS, plan_notebook

    path, out = Path(path), Path(out)
    plan = plan_notebook(path, config, strict=strict)
    errors = [d for d in plan.diagnostics if d.severity == "error"]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more error(s); see nbsplit plan)" if len(errors) > 1 else ""
        # A mistyped or doubled stage tag is bad input (2); a strict backward dependency is a
        # problem found in a valid notebook (1).
        code = EXIT_USAGE if first.code in INPUT_ERRORS else EXIT_PROBLEMS
        raise NbsplitError(f"cannot split: {first.message}{more}", path, cell=first.cell, exit_code=code)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    files, stages = render_files(plan, out, fmt=fmt, templates=templates, keep_outputs=keep_outputs,
                                 job_options=job_options, source_sha256=digest, mlflow=mlflow)
    if not dry_run:
        from nbsplit.write import write_tree

        write_tree(files, out, force=force, protect=[path], owner=MANIFEST_NAME)
    return ConvertResult(out=out, files=files, plan=plan, stages=stages, written=not dry_run,
                         diagnostics=plan.diagnostics)
