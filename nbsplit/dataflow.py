"""Versioned dataflow across stages: the engine behind ``nbsplit.plan``.

The stages together must compute exactly what the monolith computed, each stage notebook running
alone in a fresh process. The engine therefore walks the kept (non-``skip``) code cells in source
order, like the monolith runs them, and for every name a cell reads records the cell that last
wrote it (its *version*). Whether that read becomes local, an import statement, a copied helper
definition, a copied setup cell or a saved/loaded value (a ``Handoff``) depends only on the stage
of the reader and of the writer:

- writer bound the name by an ``import``        -> the stage gets the import statement;
- writer bound it by ``def``/``class``           -> the stage gets the definition (functions cannot
  cross as data), and calling it reads its free names *at the call* (transitively);
- writer is a ``setup`` cell                     -> the setup cell is copied into the stage;
- writer is in the reader's stage                -> local;
- otherwise                                      -> the writer's stage saves the value right after
  the writer ran and the reader's stage loads it right before the first cell that needs it.

Writes are ``defines | mutates``: ``df.dropna(inplace=True)`` makes a new version of ``df``. Mutations
of names bound by imports or ``def`` (``plt.rcParams[...] = ...``) do not make data versions: a
module cannot be saved; they stay with their cell. Hidden global random state is the pseudo-name
``_nbsplit_rng`` (see ``RNG_STATE``), read and written by global RNG draws, written by seeding.

Cells are placed in stage notebooks in *source order*, copied setup cells included (not hoisted to
the top): a setup cell later in the notebook that rebinds a constant must not run before the
cells that read the earlier value.

Decisions beyond the first design, and why:
- A setup cell that reads a value a pipeline cell computed (``N = len(df.columns)``) is not
  shared setup: it moves to the latest such stage (warning; strict: error). Copying it instead
  would make every stage needing ``N`` load ``df``.
- A setup cell goes to every stage not only when it binds nothing, but also when it magics
  (``%matplotlib``, ``%pip``, ``%run``), seeds the global RNG or calls a module/runtime function
  for its effect (``mlflow.set_tracking_uri``, ``warnings.filterwarnings``, ``spark.conf.set``):
  every stage process needs that state. Display-only and unused setup cells go to the first stage
  only, so no cell silently vanishes.
- Backward reads (a cell reading what only a later stage wrote before it) are resolved over the
  read graph (``resolve_stages``) by one exact min-cut (``classify.placement``): the producer
  moves back or the readers move on, whichever costs less (-log of the classifier's probabilities,
  plus a sequence term inside the re-placed part). ``eda`` is a side branch: it may read a
  snapshot of any stage's value and feeds none (an eda cell whose value the main line uses moves
  to that use; a main-line cell whose value nothing uses may look instead of moving on), so
  handoffs on the main line go forward in pipeline order, eda's come from any stage, and no cycle
  can remain.
- The global random state is a soft constraint: a cell that draws after a later stage's cell
  drew keeps the classifier's stage (following the draw forward turned most such cells wrong on
  the labelled corpus); its stage draws from the last state it can hold, and the plan warns
  (NBS110) that those numbers differ from the monolith's.
- A value built from a notebook class (``Selector()``) or holding a notebook function passed to a
  constructor (``FunctionTransformer(add_ratio)``) needs that definition where it is unpickled:
  reading the value also reads those definitions (copied as helpers). So does a cell that
  unpickles a file (``pickle.load``, ``joblib.load``, ``pd.read_pickle``) after the notebook
  pickled such a value (``pickle.dump(scaler, f)``): which file is not followed.
- A file is a carrier too (``nbsplit.file_uses``): a cell naming a path an earlier cell wrote
  (``to_csv`` then ``read_csv``) reads it like a value (``Read`` of kind ``"file"``, named by the
  path), so the placement keeps it in the writer's stage or a later one and its stage depends on
  the writer's (``FileRead``); nothing is saved for it. Without this a split read whatever copy
  was on disk before the job ran (a run probe notebook trained on the stale export its
  repository commits). A module a ``%%writefile`` cell writes is such a file: its importers
  read it, and so does every cell using a name that import binds (the import is copied to that
  cell's stage); a stage that runs the writing cell itself imports the module inline, right
  before its first reader, not in the imports cell at its top (which runs before the module
  exists on a fresh run).
- A copied definition runs at the top of the stage, so what its header and class body load
  (bases, decorators, defaults) must be imports or helpers there; a value is warned about.

Import and ``def`` statements are extracted with the standard ``ast`` module rather than libcst:
``ast.get_source_segment`` gives the verbatim text, it is 10-50x faster, and only the few cells
that export imports or helpers to another stage are parsed at all (lazily, once), which keeps
planning a 1,000-cell notebook in milliseconds.
"""

from __future__ import annotations

import ast
import builtins
import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal, Sequence

from nbsplit import reserved
from nbsplit.analyze_text import leading_indent, mask_ipython
from nbsplit.classify.placement import INDEX, LABELS, SEQUENCE_BACK, SIDE, solve
from nbsplit.file_uses import file_uses, imported_files
from nbsplit.run_scripts import run_sources
from nbsplit.indirect_changes import merged_functions
from nbsplit.randomness import call_draws, global_rng_effects
from nbsplit.model import (
    DECIDED_ORIGINS,
    PIPELINE_STAGES,
    Cell,
    CellFacts,
    Classification,
    Diagnostic,
    FileRead,
    FunctionInfo,
    Handoff,
    Notebook,
    Stage,
)

# Planner diagnostic codes (documented with check's rules in check_rules.py).
CODE_BACKWARD = "NBS105"  # strict: a cell reads what a later stage computes (or eda feeds a stage)
CODE_MOVED = "NBS109"  # a cell the dataflow constraints moved to another stage
CODE_RANDOMNESS = "NBS110"  # a global random draw the split cannot reproduce exactly
CODE_HELPER = "NBS111"  # an import/definition a stage cannot get as the monolith had it
CODE_NAMES = "NBS112"  # a name read before or without any kept definition
CODE_EMPTY = "NBS113"  # nothing to split
CODE_ALIAS = "NBS114"  # an in-place change through an alias that a stage cannot follow

_MARKED_COST = 30.0  # nats: a tagged cell moves only when nothing else can satisfy a read
_MAX_COST = 9.0  # nats: no stage is less likely than ~1e-4
_TIE_FORWARD, _TIE_BACK = 0.01, 0.02  # nats per stage of distance: tie-breakers only
# the labels' slugs, read once: an enum's ``.value`` is a descriptor call (8 per placed cell)
_LABEL_VALUES: tuple[str, ...] = tuple(s.value for s in LABELS)

RNG_STATE = reserved.RNG_STATE
"""Pseudo-name (``_nbsplit_rng``, under the reserved prefix so no user variable can be it) for the hidden global random state of ``numpy.random`` and ``random``. A handoff
with this name means: save ``np.random.get_state()``/``random.getstate()`` after the producing
cell and restore them before the consuming cell."""

# Names a notebook runtime provides without any cell defining them (Databricks, IPython).
RUNTIME_NAMES: frozenset[str] = frozenset({
    "spark", "sc", "sqlContext", "dbutils", "display", "displayHTML", "getArgument", "table",
    "get_ipython", "In", "Out", "_", "__", "___", "exit", "quit", "__name__", "__builtins__",
    "__doc__", "__spec__", "__loader__", "__package__",
})
_BUILTINS: frozenset[str] = frozenset(dir(builtins))

_RNG_NOT_GLOBAL = frozenset({
    "default_rng", "Generator", "RandomState", "SeedSequence", "BitGenerator", "PCG64",
    "PCG64DXSM", "MT19937", "Philox", "SFC64", "Random", "SystemRandom", "getstate",
})
_RNG_SEED = frozenset({"seed", "setstate", "set_state"})

# Writers whose value cannot be pickled: (callee suffix match, description).
_UNPICKLABLE_CALLS = (
    "open", "io.open", "sqlite3.connect", "psycopg2.connect", "pymysql.connect", "pyodbc.connect",
    "mysql.connector.connect", "create_engine", "sqlalchemy.create_engine", "getOrCreate",
    "requests.Session", "threading.Lock", "socket.socket",
)
# What must occur in a cell's text for any of them to be called there: ``open(``, ``connect(``.
_UNPICKLABLE_TAILS = tuple(dict.fromkeys(bad.rsplit(".", 1)[-1] + "(" for bad in _UNPICKLABLE_CALLS))
# The notebook's own pickles: ``pickle.dump(scaler, f)`` in one stage, ``pickle.load(f)`` in a
# later one. Unpickling an object of a notebook class needs that class in ``__main__``.
_PICKLERS = ("pickle", "joblib", "dill", "cloudpickle")
_PICKLE_WRITES = frozenset(f"{m}.dump" for m in _PICKLERS)
_PICKLE_READS = frozenset({*(f"{m}.load" for m in _PICKLERS), *(f"{m}.loads" for m in _PICKLERS),
                           "pandas.read_pickle", "pd.read_pickle"})

BindKind = Literal["import", "def", "data"]
Move = tuple[int, Stage, Stage, str]  # cell, from, to, reason


