"""``nbsplit check``: keep a team's notebooks splittable (a linter, made for pre-commit).

Each notebook is read, its marks scanned (``nbsplit.check_rules``), then analysed, classified
and planned with ``strict=True``, so a backward dependency is reported instead of silently
moving a cell; it is an error only between cells whose stages a person decided (tags,
directives, configured rules), a warning when one of them is the classifier's guess. With
``stages_dir`` the converted folder's manifest must name the notebook and hold its current
sha256 (DIR is one converted folder, or a folder of converted folders); without it, converted
folders next to the notebook whose manifest names it are checked for staleness too, so the
pre-commit hook needs no settings. Stage notebooks inside a converted folder are generated
output and skipped. The rules and their codes are documented in ``nbsplit.check_rules``.

Output is one line per problem, in the format linters use::

    nb.ipynb:cell 7: NBS101 unknown stage tag 'nbsplit:trainig' (did you mean 'nbsplit:training'?)
    nb.ipynb: NBS107 stages folder pipelines/churn is stale: ... (re-run nbsplit convert ...)
    2 problems (2 errors, 0 warnings) in 1 file

Exit code (``CheckReport.exit_code``): 1 when any error is reported or ``fix`` changed a file
(pre-commit's convention: a fixer that changed something fails, so the change is reviewed and
staged); warnings alone exit 0 unless ``strict``. A ``.py`` file that is neither a Databricks
source notebook nor a percent script is skipped silently, because pre-commit hands the hook
every Python file.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from nbsplit.check_rules import RULES, CellMarks, scan_cell
from nbsplit.config import Config
from nbsplit.errors import EXIT_OK, EXIT_PROBLEMS, NbsplitError, printable
from nbsplit.languages import UNTAGGABLE_LANGUAGES
from nbsplit.model import (DECIDED_ORIGINS, MANIFEST_NAME, Classification, Diagnostic, Handoff, Notebook,
                           Severity, SplitPlan, Stage)

__all__ = [
    "Problem",
    "FileFix",
    "CheckReport",
    "check_files",
    "format_text",
    "run_check",
    "format_json",
    "MANIFEST_NAME",
]

STEPS = ("read", "analyze", "classify", "plan", "stages", "fix")
# Databricks magic cells that cannot carry a '# nbsplit:' directive (the magic must come first
# and stand alone), so requiring a tag on them would be a rule nobody can satisfy.
_UNTAGGABLE_LANGUAGES = UNTAGGABLE_LANGUAGES
_EXPLICIT = ("tag", "directive")
# The end of an NBS105/NBS106 that involves an inferred stage (``_all_decided``): a warning.
INFERRED_CONFLICT = (" (a stage here is inferred, not tagged: convert places the untagged cells "
                     "itself; tag them to decide, or run nbsplit check --fix)")
# Codes whose message is easier to act on with the cell's first line beside it.
_SHOW_FIRST_LINE = {"NBS102", "NBS103", "NBS104", "NBS105", "NBS106", "NBS116"}


@dataclass(frozen=True)
class Problem:
    """One finding. ``cell`` is the cell's source index (None for file-level problems)."""

    path: Path
    cell: int | None
    code: str
    severity: Severity
    message: str
    first_line: str = ""

    def format(self) -> str:
        where = f"{self.path}:cell {self.cell}" if self.cell is not None else f"{self.path}"
        line = f"{where}: {self.code} {self.message}"
        if self.first_line and self.code in _SHOW_FIRST_LINE:
            line += f" | {self.first_line}"
        return printable(line)

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "cell": self.cell, "code": self.code,
                "severity": self.severity, "message": self.message, "first_line": self.first_line}


