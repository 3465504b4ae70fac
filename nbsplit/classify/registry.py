"""The classifier's one registration mechanism: ordered, named lists of small functions.

What: a ``Registry`` is a list of (name, function) in the order they run. Three registries use
it: ``classify.SIGNALS`` (notebook-wide evidence signals: calls, structure, headings),
``structure.IDIOMS`` (per-Python-cell idiom signals over ``CellFacts``) and ``learned.FEATURES``
(the fitted layer's feature families). ``register`` is a decorator that appends; ``extend``
registers several functions at once, in the order given.

Why one mechanism: a reader finds every signal the same way (one list, read top to bottom), and
order is explicit: later idioms weigh what earlier ones found (metrics in a cell that also fits
are training), and a cell's evidence order breaks ties between its reasons.

Example::

    IDIOMS: Registry[IdiomFn] = Registry("idioms")

    @IDIOMS.register
    def fits(c: PyCell) -> None: ...
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

F = TypeVar("F", bound=Callable[..., object])


class Registry(Generic[F]):
    """Named functions, run in registration order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._items: list[tuple[str, F]] = []

    def register(self, fn: F, name: str | None = None) -> F:
        key = name or fn.__name__.lstrip("_")
        if any(k == key for k, _ in self._items):
            raise ValueError(f"{self.name}: '{key}' registered twice")
        self._items.append((key, fn))
        return fn

    def extend(self, *fns: F) -> None:
        for fn in fns:
            self.register(fn)

    def __iter__(self) -> Iterator[tuple[str, F]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        return [k for k, _ in self._items]

    def functions(self) -> list[F]:
        return [fn for _, fn in self._items]
