"""Execute the sample notebooks in place, so they are stored with their outputs like real ones.

Usage (from anywhere)::

    python sample_notebooks/execute_samples.py                 # every *.ipynb here
    python sample_notebooks/execute_samples.py churn_pandas    # only the named ones

Each notebook runs top to bottom, twice, each time in a fresh ``python3`` kernel with the working
directory set to ``sample_notebooks/`` and ``PYTHONHASHSEED=0`` (what the sample tests give every kernel;
figures render inline, as in Jupyter). The second run is stored. The code cells whose
text outputs (stdout, text/plain) differ between the two runs are recorded in
``nondeterministic_cells.json``: the sample tests compare the split's stage notebooks with the
stored outputs of every other cell, so they need no fresh run of each monolith. The file also
records the versions of the libraries whose output the samples print (``ENVIRONMENT``): where
the tests run under other versions, they run each monolith afresh instead. Tags and other
cell metadata are kept; no per-cell timing metadata is recorded, so re-running gives the same
file except for the one ``%time`` output in ``messy_sales``. Before each notebook, run artefacts (MLflow store, Spark warehouse, outputs) are
removed, so registered-model versions restart at 1 and outputs do not depend on earlier runs;
they are removed again at the end.

The JVM behind Spark writes its own log lines (with timestamps and host names) straight to the
kernel's stderr; those lines are dropped from the stored outputs so the files stay reproducible.
Everything the notebook code itself prints is kept.

``messy_sales.ipynb`` then gets a realistic, non-increasing ``execution_count`` sequence: it is
meant to look like a notebook whose cells were run out of order (its code still runs in order).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
RECORD = HERE / "nondeterministic_cells.json"
# The distributions whose printed output the samples show (reprs, number formatting, versions).
ENVIRONMENT = ("ipykernel", "matplotlib", "mlflow", "numpy", "pandas", "pyspark", "scikit-learn", "scipy", "seaborn")
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
    # Kernels inherit this process's environment.
    os.environ["PYTHONHASHSEED"] = "0"
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
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


def environment() -> dict[str, str | None]:
    """What the stored outputs depend on besides the notebooks: the versions of ``ENVIRONMENT``
    and the processor (the BLAS kernels numpy picks, and its thread count, change the last
    digits of floating-point sums)."""
    import hashlib
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for name in ENVIRONMENT:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines() if cpuinfo.is_file() else []
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), platform.processor())
    flags = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("flags")), "")
    found["cpu"] = f"{platform.machine()} {model} x{os.cpu_count()} flags {hashlib.sha256(flags.encode()).hexdigest()[:12]}"
    return found


def text_outputs(cell: nbformat.NotebookNode) -> list[str]:
    """What the sample tests compare: stdout and the text/plain of results and displays."""
    texts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            texts.append("stdout:" + out.get("text", ""))
        elif out.get("output_type") in ("execute_result", "display_data"):
            texts.append("plain:" + str(out.get("data", {}).get("text/plain", "")))
    return ["".join(texts)]


def differing_cells(first: nbformat.NotebookNode, second: nbformat.NotebookNode) -> list[int]:
    return [i for i, (a, b) in enumerate(zip(first.cells, second.cells))
            if a.cell_type == "code" and text_outputs(a) != text_outputs(b)]


def run_once(path: Path) -> nbformat.NotebookNode:
    clean_artefacts()
    nb = execute(path)
    drop_jvm_noise(nb)
    merge_streams(nb)
    return nb


def main(names: list[str]) -> int:
    paths = sorted(HERE.glob("*.ipynb"))
    if names:
        paths = [p for p in paths if p.stem in names]
    previous = json.loads(RECORD.read_text(encoding="utf-8")) if RECORD.is_file() else {}
    current = environment()
    # Samples stored under other library versions than now cannot share one record: run them all.
    record = previous.get("cells", {}) if previous.get("environment") == current else {}
    if names and not record:
        raise SystemExit("the libraries changed since the samples were stored: run every sample (no names)")
    for path in paths:
        start = time.perf_counter()
        first, nb = run_once(path), run_once(path)
        record[path.stem] = differing_cells(first, nb)
        if path.stem == "messy_sales":
            shuffle_execution_counts(nb)
        nbformat.write(nb, path)
        size = path.stat().st_size / 1024
        print(f"{path.name:28s} {time.perf_counter() - start:6.1f} s {size:7.1f} KB, "
              f"cells that vary between two runs: {record[path.stem]}")
    clean_artefacts()
    RECORD.write_text(json.dumps({"environment": current, "cells": dict(sorted(record.items()))}, indent=1)
                      + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
