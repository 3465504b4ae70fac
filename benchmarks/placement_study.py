"""The placement's moves, measured without refitting: what the dataflow constraints do to the
classifier's stages on the grouped CV and the holdouts.

    python benchmarks/placement_study.py cache F.pickle [--holdouts r7,r8,r9]
                                                           # fit every CV fold and holdout once
                                                           # (--holdouts '': the folds alone);
                                                           # keep each held-out cell's
                                                           # classification (before placement);
                                                           # --partial: only the notebooks whose
                                                           # snapshots are here
    python benchmarks/placement_study.py eval F.pickle [--dump G.jsonl]
                                                           # plan every held-out notebook with the
                                                           # code as it is now; per fold/holdout
                                                           # right cells, the folds' macro-F1
                                                           # (through the plan and before it) and
                                                           # the moves by kind
    python benchmarks/placement_study.py eval F.pickle --gate 0.9 --tree-weight 0.6
                                                           # classify again with each fold's kept
                                                           # weights and the trees' gate / blend
                                                           # weight changed (~3 min), then plan

Why: the fit does not depend on the placement (the fitted layer's features are the rule layer's,
before any dataflow move), so a change to the placement (``classify.placement``, the dataflow's
costs and edges) can be scored on the classifications of the folds' fits, in a minute, instead of
refitting every fold. The cache also keeps each fold's fitted weights, so what inference does with
them (the trees' gate and blend weight) is scored the same way: the features and the fit are
unchanged, only the classification is run again. ``accuracy.py`` remains the figure of record:
its per-fold numbers equal ``eval``'s when the classifier itself is unchanged.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import accuracy as acc  # noqa: E402
from nbsplit.classify import classify_notebook, learned  # noqa: E402
from nbsplit.config import Config  # noqa: E402
from nbsplit.plan import build_plan  # noqa: E402

HOLDOUTS = ("r7", "r8", "r9")


def cache(path: Path, holdouts: tuple[str, ...] = HOLDOUTS, partial: bool = False) -> None:
    items = acc.load_items(partial=partial)
    rows = {k: acc.rows_of(it) for k, it in enumerate(items)}
    groups: dict[str, list[tuple[int, tuple]]] = {}
    weights: dict[str, dict[str, Any]] = {}
    for n, fold in enumerate(acc.folds(items)):
        held = set(fold)
        weights[f"fold{n + 1}"] = acc.fit(acc.training_set(items, rows, lambda k: k not in held))
        groups[f"fold{n + 1}"] = _classify(items, sorted(held), weights[f"fold{n + 1}"])
        print(f"fold {n + 1} cached", flush=True)
    for prefix in holdouts:
        held = [k for k, it in enumerate(items) if it.id.startswith(prefix)]
        repos = {items[k].repo for k in held}
        weights[prefix] = acc.fit(acc.training_set(
            items, rows, lambda k: not items[k].id.startswith(prefix) and items[k].repo not in repos))
        groups[prefix] = _classify(items, held, weights[prefix])
        print(f"holdout {prefix} cached", flush=True)
    path.write_bytes(pickle.dumps({"items": items, "groups": groups, "weights": weights}))


def _classify(items: Sequence[acc.Item], keys: Sequence[int], weights: dict[str, Any] | None,
              ) -> list[tuple[int, tuple]]:
    learned.use_weights(weights)
    try:
        return [(k, classify_notebook(items[k].nb, items[k].facts, Config())[0]) for k in keys]
    finally:
        learned.use_weights(None)


def reclassify(data: dict[str, Any], gate: float | None, weight: float | None) -> None:
    """Classify every cached group again with its kept weights, the trees' gate / blend weight
    replaced where given (in place)."""
    if "weights" not in data:
        raise SystemExit("this cache keeps no weights (written before they were kept): run `cache` again")
    for name, members in data["groups"].items():
        w = data["weights"][name]
        trees = {**w["trees"], **({"gate": gate} if gate is not None else {}),
                 **({"weight": weight} if weight is not None else {})}
        data["groups"][name] = _classify(data["items"], [k for k, _ in members], {**w, "trees": trees})


def evaluate(path: Path, dump: Path | None, gate: float | None = None,
             weight: float | None = None) -> dict[str, int]:
    data = pickle.loads(path.read_bytes())
    if gate is not None or weight is not None:
        reclassify(data, gate, weight)
    items, groups = data["items"], data["groups"]
    rights: dict[str, int] = {}
    moves: Counter = Counter()
    out = []
    for name, members in groups.items():
        right = 0
        for k, classes in members:
            it = items[k]
            plan = build_plan(it.nb, it.facts, classes, ())
            final = {c.index: c for c in plan.classifications}
            for i, lab in it.labels.items():
                pre, post = classes[i].stage.value, final[i].stage.value
                right += lab == post
                how = plan.moves.get(i, "") if pre != post else ""
                if how:
                    moves[(name.startswith("fold"), how, "before" if lab == pre else "after" if lab == post
                           else "neither")] += 1
                out.append([name, it.id, i, lab, pre, post, how, final[i].reasons[-1] if how else ""])
        rights[name] = right
    cv = [rights[g] for g in groups if g.startswith("fold")]
    macro = acc.macro_f1([(r[3], r[5]) for r in out if r[0].startswith("fold")])
    before = [(r[3], r[4]) for r in out if r[0].startswith("fold")]
    print("folds " + " ".join(str(r) for r in cv) + f"  total {sum(cv)}  macro-F1 {macro:.4f}  holdouts " +
          " ".join(f"{h} {r}" for h, r in rights.items() if not h.startswith("fold")))
    print(f"  before the plan: folds right {sum(lab == pre for lab, pre in before)}  macro-F1 {acc.macro_f1(before):.4f}")
    for how in ("forward", "back", "eda"):
        b, a, n = (moves[(True, how, x)] for x in ("before", "after", "neither"))
        print(f"  CV {how:<8} moved {b + a + n:>4}: right before {b:>4}, right after {a:>4}")
    if dump:
        dump.write_text("".join(json.dumps(r) + "\n" for r in out), encoding="utf-8")
    return rights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("cache", "eval"))
    ap.add_argument("path", type=Path)
    ap.add_argument("--dump", type=Path)
    ap.add_argument("--holdouts", default=",".join(HOLDOUTS),
                    help="cache: comma-separated id prefixes fitted without their rounds ('' for none)")
    ap.add_argument("--gate", type=float, help="eval: the trees' gate (the shipped value: accuracy.TREE_GATE)")
    ap.add_argument("--tree-weight", type=float, help="eval: the trees' blend weight (accuracy.TREE_WEIGHT)")
    ap.add_argument("--partial", action="store_true",
                    help="cache: only the notebooks whose snapshots are here (folds over those: for "
                         "comparing placements on a machine without the whole corpus, not a record)")
    ns = ap.parse_args()
    if ns.command == "cache":
        cache(ns.path, tuple(h for h in ns.holdouts.split(",") if h), ns.partial)
    else:
        evaluate(ns.path, ns.dump, ns.gate, ns.tree_weight)


if __name__ == "__main__":
    main()
