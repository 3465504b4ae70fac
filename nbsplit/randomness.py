"""Global random generators the handoff cannot carry.

The split carries ``numpy.random``'s and ``random``'s global state between stages (the
``_nbsplit_rng`` handoff). Deep-learning frameworks keep global generators of their own:
``torch.manual_seed(0)`` in one stage and weights initialised or batches shuffled in another give
other numbers in the split than in the monolith. Where that happens the plan says so, naming the
cell that draws and the cell that seeded, and how to make it exact.
"""

from __future__ import annotations

from collections.abc import Sequence

from nbsplit.model import CellFacts, Diagnostic, StagePlan

__all__ = ["framework_rng_warnings"]

# qualified seed call -> (framework module prefixes whose calls may draw, how to seed again)
_SEEDS: dict[str, tuple[tuple[str, ...], str]] = {
    "torch.manual_seed": (("torch.",), "torch.manual_seed"),
    "torch.random.manual_seed": (("torch.",), "torch.manual_seed"),
    "torch.cuda.manual_seed_all": (("torch.",), "torch.manual_seed"),
    "tensorflow.random.set_seed": (("tensorflow.", "keras."), "tf.random.set_seed"),
    "tensorflow.keras.utils.set_random_seed": (("tensorflow.", "keras."), "tf.keras.utils.set_random_seed"),
    "keras.utils.set_random_seed": (("keras.", "tensorflow."), "keras.utils.set_random_seed"),
}


def _qualified(name: str, aliases: dict[str, str]) -> str:
    root, dot, rest = name.partition(".")
    base = aliases.get(root)
    return f"{base}{dot}{rest}" if base else name


def framework_rng_warnings(facts: Sequence[CellFacts | None], stages: Sequence[StagePlan]) -> list[Diagnostic]:
    """A warning for the first cell of each stage that calls a framework seeded in another stage."""
    stage_of = {c: sp.stage for sp in stages for c in sp.cells}
    holders: dict[int, set[object]] = {}  # a copied setup cell runs in several stages
    for sp in stages:
        for c in sp.cells:
            holders.setdefault(c, set()).add(sp.stage)
    aliases: dict[str, str] = {}
    seeded: dict[str, tuple[int, tuple[str, ...], str]] = {}  # seed call -> (cell, prefixes, advice)
    warned: set[tuple[str, object]] = set()
    out: list[Diagnostic] = []
    for c, f in enumerate(facts):
        if f is None:
            continue
        aliases.update(f.imports)
        names = [_qualified(call.name, aliases) for call in f.calls]
        for n in names:
            if n in _SEEDS:
                prefixes, advice = _SEEDS[n]
                seeded[n] = (c, prefixes, advice)
        for seed, (cell, prefixes, advice) in seeded.items():
            if c == cell or stage_of.get(c) is None or stage_of[c] in holders.get(cell, set()):
                continue
            if (seed, stage_of[c]) in warned or not any(n.startswith(prefixes) for n in names):
                continue
            warned.add((seed, stage_of[c]))
            out.append(Diagnostic(
                severity="warning", cell=c, code="NBS110", cells=(c, cell),
                message=(f"cell {c} ({stage_of[c]}) uses {prefixes[0].rstrip('.')} after cell {cell} "
                         f"({stage_of.get(cell)}) seeded its global generator with {seed}: the split "
                         f"carries numpy's and random's state, not this one, so random numbers may "
                         f"differ from the monolith's; call {advice}(...) again in this stage")))
    return out
