"""The classifier's data file, ``weights.json``: fitted weights and the constants that go with them.

What: ``data()`` is the parsed file, read once; ``constant(name)`` one of its ``constants`` --
the confidences, caps and sequence costs the rule layer uses (``confidence.heading_cap``,
``sequence.forward``, ``evidence.decay``, ...). ``learned`` reads the fitted weights from the
same file, and the boosted trees from ``trees.json`` beside it (``trees``; ``boosted``).

Why: numbers that decide how sure the classifier is belong with the numbers fitted on the corpus,
where ``benchmarks/accuracy.py --write-weights`` keeps them (it refits the weights and carries
the constants over), not scattered as literals through the signal modules.

The file keeps each fitted weight as an integer count of ``1 / weight_scale`` (4 decimals), one
feature per line: a third smaller than one float per line, and a refit still diffs feature by
feature. ``render`` writes that form and ``parse`` reads it back to the exact floats ``round(w, 4)``.

Example: ``constant("confidence.feeds") == 0.62``: an "eda" cell that only computes a value for
one later stage takes that stage with confidence 0.62.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

WEIGHT_SCALE = 10_000
_TABLE = "weights"


def _read(name: str) -> str | None:
    try:
        return resources.files("nbsplit.classify").joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None


@lru_cache(maxsize=1)
def data() -> dict[str, Any]:
    """The shipped ``weights.json`` ({} when the package was installed without it)."""
    text = _read("weights.json")
    return parse(text) if text is not None else {}


@lru_cache(maxsize=1)
def trees() -> dict[str, Any]:
    """The shipped ``trees.json`` (``boosted``), split features resolved; {} without the file."""
    from nbsplit.classify import boosted

    text = _read("trees.json")
    return boosted.load(json.loads(text)) if text is not None else {}


def render_trees(model: dict[str, Any]) -> str:
    """The ``trees.json`` text for an exported tree model: one tree per line, thresholds to 7
    significant digits (a split's side changes only for a value within 1e-7 of its threshold),
    leaf values to 5 decimals."""
    head = {k: v for k, v in sorted(model.items()) if k not in ("trees", "resolved")}
    lines = [json.dumps([feat, [float(f"{t:.7g}") for t in thr], left, right, [round(v, 5) for v in leaf]],
                        separators=(",", ":"))
             for feat, thr, left, right, leaf in model["trees"]]
    body = ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in head.items())
    return "{\n" + body + ',\n"trees": [\n' + ",\n".join(lines) + "\n]\n}\n"


def parse(text: str) -> dict[str, Any]:
    """``weights.json`` text as the model reads it: weight tables as floats."""
    out: dict[str, Any] = json.loads(text)
    scale = out.pop("weight_scale", None)
    if scale:
        _scale_tables(out, scale)
    return out


def _scale_tables(node: dict[str, Any], scale: int) -> None:
    for key, value in node.items():
        if key == _TABLE and isinstance(value, dict):
            node[key] = {name: [w / scale for w in row] for name, row in value.items()}
        elif isinstance(value, dict):
            _scale_tables(value, scale)


def render(weights: dict[str, Any]) -> str:
    """The file text for fitted ``weights`` (floats): sorted keys, one feature per line."""
    return _render({**weights, "weight_scale": WEIGHT_SCALE}, None) + "\n"


def _render(value: Any, key: str | None) -> str:
    if key == _TABLE and isinstance(value, dict):
        rows = (f"{json.dumps(name)}: [{','.join(str(round(w * WEIGHT_SCALE)) for w in row)}]"
                for name, row in sorted(value.items()))
        return "{\n" + ",\n".join(rows) + "\n}"
    if isinstance(value, dict):
        return "{\n" + ",\n".join(f"{json.dumps(k)}: {_render(v, k)}" for k, v in sorted(value.items())) + "\n}"
    return json.dumps(value)


def constant(name: str) -> float:
    try:
        return float(data()["constants"][name])
    except KeyError:
        raise RuntimeError(f"nbsplit/classify/weights.json has no constant '{name}'; reinstall nbsplit") from None
