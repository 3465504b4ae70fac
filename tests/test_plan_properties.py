"""Property tests of the split plan: random straight-line notebooks, split, then *run*.

Each generated notebook is a list of cells made of tiny statements (assignments, in-place
mutations, imports, helper definitions and calls, prints, global RNG draws and seeds) over a pool
of names, with random stages (setup and skip included). The source is real Python, analysed by
``nbsplit.analyze``; a small evaluator runs the same statements with values that record how they
were computed (which cell, from which inputs), so two runs agree exactly when every cell saw the
same inputs. We run the monolith (without its skipped cells: the split promises to reproduce the
notebook without them) and every stage notebook as the plan describes it, each in a fresh
environment that only has its imports, helpers, loads and its own cells, and compare what every
cell read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nbsplit.analyze import analyze_notebook
from nbsplit.model import Cell, Classification, Notebook, SplitPlan, Stage
from nbsplit.plan import RNG_STATE, build_plan, placements, plan_to_json

DATA = ("a", "b", "c", "d", "e")
HELPERS = ("f", "g")
IMPORTS = {"np": "import numpy as np", "pd": "import pandas as pd",
           "sqrt": "from math import sqrt"}
IMPORT_TEXT = {text: name for name, text in IMPORTS.items()}
STAGES = ("data-prep", "data-prep", "eda", "eda", "featurization", "training", "training",
          "evaluation", "prediction", "monitoring", "setup", "setup", "skip")
UNDEF = ("<undefined>",)
RNG0 = ("unseeded",)


@dataclass(frozen=True)
class Stmt:
    kind: str  # const tuple aug append setitem import def call print draw seed npuse
    target: str = ""
    args: tuple[str, ...] = ()
    k: int = 0
    calls: tuple[str, ...] = ()  # def: helpers its body calls
    rng: bool = False  # def: its body draws from the global RNG

    def source(self) -> str:
        x, a, k = self.target, self.args, self.k
        match self.kind:
            case "const":
                return f"{x} = {k}"
            case "tuple":
                return f"{x} = ({', '.join(a)}, {k})"
            case "aug":
                return f"{x} += ({a[0]}, {k})"
            case "append":
                return f"{x}.append({a[0]})"
            case "setitem":
                return f"{x}['k{k}'] = {a[0]}"
            case "import":
                return IMPORTS[x]
            case "def":
                body = ["v", *a, *(f"{g}(v)" for g in self.calls)]
                if self.rng:
                    body.append("np.random.rand()")
                return f"def {x}(v):\n    return ({', '.join(body)}, {k})"
            case "call":
                return f"{x} = {a[0]}({a[1]})"
            case "print":
                return f"print({', '.join(a)})"
            case "draw":
                return f"{x} = np.random.rand()"
            case "seed":
                return f"np.random.seed({k})"
            case "npuse":
                return f"{x} = np.asarray({a[0]})"
        raise AssertionError(self.kind)


@dataclass
class Program:
    stages: list[str]
    cells: list[list[Stmt]]  # empty list + markdown flag for cells without statements
    markdown: set[int] = field(default_factory=set)  # every cell without code (the three below)
    raw: set[int] = field(default_factory=set)  # ... of which raw cells
    blank: set[int] = field(default_factory=set)  # ... of which empty code cells
    tagged: set[int] = field(default_factory=set)  # cells whose stage is an explicit tag

    def notebook(self) -> tuple[Notebook, tuple, tuple]:
        cells = []
        for i, stmts in enumerate(self.cells):
            if i in self.blank:
                cells.append(Cell(index=i, kind="code", source="\n" if i % 2 else ""))
            elif i in self.raw:
                cells.append(Cell(index=i, kind="raw", source=f"raw {i}"))
            elif i in self.markdown:
                cells.append(Cell(index=i, kind="markdown", source=f"## section {i}"))
            else:
                cells.append(Cell(index=i, kind="code",
                                  source="\n".join(s.source() for s in stmts)))
        nb = Notebook(path=Path("generated.ipynb"), format="ipynb", cells=tuple(cells))
        classes = tuple(Classification(index=i, stage=Stage(s), confidence=1.0, origin="tag")
                        if i in self.tagged else
                        Classification(index=i, stage=Stage(s), confidence=0.5, origin="heuristic")
                        for i, s in enumerate(self.stages))
        return nb, analyze_notebook(nb), classes


@st.composite
def programs(draw: Any) -> Program:
    n = draw(st.integers(5, 25))
    stages = [draw(st.sampled_from(STAGES)) for _ in range(n)]
    defined: set[str] = set()  # data names defined by kept cells so far
    helpers: dict[str, Stmt] = {}
    imported: set[str] = set()
    counter = iter(range(1000, 100000))
    cells: list[list[Stmt]] = []
    markdown: set[int] = set()
    for i in range(n):
        if draw(st.integers(0, 6)) == 0:
            markdown.add(i)
            cells.append([])
            continue
        avail = set(defined)
        hl = dict(helpers)
        imp = set(imported)
        stmts: list[Stmt] = []
        display = draw(st.integers(0, 5)) == 0 and avail
        for _ in range(1 if display else draw(st.integers(1, 3))):
            kinds = ["const", "import", "def"]
            if avail:
                kinds += ["tuple", "tuple", "aug", "append", "setitem", "print"]
                if hl:
                    kinds += ["call", "call"]
                if "np" in imp:
                    kinds += ["npuse", "draw", "seed"]
            if display:
                kinds = ["print"]
            kind = draw(st.sampled_from(kinds))
            names = sorted(avail)
            k = next(counter)
            if kind == "const":
                s = Stmt("const", draw(st.sampled_from(DATA)), k=k)
            elif kind == "tuple":
                args = tuple(draw(st.lists(st.sampled_from(names), min_size=1, max_size=2)))
                s = Stmt("tuple", draw(st.sampled_from(DATA)), args, k)
            elif kind in ("aug", "append", "setitem"):
                s = Stmt(kind, draw(st.sampled_from(names)), (draw(st.sampled_from(names)),), k)
            elif kind == "print":
                s = Stmt("print", args=tuple(draw(
                    st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))))
            elif kind == "import":
                s = Stmt("import", draw(st.sampled_from(sorted(IMPORTS))))
            elif kind == "def":
                name = draw(st.sampled_from(HELPERS))
                free = tuple(draw(st.lists(st.sampled_from(names), max_size=2, unique=True))) \
                    if names else ()
                callees = tuple(h for h in sorted(hl) if h != name and draw(st.booleans()))
                rng = "np" in imp and draw(st.integers(0, 3)) == 0
                s = Stmt("def", name, free, k, callees, rng)
            elif kind == "call":
                s = Stmt("call", draw(st.sampled_from(DATA)),
                         (draw(st.sampled_from(sorted(hl))), draw(st.sampled_from(names))), k)
            elif kind in ("draw", "npuse"):
                s = Stmt(kind, draw(st.sampled_from(DATA)),
                         (draw(st.sampled_from(names)),) if kind == "npuse" else (), k)
            else:
                s = Stmt("seed", k=k)
            stmts.append(s)
            if s.kind in ("const", "tuple", "call", "draw", "npuse"):
                avail.add(s.target)
            elif s.kind == "def":
                hl[s.target] = s
            elif s.kind == "import":
                imp.add(s.target)
        cells.append(stmts)
        if stages[i] != "skip":
            defined, helpers, imported = avail, hl, imp
    for i in markdown:  # markdown cannot be skip-only noise: keep it in a stage or setup
        if stages[i] == "skip" and draw(st.booleans()):
            stages[i] = "eda"
    # Cells without code come as markdown, raw or empty code cells, often tagged with a stage
    # no code cell has: such a cell must still land somewhere (or be listed as placed nowhere).
    raw, blank, tagged = set(), set(), set()
    code_stages = {stages[i] for i in range(n) if i not in markdown}
    lonely = sorted(s for s in set(STAGES) - code_stages - {"setup", "skip"})
    for i in sorted(markdown):
        kind = draw(st.sampled_from(("markdown", "markdown", "raw", "blank")))
        if kind == "raw":
            raw.add(i)
        elif kind == "blank":
            blank.add(i)
        if draw(st.booleans()):
            tagged.add(i)
            if lonely and draw(st.booleans()):
                stages[i] = draw(st.sampled_from(lonely))
    return Program(stages, cells, markdown, raw, blank, tagged)


# --------------------------------------------------------------------------- the evaluator

class Env:
    """One Python process: names -> values, plus the record of what each cell read."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.vars: dict[str, Any] = {RNG_STATE: RNG0}
        self.record: list[tuple[str, Any]] = []

    def get(self, name: str) -> Any:
        value = self.vars.get(name, UNDEF)
        self.record.append((name, value))
        return value

    def call(self, fn: Any, arg: Any, depth: int = 0) -> Any:
        if fn is UNDEF or fn[0] != "fn" or depth > 4:
            return ("bad-call", fn, arg)
        _, cell, pos = fn
        d = self.program.cells[cell][pos]
        seen = [self.get(n) for n in d.args]
        seen += [self.call(self.get(g), arg, depth + 1) for g in d.calls]
        if d.rng:
            self.get("np")
            state = self.get(RNG_STATE)
            self.vars[RNG_STATE] = ("after", state)
            seen.append(("draw", state))
        return ("ret", fn, arg, tuple(seen))

    def run_cell(self, index: int) -> list[tuple[str, Any]]:
        self.record = []
        for pos, s in enumerate(self.program.cells[index]):
            here = (index, pos)
            match s.kind:
                case "const":
                    self.vars[s.target] = ("const", here)
                case "tuple":
                    self.vars[s.target] = ("tuple", here, tuple(self.get(a) for a in s.args))
                case "aug" | "append" | "setitem":
                    old = self.get(s.target)
                    self.vars[s.target] = ("mut", here, old, self.get(s.args[0]))
                case "import":
                    self.vars[s.target] = ("module", IMPORTS[s.target])
                case "def":
                    self.vars[s.target] = ("fn", index, pos)
                case "call":
                    fn = self.get(s.args[0])
                    self.vars[s.target] = self.call(fn, self.get(s.args[1]))
                case "print":
                    for a in s.args:
                        self.get(a)
                case "draw":
                    self.get("np")
                    state = self.get(RNG_STATE)
                    self.vars[s.target] = ("draw", state)
                    self.vars[RNG_STATE] = ("after", state)
                case "seed":
                    self.get("np")
                    self.vars[RNG_STATE] = ("seed", s.k)
                case "npuse":
                    self.vars[s.target] = ("np", self.get("np"), self.get(s.args[0]))
        return self.record


