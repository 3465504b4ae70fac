"""What the MLflow instrumentation logs, decided from the notebook's code (libcst), not from the
types of values at run time.

From every code cell's top level (``with``/``if``/``try`` bodies included; function bodies and
loops left out, as their names are not the notebook's): the estimators constructed (scikit-learn,
Pipelines included, xgboost, lightgbm, catboost, statsmodels, spark.ml), their literal
hyperparameters, the ones fitted and with what (``model.fit(X_train, y_train)``), search objects
(``GridSearchCV``, ``CrossValidator``) and the models they give (``grid.best_estimator_``), and
the metric values: names bound from ``sklearn.metrics`` calls (``auc = roc_auc_score(...)``,
``metrics = {"r2": r2_score(...)}``), spark.ml evaluators' ``.evaluate``, ``model.score``,
``search.best_score_``, and the metric calls a cell only prints whose arguments are plain names
(``print(r2_score(y_test, preds))``), which the generated cell computes again by name.

The main model is the one prediction uses (else evaluation, else the last one fitted); the
primary metric the best-known measure among evaluation's metrics (else training's): AUC before
F1 before accuracy before R2 before RMSE/MSE/MAE, and whether greater is better. ``--metric`` and
``--greater-is-better/--lower-is-better`` override both (:func:`ml_facts`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Iterator, Mapping, Sequence

import nbsplit.fastimport  # noqa: F401  (imports libcst with its dataclass code cached)
import libcst as cst

from nbsplit.cstwalk import walk
from nbsplit.memo import per_notebook
from nbsplit.model import Notebook, SplitPlan, Stage

__all__ = ["MetricFact", "MLFacts", "ModelFact", "ml_facts", "facts_from_sources", "is_local_tracking_uri"]

_FLAVOURS = (("sklearn.", "sklearn"), ("xgboost.", "xgboost"), ("lightgbm.", "lightgbm"),
             ("catboost.", "catboost"), ("statsmodels.", "statsmodels"), ("pyspark.ml.", "spark"))
_SEARCHES = {"GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV",
             "CrossValidator", "TrainValidationSplit"}
_TRANSFORMER_MODULES = ("sklearn.preprocessing", "sklearn.impute", "sklearn.compose", "sklearn.feature_extraction",
                        "sklearn.feature_selection", "sklearn.decomposition", "pyspark.ml.feature")
_IGNORED_MODULES = ("sklearn.model_selection", "sklearn.metrics", "sklearn.datasets", "sklearn.utils",
                    "sklearn.inspection", "sklearn.base", "pyspark.ml.linalg", "pyspark.ml.functions",
                    "pyspark.ml.stat", "pyspark.ml.param", "pyspark.ml.util")
# sklearn.metrics functions that return one number (curves, matrices and reports do not).
_NOT_SCALAR = {"roc_curve", "precision_recall_curve", "det_curve", "confusion_matrix", "multilabel_confusion_matrix",
               "classification_report", "precision_recall_fscore_support", "make_scorer", "get_scorer",
               "get_scorer_names", "check_scoring", "pairwise_distances", "auc"}
_LOWER = re.compile(r"error|loss|deviance|rmse|mse|mae|mape|brier|psi", re.IGNORECASE)
# Words of a name (split at "_") that make a number a metric (``test_auc``, ``val_loss``).
_METRIC_WORDS = {"acc", "accuracy", "auc", "rmse", "mse", "mae", "mape", "f1", "precision", "recall", "r2", "loss",
                 "error", "score", "aupr", "gini", "ks", "psi", "logloss"}
# Primary metric preference, best first (a pattern on the metric's name or function).
_PRIORITY = ("roc_auc|auc(?!pr)|areaunderroc", "average_precision|aupr|areaunderpr", "f1", "accuracy|acc",
             "r2", "rmse", "mse", "mae|mean_absolute", "score")
_PREDICTS = {"predict", "predict_proba", "predict_log_proba", "decision_function", "transform", "score"}
_FIT = {"fit", "fit_transform", "train"}
# Names whose mere call (or keyword) marks a model registration, whatever module they come from.
_REGISTER = {"register_model", "create_model_version", "set_registered_model_alias"}
# Calls that move which version an alias (or a legacy stage) names: (keyword, position) of it.
_ALIAS_MOVES = {"set_registered_model_alias": ("alias", 1), "transition_model_version_stage": ("stage", 2)}
_REGISTER_WORDS = frozenset(_REGISTER | set(_ALIAS_MOVES) | {"registered_model_name"})
# mlflow calls that read a logged or registered model back (``models:/name@champion``)
_MODEL_READS = {"load_model", "spark_udf", "get_model_version_by_alias", "get_latest_versions", "get_model_version"}
_MODELS_URI = "models:/"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class ModelFact:
    """A model-like value bound to ``name``: constructed in ``cell``, fitted in ``fitted_cell``."""

    name: str
    cls: str  # qualified class (``sklearn.ensemble.RandomForestClassifier``)
    flavor: str  # sklearn, xgboost, lightgbm, catboost, statsmodels, spark
    kind: str  # estimator, pipeline, search, transformer, evaluator
    cell: int
    params: Mapping[str, Any] = field(default_factory=dict)
    fitted_cell: int | None = None
    fit_args: tuple[str, ...] = ()  # root names of the fit call's positional arguments (X, y)
    search: str | None = None  # the search object it came from (``grid.best_estimator_``)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "class": self.cls, "flavor": self.flavor, "kind": self.kind,
                               "cell": self.cell, "fitted_cell": self.fitted_cell, "params": dict(self.params)}
        if self.fit_args:
            out["fit_args"] = list(self.fit_args)
        if self.search:
            out["search"] = self.search
        return out


@dataclass(frozen=True)
class MetricFact:
    """A metric value: ``how`` says how the generated cell reads it from the stage's globals:
    ``("name", var)``, ``("item", var, key)``, ``("attr", var, attribute)``,
    ``("call", function, (arg names...))`` or ``("method", receiver, method, (arg names...))``."""

    name: str
    cell: int
    how: tuple[Any, ...]
    greater_is_better: bool
    source: str  # what it was found from, for people (``sklearn.metrics.roc_auc_score``)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "cell": self.cell, "greater_is_better": self.greater_is_better,
                "source": self.source}


@dataclass(frozen=True)
class MLFacts:
    models: tuple[ModelFact, ...] = ()
    metrics: tuple[MetricFact, ...] = ()
    main_model: str | None = None
    primary_metric: str | None = None
    greater_is_better: bool | None = None
    tracking_uris: tuple[tuple[int, str], ...] = ()  # (cell, uri) of mlflow.set_tracking_uri("...")
    registers: bool = False  # the notebook registers a model itself
    # (cell, alias or stage when literal) of the notebook's own alias/stage moves: no gate decides them
    alias_moves: tuple[tuple[int, str | None], ...] = ()
    logs: bool = False  # the notebook starts MLflow runs itself
    # cells that register a model or move an alias/stage, and cells that read a model back from
    # the MLflow store: the store carries the model between them, no handoff does
    registry_writes: tuple[int, ...] = ()
    model_reads: tuple[int, ...] = ()
    stages: Mapping[int, str] = field(default_factory=dict)  # cell -> stage slug (for the JSON)

    def model(self, name: str | None) -> ModelFact | None:
        return next((m for m in reversed(self.models) if m.name == name), None)

    def metrics_of(self, cells: Iterable[int]) -> list[MetricFact]:
        wanted = set(cells)
        return [m for m in self.metrics if m.cell in wanted]

    def to_json(self) -> dict[str, Any]:
        return {
            "models": [m.to_json() | ({"stage": self.stages[m.cell]} if m.cell in self.stages else {})
                       for m in self.models],
            "metrics": [m.to_json() | ({"stage": self.stages[m.cell]} if m.cell in self.stages else {})
                        for m in self.metrics],
            "main_model": self.main_model,
            "primary_metric": self.primary_metric,
            "greater_is_better": self.greater_is_better,
            "tracking_uri": [{"cell": c, "uri": u, "local": is_local_tracking_uri(u)} for c, u in self.tracking_uris],
            "registers_model": self.registers,
            "moves_aliases": [{"cell": c, "alias": a} for c, a in self.alias_moves],
            "logs_runs": self.logs,
        }


def is_local_tracking_uri(uri: str) -> bool:
    """A store in a local file or folder (sqlite, file:, a bare path): it exists on one machine only."""
    if uri.split(":", 1)[0].lower() in ("databricks", "databricks-uc", "uc"):
        return False
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    return scheme in ("", "file", "sqlite") or (len(scheme) == 1 and uri[1:3] in (":\\", ":/"))


def _flavor(qualified: str) -> str | None:
    return next((f for prefix, f in _FLAVOURS if qualified.startswith(prefix)), None)


def _kind(qualified: str) -> str | None:
    """What a constructor call makes, or None when it is not a model-like class."""
    module, _, leaf = qualified.rpartition(".")
    if _flavor(qualified) is None or not leaf[:1].isupper():
        if qualified in ("sklearn.pipeline.make_pipeline",):
            return "pipeline"
        return None
    if leaf in _SEARCHES:
        return "search"
    if leaf in ("Pipeline", "FeatureUnion") and module in ("sklearn.pipeline", "pyspark.ml"):
        return "pipeline"
    if module.startswith("pyspark.ml.evaluation"):
        return "evaluator"
    if any(module.startswith(m) for m in _IGNORED_MODULES):
        return None
    if any(module.startswith(m) for m in _TRANSFORMER_MODULES):
        return "transformer"
    return "estimator"


def _literal(node: cst.BaseExpression, constants: Mapping[str, Any]) -> tuple[bool, Any]:
    if isinstance(node, cst.Integer):
        return True, int(node.value.replace("_", ""), 0)
    if isinstance(node, cst.Float):
        return True, float(node.value.replace("_", ""))
    if isinstance(node, cst.SimpleString):
        try:
            return True, node.evaluated_value
        except Exception:  # noqa: BLE001 - bytes or odd prefixes: not a parameter value we log
            return False, None
    if isinstance(node, cst.Name):
        if node.value in ("True", "False", "None"):
            return True, {"True": True, "False": False, "None": None}[node.value]
        if node.value in constants:
            return True, constants[node.value]
    if isinstance(node, cst.Dict):
        out = {}
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                return False, None
            ok_key, key = _literal(element.key, constants)
            ok_value, value = _literal(element.value, constants)
            if not (ok_key and ok_value and isinstance(key, str)):
                return False, None
            out[key] = value
        return True, out
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        ok, value = _literal(node.expression, constants)
        if ok and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, -value
    return False, None


def _dotted(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def _may_qualify(base: str) -> bool:
    """Whether a name imported as ``base`` can qualify (``base`` or ``base.rest``) to a metric,
    an MLflow call or a register function (see ``_Cell.quiet``)."""
    return (base.startswith(("sklearn.metrics", "mlflow")) or "sklearn.metrics.".startswith(base + ".")
            or "mlflow".startswith(base) or base.rsplit(".", 1)[-1] in _REGISTER)


class _Names(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.out: list[str] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.out.append(node.value)


def _names(node: cst.CSTNode) -> list[str]:
    names = _Names()
    walk(node, names)
    return names.out


def _blocks(stmt: cst.CSTNode) -> Iterator[Sequence[cst.CSTNode]]:
    """The statement lists of a compound statement: its body, each ``elif``/``else`` in turn, and
    its ``except`` handlers."""
    yield stmt.body.body  # type: ignore[attr-defined]
    orelse = getattr(stmt, "orelse", None)
    while orelse is not None:
        yield orelse.body.body
        orelse = getattr(orelse, "orelse", None)
    for handler in getattr(stmt, "handlers", ()):
        yield handler.body.body


class _Cell:
    """Reads one cell, adding to the notebook-wide state."""

    def __init__(self, state: "_State", index: int, words: frozenset[str] | None = None) -> None:
        self.s = state
        self.index = index
        self.words = words

    def quiet(self) -> bool:
        """True when no call in this cell can hit a call visitor below (a metric, a known model's
        fit/score/evaluate, an MLflow or registry call), so they need not walk the tree: each hit
        needs a name of the cell's text that is a known model, a register word, or an import that
        can qualify to ``sklearn.metrics.*``/``mlflow*``/a register function. The libcst walks are
        most of the time of ``ml_facts``; most cells mention none of these. Checked against the
        state as it is at each statement, so it is exact, not a guess."""
        words = self.words
        if words is None:
            return False
        if not words.isdisjoint(_REGISTER_WORDS):
            return False
        models, imports = self.s.models, self.s.imports
        if len(models) < len(words):
            if any(name in words for name in models):
                return False
        elif any(w in models for w in words):
            return False
        if len(imports) < len(words):
            return not any(_may_qualify(base) for name, base in imports.items() if name in words)
        return not any(_may_qualify(imports[w]) for w in words if w in imports)

    # -- names ---------------------------------------------------------------------------------

    def qualify(self, node: cst.BaseExpression) -> str | None:
        dotted = _dotted(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        base = self.s.imports.get(head)
        if base is None:
            return None
        return f"{base}.{rest}" if rest else base

    def params(self, call: cst.Call, prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for arg in call.args:
            if arg.keyword is not None:
                ok, value = _literal(arg.value, self.s.constants)
                if ok and not isinstance(value, dict):
                    out[prefix + arg.keyword.value] = value
            elif arg.star == "**":
                ok, value = _literal(arg.value, self.s.constants)
                if ok and isinstance(value, dict):
                    out.update({prefix + k: v for k, v in value.items() if not isinstance(v, dict)})
        return out

    def step_params(self, call: cst.Call, kind: str) -> dict[str, Any]:
        """A Pipeline's steps' literal parameters, as ``step__param`` (sklearn's own naming)."""
        out: dict[str, Any] = {}
        for arg in call.args:
            value = arg.value
            if isinstance(value, (cst.List, cst.Tuple)):
                for element in value.elements:
                    item = element.value
                    if isinstance(item, cst.Tuple) and len(item.elements) >= 2:
                        step_name, step = item.elements[0].value, item.elements[1].value
                        ok, label = _literal(step_name, {})
                        if ok and isinstance(label, str):
                            out.update(self.step(step, f"{label}__"))
                    elif kind == "pipeline":
                        out.update(self.step(item, ""))
            elif kind == "pipeline":  # spark.ml: stages=indexers + [encoder, lr]
                for node in _names(value):
                    if (m := self.s.models.get(node)) is not None and m.kind == "estimator":
                        out.update({f"{node}__{k}": v for k, v in m.params.items()})
        return out

    def step(self, node: cst.BaseExpression, prefix: str) -> dict[str, Any]:
        if isinstance(node, cst.Call):
            qualified = self.qualify(node.func)
            if qualified and _kind(qualified):
                return self.params(node, prefix)
        if isinstance(node, cst.Name) and (m := self.s.models.get(node.value)) is not None:
            return {prefix + k: v for k, v in m.params.items()}
        if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name):
            key = self.subscript_key(node)
            if key is not None and (m := self.s.models.get(f"{node.value.value}[{key}]")) is not None:
                return {prefix + k: v for k, v in m.params.items()}
        return {}

    @staticmethod
    def subscript_key(node: cst.Subscript) -> str | None:
        if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            ok, key = _literal(node.slice[0].slice.value, {})
            if ok and isinstance(key, str):
                return key
        return None

    # -- models --------------------------------------------------------------------------------

    def construct(self, node: cst.BaseExpression, name: str) -> ModelFact | None:
        """The model a value expression makes, if it makes one."""
        if isinstance(node, cst.Call):
            qualified = self.qualify(node.func)
            kind = _kind(qualified) if qualified else None
            if qualified and kind:
                params = self.params(node)
                if kind in ("pipeline", "search"):
                    params.update(self.step_params(node, kind))
                    inner = next((a.value for a in node.args if a.keyword is None or a.keyword.value in (
                        "estimator", "stages")), None)
                    if kind == "search" and inner is not None:
                        params = self.step(inner, "estimator__") | params
                return ModelFact(name, qualified, _flavor(qualified) or "sklearn", kind, self.index, params)
            if qualified in ("xgboost.train", "lightgbm.train"):
                return ModelFact(name, qualified, _flavor(qualified) or "", "estimator", self.index,
                                 self.params(node), fitted_cell=self.index, fit_args=self.root_args(node))
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in _FIT:
                return self.fitted(node.func.value, node, name)
        if isinstance(node, cst.Attribute) and node.attr.value == "best_estimator_" and isinstance(node.value, cst.Name):
            search = self.s.models.get(node.value.value)
            if search is not None and search.kind == "search":
                inner_cls = self.s.search_inner.get(search.name, search.cls)
                inner = {k.removeprefix("estimator__"): v for k, v in search.params.items() if k.startswith("estimator__")}
                return ModelFact(name, inner_cls, search.flavor, "estimator", self.index, inner,
                                 fitted_cell=search.fitted_cell, fit_args=search.fit_args, search=search.name)
        return None

    def fitted(self, target: cst.BaseExpression, call: cst.Call, name: str) -> ModelFact | None:
        """``name = <target>.fit(...)``: sklearn-like fit returns the estimator itself, spark.ml and
        statsmodels a new fitted model."""
        base = self.construct(target, name) if isinstance(target, cst.Call) else (
            self.s.models.get(target.value) if isinstance(target, cst.Name) else None)
        if base is None or base.kind == "evaluator":
            return None
        cls = base.cls
        if base.flavor == "spark" and not cls.endswith("Model"):
            cls = "pyspark.ml.PipelineModel" if base.kind == "pipeline" else cls + "Model"
        fact = replace(base, name=name, cls=cls, cell=self.index, fitted_cell=self.index, fit_args=self.root_args(call))
        if isinstance(target, cst.Name) and base.flavor not in ("spark", "statsmodels"):
            self.s.models[target.value] = replace(base, fitted_cell=self.index, fit_args=fact.fit_args)
        return fact

    def root_args(self, call: cst.Call) -> tuple[str, ...]:
        out = []
        for arg in call.args:
            if arg.keyword is None and not arg.star:
                node = arg.value
                while isinstance(node, (cst.Attribute, cst.Subscript)):
                    node = node.value
                if isinstance(node, cst.Name):
                    out.append(node.value)
        return tuple(out)

    # -- metrics -------------------------------------------------------------------------------

    def metric_call(self, node: cst.BaseExpression) -> tuple[str, bool] | None:
        """(source, greater_is_better) of the first metric call in ``node`` (lambdas excluded)."""
        if self.quiet():
            return None
        finder = _FirstMetric(self)
        walk(node, finder)
        return finder.found[0] if finder.found else None

    def one_metric_call(self, node: cst.Call) -> tuple[str, bool] | None:
        qualified = self.qualify(node.func)
        if qualified and qualified.startswith("sklearn.metrics.") and qualified.rsplit(".", 1)[1] not in _NOT_SCALAR:
            leaf = qualified.rsplit(".", 1)[1]
            if not leaf[:1].isupper():
                return qualified, not _LOWER.search(leaf)
        if isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name):
            receiver = self.s.models.get(node.func.value.value)
            method = node.func.attr.value
            if receiver is not None and receiver.kind == "evaluator" and method == "evaluate":
                names = [s for s in self.strings(node)] + [str(receiver.params.get("metricName", ""))]
                named = next((n for n in names if n), "")
                greater = not (_LOWER.search(named) or (receiver.cls.endswith("RegressionEvaluator") and not named))
                return f"{receiver.cls}.evaluate", greater
            if receiver is not None and receiver.kind != "evaluator" and method == "score":
                return f"{receiver.cls}.score", True
        return None

    @staticmethod
    def strings(node: cst.CSTNode) -> list[str]:
        strings = _Strings()
        walk(node, strings)
        return strings.out

    def bound_metric(self, name: str, value: cst.BaseExpression) -> None:
        if isinstance(value, cst.Dict):
            for element in value.elements:
                if isinstance(element, cst.DictElement):
                    ok, key = _literal(element.key, {})
                    hit = self.metric_call(element.value)
                    if ok and isinstance(key, str) and hit:
                        self.s.add_metric(MetricFact(key, self.index, ("item", name, key), hit[1], hit[0]))
            return
        if isinstance(value, cst.Attribute) and value.attr.value == "best_score_" and isinstance(value.value, cst.Name):
            if (s := self.s.models.get(value.value.value)) is not None and s.kind == "search":
                self.s.add_metric(MetricFact(name, self.index, ("name", name), True, f"{s.cls}.best_score_"))
            return
        hit = self.metric_call(value)
        if hit is not None:
            self.s.add_metric(MetricFact(name, self.index, ("name", name), hit[1], hit[0]))
        elif (not name.isupper() and _METRIC_WORDS & set(name.lower().split("_"))
              and not isinstance(value, (cst.Lambda, cst.List, cst.Tuple, cst.Dict, cst.ListComp, cst.DictComp))):
            # A number named like a metric (``accuracy = hits / total``): logged when it is one.
            self.s.add_metric(MetricFact(name, self.index, ("name", name), not _LOWER.search(name), "name"),
                              weak=True)

    def shown_metrics(self, node: cst.CSTNode) -> None:
        """Metric calls a cell does not bind, with plain names as arguments: computed again by name."""
        if self.quiet():
            return
        walk(node, _ShownMetrics(self))

    # -- statements ----------------------------------------------------------------------------

    def statements(self, body: Iterable[cst.CSTNode]) -> None:
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self.small(small)
            elif isinstance(stmt, (cst.With, cst.If, cst.Try)):
                if isinstance(stmt, cst.With):
                    for item in stmt.items:
                        self.shown(item.item)
                if isinstance(stmt, cst.If):
                    self.shown(stmt.test)
                for block in _blocks(stmt):
                    self.statements(block)
            elif isinstance(stmt, (cst.For, cst.While)):
                self.loop(stmt.body.body)

    def loop(self, body: Iterable[cst.CSTNode]) -> None:
        """A loop's body: only the models it binds and fits (``for d in ...: model = X().fit(...)``
        leaves ``model`` fitted as in the last pass, on what that pass fitted it on), not its metrics
        (a metric per pass, as in a loop comparing models, is no metric of the notebook's)."""
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    value = getattr(small, "value", None)
                    if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                            and isinstance(small.targets[0].target, cst.Name):
                        name = small.targets[0].target.value
                        self.s.constants.pop(name, None)
                        model = self.construct(small.value, name)
                        if model is not None:
                            self.s.add_model(model)
                        else:
                            self.s.models.pop(name, None)
                    if value is not None:
                        self.calls(value)
            elif isinstance(stmt, (cst.With, cst.If, cst.Try, cst.For, cst.While)):
                for block in _blocks(stmt):
                    self.loop(block)

    def shown(self, node: cst.CSTNode) -> None:
        self.shown_metrics(node)
        self.calls(node)

    def small(self, node: cst.BaseSmallStatement) -> None:
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            self.s.add_imports(node)
            return
        if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            name, value = node.targets[0].target.value, node.value
            ok, literal = _literal(value, {})
            if ok:
                self.s.constants[name] = literal
            else:
                self.s.constants.pop(name, None)
            model = self.construct(value, name)
            if model is not None:
                self.s.add_model(model)
                if model.kind == "search":
                    inner = next((a.value for a in value.args if a.keyword is None or a.keyword.value == "estimator"), None) \
                        if isinstance(value, cst.Call) else None
                    if isinstance(inner, cst.Call) and (q := self.qualify(inner.func)):
                        self.s.search_inner[name] = q
                    elif isinstance(inner, cst.Name) and inner.value in self.s.models:
                        self.s.search_inner[name] = self.s.models[inner.value].cls
            else:
                self.s.models.pop(name, None)
                if isinstance(value, cst.Dict):
                    for element in value.elements:
                        if isinstance(element, cst.DictElement) and isinstance(element.value, cst.Call):
                            ok, key = _literal(element.key, {})
                            inner_model = self.construct(element.value, f"{name}[{key}]") if ok else None
                            if inner_model is not None:
                                self.s.models[inner_model.name] = inner_model
                self.bound_metric(name, value)
            self.calls(value)
        elif isinstance(node, (cst.Expr, cst.AugAssign, cst.AnnAssign, cst.Assign)):
            value = getattr(node, "value", None)
            if value is not None:
                self.shown(value)

    def calls(self, node: cst.CSTNode) -> None:
        """``model.fit(...)`` statements and MLflow calls (tracking URI, own runs and registry)."""
        if self.quiet():
            return
        walk(node, _Calls(self))


