"""Strangers' notebooks end to end: corpus notebooks whose data is in their own repository,
converted and run with ``nbsplit run --compare``, one row each.

    python benchmarks/strangers_run.py [--python PY] [--ids a,b] [--limit N] [--timeout S] [--list] [--mirror]

From the labelled corpus (``benchmarks/corpus``; repository snapshots under ``$NBSPLIT_MIRROR``)
it picks the ``.ipynb`` notebooks that read at least one data file present in their repository
at the manifest's commit (no Git LFS pointer, 60 MB at most), import only modules ``--python``
has, and reach no network, cloud storage, Colab/Kaggle/DBFS path or Spark. Each repository is
extracted at that commit into a scratch folder; the notebook is converted into ``stages_nbs/``
beside it and run there with ``--compare`` by ``--python`` (its kernels use that interpreter: a
venv with ``pandas<3`` and xgboost/lightgbm/statsmodels runs them as a Databricks runtime would).

``--mirror`` takes the candidates from every repository snapshot on this machine that the corpus
does not use instead (the same filters; the first notebook by path of each repository): notebooks
nobody here has read, so no label biases which ones are run.

Each row's outcome:

- ``reproduced``: every stage ran and every deterministic cell of the monolith matched;
- ``split defect``: the monolith ran (or failed only later) but a stage failed or a cell
  differs: nbsplit's to fix;
- ``notebook fails``: the monolith itself fails here first (an old library API, a missing file,
  a typo): only the cells before its failure are compared;
- ``convert error``: nbsplit refused the notebook (its one-line message);
- ``timeout``: a stage cell ran longer than ``--timeout`` (a search on a busy machine).

Found this way on 2026-12-04 (55 notebooks): an object column's NaN handed off as None under
pandas 2, ``sklearn.experimental`` enabling imports, ``%run ../x.py`` outside the folder; on
2026-12-05 (the other 33): ``!pip install`` run for real by the first local run (now the ``%pip``
stand-in). That day 13 reproduced, 17 failed on their own (NumPy 2 removals, old scikit-learn
APIs, Windows paths, network), 2 timed out, none differed. Later that day a one-off probe ran the
same filter over 96 notebooks outside the corpus (one per repository on this machine): 40
reproduced, 49 failed on their own, 3 timed out, 1 was refused (no stage cell), and four were
nbsplit's: ``!{sys.executable} -m pip install -r ...`` installed for real (now the ``%pip``
stand-in, as are ``!pip -q install``, ``!python3.10 -m pip`` and ``!conda install``), a data path
with a space (``../data/shopping center.csv``) left out of the comparison's copy and the bundle's
sync paths, and two false differences (``!ls`` listing the output folder, ``df.info()``'s memory
line after a hand-off). On a fresh machine on 2026-12-05 (evening), ``--mirror`` ran all 63 of its
candidates (repositories fetched that day) and ``--ids`` the 5 runnable ones of corpus round 44:
25 reproduced, 45 failed on their own (removed pandas/scikit-learn/NumPy APIs, missing optional
readers, files not in the repository, notebook bugs), 1 timed out (a stacking grid search), and
three were nbsplit's. Two now reproduce: ``sc = StandardScaler()`` taken for the SparkContext (the
run started Spark, whose pandas import from a pre-cell hook printed the monolith's frames in a
terminal's layout), and a notebook class pickled to a file and unpickled in a later stage. The
third, a data-prep cell reading the CSV an earlier featurization cell wrote (its stage read the
older copy the repository commits), reproduces since the plan follows files written and read back
(``nbsplit.file_uses``). The next session, with 585 corpus repositories' snapshots here, ran 53 of
the 54 corpus candidates (``--python`` a venv with ``pandas<3``; the largest was stopped for
time): 24 reproduced, 26 failed on their own (removed scikit-learn/NumPy/seaborn APIs, Windows
paths, notebook bugs, network, a missing optional reader), 1 timed out, and 2 differed. One was
nbsplit's and reproduces now: a figure size set by an evaluation cell was carried to the top of
the training stage, ahead of a training plot drawn before it. The other was not: ``! mkdir
~/.kaggle`` prints "File exists" once an earlier run made the folder (state outside the project);
rerun, it reproduces. A venv with older pins (``pandas<2``, ``numpy<1.24``, ``scikit-learn<1.2``,
``matplotlib<3.8``) lets two of three notebooks that failed on removed APIs reproduce. The session
after, with 500 more corpus repositories here, ran 42 of the 54 candidates those repositories
brought (the rest were stopped for time): 22 reproduced, 16 failed on their own (removed
scikit-learn/NumPy APIs, a Postgres or Google Cloud connection, files not in the repository,
notebook bugs), 3 timed out on a busy machine, and one was nbsplit's: a "restore the environment"
cell (``if 'preprocessor' not in globals(): ...``) took the branch the monolith skipped because its
stage did not hold the preprocessor (a presence check now reads the name). Its follow-up found
modules written with ``%%writefile`` and imported by an earlier stage or by setup (now files the
importers read, imported inline where the stage writes them). On 2026-12-06, a new machine with
the repositories of rounds 31-50 only, all 41 candidates they hold ran (``--python`` a venv with
``pandas<3``, xgboost, lightgbm, statsmodels, catboost, imbalanced-learn; ``--timeout 180``):
22 reproduced, 19 failed on their own (removed scikit-learn, seaborn and pandas APIs, models
fitted on text columns, files not in the repository, a Postgres driver, names a notebook never
defined, a pipeline used before it was fitted), none differed: none was nbsplit's. That evening,
with 500 more repositories there, 34 of the 38 candidates of the earlier rounds ran (the rest were
stopped for time; ``--timeout 180`` on a machine busy with two CVs): 9 reproduced, 20 failed on
their own (removed scikit-learn APIs, Windows paths, files not in the repository, a missing Excel
reader, Python 2 prints), 4 timed out, and one differed without being nbsplit's: a
``DecisionTreeClassifier()`` with no ``random_state``, cross-validated in a notebook that never
seeds NumPy, whose two fresh monolith runs agreed by chance (eight seeds give four values).
On 2026-12-07 (evening), a new machine holding a seeded random 400 of the corpus's repositories
and 88 more, all 34 candidates ran (the same venv, ``--timeout 180``): 13 reproduced, 17 failed on
their own (removed NumPy/scikit-learn/seaborn/matplotlib APIs, files not in the repository, a
Postgres driver, the network, notebook bugs), 2 timed out, and two differed. One was nbsplit's
comparison: a notebook writing ``../model/final_model.pk1`` where the snapshot had no ``model/``
folder failed in its stage (in place), while the monolith's copy had been given the folder and
succeeded; the copy now gets an output's folder only when it exists in place, and the row reads
"notebook fails". The other, a ``GridSearchCV(n_jobs=-1)`` over an unseeded random forest in a
notebook that never seeds, reproduced when run again: its monolith runs had agreed by chance.
The same machine, later that day with 500 more repositories (1,024 corpus notebooks), ran the 51
candidates not run the session before: 21 reproduced, 29 failed on their own (removed
scikit-learn/NumPy APIs, Windows paths, files not in the repository or too large for the
snapshot, a missing Excel reader, Python 2 prints, searches timing out in the monolith too), and
one differed: a stage's kernel killed for memory (a dense one-hot encoding of a unique id) while
the monolith's run of the same cell was reported at the notebook's last cell, because the source
as saved carries its author's execution counts. A dead kernel or a timeout is now placed at the
cell last sent to the kernel, and a run starts from the source without its stored outputs: the
row reads "notebook fails" at that cell. That evening, with 500 more (1,530 corpus notebooks),
the 52 new candidates and two that had stopped on a missing Excel reader and ``watermark`` (now
in the venv) ran: 30 reproduced, 23 failed on their own (removed scikit-learn/NumPy APIs, files
not in the repository, Postgres, ``mpl_toolkits.basemap``, notebook bugs, monolith searches over
the limit), and one differed: its last cell, ``%watermark --iversions``, lists the versions of
every package the kernel imported, and each stage's kernel imports only what its cells need.
Cells that list the kernel's namespace (``%who``, ``%whos``, ``%watermark --iversions``,
``dir()``) are now named and not compared. The session after, with the whole corpus here (and
round 56's notebooks), the 23 candidates no earlier run had taken ran (``--timeout 180`` beside a
CV): 7 reproduced, 16 failed on their own (removed pandas/scikit-learn APIs such as
``DataFrame.append``, ``get_feature_names``, ``sklearn.cross_validation``, ``base_estimator``;
Windows paths, a data file the repository lacks, ``%conda install`` outside conda, notebook bugs,
two searches over the limit), and none differed.
The session after, with a venv of older pins (``pandas<2``, ``numpy<1.24``, ``scikit-learn<1.2``,
``matplotlib<3.8``, ``seaborn<0.13``, ``xgboost<2``), the 19 corpus notebooks that had failed on a
removed API ran again (17 candidates there): 8 reproduced, 8 failed on their own (``RFE``'s
positional argument, seaborn 0.12's ``countplot``, a missing ``train.csv``, notebook bugs, a
search over the limit), and one differed without being a split defect: under matplotlib before
3.8 the inline backend hooks itself in one cell late, so a kernel's first figure showed at the end
of the *next* cell it ran: a data-prep cell in the monolith, the next eda cell in the split. The
run's kernels now hook the backend in after the cell that first draws (the stand-ins), so every
figure shows in the cell that drew it; rerun with that change (``--timeout 900``), the notebook's five stages all ran and none of the
19 compared cells differs (the monolith itself fails later, at cell 83, unpickling an empty file).
"""

