"""What calling a notebook's own helper changes in place, across cells.

A cell's walk sees ``extract_model(df)`` as a bare call that binds nothing: "only displays".
When ``extract_model`` (defined in an earlier cell, or this one) sets ``df["model"]`` inside its
body, the call changes ``df``, and the stage that holds the call must hand the changed frame on.
This pass follows each top-level call of a plain name to the notebook's latest definition of
that name before it, maps the parameters the body changes to the variables passed, adds the
globals the body changes, and through helpers calling helpers. The cell's ``mutates`` (and
``reads``, for a name the cell did not bind) grow accordingly, and it is no longer
``display_only``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

from nbsplit.model import Call, CellFacts, FunctionInfo

__all__ = ["with_helper_effects", "call_changes"]

_DEPTH = 8  # helpers calling helpers: deeper chains are not followed


def with_helper_effects(facts: Sequence[CellFacts | None]) -> tuple[CellFacts | None, ...]:
    """``facts`` with every call of a helper that changes its arguments or globals recorded as
    the cell's own change. Cells without such calls are returned as they are."""
    if not any(f is not None and any(fi.changed_params or fi.changed_globals
                                     or fi.calls for fi in f.functions) for f in facts):
        return tuple(facts)
    helpers: dict[str, FunctionInfo] = {}
    out: list[CellFacts | None] = []
    for f in facts:
        if f is None:
            out.append(None)
            continue
        if f.functions:
            helpers = {**helpers, **_merged(f.functions)}
        changed: set[str] = set()
        for call in f.calls if helpers else ():
            if call.receiver is None and call.name in helpers:
                changed |= call_changes(call, helpers)
        new = changed - f.mutates
        if new:
            f = replace(f, mutates=f.mutates | new, reads=f.reads | (new - f.defines),
                        display_only=False)
        out.append(f)
    return tuple(out)


def call_changes(call: Call, helpers: Mapping[str, FunctionInfo], depth: int = 0) -> set[str]:
    """The caller's variables that ``call`` of a helper changes: the ones passed for a changed
    parameter, and the globals the helper (or a helper it calls) changes."""
    fi = helpers.get(call.name)
    if fi is None or fi.is_class or depth > _DEPTH:
        return set()
    params, globals_ = _changes(fi, helpers, depth)
    out = set(globals_)
    if params:
        for key, name in call.passed:
            param = fi.params[key] if isinstance(key, int) and key < len(fi.params) else key
            if param in params:
                out.add(name)
    return out


def _changes(fi: FunctionInfo, helpers: Mapping[str, FunctionInfo],
             depth: int) -> tuple[frozenset[str], frozenset[str]]:
    """(parameters, globals) ``fi`` changes, its own and through the helpers it calls."""
    params = set(fi.changed_params)
    globals_ = set(fi.changed_globals)
    for inner in fi.calls:
        if inner.receiver is not None or inner.name == fi.name or inner.name not in helpers:
            continue
        for name in call_changes(inner, helpers, depth + 1):
            if name in fi.free_names:
                globals_.add(name)
            elif name in fi.params:
                params.add(name)  # a parameter handed on; the body's locals are not the caller's
    return frozenset(params), frozenset(globals_)


def _merged(functions: Sequence[FunctionInfo]) -> dict[str, FunctionInfo]:
    """One entry per name; a cell defining ``f`` twice may have run either body."""
    out: dict[str, FunctionInfo] = {}
    for fi in functions:
        seen = out.get(fi.name)
        out[fi.name] = fi if seen is None else replace(
            fi, free_names=seen.free_names | fi.free_names, calls=seen.calls + fi.calls,
            changed_params=seen.changed_params | fi.changed_params,
            changed_globals=seen.changed_globals | fi.changed_globals)
    return out