@dataclass(frozen=True)
class FileFix:
    """What ``fix`` wrote into one file: (cell index, stage slug) pairs, and which of those
    were classified below the threshold (worth a look before committing)."""

    path: Path
    tagged: tuple[tuple[int, str], ...]
    uncertain: tuple[int, ...] = ()

    def format(self) -> str:
        n = len(self.tagged)
        line = f"{self.path}: tagged {n} cell{'s' if n != 1 else ''}"
        if self.uncertain:
            cells = ", ".join(str(i) for i in self.uncertain)
            line += f" (review cell{'s' if len(self.uncertain) != 1 else ''} {cells}: low confidence)"
        return line


@dataclass(frozen=True)
class CheckReport:
    problems: tuple[Problem, ...] = ()
    fixes: tuple[FileFix, ...] = ()
    checked: tuple[Path, ...] = ()
    skipped: tuple[Path, ...] = ()
    strict: bool = False
    # Seconds spent per step over all files (read, analyze, classify, plan, stages, fix).
    timings: Mapping[str, float] = field(default_factory=dict, compare=False)

    @property
    def errors(self) -> int:
        return sum(p.severity == "error" for p in self.problems)

    @property
    def warnings(self) -> int:
        return sum(p.severity == "warning" for p in self.problems)

    @property
    def changed(self) -> bool:
        return any(f.tagged for f in self.fixes)

    @property
    def exit_code(self) -> int:
        if self.errors or self.changed or (self.strict and self.warnings):
            return EXIT_PROBLEMS
        return EXIT_OK


class _Timer:
    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.totals[name] += time.perf_counter() - start


def check_files(
    paths: Sequence[Path],
    *,
    config: Config,
    require_tags: bool | None = None,
    stages_dir: Path | None = None,
    fix: bool = False,
    threshold: float | None = None,
    strict: bool = False,
) -> CheckReport:
    """Check ``paths``; ``require_tags``/``threshold`` of None take ``config``'s values.

    ``fix`` adds the inferred ``nbsplit:<stage>`` tags to untagged cells (the writer of
    ``nbsplit tag --write``) before checking; cells that carry any stage tag, a misspelled
    mark, or a noqa for the tag rules are never touched. ``strict`` makes warnings fail.
    """
    require = config.require_tags if require_tags is None else require_tags
    limit = config.threshold if threshold is None else threshold
    if not 0 <= limit <= 1:
        raise NbsplitError(f"threshold must be in 0..1, got {limit}")
    timer = _Timer()
    manifests = _load_manifests(stages_dir) if stages_dir is not None else None
    problems: list[Problem] = []
    fixes: list[FileFix] = []
    checked: list[Path] = []
    skipped: list[Path] = []
    seen: set[Path] = set()
    sibling_cache: dict[Path, list[_Manifest]] = {}
    for path in map(Path, paths):
        try:
            key = path.resolve()
        except (OSError, RuntimeError):  # a symlink loop: the reader reports it as NBS100
            key = Path(os.path.abspath(path))
        if key in seen:
            continue
        seen.add(key)
        if not _looks_like_notebook(path) or _is_generated(path):
            skipped.append(path)
            continue
        checked.append(path)
        if fix:
            with timer.step("fix"):
                done = _fix_file(path, config, require)
            if done is not None:
                fixes.append(done)
        found = _check_file(path, config, require, limit, timer)
        if not any(p.code == "NBS100" for p in found):
            with timer.step("stages"):
                if manifests is not None:
                    found.extend(_check_stages(path, stages_dir, manifests, config))  # type: ignore[arg-type]
                else:
                    found.extend(_check_sibling_stages(path, sibling_cache, config))
        # linters' order: file-level first, then by cell, then by code
        found.sort(key=lambda p: (-1 if p.cell is None else p.cell, p.code))
        problems.extend(_filter(found, config))
    return CheckReport(problems=tuple(problems), fixes=tuple(fixes), checked=tuple(checked),
                       skipped=tuple(skipped), strict=strict, timings=dict(timer.totals))


# -- one file ---------------------------------------------------------------------------------