def rng_effect(call_name: str) -> Literal["seed", "draw"] | None:
    """How a call touches the global RNG: ``np.random.seed`` seeds, ``np.random.rand`` draws,
    ``np.random.default_rng(0)`` (a private generator) does not touch it."""
    for prefix in ("numpy.random.", "np.random.", "random."):
        if call_name.startswith(prefix):
            rest = call_name[len(prefix):]
            if not rest or not rest.isidentifier():  # chained: default_rng().normal
                return None
            if rest in _RNG_SEED:
                return "seed"
            if rest in _RNG_NOT_GLOBAL:
                return None
            return "draw"
    return None


# --------------------------------------------------------------------------- source extraction

def mask_magics(source: str) -> str:
    """The cell as parseable Python with the same line numbers (``nbsplit.analyze``'s masking:
    magics, shell and help lines become ``pass``; a non-Python cell magic masks everything)."""
    return mask_ipython(source).source


@dataclass(frozen=True)
class TopStatement:
    """A top-level statement of a cell that binds imports or defines a function/class."""

    position: int  # order of the statement in the cell
    text: str  # verbatim source
    imports: frozenset[str] = frozenset()
    defs: frozenset[str] = frozenset()
    star: bool = False
    # names a def/class statement loads when it runs (decorators, bases, defaults, class body)
    def_time: frozenset[str] = frozenset()


def _import_binds(node: ast.Import | ast.ImportFrom) -> tuple[frozenset[str], bool]:
    names, star = set(), False
    for alias in node.names:
        if alias.name == "*":
            star = True
        elif alias.asname:
            names.add(alias.asname)
        else:
            names.add(alias.name.split(".")[0] if isinstance(node, ast.Import) else alias.name)
    return frozenset(names), star


def _nested_imports(node: ast.AST) -> tuple[frozenset[str], bool]:
    names: set[str] = set()
    star = False
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            b, s = _import_binds(n)
            names |= b
            star = star or s
        elif not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(n))
    return frozenset(names), star


_STAR_IMPORT = re.compile(r"^\s*from\s+[\w.]+\s+import\s+\*", re.MULTILINE)
_IMPORT_LINE = re.compile(r"^(?:import\s+[\w.]+.*|from\s+[\w.]+\s+import\s+[^(\\]+)$")


def top_statements(source: str) -> tuple[TopStatement, ...] | None:
    """Import and def/class statements at a cell's top level, verbatim. None when the cell does
    not parse even with magics masked (then only single-line imports are recovered)."""
    masked = mask_magics(source)
    source = leading_indent(source)  # verbatim text as the kernel runs it (a cell indented as a whole)
    lines = source.splitlines(keepends=True)
    try:
        tree = ast.parse(masked)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        found = []
        for i, ln in enumerate(source.splitlines()):
            if _IMPORT_LINE.match(ln):
                try:
                    node = ast.parse(ln).body[0]
                except SyntaxError:
                    continue
                binds, star = _import_binds(node)  # type: ignore[arg-type]
                found.append(TopStatement(i, ln.rstrip(), imports=binds, star=star))
        return tuple(found) if found else None
    out = []
    for pos, node in enumerate(tree.body):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            binds, star = _import_binds(node)
            text = ast.get_source_segment(masked, node) or ""
            out.append(TopStatement(pos, text, imports=binds, star=star))
            continue
        start = node.lineno
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.decorator_list:
                start = min(start, min(d.lineno for d in node.decorator_list))
            text = "".join(lines[start - 1: node.end_lineno]).rstrip()
            out.append(TopStatement(pos, text, defs=frozenset({node.name}),
                                    def_time=_definition_time_names(node)))
            continue
        # try/if/with at the top level that imports (try: import x / except ImportError: ...)
        binds, star = _nested_imports(node)
        defs = frozenset(
            n.name for n in ast.walk(node)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and n in getattr(node, "body", []) + getattr(node, "orelse", [])
        )
        if binds or star or defs:
            text = "".join(lines[start - 1: node.end_lineno]).rstrip()
            out.append(TopStatement(pos, text, imports=binds, defs=defs, star=star))
    return tuple(out)


def _stored_names(node: ast.AST) -> set[str]:
    """Names a top-level statement binds outside nested scopes."""
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            out |= _import_binds(n)[0]
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
                              ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            stack.extend(ast.iter_child_nodes(n))
    return out


_NAME_ASSIGN = re.compile(r"^[ \t]*[A-Za-z_]\w*(?:\s*=\s*[A-Za-z_]\w*)+[ \t]*(?:#.*)?$", re.MULTILINE)


def name_aliases(source: str) -> list[tuple[str, str]]:
    """``(target, source)`` for each top-level ``target = source`` between plain names: after
    it both names are one object, so an in-place change through either shows through both."""
    if not _NAME_ASSIGN.search(source):
        return []
    try:
        tree = ast.parse(mask_magics(source))
    except (SyntaxError, ValueError):
        return []
    pairs: dict[str, str] = {}
    for node in tree.body:
        for name in _stored_names(node):  # a later rebinding in the cell ends the alias
            pairs.pop(name, None)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
            for t in node.targets:
                if isinstance(t, ast.Name) and t.id != node.value.id:
                    pairs[t.id] = node.value.id
    return list(pairs.items())