def run_monolith(program: Program) -> dict[int, list[tuple[str, Any]]]:
    env = Env(program)
    return {i: env.run_cell(i) for i, s in enumerate(program.stages)
            if s != "skip" and i not in program.markdown}


def def_of_text(program: Program, text: str) -> tuple[str, Any]:
    for i, stmts in enumerate(program.cells):
        for pos, s in enumerate(stmts):
            if s.kind == "def" and s.source() == text:
                return s.target, ("fn", i, pos)
    raise AssertionError(f"helper text not from any cell: {text!r}")


def dag_order(plan: SplitPlan) -> list:
    """Stages in an order where every producer runs before its consumers (eda runs beside the
    main line, after whatever it looks at)."""
    done: list = []
    pending = list(plan.stages)
    while pending:
        ready = next(sp for sp in pending if all(d in {x.stage for x in done} for d in sp.depends_on))
        done.append(ready)
        pending.remove(ready)
    return done


def run_split(program: Program, plan: SplitPlan) -> dict[int, list[list[tuple[str, Any]]]]:
    store: dict[str, Any] = {}
    seen: dict[int, list[list[tuple[str, Any]]]] = {}
    for sp in dag_order(plan):
        env = Env(program)
        for text in sp.imports:
            name = IMPORT_TEXT[text]
            env.vars[name] = ("module", IMPORTS[name])
        for text in sp.helpers:
            name, value = def_of_text(program, text)
            env.vars[name] = value
        for index in sp.cells:
            if index in program.markdown:
                continue
            for before, text in sp.inline:  # a second version, right before its first reader
                if before == index:
                    if text in IMPORT_TEXT:
                        env.vars[IMPORT_TEXT[text]] = ("module", IMPORTS[IMPORT_TEXT[text]])
                    else:
                        name, value = def_of_text(program, text)
                        env.vars[name] = value
            for h in sp.handoffs_in:
                if h.before_cell == index:
                    assert h.key in store, f"{sp.stage} loads {h.key} before anyone saved it"
                    env.vars[h.name] = store[h.key]
            seen.setdefault(index, []).append(env.run_cell(index))
            for h in sp.handoffs_out:
                if h.version == index:
                    store[h.key] = env.vars.get(h.name, UNDEF)
    return seen


