"""The hook's start-up: libcst imported lazily (only the submodules used) and regular expressions
compiled at import served from a cache; both must give exactly what the ordinary import gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "sample_notebooks"

_NAMES = r"""
import json, sys
if sys.argv[1] == "lazy":
    import nbsplit.fastimport
import libcst
lazy = "__getattr__" in vars(libcst.metadata)
# the package itself is an ordinary module (the interpreter specialises its attribute reads)
out = {"lazy": lazy, "plain": "__getattr__" not in vars(libcst), "all": list(libcst.__all__)}
# what analyze needs leaves libcst.metadata's providers (subprocess, ...) unimported
if lazy:
    libcst.parse_module("x = f(y)[0]\n")
    out["providers_before"] = [m for m in ("libcst.metadata.scope_provider", "subprocess") if m in sys.modules]
out["names"] = {name: f"{getattr(libcst, name).__module__}.{getattr(getattr(libcst, name), '__qualname__', '')}"
                for name in sorted(set(libcst.__all__) | set(dir(libcst))) if not name.startswith("__")
                and hasattr(getattr(libcst, name), "__module__")}
out["dir"] = sorted(n for n in dir(libcst) if not n.startswith("__"))
json.dump(out, sys.stdout)
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    return env


def test_lazy_libcst_has_every_name_of_the_real_one(tmp_path: Path) -> None:
    def names(mode: str) -> dict:
        done = subprocess.run([sys.executable, "-c", _NAMES, mode], capture_output=True, text=True,
                              env=_env(tmp_path), check=True, cwd=tmp_path)
        return json.loads(done.stdout)

    lazy, plain = names("lazy"), names("plain")
    assert lazy["lazy"] and not plain["lazy"] and lazy["plain"] and plain["plain"]
    assert lazy["providers_before"] == []
    assert len(plain["names"]) > 200
    assert lazy["all"] == plain["all"]
    assert lazy["names"] == plain["names"]  # the same objects, from the same submodules


_USE = r"""
import sys
import nbsplit.fastimport
import libcst
from libcst import native  # a submodule the package never imported: the import system's way
assert native.__name__ == "libcst.native", native
assert "libcst.metadata.scope_provider" not in sys.modules
assert libcst.MetadataWrapper.__module__ == "libcst.metadata.wrapper"  # from the light leaf module
assert libcst.metadata.wrapper.MetadataWrapper is libcst.MetadataWrapper
try:
    libcst.no_such_name
except AttributeError:
    pass
else:
    raise SystemExit("no AttributeError")
assert libcst.metadata.ScopeProvider.__module__ == "libcst.metadata.scope_provider"  # read when asked
try:
    libcst.metadata.no_such_name
except AttributeError:
    pass
else:
    raise SystemExit("no AttributeError")
assert "__getattr__" not in vars(libcst.metadata)  # an unknown name ran the real __init__.py
print("OK")
"""


def test_lazy_libcst_imports_what_is_asked_and_completes_on_an_unknown_name(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _USE], capture_output=True, text=True,
                          env=_env(tmp_path), cwd=tmp_path)
    assert done.stdout.strip() == "OK", done.stderr


_PATTERNS = r"""
import sys, re, warnings
from nbsplit import codecache
codecache.enable()
cache = re._compiler.compile.__self__
import nbsplit.classify, nbsplit.check  # their tables of patterns, compiled at import
re.compile(r"runtime-only-" + sys.argv[1])  # made while a command runs: never kept
if sys.argv[1] == "second":
    assert not cache.missed, "the second process found every import-time pattern in the file"
    assert ("runtime-only-first", 0) not in cache.known and ("runtime-only-second", 0) not in cache.known
    served = 0
    for (pattern, flags), args in cache.known.items():
        import _sre
        fresh = cache.original(pattern, flags)
        kept = _sre.compile(pattern, *args)
        assert (kept, kept.flags, kept.groups, kept.groupindex) == (fresh, fresh.flags, fresh.groups,
                                                                    fresh.groupindex), pattern
        served += 1
    assert served > 100, served
    print("OK", served)
"""


def test_regex_cache_serves_the_same_patterns_and_keeps_only_import_time_ones(tmp_path: Path) -> None:
    env = _env(tmp_path)
    first = subprocess.run([sys.executable, "-c", _PATTERNS, "first"], capture_output=True, text=True,
                           env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert list((tmp_path / "pycache").rglob("re.*.marshal"))
    second = subprocess.run([sys.executable, "-c", _PATTERNS, "second"], capture_output=True, text=True,
                            env=env, cwd=tmp_path)
    assert second.stdout.startswith("OK"), second.stderr


_WARNS = r"""
import sys, warnings
from nbsplit import codecache
codecache.enable()
sys.path.insert(0, sys.argv[1])
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    import warns_at_import  # compiles '[[a]' at import: 'Possible nested set' FutureWarning
print(sum(issubclass(w.category, FutureWarning) for w in seen))
"""


def test_a_pattern_that_warns_is_not_kept_and_warns_in_every_process(tmp_path: Path) -> None:
    (tmp_path / "warns_at_import.py").write_text("import re\nPATTERN = re.compile('[[a]')\n")
    env = _env(tmp_path)
    runs = [subprocess.run([sys.executable, "-c", _WARNS, str(tmp_path)], capture_output=True, text=True,
                           env=env, cwd=tmp_path) for _ in range(2)]
    assert [r.stdout.strip() for r in runs] == ["1", "1"], [r.stderr for r in runs]
