"""How long does ``nbsplit check`` take per notebook, and where does the time go?

    python benchmarks/bench_check.py [--notebooks 50]

Generates ``--notebooks`` variants of the sample notebooks (``sample_notebooks/*.ipynb``, real
30-40 cell projects) in a temporary folder: some keep their stage tags, some lose all of them
(so the classifier does the work), some lose half, and a few extra exploratory cells are added so
no two notebooks are the same. Then ``check_files`` runs on each notebook alone (as pre-commit
does for a commit touching one file), and a table shows the total, per-notebook numbers and the
share of time spent in read / analyze / classify / plan. The goal: well under a second each.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from nbsplit.check import check_files
from nbsplit.config import Config

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_notebooks"

EXTRA_CELLS = (
    "df.head()",
    "df.shape",
    "df.dtypes",
    "print(df.columns.tolist())",
    "df.isna().mean().sort_values(ascending=False).head(10)",
    "# quick look\ndf.sample(5, random_state=0)",
)


def variants(folder: Path, count: int, seed: int = 7) -> list[Path]:
    """``count`` notebooks derived from the samples: tags kept, dropped or half dropped."""
    rng = random.Random(seed)
    bases = sorted(SAMPLES.glob("*.ipynb"))
    if not bases:
        raise SystemExit(f"no sample notebooks in {SAMPLES}")
    paths = []
    for i in range(count):
        base = bases[i % len(bases)]
        nb = nbformat.read(base, as_version=4)
        mode = ("tagged", "untagged", "half")[i % 3]
        for cell in nb.cells:
            tags = [t for t in cell.metadata.get("tags", []) if not t.startswith("nbsplit:")]
            keep = mode == "tagged" or (mode == "half" and rng.random() < 0.5)
            if keep:
                tags += [t for t in cell.metadata.get("tags", []) if t.startswith("nbsplit:")]
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
        # a few extra exploratory cells after the first load, so variants differ
        anchor = next((k for k, c in enumerate(nb.cells) if c.cell_type == "code" and "read" in c.source), 2)
        for k in range(rng.randint(0, 4)):
            nb.cells.insert(anchor + 1 + k, nbformat.v4.new_code_cell(rng.choice(EXTRA_CELLS)))
        path = folder / f"{base.stem}_{i:02d}_{mode}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", type=int, default=50)
    args = parser.parse_args()
    config = Config()
    with tempfile.TemporaryDirectory() as tmp:
        paths = variants(Path(tmp), args.notebooks)
        cells = [len(nbformat.read(p, as_version=4).cells) for p in paths]
        check_files(paths[:1], config=config)  # warm imports (libcst, jinja2) once, like a hook process
        per_file: list[float] = []
        steps: dict[str, float] = {}
        problems = 0
        for path in paths:
            start = time.perf_counter()
            report = check_files([path], config=config)
            per_file.append(time.perf_counter() - start)
            problems += len(report.problems)
            for step, seconds in report.timings.items():
                steps[step] = steps.get(step, 0.0) + seconds
    total = sum(per_file)
    rows = [
        ("notebooks", f"{len(paths)} ({min(cells)}-{max(cells)} cells)"),
        ("total", f"{total:.2f} s"),
        ("per notebook: mean", f"{statistics.mean(per_file) * 1000:.0f} ms"),
        ("per notebook: median", f"{statistics.median(per_file) * 1000:.0f} ms"),
        ("per notebook: max", f"{max(per_file) * 1000:.0f} ms"),
        ("problems reported", str(problems)),
    ]
    accounted = 0.0
    for step in ("read", "analyze", "classify", "plan", "stages"):
        seconds = steps.get(step, 0.0)
        accounted += seconds
        rows.append((f"share: {step}", f"{seconds / total:6.1%}  ({seconds:.2f} s)"))
    rows.append(("share: check itself", f"{(total - accounted) / total:6.1%}  ({total - accounted:.2f} s)"))
    width = max(len(k) for k, _ in rows)
    print(f"nbsplit check: {len(paths)} notebooks, one check_files call each (as a pre-commit hook)")
    print("-" * (width + 32))
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print("-" * (width + 32))
    verdict = "OK" if max(per_file) < 1.0 else "TOO SLOW"
    print(f"goal: well under 1 s per notebook -> {verdict}")


if __name__ == "__main__":
    main()
