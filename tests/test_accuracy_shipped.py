"""``accuracy.py --shipped``: scoring a new batch with the shipped weights is a held-out test only
for notebooks the weights never saw, so the notebooks of the fit are refused before any snapshot
is read (a fresh machine has none)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _accuracy():  # benchmarks/accuracy.py (the dev extra)
    pytest.importorskip("sklearn")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import accuracy

    return accuracy


def _fitted_manifest_ids() -> list[str]:
    lines = (ROOT / "benchmarks" / "corpus" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["id"] for line in lines if line.strip()]


def test_the_weights_commit_names_the_notebooks_they_were_fitted_on() -> None:
    acc = _accuracy()
    rev, ids, repos = acc.fitted_ids()
    assert len(rev) == 40
    # the corpus's first notebooks were in every fit since the first
    first = _fitted_manifest_ids()[0]
    assert first in ids
    assert all(r == r.lower() and "/" in r for r in repos)


def test_notebooks_of_the_fit_are_refused_before_any_snapshot_is_read(monkeypatch, capsys) -> None:
    acc = _accuracy()
    first = _fitted_manifest_ids()[0]
    read = []
    monkeypatch.setattr(acc.corpus, "materialize", lambda e: read.append(e.id))
    with pytest.raises(SystemExit) as exc:
        acc.shipped((first,))
    assert "were fitted on 1 of these notebooks" in str(exc.value) and "use --holdout" in str(exc.value)
    assert read == []


def test_an_unknown_prefix_is_a_one_line_error() -> None:
    acc = _accuracy()
    with pytest.raises(SystemExit) as exc:
        acc.shipped(("no-such-batch-",))
    assert str(exc.value) == "--shipped no-such-batch-: no notebook of the manifest has such an id"


class _Nb:  # the two fields ``folds`` reads of a corpus item
    def __init__(self, repo: str, cells: int) -> None:
        self.repo, self.labels = repo, dict.fromkeys(range(cells), "eda")


def test_a_fold_seed_deals_another_balanced_partition_by_repository() -> None:
    acc = _accuracy()
    items = [_Nb(f"o/r{k % 37}", 5 + (k * 7) % 40) for k in range(120)]  # 37 repositories, some with several notebooks
    by_size = acc.folds(items)
    drawn = [acc.folds(items, seed) for seed in (1, 2)]
    for parts in [by_size, *drawn]:
        assert sorted(k for part in parts for k in part) == list(range(len(items)))
        # a repository never straddles two folds
        assert all(len({f for f, part in enumerate(parts) if any(items[k].repo == repo for k in part)}) == 1
                   for repo in {it.repo for it in items})
        sizes = [sum(len(items[k].labels) for k in part) for part in parts]
        biggest_repo = max(sum(len(it.labels) for it in items if it.repo == r) for r in {it.repo for it in items})
        assert max(sizes) - min(sizes) <= biggest_repo
    assert drawn[0] == acc.folds(items, 1)  # the same seed, the same draw
    as_sets = [sorted(map(sorted, parts)) for parts in (by_size, *drawn)]
    assert as_sets[0] != as_sets[1] and as_sets[1] != as_sets[2]


def test_a_fold_seed_is_refused_where_no_cross_validation_runs() -> None:
    acc = _accuracy()
    with pytest.raises(SystemExit) as exc:
        acc.main(["--fold-seed", "1", "--write-weights"])
    assert exc.value.code == 2
