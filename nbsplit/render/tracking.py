"""What each stage notebook's MLflow cell logs, from the analysis (:mod:`nbsplit.mlfacts`).

Every pipeline stage ends with one generated ``_nbsplit_track(globals(), {...})`` cell (the code
is in the runtime module, ``templates/notebook/runtime_mlflow.py.j2``); its argument says, for
that stage only:

- ``params``: the literal hyperparameters of the models fitted in the stage (the main model's
  unprefixed, the others as ``<name>.<param>``); ``searches``: search objects whose
  ``best_params_`` are logged (unprefixed when the main model is their best estimator);
- ``metrics``: ``[name, how]`` for each metric the stage computes (how to read it: see
  :class:`nbsplit.mlfacts.MetricFact`);
- ``model``: the main model when the stage fits it (logged with its flavour, a signature and an
  input example from the data it was fitted on, and registered as ``challenger``);
- ``gate``: the primary metric and its direction, in the stage that computes it (evaluation,
  else training): ``champion`` moves to the challenger only when it is better or absent.

The prediction stage, when it loads the main model from training, also rebinds that name from
the registry right after the load (``rf = _nbsplit_champion("rf", rf, "sklearn")``), so the
notebook's own cells score with ``models:/<name>@champion``, byte for byte unchanged.

A notebook that registers a model itself keeps doing so: nbsplit then logs params and metrics but
neither registers nor moves aliases.

MLflow autologging (``StageTracking.autolog``), for a notebook that never uses MLflow itself, of
the main model's fit only: right before the cell that fits it, a generated cell
(``_nbsplit_autolog("training", ["sklearn"], params={...})``) makes the stage's run the active run,
logs the analysed ``params`` there first (autolog cannot change a logged parameter, so the main
model's analysed values stay the run's) and switches on ``mlflow.<flavour>.autolog``: without
models (nbsplit logs and registers the main model itself, with a signature and an input example),
datasets, metrics of post-training calls (nbsplit logs the analysed ones) or child runs for a
search's candidates (``max_tuning_runs=0``), silently; right after that cell,
``_nbsplit_autolog_end("training")`` switches it off again, so what autolog logs (every parameter,
training metrics, a search's ``cv_results``) is the main model's, not another model's the stage
fits before or after it. A Spark tuning search (``CrossValidator``) would make a child run per
parameter map, so it gets no Spark autologging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nbsplit.mlfacts import MLFacts, ml_facts
from nbsplit.model import SplitPlan, Stage

__all__ = ["AUTOLOG_FLAVOURS", "MLflowOptions", "StageTracking", "autolog_reason", "registry_dependencies",
           "registry_order", "tracking_specs"]

_MODEL_KINDS = ("estimator", "pipeline", "search")
# Flavours with an MLflow autolog (statsmodels has one, but nbsplit does not follow its fits;
# catboost has none).
AUTOLOG_FLAVOURS = ("sklearn", "xgboost", "lightgbm", "spark")


@dataclass(frozen=True)
class MLflowOptions:
    """``enabled=False`` (``--no-mlflow``): no MLflow cell at all. ``metric`` and
    ``greater_is_better`` override the analysis's primary metric and its direction;
    ``model_name`` the registered model's name (default ``<job name>_model``)."""

    enabled: bool = True
    model_name: str | None = None
    metric: str | None = None
    greater_is_better: bool | None = None
    autolog: bool = True  # --no-autolog / [tool.nbsplit] autolog = false


@dataclass(frozen=True)
class StageTracking:
    spec: dict[str, Any]
    champion: tuple[str, str] | None = None  # (model name, flavour) rebound from the registry
    registry: bool = False  # the stage reads or writes the registry (needs model_name)
    # {"cell": the main model's fit cell (autolog on before it, off after it), "flavors": [...], "params": {...}}
    autolog: dict[str, Any] | None = None


