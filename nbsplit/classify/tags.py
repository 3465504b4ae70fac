"""Signal: explicit marks. A ``nbsplit:<slug>`` cell tag or a first-line directive decides.

What: ``Cell.tags`` entries ``nbsplit:<slug>`` (nbformat ``metadata.tags``, Jupytext
``# %% tags=[...]``) and a ``# nbsplit: <slug>`` directive on the cell's first non-empty line
(after the magic line in a Databricks magic cell: ``%sql`` then ``-- nbsplit: eda``). Both give
confidence 1.0; a tag and a directive naming different stages are an error (NBS102), as in
``nbsplit check``. ``nbsplit:noqa`` (and ``nbsplit:noqa:NBS104``) are not stages.

Why: the person who wrote the notebook knows best; heuristics only fill in what they left open.
Typos must not silently fall back to a guess, so an unknown slug is an error that names the
closest valid one.

Example: tags ``["nbsplit:trainig"]`` -> error "unknown stage tag 'nbsplit:trainig' (did you
mean 'nbsplit:training'?)"; tags ``["nbsplit:eda"]`` -> eda, 1.0, origin ``tag``.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbsplit.model import ALL_SLUGS, Cell, Diagnostic, Origin, Stage

PREFIX = "nbsplit:"
NON_STAGE = ("noqa",)


@dataclass(frozen=True)
class Mark:
    stage: Stage
    origin: Origin
    reason: str


def _directive(cell: Cell) -> str | None:
    try:
        from nbsplit.read.tags import parse_directive
    except ImportError:  # pragma: no cover - the reader package ships with nbsplit
        return None
    return parse_directive(cell)


def _is_non_stage(slug: str) -> bool:
    head = slug.split(":", 1)[0]
    return head in NON_STAGE


def suggest(slug: str) -> str | None:
    import difflib

    close = difflib.get_close_matches(slug, ALL_SLUGS, n=1, cutoff=0.5)
    return close[0] if close else None


def explicit_mark(cell: Cell) -> tuple[Mark | None, list[Diagnostic]]:
    """The cell's explicit stage (tag first, then directive) and problems with its marks."""
    diags: list[Diagnostic] = []
    tag_stages: list[Stage] = []
    for tag in cell.tags:
        if not tag.lower().startswith(PREFIX):
            continue
        slug = tag[len(PREFIX):].strip().lower()
        if _is_non_stage(slug):
            continue
        if slug in ALL_SLUGS:
            if Stage(slug) not in tag_stages:
                tag_stages.append(Stage(slug))
            continue
        guess = suggest(slug)
        hint = f" (did you mean '{PREFIX}{guess}'?)" if guess else f" (valid: {', '.join(ALL_SLUGS)})"
        diags.append(Diagnostic("error", f"unknown stage tag '{tag}'{hint}", cell.index, "NBS101"))
    if len(tag_stages) > 1:
        names = ", ".join(PREFIX + s.value for s in tag_stages)
        diags.append(Diagnostic("error", f"cell has two different stage tags: {names}", cell.index, "NBS102"))

    raw = _directive(cell)
    directive_stage: Stage | None = None
    if raw is not None:
        slug = raw.strip().lower()
        if slug in ALL_SLUGS:
            directive_stage = Stage(slug)
        elif slug and not _is_non_stage(slug):
            guess = suggest(slug)
            hint = f" (did you mean 'nbsplit: {guess}'?)" if guess else f" (valid: {', '.join(ALL_SLUGS)})"
            diags.append(Diagnostic("error", f"unknown stage directive 'nbsplit: {raw.strip()}'{hint}", cell.index,
                                    "NBS101"))

    if tag_stages:
        if directive_stage is not None and directive_stage not in tag_stages:
            # An error, as in `nbsplit check` (NBS102): two marks naming different stages are a
            # mistake to fix, not something to settle silently by precedence.
            diags.append(Diagnostic(
                "error",
                f"tag '{PREFIX}{tag_stages[0].value}' and directive 'nbsplit: {directive_stage.value}' "
                "name different stages (keep one)",
                cell.index,
                "NBS102",
            ))
        return Mark(tag_stages[0], "tag", f"tagged {PREFIX}{tag_stages[0].value}"), diags
    if directive_stage is not None:
        return Mark(directive_stage, "directive", f"directive 'nbsplit: {directive_stage.value}'"), diags
    return None, diags
