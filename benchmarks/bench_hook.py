"""What a commit waits for: ``nbsplit check`` as pre-commit runs it, one whole process.

    python benchmarks/bench_hook.py [--rounds 15] [--before DIR] [--notebook PATH ...]

Times, as fresh processes in interleaved rounds (the machine is shared: each round runs every
command once, so load hits all of them alike), the CPU time (user + system, from the child's
rusage) and the wall time of:

- ``python -c pass``: the interpreter with this environment's site hooks, the floor of any hook;
- ``python -m nbsplit check`` on one sample notebook (``churn_pandas.ipynb``), and on the five
  sample ``.ipynb`` notebooks in one process (pre-commit hands a commit's files to one process);
- ``check`` on each ``--notebook PATH`` alone (e.g. an older v4.0-v4.3 notebook from the
  corpus: those took nbformat's validation path until branch speed8);
- the same with ``--before DIR`` (another nbsplit source tree on PYTHONPATH, e.g. a
  ``git archive`` of the base commit).

Every process runs with a bytecode cache (``PYTHONPYCACHEPREFIX`` in a temporary folder,
warmed by one untimed run of each command), as an installed package has. Prints best and median
milliseconds per command; read the best CPU column, the steadiest on a loaded machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_notebooks"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--before", type=Path, default=None)
    parser.add_argument("--notebook", type=Path, action="append", default=[],
                        help="also time check on this notebook alone (repeatable)")
    args = parser.parse_args()
    one = [str(SAMPLES / "churn_pandas.ipynb")]
    five = [str(p) for p in sorted(SAMPLES.glob("*.ipynb"))][:5]
    py = sys.executable
    trees: list[tuple[str, str | None]] = [("after", None)]
    if args.before is not None:
        trees.insert(0, ("before", str(args.before.resolve())))
    commands: list[tuple[str, list[str], str | None]] = [("python -c pass", [py, "-c", "pass"], None)]
    for name, tree in trees:
        commands.append((f"check, 1 sample ({name})", [py, "-m", "nbsplit", "check", *one], tree))
        commands.append((f"check, 5 samples in one process ({name})", [py, "-m", "nbsplit", "check", *five], tree))
        for extra in args.notebook:
            commands.append((f"check, {extra.name} ({name})", [py, "-m", "nbsplit", "check", str(extra.resolve())], tree))
    with tempfile.TemporaryDirectory() as tmp:
        base = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
        base["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")

        def run(cmd: list[str], tree: str | None) -> tuple[float, float]:
            env = dict(base, **({"PYTHONPATH": tree} if tree else {}))
            cpu, start = _cpu(), time.perf_counter()
            # never the repository as cwd: `python -m` puts the cwd first on sys.path
            subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, check=False)
            return _cpu() - cpu, time.perf_counter() - start

        for _, cmd, tree in commands:  # warm: bytecode and nbsplit's caches beside it
            run(cmd, tree)
        cpu: dict[str, list[float]] = {name: [] for name, _, _ in commands}
        wall: dict[str, list[float]] = {name: [] for name, _, _ in commands}
        for _ in range(args.rounds):
            for name, cmd, tree in commands:
                c, w = run(cmd, tree)
                cpu[name].append(c)
                wall[name].append(w)
    width = max(len(name) for name in cpu)
    print(f"{'command':<{width}}  cpu best  cpu median  wall best  wall median   (ms, {args.rounds} rounds)")
    for name in cpu:
        print(f"{name:<{width}}  {min(cpu[name]) * 1000:8.0f}  {statistics.median(cpu[name]) * 1000:10.0f}"
              f"  {min(wall[name]) * 1000:9.0f}  {statistics.median(wall[name]) * 1000:11.0f}")


if __name__ == "__main__":
    main()
