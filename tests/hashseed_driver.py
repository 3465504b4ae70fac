"""Run ``nbsplit plan --format json`` and ``nbsplit convert`` (all formats) on notebooks, in this
process, and write every output under one folder: the hash-seed test compares the folders that
processes with different ``PYTHONHASHSEED`` values write.

Usage: ``python hashseed_driver.py OUT NOTEBOOK...``. One process per seed (not one per command)
keeps the test fast; what varies with the seed is the process, not the command.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
from pathlib import Path

from nbsplit.cli import cli

FORMATS = ("ipynb", "databricks", "percent")


def _invoke(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.main(args, prog_name="nbsplit", standalone_mode=False)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def main(out: Path, notebooks: list[Path]) -> None:
    notebooks = [p.resolve() for p in notebooks]
    out.mkdir(parents=True, exist_ok=True)
    os.chdir(out)  # relative paths only: the plan's "source" is then the same in every folder
    for k, original in enumerate(notebooks):
        # A copy inside OUT: the relative path from notebook to output (the default handoff_dir)
        # is then the same in every process's folder.
        base = Path(f"{k:02d}_{original.stem}")
        base.mkdir(parents=True)
        notebook = base / "src" / original.name
        notebook.parent.mkdir()
        shutil.copyfile(original, notebook)
        code, stdout, stderr = _invoke(["plan", str(notebook), "--format", "json"])
        (base / "plan.json").write_text(f"{code}\n{stdout}{stderr}", encoding="utf-8")
        for fmt in FORMATS:
            code, _, stderr = _invoke(["convert", str(notebook), "--out", str(base / fmt), "--format", fmt])
            (base / f"convert-{fmt}.status").write_text(f"{code}\n{stderr}", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
