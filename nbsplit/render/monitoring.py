"""The generated monitoring stage (``--level 1`` and up, when the notebook has none).

Which frames it compares comes from the plan's dataflow, never from run-time guessing:

- **training features**: the value the featurization (or data-prep) stage hands to training that
  training first splits or fits on (``train_test_split(X, y)`` -> ``X``; ``data.randomSplit`` ->
  ``data``; ``model.fit(X, y)`` -> ``X``). Monitoring loads that same handoff.
- **scored batch**: the first argument of the first ``predict``/``predict_proba``/
  ``decision_function``/``transform`` call in the prediction stage whose receiver is a model the
  stage loads from training or evaluation (``rf.predict_proba(X_new)`` -> ``X_new``), or one a
  prediction cell loads through MLflow (``champion = mlflow.pyfunc.load_model("models:/...")``). When
  prediction loads that value, monitoring loads the same handoff; when prediction makes it,
  prediction saves it (as it was after the last prediction cell that wrote it before the call)
  and monitoring loads it.

The generated stage is a :class:`~nbsplit.model.StagePlan` with no source cells; its one
generated cell calls the runtime's ``_nbsplit_monitor`` (``templates/notebook/runtime_monitoring.py.j2``):
per-feature PSI and Kolmogorov-Smirnov drift, logged to MLflow, and the ``retrain`` task value.

**The live metric** (:class:`LiveMetric`), when nbsplit's gate moves ``champion`` and its primary
metric can be computed again (a ``sklearn.metrics`` function, or a model's ``score``): the
**target** is the value handed into training next to the training features in the same split or
fit call (``train_test_split(X, y)`` -> ``y``); monitoring loads it too, and at run time its
column name (``y.name``) is the label. When the scored batch has that column, the runtime scores
the batch's other columns with the ``@champion`` model, computes the primary metric against the
label, logs it (``live_<metric>``, and ``live_<metric>_champion``, the value the gate recorded for
the champion) and sets ``retrain`` when it is worse than the champion's by more than the job
parameter ``live_metric_degradation`` (relative, default 0.1). Without labels it says so in one
line and logs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from nbsplit.model import Handoff, SplitPlan, Stage, StagePlan

__all__ = ["LiveMetric", "MonitoringInputs", "live_metric", "monitoring_inputs", "with_generated_monitoring",
           "is_generated", "LIVE_METRIC_PARAMETERS"]

# The job parameter of the live metric's retrain decision (a string, like every job parameter).
LIVE_METRIC_PARAMETERS = {"live_metric_degradation": "0.1"}
# sklearn.metrics functions of a score or probability (the rest take predicted labels/values).
_SCORE_METRICS = ("roc_auc_score", "average_precision_score", "log_loss", "brier_score_loss", "top_k_accuracy_score")


@dataclass(frozen=True)
class LiveMetric:
    """How the generated monitoring computes the gate's primary metric on a labelled batch:
    ``kind`` "function" (``source`` is a ``sklearn.metrics`` function; ``scores`` when it takes
    probabilities) or "score" (the model's own ``score``)."""

    metric: str
    greater_is_better: bool
    kind: str
    source: str
    flavor: str
    scores: bool = False

    def spec(self) -> dict[str, Any]:
        """What the generated cell passes to ``_nbsplit_monitor`` (plain literals)."""
        return {"metric": self.metric, "greater_is_better": self.greater_is_better, "kind": self.kind,
                "source": self.source, "flavor": self.flavor, "scores": self.scores}


def live_metric(facts: Any, gate: bool) -> tuple[LiveMetric | None, str | None]:
    """The live metric of the gate's primary metric (``facts``: :class:`nbsplit.mlfacts.MLFacts`),
    or why there is none. ``gate``: nbsplit's gate moves ``champion`` (its value is on the version)."""
    if not gate:
        return None, "no champion chosen by nbsplit's gate to compare with"
    main = facts.model(facts.main_model)
    primary = next((m for m in reversed(facts.metrics) if m.name == facts.primary_metric), None)
    if main is None or primary is None:
        return None, "no primary metric of the main model"
    if main.flavor not in ("sklearn", "xgboost", "lightgbm", "catboost"):
        return None, f"a {main.flavor} model's metric is not computed again on fresh labels yet"
    greater = bool(facts.greater_is_better if facts.greater_is_better is not None else primary.greater_is_better)
    source = primary.source
    if source.startswith("sklearn.metrics."):
        leaf = source.rsplit(".", 1)[1]
        return LiveMetric(primary.name, greater, "function", source, main.flavor, leaf in _SCORE_METRICS), None
    if source.endswith(".score"):
        return LiveMetric(primary.name, greater, "score", source, main.flavor), None
    return None, f"{primary.name} ({source}) cannot be computed again from a model and labels"


_FIT_METHODS = ("train_test_split", "fit", "randomSplit", "fit_transform", "cross_val_score", "cross_validate")
_RECEIVER_FITS = ("randomSplit",)  # the frame is the receiver, not an argument
_PREDICT_METHODS = ("predict", "predict_proba", "decision_function", "transform", "score_samples")
_MODEL_PRODUCERS = (Stage.TRAINING, Stage.EVALUATION)
_HIDDEN = "__"  # pseudo-names (rng state, temp views) never are frames
# Monitoring loads after every cell: the generated stage has no source cells of its own.
_AFTER_ALL = 10**9


@dataclass(frozen=True)
class MonitoringInputs:
    """What the generated monitoring stage compares: two handoffs, or why there is no stage."""

    training: Handoff | None = None
    scored: Handoff | None = None
    reason: str | None = None  # why no monitoring stage is generated
    target: Handoff | None = None  # the labels training fitted on (the live metric's label column)
    live: LiveMetric | None = None
    live_reason: str | None = None  # why there is no live metric

    def describe(self) -> dict[str, Any]:
        """The manifest's account (``mlops.monitoring``)."""
        if self.training is None or self.scored is None:
            return {"generated": False, "reason": self.reason}
        live: dict[str, Any]
        if self.live is not None and self.target is not None:
            live = {"metric": self.live.metric, "greater_is_better": self.live.greater_is_better,
                    "computed_with": self.live.source,
                    "target": {"name": self.target.name, "from": self.target.producer.value,
                               "after_cell": self.target.version},
                    "labels": "the scored batch's column named like the target (its name at run time)"}
        else:
            live = {"metric": None, "reason": self.live_reason}
        return {
            "generated": True,
            "training_features": {"name": self.training.name, "from": self.training.producer.value,
                                  "after_cell": self.training.version},
            "scored_batch": {"name": self.scored.name, "from": self.scored.producer.value,
                             "after_cell": self.scored.version},
            "live_metric": live,
        }


def is_generated(sp: StagePlan) -> bool:
    """A generated stage has no source cells (a stage of the notebook always has some)."""
    return sp.stage is Stage.MONITORING and not sp.cells


def _stage(plan: SplitPlan, stage: Stage) -> StagePlan | None:
    return next((sp for sp in plan.stages if sp.stage is stage and sp.cells), None)


def _own_calls(plan: SplitPlan, sp: StagePlan):  # type: ignore[no-untyped-def]
    for index in sp.cells:
        facts = plan.facts[index] if index < len(plan.facts) else None
        if facts is None or plan.stage_of(index) is not sp.stage:
            continue  # setup cells copied into the stage are not the stage's own work
        for call in facts.calls:
            yield index, call


def _training_features(plan: SplitPlan, training: StagePlan) -> Handoff | None:
    return _training_inputs(plan, training)[0]


def _training_inputs(plan: SplitPlan, training: StagePlan) -> tuple[Handoff | None, Handoff | None]:
    """The features and the target handed into training: the first loaded value of its first
    split/fit call, and the next loaded one of the same call (``train_test_split(X, y)``)."""
    loaded = {h.name: h for h in training.handoffs_in
              if not h.name.startswith(_HIDDEN) and h.producer in (Stage.FEATURIZATION, Stage.DATA_PREP)}
    for _, call in _own_calls(plan, training):
        if call.method not in _FIT_METHODS:
            continue
        names = (call.receiver,) if call.method in _RECEIVER_FITS else call.args
        found = [loaded[name] for name in dict.fromkeys(names) if name in loaded]
        if found:
            return found[0], (found[1] if len(found) > 1 else None)
    return None, None


def _registry_models(plan: SplitPlan, prediction: StagePlan) -> set[str]:
    """Names the prediction stage binds in its own cells that load a model through MLflow
    (``champion = mlflow.pyfunc.load_model(f"models:/{name}@champion")``): the batch-inference
    pattern of a notebook that registers its model itself. Every name such a cell defines is a
    candidate; only one a predict call is made on counts."""
    names: set[str] = set()
    for index, call in _own_calls(plan, prediction):
        if call.name.startswith("mlflow.") and call.method == "load_model":
            names.update(plan.facts[index].defines)
    return names


def _scored_batch(plan: SplitPlan, prediction: StagePlan) -> Handoff | None:
    models = {h.name for h in prediction.handoffs_in if h.producer in _MODEL_PRODUCERS}
    models |= _registry_models(plan, prediction)
    loaded = {h.name: h for h in prediction.handoffs_in if not h.name.startswith(_HIDDEN)}
    for index, call in _own_calls(plan, prediction):
        if call.method not in _PREDICT_METHODS or call.receiver not in models or not call.args:
            continue
        name = call.args[0]
        # The last prediction cell up to the call that wrote the value: the batch it scored.
        writers = [i for i in prediction.cells if i <= index and plan.stage_of(i) is Stage.PREDICTION
                   and plan.facts[i] is not None
                   and (name in plan.facts[i].defines or name in plan.facts[i].mutates)]
        if writers:
            return Handoff(name, writers[-1], Stage.PREDICTION, Stage.MONITORING, _AFTER_ALL)
        if name in loaded:
            h = loaded[name]
            return Handoff(h.name, h.version, h.producer, Stage.MONITORING, _AFTER_ALL)
    return None


def monitoring_inputs(plan: SplitPlan, live: LiveMetric | None = None,
                      live_reason: str | None = None) -> MonitoringInputs:
    """The two frames a generated monitoring stage compares, from the plan's handoffs, and the
    target of the live metric (``live``: the gate's metric, computable; else ``live_reason``)."""
    if _stage(plan, Stage.MONITORING) is not None:
        return MonitoringInputs(reason="the notebook has its own monitoring stage")
    training, prediction = _stage(plan, Stage.TRAINING), _stage(plan, Stage.PREDICTION)
    if training is None or prediction is None:
        return MonitoringInputs(reason="no training or no prediction stage to compare")
    features = _training_features(plan, training)
    if features is None:
        return MonitoringInputs(reason="no frame handed into training is split or fitted on")
    scored = _scored_batch(plan, prediction)
    if scored is None:
        return MonitoringInputs(reason="the prediction stage scores no frame with a model from training or the registry")
    target = None
    if live is not None:
        target = _training_inputs(plan, training)[1]
        if target is None:
            live, live_reason = None, "training splits or fits on no target handed to it next to the features"
    return MonitoringInputs(replace(features, consumer=Stage.MONITORING, before_cell=_AFTER_ALL), scored,
                            target=replace(target, consumer=Stage.MONITORING, before_cell=_AFTER_ALL)
                            if target is not None else None, live=live, live_reason=live_reason)


def with_generated_monitoring(plan: SplitPlan, live: LiveMetric | None = None, live_reason: str | None = None,
                              gate: Stage | None = None) -> tuple[SplitPlan, MonitoringInputs]:
    """``plan`` plus a generated monitoring stage (and prediction's save of the scored batch),
    or ``plan`` unchanged with the reason when none can be generated. With a live metric the
    stage also loads the target and runs after ``gate``, the stage that moves ``champion``."""
    inputs = monitoring_inputs(plan, live, live_reason)
    if inputs.training is None or inputs.scored is None:
        return plan, inputs
    stages = []
    for sp in plan.stages:
        if sp.stage is Stage.PREDICTION and inputs.scored.producer is Stage.PREDICTION:
            saves = sp.saves if inputs.scored.name in sp.saves else (*sp.saves, inputs.scored.name)
            sp = replace(sp, saves=saves, handoffs_out=(*sp.handoffs_out, inputs.scored))
        elif sp.stage is Stage.MONITORING:
            continue  # an empty monitoring stage of the notebook is replaced
        stages.append(sp)
    loads = {inputs.training.name: inputs.training.producer, inputs.scored.name: inputs.scored.producer}
    handoffs = [inputs.training, inputs.scored]
    depends = {inputs.training.producer, inputs.scored.producer}
    if inputs.target is not None:
        loads[inputs.target.name] = inputs.target.producer
        handoffs.append(inputs.target)
        depends.add(inputs.target.producer)
        if gate is not None and gate not in _ancestors(stages, depends):
            depends.add(gate)  # the champion it scores with is the one the gate chose
    stages.append(StagePlan(Stage.MONITORING, (), loads=loads,
                            depends_on=tuple(sorted(depends, key=lambda s: s.order)),
                            handoffs_in=tuple(handoffs)))
    return replace(plan, stages=tuple(stages)), inputs


def _ancestors(stages: list[StagePlan], roots: set[Stage]) -> set[Stage]:
    """``roots`` and every stage they depend on, directly or not."""
    by_stage = {sp.stage: sp for sp in stages}
    found: set[Stage] = set()
    todo = list(roots)
    while todo:
        stage = todo.pop()
        if stage not in found:
            found.add(stage)
            todo.extend(by_stage[stage].depends_on if stage in by_stage else ())
    return found


@dataclass(frozen=True)
class FeatureTable:
    """The handoff featurization writes as a feature table and training reads back from it
    (``templates/notebook/runtime_features.py.j2``). ``feature_key`` None: detected at run time."""

    handoff: str  # Handoff.key
    name: str
    table: str
    feature_key: str | None

    def describe(self, catalog: str, schema: str) -> dict[str, Any]:
        return {
            "handoff": self.handoff, "name": self.name, "table": self.table,
            "databricks": f"{catalog}.{schema}.{self.table}",
            "local": f"<handoff_dir>/feature_tables/{self.table}",
            "primary_key": self.feature_key or "detected at run time: a unique id-like column, else the index",
            "exact": "checked when written: training reads the table only when it reads back identical, "
                     "else the handoff (the executed featurization notebook says why)",
        }


def feature_table(plan: SplitPlan, table: str, feature_key: str | None) -> FeatureTable | None:
    """The training features (see :func:`monitoring_inputs`) as a feature table, when there are some."""
    training = _stage(plan, Stage.TRAINING)
    features = _training_features(plan, training) if training is not None else None
    if features is None:
        return None
    return FeatureTable(features.key, features.name, table, feature_key)