def _looks_like_notebook(path: Path) -> bool:
    """False for a ``.py`` that is plain Python: pre-commit passes every ``.py`` to the hook."""
    if path.suffix.lower() != ".py" or not path.is_file():
        return True  # the reader decides (and explains) everything else
    from nbsplit.read import detect_format

    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
        detect_format(text, path)
    except (OSError, NbsplitError):
        return False
    return True


def _is_generated(path: Path) -> bool:
    """A stage notebook inside a folder ``nbsplit convert`` wrote: output, not source."""
    return (path.parent / MANIFEST_NAME).is_file()


def _check_file(path: Path, config: Config, require: bool, limit: float, timer: _Timer) -> list[Problem]:
    from nbsplit.read import read_notebook

    with timer.step("read"):
        try:
            nb = read_notebook(path)
        except NbsplitError as exc:
            # The reader's own message and cell, so check and plan report a bad file alike.
            return [_problem(path, exc.cell, "NBS100", exc.message if exc.path else exc.format())]
    marks = [scan_cell(c) for c in nb.cells]
    found = _mark_problems(nb, marks)
    try:
        plan = _plan(nb, marks, config, timer)
    except _BadInput as bad:
        # The error plan and convert stop on, word for word (NBS100: the file is bad input).
        found.append(_problem(path, bad.error.cell, "NBS100", bad.error.message))
        return _with_marks(found, marks)
    except NbsplitError as exc:
        cell = exc.cell
        found.append(_problem(path, cell, "NBS100", f"cannot be analysed: {exc.message}",
                              nb.cells[cell].first_line if cell is not None and cell < len(nb.cells) else ""))
        return _with_marks(found, marks)
    found.extend(_tag_problems(nb, marks, plan.classifications, require, limit))
    found.extend(_plan_problems(nb, plan))
    found.extend(_tracking_problems(nb))
    return _with_marks(found, marks)


def _tracking_problems(nb: Notebook) -> list[Problem]:
    """NBS115: a literal local-file MLflow tracking URI (only cells naming set_tracking_uri are parsed)."""
    cells = [(c.index, c.source) for c in nb.cells
             if c.kind == "code" and "set_tracking_uri" in c.source and (c.language or "python").lower() == "python"]
    if not cells:
        return []
    from nbsplit.mlfacts import facts_from_sources, is_local_tracking_uri

    imports = [(c.index, c.source) for c in nb.cells if c.kind == "code" and "mlflow" in c.source
               and c.index < cells[-1][0] and (c.language or "python").lower() == "python"]
    state = facts_from_sources(sorted(set(imports) | set(cells)))
    return [_problem(nb.path, cell, "NBS115",
                     f"local-file MLflow tracking URI {uri!r}: its runs stay on this machine (Databricks tracks in "
                     "the workspace; nbsplit run keeps its own store); drop it or read it from the environment "
                     "(MLFLOW_TRACKING_URI)", nb.cells[cell].first_line)
            for cell, uri in state.tracking_uris if is_local_tracking_uri(uri)]


def _problem(path: Path, cell: int | None, code: str, message: str, first_line: str = "") -> Problem:
    return Problem(path, cell, code, RULES[code].severity, message, _shorten(first_line))


def _shorten(line: str, width: int = 60) -> str:
    return line if len(line) <= width else line[: width - 3] + "..."


def _mark_problems(nb: Notebook, marks: Sequence[CellMarks]) -> list[Problem]:
    found = []
    for cell, mark in zip(nb.cells, marks):
        for bad in mark.bad:
            what = "stage tag" if bad.kind == "tag" else "directive"
            if "noqa" in bad.text.lower() and bad.suggestion is None:
                msg = f"unknown rule code in {what} {bad.text!r} (codes: {', '.join(RULES)})"
            else:
                msg = f"unknown {what} {bad.text!r}"
                msg += f" (did you mean {bad.suggestion!r}?)" if bad.suggestion else _valid_hint(bad.kind)
            found.append(_problem(nb.path, cell.index, "NBS101", msg, cell.first_line))
        if len(mark.stages) > 1:
            tags = " and ".join(f"'nbsplit:{s}'" for s in mark.stages)
            found.append(_problem(nb.path, cell.index, "NBS102",
                                  f"cell has two different stage tags {tags} (keep one, or split the cell)",
                                  cell.first_line))
    return found


