"""Instructions executed by `nbsplit plan` and by the floor, counted by valgrind (deterministic).

    python benchmarks/instructions.py [--cells 1000,10000] [--before DIR] [--command plan|convert]

CPU seconds on a shared machine scatter by more than most speed changes (see RESULTS.md: the same
two trees measured 0.86x and 1.00x ten minutes apart). The number of instructions a process
executes does not depend on the load: ``valgrind --tool=cachegrind --cache-sim=no`` counts them
(``I refs``), ~30-50x slower than a normal run (10,000 cells: ~5-10 minutes per process). Each
process runs with ``PYTHONHASHSEED=0`` (set and dict order would move the count a little) and
bytecode cached (one plain run first, as installed). Prints, per size, the floor (``run.py``'s
nbformat + ``ast`` script), this tree's ``plan --format json`` (or ``convert``), the ``--before``
tree's (another nbsplit source tree, put first on ``PYTHONPATH``; with ``nbsplit/templates``
linked to its ``templates/``, as ``run.py --before`` wants), and the ratios; for ``plan`` it
also checks that both trees printed the same plan.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_plan import make_notebook  # noqa: E402  (a sibling script)
from run import FLOOR  # noqa: E402  (the same floor as the timing table)

_IREFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def count(cmd: list[str], env: dict[str, str], out: Path) -> tuple[int, bytes]:
    """(instructions executed by ``cmd``, its stdout)."""
    subprocess.run(cmd, env=env, capture_output=True, check=False, cwd=tempfile.gettempdir())  # bytecode
    done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", f"--cachegrind-out-file={out}",
                           *cmd], env=env, capture_output=True, check=False, cwd=tempfile.gettempdir())
    found = _IREFS.search(done.stderr.decode(errors="replace"))
    if found is None:
        raise SystemExit(f"valgrind gave no instruction count for {' '.join(cmd)}:\n"
                         f"{done.stderr.decode(errors='replace')[-500:]}")
    return int(found.group(1).replace(",", "")), done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default="1000,10000")
    parser.add_argument("--before", type=Path, default=None, help="another nbsplit source tree")
    parser.add_argument("--command", choices=("plan", "convert"), default="plan")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONHASHSEED"] = "0"
    trees = {"this tree": env}
    if args.before is not None:
        trees["before"] = {**env, "PYTHONPATH": str(args.before.resolve())}
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        floor = tmp / "floor.py"
        floor.write_text(FLOOR)
        for n in (int(c) for c in args.cells.split(",")):
            path = tmp / f"bench_{n}.ipynb"
            nbformat.write(make_notebook(n), path)
            floor_ir, _ = count([sys.executable, str(floor), str(path)], env, tmp / "floor.cg")
            row: dict[str, object] = {"cells": n, "floor": floor_ir}
            outputs = {}
            for name, tree_env in trees.items():
                cmd = [sys.executable, "-m", "nbsplit", args.command, str(path)]
                cmd += ["--format", "json"] if args.command == "plan" else ["--out", str(tmp / "out"), "--force"]
                row[name], outputs[name] = count(cmd, tree_env, tmp / "nbsplit.cg")
            if args.command == "plan" and len(outputs) == 2 and len(set(outputs.values())) != 1:
                row["note"] = "the two trees printed different plans"
            rows.append(row)
            print(_line(row, trees), flush=True)


def _line(row: dict[str, object], trees: dict[str, object]) -> str:
    floor = int(row["floor"])  # type: ignore[call-overload]
    parts = [f"{row['cells']:>7,} cells: floor {floor / 1e9:.3f}e9"]
    for name in trees:
        ir = int(row[name])  # type: ignore[call-overload]
        parts.append(f"{name} {ir / 1e9:.3f}e9 ({ir / floor:.2f}x the floor)")
    if "before" in trees:
        parts.append(f"this tree / before {int(row['this tree']) / int(row['before']):.4f}")  # type: ignore[call-overload]
    if "note" in row:
        parts.append(str(row["note"]))
    return "; ".join(parts)


if __name__ == "__main__":
    main()
