"""Classifier accuracy on the labelled corpus, by grouped cross-validation (folds by repository).

    python benchmarks/accuracy.py                 # rules alone and fitted weights, grouped 5-fold CV
    python benchmarks/accuracy.py --write-weights # also fit on the whole corpus and write the
                                                  # shipped nbsplit/classify/weights.json and
                                                  # trees.json
    python benchmarks/accuracy.py --no-trees      # the logistic passes without the boosted trees
    python benchmarks/accuracy.py --misses 40     # print the first misses of the CV run
    python benchmarks/accuracy.py --dump F.jsonl  # every CV cell's label and stage, to diff runs
    python benchmarks/accuracy.py --ceiling       # the labels themselves as tags, placed by the
                                                  # plan: the most any valid plan can score
    python benchmarks/accuracy.py --partial       # only the notebooks whose snapshots are here
    python benchmarks/accuracy.py --exclude r22   # leave out the notebooks whose id starts with r22
    python benchmarks/accuracy.py --holdout r7    # fit on every notebook whose id does not start
                                                  # with r7, score the ones that do (a new batch
                                                  # labelled after the fit: a true held-out test)
    python benchmarks/accuracy.py --shipped r44   # score the notebooks whose id starts with r44
                                                  # with the shipped weights, no fitting: needs
                                                  # only their snapshots (a fresh machine), and
                                                  # refuses any notebook the weights were fitted on
    python benchmarks/accuracy.py --fold-seed 1   # the same CV over another draw of balanced
                                                  # folds (repositories dealt in a seeded order):
                                                  # how far the draw alone moves the figure

What is scored: the stage ``nbsplit plan`` finally gives each non-empty code cell (after the
dataflow's moves) against the labels in benchmarks/corpus/labels. The fitted model of every fold
never saw a notebook of the held-out repositories. Needs the ``dev`` extra (scikit-learn,
LightGBM) and the repository snapshots the corpus manifest names (see benchmarks/corpus/README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "corpus"))

import corpus  # noqa: E402
from nbsplit.analyze import analyze_notebook  # noqa: E402
from nbsplit.classify import classify_notebook, fitted, learned  # noqa: E402
from nbsplit.config import Config  # noqa: E402
from nbsplit.model import Notebook  # noqa: E402
from nbsplit.plan import build_plan  # noqa: E402
from nbsplit.read import read_notebook  # noqa: E402

CLASSES = ("data-prep", "eda", "featurization", "training", "evaluation", "prediction", "monitoring", "setup")
WEIGHTS = ROOT / "nbsplit" / "classify" / "weights.json"
TREES = ROOT / "nbsplit" / "classify" / "trees.json"
FOLDS = 5
C = 0.5  # fixed before looking at CV results; regularisation for ~100 sparse features


@dataclass
class Item:
    id: str
    repo: str
    nb: Notebook
    facts: list
    labels: dict[int, str]  # code cell index -> label (non-empty code cells only)


# repositories of labelled notebooks that could not be materialised (no snapshot on this machine)
MISSING: list[str] = []
# --write-weights --partial: the share of labelled notebooks that may be missing
MAX_MISSING_FOR_WEIGHTS = 0.01


def load_items(partial: bool = False, only: tuple[str, ...] = ()) -> list[Item]:
    """Every labelled notebook (``only``: those whose id starts with one of these prefixes).
    ``partial``: skip the ones whose repository has no snapshot here (recorded in ``MISSING``)
    instead of stopping: a fresh machine's fetch can bring only part of the corpus's repositories
    in one session; figures on a part are for comparing experiments on the same part, never for
    the shipped weights."""
    items = []
    for e in corpus.load_manifest():
        if only and not e.id.startswith(only):
            continue
        lf = corpus.LABELS / f"{e.id}.json"
        if not lf.exists():
            continue
        data = json.loads(lf.read_text(encoding="utf-8"))
        if any(c.get("stage") is None for c in data["cells"]):
            continue
        try:
            local = corpus.materialize(e)
        except SystemExit:
            if not partial:
                raise
            MISSING.append(e.repo)
            continue
        # the notebook's own file name (the materialised copy is named by our id, which says what
        # the labeller saw)
        nb = replace(read_notebook(local), path=Path(e.path))
        labels = {}
        for lab, cell in zip(data["cells"], nb.cells):
            stage = corpus.norm_stage(lab["stage"])
            if cell.kind == "code" and stage != "skip" and cell.source.strip():
                labels[cell.index] = stage
        items.append(Item(e.id, e.repo.lower(), nb, list(analyze_notebook(nb)), labels))
    return items


def plan_stages(item: Item, moved: list[tuple[str, str, str, str]] | None = None
                ) -> tuple[dict[int, str], dict[int, float]]:
    """The plan's stage and confidence per cell; ``moved`` collects (how, label, classifier's
    stage, plan's stage) for every labelled cell the dataflow constraints moved."""
    classes, diags = classify_notebook(item.nb, item.facts, Config())
    plan = build_plan(item.nb, item.facts, classes, diags)
    final = {c.index: c.stage.value for c in plan.classifications}
    if moved is not None:
        for c in classes:
            if c.index in item.labels and final[c.index] != c.stage.value:
                moved.append((plan.moves.get(c.index, "?"), item.labels[c.index], c.stage.value, final[c.index]))
    return final, {c.index: c.confidence for c in plan.classifications}