def _valid_hint(kind: str) -> str:
    from nbsplit.model import ALL_SLUGS

    return f" (valid: {', '.join(ALL_SLUGS)})"


def _sanitized(nb: Notebook, marks: Sequence[CellMarks]) -> Notebook:
    """The notebook minus the marks check handles itself (bad marks, noqa, conflicting stage
    tags), so the classifier neither stops on them nor lets one of two conflicting tags win."""
    cells = []
    for cell, mark in zip(nb.cells, marks):
        conflicted = len(mark.stages) > 1
        if not mark.bad and not conflicted and not mark.noqa_all and not mark.noqa_codes:
            cells.append(cell)
            continue

        def drop(probe: CellMarks) -> bool:
            return bool(probe.bad or probe.noqa_all or probe.noqa_codes or (conflicted and probe.stages))

        tags = tuple(t for t in cell.tags if not drop(scan_cell(replace(cell, source="", tags=(t,)))))
        lines = cell.source.split("\n")
        for i, line in enumerate(lines):
            stripped = line.strip()
            if not stripped or stripped.startswith(("%", "!")):
                continue
            if not stripped.startswith(("#", "--", "//")):
                break  # directives live in the leading comments only
            if drop(scan_cell(replace(cell, source=line, tags=()))):
                lines[i] = ""  # a blank line keeps line numbers and changes no analysis
        cells.append(replace(cell, tags=tags, source="\n".join(lines)))
    return replace(nb, cells=tuple(cells))


class _BadInput(Exception):
    """A notebook ``plan``/``convert`` refuse after analysis (``error`` is what they print)."""

    def __init__(self, error: NbsplitError) -> None:
        super().__init__(error.message)
        self.error = error


def _plan(nb: Notebook, marks: Sequence[CellMarks], config: Config, timer: _Timer) -> SplitPlan:
    from nbsplit.analyze import analyze_notebook
    from nbsplit.reserved import reserved_name_error
    from nbsplit.classify import classify_notebook
    from nbsplit.plan import build_plan

    clean = _sanitized(nb, marks)
    with timer.step("analyze"):
        facts = analyze_notebook(clean)
        reserved = reserved_name_error(clean, facts)
        if reserved is not None:
            raise _BadInput(reserved)
    with timer.step("classify"):
        classifications, diagnostics = classify_notebook(clean, facts, config)
    with timer.step("plan"):
        # strict: a backward dependency is a problem to report, never a cell moved silently.
        return build_plan(clean, facts, classifications, diagnostics, strict=True)


def _tag_problems(nb: Notebook, marks: Sequence[CellMarks], classifications: Sequence[Classification],
                  require: bool, limit: float) -> list[Problem]:
    found = []
    for cell, mark, result in zip(nb.cells, marks, classifications):
        if cell.kind != "code" or cell.is_empty or mark.bad:
            continue
        if mark.tagged and len(mark.stages) == 1 and result.origin not in _EXPLICIT:
            found.append(_problem(nb.path, cell.index, "NBS101",
                                  f"stage mark for '{mark.stages[0]}' is not recognised where it is "
                                  f"(use the tag 'nbsplit:{mark.stages[0]}' or put "
                                  f"'# nbsplit: {mark.stages[0]}' on the cell's first line)", cell.first_line))
            continue
        if mark.tagged:
            continue
        inferred = f"inferred {result.stage.value} at {result.confidence:.2f}"
        if require:
            if nb.format == "databricks" and cell.language in _UNTAGGABLE_LANGUAGES:
                continue
            how = f"# nbsplit: {result.stage.value}" if nb.format == "databricks" else f"nbsplit:{result.stage.value}"
            found.append(_problem(nb.path, cell.index, "NBS103",
                                  f"code cell has no stage tag ({inferred}; add '{how}' or run "
                                  f"nbsplit check --fix)", cell.first_line))
        elif result.confidence < limit:
            why = f"; {result.reasons[0]}" if result.reasons else ""
            found.append(_problem(nb.path, cell.index, "NBS104",
                                  f"uncertain stage: {inferred} < {limit:.2f}{why} (tag the cell)",
                                  cell.first_line))
    return found


