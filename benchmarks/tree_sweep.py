"""How much the boosted-trees pass adds per cell, for several tree settings, on the grouped CV.

    python benchmarks/tree_sweep.py                       # the shipped setting and three others
    python benchmarks/tree_sweep.py 100x15@0.2 200x31@0.1 # rounds x leaves @ learning rate

Per cell before placement (the plan's dataflow moves are left out, so settings compare on the
classifier alone): for each of ``accuracy.py``'s five folds by repository, both logistic passes
are fitted once (``accuracy.fit_logistic``, inner folds included), then trees of every setting on
the second pass's rows; each held-out cell is scored by the second pass alone, by the trees alone
and by the blend at the shipped gate and weight. Prints a table of right cells and macro-F1.
Needs the ``dev`` extra and the corpus snapshots (see benchmarks/corpus/README.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "benchmarks"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import accuracy  # noqa: E402
from nbsplit.classify import boosted, learned  # noqa: E402

DEFAULT = ("60x15@0.2", f"{accuracy.TREE_ROUNDS}x{accuracy.TREE_LEAVES}@{accuracy.TREE_RATE}",
           "100x31@0.15", "200x31@0.1")


def _setting(text: str) -> tuple[int, int, float]:
    size, _, rate = text.partition("@")
    rounds, _, leaves = size.partition("x")
    return int(rounds), int(leaves), float(rate)


def _top(probs: dict[str, float]) -> str:
    return max(sorted(probs), key=lambda c: probs[c])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("settings", nargs="*", default=list(DEFAULT), help="ROUNDSxLEAVES@RATE")
    ns = ap.parse_args(argv)
    settings = [_setting(s) for s in ns.settings]
    items = accuracy.load_items()
    rows = {k: accuracy.rows_of(it) for k, it in enumerate(items)}
    scored: dict[str, list[tuple[str, str]]] = {}
    per_fold: dict[str, list[int]] = {}
    for fold in accuracy.folds(items):
        held = set(fold)
        train = accuracy.training_set(items, rows, lambda k: k not in held)
        weights, second_rows = accuracy.fit_logistic(train)
        tests = []
        for k in sorted(held):
            feats = [f for _, f in rows[k]]
            p1 = [{s.value: p for s, p in learned.predict(f, weights)} for f in feats]
            for pos, (i, f) in enumerate(rows[k]):
                if i in items[k].labels:
                    both = {**f, **learned.stack_features(p1, pos)}
                    p2 = {s.value: p for s, p in learned.predict(both, weights["stack"])}
                    tests.append((items[k].labels[i], both, p2))
        _count(scored, per_fold, "second pass", [(lab, _top(p2)) for lab, _, p2 in tests])
        for rounds, leaves, rate in settings:
            accuracy.TREE_ROUNDS, accuracy.TREE_LEAVES, accuracy.TREE_RATE = rounds, leaves, rate
            trees = boosted.load(accuracy.fit_trees(second_rows))
            name = f"{rounds} x {leaves} @ {rate}"
            _count(scored, per_fold, f"{name}: trees alone",
                   [(lab, _top(boosted.probabilities(both, trees))) for lab, both, _ in tests])
            _count(scored, per_fold, f"{name}: blend",
                   [(lab, _top(boosted.blend(p2, both, trees))) for lab, both, p2 in tests])
        print(f"fold done ({len(tests)} cells)", file=sys.stderr, flush=True)
    base = per_fold["second pass"]
    print(f"\nper cell before placement, {sum(len(it.labels) for it in items)} cells, "
          f"gate {accuracy.TREE_GATE}, weight {accuracy.TREE_WEIGHT}")
    print(f"{'scorer':<32} {'right':>7} {'macro-F1':>9}  per fold vs the second pass")
    for name, pairs in scored.items():
        delta = " ".join(f"{a - b:+d}" for a, b in zip(per_fold[name], base))
        print(f"{name:<32} {sum(y == p for y, p in pairs):>7} {accuracy.macro_f1(pairs):>9.4f}  {delta}")


def _count(scored: dict[str, list[tuple[str, str]]], per_fold: dict[str, list[int]], name: str,
           pairs: list[tuple[str, str]]) -> None:
    scored.setdefault(name, []).extend(pairs)
    per_fold.setdefault(name, []).append(sum(y == p for y, p in pairs))


if __name__ == "__main__":
    main()