def rows_of(item: Item) -> list[tuple[int, dict[str, float]]]:
    """The features of every code cell the fitted layer scores, in notebook order, labelled or
    not (the second pass reads the neighbours of a labelled cell, whatever they are)."""
    learned.use_weights(None, disabled=True)
    learned.capture = []
    try:
        classify_notebook(item.nb, item.facts, Config())
        return [(i, f) for _, i, f, _ in learned.capture]
    finally:
        learned.capture = None
        learned.use_weights(None)


# one notebook for fitting: its repository and, per scored cell in order, (features, label or None)
Fitted = tuple[str, list[tuple[dict[str, float], str | None]]]


def training_set(items: Sequence[Item], rows: dict[int, list[tuple[int, dict[str, float]]]],
                 keep: Callable[[int], bool] = lambda k: True) -> list[Fitted]:
    return [(it.repo, [(f, it.labels.get(i)) for i, f in rows[k]]) for k, it in enumerate(items) if keep(k)]


MIN_REPOS = 3  # a feature seen in fewer repositories is a notebook's quirk, not a pattern
# The words of string literals (``str:``) are mostly one project's file and column names: kept
# from 3 repositories they were 3x the fit's time for fewer right cells than from 15 (corpus README).
# Attribute names (``attr:``) are as open a vocabulary (a project's own classes' fields): the same rule.
MIN_REPOS_STRING_WORDS = 15


STACK_FOLDS = 4  # inner folds (by repository) for the first pass's out-of-fold probabilities


def fit(notebooks: Sequence[Fitted]) -> dict[str, Any]:
    """The fitted layer: both logistic passes (``fit_logistic``) and, unless ``--no-trees``, the
    boosted trees on the second pass's rows."""
    weights, rows = fit_logistic(notebooks)
    if WITH_TREES:
        weights["trees"] = fit_trees(rows)
    return weights


def fit_logistic(notebooks: Sequence[Fitted]) -> tuple[dict[str, Any], list[tuple[dict[str, float], str, str]]]:
    """Both logistic passes, and the rows the second was fitted on. The first model is fitted on
    every labelled cell. The second (``weights["stack"]``) on the same features plus the first
    pass's probabilities around each cell (``learned.stack_features``), and those probabilities
    come from first models that never saw the cell's repository (inner folds by repository):
    fitted on probabilities of cells it had seen, the second pass would learn to trust the first
    far more than it should on a stranger's notebook."""
    first = fit_linear([(f, lab, repo) for repo, cells in notebooks for f, lab in cells if lab])
    repos = sorted({repo for repo, _ in notebooks}, key=lambda r: hashlib.sha1(r.encode()).hexdigest())
    inner_fold = {repo: k % STACK_FOLDS for k, repo in enumerate(repos)}
    probs: list[list[dict[str, float]]] = [[] for _ in notebooks]
    for k in range(STACK_FOLDS):
        inner = fit_linear([(f, lab, repo) for repo, cells in notebooks if inner_fold[repo] != k
                            for f, lab in cells if lab])
        for n, (repo, cells) in enumerate(notebooks):
            if inner_fold[repo] == k:
                probs[n] = [{s.value: p for s, p in learned.predict(f, inner)} for f, _ in cells]
    rows = [({**f, **learned.stack_features(probs[n], pos)}, lab, repo)
            for n, (repo, cells) in enumerate(notebooks) for pos, (f, lab) in enumerate(cells) if lab]
    second = fit_linear(rows)
    first["stack"] = {key: second[key] for key in ("classes", "intercept", "weights")}
    return first, rows


