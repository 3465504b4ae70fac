"""Signal: user rules from ``[[tool.nbsplit.rules]]``, checked after tags, before heuristics.

What: ``call = "mycompany.features.*"`` matches (fnmatch, case-sensitive) the cell's resolved
call names (``pandas.read_csv``, ``df.fillna``); ``source = "spark\\.table\\(.*bronze"`` is a
regular expression searched in the cell source. The first matching rule decides the stage with
confidence 0.95, origin ``rule``.

Why: every team has in-house libraries (``mycompany.features.build``) that no curated table
knows; a rule teaches nbsplit about them once, in pyproject.toml.

Example: rule ``call = "acme.fs.*", stage = "featurization"`` and a cell calling
``acme.fs.publish(df)`` -> featurization, "user rule: call acme.fs.* -> featurization".
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Sequence

from nbsplit.classify.context import Context
from nbsplit.config import Rule
from nbsplit.model import Cell, CellFacts, Stage

CONFIDENCE = 0.95


@lru_cache(maxsize=256)
def _compiled(rule: Rule) -> re.Pattern[str]:
    if rule.call is not None:
        return re.compile(fnmatch.translate(rule.call))
    return re.compile(rule.source or "")


def match_rule(rules: Sequence[Rule], cell: Cell, facts: CellFacts | None, ctx: Context) -> Rule | None:
    if not rules or cell.kind != "code":
        return None
    names: list[str] | None = None
    for rule in rules:
        pattern = _compiled(rule)
        if rule.call is not None:
            if names is None:
                names = []
                for call in facts.calls if facts is not None else ():
                    resolved, _ = ctx.resolve(call.name)
                    names.append(resolved)
                    if resolved != call.name:
                        names.append(call.name)
            if any(pattern.match(n) for n in names):
                return rule
        elif pattern.search(cell.source):
            return rule
    return None


def rule_stage(rule: Rule) -> Stage:
    return rule.stage
