"""The labelled corpus: public notebooks named by repository, commit and path, and our labels.

The public code itself is never committed. ``manifest.jsonl`` names each notebook (one JSON
object a line); ``labels/<id>.json`` holds our labels (format in ``README.md``); the notebooks are
materialised from repository snapshots (bare git folders, ``$NBSPLIT_MIRROR`` or
``/work/.mirror``) into the ignored ``notebooks/`` folder.

Commands::

    python benchmarks/corpus/corpus.py add --id ID --repo OWNER/NAME --path P [--commit C] --kinds k1,k2
        claim a notebook: checks the repository is not over-used, materialises it, writes a label
        skeleton and prints the cells to read
    python benchmarks/corpus/corpus.py show ID         print the cells again
    python benchmarks/corpus/corpus.py check [ID...]   validate label files against the notebooks
    python benchmarks/corpus/corpus.py materialize     bring every notebook into notebooks/
    python benchmarks/corpus/corpus.py stats           counts by stage, kind and repository
    python benchmarks/corpus/corpus.py second ID --labeler NAME
        a second, independent labelling: writes the skeleton second/ID.json, prints the cells
    python benchmarks/corpus/corpus.py check --second [ID...]   validate second/ files
    python benchmarks/corpus/corpus.py agreement [--partial]   the two labellings compared, code cells
    python benchmarks/corpus/corpus.py missing [--limit N] [--chunks K --out DIR]
        the repositories the manifest names that have no snapshot here, in manifest order (what
        to ``fetch``, at most 500 a session); ``--chunks`` writes them as K lists DIR/fetchI.txt,
        one per helper
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nbsplit.read import read_notebook  # noqa: E402

MANIFEST = HERE / "manifest.jsonl"
SECOND = HERE / "second"
LABELS = HERE / "labels"
NOTEBOOKS = HERE / "notebooks"
MAX_PER_REPO = 2

# LABELING.md spells data_prep; nbsplit's slugs are data-prep. Both are accepted.
STAGES = ("data-prep", "eda", "featurization", "training", "evaluation", "prediction", "monitoring",
          "setup", "skip")
KINDS = ("kaggle", "tutorial", "business", "pyspark", "databricks", "mlflow", "monitoring", "batch-scoring",
         "non-english", "no-markdown", "deep-learning", "time-series", "nlp")


def norm_stage(value: str | None) -> str | None:
    if value is None:
        return None
    slug = value.strip().lower().replace("_", "-")
    return slug


@dataclass(frozen=True)
class Entry:
    id: str
    repo: str
    commit: str
    path: str
    kinds: tuple[str, ...]

    @property
    def suffix(self) -> str:
        ext = Path(self.path).suffix.lower()
        return ext if ext in (".ipynb", ".py") else ".ipynb"

    @property
    def local(self) -> Path:
        return NOTEBOOKS / f"{self.id}{self.suffix}"


def load_manifest() -> list[Entry]:
    if not MANIFEST.exists():
        return []
    out = []
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out.append(Entry(d["id"], d["repo"], d["commit"], d["path"], tuple(d.get("kinds", ()))))
    return out


def mirror_dir(repo: str) -> Path:
    base = Path(os.environ.get("NBSPLIT_MIRROR", "/work/.mirror"))
    folder = base / repo.replace("/", "+") / "repo"
    # snapshots come bare (repo/HEAD) or as a clone without a work tree (repo/.git)
    return folder / ".git" if (folder / ".git").is_dir() else folder


def git_show(repo: str, commit: str, path: str) -> bytes:
    gd = mirror_dir(repo)
    if not gd.exists():
        raise SystemExit(f"{repo}: no snapshot at {gd} (fetch github:{repo} first)")
    res = subprocess.run(["git", "--git-dir", str(gd), "show", f"{commit}:{path}"], capture_output=True)
    if res.returncode != 0:
        raise SystemExit(f"{repo}@{commit}:{path}: {res.stderr.decode(errors='replace').strip()}")
    return res.stdout


def resolve_commit(repo: str, commit: str | None) -> str:
    gd = mirror_dir(repo)
    rev = commit or "HEAD"
    res = subprocess.run(["git", "--git-dir", str(gd), "rev-parse", f"{rev}^{{commit}}"], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{repo}: commit {rev} not in the snapshot: {res.stderr.strip()}")
    return res.stdout.strip()


def materialize(entry: Entry) -> Path:
    if not entry.local.exists():
        NOTEBOOKS.mkdir(exist_ok=True)
        entry.local.write_bytes(git_show(entry.repo, entry.commit, entry.path))
    return entry.local


def cell_sha1(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()


def print_cells(entry: Entry, limit: int = 6000) -> None:
    nb = read_notebook(materialize(entry))
    print(f"## {entry.id}: {entry.repo} {entry.path} ({len(nb.cells)} cells)")
    for c in nb.cells:
        src = c.source if len(c.source) <= limit else c.source[:limit] + f"\n... [{len(c.source) - limit} more chars]"
        print(f"\n===== cell {c.index} [{c.kind}{'' if c.language == 'python' else ':' + c.language}] =====")
        print(src)


def skeleton(entry: Entry) -> dict:
    nb = read_notebook(materialize(entry))
    return {
        "id": entry.id,
        "labeler": "",
        "cells": [{"index": c.index, "cell_type": c.kind, "sha1": cell_sha1(c.source), "stage": None,
                   "secondary": None, "note": ""} for c in nb.cells],
    }


def cmd_add(args: argparse.Namespace) -> None:
    kinds = tuple(k for k in args.kinds.split(",") if k)
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise SystemExit(f"unknown kinds {bad}; use {KINDS}")
    commit = resolve_commit(args.repo, args.commit)
    entry = Entry(args.id, args.repo, commit, args.path, kinds)
    git_show(entry.repo, entry.commit, entry.path)  # fail before claiming
    MANIFEST.touch()
    with open(MANIFEST, "r+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        existing = [json.loads(x) for x in fh.read().splitlines() if x.strip()]
        if any(e["id"] == entry.id for e in existing):
            raise SystemExit(f"id {entry.id} already taken")
        if any(e["repo"].lower() == entry.repo.lower() and e["path"] == entry.path for e in existing):
            raise SystemExit(f"{entry.repo}:{entry.path} already in the corpus")
        if sum(e["repo"].lower() == entry.repo.lower() for e in existing) >= MAX_PER_REPO:
            raise SystemExit(f"{entry.repo} already has {MAX_PER_REPO} notebooks; pick another repository")
        nb = read_notebook(materialize(entry))  # raises on a notebook nbsplit cannot read
        copy = near_copy(nb, existing)
        if copy is not None:
            raise SystemExit(f"{entry.repo}:{entry.path} is a near copy of {copy} (a tutorial or template "
                             "already in the corpus); pick another notebook")
        fh.seek(0, 2)
        fh.write(json.dumps({"id": entry.id, "repo": entry.repo, "commit": entry.commit, "path": entry.path,
                             "kinds": list(kinds)}) + "\n")
    LABELS.mkdir(exist_ok=True)
    label_file = LABELS / f"{entry.id}.json"
    if not label_file.exists():
        label_file.write_text(json.dumps(skeleton(entry), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"claimed {entry.id} ({len(nb.cells)} cells); label file {label_file}")
    print_cells(entry)


NEAR_COPY = 0.4  # share of a notebook's substantial code cells found verbatim in another one


def near_copy(nb: Any, existing: list[dict]) -> str | None:
    """The id of a corpus notebook from another repository that holds at least NEAR_COPY of
    ``nb``'s substantial code cells verbatim (copies of a course template or tutorial pass the
    repository check, and a copy in two folds leaks between them), else None."""
    mine = {cell_sha1(c.source) for c in nb.cells if c.kind == "code" and len(c.source.strip().splitlines()) >= 3}
    if len(mine) < 3:
        return None
    for e in existing:
        label_file = LABELS / f"{e['id']}.json"
        if not label_file.exists():
            continue
        theirs = {c.get("sha1") for c in json.loads(label_file.read_text(encoding="utf-8")).get("cells", [])}
        if len(mine & theirs) >= NEAR_COPY * len(mine):
            return e["id"]
    return None


def check_one(entry: Entry, folder: Path = LABELS) -> list[str]:
    problems = []
    label_file = folder / f"{entry.id}.json"
    if not label_file.exists():
        return [f"{entry.id}: no label file"]
    data = json.loads(label_file.read_text(encoding="utf-8"))
    nb = read_notebook(materialize(entry))
    cells = data.get("cells", [])
    if len(cells) != len(nb.cells):
        problems.append(f"{entry.id}: {len(cells)} labels for {len(nb.cells)} cells")
    if not data.get("labeler"):
        problems.append(f"{entry.id}: labeler missing")
    for lab, cell in zip(cells, nb.cells):
        where = f"{entry.id} cell {cell.index}"
        if lab.get("index") != cell.index:
            problems.append(f"{where}: index {lab.get('index')}")
        if lab.get("sha1") != cell_sha1(cell.source):
            problems.append(f"{where}: sha1 does not match the notebook")
        stage = norm_stage(lab.get("stage"))
        if stage not in STAGES:
            problems.append(f"{where}: stage {lab.get('stage')!r}")
        sec = norm_stage(lab.get("secondary"))
        if sec is not None and sec not in STAGES:
            problems.append(f"{where}: secondary {lab.get('secondary')!r}")
        if stage == "skip" and cell.source.strip():
            problems.append(f"{where}: skip is only for empty cells")
        if stage != "skip" and not cell.source.strip() and cell.kind == "code":
            problems.append(f"{where}: an empty cell is skip")
    return problems


def cmd_check(args: argparse.Namespace) -> None:
    entries = load_manifest()
    folder = SECOND if args.second else LABELS
    if args.ids:
        entries = [e for e in entries if e.id in args.ids]
    elif args.second:
        entries = [e for e in entries if (SECOND / f"{e.id}.json").exists()]
    problems = [p for e in entries for p in check_one(e, folder)]
    for p in problems:
        print(p)
    print(f"{len(entries)} notebooks checked, {len(problems)} problems")
    raise SystemExit(1 if problems else 0)


def cmd_second(args: argparse.Namespace) -> None:
    entry = next((e for e in load_manifest() if e.id == args.id), None)
    if entry is None:
        raise SystemExit(f"{args.id} is not in the manifest")
    out = SECOND / f"{entry.id}.json"
    if out.exists():
        raise SystemExit(f"{out} exists; edit it")
    data = skeleton(entry)
    data["labeler"] = args.labeler
    SECOND.mkdir(exist_ok=True)
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    print_cells(entry)


def cmd_agreement(args: argparse.Namespace) -> None:
    """Raw agreement and Cohen's kappa of the two labellings, over the non-empty code cells
    (what accuracy is measured on), with the disagreements by pair."""
    pairs: list[tuple[str, str]] = []
    per_nb = []
    absent = 0
    for e in load_manifest():
        f2 = SECOND / f"{e.id}.json"
        if not f2.exists():
            continue
        try:
            if check_one(e, SECOND) or check_one(e):
                continue
        except SystemExit:  # no snapshot of its repository here
            if not args.partial:
                raise
            absent += 1
            continue
        first = json.loads((LABELS / f"{e.id}.json").read_text(encoding="utf-8"))["cells"]
        second = json.loads(f2.read_text(encoding="utf-8"))["cells"]
        nb = read_notebook(materialize(e))
        mine = [(norm_stage(a["stage"]), norm_stage(b["stage"])) for a, b, c in zip(first, second, nb.cells)
                if c.kind == "code" and c.source.strip()]
        pairs.extend(mine)
        per_nb.append((e.id, sum(a == b for a, b in mine), len(mine)))
    if not pairs:
        raise SystemExit("no second labellings")
    n = len(pairs)
    agree = sum(a == b for a, b in pairs) / n
    stages = sorted({s for p in pairs for s in p})
    expected = sum((sum(a == s for a, _ in pairs) / n) * (sum(b == s for _, b in pairs) / n) for s in stages)
    kappa = (agree - expected) / (1 - expected)
    total = sum((LABELS / f"{e.id}.json").exists() for e in load_manifest())
    print(f"{len(per_nb)} of {total} notebooks labelled twice, {n} code cells: "
          f"agreement {agree:.3f}, Cohen's kappa {kappa:.3f}")
    if absent:
        print(f"partial: {absent} notebooks labelled twice were skipped (no snapshot of their repository here)")
    for nid, a, m in per_nb:
        print(f"  {nid:<40} {a:>4}/{m:<4} {a / m:.2f}")
    print("disagreements (first -> second):")
    for (a, b), k in Counter((a, b) for a, b in pairs if a != b).most_common():
        print(f"  {a:>13} -> {b:<13} {k}")


def cmd_materialize(args: argparse.Namespace) -> None:
    missing = []
    for e in load_manifest():
        try:
            materialize(e)
        except SystemExit as exc:
            missing.append(str(exc))
    for m in missing:
        print(m, file=sys.stderr)
    print(f"{len(load_manifest()) - len(missing)} notebooks in {NOTEBOOKS}")
    raise SystemExit(1 if missing else 0)


def cmd_stats(args: argparse.Namespace) -> None:
    entries = load_manifest()
    by_stage: dict[str, int] = {}
    code = 0
    labelled = 0
    for e in entries:
        f = LABELS / f"{e.id}.json"
        if not f.exists():
            continue
        data = json.loads(f.read_text(encoding="utf-8"))
        if any(c.get("stage") is None for c in data["cells"]):
            continue
        labelled += 1
        for c in data["cells"]:
            if c["cell_type"] == "code" and norm_stage(c["stage"]) != "skip":
                code += 1
                by_stage[norm_stage(c["stage"])] = by_stage.get(norm_stage(c["stage"]), 0) + 1
    kinds: dict[str, int] = {}
    for e in entries:
        for k in e.kinds:
            kinds[k] = kinds.get(k, 0) + 1
    print(f"notebooks {len(entries)} (labelled {labelled}), repositories {len({e.repo.lower() for e in entries})}, "
          f"labelled non-empty code cells {code}")
    print("by stage:", json.dumps(dict(sorted(by_stage.items()))))
    print("by kind:", json.dumps(dict(sorted(kinds.items()))))


def missing_repos() -> list[str]:
    """The manifest's repositories without a snapshot under the mirror, first use first."""
    seen: dict[str, None] = {}
    for e in load_manifest():
        seen.setdefault(e.repo, None)
    return [r for r in seen if not mirror_dir(r).exists()]