# Boosted trees over the second pass's rows (``nbsplit.classify.boosted``). Chosen on the CV of
# 1,298 notebooks per cell before placement (``benchmarks/tree_sweep.py``; corpus README,
# "Boosted trees as a third pass"): 100 rounds of 31 leaves gain as much as 200 x 31 at half the
# nodes, and more than 15 leaves on four folds of five.
TREE_ROUNDS = 100
TREE_LEAVES = 31
TREE_RATE = 0.15
TREE_GATE = 0.8  # blend only where the second pass's best stage is below this
TREE_WEIGHT = 0.5
WITH_TREES = True  # --no-trees: the two logistic passes alone, to measure what the trees add


def fit_trees(rows: Sequence[tuple[dict[str, float], str, str]]) -> dict[str, Any]:
    """LightGBM's multiclass trees on the same rows, features and repository filter as the
    logistic passes, exported to ``trees.json``'s form. Deterministic: one seed, row-wise
    histograms, two threads. Fitted on doubles, as inference reads them: a split LightGBM puts at
    a value it saw (0.558) is then that double, not the float32 just below it."""
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer

    keep = _kept_features(rows)
    vec = DictVectorizer(sparse=True, dtype=np.float64)
    x = vec.fit_transform([{k: v for k, v in f.items() if k in keep} for f, *_ in rows]).tocsr()
    classes = sorted({lab for _, lab, _ in rows})
    y = np.array([classes.index(lab) for _, lab, _ in rows])
    model = tree_model().fit(x, y)
    return export_trees(model.booster_.dump_model(), [str(n) for n in vec.get_feature_names_out()], classes)


def tree_model() -> Any:
    """The unfitted LightGBM classifier ``fit_trees`` fits (the settings above)."""
    import lightgbm

    return lightgbm.LGBMClassifier(
        n_estimators=TREE_ROUNDS, num_leaves=TREE_LEAVES, learning_rate=TREE_RATE, min_child_samples=20,
        colsample_bytree=0.5, subsample=0.8, subsample_freq=1, reg_lambda=1.0, random_state=0,
        deterministic=True, force_row_wise=True, n_jobs=2, verbose=-1)


def export_trees(dumped: dict[str, Any], names: Sequence[str], classes: Sequence[str]) -> dict[str, Any]:
    """A LightGBM ``dump_model()`` as flat lists per tree over the names the splits use."""
    used: dict[str, int] = {}
    trees = []
    for info in dumped["tree_info"]:
        feat: list[int] = []
        thr: list[float] = []
        left: list[int] = []
        right: list[int] = []
        leaf: list[float] = []

        def walk(node: dict[str, Any]) -> int:
            if "split_index" not in node:
                leaf.append(float(node["leaf_value"]))
                return ~(len(leaf) - 1)
            if node["decision_type"] != "<=" or node.get("missing_type") not in (None, "None"):
                raise ValueError(f"unsupported split {node['decision_type']} / {node.get('missing_type')}")
            k = len(feat)
            feat.append(used.setdefault(names[node["split_feature"]], len(used)))
            thr.append(float(node["threshold"]))
            left.append(0)
            right.append(0)
            left[k] = walk(node["left_child"])
            right[k] = walk(node["right_child"])
            return k

        walk(info["tree_structure"])
        trees.append([feat, thr, left, right, leaf])
    return {"feature_version": learned.FEATURE_VERSION, "classes": list(classes),
            "per_round": dumped["num_tree_per_iteration"], "gate": TREE_GATE, "weight": TREE_WEIGHT,
            "features": list(used), "trees": trees}


