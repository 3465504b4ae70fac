"""The ipynb reader's fast schema check: it may only accept what nbformat's validator accepts.

``_conforms`` lets a v4.4/v4.5 notebook skip nbformat's import and jsonschema validation. If it
ever accepted a document nbformat rejects, a bad notebook would get past the one-line error; so
every sample notebook and thousands of seeded mutations of them are checked against nbformat
itself, and the two read paths must give the same ``Notebook``.
"""

from __future__ import annotations

import copy
import json
import random
import warnings
from pathlib import Path
from typing import Any

import nbformat
import pytest

from nbsplit.read import ipynb as ipynb_reader
from nbsplit.read import read_notebook

REPO = Path(__file__).resolve().parent.parent
VALID = sorted((REPO / "sample_notebooks").glob("*.ipynb")) + [
    REPO / "tests" / "convert_cases" / "churn_mini" / "churn_mini.ipynb",
    REPO / "tests" / "read_cases" / "titanic.ipynb",
    REPO / "tests" / "read_cases" / "no_ids_indent2.ipynb",
]

# Values that break one schema rule or another when put in place of a field.
ODD_VALUES: list[Any] = [None, True, 0, -1, 1.5, "", "a,b", "x\n", "ok", [], [""], ["a", "a"],
                         [1], {}, {"name": 1}, {"name": "n", "display_name": "d"}, "auto"]


def nbformat_accepts(doc: dict[str, Any]) -> bool:
    """nbformat's verdict, counting a repair (a missing or duplicate id) as a rejection: the
    fast path must not accept a notebook nbformat would have changed."""
    probe = nbformat.from_dict(copy.deepcopy(doc))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            nbformat.validate(probe)
        except Exception:  # noqa: BLE001 - ValidationError, or a warning raised as an error
            return False
    return True


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths_in(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += paths_in(item, (*prefix, i))
    return found


def mutate(doc: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One random change: a field replaced, removed, or a new key added somewhere."""
    doc = copy.deepcopy(doc)
    path = rng.choice(paths_in(doc)[1:])
    parent: Any = doc
    for key in path[:-1]:
        parent = parent[key]
    action = rng.random()
    if action < 0.6:
        parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    elif action < 0.8 and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        target = parent[path[-1]]
        if isinstance(target, dict):
            target[rng.choice(["id", "tags", "name", "extra", "collapsed", "scrolled", "format",
                               "execution", "outputs", "attachments"])] = copy.deepcopy(
                rng.choice(ODD_VALUES))
        elif isinstance(target, list):
            target.append(copy.deepcopy(rng.choice(ODD_VALUES)))
    return doc


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_notebooks_take_the_fast_path_and_nbformat_agrees(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert nbformat_accepts(doc)
    assert ipynb_reader._conforms(doc)


def _fast_path_rejections(base: dict, rng: random.Random, n: int) -> int:
    """Mutate ``base`` ``n`` times: every mutant the fast path accepts nbformat accepts too;
    returns how many the fast path left to nbformat."""
    rejected = 0
    for _ in range(n):
        doc = mutate(base, rng)
        if ipynb_reader._conforms(doc):
            assert nbformat_accepts(doc), json.dumps(doc)[:400]
        else:
            rejected += 1
    return rejected


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_fast_path_never_accepts_what_nbformat_rejects(path: Path) -> None:
    base = json.loads(path.read_text(encoding="utf-8"))
    assert _fast_path_rejections(base, random.Random(path.name), 150) > 50  # the mutations reach the rules


def test_duplicate_or_missing_ids_go_to_nbformat() -> None:
    doc = json.loads(VALID[0].read_text(encoding="utf-8"))
    duplicate = copy.deepcopy(doc)
    duplicate["cells"][1]["id"] = duplicate["cells"][0]["id"]
    missing = copy.deepcopy(doc)
    del missing["cells"][0]["id"]
    assert not ipynb_reader._conforms(duplicate)
    assert not ipynb_reader._conforms(missing)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_both_read_paths_give_the_same_notebook(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = read_notebook(path)
    monkeypatch.setattr(ipynb_reader, "_conforms", lambda raw: False)
    slow = read_notebook(path)
    assert fast == slow


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_writing_gives_nbformats_bytes(path: Path) -> None:
    nb = read_notebook(path)
    metadata = {**nb.metadata, "orig_nbformat": 3, "signature": "x"}
    expected = nbformat.writes(ipynb_reader.build_ipynb(nb.cells, metadata), version=4)
    assert ipynb_reader._conforms(ipynb_reader._plain_notebook(nb.cells, metadata))
    assert ipynb_reader.dumps_ipynb(nb.cells, metadata) == expected + "\n"


def older(doc: dict[str, Any], minor: int) -> dict[str, Any]:
    """``doc`` as a v4.``minor`` notebook: no cell ids (v4.5 added them)."""
    doc = copy.deepcopy(doc)
    doc["nbformat_minor"] = minor
    for cell in doc["cells"]:
        cell.pop("id", None)
    return doc


@pytest.mark.parametrize("minor", [0, 2, 3])  # 4.0 and 4.1 share one schema but the minimum
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_older_minor_versions_take_the_fast_path_only_when_nbformat_agrees(path: Path, minor: int) -> None:
    base = older(json.loads(path.read_text(encoding="utf-8")), minor)
    assert nbformat_accepts(base)
    assert ipynb_reader._conforms(base)
    assert _fast_path_rejections(base, random.Random(f"{path.name}-{minor}"), 40) > 10
    with_id = copy.deepcopy(base)
    with_id["cells"][0]["id"] = "abc"  # ids are v4.5's: nbformat refuses them before
    assert not ipynb_reader._conforms(with_id)


@pytest.mark.parametrize("minor", [0, 2])
@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_both_read_paths_give_the_same_older_notebook(path: Path, minor: int, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / path.name
    old.write_text(json.dumps(older(json.loads(path.read_text(encoding="utf-8")), minor)), encoding="utf-8")
    fast = read_notebook(old)
    monkeypatch.setattr(ipynb_reader, "_conforms", lambda raw: False)
    slow = read_notebook(old)
    assert fast == slow


@pytest.mark.parametrize("value", [0, 1, 0.0, "yes"])
def test_scrolled_must_be_a_boolean_or_auto(value: Any) -> None:
    doc = json.loads(VALID[0].read_text(encoding="utf-8"))
    code = next(c for c in doc["cells"] if c["cell_type"] == "code")
    code["metadata"]["scrolled"] = value
    assert not nbformat_accepts(doc)
    assert not ipynb_reader._conforms(doc)