# --------------------------------------------------------------------------- properties

CONFLICTS = ("cannot reproduce those numbers",)  # eda drew from the global RNG the main line uses


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_split_reproduces_the_monolith(program: Program) -> None:
    nb, facts, classes = program.notebook()
    plan = build_plan(nb, facts, classes)

    # deterministic
    again = build_plan(nb, facts, classes)
    assert json.dumps(plan_to_json(plan)) == json.dumps(plan_to_json(again))

    final = [c.stage for c in plan.classifications]
    # moves go to later pipeline stages (or setup -> a pipeline stage), except a producer pulled
    # back to the stage of a cell that reads it, which says so
    for before, after, now in zip(classes, final, plan.classifications):
        if before.stage != after and any(r.startswith("moved back to") for r in now.reasons):
            assert after.is_pipeline and now.origin == "dataflow"
        elif before.stage != after:
            assert after.is_pipeline
            assert before.stage in (Stage.SETUP, Stage.EDA) or after.order > before.stage.order \
                or before.stage.is_pipeline and not any(
                    sp.stage is before.stage for sp in plan.stages)

    # every cell lands exactly once, setup cells possibly several times, skipped cells never
    where = placements(plan)
    for i, cell in enumerate(nb.cells):
        as_cell = [p for p in where[i] if p.how in ("cell", "copy")]
        if final[i] is Stage.SKIP:
            assert where[i] == ()
        elif final[i] is Stage.SETUP:
            assert all(p.how == ("cell" if cell.kind != "code" else "copy")
                       for p in as_cell)
        elif plan.stages:
            assert [p.stage for p in as_cell] == [final[i]]
            assert as_cell[0].how == "cell"
        in_stages = [sp.stage for sp in plan.stages if i in sp.cells]
        assert in_stages == [p.stage for p in as_cell]

    # loads/saves/depends_on agree with the handoffs; the DAG goes forward only
    for sp in plan.stages:
        assert set(sp.loads) == {h.name for h in sp.handoffs_in}
        assert set(sp.saves) == {h.name for h in sp.handoffs_out}
        assert list(sp.depends_on) == sorted({h.producer for h in sp.handoffs_in},
                                             key=lambda s: s.order)
        # eda looks at any stage and feeds none; the main line only reads earlier stages
        if sp.stage is Stage.EDA:
            assert all(h.producer is not Stage.EDA for h in sp.handoffs_in)
        else:
            assert all(h.producer is not Stage.EDA and h.producer.order < sp.stage.order
                       for h in sp.handoffs_in)
        assert all(h.before_cell in sp.cells for h in sp.handoffs_in)
        assert len({h.key for h in sp.handoffs_out}) == len(sp.handoffs_out)
        assert list(sp.cells) == sorted(sp.cells)

    assume(not any(c in d.message for d in plan.diagnostics for c in CONFLICTS))
    assert not plan.has_errors

    # the semantic check: every cell sees exactly the inputs it saw in the monolith
    reference = run_monolith(program)
    split = run_split(program, plan)
    for i, record in reference.items():
        if final[i] is Stage.SETUP and i not in split:
            continue  # a setup cell no stage needs
        assert i in split, f"cell {i} runs in no stage"
        for run in split[i]:
            assert run == record, f"cell {i} ({final[i]}) saw different inputs"
        if final[i] is not Stage.SETUP:
            assert len(split[i]) == 1


