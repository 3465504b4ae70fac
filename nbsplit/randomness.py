"""Global random generators the handoff cannot carry.

The split carries ``numpy.random``'s and ``random``'s global state between stages (the
``_nbsplit_rng`` handoff). Deep-learning frameworks keep global generators of their own:
``torch.manual_seed(0)`` in one stage and weights initialised or batches shuffled in another give
other numbers in the split than in the monolith. Where that happens the plan says so, naming the
cell that draws and the cell that seeded, and how to make it exact.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from nbsplit.model import Call, Cell, CellFacts, Diagnostic, StagePlan

__all__ = ["framework_rng_warnings", "global_rng_effects", "call_draws", "GlobalDraws"]

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


# ------------------------------------------------------------------------------ global draws

# Estimators whose fit never touches a global generator (no ``random_state`` at all; checked
# against scikit-learn by tests/test_randomness.py: fitting them leaves np.random's state as it was).
_DETERMINISTIC = frozenset({
    "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "Normalizer", "Binarizer",
    "PowerTransformer", "PolynomialFeatures", "SplineTransformer", "OneHotEncoder", "OrdinalEncoder",
    "LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer", "SimpleImputer", "KNNImputer",
    "MissingIndicator", "CountVectorizer", "TfidfVectorizer", "TfidfTransformer", "HashingVectorizer",
    "DictVectorizer", "FeatureHasher", "VarianceThreshold", "LinearRegression", "KNeighborsClassifier",
    "KNeighborsRegressor", "NearestNeighbors", "NearestCentroid", "GaussianNB", "MultinomialNB",
    "BernoulliNB", "ComplementNB", "CategoricalNB", "LinearDiscriminantAnalysis",
    "QuadraticDiscriminantAnalysis", "BayesianRidge", "ARDRegression", "HuberRegressor",
    "PoissonRegressor", "GammaRegressor", "TweedieRegressor", "KernelRidge",
    "RidgeCV", "RidgeClassifierCV", "DBSCAN", "AgglomerativeClustering",
    "IsotonicRegression", "PLSRegression", "DummyRegressor", "EmpiricalCovariance", "LedoitWolf",
    "TimeSeriesSplit", "LeaveOneOut", "LeavePOut", "PredefinedSplit",
})
# (Not SVR/SVC/OneClassSVM, Lasso/ElasticNet: without random_state their fit draws a seed from
# the global generator even with default settings; the test above caught it.)
# Estimators that draw only under some settings: keyword -> literal values that keep them exact
# (an absent keyword means the default, which is exact).
_EXACT_SETTINGS: dict[str, tuple[str, frozenset[object]]] = {
    "LogisticRegression": ("solver", frozenset({"lbfgs", "newton-cg", "newton-cholesky"})),
    "KFold": ("shuffle", frozenset({False})),
    "StratifiedKFold": ("shuffle", frozenset({False})),
    "GroupKFold": ("shuffle", frozenset({False})),
}
# Meta-estimators and helpers that draw only through what they are given.
_COMPOSITES = frozenset({
    "Pipeline", "make_pipeline", "ColumnTransformer", "make_column_transformer", "FeatureUnion",
    "make_union", "TransformedTargetRegressor", "GridSearchCV", "OneVsRestClassifier",
    "OneVsOneClassifier", "MultiOutputClassifier", "MultiOutputRegressor", "VotingClassifier",
    "VotingRegressor", "StackingClassifier", "StackingRegressor", "RFE", "RFECV", "SelectFromModel",
    "SelectKBest", "SelectPercentile", "GenericUnivariateSelect", "SelectFpr", "SelectFdr",
    "SelectFwe", "CalibratedClassifierCV", "SequentialFeatureSelector", "make_scorer",
    "make_column_selector",
})
# Functions that draw when their estimator (first argument or ``estimator=``) or ``cv`` does.
_THROUGH_ESTIMATOR = frozenset({"cross_val_score", "cross_validate", "cross_val_predict",
                                "learning_curve", "validation_curve"})
_RANDOM_FUNCTIONS = frozenset({"mutual_info_classif", "mutual_info_regression"})
_PLAIN_BUILTINS = frozenset({"range", "list", "tuple", "dict", "set", "int", "float", "str", "bool",
                             "len", "zip", "sorted", "min", "max", "abs", "round", "enumerate"})
_PLAIN_NUMPY = frozenset({"arange", "linspace", "logspace", "geomspace", "array", "asarray"})
_DATA_ATTRIBUTES = frozenset({"columns", "index", "values", "shape", "dtypes", "size"})
# Methods that fit (or sample) and so draw from the global generator unless told otherwise.
_FIT_METHODS = frozenset({"fit", "fit_transform", "fit_predict", "fit_resample", "partial_fit"})
# Calls on an estimator that leave its settings alone (so an exact estimator stays exact).
_KEEPS_SETTINGS = _FIT_METHODS | frozenset({"predict", "predict_proba", "decision_function",
                                            "transform", "score", "get_params", "inverse_transform"})


class GlobalDraws:
    """Which cells draw from numpy's/``random``'s global generator, following estimators through
    the names they are bound to (source order, every code cell): a fit of an estimator whose
    every part is exact (``LinearRegression()``, ``StandardScaler()``, ``RandomForestClassifier(
    random_state=0)``, a pipeline of those) draws nothing. Anything not known exact counts as a
    draw, so the over-approximation stays sound: a missed draw would silently change numbers."""

    def __init__(self) -> None:
        # the dataflow's dotted-name reader and call table (it imports this module, so they are
        # bound here, once per notebook: an import statement per call cost ~1.5 us, 30,000 times
        # at 10,000 cells)
        from nbsplit.dataflow import _dotted, rng_effect

        self._dotted = _dotted
        self._rng_effect = rng_effect
        self.aliases: dict[str, str] = {}
        self.exact: dict[str, bool] = {}  # name -> bound to an exact estimator/plain data
        self.seeds: dict[str, bool] = {}  # name -> bound to an int literal or a seeded generator

    def _seed_value(self, node: ast.AST) -> bool:
        """A ``random_state`` that is not the global generator: an int, a name bound to one, a
        ``RandomState(...)``/``default_rng(...)`` made with a seed."""
        if isinstance(node, ast.Constant):
            return isinstance(node.value, int) and not isinstance(node.value, bool)
        if isinstance(node, ast.Name):
            return self.seeds.get(node.id, False)
        if isinstance(node, ast.Call) and (node.args or node.keywords):
            name = self._qualified(node.func) or ""
            return name in ("numpy.random.RandomState", "numpy.random.default_rng", "random.Random") \
                and all(self._seed_value(a) for a in node.args)
        return False

    def _literal_seed(self, call: ast.Call) -> bool:
        """``random_state=<seed>``: the call's randomness comes from its own generator."""
        for kw in call.keywords:
            if kw.arg == "random_state":
                return self._seed_value(kw.value)
        return False

    # -- expressions
    def _qualified(self, node: ast.AST) -> str | None:
        name = self._dotted(node)
        if name is None:
            return None
        root, dot, rest = name.partition(".")
        base = self.aliases.get(root)
        return f"{base}{dot}{rest}" if base else name

    def is_exact(self, node: ast.AST | None) -> bool:
        """True when evaluating ``node`` and fitting what it gives cannot draw from a global
        generator (known exact estimators and plain data only)."""
        if node is None or isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.JoinedStr):
            return True
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return all(self.is_exact(e) for e in node.elts)
        if isinstance(node, ast.Dict):
            return all(self.is_exact(k) and self.is_exact(v) for k, v in zip(node.keys, node.values))
        if isinstance(node, ast.Starred):
            return self.is_exact(node.value)
        if isinstance(node, ast.BinOp):
            return self.is_exact(node.left) and self.is_exact(node.right)
        if isinstance(node, ast.Name):
            return self.exact.get(node.id, False)
        if isinstance(node, ast.Attribute):
            return node.attr in _DATA_ATTRIBUTES
        if isinstance(node, ast.Subscript):
            return isinstance(node.value, (ast.Name, ast.Attribute)) and self.is_exact(node.slice) and (
                isinstance(node.value, ast.Attribute) and node.value.attr in _DATA_ATTRIBUTES
                or isinstance(node.value, ast.Name) and self.exact.get(node.value.id, False))
        if isinstance(node, ast.Slice):
            return all(self.is_exact(p) for p in (node.lower, node.upper, node.step))
        if isinstance(node, ast.Call):
            return self._call_exact(node)
        return False

    def _call_exact(self, node: ast.Call) -> bool:
        args = [*node.args, *(kw.value for kw in node.keywords)]
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("tolist", "to_list") \
                and self.is_exact(node.func.value):
            return not args
        name = self._qualified(node.func)
        if name is None:
            return False
        last = name.rsplit(".", 1)[-1]
        if name in _PLAIN_BUILTINS and name not in self.exact:
            return all(self.is_exact(a) for a in args)
        if name.startswith("numpy.") and name.count(".") == 1 and last in _PLAIN_NUMPY:
            return all(self.is_exact(a) for a in args)
        if not name.startswith("sklearn."):
            return False
        if self._literal_seed(node):
            return all(self.is_exact(kw.value) for kw in node.keywords if kw.arg != "random_state") \
                and all(self.is_exact(a) for a in node.args)
        if last in _EXACT_SETTINGS:
            key, ok = _EXACT_SETTINGS[last]
            for kw in node.keywords:
                if kw.arg == key and not (isinstance(kw.value, ast.Constant) and kw.value.value in ok):
                    return False
            return all(self.is_exact(a) for a in args)
        if last in _DETERMINISTIC or last in _COMPOSITES:
            return all(self.is_exact(a) for a in args)
        return False

    # -- cells
    def _call_draws(self, node: ast.Call) -> Literal["seed", "draw"] | None:
        func = node.func
        name = self._qualified(func) or ""
        last = name.rsplit(".", 1)[-1] if name else (func.attr if isinstance(func, ast.Attribute) else "")
        if isinstance(func, ast.Attribute) and func.attr in _FIT_METHODS:
            if self._literal_seed(node) or self.is_exact(func.value):
                return None
            return "draw"
        if last in _THROUGH_ESTIMATOR:
            estimator = node.args[0] if node.args else next(
                (kw.value for kw in node.keywords if kw.arg == "estimator"), None)
            cv = next((kw.value for kw in node.keywords if kw.arg == "cv"), None)
            shuffled = any(kw.arg == "shuffle" and not (isinstance(kw.value, ast.Constant)
                                                         and kw.value.value is False) for kw in node.keywords)
            exact = estimator is not None and self.is_exact(estimator) and self.is_exact(cv)
            return None if exact and (not shuffled or self._literal_seed(node)) else "draw"
        if last in ("train_test_split", "shuffle", "resample", "sample", "permutation_importance", "rvs") \
                or name.startswith("sklearn.datasets.make_"):
            if self._literal_seed(node):
                return None
            if last == "train_test_split" and any(
                    kw.arg == "shuffle" and isinstance(kw.value, ast.Constant) and kw.value.value is False
                    for kw in node.keywords):
                return None
            return "draw"
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and not name.startswith(("numpy.", "random.")) and func.value.id not in self.aliases:
            return None  # a method of a local object (a private Generator's normal())
        return self._rng_effect(name)

    def cell(self, facts: CellFacts, source: str) -> Literal["seed", "draw"] | None:
        """The cell's effect on the global generator; updates what names are bound to."""
        self.aliases.update(facts.imports)
        tree = _tree(source) if facts.parsed else None
        effect: Literal["seed", "draw"] | None = None
        if tree is None:
            effect = cell_rng_from_facts(facts)
        else:
            for node in tree.calls:
                e = self._call_draws(node)
                if e == "draw":
                    effect = "draw"
                elif e == "seed" and effect is None:
                    effect = "seed"
        self._bind(facts, tree)
        return effect

    def _bind(self, facts: CellFacts, tree: _Tree | None) -> None:
        imported = {a for a, _ in facts.imports}
        for alias, qualified in facts.imports:
            self.exact[alias] = qualified.rsplit(".", 1)[-1] not in _RANDOM_FUNCTIONS
        simple = tree.simple if tree is not None else ()
        counts = tree.stores if tree is not None else {}
        for n in facts.defines - imported:
            self.exact[n] = self.seeds[n] = False
        for n, value in simple:
            # bound once, by a plain assignment: what it is bound to decides
            if counts.get(n, 0) == 1 and n in facts.defines:
                self.exact[n] = self.is_exact(value)
                self.seeds[n] = self._seed_value(value)
        for n in facts.mutates:
            if not self.exact.get(n):
                continue
            methods = {c.method for c in facts.calls if c.receiver == n}
            if tree is None or not methods or not methods <= _KEEPS_SETTINGS:
                self.exact[n] = False  # set_params, attribute assignment, anything unknown