# The call walks of ``_Cell``, defined once: a class statement per walk (thousands of statements
# in a large notebook) cost as much as a walk.

class _CellWalk(cst.CSTVisitor):
    """A walk over one cell's statements; a lambda's body is not a call the cell makes."""

    def __init__(self, cell: _Cell) -> None:
        super().__init__()
        self.cell = cell

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


class _FirstMetric(_CellWalk):
    def __init__(self, cell: _Cell) -> None:
        super().__init__(cell)
        self.found: list[tuple[str, bool]] = []

    def visit_Call(self, node: cst.Call) -> bool:
        if not self.found:
            hit = self.cell.one_metric_call(node)
            if hit:
                self.found.append(hit)
        return not self.found


class _Strings(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.out: list[str] = []

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001
            return
        if isinstance(value, str):
            self.out.append(value)


class _ShownMetrics(_CellWalk):
    def visit_Call(self, node: cst.Call) -> bool:
        cell = self.cell
        hit = cell.one_metric_call(node)
        if hit is None:
            return True
        args = [a for a in node.args]
        if not args or any(a.keyword is not None or a.star or not isinstance(a.value, cst.Name) for a in args):
            return False
        names = tuple(a.value.value for a in args if isinstance(a.value, cst.Name))
        if hit[0].startswith("sklearn.metrics."):
            leaf = hit[0].rsplit(".", 1)[1]
            label = leaf.removesuffix("_score")
            how: tuple[Any, ...] = ("call", hit[0], names)
        elif isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name):
            receiver = node.func.value.value
            label = f"{receiver}_{node.func.attr.value}"
            how = ("method", receiver, node.func.attr.value, names)
        else:
            return False
        cell.s.add_metric(MetricFact(label, cell.index, how, hit[1], hit[0]), weak=True)
        return False