from __future__ import annotations

import argparse
import json
import posixpath
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "corpus"))

import corpus  # noqa: E402

_IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", re.M)
_UNREACHABLE = ("/kaggle/", "drive/MyDrive", "dbfs:", "google.colab", "s3://", "gs://", "boto3", "/content/",
                "sagemaker", "dbutils", "SparkSession", "spark.", "hopsworks", "wandb", "openai", "requests.get",
                "urlretrieve", "kagglehub", "opendatasets", "mlflow.", "databricks")
_DATA = (".csv", ".tsv", ".xlsx", ".xls", ".parquet", ".json", ".txt", ".pkl", ".data", ".zip", ".feather")
_MAX_BYTES = 60_000_000

# Runs in ``--python``: the split's run as `nbsplit run --compare` does it, as JSON.
_WORKER = """
import io, json, re, sys
from rich.console import Console
from nbsplit.run import run_folder
r = run_folder(sys.argv[1], compare=True, timeout=int(sys.argv[2]), console=Console(file=io.StringIO()))
c = r.compare
print(json.dumps({"tasks": [[t.key, t.status, t.source_cell, (t.message or "")[:300]] for t in r.tasks],
                  "compare": None if c is None else {"compared": c.compared, "mismatches": [m.index for m in c.mismatches],
                                                     "error": c.error}}))
"""