def _parse(source: str) -> ast.Module | None:
    """``safe_ast`` of the masked cell (``dataflow.mask_magics``), from analyze's shared view."""
    from nbsplit.analyze import python_ast

    return python_ast(source, masked=True)


@dataclass(frozen=True)
class _Tree:
    """What the pass reads from a cell's tree, a function of its source alone."""

    calls: tuple[ast.Call, ...]  # the calls the cell makes when it runs (``_walk``)
    simple: tuple[tuple[str, ast.AST], ...]  # plain assignments ``name = value``, in statement order
    stores: Mapping[str, int]  # how many times each name is stored to, anywhere in the cell


def _tree(source: str) -> _Tree | None:
    """The parse and both walks, shared by identical cells (``df.head()`` recurs; the trees are
    only read): kept on analyze's view of the source, so no size of notebook parses them twice."""
    from nbsplit.analyze import python_view

    memo = python_view(source).memo
    if "rng" in memo:
        return memo["rng"]  # type: ignore[return-value]
    found = memo["rng"] = _tree_of(source)
    return found


def _tree_of(source: str) -> _Tree | None:
    tree = _parse(source)
    if tree is None:
        return None
    simple: list[tuple[str, ast.AST]] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            simple.append((stmt.targets[0].id, stmt.value))
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            simple.append((stmt.target.id, stmt.value))
    calls, counts = _walk(tree)
    return _Tree(tuple(calls), tuple(simple), counts)


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Fields that hold no node with children (expression contexts, operators): never walked.
_LEAF_FIELDS = frozenset({"ctx", "op", "ops"})
_FIELDS: dict[type, tuple[str, ...]] = {}


