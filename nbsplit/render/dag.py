"""The stage DAG as text diagrams: Mermaid (renders on GitHub, embedded in the output README) and
Graphviz dot. Nodes are stage slugs, the one spelling every command uses; an edge points from the
stage that saves a value to the stage that loads it."""

from __future__ import annotations

from collections.abc import Mapping

from nbsplit.model import SplitPlan, Stage

__all__ = ["dag_dot", "dag_mermaid"]


def _nodes(plan: SplitPlan) -> list[Stage]:
    return [sp.stage for sp in sorted(plan.stages, key=lambda s: s.stage.order) if sp.stage.is_pipeline and sp.cells]


def _edges(plan: SplitPlan) -> list[tuple[Stage, Stage]]:
    nodes = set(_nodes(plan))
    return [(dep, sp.stage) for sp in sorted(plan.stages, key=lambda s: s.stage.order) if sp.stage in nodes
            for dep in sorted(sp.depends_on, key=lambda s: s.order) if dep in nodes]


def _node_id(stage: Stage) -> str:
    return stage.value.replace("-", "_")


def dag_mermaid(plan: SplitPlan, files: Mapping[Stage, str] | None = None) -> str:
    lines = ["flowchart LR"]
    for stage in _nodes(plan):
        label = f"{stage.value}<br/>{files[stage]}" if files and stage in files else stage.value
        lines.append(f'    {_node_id(stage)}["{label}"]')
    lines += [f"    {_node_id(a)} --> {_node_id(b)}" for a, b in _edges(plan)]
    return "\n".join(lines) + "\n"


def dag_dot(plan: SplitPlan) -> str:
    lines = ["digraph nbsplit {", "    rankdir=LR;", "    node [shape=box];"]
    lines += [f'    "{stage.value}";' for stage in _nodes(plan)]
    lines += [f'    "{a.value}" -> "{b.value}";' for a, b in _edges(plan)]
    return "\n".join(lines + ["}"]) + "\n"
