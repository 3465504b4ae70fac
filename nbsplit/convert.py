"""``nbsplit convert`` as a library call: plan a notebook, render every output file in memory,
write them atomically.

The output folder holds the stage notebooks (``NN_<slug>.ipynb``, or ``.py`` for the
``databricks``/``percent`` formats), ``nbsplit-manifest.json``, a README, a ``.gitignore`` for
the local handoff data, and, when the job renderer is available, ``job.json`` plus a Databricks
Asset Bundle. Rendering is pure (same notebook and options -> same bytes); only
``nbsplit.write.write_tree`` touches the disk, and the input notebook is only read.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbsplit import __version__
from nbsplit.config import Config
from nbsplit.errors import EXIT_PROBLEMS, EXIT_USAGE, NbsplitError
from nbsplit.model import Diagnostic, NotebookFormat, SplitPlan, Stage
from nbsplit.render.manifest import MANIFEST_NAME, manifest, manifest_json
from nbsplit.render.notebooks import RenderedStage, RenderOptions, default_parameters, render_stages
from nbsplit.render.templating import render

__all__ = ["ConvertResult", "convert_notebook", "render_files", "FORMATS"]

FORMATS: tuple[NotebookFormat, ...] = ("ipynb", "databricks", "percent")


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
                 job_options: Any = None, source_sha256: str | None = None
                 ) -> tuple[dict[str, str], tuple[RenderedStage, ...]]:
    """Every output file of ``plan`` as ``{relative path: text}`` (sorted), plus the stages."""
    if fmt not in FORMATS:
        raise NbsplitError(f"unknown format {fmt!r} (choose one of {', '.join(FORMATS)})")
    out = Path(out)
    templates = Path(templates) if templates is not None else None
    options = RenderOptions(out=out, fmt=fmt, keep_outputs=keep_outputs, templates=templates)
    stages = render_stages(plan, options)
    if not stages:
        raise NbsplitError("nothing to convert: no cell belongs to a pipeline stage", plan.notebook.path,
                           exit_code=EXIT_PROBLEMS)
    parameters = default_parameters(plan.notebook.path, out)
    files: dict[str, str] = {s.file: s.text for s in stages}
    files[MANIFEST_NAME] = manifest_json(manifest(plan, stages, out, parameters, source_sha256=source_sha256))
    job = _job_files(plan, {s.stage: s.file for s in stages}, job_options, templates)
    files.update(job)
    files["README.md"] = _readme(plan, stages, out, has_job=bool(job), job_options=job_options,
                                 templates=templates)
    files[".gitignore"] = ".nbsplit/\n"
    return dict(sorted(files.items())), stages


def convert_notebook(path: Path | str, out: Path | str, *, fmt: NotebookFormat = "ipynb", force: bool = False,
                     dry_run: bool = False, templates: Path | str | None = None, keep_outputs: bool = False,
                     strict: bool = False, config: Config | None = None, job_options: Any = None
                     ) -> ConvertResult:
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
                                 job_options=job_options, source_sha256=digest)
    if not dry_run:
        from nbsplit.write import write_tree

        write_tree(files, out, force=force, protect=[path], owner=MANIFEST_NAME)
    return ConvertResult(out=out, files=files, plan=plan, stages=stages, written=not dry_run,
                         diagnostics=plan.diagnostics)


def _job_files(plan: SplitPlan, notebook_files: Mapping[Stage, str], job_options: Any,
               templates: Path | None) -> dict[str, str]:
    try:
        from nbsplit.render import job
    except ImportError:  # the job renderer is optional: stage notebooks are useful alone
        return {}
    return dict(job.job_files(plan, notebook_files, job_options, templates=templates))


def _readme(plan: SplitPlan, stages: tuple[RenderedStage, ...], out: Path, *, has_job: bool, job_options: Any,
            templates: Path | None) -> str:
    by_stage = {sp.stage: sp for sp in plan.stages}
    job_key = "<job>"
    if has_job:
        from nbsplit.render.job import JobOptions, job_name

        job_key = job_name(plan, job_options or JobOptions())
    source = plan.notebook.path
    context = {
        "version": __version__,
        "source_name": source.name,
        "source_path": Path(os.path.relpath(os.path.abspath(source), os.path.abspath(out))).as_posix(),
        "source_dir": Path(os.path.relpath(os.path.abspath(source.parent), os.path.abspath(out))).as_posix(),
        "out_name": out.name or str(out),
        "job_key": job_key,
        "has_job": has_job,
        "stages": [
            {"order": s.stage.order, "slug": s.stage.value, "title": s.stage.title, "file": s.file,
             "depends_on": [d.value for d in sorted(by_stage[s.stage].depends_on, key=lambda d: d.order)]}
            for s in stages
        ],
    }
    return render("output_readme/README.md.j2", context, user_dir=templates)
