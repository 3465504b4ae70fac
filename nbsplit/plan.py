"""Split planning: which cells, loads, saves, imports and helpers each stage notebook gets.

``build_plan`` turns per-cell facts and classifications into a ``SplitPlan`` whose stage notebooks
each run alone in a fresh process and together compute what the monolith computed. The dataflow
rules live in ``nbsplit.dataflow`` (read its docstring); this module assembles the public objects,
the plan JSON (DESIGN.md's contract) and the per-cell placements the manifest needs.

Rules in short:
- ``skip`` cells go nowhere and do not run: the stages reproduce the notebook *without* them
  (a kept cell reading a value a skipped cell changed gets a warning).
- Markdown/raw cells go to their stage; ``setup`` markdown to the first stage notebook only.
- Import statements never cross as data: each stage gets the verbatim statements binding the
  names it uses (``StagePlan.imports``). An import-only setup cell is not copied anywhere.
- Other setup cells are copied, in source order, into every stage that uses a name they define
  (transitively); side-effect-only setup cells (seeds, options, installs, ``%matplotlib``) into
  every stage; display-only or unused ones into the first stage only.
- A setup cell that reads a value a pipeline cell computed is not shared setup: it moves to the
  stage of that value (warning; ``strict``: error, no move).
- Functions/classes defined in another stage's cell are copied as ``helpers``; calling one reads
  its free names at the call.
- Every other read of a value last written (defined *or mutated*) by another stage's cell is a
  ``Handoff`` of that exact version: the producer saves it right after the writing cell, the
  consumer loads it right before its first cell reading that version.
- A cell reading a value that only a later pipeline stage wrote before it moves to that stage
  (warning; ``strict``: error, no move). Handoffs therefore always go forward in pipeline order
  and the stage DAG (only real loads) is acyclic; stages with no loads between them are parallel.
- Hidden global random state is the handoff name ``_nbsplit_rng`` (``dataflow.RNG_STATE``).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

from nbsplit.dataflow import RNG_STATE, Flow, run
from nbsplit.randomness import framework_rng_warnings
from nbsplit.sparkuse import handed_off_draw_warnings
from nbsplit.model import (
    CellFacts,
    Classification,
    Diagnostic,
    Handoff,
    Notebook,
    SplitPlan,
    Stage,
    StagePlan,
)

__all__ = [
    "RNG_STATE", "Placement", "build_plan", "plan_to_json", "placements",
]


def build_plan(nb: Notebook, facts: Sequence[CellFacts | None],
               classifications: Sequence[Classification], diagnostics: Sequence[Diagnostic] = (),
               *, strict: bool = False) -> SplitPlan:
    """Plan the stage notebooks. ``facts``/``classifications`` have one entry per source cell
    (facts None for markdown/raw). The returned classifications carry every cell's final stage
    (moved cells have the reason appended); planning problems are diagnostics, never raised."""
    flow = run(nb, facts, classifications, strict=strict)
    stages = _stage_plans(flow)
    found = list(flow.diagnostics) + handed_off_draw_warnings(nb.cells, facts, stages)
    found += framework_rng_warnings(facts, stages)
    plan = SplitPlan(
        notebook=nb,
        facts=tuple(facts),
        classifications=tuple(flow.classifications),
        stages=stages,
        diagnostics=tuple(diagnostics) + _sorted_diagnostics(found),
        moves=dict(flow.moves),
    )
    _remember_flow(plan, flow)
    return plan


# The flow ``build_plan`` made each plan from, for ``placements``: replaying the engine on the
# plan's final stages gives the same cells, copies, imports, helpers and inline statements (no
# cell moves again; the stages decide every read), and that replay was a second whole dataflow
# run in ``convert`` (a fifth of it at 10,000 cells). The replay reads only the notebook, the
# facts and the classifications, so the flow is keyed by those three objects (immutable; kept
# while cached, so an id is not reused): ``convert`` hands on copies of the plan with other
# stages (``dataclasses.replace``), which still share them. Any other plan is replayed.
_FLOWS: dict[tuple[int, int, int], tuple[SplitPlan, Flow]] = {}
_MAX_FLOWS = 4


def _flow_key(plan: SplitPlan) -> tuple[int, int, int]:
    return id(plan.notebook), id(plan.facts), id(plan.classifications)


def _remember_flow(plan: SplitPlan, flow: Flow) -> None:
    while len(_FLOWS) >= _MAX_FLOWS:
        del _FLOWS[next(iter(_FLOWS))]
    _FLOWS[_flow_key(plan)] = (plan, flow)


def _flow_of(plan: SplitPlan) -> Flow:
    hit = _FLOWS.get(_flow_key(plan))
    if hit is not None and hit[0].notebook is plan.notebook and hit[0].facts is plan.facts \
            and hit[0].classifications is plan.classifications:
        return hit[1]
    return run(plan.notebook, plan.facts, plan.classifications, strict=True)


def _sorted_diagnostics(diags: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for d in diags:
        key = (d.cell, d.severity, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    # stable: by cell (whole-notebook ones first), then discovery order
    return tuple(sorted(out, key=lambda d: -1 if d.cell is None else d.cell))


def _stage_plans(flow: Flow) -> tuple[StagePlan, ...]:
    outs: dict[Stage, dict[str, Handoff]] = {s: {} for s in flow.emitted}
    for s in flow.emitted:
        for h in flow.handoffs_in[s]:
            # saved once per storage key, whoever loads it
            if h.producer in outs and h.key not in outs[h.producer]:
                outs[h.producer][h.key] = h
    plans = []
    for s in flow.emitted:
        ins = flow.handoffs_in[s]
        loads: dict[str, Stage] = {}
        for h in sorted(ins, key=lambda h: (h.version, h.name)):
            loads.setdefault(h.name, h.producer)
        out = sorted(outs[s].values(), key=lambda h: (h.version, h.name))
        saves: list[str] = []
        for h in out:
            if h.name not in saves:
                saves.append(h.name)
        plans.append(StagePlan(
            stage=s,
            cells=tuple(flow.cells[s]),
            loads=loads,
            saves=tuple(saves),
            depends_on=tuple(sorted({h.producer for h in ins} | {f.producer for f in flow.files_in.get(s, ())},
                                    key=lambda st: st.order)),
            handoffs_in=tuple(ins),
            handoffs_out=tuple(out),
            imports=tuple(dict.fromkeys(flow.imports[s].values())),
            helpers=tuple(dict.fromkeys(flow.helpers[s].values())),
            inline=tuple(flow.inline[s].values()),
            files_in=tuple(flow.files_in.get(s, ())),
        ))
    return tuple(plans)


def plan_to_json(plan: SplitPlan) -> dict[str, Any]:
    """DESIGN.md's plan JSON, plus per stage ``handoffs`` (each load with its version and the cell
    it is loaded before), ``files`` (each file it names after another stage's cell wrote it),
    ``imports`` and ``helpers`` (verbatim source), and ``mlflow``: the models, metrics, main
    model and primary metric the instrumentation logs (:class:`nbsplit.mlfacts.MLFacts`)."""
    from nbsplit.mlfacts import ml_facts

    kinds = {c.index: c.kind for c in plan.notebook.cells}
    return {
        "source": str(plan.notebook.path),
        "cells": [
            {"index": c.index, "cell_type": kinds.get(c.index, "code"), "stage": c.stage.value,
             "confidence": c.confidence, "origin": c.origin, "reasons": list(c.reasons)}
            for c in plan.classifications
        ],
        "stages": [
            {"name": sp.stage.value,
             "cells": list(sp.cells),
             "loads": {n: st.value for n, st in sp.loads.items()},
             "saves": list(sp.saves),
             "depends_on": [d.value for d in sp.depends_on],
             "handoffs": [{"name": h.name, "version": h.version, "from": h.producer.value,
                           "before_cell": h.before_cell} for h in sp.handoffs_in],
             "files": [{"path": f.path, "from": f.producer.value, "written_by": f.writer,
                        "before_cell": f.before_cell} for f in sp.files_in],
             "imports": list(sp.imports),
             "helpers": list(sp.helpers),
             "inline": [{"before_cell": c, "source": text} for c, text in sp.inline]}
            for sp in plan.stages
        ],
        "diagnostics": [
            {"cell": d.cell, "severity": d.severity, "message": d.message, "code": d.code,
             "cells": list(d.cells), "names": list(d.names)}
            for d in plan.diagnostics
        ],
        "placement": placement_summary(plan),
        "mlflow": ml_facts(plan).to_json(),
    }


def placement_summary(plan: SplitPlan) -> dict[str, int]:
    """How many cells the dataflow constraints put elsewhere than the classifier did."""
    counts = {"changed": len(plan.moves), "forward": 0, "back": 0, "eda": 0}
    for how in plan.moves.values():
        counts[how] += 1
    return counts


class Placement(NamedTuple):
    """Where (part of) a source cell ends up. ``how``:
    ``cell``    the cell itself is in that stage notebook (its own stage; setup markdown),
    ``copy``    a setup cell copied into that stage notebook,
    ``imports`` some of its import statements are in that stage's generated imports cell,
    ``helper``  some of its def/class statements are in that stage's generated helpers cell."""

    stage: Stage
    how: str


def placements(plan: SplitPlan) -> dict[int, tuple[Placement, ...]]:
    """Every source cell -> where it lands, in pipeline order (empty for skipped cells and unused
    import-only setup cells). The flow that built the plan, or for a plan built elsewhere one
    recomputed from its final classifications (stable: no cell moves again), so it needs nothing
    beyond the ``SplitPlan``."""
    flow = _flow_of(plan)
    out: dict[int, list[Placement]] = {c.index: [] for c in plan.notebook.cells}
    for s in flow.emitted:
        copies = flow.copies[s]
        for i in flow.cells[s]:
            out[i].append(Placement(s, "copy" if i in copies else "cell"))
        inline = {k: text for k, (_, text) in flow.inline[s].items()}
        for how, table in (("imports", flow.imports[s]), ("helper", flow.helpers[s]), ("helper", inline)):
            for cell in dict.fromkeys(k[0] for k in table):
                if Placement(s, how) not in out[cell]:
                    out[cell].append(Placement(s, how))
    return {i: tuple(v) for i, v in out.items()}