def fit_linear(rows: Sequence[tuple[dict[str, float], str, str]]) -> dict[str, Any]:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    keep = _kept_features(rows)
    vec = DictVectorizer(sparse=True)
    x = vec.fit_transform([{k: v for k, v in f.items() if k in keep} for f, *_ in rows])
    y = [lab for _, lab, _ in rows]
    model = LogisticRegression(C=C, max_iter=5000)
    model.fit(x, y)
    names = vec.get_feature_names_out()
    table = {}
    for j, name in enumerate(names):
        col = [round(float(model.coef_[k][j]), 4) for k in range(len(model.classes_))]
        if max(abs(w) for w in col) >= 1e-3:
            table[str(name)] = col
    return {"feature_version": learned.FEATURE_VERSION, "classes": [str(c) for c in model.classes_],
            "intercept": [round(float(b), 4) for b in model.intercept_],
            "weights": dict(sorted(table.items())), "fitted_on": len(rows)}


def _kept_features(rows: Sequence[tuple[dict[str, float], str, str]]) -> set[str]:
    seen: dict[str, set[str]] = defaultdict(set)
    for f, _, repo in rows:
        for name in f:
            seen[name].add(repo)
    return {name for name, repos in seen.items()
            if len(repos) >= (MIN_REPOS_STRING_WORDS if name.startswith(("str:", "attr:")) else MIN_REPOS)}


def folds(items: Sequence[Item], seed: int | None = None) -> list[list[int]]:
    """Repositories dealt to folds, each to the emptiest fold: by size, largest first (the figure
    of record), or with ``seed`` in a seeded random order, a different draw of balanced folds.

    The size order re-deals many repositories whenever notebooks join, so two refits differ by
    the draw as well as by the data; scoring the same corpus under a few seeds measures how much
    of a difference the draw alone makes."""
    by_repo: dict[str, list[int]] = defaultdict(list)
    for k, it in enumerate(items):
        by_repo[it.repo].append(k)
    cells = {repo: sum(len(items[k].labels) for k in ks) for repo, ks in by_repo.items()}
    out: list[list[int]] = [[] for _ in range(FOLDS)]
    sizes = [0] * FOLDS
    if seed is None:
        order = sorted(by_repo, key=lambda repo: (-cells[repo], repo))
    else:
        order = sorted(by_repo)
        random.Random(seed).shuffle(order)
    for repo in order:
        f = sizes.index(min(sizes))
        out[f].extend(by_repo[repo])
        sizes[f] += cells[repo]
    return out


def report(name: str, pairs: list[tuple[str, str, float, str, int]]) -> dict[str, float]:
    n = len(pairs)
    acc = sum(g == p for g, p, *_ in pairs) / n
    f1s = {}
    print(f"\n## {name}: {n} code cells, {len({p[3] for p in pairs})} notebooks")
    print(f"{'stage':<14}{'support':>8}{'prec':>7}{'recall':>7}{'F1':>7}")
    for c in CLASSES:
        sup, prec, rec, f1s[c] = _scores(pairs, c)
        print(f"{c:<14}{sup:>8}{prec:>7.2f}{rec:>7.2f}{f1s[c]:>7.2f}")
    # A stage nobody labelled and nbsplit never gave (monitoring in a batch of Kaggle notebooks)
    # has no F1 at all: averaging it in as 0 would report 7/8 of the true macro-F1.
    seen = {g for g, *_ in pairs} | {p for _, p, *_ in pairs}
    macro = sum(f for c, f in f1s.items() if c in seen) / len(seen & set(CLASSES))
    missing = [c for c in CLASSES if c not in seen]
    print(f"accuracy {acc:.3f}   macro-F1 {macro:.3f}" + (f" (over the stages present; none: {', '.join(missing)})"
                                                           if missing else ""))
    return {"accuracy": acc, "macro_f1": macro}