def _plan_problems(nb: Notebook, plan: SplitPlan) -> list[Problem]:
    from nbsplit.classify import CODE_UNPARSED, TEXT_ONLY

    def first(cell: int | None) -> str:
        return nb.cells[cell].first_line if cell is not None and 0 <= cell < len(nb.cells) else ""

    loops = _stage_loops(plan)
    found = []
    for diag in plan.diagnostics:
        code = _plan_code(diag)
        if code is None:
            continue
        message = diag.message
        severity: Severity | None = None
        if code == "NBS105" and diag.cell is not None:
            involved = list(diag.cells)
            cycle = _cycle_message(plan, diag, loops) if loops else None
            if cycle is not None:
                code, (message, on_loop) = "NBS106", cycle
                involved += on_loop
            if not _all_decided(plan, involved):
                severity = "warning"
                message += INFERRED_CONFLICT
        elif code == CODE_UNPARSED:
            why = _python_says(nb, diag.cell) or message.removesuffix(TEXT_ONLY).removeprefix("could not parse: ")
            message = (f"does not parse as Python ({why}): the split cannot see what the cell reads or "
                       "writes; fix it, or mark it skip ('nbsplit:skip', or '# nbsplit: skip' on its first line) "
                       "if it is notes rather than code")
        problem = _problem(nb.path, diag.cell, code, message, first(diag.cell))
        found.append(problem if severity is None else replace(problem, severity=severity))
    return found


def _all_decided(plan: SplitPlan, cells: Sequence[int]) -> bool:
    """True when every cell of a conflict carries a person's decision (a tag, a directive, a
    configured rule): the team's own marks contradict each other and no split keeps them all.
    When one of the stages is the classifier's guess, ``convert`` reconciles the conflict by
    placing the guessed cells itself, so failing a commit on it would fail it on what nbsplit
    inferred (which a refit of its weights may flip), not on what the team wrote."""
    return all(0 <= c < len(plan.classifications) and plan.classifications[c].origin in DECIDED_ORIGINS
               for c in cells)


def _python_says(nb: Notebook, cell: int | None) -> str | None:
    """Python's own words for a cell that does not parse ("Missing parentheses in call to 'print'"),
    which a person fixes faster than the parser's list of expected tokens; None if Python parses it
    (nesting too deep for the analysis) or the cell is not there."""
    import ast

    from nbsplit.analyze_text import mask_ipython

    if cell is None or not 0 <= cell < len(nb.cells):
        return None
    try:
        ast.parse(mask_ipython(nb.cells[cell].source).source)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}" if exc.lineno else exc.msg
    except (ValueError, RecursionError, MemoryError):
        return None
    return None


def _cycle_message(plan: SplitPlan, diag: Diagnostic,
                   loops: dict[tuple[Stage, Stage], list[Handoff]]) -> tuple[str, list[int]] | None:
    """The NBS106 message for a backward read that closes a loop, and the cells on the loop's
    way back (readers and writers); None when the read closes no loop."""
    if diag.cell is None or len(diag.cells) < 2:
        return None
    writer = diag.cells[1]
    if not 0 <= writer < len(plan.classifications):
        return None
    names = ", ".join(f"`{n}`" for n in diag.names) or "a value"
    consumer, producer = plan.classifications[diag.cell].stage, plan.classifications[writer].stage
    loop = loops.get((consumer, producer))
    if loop is None:
        return None
    stages = " -> ".join([consumer.value, producer.value, *(h.producer.value for h in loop)])
    steps = [f"cell {diag.cell} ({consumer}) reads {names} from cell {writer} ({producer})"]
    steps += [f"cell {h.before_cell} ({h.consumer}) reads `{h.name}` from cell {h.version} ({h.producer})"
              for h in loop]
    return (f"cycle between stages {stages}: {'; '.join(steps)}; tag cell {diag.cell} "
            f"nbsplit:{producer}, or stop it reading {names}",
            [c for h in loop for c in (h.before_cell, h.version)])


