"""Regenerate the golden job/bundle files: ``python tests/golden_job/regenerate.py`` (from the
repository root). See README.md in this folder."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
JOB_FILES = ("job.json", "databricks.yml")

# (sample notebook, output format, job options)
CASES = {
    "churn_pandas": ("churn_pandas.ipynb", "ipynb", {}),
    "databricks_housing": ("databricks_housing.py", "databricks", {"serverless": True, "catalog": "ml",
                                                                    "schema": "housing"}),
}


def render_case(name: str) -> dict[str, str]:
    """The job files convert writes for the case (job.json, databricks.yml, resources/*)."""
    from nbsplit.api import plan_notebook
    from nbsplit.convert import render_files
    from nbsplit.render.job import JobOptions

    notebook, fmt, options = CASES[name]
    source = ROOT / "sample_notebooks" / notebook
    plan = plan_notebook(source)
    files, _ = render_files(plan, source.parent / f"{name}_split", fmt=fmt, job_options=JobOptions(**options))
    return {k: v for k, v in files.items() if k in JOB_FILES or k.startswith("resources/")}


def write_case(name: str, files: dict[str, str]) -> None:
    folder = HERE / name
    for old in sorted(folder.rglob("*"), reverse=True) if folder.exists() else ():
        old.unlink() if old.is_file() else old.rmdir()
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(path.relative_to(ROOT))


def main() -> int:
    sys.path.insert(0, str(ROOT))
    for name in CASES:
        write_case(name, render_case(name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
