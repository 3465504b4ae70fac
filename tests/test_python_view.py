"""The per-source view every pass shares (mask, depth guard, libcst tree) and libcst's import with
its dataclass code cached: no pass parses a cell analyze parsed, at any notebook size, and the
cached import makes the same classes as a plain one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import libcst
import pytest

import nbsplit.analyze as analyze
from nbsplit.api import plan_notebook
from nbsplit.mlfacts import ml_facts
from nbsplit.paths import relative_paths
from nbsplit.randomness import global_rng_effects

SAMPLES = Path(__file__).resolve().parent.parent / "sample_notebooks"


def test_later_passes_reuse_analyze_views_whatever_the_cache_size(monkeypatch: pytest.MonkeyPatch) -> None:
    # A bounded cache of 2 stands for 4,096 at 10,000 distinct cells: the views of the notebook
    # analysed last must survive it, so the ML facts, the random-state pass and the path scan
    # neither mask, measure nor parse a cell again.
    monkeypatch.setattr(analyze, "_OTHERS_MAX", 2)
    plan = plan_notebook(SAMPLES / "churn_pandas.ipynb")
    calls: list[str] = []
    real_parse, real_mask = libcst.parse_module, analyze.mask_ipython
    monkeypatch.setattr(libcst, "parse_module", lambda *a, **k: calls.append("parse") or real_parse(*a, **k))
    monkeypatch.setattr(analyze, "mask_ipython", lambda *a, **k: calls.append("mask") or real_mask(*a, **k))
    facts = ml_facts(plan)
    global_rng_effects(plan.notebook.cells, analyze.analyze_notebook(plan.notebook))
    relative_paths(plan.notebook)
    assert facts.models  # the ML facts read real trees
    assert calls == []


def test_view_keeps_analyze_results_for_broken_and_magic_cells() -> None:
    broken = analyze.python_view("x = (1,\n")
    assert broken.module is None and broken.error and broken.masked is not None
    assert analyze.analyze_source("x = (1,\n").error == broken.error
    bash = analyze.python_view("%%bash\necho hi\n")
    assert bash.module is None and bash.error is None and not bash.masked.python_body
    deep = analyze.python_view("x = " + "(" * 400 + ")" * 400)
    assert deep.module is None and "too deeply nested" in (deep.error or "")
    assert analyze.python_ast("%time y = 1\n", masked=True) is not None  # the masked cell parses
    assert analyze.python_ast("%time y = 1\n") is None  # the raw one does not


_DUMP = r"""
import dataclasses, json, sys
if sys.argv[1] == "cached":
    import nbsplit.fastimport
import libcst

out = {}
for name in sorted(dir(libcst)):
    cls = getattr(libcst, name)
    if isinstance(cls, type) and dataclasses.is_dataclass(cls):
        for meth in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
            fn = cls.__dict__.get(meth)
            code = getattr(fn, "__code__", None)
            if code is not None:
                out[f"{name}.{meth}"] = [code.co_code.hex(), repr(code.co_consts), code.co_names,
                                         code.co_varnames, code.co_flags,
                                         repr(getattr(fn, "__annotations__", None)),
                                         repr(fn.__defaults__), repr(fn.__kwdefaults__)]
json.dump(out, sys.stdout)
"""


def test_cached_libcst_import_makes_the_same_classes(tmp_path: Path) -> None:
    # bytecode (and the cache beside it) under tmp_path: the test writes nothing into the package
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")

    def dump(mode: str) -> dict[str, list[object]]:
        done = subprocess.run([sys.executable, "-c", _DUMP, mode], capture_output=True, text=True,
                              env=env, check=True, cwd=tmp_path)
        return json.loads(done.stdout)

    dump("cached")  # writes the cache when it is missing
    assert list((tmp_path / "pycache").rglob("dataclasses.*.marshal"))
    cached, plain = dump("cached"), dump("plain")  # the second one reads it
    assert len(plain) > 500
    assert cached == plain


def test_recurring_cells_are_walked_once_per_context_and_keep_their_own_facts() -> None:
    from nbsplit.model import Cell, Notebook

    sources = ["import pandas as pd", "x = pd.read_csv('a.csv')", "x = pd.read_csv('a.csv')",
               "import polars as pd", "x = pd.read_csv('a.csv')", "n = len(x)", "len = 3",
               "n = len(x)", "x = (1,", "x = (1,", "%%bash\necho hi", "%%bash\necho hi"]
    nb = Notebook(path=Path("nb.ipynb"), format="ipynb", cells=tuple(
        Cell(index=i, kind="code", source=s) for i, s in enumerate(sources)))
    facts = analyze.analyze_notebook(nb)
    # each cell as analyse_source sees it in its context: the imports and rebound builtins before it
    imports: dict[str, str] = {}
    for i, source in enumerate(sources):
        shadowed = ["len"] if i > 6 else []
        want = analyze.analyze_source(source, i, imports=imports, shadowed=shadowed)
        assert facts[i] == want, (i, source)
        imports.update(want.imports)
    assert [c.name for c in facts[2].calls] == ["pandas.read_csv"]
    assert [c.name for c in facts[4].calls] == ["polars.read_csv"]
    assert "len" in facts[7].reads and "len" not in facts[5].reads
    assert facts[9].error and facts[9].index == 9