def _walk(tree: ast.AST) -> tuple[list[ast.Call], dict[str, int]]:
    """One walk for both things the pass reads from a tree: the calls the cell makes when it
    runs, in evaluation-ish order, function and class bodies left out (calling a helper draws
    what its body draws: see ``function_draws``; their decorators run); and how many times each
    name is stored to anywhere in the cell (a count: the order does not matter)."""
    calls: list[ast.Call] = []
    counts: dict[str, int] = {}
    outside: list[ast.AST] = [tree]  # the calls' walk: depth first, children in reverse
    inside: list[ast.AST] = []  # function and class bodies: names only
    for stack in (outside, inside):
        while stack:
            node = stack.pop()
            t = type(node)
            if t is ast.Name:
                if type(node.ctx) is ast.Store:  # type: ignore[attr-defined]
                    counts[node.id] = counts.get(node.id, 0) + 1  # type: ignore[attr-defined]
                continue
            fields = _FIELDS.get(t)
            if fields is None:
                fields = _FIELDS[t] = tuple(f for f in t._fields if f not in _LEAF_FIELDS)
            target = stack
            if stack is outside:
                if t in _DEFS:
                    outside.extend(node.decorator_list)  # type: ignore[attr-defined]
                    target = inside
                    fields = tuple(f for f in fields if f != "decorator_list")
                elif t is ast.Call:
                    calls.append(node)  # type: ignore[arg-type]
            for name in fields:
                value = getattr(node, name, None)
                if isinstance(value, ast.AST):
                    target.append(value)
                elif isinstance(value, list):
                    target.extend([item for item in value if isinstance(item, ast.AST)])
    return calls, counts