def mirror_entries() -> list[Any]:
    """One entry per ``.ipynb`` of 15 KB-3 MB at HEAD of every snapshot whose repository the
    corpus does not use (materialised under an id starting ``mirror-``)."""
    used = {e.repo.lower() for e in corpus.load_manifest()}
    base = corpus.mirror_dir("x/y").parent.parent
    out = []
    for folder in sorted(base.iterdir()) if base.is_dir() else ():
        if "+" not in folder.name or folder.name.endswith(".part"):
            continue
        repo = folder.name.replace("+", "/", 1)
        gd = corpus.mirror_dir(repo)
        if repo.lower() in used or not gd.exists():
            continue
        head = subprocess.run(["git", "--git-dir", str(gd), "rev-parse", "HEAD"], capture_output=True, text=True)
        if head.returncode != 0:
            continue
        commit = head.stdout.strip()
        for path, size in _tree(corpus.Entry("", repo, commit, "", ())).items():
            if path.endswith(".ipynb") and 15_000 <= size <= 3_000_000:
                slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{folder.name}-{path}")[-120:]
                out.append(corpus.Entry(f"mirror-{slug}", repo, commit, path, ()))
    return out


def candidates(python: str, entries: list[Any] | None = None, per_repo: int = 0) -> list[dict[str, Any]]:
    from nbsplit.errors import NbsplitError
    from nbsplit.paths import outside_paths, relative_paths
    from nbsplit.read import read_notebook

    picked: list[tuple[Any, Any, list[str], list[str]]] = []
    modules: set[str] = set()
    for e in corpus.load_manifest() if entries is None else entries:
        if not e.path.endswith(".ipynb") or not corpus.mirror_dir(e.repo).exists():
            continue
        try:
            nb = read_notebook(corpus.materialize(e))
        except NbsplitError:  # a notebook nbsplit refuses is the probe's concern, not a run's
            continue
        code = "\n".join(c.source for c in nb.cells if c.kind == "code")
        if any(u in code for u in _UNREACHABLE):
            continue
        reads = [u.path for u in relative_paths(nb) if posixpath.splitext(u.path)[1].lower() in _DATA]
        reads += [p for p in outside_paths(nb) if posixpath.splitext(p)[1].lower() in _DATA]
        if reads:
            imported = sorted(set(_IMPORT.findall(code)))
            modules.update(imported)
            picked.append((e, nb, reads, imported))
    have = set(json.loads(subprocess.run(
        [python, "-c", "import importlib.util, json, sys; print(json.dumps([m for m in sys.argv[1:] "
                       "if importlib.util.find_spec(m) is not None]))", *sorted(modules)],
        capture_output=True, text=True, check=True).stdout))
    out = []
    for e, nb, reads, imported in picked:
        if not set(imported) <= have:
            continue
        files = _tree(e)
        folder = posixpath.dirname(e.path)
        found = [posixpath.normpath(posixpath.join(folder, r)) for r in reads]
        found = [f for f in found if f in files]
        if not found or any(files[f] < 200 for f in found) or sum(files[f] for f in found) > _MAX_BYTES:
            continue  # no data here, a Git LFS pointer, or too big
        if per_repo and sum(o["repo"] == e.repo for o in out) >= per_repo:
            continue
        out.append({"id": e.id, "repo": e.repo, "commit": e.commit, "path": e.path,
                    "code_cells": sum(1 for c in nb.cells if c.kind == "code")})
    return sorted(out, key=lambda o: (o["code_cells"], o["id"]))


