"""Import libcst with the code of its dataclass methods cached on disk, like bytecode.

Why: libcst's ~180 node classes are frozen dataclasses, and ``dataclasses`` makes every
``__init__``/``__eq__``/``__repr__``/``__hash__``/``__setattr__`` of them by compiling generated
source text with ``exec``: about 1,000 compilations, nearly all of libcst's import (~0.2 s of CPU,
half of what a ``nbsplit check`` process costs before it reads a notebook). The generated text is
the same in every process, so its compiled code is kept in ``nbsplit/__pycache__`` (keyed by the
exact text, so a libcst or Python upgrade only adds entries; the file name carries the
interpreter's cache tag, as ``.pyc`` files do) and ``exec`` runs the cached code object: the same
code the text compiles to, so the classes are identical. Only ``dataclasses``' own calls to
``exec`` see this, only while libcst is imported. Nothing is written when bytecode is not
(``PYTHONDONTWRITEBYTECODE``) or the folder is read-only; a missing or unreadable cache only
costs the compilations.
"""

from __future__ import annotations

import builtins
import dataclasses
import marshal
import os
import sys
import tempfile
import types
from pathlib import Path

__all__: list[str] = []

_CODE = types.CodeType


def _cache_file() -> Path | None:
    tag = sys.implementation.cache_tag
    if tag is None:
        return None
    return Path(__file__).resolve().parent / "__pycache__" / f"libcst-dataclasses.{tag}.marshal"


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
    try:
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".libcst-", suffix=".tmp")
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


def _import_libcst() -> None:
    if "libcst" in sys.modules or getattr(dataclasses, "exec", None) is not None:
        return
    path = _cache_file()
    if path is None:
        import libcst  # noqa: F401
        return
    cache = _load(path)
    used: dict[str, types.CodeType] = {}
    missed = False

    def cached_exec(source: object, globals: dict | None = None, locals: dict | None = None) -> None:
        nonlocal missed
        if type(source) is str:
            code = cache.get(source)
            if code is None:
                # dont_inherit: compile as dataclasses' own exec does (no __future__ of this module)
                code = cache[source] = compile(source, "<string>", "exec", dont_inherit=True)
                missed = True
            used[source] = code
            source = code
        builtins.exec(source, globals, locals)  # type: ignore[arg-type]

    dataclasses.exec = cached_exec  # type: ignore[attr-defined]
    try:
        import libcst  # noqa: F401
    finally:
        del dataclasses.exec  # type: ignore[attr-defined]
    if missed:
        _save(path, used)  # what this libcst needs: the file never grows past one version's


_import_libcst()