def cmd_missing(args: argparse.Namespace) -> None:
    repos = missing_repos()
    total = len(repos)
    if args.limit:
        repos = repos[:args.limit]
    if args.chunks:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        size = -(-len(repos) // args.chunks)
        for i in range(args.chunks):
            (out / f"fetch{i}.txt").write_text("".join(f"{r}\n" for r in repos[i * size:(i + 1) * size]),
                                              encoding="utf-8")
        print(f"{total} repositories without a snapshot; {len(repos)} written to {args.chunks} lists in {out}")
        return
    for r in repos:
        print(r)
    print(f"{total} repositories without a snapshot", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("add")
    a.add_argument("--id", required=True)
    a.add_argument("--repo", required=True)
    a.add_argument("--path", required=True)
    a.add_argument("--commit")
    a.add_argument("--kinds", default="")
    a.set_defaults(func=cmd_add)
    s = sub.add_parser("show")
    s.add_argument("id")
    s.set_defaults(func=lambda ns: print_cells(next(e for e in load_manifest() if e.id == ns.id)))
    c = sub.add_parser("check")
    c.add_argument("ids", nargs="*")
    c.add_argument("--second", action="store_true", help="check second/ instead of labels/")
    c.set_defaults(func=cmd_check)
    sc = sub.add_parser("second")
    sc.add_argument("id")
    sc.add_argument("--labeler", required=True)
    sc.set_defaults(func=cmd_second)
    ag = sub.add_parser("agreement")
    ag.add_argument("--partial", action="store_true",
                    help="skip the notebooks whose repository has no snapshot here (a fresh machine)")
    ag.set_defaults(func=cmd_agreement)
    m = sub.add_parser("materialize")
    m.set_defaults(func=cmd_materialize)
    st = sub.add_parser("stats")
    st.set_defaults(func=cmd_stats)
    mi = sub.add_parser("missing")
    mi.add_argument("--limit", type=int, default=0)
    mi.add_argument("--chunks", type=int, default=0)
    mi.add_argument("--out", default="fetch-lists")
    mi.set_defaults(func=cmd_missing)
    ns = ap.parse_args(argv)
    ns.func(ns)


if __name__ == "__main__":
    main()