def _stage_loops(plan: SplitPlan) -> dict[tuple[Stage, Stage], list[Handoff]]:
    """(consumer, later producer) -> the forward loads that lead from the producer back to the
    consumer, for each backward load that closes a cycle between stages.

    With ``strict`` the planner keeps a backward read as a load from the later stage, so the
    stage graph may loop: data-prep loads ``model`` from training, which loads ``df`` from
    data-prep. Such a read is reported as a cycle (NBS106) naming every cell on the loop; one
    that does not loop (an eda cell showing the trained model) stays NBS105. Only forward loads
    make up the way back: a loop through a second backward read is that read's own report, so
    each message points at the cell to change.
    """
    edges: dict[Stage, dict[Stage, Handoff]] = defaultdict(dict)  # consumer -> producer -> first load
    for sp in plan.stages:
        for h in sorted(sp.handoffs_in, key=lambda h: (h.before_cell, h.version)):
            if h.producer != h.consumer:
                edges[h.consumer].setdefault(h.producer, h)

    def forward_path(start: Stage, goal: Stage) -> list[Handoff] | None:
        queue: list[tuple[Stage, list[Handoff]]] = [(start, [])]
        seen = {start}
        while queue:
            stage, trail = queue.pop(0)
            for producer, h in sorted(edges.get(stage, {}).items(), key=lambda kv: kv[0].order):
                if producer.order >= stage.order:
                    continue
                if producer == goal:
                    return trail + [h]
                if producer not in seen:
                    seen.add(producer)
                    queue.append((producer, trail + [h]))
        return None

    loops: dict[tuple[Stage, Stage], list[Handoff]] = {}
    for consumer, producers in list(edges.items()):
        for producer in producers:
            if producer.order > consumer.order:
                path = forward_path(producer, consumer)
                if path is not None:
                    loops[(consumer, producer)] = path
    return loops


def _plan_code(diag: Diagnostic) -> str | None:
    """The check rule a planner diagnostic belongs to, from its code; None for ones check does
    not report (tag problems come from check's own scan; notes such as 'reads a skipped cell'
    are not lint). Check plans strictly, so a backward read arrives as an NBS105 error; a cell the
    classifier could not parse arrives as NBS116."""
    from nbsplit.classify import CODE_UNPARSED

    if diag.code in ("NBS105", "NBS106") and diag.severity == "error":
        return diag.code
    if diag.code == CODE_UNPARSED:
        return diag.code
    return None


def _with_marks(found: list[Problem], marks: Sequence[CellMarks]) -> list[Problem]:
    """Drop problems on cells that carry a matching noqa."""
    kept = []
    for p in found:
        if p.cell is not None and 0 <= p.cell < len(marks) and marks[p.cell].suppresses(p.code):
            continue
        kept.append(p)
    return kept


def _filter(found: list[Problem], config: Config) -> list[Problem]:
    ignored = {c.upper() for c in config.ignore}
    return [p for p in found if p.code not in ignored]


# -- --fix ------------------------------------------------------------------------------------


