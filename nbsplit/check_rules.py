"""The rules of ``nbsplit check`` and the per-cell marks they read (tags, directives, noqa).

=======  ========  ===========================================================================
code     severity  problem
=======  ========  ===========================================================================
NBS100   error     the file cannot be read as a notebook (the reader's message)
                   or is input plan/convert refuse (a reserved ``_nbsplit_`` name; their message)
NBS101   error     unknown or misspelled ``nbsplit:`` tag or ``# nbsplit:`` directive; the
                   closest valid slug is suggested (``nbsplit:trainig`` -> ``nbsplit:training``)
NBS102   error     one cell carries two different stage tags/directives
NBS103   error     untagged non-empty code cell while tags are required (``--require-tags`` or
                   ``require-tags = true`` in ``[tool.nbsplit]``)
NBS104   warning   untagged cell whose inferred stage has a confidence below the threshold
                   (only without required tags; fails only with ``--strict``)
NBS105   error     backward dependency: a cell reads a name that only a later stage defines
                   (a warning when a cell involved has an inferred stage: convert places it)
NBS106   error     a cycle between stages (a warning when a cell on the loop is inferred)
NBS107   error     the converted stages folder (``--stages DIR``) is stale: the notebook changed
NBS108   error     the stages folder is missing, has no manifest, or was made from another file
NBS115   warning   a local-file MLflow tracking URI (``mlflow.set_tracking_uri("sqlite:///mlflow.db")``,
                   ``file:``, a path): the runs stay on one machine; on Databricks the workspace
                   tracks, and ``nbsplit run`` logs nbsplit's runs to its own store
NBS116   warning   a code cell nbsplit cannot parse as Python (a syntax error after IPython's own
                   transforms, or nesting too deep): the split cannot see what it reads or writes
=======  ========  ===========================================================================

The planner's diagnostics carry codes too (``Diagnostic.code``, with the cells and names
involved in ``cells``/``names``), shown by ``plan`` and ``convert``; ``check`` plans strictly, so
of these it reports NBS105/NBS106 (and NBS116, which the classifier gives):

=======  ===========================================================================
NBS109   a cell the dataflow constraints moved (reader moved on, producer pulled back, eda
         cell joined its use)
NBS110   a draw from the global random state the split cannot reproduce exactly
NBS111   an import or definition a stage cannot get as the monolith had it
NBS112   a name read before, or without, any kept definition
NBS113   no code cell belongs to a pipeline stage
NBS114   an in-place change through an alias (``df = raw``) that a stage cannot follow
NBS116   a code cell nbsplit cannot parse as Python: classified from its text only (the
         check rule above)
=======  ===========================================================================

The classifier's warning for a cell below the confidence threshold carries NBS104, the rule
``check`` reports for the same cell.

Warnings do not change the exit code unless ``strict``; every error does (exit 1). A rule is
switched off for the whole project with ``ignore = ["NBS104"]`` in ``[tool.nbsplit]``, and for
one cell with the tag ``nbsplit:noqa`` (every rule) or ``nbsplit:noqa=NBS104`` (listed rules,
comma separated), or with the directive comment ``# nbsplit: noqa`` / ``# nbsplit: noqa=NBS104``
on one of the cell's first comment lines (the only way in a Databricks source file).

The marks are read leniently on purpose: a checker exists to catch ``nbslpit:eda`` and
``# nbsplit: trainig``, which a strict parser would simply not see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nbsplit.model import ALL_SLUGS, Cell, Severity, Stage

__all__ = [
    "RULES",
    "Rule",
    "CellMarks",
    "scan_cell",
    "closest_slug",
    "TAG_PREFIX",
]

TAG_PREFIX = "nbsplit"


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    summary: str


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule("NBS100", "error", "file cannot be read as a notebook"),
        Rule("NBS101", "error", "unknown or misspelled nbsplit: tag or directive"),
        Rule("NBS102", "error", "cell has two different stage tags"),
        Rule("NBS103", "error", "untagged code cell while tags are required"),
        Rule("NBS104", "warning", "untagged cell classified below the confidence threshold"),
        Rule("NBS105", "error", "backward dependency between stages"),
        Rule("NBS106", "error", "cycle between stages"),
        Rule("NBS107", "error", "converted stages folder is stale"),
        Rule("NBS108", "error", "stages folder missing, without manifest, or for another notebook"),
        Rule("NBS115", "warning", "local-file MLflow tracking URI (not portable)"),
        Rule("NBS116", "warning", "code cell that does not parse as Python"),
    )
}

# `prefix: value` / `prefix:value` / `prefix = value`, prefix being a word such as nbsplit.
_MARK_RE = re.compile(r"^\s*([A-Za-z][\w.-]*)\s*[:=]\s*(.*?)\s*$")
_COMMENT_RE = re.compile(r"^\s*(#|--|//)(.*)$")
_NOQA_RE = re.compile(r"^noqa(?:\s*[=:]\s*(.*))?$", re.IGNORECASE)
_CODE_RE = re.compile(r"^NBS\d{3}$")
# Words people use for a stage; only used to suggest the slug (never accepted silently).
_ALIASES = {
    "data_prep": "data-prep", "dataprep": "data-prep", "data-preparation": "data-prep",
    "preprocessing": "data-prep", "prep": "data-prep", "cleaning": "data-prep", "etl": "data-prep",
    "exploration": "eda", "explore": "eda", "analysis": "eda",
    "features": "featurization", "feature": "featurization", "feature-engineering": "featurization",
    "feature_engineering": "featurization", "featurisation": "featurization",
    "train": "training", "model": "training", "modeling": "training", "modelling": "training",
    "eval": "evaluation", "evaluate": "evaluation", "metrics": "evaluation", "validation": "evaluation",
    "predict": "prediction", "inference": "prediction", "scoring": "prediction", "score": "prediction",
    "predictions": "prediction", "monitor": "monitoring", "drift": "monitoring",
    "imports": "setup", "config": "setup", "init": "setup", "ignore": "skip", "skipped": "skip",
}


@dataclass(frozen=True)
class BadMark:
    """A mark that looks meant for nbsplit but is not valid, with what to write instead."""

    text: str  # as written: 'nbsplit:trainig' or '# nbsplit: trainig'
    kind: str  # 'tag' or 'directive'
    suggestion: str | None  # the full corrected mark, or None when nothing is close


@dataclass(frozen=True)
class CellMarks:
    """What a cell says about itself: stage slugs (tags and directives), noqa, bad marks."""

    stages: tuple[str, ...] = ()  # valid slugs, in order found, duplicates removed
    noqa_all: bool = False
    noqa_codes: frozenset[str] = frozenset()
    bad: tuple[BadMark, ...] = field(default=())

    @property
    def tagged(self) -> bool:
        return bool(self.stages)

    def suppresses(self, code: str) -> bool:
        return self.noqa_all or code in self.noqa_codes


def closest_slug(word: str) -> str | None:
    """The valid slug closest to ``word`` (case, ``_``/``-``, aliases and typos), or None."""
    norm = word.strip().lower()
    if norm in ALL_SLUGS:
        return norm
    dashed = norm.replace("_", "-").replace(" ", "-")
    if dashed in ALL_SLUGS:
        return dashed
    if norm in _ALIASES:
        return _ALIASES[norm]
    if dashed in _ALIASES:
        return _ALIASES[dashed]
    import difflib  # only for a near miss: its import is a few ms of every hook process

    match = difflib.get_close_matches(dashed, [*ALL_SLUGS, *_ALIASES], n=1, cutoff=0.6)
    if not match:
        return None
    return _ALIASES.get(match[0], match[0])


def _prefix_is_nbsplit(prefix: str, value: str) -> bool | None:
    """True: exactly nbsplit; None: a near miss (nbslpit, nb-split, NBSplit); False: unrelated.

    Comments such as ``# split: 80/20`` are common in notebooks, so a prefix that does not
    start with ``nb`` only counts as a near miss when the value is exactly a stage slug.
    """
    if prefix == TAG_PREFIX:
        return True
    squashed = prefix.lower().replace("-", "").replace("_", "")
    if squashed == TAG_PREFIX:
        return None
    import difflib

    ratio = difflib.SequenceMatcher(None, squashed, TAG_PREFIX).ratio()
    if squashed.startswith("nb") and ratio >= 0.75:
        return None
    if ratio >= 0.8 and value.strip() in ALL_SLUGS:
        return None
    return False


def _leading_comments(cell: Cell) -> list[tuple[str, str]]:
    """(comment marker, text) of the comment lines before the cell's first line of code.

    Magic lines are skipped, so ``%sql`` followed by ``-- nbsplit: eda`` is read too.
    """
    out = []
    for line in cell.source.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("%", "!")):
            continue
        m = _COMMENT_RE.match(line)
        if not m:
            break
        out.append((m.group(1), m.group(2)))
    return out


def _parse_noqa(value: str) -> tuple[bool, frozenset[str], list[str]] | None:
    """(all rules?, codes, unknown codes) for a ``noqa[=codes]`` value, None if not a noqa."""
    m = _NOQA_RE.match(value.strip())
    if not m:
        return None
    if not m.group(1) or not m.group(1).strip():
        return True, frozenset(), []
    codes = [c.strip().upper() for c in re.split(r"[,\s]+", m.group(1)) if c.strip()]
    unknown = [c for c in codes if not _CODE_RE.match(c) or c not in RULES]
    return False, frozenset(c for c in codes if c in RULES), unknown


def scan_cell(cell: Cell) -> CellMarks:
    """Read a cell's ``nbsplit:`` tags and ``# nbsplit:`` directives (leniently).

    A tag or directive holds one value: a stage slug, ``noqa`` or ``noqa=NBS104,NBS105``.
    A Databricks cell that needs both a stage and a noqa puts them on two comment lines.
    """
    stages: list[str] = []
    bad: list[BadMark] = []
    noqa_all = False
    noqa_codes: set[str] = set()

    def take(value: str, written: str, kind: str, marker: str, exact: bool) -> None:
        nonlocal noqa_all
        value = value.strip()
        fmt = f"{TAG_PREFIX}:{{}}" if kind == "tag" else f"{marker} {TAG_PREFIX}: {{}}"
        noqa = _parse_noqa(value)
        if noqa is not None:
            all_rules, codes, unknown = noqa
            if unknown:
                bad.append(BadMark(written, kind, None))
            elif exact:
                noqa_all = noqa_all or all_rules
                noqa_codes.update(codes)
            else:
                bad.append(BadMark(written, kind, fmt.format(value)))
            return
        # The classifier lower-cases slugs, so 'nbsplit:Training' is honoured as training.
        if exact and value.lower() in ALL_SLUGS:
            if value.lower() not in stages:
                stages.append(value.lower())
            return
        slug = closest_slug(value) if value else None
        bad.append(BadMark(written, kind, fmt.format(slug) if slug else None))

    for tag in cell.tags:
        if not isinstance(tag, str):
            continue
        m = _MARK_RE.match(tag)
        if not m:
            continue
        verdict = _prefix_is_nbsplit(m.group(1), m.group(2))
        if verdict is False:
            continue
        # Honoured spelling (as the classifier reads it): 'nbsplit:<value>', prefix in any case,
        # spaces around the value tolerated; 'nbsplit = eda' or 'nbslpit:eda' are near misses.
        exact = tag.lower().startswith(f"{TAG_PREFIX}:")
        take(m.group(2), tag, "tag", "#", exact)

    if cell.kind == "code":
        for marker, comment in _leading_comments(cell):
            m = _MARK_RE.match(comment)
            if not m or ":" not in comment:
                continue
            verdict = _prefix_is_nbsplit(m.group(1), m.group(2))
            if verdict is False:
                continue
            # The keyword is case-insensitive in directives ('#NBSplit: eda' is honoured).
            exact = verdict is True or m.group(1).lower() == TAG_PREFIX
            take(m.group(2), f"{marker}{comment}".strip(), "directive", marker, exact)

    return CellMarks(tuple(stages), noqa_all, frozenset(noqa_codes), tuple(bad))


def stage_of_slug(slug: str) -> Stage:
    return Stage(slug)