def tracking_specs(plan: SplitPlan, options: MLflowOptions | None = None,
                   facts: MLFacts | None = None) -> dict[Stage, StageTracking]:
    """The MLflow cell of every pipeline stage with cells (none when MLflow is off)."""
    options = options or MLflowOptions()
    if not options.enabled:
        return {}
    if facts is None:
        facts = ml_facts(plan, metric=options.metric, greater_is_better=options.greater_is_better)
    stage_cells = {sp.stage: set(sp.cells) for sp in plan.stages if sp.stage.is_pipeline and sp.cells}
    main = facts.model(facts.main_model)
    nbsplit_registers = main is not None and not facts.registers
    fit_stage = _stage_of(stage_cells, main.fitted_cell if main and main.fitted_cell is not None else None)
    primary = next((m for m in reversed(facts.metrics) if m.name == facts.primary_metric), None)
    gate_stage = _stage_of(stage_cells, primary.cell) if primary is not None else None
    if gate_stage not in (Stage.TRAINING, Stage.EVALUATION) or (
            fit_stage is not None and gate_stage is not None and gate_stage.order < fit_stage.order):
        gate_stage = fit_stage
    autolog_off = autolog_reason(plan, options, facts)
    out: dict[Stage, StageTracking] = {}
    for stage, cells in sorted(stage_cells.items(), key=lambda item: item[0].order):
        spec: dict[str, Any] = {"stage": stage.value}
        params: dict[str, Any] = {}
        searches: list[list[str]] = []
        for model in facts.models:
            if model.kind not in _MODEL_KINDS or model.fitted_cell not in cells:
                continue
            if model.kind == "search":
                best_of_main = main is not None and main.search == model.name
                searches.append([model.name, "" if best_of_main else f"{model.name}.best."])
                params.update({f"{model.name}.{k}": v for k, v in model.params.items()
                               if not k.startswith("estimator__")})
                continue
            prefix = "" if main is not None and model.name == main.name else f"{model.name}."
            params.update({f"{prefix}{k}": v for k, v in model.params.items()})
        if params:
            spec["params"] = params
        if searches:
            spec["searches"] = searches
        metrics = [[m.name, list(_listed(m.how))] for m in facts.metrics if m.cell in cells]
        if metrics:
            spec["metrics"] = metrics
        registry = False
        if main is not None and stage is fit_stage:
            spec["model"] = {"name": main.name, "flavor": main.flavor,
                             "input": main.fit_args[0] if main.fit_args else None, "register": nbsplit_registers}
            registry = nbsplit_registers
        if nbsplit_registers and stage is gate_stage:
            spec["gate"] = {"metric": facts.primary_metric or "", "greater_is_better":
                            True if facts.greater_is_better is None else facts.greater_is_better}
            registry = True
        champion = None
        if stage is Stage.PREDICTION and nbsplit_registers and main is not None:
            champion = (main.name, main.flavor)
            registry = True
        autolog = None
        if autolog_off is None and stage is fit_stage:
            autolog = _autolog(facts, cells)
            if autolog is not None and "params" in spec:
                # Logged before the fits (see the module doc), so not again at the end.
                autolog["params"] = spec.pop("params")
        out[stage] = StageTracking(spec, champion, registry, autolog)
    return out


def autolog_reason(plan: SplitPlan, options: MLflowOptions, facts: MLFacts) -> str | None:
    """Why the split has no MLflow autologging, or None when the stage fitting the main model gets it."""
    if not options.enabled:
        return "MLflow is off (--no-mlflow)"
    if not options.autolog:
        return "switched off (--no-autolog)"
    if _uses_mlflow(plan):
        return "the notebook uses MLflow itself"
    main = facts.model(facts.main_model)
    if main is None or main.fitted_cell is None:
        return "no fitted main model"
    if main.flavor not in AUTOLOG_FLAVOURS:
        return f"no MLflow autolog for the {main.flavor} flavour"
    return None


