"""The frozen objects that flow through nbsplit: read -> analyze -> classify -> plan -> render.

Every stage of the flow is a pure function over these objects; only ``nbsplit.read`` and
``nbsplit.write`` touch the disk. They are a contract between modules (and, through the plan
JSON, with users), so change them deliberately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Mapping

CellKind = Literal["code", "markdown", "raw"]
NotebookFormat = Literal["ipynb", "databricks", "percent"]
Severity = Literal["error", "warning"]
# "dataflow": the plan moved the cell to a later stage because it reads what that stage makes.
Origin = Literal["tag", "directive", "heuristic", "heading", "neighbour", "rule", "default", "dataflow"]
# A person decided these stages (a tag, a "# nbsplit:" directive, a configured rule): the
# placement moves such a cell only at a prohibitive cost, and check reports a conflict
# between such cells alone as an error.
DECIDED_ORIGINS: tuple[Origin, ...] = ("tag", "directive", "rule")


class Stage(str, Enum):
    """The seven pipeline stages in order, plus ``setup`` (shared) and ``skip`` (excluded)."""

    DATA_PREP = "data-prep"
    EDA = "eda"
    FEATURIZATION = "featurization"
    TRAINING = "training"
    EVALUATION = "evaluation"
    PREDICTION = "prediction"
    MONITORING = "monitoring"
    SETUP = "setup"
    SKIP = "skip"

    @property
    def order(self) -> int:
        """1..7 for pipeline stages, 0 for setup (runs first), 99 for skip."""
        return _ORDER[self]

    @property
    def is_pipeline(self) -> bool:
        return self not in (Stage.SETUP, Stage.SKIP)

    @property
    def title(self) -> str:
        return _TITLES[self]

    def __str__(self) -> str:  # so f-strings and click show the slug
        return self.value


PIPELINE_STAGES: tuple[Stage, ...] = (
    Stage.DATA_PREP,
    Stage.EDA,
    Stage.FEATURIZATION,
    Stage.TRAINING,
    Stage.EVALUATION,
    Stage.PREDICTION,
    Stage.MONITORING,
)
ALL_SLUGS: tuple[str, ...] = tuple(s.value for s in Stage)

# Here rather than in render.manifest: `check` looks for it without loading the renderers (Jinja).
MANIFEST_NAME = "nbsplit-manifest.json"

_ORDER = {s: i + 1 for i, s in enumerate(PIPELINE_STAGES)} | {Stage.SETUP: 0, Stage.SKIP: 99}
_TITLES = {
    Stage.DATA_PREP: "Data prep",
    Stage.EDA: "Exploratory data analysis",
    Stage.FEATURIZATION: "Featurization",
    Stage.TRAINING: "Model training and testing",
    Stage.EVALUATION: "Model evaluation",
    Stage.PREDICTION: "Prediction",
    Stage.MONITORING: "Monitoring",
    Stage.SETUP: "Setup",
    Stage.SKIP: "Skipped",
}


@dataclass(frozen=True)
class Cell:
    """One cell of the source notebook.

    ``index`` is the cell's position in the source (0-based, every cell counted, empty ones
    included; for Databricks source the order of ``# COMMAND ----------`` cells, header
    excluded). It is a public contract: the plan JSON, the manifest and every message use it.

    ``language`` is ``python`` for ordinary code cells; Databricks magic cells carry the magic's
    language (``sql``, ``sh``, ``pip``, ``run``, ``scala``, ``r``, ``md``). Their ``source`` keeps
    the magic line (``%sql\\nSELECT ...``) without the ``# MAGIC`` prefixes.
    """

    index: int
    kind: CellKind
    source: str
    tags: tuple[str, ...] = ()
    id: str | None = None
    language: str = "python"
    title: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    outputs: tuple[Mapping[str, Any], ...] = field(default=(), compare=False, hash=False)
    execution_count: int | None = field(default=None, compare=False, hash=False)

    @property
    def first_line(self) -> str:
        for line in self.source.splitlines():
            if line.strip():
                return line.strip()
        return ""

    @property
    def is_empty(self) -> bool:
        return not self.source.strip()


@dataclass(frozen=True)
class Notebook:
    """A notebook read from disk, whatever its format."""

    path: Path
    format: NotebookFormat
    cells: tuple[Cell, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    language: str = "python"
    # The file's text exactly as read, so writers can preserve every byte they do not change.
    text: str = field(default="", compare=False, hash=False, repr=False)

    @property
    def code_cells(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.kind == "code")


@dataclass(frozen=True)
class Call:
    """A call found in a cell, with its callee resolved through the cell's imports.

    ``name`` is the dotted callee: ``pandas.read_csv`` (from ``pd.read_csv`` after
    ``import pandas as pd``), ``sklearn.metrics.roc_auc_score`` (after ``from sklearn.metrics
    import roc_auc_score``), ``df.groupby`` for a method on a local name, ``df.groupby().mean``
    for a chained call, ``spark.read.csv``. ``receiver`` is the local variable the call is a
    method of (``df`` for ``df.groupby(...)``, ``model`` for ``model.fit(X, y)``), else None.
    ``args`` are the root names that appear in the arguments (``("X_test",)`` for
    ``model.predict(X_test)``); ``keywords`` the keyword names (``("inplace",)``). ``passed``:
    for a call of a plain name (a notebook helper, perhaps), the variables handed over whole,
    by position or keyword (``clean(df, cols=c)`` -> ``((0, "df"), ("cols", "c"))``).
    """

    name: str
    receiver: str | None = None
    args: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    passed: tuple[tuple[int | str, str], ...] = ()

    @property
    def method(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class FunctionInfo:
    """A function or class defined at a cell's top level.

    What a function's body changes in place (``df["x"] = ...``, ``df.drop(..., inplace=True)``,
    ``model.fit(...)``, assigning a ``global``): ``changed_params`` are parameters not rebound
    before the change (the caller's objects), ``changed_globals`` the notebook's names.
    ``params`` are the positional parameters in order, to match a call's arguments.
    """

    name: str
    free_names: frozenset[str]  # globals the body reads (resolved when it is called)
    calls: tuple[Call, ...] = ()
    is_class: bool = False
    params: tuple[str, ...] = ()
    changed_params: frozenset[str] = frozenset()
    changed_globals: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ColumnWrite:
    """A column of a data frame set at a cell's top level (helper bodies excluded):
    ``df["a"] = ...``, ``df[["a", "b"]] = ...``, ``df.loc[mask, "a"] = ...``, ``df["a"] += 1``,
    ``df.withColumn("a", ...)``, ``df.assign(a=...)``; loops over columns too (``df[c] = ...``).

    ``frame`` is the frame's variable ("" when it is not a plain name); ``column`` the literal
    column name ("" when the key is a variable); ``reads_itself`` the value reads the same column
    or key (``df["a"] = df["a"].fillna(0)``, ``df[c] = enc.fit_transform(df[c])``, augmented
    assignment): the column existed and is changed; ``rows`` only some rows are set
    (``df.loc[mask, "a"] = 0``); ``via`` how the value is made: the method or function its
    outermost call ends in (``fillna``, ``astype``, ``fit_transform``, ``where``), ``op`` for
    arithmetic, ``const`` for a literal, else "". Whether a column existed before the cell
    (a literal name an earlier cell mentions) is for the classifier to judge across cells.

    What the value is made of: ``kind`` is how the column is set (``subscript``, ``withColumn``,
    ``assign``); ``refs`` the columns it reads by literal key (``df["b"]``, ``F.col("b")``);
    ``attrs`` the attribute names read without a call after a name or attribute (``df.age``,
    ``np.nan``, ``dt.year``: columns, or not -- the classifier's vocabulary decides); ``words``
    every identifier and attribute name in it (``np.where`` -> np, where); ``arith`` an
    arithmetic operator or comparison in it; ``codes`` it maps categories to numbers
    (``.map({"a": 1})``, ``.replace({...: 0})``, ``.map(sex_map)``).
    """

    frame: str
    column: str
    reads_itself: bool
    rows: bool = False
    via: str = ""
    kind: str = "subscript"
    refs: frozenset[str] = frozenset()
    attrs: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()
    arith: bool = False
    codes: bool = False


@dataclass(frozen=True)
class Binding:
    """One assignment of plain names in a cell (function and loop bodies included; ``df[c] =
    ...`` and ``obj.a = ...`` bind no name), with the shape of its value the classifier needs to
    tell what the names hold (``nbsplit.analyze_bindings``).

    - ``targets``: the names bound, in order (``a, b = ...`` -> ("a", "b")).
    - ``callee``: the dotted name of the call the value starts with (``pd.read_csv`` of
      ``pd.read_csv(p).dropna()``), "" when it does not start with one; ``first_arg``: the name
      that call's first argument starts with (``X_test`` of ``m.predict(X_test.values)``, the
      keyword of ``f(x=1)``), "".
    - ``root``: the name the value starts with when a ``.`` or ``[`` follows it (``test_df`` of
      ``test_df[cols]``), "".
    - ``called``: names called bare anywhere in the value (``udf`` of ``df.withColumn("p",
      udf(*cols))``); ``callees``: the dotted run before every call's ``(`` (``apply`` of
      ``df["a"].apply(f)``).
    - ``transformed``: the first argument's name of the first ``.transform(...)`` /
      ``.fit_transform(...)`` applied to a call's result, "".
    - ``best``: the value reads ``.best_estimator_`` / ``.bestModel``; ``reads_file``: it calls
      ``read_*(...)`` or ``spark.table(...)`` or reads ``spark.read``.
    - ``strings``: the text of its string literals (f-strings: their literal parts).
    """

    targets: tuple[str, ...]
    callee: str = ""
    first_arg: str = ""
    root: str = ""
    called: tuple[str, ...] = ()
    callees: tuple[str, ...] = ()
    transformed: str = ""
    best: bool = False
    reads_file: bool = False
    strings: tuple[str, ...] = ()


@dataclass(frozen=True)
class IdiomFacts:
    """Shapes of statements the classifier's idioms look for, from the cell's libcst tree
    (``nbsplit.analyze_idioms``; function and loop bodies included). Empty when the cell did not
    parse.

    - ``predicts_literal``: ``m.predict([[60, 1.5]])`` / ``m.predict_proba(np.array([...]))``:
      values typed into the call.
    - ``replace_codes``: ``.replace("Yes", 1)`` / ``.replace(to_replace="S", value="1")`` /
      ``.replace(False, 0)``: a category replaced by a number.
    - ``drops_columns``: ``.drop(columns=...)`` or ``.drop(..., axis=1 | "columns")``.
    - ``rescaled``: names rebound divided by a constant or their max/std (``x = x / 255``), in
      order.
    - ``loc_encodes``: columns of ``df.loc[df["c"] == "a", "c"] = 0`` (a category of a column
      set to a number in that column), one per statement; ``loc_caps``: ``df.loc[df.c > 100,
      "c"] = 100``; ``loc_fills``: a ``.loc``/``.iloc``/``.at`` target whose key calls
      ``.isna()``/``.isnull()``; ``loc_fixes``: any ``name.loc/iloc/at[...] = ...``.
    - ``row_filters``: frames filtered by a mask on themselves: ``d2 = d[d.a > 0]``,
      ``d = d[~(d["a"].isna())]``, ``d = d.drop(d[...].index)``; the filtered frame, in order.
    - ``slices``: a row slice ``x[a:b]``, ``.iloc[...]``, ``.sample(...)`` or
      ``.drop(x.index...)``.
    - ``mask_roots``: (name, frame) for ``name = frame[...]`` / ``frame.loc[...]`` /
      ``frame.filter|where|query(...)``, first such assignment of each name.
    - ``copies``: names bound to another name or its ``.copy()`` (``work = raw.copy()``).
    - ``widget_names``: names bound to ``dbutils.widgets.get(...)``.
    - ``literal_loop_targets``: ``x`` of ``for x in [a, b]`` / ``for x in (...)``.
    - ``ends_showing``: the leftmost name of the cell's last top-level statement when that is a
      one-line bare expression with no ``=`` in it (``summary`` in ``summary.head()``); "".
    - ``bindings``: every assignment of plain names, in source order (``Binding``).
    """

    predicts_literal: bool = False
    replace_codes: bool = False
    drops_columns: bool = False
    rescaled: tuple[str, ...] = ()
    loc_encodes: tuple[str, ...] = ()
    loc_caps: bool = False
    loc_fills: bool = False
    loc_fixes: bool = False
    row_filters: tuple[str, ...] = ()
    slices: bool = False
    mask_roots: tuple[tuple[str, str], ...] = ()
    copies: frozenset[str] = frozenset()
    widget_names: frozenset[str] = frozenset()
    literal_loop_targets: frozenset[str] = frozenset()
    ends_showing: str = ""
    bindings: tuple[Binding, ...] = ()


NO_IDIOMS = IdiomFacts()


@dataclass(frozen=True)
class CellFacts:
    """What a code cell does, from one libcst pass (or a text-level fallback).

    - ``defines``: names bound at the cell's top level (assignments, for/with targets, imports,
      def/class, walrus), conditional bindings included. ``x += 1`` is a mutation, not a define.
    - ``reads``: names whose value may come from before the cell: loaded before (or without) a
      definite binding in the same cell, builtins excluded (IPython's ``display`` etc. too;
      ``spark``/``dbutils`` and import aliases of earlier cells are reads). A name bound only
      conditionally (``if``, loop body, ``try``) and loaded after is both defined and read.
      Calling a helper reads the helper's name; the plan adds the helper's free names.
    - ``mutates``: names possibly changed in place: ``df["x"] = ...``, ``obj.attr = ...``,
      ``x += ...``, ``del x``, ``df.dropna(inplace=True)``, known mutating methods (``fit``,
      ``append``, ``update``, ``extend``, ``sort``, ...); never an import alias
      (``plt.rcParams[...] = ...`` is configuration). A mutated name is also in ``reads``
      unless the cell bound it before mutating it (``df = load(); df["x"] = 1`` reads no df).
    - ``imports``: (bound name, qualified name), e.g. ("pd", "pandas"),
      ("train_test_split", "sklearn.model_selection.train_test_split"); ("*", module) for
      ``from module import *``. Top-level imports only (conditional ones included).
    - ``calls``: calls at the cell's top level, lambdas and comprehensions included, function
      bodies excluded, in evaluation order: a call in another call's callee or arguments comes
      first (``df.head`` before ``print`` in ``print(df.head())``).
    - ``functions``: top-level def/class with their free names and calls.
    - ``attributes``: attribute names accessed anywhere (``shape``, ``best_params_``, ``coef_``).
    - ``strings``: string literals (capped), e.g. file names such as ``"test.csv"``; f-strings
      give their literal parts; a ``%sql`` cell gives its SQL text.
    - ``magics``: IPython magic and shell lines as written (``%matplotlib inline``, ``!pip ...``).
    - ``display_only``: the cell binds and mutates nothing and only shows values: every
      top-level statement is a bare expression (``df.head()``, ``print(...)``, ``display(...)``,
      plot calls), none of its calls writes or configures (``to_csv``, ``savefig``,
      ``mlflow.log_*``, seeds, ``set_option``), and no magic other than ``%time``/``%timeit``/
      ``%matplotlib``/help.
    - ``column_writes``: data-frame columns the cell sets at its top level (``ColumnWrite``).
    - ``subsets``: (name, "rows" | "columns") for top-level assignments of a subset of a frame:
      ``df = df[df.age > 0]`` and ``df = df.loc[mask]`` keep rows, ``X = df[["a", "b"]]`` keeps
      columns.
    - ``idioms``: statement shapes the classifier's idioms look for (``IdiomFacts``).
    - ``containers``: (name, variables) for a top-level, unconditional ``name = [a, b]`` or
      ``name = (a, b)`` made only of variables: the list holds those very objects.
    - ``loops``: (loop variables, variables iterated, literal variables) for top-level loops:
      ``for d in combine:`` -> ``(("d",), ("combine",), ())``, ``for name, m in
      models.items():`` -> ``(("name", "m"), ("models",), ())``, ``for d in [train, test]:`` ->
      ``(("d",), (), ("train", "test"))``: changing a loop variable in place changes those
      objects.
    - ``self_bound_reads``: the ``reads`` loaded after the cell's own conditional binding of them
      (``for f in folds: last = f`` then ``print(last)``): when no earlier cell defines one, the
      cell's own binding is what it reads, not an undefined name.
    - ``parsed``: False when libcst could not parse the cell and text-level analysis was used;
      ``error`` then holds the parser's message.
    """

    index: int
    defines: frozenset[str] = frozenset()
    reads: frozenset[str] = frozenset()
    mutates: frozenset[str] = frozenset()
    imports: tuple[tuple[str, str], ...] = ()
    calls: tuple[Call, ...] = ()
    functions: tuple[FunctionInfo, ...] = ()
    attributes: frozenset[str] = frozenset()
    strings: tuple[str, ...] = ()
    magics: tuple[str, ...] = ()
    display_only: bool = False
    column_writes: tuple[ColumnWrite, ...] = ()
    subsets: tuple[tuple[str, str], ...] = ()
    idioms: IdiomFacts = NO_IDIOMS
    self_bound_reads: frozenset[str] = frozenset()
    containers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    loops: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = ()
    parsed: bool = True
    error: str | None = None

    @property
    def import_only(self) -> bool:
        """The cell only imports (and maybe runs magics)."""
        bound = {alias for alias, _ in self.imports}
        return bool(self.imports) and self.defines <= bound and not self.calls

    @property
    def writes(self) -> frozenset[str]:
        """Names whose value after this cell may differ from before it."""
        return self.defines | self.mutates


@dataclass(frozen=True)
class Classification:
    """The stage of one cell, how sure we are, and why (reasons a person can read)."""

    index: int
    stage: Stage
    confidence: float
    origin: Origin
    reasons: tuple[str, ...] = ()
    # (stage slug, probability) for every stage the fitted model weighed; the placement's costs.
    # Empty when the rules alone decided (the confidence then stands for the chosen stage).
    scores: tuple[tuple[str, float], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Diagnostic:
    """A problem found while reading, classifying, planning or checking.

    ``code`` is the ``NBS###`` rule code (``nbsplit check``'s rules and the planner's codes,
    see ``check_rules``); ``cells`` the cells involved, first the one the message is about
    (a backward read: the reader, then the writer), and ``names`` the names involved, so tools
    act on a diagnostic without reading its message.
    """

    severity: Severity
    message: str
    cell: int | None = None
    code: str | None = None
    cells: tuple[int, ...] = ()
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Handoff:
    """One value crossing a stage boundary.

    ``name`` is the variable; ``version`` the source index of the cell that last wrote it before
    the consumer reads it (so an EDA cell between two data-prep cells loads the intermediate
    value); ``producer`` the stage that saves it, right after ``version`` ran;
    ``consumer`` the stage that loads it, before ``before_cell`` (a source index).
    """

    name: str
    version: int
    producer: Stage
    consumer: Stage
    before_cell: int

    @property
    def key(self) -> str:
        """The file/table stem the value is stored under (stable, readable)."""
        return f"{self.name}__c{self.version}"


@dataclass(frozen=True)
class FileRead:
    """A file a stage's cell names after another stage's cell wrote it (``df.to_csv(p)`` then
    ``pd.read_csv(p)``): nothing is saved or loaded, the file is on disk; the stage runs after
    ``producer`` (``writer`` is the source index of the last cell that wrote it, ``before_cell``
    the first cell of this stage that names it)."""

    path: str
    writer: int
    producer: Stage
    before_cell: int


@dataclass(frozen=True)
class StagePlan:
    """One stage notebook: its cells (source indices, in order; setup cells it needs included),
    what it loads (name -> producing stage) and saves, and the stages it depends on."""

    stage: Stage
    cells: tuple[int, ...]
    loads: Mapping[str, Stage] = field(default_factory=dict)
    saves: tuple[str, ...] = ()
    depends_on: tuple[Stage, ...] = ()
    handoffs_in: tuple[Handoff, ...] = ()
    handoffs_out: tuple[Handoff, ...] = ()
    # Import statements this stage needs (source text copied verbatim from the notebook, one
    # statement each), emitted in a generated imports cell: imported names never cross as data.
    imports: tuple[str, ...] = ()
    # Source of function/class definitions this stage calls but that live in another stage's
    # cell (copied verbatim), emitted in a generated helpers cell: functions never cross as data.
    helpers: tuple[str, ...] = ()
    # (source cell, statement): imports/definitions that run right before that cell of the stage
    # instead of at its top, so each use gets the version it had in the monolith (a notebook
    # that redefines ``clean`` later, both versions used in this stage).
    inline: tuple[tuple[int, str], ...] = ()
    # files this stage names after an earlier stage wrote them: why it depends on that stage
    files_in: tuple[FileRead, ...] = ()


@dataclass(frozen=True)
class SplitPlan:
    """Everything render needs: the notebook, per-cell facts and stages, and the stage plans."""

    notebook: Notebook
    facts: tuple[CellFacts | None, ...]  # None for markdown/raw cells
    classifications: tuple[Classification, ...]
    stages: tuple[StagePlan, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    # cells whose classified stage the dataflow constraints changed -> "forward" (a reader moved on
    # to a later producer's stage), "back" (a producer pulled back to its reader) or "eda" (an eda
    # cell that feeds the main line joined its use)
    moves: Mapping[int, str] = field(default_factory=dict, compare=False, hash=False)

    def stage_of(self, index: int) -> Stage:
        return self.classifications[index].stage

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)
