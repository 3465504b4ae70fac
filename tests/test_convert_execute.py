"""nbsplit.execute: papermill-style parameters, cwd and env, failures naming the source cell."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from nbsplit.execute import StageExecutionError, _kernel_transport, execute_notebook, inject_parameters

pytestmark = pytest.mark.slow


def _write(path: Path, cells: list[tuple[str, dict]]) -> Path:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    for i, (source, meta) in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source, metadata=meta)
        cell["id"] = f"c{i}"
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def test_inject_parameters_goes_right_after_the_parameters_cell() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("a = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(a)")]
    inject_parameters(nb, {"a": "two", "n": 3})
    assert nb.cells[2].source == "# Injected parameters\na = 'two'\nn = 3"
    assert nb.cells[2].metadata["tags"] == ["injected-parameters"]


def test_runs_in_cwd_with_env_and_parameters_and_reports_the_failing_source_cell(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("hello")
    path = _write(tmp_path / "stage.ipynb", [
        ("name = 'default'", {"tags": ["parameters"], "nbsplit": {"generated": "parameters"}}),
        ("import os\nprint(open('data.txt').read(), os.environ['NBS_TEST'], name)", {"nbsplit": {"source_index": 4}}),
        ("1 / 0", {"nbsplit": {"source_index": 9}}),
    ])
    with pytest.raises(StageExecutionError) as info:
        execute_notebook(path, tmp_path, timeout=60, env={"NBS_TEST": "env-ok"}, parameters={"name": "given"})
    err = info.value
    assert (err.position, err.source_index, err.ename) == (2, 9, "ZeroDivisionError")
    assert "cell 2 (source cell 9) failed: ZeroDivisionError" in str(err) and "\n" not in str(err)
    printed = err.executed.cells[2].outputs[0]["text"]  # injected cell shifts the node by one
    assert printed == "hello env-ok given\n"


@pytest.mark.skipif(os.name == "nt", reason="Unix sockets: Windows kernels keep TCP")
def test_kernels_talk_over_private_unix_sockets_not_tcp_ports(tmp_path: Path) -> None:
    # Over TCP the kernel binds ports that jupyter_client released a moment before; a Spark JVM or
    # a parallel kernel took one in CI ("Address already in use") and the stage failed.
    path = _write(tmp_path / "stage.ipynb", [
        ("from ipykernel.kernelapp import IPKernelApp\napp = IPKernelApp.instance()\n"
         "print(app.transport, app.ip)", {}),
    ])
    executed = execute_notebook(path, tmp_path, timeout=60)
    transport, where = executed.cells[0].outputs[0]["text"].split()
    assert transport == "ipc"
    folder = Path(where).parent
    assert folder.name.startswith("nbsplit-kernel-") and not folder.exists()  # removed with its sockets


@pytest.mark.skipif(os.name == "nt", reason="Unix sockets: Windows kernels keep TCP")
def test_a_temporary_folder_too_deep_for_a_socket_path_keeps_tcp(tmp_path: Path) -> None:
    # zmq cannot bind a Unix socket whose path is over ~104 bytes (a long $TMPDIR on macOS)
    deep = tmp_path / ("d" * 120)
    assert "transport" not in _kernel_transport(deep).get("KernelManager", {})
    assert _kernel_transport(Path("/tmp/nbsplit-kernel-abc"))["KernelManager"]["transport"] == "ipc"


@pytest.mark.parametrize("stop, ename", [("import os\nos._exit(1)", "DeadKernelError"),
                                         ("import time\ntime.sleep(60)", "TimeoutError")])
def test_a_dead_kernel_or_timeout_names_its_cell_when_the_notebook_holds_an_earlier_run(
        tmp_path: Path, stop: str, ename: str) -> None:
    # A source notebook saved after its author's run (what `run --compare` executes) has an
    # execution count on every cell; the cell that was running is the one to name, not its last.
    path = _write(tmp_path / "monolith.ipynb", [("x = 1", {}), (stop, {}), ("print(x)", {})])
    nb = nbformat.read(path, as_version=4)
    for n, cell in enumerate(nb.cells, start=1):
        cell.execution_count = n
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"stored {n}\n")]
    nbformat.write(nb, path)
    with pytest.raises(StageExecutionError) as info:  # 10 s: "x = 1" stays inside it on a busy machine
        execute_notebook(path, tmp_path, timeout=10)
    err = info.value
    assert (err.position, err.ename) == (1, ename)
    assert "cell 1 failed" in str(err) and (ename != "DeadKernelError" or "out of memory" in str(err))
    assert err.executed.cells[2].outputs == [] and err.executed.cells[2].execution_count is None