def _fix_file(path: Path, config: Config, require: bool) -> FileFix | None:
    """Tag untagged cells the way ``nbsplit tag --write`` does; None when nothing was written."""
    from nbsplit.tagging import apply_tags, plan_tags

    try:
        changes = plan_tags(path, config)
    except NbsplitError:
        return None  # reported as NBS100 by the check that follows
    marks = [scan_cell(c) for c in changes.notebook.cells]
    rule = "NBS103" if require else "NBS104"
    to_add = {}
    for index, slug in sorted(changes.to_add.items()):
        mark = marks[index]
        # Never touch a cell someone already marked: tagged, mistyped (the typo is reported),
        # or exempted with a noqa for the rule that would ask for the tag.
        if mark.stages or mark.bad or mark.suppresses(rule):
            continue
        to_add[index] = slug
    if not to_add:
        return None
    apply_tags(replace(changes, to_add=to_add))
    uncertain = tuple(i for i in to_add if changes.classification(i).confidence < config.threshold)
    return FileFix(path, tuple(to_add.items()), uncertain)


# -- --stages DIR -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Manifest:
    folder: Path
    source: Path | None  # resolved source notebook path
    sha256: str | None
    error: str | None = None
    split_sha256: str | None = None  # what decides the split (manifests written since it exists)


def _load_manifests(stages_dir: Path) -> list[_Manifest]:
    """DIR's own manifest, or else the manifests of DIR's sub-folders (one per notebook)."""
    if not stages_dir.is_dir():
        return []
    own = stages_dir / MANIFEST_NAME
    files = [own] if own.is_file() else sorted(stages_dir.glob(f"*/{MANIFEST_NAME}"))
    return [_read_manifest(f) for f in files]


def _read_manifest(path: Path) -> _Manifest:
    folder = path.parent
    from nbsplit.read.validate import load_json, read_input_text

    try:
        data = load_json(read_input_text(path, MANIFEST_NAME), path)
        source = data["source"]
        rel, digest = source["path"], source["sha256"]
        if not isinstance(rel, str) or not isinstance(digest, str):
            raise TypeError("source.path and source.sha256 must be strings")
    except NbsplitError as exc:
        return _Manifest(folder, None, None, f"{path} cannot be read ({exc.message})")
    except (KeyError, TypeError) as exc:
        detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc).split("\n")[0]
        return _Manifest(folder, None, None, f"{path} cannot be read ({detail})")
    split = source.get("split_sha256")
    return _Manifest(folder, (folder / rel).resolve(), digest.lower(),
                     split_sha256=split.lower() if isinstance(split, str) else None)


def _check_sibling_stages(path: Path, cache: dict[Path, list[_Manifest]], config: Config) -> list[Problem]:
    """Without ``stages_dir``: converted folders next to the notebook (``<dir>/*/`` with a
    manifest naming it) must be fresh, so the hook catches a stale pipeline with no settings.
    Missing folders are fine here: not every notebook is converted."""
    parent = path.parent.resolve()
    if parent not in cache:
        cache[parent] = [_read_manifest(f) for f in sorted(parent.glob(f"*/{MANIFEST_NAME}"))]
    target = path.resolve()
    mine = [m for m in cache[parent] if m.error is None and m.source == target]
    if not mine:
        return []
    return _stale(path, mine, config)


def _stale(path: Path, mine: list[_Manifest], config: Config) -> list[Problem]:
    current = _sha256(path)
    changed = [m for m in mine if m.sha256 != current]
    if any(m.split_sha256 for m in changed):
        # Bytes differ: stale only if the split would differ (tags written by nbsplit-tag, outputs
        # or metadata do not count). Planning again costs a second analysis, so only here.
        fingerprint = _split_fingerprint(path, config)
        changed = [m for m in changed if m.split_sha256 is None or m.split_sha256 != fingerprint]
    return [
        _problem(path, None, "NBS107",
                 f"stages folder {_display(m.folder)} is stale: the notebook changed since it was "
                 f"converted (re-run nbsplit convert {path} --out {_display(m.folder)} --force)")
        for m in changed
    ]


def _split_fingerprint(path: Path, config: Config) -> str | None:
    from nbsplit.api import plan_notebook
    from nbsplit.render.manifest import split_fingerprint

    try:
        return split_fingerprint(plan_notebook(path, config))
    except NbsplitError:
        return None


