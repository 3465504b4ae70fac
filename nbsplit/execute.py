"""Run stage notebooks in fresh kernels (nbclient), papermill-style parameters without papermill.

``execute_notebook`` runs one notebook top to bottom in a new kernel with a chosen working
directory and environment; ``execute_stages`` runs a converted folder's stages in order. A
failing cell raises ``StageExecutionError``, which names the notebook, the cell's position in
it and, for cells copied from the source, the source index (``metadata.nbsplit.source_index``),
so the message points at the cell a person wrote. ``nbsplit.run`` builds on these.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from nbsplit.errors import EXIT_PROBLEMS, NbsplitError
from nbsplit.render.manifest import MANIFEST_NAME

if TYPE_CHECKING:
    from traitlets.config import Config

__all__ = ["StageExecutionError", "execute_notebook", "execute_stages", "inject_parameters", "load_notebook"]

INJECTED_TAG = "injected-parameters"


class StageExecutionError(NbsplitError):
    """A cell of a stage notebook raised. ``executed`` is the notebook as far as it ran."""

    def __init__(self, notebook: Path, position: int | None, source_index: int | None, ename: str,
                 evalue: str, executed: nbformat.NotebookNode | None = None) -> None:
        self.notebook = notebook
        self.position = position
        self.source_index = source_index
        self.ename = ename
        self.evalue = evalue
        self.executed = executed
        where = f"cell {position}" if position is not None else "a cell"
        origin = f" (source cell {source_index})" if source_index is not None else ""
        evalue_line = (evalue.strip().splitlines() or [""])[0]
        super().__init__(f"{where}{origin} failed: {ename}: {evalue_line}", notebook, exit_code=EXIT_PROBLEMS)

    def format(self) -> str:
        # The cell is part of the message (the notebook's position and the source index).
        return f"{self.path}: {' '.join(self.message.split())}"


def load_notebook(path: Path) -> nbformat.NotebookNode:
    """An executable notebook node from an ``.ipynb`` or a Databricks/percent ``.py`` stage."""
    path = Path(path)
    if path.suffix == ".ipynb":
        return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    from nbsplit.read import read_notebook
    from nbsplit.read.ipynb import build_ipynb

    notebook = read_notebook(path)
    return build_ipynb(notebook.cells, {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                       "language": "python"}})


def inject_parameters(nb: nbformat.NotebookNode, parameters: Mapping[str, Any]) -> nbformat.NotebookNode:
    """A cell assigning ``parameters`` (as Python literals) right after the ``parameters``-tagged
    cell (or first, when there is none), tagged ``injected-parameters`` like papermill's."""
    if not parameters:
        return nb
    source = "# Injected parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in parameters.items())
    cell = nbformat.v4.new_code_cell(source=source.rstrip("\n"), metadata={"tags": [INJECTED_TAG]})
    cell["id"] = "injected-parameters"
    position = 0
    for i, existing in enumerate(nb.cells):
        if "parameters" in (existing.get("metadata", {}).get("tags") or []):
            position = i + 1
            break
    nb.cells.insert(position, cell)
    return nb


def execute_notebook(path: Path | str, cwd: Path | str, *, timeout: int = 600, kernel_name: str = "python3",
                     env: Mapping[str, str] | None = None, parameters: Mapping[str, Any] | None = None,
                     ) -> nbformat.NotebookNode:
    """Execute ``path`` in a fresh kernel with working directory ``cwd``; return the executed node.

    ``env`` adds to (and overrides) this process's environment for the kernel. ``timeout`` is
    seconds per cell. Raises ``StageExecutionError`` when a cell fails.
    """
    from nbclient import NotebookClient

    path = Path(path)
    nb = inject_parameters(_without_stored_run(load_notebook(path)), dict(parameters or {}))
    kernel_env = dict(os.environ) | dict(env or {})
    started: list[int] = []  # the cells sent to the kernel, in order: the last one is running
    with tempfile.TemporaryDirectory(prefix="nbsplit-kernel-") as sockets:
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, allow_errors=False,
                                resources={"metadata": {"path": str(cwd)}},
                                config=_kernel_transport(Path(sockets)),
                                on_cell_execute=lambda cell, cell_index: started.append(cell_index))
        _execute(client, nb, path, cwd, kernel_env, started)
    return nb


