"""Compiled code of dataclass methods, cached on disk like bytecode.

Why: ``dataclasses`` makes every ``__init__``/``__eq__``/``__repr__``/``__hash__``/``__setattr__``
of a dataclass by compiling generated source text with ``exec``. libcst's ~180 node classes are
frozen dataclasses: about 1,000 compilations, nearly all of libcst's import (~0.2 s of CPU,
half of what a ``nbsplit check`` process cost before it read a notebook); nbsplit's own
dataclasses add ~200 more. The generated text is the same in every process, so its compiled
code is kept beside nbsplit's bytecode (``nbsplit/__pycache__``, or under
``PYTHONPYCACHEPREFIX``; keyed by the exact text, so an upgrade of libcst or of
nbsplit only adds entries; the file name carries the interpreter's cache tag, as ``.pyc`` files
do) and ``exec`` runs the cached code object: the code the text compiles to, so the classes are
the same. Only ``dataclasses``' own calls to ``exec`` see this: while libcst is imported
(``nbsplit.fastimport``), and for the whole process in the CLI (``enable``). Nothing is written
when bytecode is not (``PYTHONDONTWRITEBYTECODE``) or the folder is read-only; a missing or
unreadable cache only costs the compilations.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import importlib.util
import marshal
import os
import sys
import types
from pathlib import Path
from typing import Iterator

__all__ = ["enable", "scoped"]

_CODE = types.CodeType


def _cache_file() -> Path | None:
    """Beside this module's bytecode (``__pycache__``, or under ``PYTHONPYCACHEPREFIX``)."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    try:
        bytecode = importlib.util.cache_from_source(__file__)
    except (NotImplementedError, ValueError):
        return None
    return Path(bytecode).parent / f"dataclasses.{tag}.marshal"


def _load(path: Path) -> dict[str, types.CodeType]:
    try:
        data = marshal.loads(path.read_bytes())  # (marshal.load reads a file in small pieces: 8x slower)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if type(data) is not dict:
        return {}
    return {k: v for k, v in data.items() if type(k) is str and type(v) is _CODE}


def _save(path: Path, cache: dict[str, types.CodeType]) -> None:
    if sys.dont_write_bytecode:
        return
    import tempfile  # only when writing (once): its import costs a hook process ~10 ms otherwise

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".dataclasses-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                marshal.dump(cache, f)
            os.chmod(tmp, 0o644 & ~_umask())  # as readable as the bytecode beside it
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass  # a read-only install: compile every time, as without the cache


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MAX = 4096  # entries kept: libcst's and nbsplit's classes need ~900


class _CodeCache:
    """The cached code objects, loaded once, and the entries this process used or added."""

    def __init__(self) -> None:
        self.path = _cache_file()
        self.known: dict[str, types.CodeType] = _load(self.path) if self.path is not None else {}
        self.used: dict[str, types.CodeType] = {}
        self.missed = False

    def exec(self, source: object, globals: dict | None = None, locals: dict | None = None) -> None:
        if type(source) is str:
            code = self.known.get(source)
            if code is None:
                # dont_inherit: compile as dataclasses' own exec does (no __future__ of this module)
                code = self.known[source] = compile(source, "<string>", "exec", dont_inherit=True)
                self.missed = True
            self.used[source] = code
            source = code
        builtins.exec(source, globals, locals)  # type: ignore[arg-type]

    def save(self) -> None:
        if not self.missed or self.path is None:
            return
        self.missed = False
        # Every command's classes (check imports less than convert), unless that grows past the
        # bound (texts of older libcst versions): then what this process used.
        _save(self.path, self.known if len(self.known) <= _MAX else self.used)


_CACHE: _CodeCache | None = None
_ENABLED = False


def _cache() -> _CodeCache:
    global _CACHE
    if _CACHE is None:
        _CACHE = _CodeCache()
    return _CACHE


def enable() -> None:
    """Serve ``dataclasses``' compilations from the cache for the rest of the process (the CLI:
    nbsplit's own ~200 dataclass methods too) and save what was missing at exit."""
    global _ENABLED
    if _ENABLED or getattr(dataclasses, "exec", None) is not None:
        return
    _ENABLED = True
    cache = _cache()
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]
    atexit.register(cache.save)


@contextlib.contextmanager
def scoped() -> Iterator[None]:
    """Serve ``dataclasses``' compilations from the cache inside the block (unless ``enable``d
    already, or another ``dataclasses.exec`` is in place: then leave things alone)."""
    if _ENABLED or getattr(dataclasses, "exec", None) is not None:
        yield
        return
    cache = _cache()
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del dataclasses.exec  # type: ignore[attr-defined]
    cache.save()