def _sha256(path: Path) -> str:
    import hashlib  # only with a converted folder to compare: OpenSSL's start-up is ~3 ms

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_stages(path: Path, stages_dir: Path, manifests: list[_Manifest], config: Config) -> list[Problem]:
    if not stages_dir.is_dir():
        return [_problem(path, None, "NBS108", f"stages folder {stages_dir} does not exist "
                         f"(run nbsplit convert {path} --out {stages_dir})")]
    if not manifests:
        return [_problem(path, None, "NBS108", f"stages folder {stages_dir} has no {MANIFEST_NAME} "
                         f"(run nbsplit convert {path} --out {stages_dir} --force)")]
    target = path.resolve()
    mine = [m for m in manifests if m.source == target]
    if not mine:
        broken = [m for m in manifests if m.error]
        if len(manifests) == 1 and broken:
            return [_problem(path, None, "NBS108", broken[0].error or "")]
        if len(manifests) == 1 and manifests[0].folder.resolve() == stages_dir.resolve():
            other = manifests[0].source
            return [_problem(path, None, "NBS108",
                             f"stages folder {stages_dir} was converted from {_display(other)}, "
                             f"not from this notebook")]
        return [_problem(path, None, "NBS108", f"no folder under {stages_dir} was converted from this "
                         f"notebook (run nbsplit convert {path} --out {stages_dir}/{path.stem})")]
    return _stale(path, mine, config)


def _display(path: Path | None) -> str:
    if path is None:
        return "?"
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# -- output -----------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(report: CheckReport) -> str:
    files = {p.path for p in report.problems}
    skipped = (f" ({len(report.skipped)} skipped: not notebooks or generated stages)"
               if report.skipped else "")
    if report.problems:
        return (f"{_plural(len(report.problems), 'problem')} ({_plural(report.errors, 'error')}, "
                f"{_plural(report.warnings, 'warning')}) in {_plural(len(files), 'file')}{skipped}")
    n = len(report.checked)
    if n == 0:
        return f"no notebooks to check{skipped}"
    return f"all {_plural(n, 'file')} OK{skipped}" if n != 1 else f"1 file OK{skipped}"


def format_text(report: CheckReport) -> str:
    """One line per fix and problem (``path:cell N: NBS### message``), then a summary line."""
    lines = [f.format() for f in report.fixes if f.tagged]
    lines += [p.format() for p in report.problems]
    lines.append(summary_line(report))
    return "\n".join(lines)


def format_json(report: CheckReport) -> str:
    """The report as one JSON object (stable keys, for tools and CI annotations)."""
    data = {
        "problems": [p.to_json() for p in report.problems],
        "fixes": [{"path": str(f.path), "cells": [{"index": i, "stage": s} for i, s in f.tagged],
                   "uncertain": list(f.uncertain)} for f in report.fixes],
        "checked": [str(p) for p in report.checked],
        "skipped": [str(p) for p in report.skipped],
        "summary": {"files": len(report.checked), "errors": report.errors,
                    "warnings": report.warnings, "tagged_cells": sum(len(f.tagged) for f in report.fixes)},
        "exit_code": report.exit_code,
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


def rules_table() -> list[tuple[str, str, str]]:
    """(code, severity, summary) for every rule, for docs and ``--help``."""
    return [(r.code, r.severity, r.summary) for r in RULES.values()]




def run_check(files: list[Path], config: Config, echo: Callable[[str], None], *,
              require_tags: bool | None = None, stages_dir: Path | None = None, fix: bool = False,
              strict: bool = False, fmt: str = "text") -> int:
    """``nbsplit check FILES``: check, print the report, return the exit code (the click command
    and the hook's click-free path both run this)."""
    report = check_files(files, config=config, require_tags=require_tags, stages_dir=stages_dir,
                         fix=fix, strict=strict)
    echo(format_json(report) if fmt == "json" else format_text(report))
    return report.exit_code