def rebound_as_data(source: str, names: Sequence[str]) -> set[str]:
    """Which of ``names`` (bound by an import or def in the cell) the cell's last top-level
    binding makes an ordinary value."""
    try:
        tree = ast.parse(mask_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    wanted = set(names)
    kind: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for n in _import_binds(node)[0] & wanted:
                kind[n] = "import"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name in wanted:
                kind[node.name] = "def"
        else:
            for n in _stored_names(node) & wanted:
                kind[n] = "data"
    return {n for n, k in kind.items() if k == "data"}


_DISPLAY_CALLS = frozenset({"print", "display", "displayHTML", "show", "head", "tail",
                            "describe", "info", "pprint"})


def top_level_effects(source: str, modules: frozenset[str]) -> bool:
    """Whether a cell makes a top-level call for its side effect on a module or the runtime
    (``mlflow.set_tracking_uri(...)``, ``warnings.filterwarnings(...)``, ``spark.conf.set``,
    ``os.makedirs``), which every stage process needs too. ``modules`` are import-bound names."""
    try:
        tree = ast.parse(mask_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            callee = _dotted(node.value.func) or ""
            root, last = callee.split(".", 1)[0].split("(")[0], callee.rsplit(".", 1)[-1]
            if last in _DISPLAY_CALLS:
                continue
            if root in modules or root in RUNTIME_NAMES:
                return True
    return False


_ENABLER = re.compile(r"\s*(from\s+sklearn\.experimental\s+import|import\s+sklearn\.experimental\b)")


def _only_imports(source: str) -> bool:
    """Every top-level statement is an import: ``plt.rcParams["figure.dpi"] = 60`` after the
    imports makes the cell more than its import statements (it must be copied, not dissolved)."""
    try:
        tree = ast.parse(mask_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return all(isinstance(n, (ast.Import, ast.ImportFrom)) or isinstance(n, ast.Pass)
               or isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
               for n in tree.body)


def _loads(nodes: Sequence[ast.AST | None]) -> set[str]:
    out: set[str] = set()
    stack = [n for n in nodes if n is not None]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            out.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # a nested def runs its header, not its body
            stack.extend(x for x in _definition_nodes(n) if x is not None)
        elif not isinstance(n, ast.Lambda):
            stack.extend(ast.iter_child_nodes(n))
    return out


def _definition_nodes(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list:
    parts: list = list(node.decorator_list)
    if isinstance(node, ast.ClassDef):
        parts += node.bases + [k.value for k in node.keywords] + node.body
    else:
        a = node.args
        parts += a.defaults + [d for d in a.kw_defaults if d is not None]
        parts += [x.annotation for x in a.posonlyargs + a.args + a.kwonlyargs
                  + [a.vararg, a.kwarg] if x is not None and x.annotation is not None]
        parts.append(node.returns)
    return parts


def _definition_time_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
                           ) -> frozenset[str]:
    names = _loads(_definition_nodes(node))
    if isinstance(node, ast.ClassDef):  # names the class body binds before using them
        names -= {n for st in node.body for n in _stored_names(st)}
    return frozenset(names - _BUILTINS)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    if isinstance(node, ast.Call):  # SparkSession.builder.getOrCreate() chains
        inner = _dotted(node.func)
        return f"{inner}()." + ".".join(reversed(parts)) if inner else None
    return None


def unpicklable_binding(source: str, name: str) -> str | None:
    """Describe how ``name`` is bound to a value that cannot be saved (``open(...)``, a lambda, a
    generator expression, a database connection), or None."""
    if "lambda" not in source and " for " not in source and not any(
            tail in source for tail in _UNPICKLABLE_TAILS):
        return None
    try:
        tree = ast.parse(mask_magics(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found = None
    for node in tree.body:
        value = None
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            value = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.target.id == name:
            value = node.value
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name) and item.optional_vars.id == name:
                    value = item.context_expr
        if value is None:
            continue
        found = None  # a later plain rebinding wins
        if isinstance(value, ast.Lambda):
            found = "a lambda"
        elif isinstance(value, ast.GeneratorExp):
            found = "a generator expression"
        elif isinstance(value, ast.Call):
            callee = _dotted(value.func) or ""
            tail = callee.rsplit(").", 1)[-1]
            for bad in _UNPICKLABLE_CALLS:
                if callee == bad or tail == bad or callee.endswith("." + bad) \
                        or tail.endswith("." + bad):
                    found = f"{callee}(...)"
                    break
    return found


# Calls and assignments that set library-wide state every later cell of the monolith sees: in a
# split, each stage process needs them like an import (figure sizes, themes, print options,
# warning filters). Qualified through the notebook's imports; ``spark`` is the runtime's.
_CONFIG_CALLS = frozenset({
    "matplotlib.rc", "matplotlib.pyplot.rc", "matplotlib.style.use", "matplotlib.pyplot.style.use",
    "matplotlib.rcParams.update", "matplotlib.pyplot.rcParams.update", "matplotlib.use",
    "seaborn.set", "seaborn.set_theme", "seaborn.set_style", "seaborn.set_context",
    "seaborn.set_palette", "seaborn.set_color_codes", "pandas.set_option", "pandas.reset_option",
    "numpy.set_printoptions", "numpy.seterr", "warnings.filterwarnings", "warnings.simplefilter",
    "sklearn.set_config", "spark.conf.set", "spark.sparkContext.setLogLevel",
    # the pandas API on Spark keeps its options in the session's conf: a later stage's session
    # must get them too (`compute.ops_on_diff_frames` decides whether its code runs at all,
    # `compute.default_index_type` which index values it prints)
    "pyspark.pandas.set_option", "pyspark.pandas.reset_option",
})
_CONFIG_TARGETS = ("matplotlib.rcParams", "matplotlib.pyplot.rcParams", "pandas.options.",
                   "plotly.io.templates.default", "pandas.options", "pyspark.pandas.options.")


def config_statements(source: str, aliases: dict[str, str]) -> list[tuple[int, str, str]]:
    """Top-level statements of a cell that set global library configuration, as
    ``(position, verbatim text, root name)``; ``aliases`` maps import-bound names to modules."""
    if not any(k in source for k in ("rc", "set", "filterwarnings", "simplefilter", "options",
                                     "seterr", "style", "templates", "use(", "getOrCreate")):
        return []
    try:
        tree = ast.parse(mask_magics(source))
    except (SyntaxError, ValueError):
        return []

    def qualified(node: ast.AST) -> tuple[str, str] | None:
        dotted = _dotted(node)
        if not dotted or "(" in dotted:
            return None
        root, _, rest = dotted.partition(".")
        base = aliases.get(root, root if root == "spark" else "")
        return (f"{base}.{rest}" if rest else base, root) if base else None

    out = []
    for pos, node in enumerate(tree.body):
        found = None
        value = node.value if isinstance(node, (ast.Assign, ast.Expr)) else None
        chain = _dotted(value.func) if isinstance(value, ast.Call) else None
        if chain and chain.endswith(".getOrCreate") and aliases.get(chain.split(".", 1)[0], "").startswith("pyspark"):
            # the notebook's own session builder: later stages build the same session
            found = (chain, chain.split(".", 1)[0])
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            q = qualified(node.value.func)
            if q and q[0] in _CONFIG_CALLS:
                found = q
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                base = t.value if isinstance(t, ast.Subscript) else t
                q = qualified(base) if isinstance(base, ast.Attribute) or isinstance(t, ast.Subscript) else None
                if q and any(q[0] == p.rstrip(".") or q[0].startswith(p) for p in _CONFIG_TARGETS):
                    found = q
        if found:
            out.append((pos, ast.get_source_segment(mask_magics(source), node) or "", found[1]))
    return out


def session_names(source: str) -> set[str]:
    """Names a cell binds to a Spark session it builds (``spark = SparkSession.builder...
    .getOrCreate()``): a session cannot be saved, and later stages build their own."""
    if "getOrCreate" not in source:
        return set()
    try:
        tree = ast.parse(mask_magics(source))
    except (SyntaxError, ValueError):
        return set()
    return {t.id for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
            and (_dotted(node.value.func) or "").endswith(".getOrCreate")
            for t in node.targets if isinstance(t, ast.Name)}


# --------------------------------------------------------------------------- the engine


@dataclass
class _CellInfo:
    cell: Cell
    facts: CellFacts
    imports: frozenset[str]
    functions: dict[str, FunctionInfo]
    rng: Literal["seed", "draw"] | None

    @cached_property
    def binds(self) -> dict[str, BindKind]:
        kinds: dict[str, BindKind] = {}
        for n in self.facts.defines:
            kinds[n] = "def" if n in self.functions else "import" if n in self.imports else "data"
        special = [n for n, k in kinds.items() if k != "data"]
        if special and any(k == "data" for k in kinds.values()) or (
                special and self.facts.calls and not self.facts.import_only):
            # a mixed cell may rebind an imported/defined name as data afterwards:
            # ``r2_score = r2_score(y, p)``, ``clean = udf(clean, StringType())``
            src = self.cell.source
            maybe = [n for n in special if _assigned_in_text(n, src)]
            for n in rebound_as_data(src, maybe) if maybe else ():
                kinds[n] = "data"
        return kinds

    @cached_property
    def name_aliases(self) -> list[tuple[str, str]]:
        """``name_aliases`` of the cell (a function of its source; every walk asks)."""
        return name_aliases(self.cell.source)

    @cached_property
    def star_import(self) -> bool:
        """``from m import *`` in the source (asked twice per cell by each of the two walks)."""
        return _STAR_IMPORT.search(self.cell.source) is not None

    @cached_property
    def side_effect_only(self) -> bool:
        """Binds no data and defines no function (only imports, or nothing): seeds, options,
        installs, ``%matplotlib inline``. The engine also requires it to mutate no data."""
        return all(k == "import" for k in self.binds.values()) and not self.functions


# What follows a name an assignment (re)binds: ``n =``, ``n: T =``, ``n, m =`` (not ``==``).
_ASSIGNED_AFTER = re.compile(r"\s*(?::[^=\n]*)?=(?!=)|\s*,[^\n=]*=(?!=)")
_WORD = re.compile(r"\w")


def _assigned_in_text(name: str, source: str) -> bool:
    """``re.search(rf"\\b{name}\\s*(?::[^=\\n]*)?=(?!=)|\\b{name}\\s*,[^\\n=]*=(?!=)", source)``,
    without compiling a pattern per name of every mixed cell (compiling cost more than searching,
    and at 10,000 cells the names overflowed re's cache of compiled patterns)."""
    at = source.find(name)
    while at >= 0:
        # re's \b before the name: a word character on exactly one side
        before = at > 0 and _WORD.match(source, at - 1) is not None
        if before != (_WORD.match(source, at) is not None) and _ASSIGNED_AFTER.match(source, at + len(name)):
            return True
        at = source.find(name, at + 1)
    return False


@dataclass(frozen=True)
class Read:
    name: str  # a variable, or a path for a ``"file"`` read
    writer: int | None
    kind: BindKind | Literal["file"] | None


# reads that order the reader after the writer: a value (handed off) or a file (on disk)
_ORDERED = ("data", "file")


def _show(name: str) -> str:
    """A read's name in a message: a variable, or a path (never an identifier) as a file."""
    return f"`{name}`" if name.isidentifier() else f"the file `{name}`"


def _makes(name: str) -> str:
    return "computes" if name.isidentifier() else "writes"


def _made(name: str) -> str:
    return "computed" if name.isidentifier() else "written"


@dataclass
class Flow:
    """The engine's result: final stages, per-stage contents, with provenance for the manifest."""

    classifications: list[Classification]
    emitted: list[Stage]
    cells: dict[Stage, list[int]] = field(default_factory=dict)
    copies: dict[Stage, set[int]] = field(default_factory=dict)  # setup cells copied in
    imports: dict[Stage, dict[tuple[int, int], str]] = field(default_factory=dict)
    helpers: dict[Stage, dict[tuple[int, int], str]] = field(default_factory=dict)
    # (cell, statement) -> (the stage cell it runs right before, its text): a second version of
    # an import/definition, or one a stage cell would shadow if it ran at the top
    inline: dict[Stage, dict[tuple[int, int], tuple[int, str]]] = field(default_factory=dict)
    handoffs_in: dict[Stage, list[Handoff]] = field(default_factory=dict)
    files_in: dict[Stage, list[FileRead]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    moves: dict[int, str] = field(default_factory=dict)


class Engine:
    def __init__(self, nb: Notebook, facts: Sequence[CellFacts | None],
                 classifications: Sequence[Classification], strict: bool) -> None:
        if len(facts) != len(nb.cells) or len(classifications) != len(nb.cells):
            raise ValueError(
                f"{nb.path}: plan needs one facts entry and one classification per cell "
                f"({len(nb.cells)} cells, {len(facts)} facts, {len(classifications)} "
                "classifications)")
        self.nb = nb
        self.strict = strict
        self.classes = list(classifications)
        self.stage = [c.stage for c in classifications]
        self.info: dict[int, _CellInfo] = {}
        # a global draw is judged with what the notebook bound before the cell (an estimator
        # built with random_state=0 fits without drawing): see randomness.GlobalDraws
        rng = global_rng_effects(nb.cells, facts)
        for cell, f in zip(nb.cells, facts):
            if cell.kind != "code" or f is None:
                continue
            self.info[cell.index] = _CellInfo(
                cell=cell, facts=f,
                imports=frozenset(a for a, _ in f.imports),
                functions=merged_functions(f.functions),
                rng=rng.get(cell.index))
        self.diags: list[Diagnostic] = []
        self._stmts: dict[int, tuple[TopStatement, ...] | None] = {}
        self.reads: dict[int, list[Read]] = {}
        self.data_writers: set[int] = set()  # cells that made a new data version
        # (holder, cell): ``cell`` changes in place an object ``holder``'s name is bound to too
        # (``df = raw`` then ``df.dropna(inplace=True)``); only one stage can hold both names
        self.alias_pairs: set[tuple[int, int]] = set()
        self.star_cells: list[int] = []  # `from m import *`: every stage imports it
        self._dry = False
        self.moves: dict[int, str] = {}  # cell -> how the constraints first moved it: forward/back/eda
        self.anchor: dict[int, Stage] = {}  # eda cell that feeds the main line -> its earliest user's stage

    # -- helpers
    def statements(self, index: int) -> tuple[TopStatement, ...] | None:
        if index not in self._stmts:
            # a cell running a script the notebook wrote: the script's own statements
            self._stmts[index] = top_statements(run_sources(self.nb).get(index, self.nb.cells[index].source))
        return self._stmts[index]

    def warn(self, cell: int | None, message: str, severity: str = "warning", *, code: str,
             cells: tuple[int, ...] = (), names: tuple[str, ...] = ()) -> None:
        self.diags.append(Diagnostic(severity=severity, message=message, cell=cell, code=code,  # type: ignore[arg-type]
                                     cells=cells or ((cell,) if cell is not None else ()), names=names))

    def _kept(self) -> list[int]:
        return [i for i in sorted(self.info) if self.stage[i] is not Stage.SKIP]

    # -- pass 0: final stages (moves), over the source-order read graph
    def resolve_stages(self) -> None:
        """Final stages under the dataflow constraints: a cell reads only its own or an earlier
        stage; ``setup`` reads only ``setup``; ``eda`` reads anything and feeds nothing.

        Lenient: an eda cell whose value a main-line cell uses is not looking and leaves eda
        (repeated, since the read graph changes with it: the random state a main-line cell reads
        skips eda draws); then one exact optimisation (``classify.placement``) places every
        main-line cell at least cost under the constraints, the cost of a stage being how unlikely
        the classifier found it, plus a sequence term inside each part it re-places (a cell
        falling behind the main-line cell before it); a cell no main-line cell reads may instead
        look (eda, at the classifier's eda cost). Strict: nothing moves; each violated read is
        an error.
        """
        self._reported: set[int] = set()
        kept: list[Diagnostic] = []
        while True:
            self._dry = True
            self.walk()
            self._dry = False
            graph = self.reads
            self.reads, self.data_writers, self.star_cells, self.diags = {}, set(), [], []
            if self.strict:
                for c in sorted(graph):
                    self._maybe_move(c, graph[c])
                return
            feeders: dict[int, tuple[int, str]] = {}
            lookers: dict[int, tuple[int, str]] = {}
            for c in sorted(graph):
                if self.stage[c] is Stage.EDA:
                    continue
                for r in graph[c]:
                    if not (r.kind in _ORDERED and r.writer is not None and r.name != RNG_STATE
                            and self.stage[r.writer] is Stage.EDA):
                        continue
                    if self.stage[c] is Stage.SETUP and c not in self.anchor:
                        # a setup cell reading what eda computed is looking along with it
                        lookers.setdefault(c, (r.writer, r.name))
                        continue
                    known = feeders.get(r.writer)
                    if known is None or INDEX[self.stage[c]] < INDEX[self.stage[known[0]]]:
                        feeders[r.writer] = (c, r.name)
            for c, (w, name) in sorted(lookers.items()):
                self.stage[c] = Stage.EDA
                self.moves[c] = "eda"
                self._note_move(c, Stage.EDA, f"setup cell {c} reads {_show(name)}, {_made(name)} by eda cell {w}: it is "
                                "not shared setup but part of eda",
                                f"moved to eda: reads {_show(name)}, which eda {_makes(name)} in cell {w}",
                                cells=(c, w), names=(name,))
            if not feeders and not lookers:
                break
            for w, (c, name) in sorted(feeders.items()):
                self.anchor[w] = self.stage[c]  # with no better guess it joins its earliest use
                self.stage[w] = self._best_main_line(w)
                self.moves[w] = "eda"
                self._note_move(w, self.stage[w], f"cell {w} (eda) {_makes(name)} {_show(name)}, which cell {c} uses: "
                                "eda feeds no stage",
                                f"moved to {self.stage[w]}: {_makes(name)} {_show(name)}, which cell {c} uses",
                                cells=(w, c), names=(name,))
            kept.extend(self.diags)
        self.diags = kept
        self._place(graph)

    def _best_main_line(self, c: int) -> Stage:
        cost = self._costs(c)
        return LABELS[min(range(len(LABELS)), key=lambda k: (cost[k], k))]

    def _costs(self, c: int) -> list[float]:
        """How unlikely the classifier found each main-line stage for cell ``c`` (nats)."""
        cls = self.classes[c]
        if cls.origin in DECIDED_ORIGINS:
            return [0.0 if s is cls.stage else _MARKED_COST for s in LABELS]
        probs = dict(cls.scores)
        if not probs:
            rest = (1.0 - cls.confidence) / (len(LABELS) - 1)
            probs = {s.value: (cls.confidence if s is cls.stage else rest) for s in LABELS}
        own = INDEX[self.anchor.get(c, cls.stage)]
        if c in self.anchor and not cls.scores:
            probs = {s.value: (cls.confidence if k == own else (1.0 - cls.confidence) / (len(LABELS) - 1))
                     for k, s in enumerate(LABELS)}
        # On a tie, a nearer stage beats a farther one and a reader moving on beats its producer
        # moving back (what a person tagging the cells would most likely do).
        return [min(-math.log(max(probs.get(v, 0.0), 1e-4)), _MAX_COST)
                + (_TIE_BACK * (own - k) if k < own else _TIE_FORWARD * (k - own))
                for k, v in enumerate(_LABEL_VALUES)]

    def _place(self, graph: dict[int, list[Read]]) -> None:
        variables = [c for c in sorted(graph) if self.stage[c] is not Stage.EDA
                     and (self.stage[c].is_pipeline or self.stage[c] is Stage.SETUP)]
        costs = {}
        for c in variables:
            cost = self._costs(c)
            if c not in self.anchor:  # the stage the classifier chose stays the cheapest
                own = INDEX[self.stage[c]]
                cost[own] = min(cost[own], min(cost) - 1e-6)
            if self.stage[c] is not Stage.SETUP:
                # setup is copied into every stage that needs it: a cell that computes data is
                # never made shared setup to satisfy a read (its reader moves on instead)
                cost[INDEX[Stage.SETUP]] = _MARKED_COST
            costs[c] = cost
        # the random state is not a constraint: a cell keeps its stage and the walk warns when
        # that stage cannot hold the state the monolith drew from (``_rng_reachable``)
        edges = sorted({(r.writer, c) for c in variables for r in graph[c]
                        if r.kind in _ORDERED and r.writer is not None and r.writer in costs
                        and r.name != RNG_STATE}
                       # a change through an alias is a change of the object both names hold:
                       # the two cells share one stage (an edge each way), or a stage reading the
                       # other name would see the object unchanged
                       | {e for h, c in self.alias_pairs if h in costs and c in costs for e in ((h, c), (c, h))})
        # eda is a side branch: a cell whose value no main-line cell reads may look instead of
        # following a later stage's value forward, at the cost the classifier gave eda
        side = {c: min(-math.log(max(p, 1e-4)), _MAX_COST) for c in variables
                if c not in self.anchor and self.classes[c].origin not in DECIDED_ORIGINS
                and (p := dict(self.classes[c].scores).get(Stage.EDA.value)) is not None}
        line = [c for c in variables if self.stage[c].is_pipeline]
        labels = solve(costs, edges, side, line, SEQUENCE_BACK)
        old = {c: self.stage[c] for c in variables}
        looking = [c for c in variables if labels[c] == SIDE]
        for c in looking:
            variables.remove(c)
            self.stage[c] = Stage.EDA
            self.moves.setdefault(c, "eda")
            reads = sorted((r.name, r.writer) for r in graph[c] if r.kind in _ORDERED and r.name != RNG_STATE
                           and r.writer in costs and INDEX[LABELS[labels[r.writer]]] > INDEX[old[c]])
            name, w = reads[0] if reads else ("", None)
            got = f"{_show(name)} from cell {w} ({LABELS[labels[w]]})" if w is not None else "a later stage's value"
            self._note_move(c, Stage.EDA, f"cell {c} ({old[c]}) reads {got} and no stage reads what it computes: "
                            "it only looks, beside the main line",
                            f"moved to eda: reads {got} and feeds no stage", cells=(c, w) if w is not None else (c,),
                            names=(name,) if name else ())
        for c in variables:
            self.stage[c] = LABELS[labels[c]]
        readers: dict[int, list[tuple[int, str]]] = {}
        for w, r in edges:
            for x in graph[r]:
                if x.writer == w and x.kind in _ORDERED and x.name != RNG_STATE:
                    readers.setdefault(w, []).append((r, x.name))
        for c in variables:
            new = self.stage[c]
            if new is old[c]:
                continue
            if INDEX[new] > INDEX[old[c]]:
                self.moves.setdefault(c, "forward")
                reads = [(r.writer, r.name) for r in graph[c] if r.kind in _ORDERED and r.name != RNG_STATE
                         and r.writer in costs and self.stage[r.writer] is new]
                w, name = min(reads, key=lambda t: (INDEX[old[t[0]]] <= INDEX[old[c]], t[0])) if reads else (None, "")
                if w is None:
                    what = f"cell {c} ({old[c]}) moved to {new} with what it reads"
                    reason, cells, names = f"moved to {new} with what it reads", (c,), ()
                else:
                    if old[c] is Stage.SETUP:
                        what = (f"setup cell {c} reads {_show(name)}, {_made(name)} by cell {w} ({new}): it is not "
                                f"shared setup but part of {new}")
                    else:
                        what = f"cell {c} ({old[c]}) reads {_show(name)} from cell {w} ({new}), a later stage"
                    reason, cells, names = (f"moved to {new}: reads {_show(name)}, which {new} "
                                              f"{'defines' if name.isidentifier() else 'writes'} in cell {w}", (c, w), (name,))
            else:
                self.moves.setdefault(c, "back")
                users = [(r, n) for r, n in readers.get(c, ()) if self.stage[r] is new]
                reader, _ = min(users, key=lambda t: (INDEX[old[t[0]]] >= INDEX[old[c]], t[0])) if users else (None, "")
                names = tuple(sorted({n for r, n in users if r == reader}))
                listed = ", ".join(_show(n) for n in names) or "what it computes"
                holder = next((h for h, x in sorted(self.alias_pairs) if x == c and self.stage[h] is new), None)
                if reader is None and holder is not None:
                    reader = holder
                    what = (f"cell {c} ({old[c]}) changes in place an object cell {holder} ({new}) binds to "
                            "another name: one stage must hold both names")
                    reason = f"moved back to {new}: changes in place what cell {holder} holds under another name"
                elif reader is None:  # its part of the read graph moved back around it
                    what = f"cell {c} ({old[c]}) moved back to {new} with the cells around it"
                    reason = f"moved back to {new} with the cells around it"
                else:
                    verb = "computes" if any(n.isidentifier() for n in names) else "writes"
                    what = (f"cell {c} ({old[c]}) {verb} {listed}, which cell {reader} ({new}) reads: moving "
                            "it back costs less than moving its readers forward")
                    reason = f"moved back to {new}: {new} cell {reader} reads what it {verb}"
                cells = (c, reader) if reader is not None else (c,)
            self._note_move(c, new, what, reason, cells=cells, names=names)

    def _note_move(self, c: int, target: Stage, what: str, reason: str, *, cells: tuple[int, ...],
                   names: tuple[str, ...]) -> None:
        self.warn(c, f"{what}: moved to {target}; tag it nbsplit:{target} or move the cell to "
                     "silence this", code=CODE_MOVED, cells=cells, names=names)
        old = self.classes[c]
        # how likely the classifier found the stage the cell now has, where it weighed it
        conf = round(min(dict(old.scores).get(target.value, old.confidence), 0.99), 2) if old.scores \
            else old.confidence
        self.classes[c] = replace(old, stage=target, origin="dataflow", confidence=conf,
                                  reasons=tuple(old.reasons) + (reason,))

    # -- pass 1: versions, moves, use-before-define
    def walk(self) -> None:
        kept = self._kept()
        self.alias_pairs = set()
        writers_all: dict[str, list[int]] = {}
        skip_writers: dict[str, list[int]] = {}
        for i in sorted(self.info):
            inf = self.info[i]
            if self.stage[i] is Stage.SKIP:
                for n in set(inf.facts.writes) | ({RNG_STATE} if inf.rng else set()):
                    skip_writers.setdefault(n, []).append(i)
            else:
                for n in inf.facts.defines:
                    writers_all.setdefault(n, []).append(i)
        star_before: int | None = None

        binding: dict[str, tuple[BindKind, int]] = {}
        last: dict[str, int] = {}
        rng_writers: list[int] = []  # kept cells that seeded or drew, in source order
        value_defs: dict[tuple[str, int], frozenset[str]] = {}  # (name, version) -> defs it holds
        pickled_defs: set[str] = set()  # defs held by values the notebook pickled to files so far
        aliases: dict[str, frozenset[str]] = {}  # name -> every name bound to the same object
        files = file_uses(self.nb)
        last_file: dict[str, int] = {}  # path -> the last kept cell that wrote it
        for c in kept:
            inf = self.info[c]
            direct = set(inf.facts.reads)
            # functions defined in this cell and called here: their free names are read now
            # (over-approximated: a name the cell binds before the call is loaded needlessly)
            # an object whose class (or a function it holds) is defined in the notebook needs
            # that definition wherever it is unpickled: read it with the value
            for n in inf.facts.reads:
                b = binding.get(n)
                if b is not None and b[0] == "data":
                    for d in value_defs.get((n, last.get(n, b[1])), ()):
                        bd = binding.get(d)
                        if bd is not None and bd[0] == "def":
                            direct.add(d)
            # a file the notebook pickled such a value to: which file is not followed, so every
            # definition pickled so far is read where the notebook unpickles
            if pickled_defs and any(call.name in _PICKLE_READS for call in inf.facts.calls):
                direct |= {d for d in pickled_defs if binding.get(d, ("",))[0] == "def"}
            own_rng = inf.rng
            for fname, fi in inf.functions.items():
                if any(call.name == fname for call in inf.facts.calls):
                    direct |= fi.free_names
                    for call in fi.calls:
                        e = call_draws(call)
                        if e == "draw" or (e == "seed" and own_rng is None):
                            own_rng = e
            eff, rng = self._closure(c, direct, binding, own_rng)
            if rng == "draw":
                eff.add(RNG_STATE)
            reads = []
            for n in sorted(eff):
                b = binding.get(n)
                if b is None:
                    reads.append(Read(n, None, None))
                    if n != RNG_STATE and not (n in inf.facts.defines and (
                            n not in inf.facts.reads or n in inf.facts.self_bound_reads)):
                        self._undefined(c, n, writers_all, skip_writers, star_before)
                    continue
                kind, bcell = b
                w = last.get(n, bcell) if kind == "data" else bcell
                if n == RNG_STATE and w is not None and not self._rng_reachable(w, c):
                    # The random state is a soft constraint: a cell stays in its stage rather
                    # than following a later stage's draw (eda feeds no stage, not even through
                    # the random state); its stage draws from the last state it can hold.
                    if self.stage[w] is Stage.EDA:
                        after = f"eda cell {w} drew from it"
                    else:
                        after = (f"cell {w} ({self.stage[w]}) drew from it, and {self.stage[c]} "
                                 f"runs before {self.stage[w]}")
                    self.warn(c, f"cell {c} draws from the global random state after {after}: the "
                                 "split cannot reproduce those numbers exactly; pass random_state/seed "
                                 "to the call or seed again",
                              code=CODE_RANDOMNESS, cells=(c, w), names=(RNG_STATE,))
                    w = next((x for x in reversed(rng_writers) if self._rng_reachable(x, c)), None)
                    if w is None:
                        reads.append(Read(n, None, None))
                        continue
                reads.append(Read(n, w, kind))
                sk = skip_writers.get(n)
                if sk:
                    lo = bisect_right(sk, w)
                    if lo < len(sk) and sk[lo] < c:
                        self.warn(c, f"cell {c} reads `{n}`, which skipped cell {sk[lo]} changes "
                                     "before it: the stages run without that change",
                                  code=CODE_NAMES, cells=(c, sk[lo]), names=(n,))
            named = set(files.names.get(c, ()))
            for r in reads:  # a name an import of a written module binds: the import needs the file
                if r.kind == "import" and r.writer is not None:
                    named |= files.imports.get(r.writer, frozenset())
            for path in sorted(named):
                w = last_file.get(path)
                if w is not None:
                    reads.append(Read(path, w, "file"))
            self.reads[c] = reads
            for path in files.writes.get(c, ()):
                last_file[path] = c
            carried = self._carried(inf, reads)
            for r in reads:
                if r.kind == "data" and r.writer is not None:
                    carried |= value_defs.get((r.name, r.writer), frozenset())
            # apply writes
            for n, kind in inf.binds.items():
                binding[n] = (kind, c)
                last[n] = c
                if kind == "data" and carried:
                    value_defs[(n, c)] = carried
            for n in inf.facts.mutates:
                b = binding.get(n)
                if b is not None and b[0] == "data":
                    last[n] = c
                    self.data_writers.add(c)
                    if carried:
                        value_defs[(n, c)] = carried
            for call in inf.facts.calls:  # after the writes: ``x = ...; x.to_pickle(p)`` in one cell
                if call.name in _PICKLE_WRITES or call.method == "to_pickle":
                    pickled = [*call.args, *([call.receiver] if call.method == "to_pickle" and call.receiver else [])]
                    for n in pickled:
                        b = binding.get(n)
                        if b is not None and b[0] == "data":
                            pickled_defs |= value_defs.get((n, last.get(n, b[1])), frozenset())
            for n in inf.binds if aliases else ():  # (no alias group yet: nothing to end)
                for other in aliases.pop(n, frozenset()) - {n}:
                    aliases[other] = aliases[other] - {n}
                    if len(aliases[other]) < 2:
                        del aliases[other]
            for target, source in inf.name_aliases:
                if binding.get(source, ("",))[0] == "data" and binding.get(target, ("",))[0] == "data":
                    group = aliases.get(source, frozenset({source})) | {target}
                    for member in group:
                        aliases[member] = group
            if aliases:
                self._alias_writes(c, inf, aliases, binding, last)
            if any(k == "data" for k in inf.binds.values()):
                self.data_writers.add(c)
            if rng or inf.rng:
                binding[RNG_STATE] = ("data", c)
                last[RNG_STATE] = c
                rng_writers.append(c)
            if star_before is None and (
                    any(a == "*" or q.endswith("*") for a, q in inf.facts.imports)
                    or inf.star_import
                    or any(m.startswith("%run") for m in inf.facts.magics)):
                star_before = c  # from here on, a name may come from where we cannot see
            if inf.star_import:
                self.star_cells.append(c)

    def _rng_reachable(self, w: int, c: int) -> bool:
        """Whether cell ``c``'s stage can hold the random state cell ``w`` left: ``w`` runs in
        it or before it (setup is copied where needed; eda looks at any stage's snapshot)."""
        sw, sc = self.stage[w], self.stage[c]
        if sc is Stage.EDA or sw is Stage.SETUP:
            return True
        if sw is Stage.EDA or sc is Stage.SETUP:
            return False
        return not (sw.is_pipeline and sc.is_pipeline and sw.order > sc.order)

    def _alias_writes(self, c: int, inf: _CellInfo, aliases: dict[str, frozenset[str]],
                      binding: dict[str, tuple[BindKind, int]], last: dict[str, int]) -> None:
        """``df = raw`` then ``df.dropna(inplace=True)`` changes ``raw`` too: the in-place change
        is a new version of every name bound to the object, where this stage holds them."""
        for n in inf.facts.mutates:
            for other in sorted(aliases.get(n, frozenset()) - {n} - inf.facts.mutates):
                held = last.get(other, binding[other][1])
                if self.stage[held] is not Stage.SETUP:
                    self.alias_pairs.add((held, c))
                if self.stage[held] is self.stage[c] or self.stage[held] is Stage.SETUP:
                    last[other] = c
                    self.data_writers.add(c)
                elif not self._dry:
                    self.warn(c, f"cell {c} changes `{n}` in place, which is the same object as "
                                 f"`{other}` (cell {held}, {self.stage[held]}): {self.stage[c]} does "
                                 f"not hold `{other}`, so stages reading `{other}` see it unchanged; "
                                 f"use `{n} = {n}.copy()` or change `{other}` instead",
                              code=CODE_ALIAS, cells=(c, held), names=(n, other))

    def _carried(self, inf: _CellInfo, reads: list[Read]) -> frozenset[str]:
        """Notebook classes this cell instantiates and notebook functions it hands to a
        constructor (``FunctionTransformer(add_features)``): values it makes may hold them."""
        defs = {r.name: r.writer for r in reads if r.kind == "def"}
        if not defs and not inf.functions:
            return frozenset()  # no notebook function or class in reach: ``_function`` finds none
        out = set()
        for call in inf.facts.calls:
            root = call.name.split(".", 1)[0]
            fi = self._function(root, defs, inf)
            if fi is not None and fi.is_class:
                out.add(root)
            if call.method[:1].isupper():
                out.update(a for a in call.args if self._function(a, defs, inf) is not None)
        return frozenset(out)

    def _function(self, name: str, defs: dict[str, int | None],
                  inf: _CellInfo) -> FunctionInfo | None:
        if name in inf.functions:
            return inf.functions[name]
        w = defs.get(name)
        return self.info[w].functions.get(name) if w is not None else None

    def _closure(self, cell: int, direct: set[str], binding: dict[str, tuple[BindKind, int]],
                 rng: Literal["seed", "draw"] | None) -> tuple[set[str], str | None]:
        """Add the free names of every helper reachable from ``direct`` (resolved now)."""
        own = self.info[cell].functions
        eff = set(direct)
        stack = [n for n in direct]
        seen: set[tuple[int, str]] = set()
        while stack:
            n = stack.pop()
            found = []
            b = binding.get(n)
            if b is not None and b[0] == "def":
                found.append((b[1], n))
            if n in own:  # the cell's own (re)definition may be the one called
                found.append((cell, n))
            for key in found:
                if key in seen:
                    continue
                seen.add(key)
                fi = self.info[key[0]].functions[n]
                for call in fi.calls:  # a helper's fit/split draws as the cell's own would
                    e = call_draws(call)
                    if e == "draw" or (e == "seed" and rng is None):
                        rng = e
                for m in fi.free_names:
                    eff.add(m)
                    stack.append(m)
        return eff, rng

    def _undefined(self, c: int, n: str, writers_all: dict[str, list[int]],
                   skip_writers: dict[str, list[int]], star_before: int | None) -> None:
        defs = writers_all.get(n, [])
        pos = bisect_right(defs, c)
        if pos < len(defs):
            k = defs[pos]
            self.warn(c, f"cell {c} reads `{n}` before any cell defines it (cell {k} defines it "
                         "later): the notebook only works when cells run out of order",
                      code=CODE_NAMES, cells=(c, k), names=(n,))
            return
        if n in _BUILTINS or n in RUNTIME_NAMES or star_before is not None or not self.info[c].facts.parsed:
            return  # (an unparsed cell's reads are words of its text: its parse warning says enough)
        sk = skip_writers.get(n)
        if sk:
            self.warn(c, f"cell {c} reads `{n}`, which only skipped cell {sk[0]} defines: "
                         "unskip that cell or define the name in a kept cell",
                      code=CODE_NAMES, cells=(c, sk[0]), names=(n,))
            return
        self.warn(c, f"cell {c} reads `{n}`, which is never defined in the notebook", code=CODE_NAMES, names=(n,))

    def _maybe_move(self, c: int, reads: list[Read]) -> bool:
        """Strict planning: report each read of ``c`` that breaks the constraints, naming the stage
        the lenient plan could move a cell to; nothing moves (lenient moves are ``_place``'s)."""
        own = self.stage[c]
        if own is Stage.EDA or not (own.is_pipeline or own is Stage.SETUP):
            return False  # eda is a side branch: it loads a snapshot of what it looks at
        moved = False
        culprits, feeders = [], []
        for r in reads:
            if r.kind not in _ORDERED or r.writer is None:
                continue
            ws = self.stage[r.writer]
            if ws is Stage.EDA:
                if own is Stage.SETUP:
                    culprits.append((ws.order, r.name, r.writer, ws))
                elif r.name != RNG_STATE:
                    feeders.append((r.writer, r.name))
            elif ws.is_pipeline and (own is Stage.SETUP or ws.order > own.order):
                culprits.append((ws.order, r.name, r.writer, ws))
        if culprits:
            eda = [t for t in culprits if t[3] is Stage.EDA]
            # a setup cell reading what eda computed looks with it; otherwise the latest producer
            _, name, writer, target = eda[0] if eda else max(culprits, key=lambda t: (t[0], -t[2]))
            names = ", ".join(_show(n) for n in sorted({t[1] for t in culprits}))
            tagged = self.classes[c].origin in ("tag", "directive")
            if own is Stage.SETUP:
                what = (f"setup cell {c} reads {names}, computed by cell {writer} ({target}): "
                        f"it is not shared setup but part of {target}")
            else:
                what = (f"cell {c} ({own}{', tagged' if tagged else ''}) reads {names} from cell "
                        f"{writer} ({target}), a later stage")
            moved |= self._move(c, target, what, cells=(c, writer),
                                names=tuple(sorted({t[1] for t in culprits})))
        for w, name in feeders:
            own = self.stage[c]
            if self.stage[w] is not Stage.EDA or own is Stage.EDA:
                continue
            tagged = self.classes[w].origin in ("tag", "directive")
            what = (f"cell {w} (eda{', tagged' if tagged else ''}) {_makes(name)} {_show(name)}, which cell {c} "
                    f"({own}) uses: eda feeds no stage")
            moved |= self._move(w, own, what, cells=(w, c), names=(name,))
        return moved

    def _move(self, c: int, target: Stage, what: str, *, cells: tuple[int, ...],
              names: tuple[str, ...]) -> bool:
        """Strict planning: report the read that would move ``c`` (once per cell); move nothing."""
        if c not in self._reported:
            self._reported.add(c)
            self.warn(c, f"{what}; tag it nbsplit:{target} or move the cell", "error",
                      code=CODE_BACKWARD, cells=cells, names=names)
        return False

    # -- pass 2: stages, setup copies, imports, helpers, handoffs
    def place(self) -> Flow:
        kept = self._kept()
        emitted = [s for s in PIPELINE_STAGES
                   if any(self.stage[i] is s and not self.info[i].cell.is_empty for i in kept)]
        flow = Flow(classifications=self.classes, emitted=emitted,
                    moves={c: how for c, how in sorted(self.moves.items())
                           if self.classes[c].stage is not Stage.SKIP})
        if not emitted:
            if any(self.stage[c.index] is not Stage.SKIP for c in self.nb.cells):
                self.warn(None, "no code cell belongs to a pipeline stage: nothing to split", code=CODE_EMPTY)
            flow.diagnostics = self.diags
            return flow
        first = emitted[0]
        self._reassign_orphans(emitted)

        setup_code = [i for i in kept if self.stage[i] is Stage.SETUP]
        import_only = {i for i in setup_code if self._import_only(i)}
        modules = frozenset().union(*(inf.imports for inf in self.info.values()))
        # a ``%%writefile`` cell whose file later cells read goes with its readers (below), not
        # to every stage: a stage that never runs the file needs no copy, and ``-a`` would append
        # once per stage
        file_writers = {r.writer for rs in self.reads.values() for r in rs if r.kind == "file"}
        with_readers = {i for i in setup_code if i in file_writers
                        and self.info[i].facts.magics[:1] and self.info[i].facts.magics[0].startswith("%%writefile")}
        everywhere = [i for i in setup_code if i not in import_only and i not in with_readers
                      and not self.info[i].facts.display_only and not self.info[i].cell.is_empty
                      and (self.info[i].side_effect_only and i not in self.data_writers
                           or self.info[i].facts.magics or self.info[i].rng == "seed"
                           or top_level_effects(self.info[i].cell.source, modules))]
        members: dict[Stage, set[int]] = {}
        for s in emitted:
            own = {i for i in kept if self.stage[i] is s}
            mem = set(own) | set(everywhere)
            stack = list(mem)
            while stack:
                m = stack.pop()
                for r in self.reads.get(m, ()):
                    w = r.writer
                    if w is not None and r.kind in ("data", "def", "file") and w not in mem \
                            and self.stage[w] is Stage.SETUP and w not in import_only:
                        mem.add(w)
                        stack.append(w)
            members[s] = mem
        # setup cells nobody needs still land somewhere (the first stage), never vanish
        used = set().union(*members.values())
        for i in setup_code:
            if i not in import_only and i not in used:
                members[first].add(i)
                stack = [i]
                while stack:
                    m = stack.pop()
                    for r in self.reads.get(m, ()):
                        w = r.writer
                        if w is not None and r.kind in ("data", "def", "file") and w not in members[first] \
                                and self.stage[w] is Stage.SETUP and w not in import_only:
                            members[first].add(w)
                            stack.append(w)

        unpicklable_seen: set[tuple[str, int]] = set()
        for s in emitted:
            mem = members[s]
            imports: dict[tuple[int, int], str] = {}
            helpers: dict[tuple[int, int], str] = {}
            handoffs: dict[tuple[str, int], Handoff] = {}
            files: dict[tuple[str, int], FileRead] = {}
            bound: dict[tuple[str, str], tuple[int, str]] = {}
            inline: dict[tuple[int, int], tuple[int, str]] = {}
            tables = {"import": imports, "def": helpers, "inline": inline, "handoff": handoffs}
            for w in self.star_cells:
                if w not in mem:
                    for st in self.statements(w) or ():
                        if st.star:
                            imports[(w, st.position)] = st.text
            for m in sorted(mem):
                for r in self.reads.get(m, ()):
                    w = r.writer
                    if w is None or w in mem:
                        continue
                    if r.kind == "import":
                        self._add_statement(tables, w, r.name, "import", s, m, mem, bound)
                    elif r.kind == "def":
                        self._add_statement(tables, w, r.name, "def", s, m, mem, bound)
                    elif r.kind == "file":
                        if (r.name, w) not in files and self.stage[w] is not s and self.stage[w].is_pipeline:
                            files[(r.name, w)] = FileRead(path=r.name, writer=w, producer=self.stage[w], before_cell=m)
                    elif (r.name, w) not in handoffs:
                        handoffs[(r.name, w)] = Handoff(
                            name=r.name, version=w, producer=self.stage[w], consumer=s,
                            before_cell=m)
                        if r.name != RNG_STATE and (r.name, w) not in unpicklable_seen:
                            unpicklable_seen.add((r.name, w))
                            how = unpicklable_binding(self.nb.cells[w].source, r.name)
                            if how:
                                self.warn(w, f"cell {w} binds `{r.name}` to {how}, which cannot "
                                             f"be saved for {s} (cell {m}): recreate it in {s} "
                                             f"or tag cell {w} nbsplit:setup",
                                          code=CODE_HELPER, cells=(w, m), names=(r.name,))
            own_nb = [i for i in mem]
            own_nb += [c.index for c in self.nb.cells
                       if c.kind != "code" or c.index not in self.info
                       if self.stage[c.index] is s or (s is first and self.stage[c.index] is Stage.SETUP)]
            flow.cells[s] = sorted(set(own_nb))
            flow.copies[s] = {i for i in mem if self.stage[i] is Stage.SETUP}
            flow.imports[s] = dict(sorted(imports.items()))
            flow.helpers[s] = dict(sorted(helpers.items()))
            flow.inline[s] = dict(sorted(inline.items(), key=lambda kv: (kv[1][0], kv[0])))
            flow.handoffs_in[s] = sorted(handoffs.values(), key=lambda h: (h.before_cell, h.name))
            flow.files_in[s] = sorted(files.values(), key=lambda f: (f.before_cell, f.path))
        self._carry_config(flow, members)
        self._carry_enablers(flow)
        flow.diagnostics = self.diags
        return flow

    def _carry_config(self, flow: Flow, members: dict[Stage, set[int]]) -> None:
        """A configuration statement (``plt.rcParams[...] = ...``, ``sns.set_theme()``,
        ``pd.set_option``) in a stage cell is state every later cell of the monolith runs under:
        every other stage with a cell after it gets the statement (and the import it needs) in
        its imports cell, in source order, like setup; a stage that also has cells of its own
        before it gets the statement right before its first cell after it (``inline``), so those
        earlier cells run without it as in the monolith (a figure size set in an evaluation cell
        resized a training plot drawn before it)."""
        aliases: dict[str, str] = {}
        for c in self._kept():
            inf = self.info[c]
            aliases.update(inf.facts.imports)
            runs = any(m.startswith("%run") for m in inf.facts.magics)
            if not runs and aliases.keys().isdisjoint(inf.facts.reads) and aliases.keys().isdisjoint(inf.imports) \
                    and "spark" not in inf.facts.reads:
                continue
            found = config_statements(inf.cell.source, aliases)
            if not found and not runs:
                continue
            for s in flow.emitted:
                if c in members[s] or max(members[s], default=-1) < c:
                    continue
                # `%run ./helpers.py` in a stage cell defines names later cells use, like an
                # import: rerun it wherever those cells went.
                for k, line in enumerate(m for m in inf.facts.magics if m.startswith("%run")):
                    flow.imports[s][(c, 10_000 + k)] = line
                # a stage with cells of its own before this one runs them without the setting,
                # as the monolith did: it gets the statement right before its first later cell
                later = min(m for m in members[s] if m > c)
                inline = any(m < c and self.stage[m] is s for m in members[s])
                for pos, text, root in found:
                    if inline and "getOrCreate(" not in text:  # the stage needs its session from the top
                        flow.inline[s][(c, pos)] = (later, text)
                    else:
                        flow.imports[s][(c, pos)] = text
                    if root == "spark" or root in self.info[c].imports:
                        if root in self.info[c].imports:
                            self._import_into(flow, s, c, root)
                        continue
                    w = next((r.writer for r in self.reads.get(c, ()) if r.name == root
                              and r.kind == "import" and r.writer is not None), None)
                    if w is not None:
                        self._import_into(flow, s, w, root)
                flow.imports[s] = dict(sorted(flow.imports[s].items()))
                flow.inline[s] = dict(sorted(flow.inline[s].items(), key=lambda kv: (kv[1][0], kv[0])))
                sessions = session_names(inf.cell.source) if found else set()
                if sessions:  # the stage builds the session itself now: nothing to load
                    flow.handoffs_in[s] = [h for h in flow.handoffs_in[s]
                                           if not (h.version == c and h.name in sessions)]
                    stale = tuple(f"cell {c} binds `{n}` to " for n in sessions)
                    self.diags = [d for d in self.diags if not (d.cell == c and d.message.startswith(stale))]

    def _carry_enablers(self, flow: Flow) -> None:
        """``from sklearn.experimental import enable_iterative_imputer`` binds a name no cell uses
        and must run before ``from sklearn.impute import IterativeImputer`` can: every stage that
        imports from scikit-learn gets the notebook's enabling imports, in source order (a
        stranger's notebook failed in its featurization stage without it)."""
        enablers = [(c, st) for c in self._kept() if "sklearn.experimental" in self.info[c].cell.source
                    for st in self.statements(c) or () if st.imports and _ENABLER.match(st.text)]
        for s in flow.emitted if enablers else ():
            if any("sklearn" in text for text in flow.imports[s].values()):
                for c, st in enablers:
                    flow.imports[s].setdefault((c, st.position), st.text)
                flow.imports[s] = dict(sorted(flow.imports[s].items()))

    def _import_into(self, flow: Flow, s: Stage, w: int, name: str) -> None:
        for st in self.statements(w) or ():
            if name in st.imports:
                flow.imports[s].setdefault((w, st.position), st.text)
                return

    def _import_only(self, i: int) -> bool:
        inf = self.info[i]
        return inf.facts.import_only and not inf.facts.magics and not inf.functions \
            and inf.rng is None and _only_imports(inf.cell.source)

    def _definition_needs(self, st: TopStatement, w: int, name: str, s: Stage, reader: int,
                          mem: set[int], bound: dict[tuple[str, str], tuple[int, str]],
                          tables: dict[str, dict[tuple[int, int], Any]]) -> None:
        """A copied definition runs at the top of the stage: what its header/class body loads
        (``class Sel(BaseEstimator)``, ``@udf(StringType())``) must be imported/defined there."""
        at_def = {r.name: r for r in self.reads.get(w, ())}
        for d in sorted(st.def_time):
            r = at_def.get(d)
            if r is None:  # bound earlier in the defining cell itself
                stmts = self.statements(w) or ()
                if any(d in t.imports for t in stmts):
                    self._add_statement(tables, w, d, "import", s, reader, mem, bound)
                elif any(d in t.defs for t in stmts):
                    self._add_statement(tables, w, d, "def", s, reader, mem, bound)
                elif self.info[w].binds.get(d) == "data":
                    self._value_at_definition(tables, st, w, name, d, s, reader, w)
                continue
            if r.writer is None or r.writer in mem:
                continue
            if r.kind in ("import", "def"):
                self._add_statement(tables, r.writer, d, r.kind, s, reader, mem, bound)
            else:
                self._value_at_definition(tables, st, w, name, d, s, reader, r.writer)

    def _value_at_definition(self, tables: dict[str, dict[Any, Any]], st: TopStatement, w: int, name: str,
                             d: str, s: Stage, reader: int, writer: int) -> None:
        """A copied definition whose header reads a value (``def clean(t, stop=STOPWORDS)``): the
        stage loads that value from the earlier stage that made it and defines the function
        right before its first reader, after the loads, instead of with the helpers at the top.
        A value no earlier stage makes cannot be loaded there: the plan says so."""
        producer = self.stage[writer]
        if not (producer.is_pipeline and producer is not Stage.EDA
                and (s is Stage.EDA or producer.order < s.order)):
            self._header_warning(name, w, d, s, reader, writer)
            return
        key = (w, st.position)
        tables["def"].pop(key, None)
        tables["inline"].setdefault(key, (reader, st.text))
        handoff = tables["handoff"].get((d, writer))
        if handoff is None or handoff.before_cell > reader:
            tables["handoff"][(d, writer)] = Handoff(name=d, version=writer, producer=producer,
                                                     consumer=s, before_cell=reader)

    def _header_warning(self, name: str, w: int, d: str, s: Stage, reader: int,
                        writer: int) -> None:
        self.warn(reader, f"the definition of `{name}` (cell {w}) uses `{d}` when it runs, but "
                          f"{s} defines its helpers before loading values: move `{d}` into a "
                          f"setup cell or tag cell {writer} nbsplit:setup",
                  code=CODE_HELPER, cells=(reader, w), names=(name, d))

    def _add_statement(self, tables: dict[str, dict[tuple[int, int], Any]], w: int, name: str,
                       kind: str, s: Stage, reader: int, mem: set[int],
                       bound: dict[tuple[str, str], tuple[int, str]]) -> None:
        into = tables[kind]
        stmts = self.statements(w)
        match = None
        for st in stmts or ():
            if name in (st.imports if kind == "import" else st.defs):
                match = st  # the last binding statement in the cell wins
        if match is None:
            if kind == "def":
                into[(w, -1)] = self.nb.cells[w].source.rstrip()
                self.warn(w, f"could not extract the definition of `{name}` from cell {w}; "
                             f"{s} gets the whole cell", code=CODE_HELPER, names=(name,))
            return
        key = (w, match.position)
        if key in into or key in tables["inline"]:
            return
        # re-importing the same thing in several cells is common and harmless
        what = dict(self.info[w].facts.imports).get(name, match.text) \
            if kind == "import" else match.text
        other = bound.setdefault((kind, name), (w, what))
        # the binders are in source order: only those before the reader, not every one of them
        binders = self._binders.get(name, ())
        shadow = not mem.isdisjoint(binders[:bisect_left(binders, reader)])
        if other[1] != what or shadow or kind == "import" and self._writes_module_first(w, match.text, reader, mem):
            # A second version of the name in this stage, or a stage cell that rebinds it before
            # this reader: the statement runs right before its first reader, so every use gets
            # the version it had in the monolith (the stage's cells run in source order). So
            # does the import of a module a cell of this stage writes (``%%writefile``) first.
            tables["inline"][key] = (reader, match.text)
        else:
            into[key] = match.text
        if kind == "def":
            self._definition_needs(match, w, name, s, reader, mem, bound, tables)

    def _writes_module_first(self, w: int, statement: str, reader: int, mem: set[int]) -> bool:
        """Whether ``statement`` (an import in cell ``w``) loads a module that a cell the stage
        runs (``mem``) writes before ``reader``: the stage's imports cell would run too early."""
        modules = file_uses(self.nb).imports.get(w)
        if not modules:
            return False
        loaded = imported_files(statement) & modules
        return any(r.kind == "file" and r.name in loaded and r.writer in mem for r in self.reads.get(reader, ()))

    @cached_property
    def _binders(self) -> dict[str, list[int]]:
        """name -> the cells that bind it, in order (a stage's few rebinding cells of an imported
        or defined name, found without scanning every member for every statement)."""
        out: dict[str, list[int]] = {}
        for i in sorted(self.info):
            for name in self.info[i].binds:
                out.setdefault(name, []).append(i)
        return out

    def _reassign_orphans(self, emitted: list[Stage]) -> None:
        """Markdown/raw/empty cells of a stage without code go with the nearest code section."""
        order = [c.index for c in self.nb.cells]
        code_stage = {i: self.stage[i] for i in self._kept()
                      if self.stage[i].is_pipeline and not self.info[i].cell.is_empty}
        for i in order:
            s = self.stage[i]
            if not s.is_pipeline or s in emitted:
                continue
            nxt = next((code_stage[j] for j in order[i + 1:] if j in code_stage), None)
            prev = next((code_stage[j] for j in reversed(order[:i]) if j in code_stage), None)
            target = nxt or prev or emitted[0]
            old = self.classes[i]
            self.classes[i] = replace(old, stage=target, reasons=tuple(old.reasons) + (
                f"moved to {target}: {s} has no code cells",))
            self.stage[i] = target


VIEW_PREFIX = reserved.VIEW_PREFIX
"""Pseudo-names for Spark temporary views: ``df.createOrReplaceTempView("sales")`` writes
``_nbsplit_view__sales`` and a later ``%sql SELECT ... FROM sales`` (or ``spark.sql``/``spark.table``)
reads it. A view lives in one Spark session, so a stage that queries a view another stage made
must get it through a handoff (the DataFrame is saved, then registered again under its name)."""

_VIEW_CALL = re.compile(
    r"\.(?:createOrReplaceTempView|createTempView|createOrReplaceGlobalTempView|createGlobalTempView"
    r"|registerTempTable)\(\s*(?:viewName\s*=\s*)?[rRbBuU]?[\"']([\w.]+)[\"']")
_VIEW_SQL = re.compile(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:GLOBAL\s+)?TEMP(?:ORARY)?\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"`?([\w.]+)`?", re.IGNORECASE)


# Tables a notebook writes (``df.write.saveAsTable("clean")``, ``CREATE TABLE clean AS ...``)
# live in a metastore on Databricks but, locally, in each stage process's own catalog: they cross
# like temp views (saved after the writer, registered under the same name before the reader,
# where a temp view shadows the table). Unqualified names only: ``db.t`` names a real metastore.
_TABLE_CALL = re.compile(
    r"\.(?:saveAsTable|insertInto)\(\s*(?:name\s*=\s*|tableName\s*=\s*)?[rRbBuU]?[\"']([A-Za-z_]\w*)[\"']")
_TABLE_SQL = re.compile(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?([A-Za-z_]\w*)`?(?![\w.])",
    re.IGNORECASE)


def with_temp_views(nb: Notebook, facts: Sequence[CellFacts | None]) -> list[CellFacts | None]:
    """``facts`` with Spark temp views and tables as pseudo-names (see ``VIEW_PREFIX``): the
    creating cell defines ``_nbsplit_view__<name>``, a later cell whose SQL text or string literals name
    it reads it."""
    made: dict[int, set[str]] = {}
    for cell, f in zip(nb.cells, facts):
        upper = cell.source.upper()
        if f is None or "VIEW" not in upper and "TABLE" not in upper:
            continue
        names = set(_VIEW_CALL.findall(cell.source)) | set(_VIEW_SQL.findall(cell.source))
        names |= set(_TABLE_CALL.findall(cell.source)) | set(_TABLE_SQL.findall(cell.source))
        if names:
            made[cell.index] = names
    if not made:
        return list(facts)
    views = sorted(set().union(*made.values()))
    # A view is read where SQL names it after FROM/JOIN/TABLE (or `spark.table("v")`): a bare
    # word match would take "data/housing.csv" for a read of the view `housing`.
    used = {v: re.compile(rf"\b(?:FROM|JOIN|TABLE|USING)\s+`?{re.escape(v)}`?(?![\w.])", re.IGNORECASE)
            for v in views}
    out: list[CellFacts | None] = []
    for cell, f in zip(nb.cells, facts):
        if f is None:
            out.append(f)
            continue
        own = made.get(cell.index, set())
        if cell.language == "python" and not cell.source.lstrip().startswith("%sql"):
            queries = any(c.method in ("sql", "table") for c in f.calls)
            texts = f.strings if queries else ()
        else:
            texts = (cell.source,)
        read = {v for v in views if v not in own
                and any(t.strip() == v or used[v].search(t) for t in texts)}
        if not own and not read:
            out.append(f)
            continue
        out.append(replace(f, defines=f.defines | {VIEW_PREFIX + v for v in own},
                           reads=f.reads | {VIEW_PREFIX + v for v in read}))
    return out


def run(nb: Notebook, facts: Sequence[CellFacts | None],
        classifications: Sequence[Classification], *, strict: bool = False) -> Flow:
    engine = Engine(nb, with_temp_views(nb, facts), classifications, strict)
    engine.resolve_stages()
    engine.walk()
    return engine.place()
