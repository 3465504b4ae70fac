"""Execute the sample notebooks in place, so they are stored with their outputs like real ones.

Usage (from anywhere)::

    python sample_notebooks/execute_samples.py                 # every *.ipynb here
    python sample_notebooks/execute_samples.py churn_pandas    # only the named ones

Each notebook runs top to bottom in a fresh ``python3`` kernel with the working directory set to
``sample_notebooks/``. Tags and other cell metadata are kept; no per-cell timing metadata is
recorded, so re-running gives the same file except for the one ``%time`` output in
``messy_sales``. Before each notebook, run artefacts (MLflow store, Spark warehouse, outputs) are
removed, so registered-model versions restart at 1 and outputs do not depend on earlier runs;
they are removed again at the end.

The JVM behind Spark writes its own log lines (with timestamps and host names) straight to the
kernel's stderr; those lines are dropped from the stored outputs so the files stay reproducible.
Everything the notebook code itself prints is kept.

``messy_sales.ipynb`` then gets a realistic, non-increasing ``execution_count`` sequence: it is
meant to look like a notebook whose cells were run out of order (its code still runs in order).
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
ARTEFACTS = ("mlruns", "mlflow.db", "spark-warehouse", "metastore_db", "derby.log", "outputs", "predictions")

# Shown as the execution counts of messy_sales' code cells, in cell order: the author re-ran a
# few cells after editing them, so counts jump back and forth.
MESSY_COUNTS = (
    1, 2, 3, 4, 5, 6, 9, 7, 8, 10, 11, 12, 14, 13, 15, 16, 17, 18, 23, 19, 20, 21, 22, 24, 25,
    31, 26, 27, 28, 29, 30, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45,
)


# Lines the JVM (log4j, Hadoop, netlib, the JDK launcher) writes to the kernel's stderr.
JVM_NOISE = re.compile(
    r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d \w+ |WARNING: Using incubator modules|Using Spark's default log4j"
    r"|Setting default log level|To adjust logging level|netlib-blas|\[Stage \d+:|\s*$)"
)


def drop_jvm_noise(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.outputs:
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                lines = [ln for ln in out["text"].splitlines(keepends=True) if not JVM_NOISE.match(ln)]
                if not lines:
                    continue
                out["text"] = "".join(lines)
            kept.append(out)
        cell.outputs = kept


def merge_streams(nb: nbformat.NotebookNode) -> None:
    """Join consecutive stdout (or stderr) chunks: how output is chunked depends on timing."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged: list = []
        for out in cell.outputs:
            prev = merged[-1] if merged else None
            if (
                prev is not None
                and out.get("output_type") == "stream"
                and prev.get("output_type") == "stream"
                and prev.get("name") == out.get("name")
            ):
                prev["text"] += out["text"]
            else:
                merged.append(out)
        cell.outputs = merged


def clean_artefacts(folder: Path = HERE) -> None:
    for name in ARTEFACTS:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def execute(path: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run one notebook in a fresh kernel with cwd = the notebook's folder and return it."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


def shuffle_execution_counts(nb: nbformat.NotebookNode) -> None:
    # nbclient (like Jupyter) leaves empty cells unnumbered
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    if len(code) > len(MESSY_COUNTS):
        raise SystemExit(f"messy_sales has {len(code)} code cells; extend MESSY_COUNTS")
    for cell, count in zip(code, MESSY_COUNTS):
        cell.execution_count = count
        for out in cell.outputs:
            if out.get("output_type") == "execute_result":
                out["execution_count"] = count


def main(names: list[str]) -> int:
    paths = sorted(HERE.glob("*.ipynb"))
    if names:
        paths = [p for p in paths if p.stem in names]
    for path in paths:
        clean_artefacts()
        start = time.perf_counter()
        nb = execute(path)
        drop_jvm_noise(nb)
        merge_streams(nb)
        if path.stem == "messy_sales":
            shuffle_execution_counts(nb)
        nbformat.write(nb, path)
        size = path.stat().st_size / 1024
        print(f"{path.name:28s} {time.perf_counter() - start:6.1f} s {size:7.1f} KB")
    clean_artefacts()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
