"""Scripts a notebook writes and then runs: ``%%writefile step.py`` followed by ``%run -i step.py``.

Some notebooks keep each step in a file they write themselves and run it in a later cell (the
"PyTorch step by step" style)::

    %%writefile model_training/v0.py          # cell 8
    for epoch in range(n_epochs):
        model.train()
        ...

    %run -i model_training/v0.py              # cell 9

Cell 9 is the training loop: it reads ``model`` and ``train_loader`` from the notebook and
defines ``losses``. Read as a magic line, it would look like a configuration line that reads and
defines nothing, be classified as setup and be copied ahead of every later stage. The analysis
reads such a cell as the body it runs instead (``inline_runs``): the body's reads, definitions
and calls are the cell's. ``-i`` runs the body in the notebook's namespace; without it the body
runs in a fresh one and its names land in the notebook's when it ends, so reading it as inlined
code may count a read the script does not make (one load more, never one less).

The plan reads the same text (``run_sources``) where it copies a definition or an import the
script made into another stage: ``def accuracy_of`` from ``train.py``, not the whole ``%run``
cell (which would run the training again there).

Only a ``.py`` file an earlier cell of the same notebook wrote is followed (``-a`` appends); a
``%run`` of any other file, or of a module (``-m``), stays a magic line.
"""

from __future__ import annotations

import re
import shlex
from typing import Mapping

from nbsplit.file_uses import writefile_target, written_path
from nbsplit.memo import per_notebook
from nbsplit.model import Notebook

__all__ = ["inline_runs", "run_sources", "written_script"]

_RUN_LINE = re.compile(r"^%run[ \t]+(\S.*)$")
# ``%run`` options that take no value (``-t -N4`` and ``-G`` included); ``-m`` names a module
_FLAGS = re.compile(r"^-(?:[iednpGt]+|N\d+)$")


def written_script(source: str) -> tuple[str, str, bool] | None:
    """``(path, body, append)`` for a ``%%writefile [-a] path.py`` cell, else None; the path as
    ``file_uses`` names the file the cell writes, so a ``%run`` of it is also a read of that file."""
    path = writefile_target(source)
    if path is None or not path.endswith(".py"):
        return None
    lines = source.split("\n")
    head = next(k for k, line in enumerate(lines) if line.lstrip().startswith("%%writefile"))
    append = bool({"-a", "--append"} & set(lines[head].split()))
    return path, "\n".join(lines[head + 1:]), append


def _run_target(line: str) -> str | None:
    m = _RUN_LINE.match(line.rstrip())
    if m is None:
        return None
    try:
        words = shlex.split(m.group(1), comments=True)
    except ValueError:
        return None
    for word in words:
        if word == "-m":
            return None
        if not _FLAGS.match(word):
            path = written_path(word.strip("'\""))
            return path if path is not None and path.endswith(".py") else None
    return None


def inline_runs(source: str, scripts: Mapping[str, str]) -> str:
    """``source`` with every top-level ``%run [-i] path.py`` line whose file is in ``scripts``
    (written by an earlier ``%%writefile`` cell) replaced by that file's body; ``source``
    itself when there is none."""
    if "%run" not in source or not scripts:
        return source
    lines = source.split("\n")
    out: list[str] = []
    changed = False
    for line in lines:
        target = _run_target(line) if line.startswith("%run") else None
        body = scripts.get(target) if target is not None else None
        if body is None:
            out.append(line)
            continue
        out.append(body)
        changed = True
    return "\n".join(out) if changed else source


@per_notebook
def run_sources(notebook: Notebook) -> Mapping[int, str]:
    """Per code cell that runs a script an earlier cell wrote, its source with the script
    inlined (``inline_runs``); cells that run none are absent."""
    scripts: dict[str, str] = {}
    out: dict[int, str] = {}
    for cell in notebook.cells:
        if cell.kind != "code":
            continue
        source = inline_runs(cell.source, scripts)
        if source is not cell.source:
            out[cell.index] = source
        written = written_script(cell.source) if "%%writefile" in cell.source else None
        if written is not None:
            path, body, append = written
            scripts[path] = scripts.get(path, "") + "\n" + body if append else body
    return out