@settings(max_examples=100, deadline=None)
@given(programs())
def test_strict_never_moves_and_reports_each_backward_read(program: Program) -> None:
    nb, facts, classes = program.notebook()
    lenient = build_plan(nb, facts, classes)
    strict = build_plan(nb, facts, classes, strict=True)
    moved = [c.index for c, o in zip(lenient.classifications, classes)
             if c.stage != o.stage and "has no code cells" not in c.reasons[-1]]
    errors = sorted({d.cell for d in strict.diagnostics if d.severity == "error"})
    # strict reports iff lenient moves (lenient may move other cells than the reported ones: a
    # producer pulled back, a move cascading to the cells it reads from or feeds)
    assert bool(errors) == bool(moved)
    assert all(c.stage == o.stage or "has no code cells" in c.reasons[-1]
               for c, o in zip(strict.classifications, classes))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_manifest_accounts_for_every_cell(program: Program) -> None:
    """Every source cell has one manifest entry with the plan's stage; a cell of a pipeline stage
    is in a stage notebook (or its generated imports/helpers), and a cell placed nowhere (skip,
    setup no stage uses) says why. Tagged markdown/raw/blank cells of stages without code too."""
    from nbsplit.errors import NbsplitError
    from nbsplit.render.manifest import manifest
    from nbsplit.render.notebooks import RenderOptions, render_stages

    nb, facts, classes = program.notebook()
    plan = build_plan(nb, facts, classes)
    assume(not plan.has_errors)
    try:
        stages = render_stages(plan, RenderOptions(out=Path("out"), fmt="ipynb"))
    except NbsplitError:  # pragma: no cover - rendering a valid plan does not fail
        raise
    assume(stages)
    data = manifest(plan, stages, Path("out"), {})
    entries = data["cells"]
    assert [e["index"] for e in entries] == list(range(len(nb.cells)))
    files = {s.file for s in stages}
    for entry, cell in zip(entries, nb.cells):
        stage = Stage(entry["stage"])
        assert stage is plan.stage_of(cell.index)
        placed = entry["file"] is not None or bool(entry.get("generated"))
        if entry["file"] is not None:
            assert entry["file"] in files
        if stage.is_pipeline:
            assert placed, f"cell {cell.index} ({cell.kind}, {stage}) is in no stage notebook"
            assert "unplaced" not in entry
        elif not placed:
            assert entry["unplaced"], f"cell {cell.index} is placed nowhere without a reason"
