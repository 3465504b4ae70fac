"""``nbsplit check FILE...`` without options runs without click (``nbsplit/__main__.py``, the
pre-commit hook's call): it must print exactly what the click command prints, on the same
streams, with the same exit code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "bad_inputs"

_CLICK = "import sys; sys.argv = ['nbsplit', *sys.argv[1:]]; from nbsplit.cli import main; main()"
_TRACE = ("import sys, atexit; atexit.register(lambda: print('CLICK', 'click' in sys.modules, file=sys.stderr)); "
          "sys.argv = ['nbsplit', *sys.argv[1:]]; from nbsplit.__main__ import main; main()")


def _both(args: list[str], cwd: Path) -> tuple[tuple[int, bytes, bytes], tuple[int, bytes, bytes], bool]:
    env = {k: v for k, v in os.environ.items() if k != "NBSPLIT_DEBUG"}
    fast = subprocess.run([sys.executable, "-c", _TRACE, *args], cwd=cwd, capture_output=True, env=env,
                          timeout=300)
    slow = subprocess.run([sys.executable, "-c", _CLICK, *args], cwd=cwd, capture_output=True, env=env,
                          timeout=300)
    fast_err, _, seen = fast.stderr.rpartition(b"CLICK ")
    return ((fast.returncode, fast.stdout, fast_err), (slow.returncode, slow.stdout, slow.stderr),
            seen.strip() == b"True")


def test_plain_check_prints_what_the_click_command_prints(tmp_path: Path) -> None:
    cases = json.loads((BAD / "cases.json").read_text())["cases"]
    files = []
    for case in cases:
        if case.get("make") or case.get("pyproject") or not (BAD / case["file"]).is_file():
            continue
        shutil.copy(BAD / case["file"], tmp_path / case["file"])
        files.append(case["file"])
    sample = ROOT / "sample_notebooks" / "churn_pandas.ipynb"  # classified, planned, one NBS115
    shutil.copy(sample, tmp_path / sample.name)
    files.append(sample.name)
    # a mistyped tag on a line carrying a terminal colour code: click drops it off a terminal
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# nbsplit: trainig \x1b[31mred\nx = 1")])
    nbformat.write(nb, tmp_path / "ansi.ipynb")
    (tmp_path / "plain.py").write_text("def f():\n    return 1\n")
    (tmp_path / "folder.ipynb").mkdir()
    files += ["ansi.ipynb", "plain.py", "folder.ipynb", "missing.ipynb"]

    fast, slow, imported_click = _both(["check", *files], tmp_path)
    assert not imported_click
    assert fast == slow
    assert fast[0] == 1 and b"NBS101" in fast[1] and b"\x1b" not in fast[1]
    assert len(fast[1].splitlines()) > 40 and b"(1 skipped" in fast[1]  # plain.py: skipped

    fast, slow, imported_click = _both(["check", "--strict", "ansi.ipynb"], tmp_path)
    assert imported_click  # an option: click parses it
    assert fast == slow

    (tmp_path / "pyproject.toml").write_text('[tool.nbsplit]\nthreshold = true\n')  # a config error
    fast, slow, imported_click = _both(["check", "ansi.ipynb"], tmp_path)
    assert not imported_click
    assert fast == slow
    assert fast[0] == 2 and fast[1] == b"" and fast[2].startswith(b"nbsplit: error: ") and fast[2].count(b"\n") == 1