class _Calls(_CellWalk):
    def visit_Call(self, node: cst.Call) -> None:
        cell = self.cell
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.attr.value in _FIT:
            model = cell.s.models.get(func.value.value)
            if model is not None and model.flavor not in ("spark", "statsmodels"):
                cell.s.models[model.name] = replace(model, fitted_cell=cell.index, fit_args=cell.root_args(node))
                cell.s.add_model(cell.s.models[model.name])
        qualified = cell.qualify(func) or ""
        # registering through a client object (client.create_model_version) counts too
        leaf = (qualified or _dotted(func) or "").rsplit(".", 1)[-1]
        if not leaf and isinstance(func, cst.Attribute):  # MlflowClient().set_registered_model_alias(...)
            leaf = func.attr.value
        if qualified.startswith("mlflow"):
            if leaf == "set_tracking_uri" and node.args:
                ok, uri = _literal(node.args[0].value, cell.s.constants)
                if ok and isinstance(uri, str):
                    cell.s.tracking_uris.append((cell.index, uri))
            if leaf in ("start_run", "log_model", "log_metric", "log_metrics", "log_param", "log_params"):
                cell.s.logs = True
        if leaf in _REGISTER or any(
                a.keyword is not None and a.keyword.value == "registered_model_name" for a in node.args):
            cell.s.registers = True
            cell.s.registry_writes.append(cell.index)
        if qualified.startswith("mlflow") and leaf in _MODEL_READS:
            cell.s.model_reads.append(cell.index)
        if leaf in _ALIAS_MOVES:
            cell.s.registry_writes.append(cell.index)
            keyword, position = _ALIAS_MOVES[leaf]
            arg = next((a for a in node.args if a.keyword is not None and a.keyword.value == keyword), None)
            if arg is None and len(node.args) > position and node.args[position].keyword is None:
                arg = node.args[position]
            ok, value = _literal(arg.value, cell.s.constants) if arg is not None else (False, None)
            cell.s.alias_moves.append((cell.index, value if ok and isinstance(value, str) else None))