def macro_f1(pairs: Sequence[tuple[Any, ...]]) -> float:
    """Macro-F1 over every stage (the studies' figure; ``report`` averages the stages present,
    which on the whole corpus is every stage)."""
    return sum(_scores(pairs, c)[3] for c in CLASSES) / len(CLASSES)


def _scores(pairs: Sequence[tuple[Any, ...]], c: str) -> tuple[int, float, float, float]:
    """Support, precision, recall and F1 of stage ``c`` over (label, stage, ...) tuples."""
    tp = sum(g == c and p == c for g, p, *_ in pairs)
    sup = sum(g == c for g, *_ in pairs)
    pred = sum(p == c for _, p, *_ in pairs)
    prec = tp / pred if pred else 0.0
    rec = tp / sup if sup else 0.0
    return sup, prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)


def confusion(pairs: list[tuple[str, str, float, str, int]]) -> None:
    short = {c: c[:5] for c in CLASSES}
    print("\nconfusion (rows: label, columns: nbsplit)")
    print(f"{'':<14}" + "".join(f"{short[c]:>7}" for c in CLASSES))
    counts = Counter((g, p) for g, p, *_ in pairs)
    for g in CLASSES:
        print(f"{g:<14}" + "".join(f"{counts[(g, p)]:>7}" for p in CLASSES))


def calibration(pairs: list[tuple[str, str, float, str, int]]) -> None:
    print("\ncalibration (confidence bucket: cells, right)")
    edges = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01]
    for lo, hi in zip(edges, edges[1:]):
        sel = [g == p for g, p, conf, *_ in pairs if lo <= conf < hi]
        if sel:
            print(f"  {lo:.1f}-{min(hi, 1.0):.1f}: {len(sel):>5} cells, {sum(sel) / len(sel):.3f} right")


def placement(moved: list[tuple[str, str, str, str]], n: int) -> None:
    """What the dataflow constraints did to the classifier's stages, by kind of move: a move
    that turns right cells wrong costs accuracy (often a label no valid plan can satisfy)."""
    print(f"\nplacement: {len(moved)} of {n} labelled cells moved by the dataflow constraints")
    print(f"{'move':<24}{'cells':>6}{'right before':>14}{'right after':>13}")
    for how in sorted({m[0] for m in moved}):
        sel = [m for m in moved if m[0] == how]
        print(f"{how:<24}{len(sel):>6}{sum(g == pre for _, g, pre, _ in sel):>14}"
              f"{sum(g == post for _, g, _, post in sel):>13}")


def thresholds(pairs: list[tuple[str, str, float, str, int]]) -> None:
    """What each --threshold would flag as uncertain, and how often those cells are right."""
    print("\nthreshold (cells below it are reported uncertain)")
    print(f"{'threshold':>10}{'flagged':>9}{'flagged right':>15}{'others right':>14}")
    for t in (0.5, 0.6, 0.7, 0.8):
        low = [g == p for g, p, conf, *_ in pairs if conf < t]
        high = [g == p for g, p, conf, *_ in pairs if conf >= t]
        share = len(low) / len(pairs)
        print(f"{t:>10.1f}{share:>9.1%}{(sum(low) / len(low) if low else 0):>15.3f}"
              f"{(sum(high) / len(high) if high else 0):>14.3f}")


def rules_alone(items: Sequence[Item]) -> list[tuple[str, str, float, str, int]]:
    """Every labelled cell's plan stage with the fitted layer switched off."""
    learned.use_weights(None, disabled=True)
    try:
        out = []
        for it in items:
            stages, conf = plan_stages(it)
            out.extend((lab, stages[i], conf[i], it.id, i) for i, lab in it.labels.items())
        return out
    finally:
        learned.use_weights(None)


