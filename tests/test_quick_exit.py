"""``nbsplit plan|convert|check`` end their process without the interpreter's teardown
(``nbsplit.__main__._quick_exit``): what a user sees must be what a normal exit gives -- the
same streams, exit code, files and ``atexit`` work -- compared here with the click entry point,
which exits the ordinary way."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nbsplit.__main__ import _quick_exit

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_notebooks" / "churn_pandas.ipynb"

_QUICK = ("import sys, atexit; atexit.register(lambda: print('ATEXIT', file=sys.stderr)); "
          "sys.argv = ['nbsplit', *sys.argv[1:]]; from nbsplit.__main__ import main; main()")
_NORMAL = ("import sys, atexit; atexit.register(lambda: print('ATEXIT', file=sys.stderr)); "
           "sys.argv = ['nbsplit', *sys.argv[1:]]; from nbsplit.cli import main; main()")


def _run(code: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "NBSPLIT_DEBUG"}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, env=env,
                          timeout=300)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("args", [
    ["plan", "NB", "--format", "json"],
    ["plan", "NB"],
    ["check", "NB"],
    ["check", "--format", "json", "NB"],
    ["plan", "missing.ipynb"],
    ["plan", "--format", "yaml", "NB"],  # a usage error: click's own exit
    ["convert", "NB", "--out", "OUT"],
])
def test_same_streams_code_and_files_as_a_normal_exit(tmp_path: Path, args: list[str]) -> None:
    results = []
    for code in (_QUICK, _NORMAL):
        work = tmp_path / ("quick" if code is _QUICK else "normal")
        work.mkdir()
        (work / "nb.ipynb").write_bytes(SAMPLE.read_bytes())
        done = _run(code, [{"NB": "nb.ipynb", "OUT": "out"}.get(a, a) for a in args], work)
        results.append((done.returncode, done.stdout, done.stderr, _tree(work)))
    assert results[0] == results[1]
    assert results[0][2].endswith(b"ATEXIT\n")  # the atexit functions ran, after the command's output


def test_a_closed_pipe_exits_as_before(tmp_path: Path) -> None:
    (tmp_path / "nb.ipynb").write_bytes(SAMPLE.read_bytes())
    codes = []
    for code in (_QUICK, _NORMAL):
        proc = subprocess.Popen([sys.executable, "-c", code, "plan", "nb.ipynb", "--format", "json"],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdout is not None
        proc.stdout.close()  # the reader went away before anything was written
        codes.append(proc.wait(timeout=300))
    assert codes[0] == codes[1]


def test_leaves_the_normal_exit_to_what_it_cannot_repeat() -> None:
    # (returning means: not exited; the caller re-raises and Python exits as always)
    assert _quick_exit(SystemExit("a message")) is None  # printed by the normal exit
    assert _quick_exit(SystemExit(256)) is None
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert _quick_exit(SystemExit(0)) is None  # a thread still running: the normal exit waits
    finally:
        release.set()
        other.join()
