"""Notebook-wide facts computed once per ``Notebook`` object and reused for the process.

Why: ``convert`` asks for the same notebook-wide facts (its widgets, the paths it names, its ML
facts) from several renderers, and each recomputation parses and walks every cell: at 10,000
cells that was a third of ``convert``. ``Notebook`` is a frozen dataclass of frozen cells, so
one object's answer never changes; the cache is keyed by identity (hashing a notebook would
hash every cell), holds the notebooks it keys (an id is never reused while it is cached) and
keeps only the last few. Only wrap pure functions of the notebook whose result callers do not
mutate (return tuples, or copy on the way out).
"""

from __future__ import annotations

import functools
from typing import Callable, TypeVar

from nbsplit.model import Notebook

__all__ = ["per_notebook"]

T = TypeVar("T")
_MAX = 16
_CACHE: dict[tuple[int, Callable[..., object]], tuple[Notebook, object]] = {}


def per_notebook(fn: Callable[[Notebook], T]) -> Callable[[Notebook], T]:
    """``fn(notebook)``, computed once per notebook object."""

    @functools.wraps(fn)
    def wrapper(notebook: Notebook) -> T:
        key = (id(notebook), fn)
        hit = _CACHE.get(key)
        if hit is not None and hit[0] is notebook:
            return hit[1]  # type: ignore[return-value]
        value = fn(notebook)
        while len(_CACHE) >= _MAX:
            del _CACHE[next(iter(_CACHE))]
        _CACHE[key] = (notebook, value)
        return value

    return wrapper
