"""``corpus.py missing``: which of the manifest's repositories still need a snapshot on this
machine, in manifest order, as lists one fetching helper each can take."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks" / "corpus"))

import corpus  # noqa: E402


def _repos_in_order() -> list[str]:
    lines = corpus.MANIFEST.read_text(encoding="utf-8").splitlines()
    return list(dict.fromkeys(json.loads(line)["repo"] for line in lines if line.strip()))


def test_missing_lists_the_repositories_without_a_snapshot_in_manifest_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repos = _repos_in_order()
    for repo in repos[1:3]:  # two snapshots, one of them a clone without a work tree
        (tmp_path / repo.replace("/", "+") / "repo").mkdir(parents=True)
    (tmp_path / repos[2].replace("/", "+") / "repo" / ".git").mkdir()
    monkeypatch.setenv("NBSPLIT_MIRROR", str(tmp_path))
    corpus.main(["missing", "--limit", "3"])
    out = capsys.readouterr()
    assert out.out.splitlines() == [repos[0], repos[3], repos[4]]
    assert f"{len(repos) - 2} repositories without a snapshot" in out.err


def test_missing_writes_one_list_per_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBSPLIT_MIRROR", str(tmp_path / "empty"))
    corpus.main(["missing", "--limit", "10", "--chunks", "4", "--out", str(tmp_path / "lists")])
    lists = [(tmp_path / "lists" / f"fetch{i}.txt").read_text(encoding="utf-8").split() for i in range(4)]
    assert [len(x) for x in lists] == [3, 3, 3, 1]
    assert sum(lists, []) == _repos_in_order()[:10]
