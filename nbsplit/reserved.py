"""The names nbsplit reserves in a stage notebook, and the check that a notebook leaves them alone.

Generated code shares each stage notebook's globals with the user's cells: the runtime's
functions (``from nbsplit_runtime import *`` exports only ``_nbsplit_*``), the values the
parameters cell sets, and the pseudo-names the dataflow gives hidden state (the global random
generators, Spark temp views). All of them start with ``RESERVED_PREFIX``, so they cannot collide
with a user's variable as long as the notebook uses no such name itself, which
``reserved_name_error`` makes sure of (a notebook that does is refused as bad input, by every
command alike).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nbsplit.errors import NbsplitError
from nbsplit.model import CellFacts, Notebook

__all__ = ["RESERVED_PREFIX", "RUNTIME_MODULE", "RNG_STATE", "VIEW_PREFIX", "reserved_name_error"]

RESERVED_PREFIX = "_nbsplit_"
RUNTIME_MODULE = "nbsplit_runtime"  # the handoff runtime, written beside the stage notebooks
# Dataflow pseudo-names (never Python variables in a stage; see nbsplit.dataflow):
RNG_STATE = RESERVED_PREFIX + "rng"  # the global random generators' state
VIEW_PREFIX = RESERVED_PREFIX + "view__"  # + a Spark temp view or unqualified table name


def reserved_name_error(notebook: Notebook, facts: Sequence[CellFacts | None]) -> NbsplitError | None:
    """The first cell (in source order) that binds, changes or reads a name starting with
    ``RESERVED_PREFIX`` (at the top level or inside a function or class it defines), or imports
    the runtime module, as the one-line bad-input error; None when the notebook is clear."""
    path: Path = notebook.path
    for f in facts:
        if f is None:
            continue
        names = set(f.defines | f.reads | f.mutates)
        for fn in f.functions:
            names.add(fn.name)
            names.update(fn.free_names)
        names.update(alias for alias, _ in f.imports)
        bad = sorted(n for n in names if n.startswith(RESERVED_PREFIX))
        if bad:
            return NbsplitError(f"name `{bad[0]}` starts with {RESERVED_PREFIX!r}, which nbsplit reserves for "
                                f"the code it generates (rename it)", path, f.index)
        for _, qualified in f.imports:
            if qualified == RUNTIME_MODULE or qualified.startswith(RUNTIME_MODULE + "."):
                return NbsplitError(f"imports {RUNTIME_MODULE}, the name of the runtime module nbsplit writes "
                                    f"beside the stage notebooks (rename the module)", path, f.index)
    return None