# Library calls that may draw from numpy's global generator, by method name, when no literal
# random_state is given: the facts-only fallback (a cell ast cannot parse, a helper's body).
IMPLICIT_DRAWS = frozenset({
    "fit", "fit_transform", "fit_predict", "fit_resample", "partial_fit", "sample",
    "train_test_split", "shuffle", "resample", "cross_val_score", "cross_validate",
    "cross_val_predict", "permutation_importance", "make_classification", "make_regression",
    "make_blobs", "learning_curve", "validation_curve", "rvs",
})


def call_draws(call: Call) -> Literal["seed", "draw"] | None:
    """One call's effect on the global generator from its facts alone (over-approximated)."""
    if (call.method in IMPLICIT_DRAWS or call.name.startswith("sklearn.datasets.make_")) \
            and "random_state" not in call.keywords:
        return "draw"
    if call.receiver is not None and not call.name.startswith(("np.", "numpy.", "random.")):
        return None
    from nbsplit.dataflow import rng_effect  # (it imports this module) only for calls that get here

    return rng_effect(call.name)


def cell_rng_from_facts(facts: CellFacts) -> Literal["seed", "draw"] | None:
    effect: Literal["seed", "draw"] | None = None
    for call in facts.calls:
        e = call_draws(call)
        if e == "draw":
            return "draw"
        if e == "seed":
            effect = "seed"
    return effect


def global_rng_effects(cells: Sequence[Cell], facts: Sequence[CellFacts | None]) -> dict[int, Literal["seed", "draw"] | None]:
    """Every code cell's effect on the global generator (``GlobalDraws``), in source order."""
    draws = GlobalDraws()
    out: dict[int, Literal["seed", "draw"] | None] = {}
    for cell, f in zip(cells, facts):
        if cell.kind == "code" and f is not None:
            out[cell.index] = draws.cell(f, cell.source)
    return out