def ceiling(items: Sequence[Item]) -> None:
    """Every labelled cell tagged with its label, then planned: the cells the plan still moves
    are labels no valid plan satisfies together (a data-prep ``fillna`` reading the split, an
    eda cell whose value training uses), so this is the most any classifier can score here."""
    from dataclasses import replace

    pairs = []
    moved: list[tuple[str, str, str, str]] = []
    for it in items:
        tagged = replace(it.nb, cells=tuple(
            replace(c, tags=c.tags + (f"nbsplit:{it.labels[c.index]}",)) if c.index in it.labels else c
            for c in it.nb.cells))
        stages, conf = plan_stages(Item(it.id, it.repo, tagged, it.facts, it.labels), moved)
        pairs.extend((lab, stages[i], conf[i], it.id, i) for i, lab in it.labels.items())
    report("the labels as tags, placed by the plan (the ceiling)", pairs)
    confusion(pairs)
    placement(moved, len(pairs))


def holdout(items: Sequence[Item], prefixes: tuple[str, ...]) -> list[tuple[str, str, float, str, int]]:
    """Fit on every notebook outside ``prefixes`` (as ``--write-weights`` would) and score the
    notebooks inside: none of them, nor any notebook of their repositories, reached the fit."""
    held = [it for it in items if it.id.startswith(prefixes)]
    repos = {it.repo for it in held}
    train_items = [it for it in items if not it.id.startswith(prefixes) and it.repo not in repos]
    print(f"held out: {len(held)} notebooks ({sum(len(it.labels) for it in held)} code cells) from "
          f"{len(repos)} repositories; fitted on {len(train_items)} notebooks")
    report("rules alone, held-out batch", rules_alone(held))
    learned.use_weights(fit(training_set(train_items, {k: rows_of(it) for k, it in enumerate(train_items)})))
    try:
        return score_held(held, "fitted weights, held-out batch")
    finally:
        learned.use_weights(None)


