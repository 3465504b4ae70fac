"""What a cell changes in place through other names, across cells.

Two ways of writing a notebook change a variable that the cell never names as a target:

- A helper. ``extract_model(df)`` is a bare call that binds nothing ("only displays"), but when
  ``extract_model`` (defined in an earlier cell, or this one) sets ``df["model"]`` in its body,
  the call changes ``df``. Each top-level call of a plain name is followed to the notebook's
  latest definition of that name, the parameters its body changes are mapped to the variables
  passed, the globals it changes are added, and so through helpers calling helpers.
- A loop over objects. ``for dataset in combine: dataset["Title"] = ...`` after
  ``combine = [train_df, test_df]`` (or ``for df in [train, test]:``) changes ``train_df`` and
  ``test_df``, and the list whose elements they are; ``for name, model in models.items():
  model.fit(...)`` changes the dict ``models`` (its models are fitted).

The cell's ``mutates`` (and ``reads``, for a name the cell did not bind) grow accordingly, so the
stage holding it hands the changed values on, and it is no longer ``display_only``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

from nbsplit.model import Call, CellFacts, FunctionInfo

__all__ = ["with_indirect_changes", "call_changes", "merged_functions"]


def with_indirect_changes(facts: Sequence[CellFacts | None]) -> tuple[CellFacts | None, ...]:
    """``facts`` with what each cell changes through a helper or a loop variable recorded as the
    cell's own change. Cells without such changes are returned as they are."""
    if not any(f is not None and (f.loops or any(fi.changed_params or fi.changed_globals
                                                 or fi.calls for fi in f.functions))
               for f in facts):
        return tuple(facts)
    helpers: dict[str, FunctionInfo] = {}
    memo: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    # name -> the variables whose objects the list bound to it holds (those not rebound since)
    containers: dict[str, tuple[str, ...]] = {}
    out: list[CellFacts | None] = []
    for f in facts:
        if f is None:
            out.append(None)
            continue
        if f.functions:
            helpers = {**helpers, **merged_functions(f.functions)}
            memo = {}  # each helper's changes hold only while ``helpers`` stays the same
        changed: set[str] = set()
        for call in f.calls if helpers else ():
            if call.receiver is None and call.name in helpers:
                changed |= call_changes(call, helpers, memo)
        for variables, iterated, names in f.loops:
            if any(v in f.mutates or v in changed for v in variables):
                changed.update(names)
                for c in iterated:
                    changed.add(c)
                    changed.update(containers.get(c, ()))
        new = changed - f.mutates
        if new:
            f = replace(f, mutates=f.mutates | new, reads=f.reads | (new - f.defines),
                        display_only=False)
        if f.defines and containers:
            # a rebound element is a new object: the list still holds the old one
            containers = {c: tuple(n for n in names if n not in f.defines)
                          for c, names in containers.items() if c not in f.defines}
        for name, names in f.containers:
            containers[name] = names
        out.append(f)
    return tuple(out)


def call_changes(call: Call, helpers: Mapping[str, FunctionInfo],
                 memo: dict[str, tuple[frozenset[str], frozenset[str]]] | None = None) -> set[str]:
    """The caller's variables that ``call`` of a helper changes: the ones passed for a changed
    parameter, and the globals the helper (or a helper it calls) changes. ``memo`` holds each
    helper's changes while ``helpers`` stays the same."""
    fi = helpers.get(call.name)
    if fi is None or fi.is_class:
        return set()
    params, globals_ = _changes(fi, helpers, {} if memo is None else memo)
    return set(globals_) | _handed(call, fi, params)


def _handed(call: Call, fi: FunctionInfo, params: frozenset[str] | set[str]) -> set[str]:
    """The names ``call`` passes for the parameters of ``fi`` in ``params`` (by position or
    keyword)."""
    return {name for key, name in call.passed
            if (fi.params[key] if isinstance(key, int) and key < len(fi.params) else key) in params}


def _changes(fi: FunctionInfo, helpers: Mapping[str, FunctionInfo],
             memo: dict[str, tuple[frozenset[str], frozenset[str]]]) -> tuple[frozenset[str], frozenset[str]]:
    """(parameters, globals) ``fi`` changes, its own and through the helpers it calls.

    Helpers calling each other in a cycle each change what the others hand back to them, so the
    helpers ``fi`` reaches are solved together, to a fixpoint, and all memoised at once: a helper
    memoised half-way through a cycle would answer differently depending on which one a cell
    called first."""
    done = memo.get(fi.name)
    if done is not None:
        return done
    reached: dict[str, FunctionInfo] = {}
    todo = [fi]
    while todo:
        g = todo.pop()
        if g.name in reached or g.name in memo:
            continue
        reached[g.name] = g
        todo.extend(callee for _, callee in _helper_calls(g, helpers) if callee.name not in reached)
    found = {name: (set(g.changed_params), set(g.changed_globals)) for name, g in reached.items()}
    grew = True
    while grew:  # the sets only grow and are bounded by each helper's names: this ends
        grew = False
        for name, g in reached.items():
            params, globals_ = found[name]
            before = len(params) + len(globals_)
            for inner, callee in _helper_calls(g, helpers):
                inner_params, inner_globals = memo.get(callee.name) or found[callee.name]
                for n in _handed(inner, callee, inner_params) | inner_globals:
                    if n in g.free_names:
                        globals_.add(n)
                    elif n in g.params:
                        params.add(n)  # a parameter handed on; the body's locals are not the caller's
            grew |= len(params) + len(globals_) != before
    for name, (params, globals_) in found.items():
        memo[name] = (frozenset(params), frozenset(globals_))
    return memo[fi.name]


def _helper_calls(fi: FunctionInfo, helpers: Mapping[str, FunctionInfo]) -> list[tuple[Call, FunctionInfo]]:
    """The calls in ``fi``'s body of a notebook helper (a plain name, not a class), with it."""
    return [(inner, callee) for inner in fi.calls
            if inner.receiver is None and (callee := helpers.get(inner.name)) is not None
            and not callee.is_class]


def merged_functions(functions: Sequence[FunctionInfo]) -> dict[str, FunctionInfo]:
    """One entry per name; a cell that defines ``f``, calls it, then redefines it may have run
    either body, so the free names, calls and changes of every definition count."""
    out: dict[str, FunctionInfo] = {}
    for fi in functions:
        seen = out.get(fi.name)
        out[fi.name] = fi if seen is None else replace(
            fi, free_names=seen.free_names | fi.free_names, calls=seen.calls + fi.calls,
            changed_params=seen.changed_params | fi.changed_params,
            changed_globals=seen.changed_globals | fi.changed_globals)
    return out