def _tree(e: Any) -> dict[str, int]:
    listing = subprocess.run(["git", "--git-dir", str(corpus.mirror_dir(e.repo)), "ls-tree", "-r", "-l", e.commit],
                             capture_output=True, text=True).stdout
    files = {}
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        size = meta.split()[3]
        files[path] = int(size) if size.isdigit() else 0
    return files


def run_one(cand: dict[str, Any], python: str, timeout: int, scratch: Path) -> dict[str, Any]:
    tree = scratch / cand["id"]
    tree.mkdir(parents=True)
    _extract(cand["repo"], cand["commit"], tree)
    nb = tree / cand["path"]
    out = nb.parent / "stages_nbs"
    row = {"id": cand["id"], "cells": cand["code_cells"]}
    conv = subprocess.run([python, "-m", "nbsplit", "convert", str(nb), "--out", str(out), "--force"],
                          capture_output=True, text=True, timeout=600)
    if conv.returncode != 0:
        return row | {"outcome": "convert error", "detail": (conv.stderr.strip().splitlines() or ["?"])[-1][:160]}
    try:
        ran = subprocess.run([python, "-c", _WORKER, str(out), str(timeout)], capture_output=True, text=True,
                             timeout=timeout * 4, cwd=str(out))
        result = json.loads(ran.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, json.JSONDecodeError, IndexError):
        return row | {"outcome": "timeout or crash", "detail": ""}
    return row | _outcome(result)