def _uses_mlflow(plan: SplitPlan) -> bool:
    """Any import of mlflow or call into it, in any cell or function body: its own runs, URIs and
    autolog settings are the notebook's to keep (nbsplit's autolog would log into them)."""
    for facts in plan.facts:
        if facts is None:
            continue
        if any(q == "mlflow" or q.startswith("mlflow.") for _, q in facts.imports):
            return True
        calls = [*facts.calls, *(c for f in facts.functions for c in f.calls)]
        if any(c.name == "mlflow" or c.name.startswith("mlflow.") for c in calls):
            return True
    return False


def _autolog(facts: MLFacts, cells: set[int]) -> dict[str, Any] | None:
    """The autolog cells around the main model's fit (in ``cells``), or None."""
    main = facts.model(facts.main_model)
    if main is None or main.fitted_cell not in cells or main.flavor not in AUTOLOG_FLAVOURS:
        return None
    if main.flavor == "spark" and any(m.flavor == "spark" and m.kind == "search" and main.fitted_cell in (m.cell, m.fitted_cell)
                                      for m in facts.models):
        return None  # a child run per parameter map (see the module doc)
    return {"cell": main.fitted_cell, "flavors": [main.flavor]}


def registry_order(plan: SplitPlan, options: MLflowOptions | None = None) -> SplitPlan:
    """``plan`` with the prediction stage run after the gate when it scores with ``@champion``:
    its data only needs training, but the champion it loads is the one the gate chose (without
    this edge a parallel run, or the Databricks job, could score before the gate moved it)."""
    specs = tracking_specs(plan, options)
    gate = next((stage for stage, t in specs.items() if "gate" in t.spec), None)
    prediction = specs.get(Stage.PREDICTION)
    if gate is None or prediction is None or prediction.champion is None or gate.order >= Stage.PREDICTION.order:
        return plan
    return _with_dependencies(plan, {Stage.PREDICTION: {gate}})


def registry_dependencies(plan: SplitPlan, facts: MLFacts | None = None) -> SplitPlan:
    """``plan`` with every stage that reads a model back from the MLflow store (a
    ``models:/name@champion`` load) run after each earlier stage whose cells registered a model
    or moved an alias before that read in the notebook. The monolith loaded what those cells had
    just written, and the store, not a handoff, carries it: without the edge a parallel run, or
    the Databricks job, loads the model before training registered it (or last run's version)."""
    facts = facts or ml_facts(plan)
    extra: dict[Stage, set[Stage]] = {}
    for read in facts.model_reads:
        reader = plan.stage_of(read)
        for write in facts.registry_writes:
            writer = plan.stage_of(write)
            if write < read and writer.is_pipeline and reader.is_pipeline and writer.order < reader.order:
                extra.setdefault(reader, set()).add(writer)
    return _with_dependencies(plan, extra)


def _with_dependencies(plan: SplitPlan, extra: dict[Stage, set[Stage]]) -> SplitPlan:
    """``plan`` with the stages of ``extra`` also depending on the stages it lists (pipeline order)."""
    from dataclasses import replace

    if not any(deps - set(sp.depends_on) for sp in plan.stages if (deps := extra.get(sp.stage))):
        return plan
    stages = tuple(
        replace(sp, depends_on=tuple(sorted({*sp.depends_on, *extra[sp.stage]}, key=lambda s: s.order)))
        if extra.get(sp.stage, set()) - set(sp.depends_on) else sp
        for sp in plan.stages)
    return replace(plan, stages=stages)


def _stage_of(stage_cells: dict[Stage, set[int]], cell: int | None) -> Stage | None:
    if cell is None:
        return None
    return next((stage for stage, cells in stage_cells.items() if cell in cells), None)


def _listed(value: Any) -> Any:
    """A metric's ``how`` as nested lists (a Python literal the template can write)."""
    if isinstance(value, tuple):
        return [_listed(v) for v in value]
    return value
