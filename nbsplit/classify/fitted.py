"""The classifier's data file, ``weights.json``: fitted weights and the constants that go with them.

What: ``data()`` is the parsed file, read once; ``constant(name)`` one of its ``constants`` --
the confidences, caps and sequence costs the rule layer uses (``confidence.heading_cap``,
``sequence.forward``, ``evidence.decay``, ...). ``learned`` reads the fitted weights from the
same file.

Why: numbers that decide how sure the classifier is belong with the numbers fitted on the corpus,
where ``benchmarks/accuracy.py --write-weights`` keeps them (it refits the weights and carries
the constants over), not scattered as literals through the signal modules.

Example: ``constant("confidence.feeds") == 0.62``: an "eda" cell that only computes a value for
one later stage takes that stage with confidence 0.62.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def data() -> dict[str, Any]:
    """The shipped ``weights.json`` ({} when the package was installed without it)."""
    try:
        text = resources.files("nbsplit.classify").joinpath("weights.json").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {}
    return json.loads(text)


def constant(name: str) -> float:
    try:
        return float(data()["constants"][name])
    except KeyError:
        raise RuntimeError(f"nbsplit/classify/weights.json has no constant '{name}'; reinstall nbsplit") from None