def _extract(repo: str, commit: str, into: Path) -> None:
    """The repository's files at ``commit``: ``git archive``, or, when the snapshot lacks some of
    its largest blobs (snapshots may), every blob that is there, one ``cat-file --batch``."""
    git = ["git", "--git-dir", str(corpus.mirror_dir(repo))]
    archive = subprocess.run([*git, "archive", commit], capture_output=True)
    if archive.returncode == 0:
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, capture_output=True)
        return
    listing = subprocess.run([*git, "ls-tree", "-r", "-z", commit], capture_output=True).stdout.split(b"\0")
    blobs = [(meta.split()[2].decode(), path.decode("utf-8", "replace"))
             for meta, _, path in (entry.partition(b"\t") for entry in listing if entry)
             if meta.split()[1] == b"blob"]
    batch = subprocess.run([*git, "cat-file", "--batch"], input="".join(f"{sha}\n" for sha, _ in blobs).encode(),
                           capture_output=True).stdout
    pos = 0
    for sha, path in blobs:
        end = batch.index(b"\n", pos)
        header = batch[pos:end].split()
        pos = end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        (into / path).parent.mkdir(parents=True, exist_ok=True)
        (into / path).write_bytes(batch[pos:pos + size])
        pos += size + 1


def _outcome(result: dict[str, Any]) -> dict[str, Any]:
    """Whose failure it is: a stage failing before the cell where the monolith itself fails (or
    with a monolith that runs), or a differing cell, is the split's; ``run_folder`` says in
    ``compare.error`` when and where the monolith fails."""
    compare = result["compare"] or {}
    error = compare.get("error") or ""
    failed = [t for t in result["tasks"] if t[1] == "failed"]
    fails_at = re.search(r"before source cell (\d+) were compared", error)
    src_cell = int(fails_at.group(1)) if fails_at else None
    summary = {"stages": f"{len(result['tasks']) - len(failed)}/{len(result['tasks'])}",
               "compared": compare.get("compared", 0), "mismatches": len(compare.get("mismatches", ()))}
    early = [t for t in failed if src_cell is None or (t[2] is not None and t[2] < src_cell)]
    if any("TimeoutError" in t[3] for t in early):  # a slow search on a busy machine: --timeout
        return summary | {"outcome": "timeout", "detail": next(t[3] for t in early if "TimeoutError" in t[3])[:160]}
    if early or compare.get("mismatches"):
        detail = early[0][3] if early else f"cells {compare['mismatches']} differ"
        return summary | {"outcome": "split defect", "detail": " ".join(detail.split())[:160]}
    if "itself fails" in error or "could not run" in error:  # the cells before it still compared
        return summary | {"outcome": "notebook fails", "detail": " ".join(error.split())[-160:]}
    if error:
        return summary | {"outcome": "not compared", "detail": error[:160]}
    return summary | {"outcome": "reproduced", "detail": ""}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default=sys.executable, help="interpreter that converts and runs (and its kernels)")
    ap.add_argument("--ids", help="comma-separated corpus ids (default: every candidate)")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    ap.add_argument("--list", action="store_true", help="only list the candidates")
    ap.add_argument("--mirror", action="store_true",
                    help="candidates from the snapshots here that the corpus does not use (one per repository)")
    ns = ap.parse_args(argv)
    cands = candidates(ns.python, mirror_entries(), per_repo=1) if ns.mirror else candidates(ns.python)
    if ns.ids:
        wanted = set(ns.ids.split(","))
        cands = [c for c in cands if c["id"] in wanted]
    if ns.limit:
        cands = cands[:ns.limit]
    if ns.list:
        for c in cands:
            print(f"{c['id']:<48}{c['code_cells']:>5} code cells")
        return
    print(f"{'notebook':<48}{'cells':>6}{'stages':>8}{'compared':>9}{'differ':>7}  outcome         detail")
    rows = []
    with tempfile.TemporaryDirectory(prefix="nbsplit-strangers-") as tmp:
        for c in cands:
            row = run_one(c, ns.python, ns.timeout, Path(tmp))
            rows.append(row)
            print(f"{row['id']:<48}{row['cells']:>6}{row.get('stages', '-'):>8}{row.get('compared', 0):>9}"
                  f"{row.get('mismatches', 0):>7}  {row['outcome']:<16}{row['detail']}", flush=True)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    print("\n" + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