def fitted_ids() -> tuple[str, set[str], set[str]]:
    """The commit that last wrote the shipped weights, and the ids and repositories (lower case)
    of the manifest at that commit: the notebooks those weights were fitted on."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True,
                              text=True).stdout
    try:
        rev = git("log", "-1", "--format=%H", "--", str(WEIGHTS.relative_to(ROOT))).strip()
        manifest = git("show", f"{rev}:benchmarks/corpus/manifest.jsonl")
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"--shipped needs the git history of {WEIGHTS.relative_to(ROOT)}: {exc}")
    entries = [json.loads(line) for line in manifest.splitlines() if line.strip()]
    return rev, {e["id"] for e in entries}, {e["repo"].lower() for e in entries}


def shipped(prefixes: tuple[str, ...]) -> list[tuple[str, str, float, str, int]]:
    """Score the notebooks inside ``prefixes`` with the weights the package ships: a held-out test
    only if none of them, nor any notebook of their repositories, was in the corpus the weights
    were fitted on, which is checked (before any snapshot is read) against the manifest of the
    commit that wrote them."""
    chosen = [e for e in corpus.load_manifest() if e.id.startswith(prefixes)]
    if not chosen:
        sys.exit(f"--shipped {','.join(prefixes)}: no notebook of the manifest has such an id")
    rev, ids, repos = fitted_ids()
    seen = [e.id for e in chosen if e.id in ids or e.repo.lower() in repos]
    if seen:
        sys.exit(f"--shipped: the weights written at {rev[:10]} were fitted on {len(seen)} of these "
                 f"notebooks or their repositories ({', '.join(seen[:3])}{', ...' if len(seen) > 3 else ''}); "
                 f"use --holdout")
    held = load_items(only=prefixes)
    print(f"held out: {len(held)} notebooks ({sum(len(it.labels) for it in held)} code cells) from "
          f"{len({it.repo for it in held})} repositories; shipped weights written at {rev[:10]}, "
          f"fitted on {len(ids)} notebooks")
    report("rules alone, held-out batch", rules_alone(held))
    return score_held(held, "shipped weights, held-out batch")


def score_held(held: Sequence[Item], name: str) -> list[tuple[str, str, float, str, int]]:
    """Score ``held`` with the weights in use and print the held-out report."""
    scored = []
    moved: list[tuple[str, str, str, str]] = []
    for it in held:
        stages, conf = plan_stages(it, moved)
        scored.extend((lab, stages[i], conf[i], it.id, i) for i, lab in it.labels.items())
    report(name, scored)
    confusion(scored)
    calibration(scored)
    placement(moved, len(scored))
    by_format(held, scored)
    # Several rounds are often held out together (fitted once on the rounds before them): each
    # batch (the id up to its first "-", e.g. r31a) gets its own line; macro-F1 over its stages.
    print("\nper batch (right/cells, accuracy, macro-F1 over the stages its labels use)")
    for batch in sorted({it.id.split("-")[0] for it in held}):
        mine = [x for x in scored if x[3].split("-")[0] == batch]
        present = {g for g, *_ in mine}
        f1 = [_scores(mine, c)[3] for c in CLASSES if c in present]
        right = sum(g == p for g, p, *_ in mine)
        print(f"  {batch:<8} {right:>5}/{len(mine):<5} {right / len(mine):.3f}  {sum(f1) / len(f1):.3f}")
    print("\nper notebook (right/cells)")
    for it in held:
        mine = [g == p for g, p, _, nid, _ in scored if nid == it.id]
        print(f"  {it.id:<40} {sum(mine):>4}/{len(mine):<4} {sum(mine) / max(len(mine), 1):.2f}")
    return scored


def by_format(items: Sequence[Item], pairs: Sequence[tuple[str, str, float, str, int]]) -> None:
    """One line per notebook format (``.ipynb``, Databricks source, percent script): the kinds
    of notebook a user converts differ, and a weak one hides in the corpus-wide figure."""
    fmt = {it.id: it.nb.format for it in items}
    print("\nby notebook format (notebooks, cells, accuracy, macro-F1 over the stages its labels use)")
    for name in sorted(set(fmt.values())):
        mine = [x for x in pairs if fmt.get(x[3]) == name]
        if not mine:
            continue
        present = {g for g, *_ in mine}
        f1 = [_scores(mine, c)[3] for c in CLASSES if c in present]
        right = sum(g == p for g, p, *_ in mine)
        print(f"  {name:<11} {len({x[3] for x in mine}):>5} {len(mine):>6}  {right / len(mine):.3f}  "
              f"{sum(f1) / len(f1):.3f}")


def dump(path: Path, pairs: Sequence[tuple[str, str, float, str, int]]) -> None:
    path.write_text("".join(json.dumps([nid, i, g, p, round(conf, 2)]) + "\n" for g, p, conf, nid, i in pairs),
                    encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write-weights", action="store_true")
    ap.add_argument("--misses", type=int, default=0)
    ap.add_argument("--dump", type=Path, help="write every CV (or --holdout) cell (id, index, label, nbsplit, "
                                              "confidence) as JSON lines, to diff two experiments cell by cell")
    ap.add_argument("--ceiling", action="store_true", help="score the plan of the labels themselves, as tags")
    ap.add_argument("--holdout", help="comma-separated id prefixes: fit on the other notebooks, score these")
    ap.add_argument("--shipped", help="comma-separated id prefixes: score these with the shipped weights "
                                      "(no fitting; only their snapshots are needed)")
    ap.add_argument("--exclude", help="comma-separated id prefixes left out altogether (to compare "
                                      "experiments while a new batch is being labelled)")
    ap.add_argument("--partial", action="store_true",
                    help="skip notebooks whose repository has no snapshot here (experiments on a part of "
                         "the corpus; with --write-weights only when at most 1%% of the notebooks are missing)")
    ap.add_argument("--no-trees", action="store_true",
                    help="fit and score without the boosted-trees pass (to measure what it adds)")
    ap.add_argument("--fold-seed", type=int,
                    help="deal the repositories to the folds in this seeded random order instead of by "
                         "size: another draw of the folds, to see how far the draw alone moves the figure")
    ns = ap.parse_args(argv)
    if ns.no_trees and ns.write_weights:
        ap.error("--write-weights ships the trees: not with --no-trees")
    global WITH_TREES
    WITH_TREES = not ns.no_trees
    if ns.fold_seed is not None and (ns.write_weights or ns.shipped or ns.holdout or ns.ceiling):
        ap.error("--fold-seed draws other cross-validation folds: only for a plain CV run (with --dump, "
                 "--exclude or --partial)")
    if ns.exclude and ns.write_weights:
        ap.error("--write-weights fits the shipped weights on the whole corpus: not with --exclude")
    if ns.shipped:
        if ns.write_weights or ns.holdout or ns.ceiling:
            ap.error("--shipped scores with the shipped weights: not with --write-weights, --holdout or --ceiling")
        prefixes = tuple(ns.shipped.split(","))
        scored = shipped(prefixes)
        if ns.dump:
            dump(ns.dump, scored)
        return
    items = load_items(partial=ns.partial)
    if ns.exclude:
        items = [it for it in items if not it.id.startswith(tuple(ns.exclude.split(",")))]
    if MISSING:
        print(f"partial corpus: {len(MISSING)} labelled notebooks skipped, {len(set(MISSING))} repositories "
              f"without a snapshot (fetch them for the full figures)")
        # fetch brings ~500 new repositories a session: the last few may stay out of reach, and
        # weights fitted without them are still better than weights that never saw a new round
        if ns.write_weights and len(MISSING) > MAX_MISSING_FOR_WEIGHTS * (len(items) + len(MISSING)):
            ap.error(f"--write-weights fits the shipped weights on the whole corpus: {len(MISSING)} notebooks "
                     f"missing is more than {MAX_MISSING_FOR_WEIGHTS:.0%} of it")
    if ns.holdout:
        scored = holdout(items, tuple(ns.holdout.split(",")))
        if ns.dump:
            dump(ns.dump, scored)
        return
    if ns.ceiling:
        ceiling(items)
        return
    print(f"corpus: {len(items)} notebooks, {len({it.repo for it in items})} repositories, "
          f"{sum(len(it.labels) for it in items)} labelled code cells; {FOLDS} folds by repository"
          + (f", dealt in seeded order {ns.fold_seed}" if ns.fold_seed is not None else ""))

    report("rules alone (no fitted weights; tuned on earlier rounds, so not held out)", rules_alone(items))

    rows = {k: rows_of(it) for k, it in enumerate(items)}
    cv = []
    moved: list[tuple[str, str, str, str]] = []
    per_fold = []
    for fold in folds(items, ns.fold_seed):
        held = set(fold)
        start = len(cv)
        learned.use_weights(fit(training_set(items, rows, lambda k: k not in held)))
        for k in sorted(held):
            it = items[k]
            stages, conf = plan_stages(it, moved)
            cv.extend((lab, stages[i], conf[i], it.id, i) for i, lab in it.labels.items())
        part = cv[start:]
        per_fold.append(f"{sum(g == p for g, p, *_ in part)}/{len(part)}")
    learned.use_weights(None)
    report("fitted weights, grouped cross-validation (held-out repositories)", cv)
    print("\nper fold, fitted (right/cells): " + "  ".join(per_fold))
    confusion(cv)
    calibration(cv)
    thresholds(cv)
    placement(moved, len(cv))
    by_format(items, cv)
    if ns.misses:
        print("\nmisses:")
        for g, p, conf, nid, i in [x for x in cv if x[0] != x[1]][:ns.misses]:
            print(f"  {nid} cell {i}: label {g}, nbsplit {p} ({conf:.2f})")
    if ns.dump:
        dump(ns.dump, cv)
    if ns.write_weights:
        weights = fit(training_set(items, rows))
        # the rule layer's confidences, caps and sequence costs live in the same file: keep them
        weights["constants"] = fitted.parse(WEIGHTS.read_text(encoding="utf-8"))["constants"]
        trees = weights.pop("trees")
        WEIGHTS.write_text(fitted.render(weights), encoding="utf-8")
        TREES.write_text(fitted.render_trees(trees), encoding="utf-8")
        print(f"\nwrote {WEIGHTS.relative_to(ROOT)} ({len(weights['weights'])} + {len(weights['stack']['weights'])} "
              f"features, fitted on {weights['fitted_on']} cells) and {TREES.relative_to(ROOT)} "
              f"({len(trees['trees'])} trees over {len(trees['features'])} features)")


if __name__ == "__main__":
    main()
