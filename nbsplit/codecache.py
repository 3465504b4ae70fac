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


def _cache_file(kind: str = "dataclasses") -> Path | None:
    """Beside this module's bytecode (``__pycache__``, or under ``PYTHONPYCACHEPREFIX``)."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    try:
        bytecode = importlib.util.cache_from_source(__file__)
    except (NotImplementedError, ValueError):
        return None
    return Path(bytecode).parent / f"{kind}.{tag}.marshal"


def _read(path: Path) -> object:
    try:
        return marshal.loads(path.read_bytes())  # (marshal.load reads a file in small pieces: 8x slower)
    except (OSError, EOFError, ValueError, TypeError):
        return None


def _load(path: Path) -> dict[str, bytes]:
    data = _read(path)
    if type(data) is not dict:
        return {}
    return {k: v for k, v in data.items() if type(k) is str and type(v) is bytes}


def _save(path: Path, cache: object) -> None:
    if sys.dont_write_bytecode:
        return
    import tempfile  # only when writing (once): its import costs a hook process ~10 ms otherwise

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name.split('.')[0]}-", suffix=".tmp")
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
    """The cached code, loaded once, and the entries this process used or added.

    Each entry is kept marshalled (bytes) and turned into code when a class asks for it: the
    file holds every command's classes (~850; convert's too), a check uses about half of them,
    and unmarshalling them all was ~8 ms of each process."""

    def __init__(self) -> None:
        self.path = _cache_file()
        self.known: dict[str, bytes] = _load(self.path) if self.path is not None else {}
        self.used: dict[str, bytes] = {}
        self.missed = False

    def exec(self, source: object, globals: dict | None = None, locals: dict | None = None) -> None:
        if type(source) is str:
            blob = self.known.get(source)
            code = None
            if blob is not None:
                try:
                    code = marshal.loads(blob)
                except (EOFError, ValueError, TypeError):
                    code = None
                if type(code) is not _CODE:
                    code = None
            if code is None:
                # dont_inherit: compile as dataclasses' own exec does (no __future__ of this module)
                code = compile(source, "<string>", "exec", dont_inherit=True)
                blob = self.known[source] = marshal.dumps(code)
                self.missed = True
            self.used[source] = blob  # type: ignore[assignment]
            source = code
        builtins.exec(source, globals, locals)  # type: ignore[arg-type]

    def save(self) -> None:
        if not self.missed or self.path is None:
            return
        self.missed = False
        # Every command's classes (check imports less than convert), unless that grows past the
        # bound (texts of older libcst versions): then what this process used.
        _save(self.path, self.known if len(self.known) <= _MAX else self.used)


_REGEX_MAX = 2048  # entries kept: a check process compiles ~200 patterns at import


class _RegexCache:
    """The compiled form of regular expressions that modules compile when they are imported.

    ``re.compile`` parses a pattern and turns it into the opcode list the C matcher runs, in
    Python: ~200 patterns compiled at import (nbsplit's classifier tables, libcst's, click's,
    tomllib's) were ~15 % of a ``nbsplit check`` process. The opcodes are a function of the
    pattern, the flags and the interpreter (the file carries the version and ``_sre.MAGIC``),
    so the arguments the compiler hands to ``_sre.compile`` are kept and given to it again:
    the same Pattern (``_sre.compile`` validates the code too). Patterns compiled while a
    command runs (made from a notebook's names) are not added: only those compiled during an
    import, the same in every process. A pattern whose compilation warned is not kept either,
    so its warning is never lost.
    """

    def __init__(self, compiler: types.ModuleType) -> None:
        import _sre

        self.compiler = compiler
        self.sre = _sre
        self.original = compiler.compile
        self.version = (sys.hexversion, getattr(_sre, "MAGIC", None))
        self.path = _cache_file("re")
        self.known: dict[tuple[object, int], tuple] = {}
        data = _read(self.path) if self.path is not None else None
        if type(data) is dict and data.get("version") == self.version and type(data.get("patterns")) is dict:
            self.known = data["patterns"]
        self.used: set[tuple[object, int]] = set()
        self.missed = False

    def compile(self, p: object, flags: int = 0) -> object:
        if type(p) is str or type(p) is bytes:
            key = (p, flags)
            args = self.known.get(key) if type(flags) is int else None
            if type(args) is tuple:
                try:
                    pattern = self.sre.compile(p, *args)
                except (TypeError, ValueError, RuntimeError, OverflowError):
                    del self.known[key]  # not this interpreter's: compile it as usual
                else:
                    self.used.add(key)
                    return pattern
            elif type(flags) is int and not flags & 128 and _importing():  # 128: re.DEBUG prints
                return self._compile_and_keep(p, flags)
        return self.original(p, flags)

    def _compile_and_keep(self, p: object, flags: int) -> object:
        import warnings

        seen: list[tuple] = []
        sre = self.sre

        class _Recorder:
            """``_sre`` for one compilation: what ``compile`` is called with is kept."""

            def __getattr__(self, name: str) -> object:
                return getattr(sre, name)

            @staticmethod
            def compile(*args: object) -> object:
                seen.append(args)
                return sre.compile(*args)

        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            self.compiler._sre = _Recorder()
            try:
                pattern = self.original(p, flags)
            finally:
                self.compiler._sre = sre
        for w in warned:  # as the compiler raised them (an error filter turns one into the exception)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
        args = _plain(seen[0][1:]) if len(seen) == 1 and seen[0][0] is p else None
        if not warned and args is not None:
            key = (p, flags)
            self.known[key] = args
            self.used.add(key)
            self.missed = True
        return pattern

    def save(self) -> None:
        if not self.missed or self.path is None:
            return
        self.missed = False
        keep = self.known if len(self.known) <= _REGEX_MAX else {k: self.known[k] for k in self.used}
        _save(self.path, {"version": self.version, "patterns": keep})


def _plain(args: tuple) -> tuple | None:
    """``_sre.compile``'s arguments after the pattern, as plain values marshal can store (the
    opcodes are int subclasses), or None when they are not the expected
    (flags, code, groups, groupindex, indexgroup)."""
    try:
        flags, code, groups, groupindex, indexgroup = args
        plain = (int(flags), [int(op) for op in code], int(groups), dict(groupindex), tuple(indexgroup))
        marshal.dumps(plain)
    except (TypeError, ValueError):
        return None
    return plain


def _importing() -> bool:
    """Is a module being imported (its body running) in this thread's stack?"""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == "<frozen importlib._bootstrap>":
            return True
        frame = frame.f_back
    return False


def _enable_regex_cache() -> None:
    compiler = getattr(__import__("re"), "_compiler", None)  # Python 3.11+
    if compiler is None or getattr(compiler, "compile", None) is None or not hasattr(compiler, "_sre"):
        return
    cache = _RegexCache(compiler)
    compiler.compile = cache.compile
    atexit.register(cache.save)


_CACHE: _CodeCache | None = None
_ENABLED = False


def _cache() -> _CodeCache:
    global _CACHE
    if _CACHE is None:
        _CACHE = _CodeCache()
    return _CACHE


def enable() -> None:
    """Serve ``dataclasses``' compilations from the cache for the rest of the process (the CLI:
    nbsplit's own ~200 dataclass methods too), and regular expressions compiled at import
    (``_RegexCache``); save what was missing at exit."""
    global _ENABLED
    if _ENABLED or getattr(dataclasses, "exec", None) is not None:
        return
    _ENABLED = True
    cache = _cache()
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]
    atexit.register(cache.save)
    _enable_regex_cache()


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