def _without_stored_run(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` with no code cell's stored outputs or execution count: a source notebook saved
    after its author's run (what ``run --compare`` executes) would otherwise keep them on the
    cells a failed run never reached, as if this run had printed them."""
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def _kernel_transport(sockets: Path) -> Config:
    """Kernel channels over Unix sockets in ``sockets`` where the platform has them.

    Over TCP, jupyter_client picks five free ports, releases them and hands them to the kernel to
    bind; anything else on the machine (a Spark JVM, a parallel kernel) can take one in between,
    and the kernel then dies with "Address already in use" and the stage fails after a minute's
    wait. A socket file in a private folder cannot be taken.
    """
    from traitlets.config import Config

    prefix = str(sockets / "kernel")
    # a Unix socket's path holds at most 104 bytes (macOS; 108 on Linux), the channel's "-N" too
    if os.name == "nt" or len(prefix.encode()) > _SOCKET_PATH_MAX:
        return Config()
    return Config({"KernelManager": {"transport": "ipc", "ip": prefix}})


_SOCKET_PATH_MAX = 100


def _execute(client: Any, nb: nbformat.NotebookNode, path: Path, cwd: Path | str,
             kernel_env: dict[str, str], started: Sequence[int]) -> None:
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    try:
        client.execute(cwd=str(cwd), env=kernel_env)
    except CellExecutionError as exc:
        position, source_index = _failed_cell(nb)
        raise StageExecutionError(path, position, source_index, exc.ename, exc.evalue, nb) from None
    except CellTimeoutError as exc:
        position, source_index = _running_cell(nb, started)
        raise StageExecutionError(path, position, source_index, "TimeoutError", str(exc), nb) from None
    except DeadKernelError:
        # nbclient says only "Kernel died"; most often the system killed it for memory
        position, source_index = _running_cell(nb, started)
        raise StageExecutionError(path, position, source_index, "DeadKernelError",
                                  "the kernel died while this cell ran (out of memory, or the cell ended "
                                  "the process)", nb) from None


def execute_stages(out_dir: Path | str, order: Sequence[str], cwd: Path | str | None = None, *,
                   timeout: int = 600, kernel_name: str = "python3", env: Mapping[str, str] | None = None,
                   parameters: Mapping[str, Any] | None = None) -> dict[str, nbformat.NotebookNode]:
    """Execute the stage notebooks of a converted folder, one fresh kernel each, in ``order``
    (stage slugs or file names). ``cwd`` defaults to ``out_dir``, where the stage notebooks and their
    runtime module are (the runtime then works from the source notebook's folder). Returns ``{file name: executed notebook}``; stops at the first failure."""
    out_dir = Path(out_dir)
    manifest = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    files = {s["name"]: s["file"] for s in manifest["stages"]}
    if cwd is None:
        cwd = out_dir
    executed: dict[str, nbformat.NotebookNode] = {}
    for item in order:
        name = files.get(item, item)
        executed[name] = execute_notebook(out_dir / name, cwd, timeout=timeout, kernel_name=kernel_name,
                                          env=env, parameters=parameters)
    return executed


def _source_index(cell: Mapping[str, Any]) -> int | None:
    meta = (cell.get("metadata") or {}).get("nbsplit") or {}
    value = meta.get("source_index")
    return value if isinstance(value, int) else None


def _position(nb: nbformat.NotebookNode, index: int) -> int:
    """The cell's position in the stage notebook file (the injected cell is not in the file)."""
    injected = any(INJECTED_TAG in (c.get("metadata", {}).get("tags") or []) for c in nb.cells[:index])
    return index - 1 if injected else index


def _failed_cell(nb: nbformat.NotebookNode) -> tuple[int | None, int | None]:
    for i, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", ())):
            return _position(nb, i), _source_index(cell)
    return None, None


def _running_cell(nb: nbformat.NotebookNode, started: Sequence[int]) -> tuple[int | None, int | None]:
    # The cell last sent to the kernel: its execution count may never arrive from a kernel that
    # died at once, so the count cannot say which cell was running.
    if not started:
        return None, None
    last = started[-1]
    return _position(nb, last), _source_index(nb.cells[last])
