"""Regenerate the golden job/bundle files: ``python tests/golden_job/regenerate.py`` (from the
repository root). See README.md in this folder."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def pristine(source: Path) -> Iterator[Path]:
    """``source`` and the ``data/`` folder beside it, copied into a fresh folder of the same name.
    A render records which paths the notebook names already exist (the manifest's ``input``, the
    bundle's synced folders), and running a sample -- the README's first command -- leaves its
    outputs (``outputs/``, ``predictions/``, ``mlflow.db``) beside it: golden files are rendered
    from what the repository holds, not from what the last run left."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / source.parent.name
        folder.mkdir()
        shutil.copy2(source, folder / source.name)
        if (source.parent / "data").is_dir():
            shutil.copytree(source.parent / "data", folder / "data")
        yield folder / source.name


def render_case(name: str) -> dict[str, str]:
    """The job files convert writes for the case (job.json, databricks.yml, resources/*)."""
    from nbsplit.api import plan_notebook
    from nbsplit.convert import render_files
    from nbsplit.render.job import JobOptions

    notebook, fmt, options = CASES[name]
    with pristine(ROOT / "sample_notebooks" / notebook) as source:
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