@dataclass
class _State:
    imports: dict[str, str] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    models: dict[str, ModelFact] = field(default_factory=dict)
    # every (name, cell) once, the latest binding last: a dict, as re-adding moved it in a list scan
    found: dict[tuple[str, int], ModelFact] = field(default_factory=dict)
    metrics: dict[str, MetricFact] = field(default_factory=dict)
    weak: set[str] = field(default_factory=set)
    search_inner: dict[str, str] = field(default_factory=dict)
    tracking_uris: list[tuple[int, str]] = field(default_factory=list)
    registers: bool = False
    alias_moves: list[tuple[int, str | None]] = field(default_factory=list)
    logs: bool = False
    registry_writes: list[int] = field(default_factory=list)
    model_reads: list[int] = field(default_factory=list)

    def add_imports(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                dotted = _dotted(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.imports[alias.asname.name.value] = dotted
                else:
                    self.imports[dotted.split(".")[0]] = dotted.split(".")[0]
            return
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        module = _dotted(node.module) or ""
        for alias in node.names:
            leaf = _dotted(alias.name) or ""
            bound = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else leaf
            self.imports[bound] = f"{module}.{leaf}"

    def add_model(self, model: ModelFact) -> None:
        self.models[model.name] = model
        key = (model.name, model.cell)
        self.found.pop(key, None)
        self.found[key] = model

    def add_metric(self, metric: MetricFact, weak: bool = False) -> None:
        # A metric bound from a known call wins over a same-named guess; a later binding over an earlier one.
        if weak and metric.name in self.metrics and metric.name not in self.weak:
            return
        self.metrics.pop(metric.name, None)
        self.metrics[metric.name] = metric
        (self.weak.add if weak else self.weak.discard)(metric.name)


def facts_from_sources(sources: Iterable[tuple[int, str]]) -> _State:
    """The notebook-wide state after reading ``(index, python source)`` cells in order."""
    state = _State()
    for index, source in sources:
        if _MODELS_URI in source:  # passed to a helper or bound to a name first: still a read
            state.model_reads.append(index)
        try:
            parsed = _python(source)
        except Exception:  # noqa: BLE001 - a cell libcst cannot read says nothing about models
            continue
        if parsed is None:
            continue
        try:
            _Cell(state, index, parsed[1]).statements(parsed[0].body)
        except Exception:  # noqa: BLE001 - analysis must never stop a plan
            continue
    return state


def _python(source: str) -> tuple[cst.Module, frozenset[str]] | None:
    """A cell's tree and words, or None when it has no Python to read (no Python body, too deep
    for libcst, a cell libcst refuses): analyze's view of the source (masked, measured and
    parsed once per distinct source), plus the words, kept on the view."""
    from nbsplit.analyze import python_view

    view = python_view(source)
    if view.module is None:
        return None
    words = view.memo.get("words")
    if words is None:
        words = view.memo["words"] = frozenset(_WORD.findall(view.masked.source))  # type: ignore[union-attr]
    return view.module, words  # type: ignore[return-value]


@per_notebook
def _notebook_state(notebook: Notebook) -> _State:
    """The state after every Python cell: a function of the notebook alone, asked for by plan
    JSON, tracking, registry order and the manifest in one ``convert`` (read-only from here)."""
    return facts_from_sources([(c.index, c.source) for c in notebook.cells
                               if c.kind == "code" and (c.language or "python").lower() == "python"])


def ml_facts(plan: SplitPlan, *, metric: str | None = None, greater_is_better: bool | None = None) -> MLFacts:
    """The notebook's models and metrics, its main model and primary metric (see the module doc)."""
    state = _notebook_state(plan.notebook)
    stage_of = {c.index: plan.stage_of(c.index) for c in plan.notebook.cells}
    models = tuple(state.found.values())
    fitted = {m.name for m in models if m.fitted_cell is not None and m.kind in ("estimator", "pipeline", "search")}
    main = _main_model(plan, stage_of, models, fitted)
    # A threshold set up front (``min_r2 = 0.6``) is configuration, not a measure.
    metrics = tuple(m for m in state.metrics.values() if stage_of.get(m.cell) not in (Stage.SETUP, Stage.SKIP))
    primary, greater = _primary(metrics, stage_of)
    if metric is not None:
        primary = metric
        known = next((m for m in metrics if m.name == metric), None)
        greater = known.greater_is_better if known is not None else not _LOWER.search(metric)
    if greater_is_better is not None:
        greater = greater_is_better
    return MLFacts(models=models, metrics=metrics, main_model=main, primary_metric=primary,
                   greater_is_better=greater if primary else None, tracking_uris=tuple(state.tracking_uris),
                   registers=state.registers, alias_moves=tuple(state.alias_moves), logs=state.logs,
                   registry_writes=tuple(sorted(set(state.registry_writes))),
                   model_reads=tuple(sorted(set(state.model_reads))),
                   stages={m.cell: stage_of[m.cell].value for m in (*models, *metrics) if m.cell in stage_of})


def _main_model(plan: SplitPlan, stage_of: Mapping[int, Stage], models: tuple[ModelFact, ...],
                fitted: set[str]) -> str | None:
    """The fitted model prediction uses, else evaluation's, else the last one fitted."""
    by_name = {m.name: m for m in models}
    for stage in (Stage.PREDICTION, Stage.EVALUATION, Stage.MONITORING):
        used: list[str] = []
        for index, facts in enumerate(plan.facts):
            if facts is None or stage_of.get(index) is not stage:
                continue
            for call in facts.calls:
                if call.receiver in fitted and call.method in _PREDICTS and call.receiver not in used:
                    used.append(call.receiver)
        if used:
            # A search's best model before the search itself; the most used first.
            used.sort(key=lambda n: by_name[n].kind == "search")
            return used[0]
    last = [m for m in models if m.name in fitted and m.kind != "search"] or [m for m in models if m.name in fitted]
    return last[-1].name if last else None


def _primary(metrics: tuple[MetricFact, ...], stage_of: Mapping[int, Stage]) -> tuple[str | None, bool | None]:
    for stage in (Stage.EVALUATION, Stage.TRAINING):
        candidates = [m for m in metrics if stage_of.get(m.cell) is stage]
        for pattern in _PRIORITY:
            hits = [m for m in candidates if re.search(pattern, f"{m.name} {m.source}", re.IGNORECASE)]
            if hits:
                return hits[-1].name, hits[-1].greater_is_better
        if candidates:
            return candidates[-1].name, candidates[-1].greater_is_better
    return None, None
