"""Round 6 label audit: blind re-labelling of the cells the written conventions are about.

The corpus was labelled by several people over five rounds; where LABELING.md left room, they
chose differently (data-prep vs featurization, displays of a model's predictions). The
conventions of round 6 (README.md, "Round 6 conventions") state the calls; this script lets an
auditor label the cells they cover again **without seeing the old labels or nbsplit's output**,
and then applies the audit and measures how often the old labels already agreed.

    python benchmarks/corpus/audit.py worklist [--parts N]   select the cells, deal notebooks to N parts
    python benchmarks/corpus/audit.py todo PART              the notebook ids of one part
    python benchmarks/corpus/audit.py show ID                print a notebook, audited cells marked
    python benchmarks/corpus/audit.py skeleton ID            write audit6/ID.json to fill in
    python benchmarks/corpus/audit.py check [ID ...]         validate filled audit files
    python benchmarks/corpus/audit.py apply                  write audited labels, log the changes

Which cells: every code cell labelled ``data-prep`` or ``featurization``, and every display-only
cell that shows a value made from a model's predictions (the ``shows_model:pred`` feature, a
fact about the code, not a classifier decision). The selection never looks at what the
classifier predicts, so the audit cannot favour the classifier's answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for p in (ROOT, ROOT / "benchmarks", HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import corpus  # noqa: E402

AUDIT = HERE / "audit6"
WORKLIST = AUDIT / "worklist.json"
CHANGES = AUDIT / "changes.jsonl"
STAGES = ("data-prep", "eda", "featurization", "training", "evaluation", "prediction", "monitoring",
          "setup", "skip")
RULES = ("P1", "P2", "P3", "P4", "F1", "F2", "F3", "F4", "F5", "F6", "M1", "E1", "E2", "E3", "none")


def _entries() -> dict[str, corpus.Entry]:
    return {e.id: e for e in corpus.load_manifest()}


def cmd_worklist(args: argparse.Namespace) -> None:
    from accuracy import load_items, rows_of  # needs the dev extra; only the selection does

    work: dict[str, list[int]] = {}
    for item in load_items():
        picked = {i for i, stage in item.labels.items() if stage in ("data-prep", "featurization")}
        picked |= {i for i, f in rows_of(item) if i in item.labels and "shows_model:pred" in f}
        if picked:
            work[item.id] = sorted(picked)
    # Whole notebooks per part, largest first to the lightest part: deterministic and balanced.
    parts: list[list[str]] = [[] for _ in range(args.parts)]
    load = [0] * args.parts
    for nid in sorted(work, key=lambda k: (-len(work[k]), k)):
        k = load.index(min(load))
        parts[k].append(nid)
        load[k] += len(work[nid])
    AUDIT.mkdir(exist_ok=True)
    WORKLIST.write_text(json.dumps({"cells": work, "parts": [sorted(p) for p in parts]}, indent=1) + "\n",
                        encoding="utf-8")
    print(f"{sum(map(len, work.values()))} cells in {len(work)} notebooks; parts: {load}")


def _worklist() -> dict:
    return json.loads(WORKLIST.read_text(encoding="utf-8"))


def cmd_todo(args: argparse.Namespace) -> None:
    wl = _worklist()
    for nid in wl["parts"][args.part]:
        done = (AUDIT / f"{nid}.json").exists()
        print(f"{nid}\t{len(wl['cells'][nid])} cells\t{'started' if done else ''}")


def cmd_show(args: argparse.Namespace) -> None:
    entry = _entries()[args.id]
    marked = set(_worklist()["cells"].get(args.id, ()))
    nb = corpus.read_notebook(corpus.materialize(entry))
    print(f"## {entry.id}: {entry.repo} {entry.path} ({len(nb.cells)} cells, {len(marked)} to audit)")
    for c in nb.cells:
        src = c.source if len(c.source) <= args.limit else (
            c.source[:args.limit] + f"\n... [{len(c.source) - args.limit} more chars]")
        mark = "  >>> AUDIT" if c.index in marked else ""
        lang = "" if c.language == "python" else ":" + c.language
        print(f"\n===== cell {c.index} [{c.kind}{lang}]{mark} =====")
        print(src)


def cmd_skeleton(args: argparse.Namespace) -> None:
    entry = _entries()[args.id]
    marked = set(_worklist()["cells"][args.id])
    nb = corpus.read_notebook(corpus.materialize(entry))
    out = AUDIT / f"{args.id}.json"
    if out.exists():
        raise SystemExit(f"{out} exists; edit it")
    cells = [{"index": c.index, "sha1": corpus.cell_sha1(c.source), "stage": None, "secondary": None,
              "rule": None, "note": ""} for c in nb.cells if c.index in marked]
    out.write_text(json.dumps({"id": args.id, "auditor": args.auditor, "cells": cells}, indent=1,
                              ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(cells)} cells)")


def _problems(nid: str) -> list[str]:
    path = AUDIT / f"{nid}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    nb = corpus.read_notebook(corpus.materialize(_entries()[nid]))
    sha = {c.index: corpus.cell_sha1(c.source) for c in nb.cells}
    want = set(_worklist()["cells"][nid])
    out = []
    got = {c["index"] for c in data["cells"]}
    if got != want:
        out.append(f"{nid}: cells {sorted(want ^ got)} missing or extra")
    for c in data["cells"]:
        if sha.get(c["index"]) != c["sha1"]:
            out.append(f"{nid}: cell {c['index']} sha1 does not match the notebook")
        if corpus.norm_stage(c["stage"]) not in STAGES:
            out.append(f"{nid}: cell {c['index']} stage {c['stage']!r}")
        if c.get("secondary") is not None and corpus.norm_stage(c["secondary"]) not in STAGES:
            out.append(f"{nid}: cell {c['index']} secondary {c['secondary']!r}")
        if c.get("rule") not in RULES:
            out.append(f"{nid}: cell {c['index']} rule {c.get('rule')!r} (one of {', '.join(RULES)})")
    return out


def cmd_check(args: argparse.Namespace) -> None:
    ids = args.ids or sorted(p.stem for p in AUDIT.glob("*.json") if p.name != "worklist.json")
    problems = [p for nid in ids for p in _problems(nid)]
    print("\n".join(problems) or f"{len(ids)} audit files ok")
    if problems:
        raise SystemExit(1)


def cmd_apply(args: argparse.Namespace) -> None:
    """Audited stage wins; every change is logged with the old label, so it can be reviewed or
    reverted, and the agreement of old labels with the audit is printed."""
    wl = _worklist()["cells"]
    agree: Counter[str] = Counter()
    total: Counter[str] = Counter()
    moves: Counter[tuple[str, str]] = Counter()
    changes = []
    for nid in sorted(wl):
        path = AUDIT / f"{nid}.json"
        if not path.exists():
            continue
        bad = _problems(nid)
        if bad:
            raise SystemExit("\n".join(bad))
        audit = {c["index"]: c for c in json.loads(path.read_text(encoding="utf-8"))["cells"]}
        label_path = corpus.LABELS / f"{nid}.json"
        labels = json.loads(label_path.read_text(encoding="utf-8"))
        for cell in labels["cells"]:
            a = audit.get(cell["index"])
            if a is None:
                continue
            old, new = corpus.norm_stage(cell["stage"]), corpus.norm_stage(a["stage"])
            kind = "display of predictions" if old not in ("data-prep", "featurization") else "data-prep/featurization"
            total[kind] += 1
            if old == new:
                agree[kind] += 1
                continue
            moves[(old, new)] += 1
            changes.append({"id": nid, "index": cell["index"], "old": old, "new": new, "rule": a["rule"],
                            "note": a.get("note", "")})
            cell["stage"] = new
            cell["secondary"] = corpus.norm_stage(a["secondary"]) if a.get("secondary") else None
            cell["note"] = f"audit round 6 ({a['rule']}): {a.get('note', '')}".strip()
        if not args.dry_run:
            label_path.write_text(json.dumps(labels, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if not args.dry_run:
        CHANGES.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in changes), encoding="utf-8")
    for kind in sorted(total):
        print(f"{kind}: {agree[kind]} of {total[kind]} old labels agree with the audit "
              f"({agree[kind] / total[kind]:.3f})")
    print(f"{len(changes)} cells change stage")
    for (old, new), n in moves.most_common():
        print(f"  {old:>13} -> {new:<13} {n}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worklist")
    w.add_argument("--parts", type=int, default=3)
    t = sub.add_parser("todo")
    t.add_argument("part", type=int)
    s = sub.add_parser("show")
    s.add_argument("id")
    s.add_argument("--limit", type=int, default=4000)
    k = sub.add_parser("skeleton")
    k.add_argument("id")
    k.add_argument("--auditor", required=True)
    c = sub.add_parser("check")
    c.add_argument("ids", nargs="*")
    a = sub.add_parser("apply")
    a.add_argument("--dry-run", action="store_true")
    args = ap.parse_args(argv)
    {"worklist": cmd_worklist, "todo": cmd_todo, "show": cmd_show, "skeleton": cmd_skeleton,
     "check": cmd_check, "apply": cmd_apply}[args.cmd](args)


if __name__ == "__main__":
    main()
