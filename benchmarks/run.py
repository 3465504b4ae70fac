"""nbsplit against the floor and the peer, one command:

    python benchmarks/run.py [--sizes 100,1000,10000] [--peer-max 1000] [--repeat 3] [--no-peer]

For generated notebooks of each size (``bench_plan.make_notebook``: the cell shapes real notebooks
have) it times, each as a whole fresh process (what a user or a hook waits for, imports
included), best of ``--repeat``:

- floor: Python that imports nbformat, reads the notebook and parses every code cell with ``ast``;
- ``nbsplit plan NB --format json``, ``nbsplit convert NB --out DIR --force``, ``nbsplit check NB``;
- ``soorgeon refactor NB`` (the peer), installed from the package index into its own venv
  ``benchmarks/.venv-soorgeon`` (created when missing; skipped with a note if that fails), up
  to ``--peer-max`` cells, once (it takes minutes), on ``bench_plan.make_runnable_notebook``
  (same cell pools, every name bound before it is read: soorgeon refuses anything else), with
  ``nbsplit convert`` timed on that same notebook for the ratio.

``--before DIR`` also times plan/convert/check of another nbsplit source tree (``DIR`` on
PYTHONPATH, e.g. a ``git archive`` of the base commit), for before/after columns. Besides wall
time, each command's CPU time (user + system, from the child's rusage) is kept: on a shared,
loaded machine it is the steadier number.

``check`` is also timed on each sample notebook (``sample_notebooks/``), the typical hook case.
Every process runs with a bytecode cache (``PYTHONPYCACHEPREFIX`` in the run's temporary folder,
warmed by one untimed run of each command): an installed nbsplit has its modules compiled, as
nbformat and libcst have here, but a machine with ``PYTHONDONTWRITEBYTECODE`` set (this one) made
every nbsplit process compile its ~60 modules from source (~0.2 s CPU) while the floor never did.
``--no-bytecode-cache`` measures that way anyway.

Prints a table and writes it at the top of ``benchmarks/RESULTS.md`` (the ``## `` notes below it stay).
Machines are shared and noisy: read ratios.
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_plan import make_notebook, make_runnable_notebook  # noqa: E402  (a sibling script)

PEER_VENV = HERE / ".venv-soorgeon"
PEER_PACKAGE = "soorgeon"

FLOOR = """\
import ast, sys
import nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
for cell in nb.cells:
    if cell.cell_type == "code":
        try:
            ast.parse(cell.source)
        except SyntaxError:
            pass
"""


LAST_ERROR: dict[str, str] = {}
LAST_CPU: list[float] = [0.0]  # the best CPU seconds (user + system) of the last timed() call
BYTECODE_ENV: dict[str, str] = {}  # PYTHONPYCACHEPREFIX when the bytecode cache is on (see the doc)


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], repeat: int, cwd: Path | None = None,
          env: dict[str, str] | None = None) -> tuple[float, int]:
    """Best wall time of ``repeat`` runs and the last exit code (its stderr tail kept when not 0);
    the best CPU time goes to ``LAST_CPU``."""
    best, code, best_cpu = float("inf"), 0, float("inf")
    for _ in range(repeat):
        cpu = _child_cpu()
        start = time.perf_counter()
        # never the repository as cwd: `python -m nbsplit` puts the cwd first on sys.path, which
        # would shadow the tree given with --before (and the installed one)
        done = subprocess.run(cmd, cwd=cwd or tempfile.gettempdir(), capture_output=True, check=False,
                              env=child_env(env))
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, _child_cpu() - cpu)
        code = done.returncode
        if code not in (0, 1) or (code and "soorgeon" in cmd[0]):
            tail = done.stderr.decode(errors="replace").strip().splitlines()
            LAST_ERROR[Path(cmd[0]).name] = tail[-1][:200] if tail else ""
    LAST_CPU[0] = best_cpu
    return best, code


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **BYTECODE_ENV, **(extra or {})}
    if BYTECODE_ENV:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def peer_python() -> tuple[Path | None, str]:
    """The peer's venv interpreter, creating the venv on first use; (None, why) if impossible."""
    bindir = "Scripts" if os.name == "nt" else "bin"
    exe = PEER_VENV / bindir / "soorgeon"
    if exe.exists():
        return exe, ""
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True,
                       capture_output=True)
        subprocess.run([str(PEER_VENV / bindir / "python"), "-m", "pip", "install", "-q",
                        PEER_PACKAGE], check=True, capture_output=True, timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return None, f"could not install {PEER_PACKAGE}: {exc} {detail.decode()[-300:]}".strip()
    return (exe, "") if exe.exists() else (None, f"{PEER_PACKAGE} installed no `soorgeon` script")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--peer-max", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--before", type=Path, default=None,
                        help="another nbsplit source tree to time beside this one")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="keep the environment's PYTHONDONTWRITEBYTECODE (compile nbsplit every run)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    py = sys.executable
    nbsplit = [py, "-m", "nbsplit"]

    peer, peer_note = (None, "skipped (--no-peer)") if args.no_peer else peer_python()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        floor_script = tmp / "floor.py"
        floor_script.write_text(FLOOR)
        if not args.no_bytecode_cache:
            BYTECODE_ENV["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
            warm = tmp / "warm.ipynb"
            nbformat.write(make_notebook(40), warm)
            trees = [None] + ([{"PYTHONPATH": str(args.before.resolve())}] if args.before is not None else [])
            for extra in trees:  # one untimed run of each command writes the bytecode it imports
                for cmd in ([py, str(floor_script), str(warm)], [*nbsplit, "plan", str(warm), "--format", "json"],
                            [*nbsplit, "convert", str(warm), "--out", str(tmp / "warm_out"), "--force"],
                            [*nbsplit, "check", str(warm)]):
                    done = subprocess.run(cmd, cwd=tempfile.gettempdir(), capture_output=True,
                                          check=False, env=child_env(extra))
                    # a broken install exits 1 like a check with findings: times of a command
                    # that did not run are worthless, so plan and convert must succeed untimed
                    if done.returncode not in ((0, 1) if "check" in cmd else (0,)):
                        tail = done.stderr.decode(errors="replace").strip().splitlines()
                        sys.exit(f"benchmarks/run.py: `{' '.join(cmd[1:3])}` exited "
                                 f"{done.returncode} on a generated notebook: "
                                 f"{tail[-1] if tail else 'no message'}")
        for n in sizes:
            path = tmp / f"nb{n}.ipynb"
            nbformat.write(make_notebook(n), path)
            row: dict[str, object] = {"cells": n}
            row["floor"], _ = timed([py, str(floor_script), str(path)], args.repeat)
            row["floor_cpu"] = LAST_CPU[0]
            commands = {
                "plan": [*nbsplit, "plan", str(path), "--format", "json"],
                "convert": [*nbsplit, "convert", str(path), "--out", str(tmp / f"out{n}"), "--force"],
                "check": [*nbsplit, "check", str(path)],
            }
            for key, cmd in commands.items():
                row[key], row[key + "_rc"] = timed(cmd, args.repeat)
                row[key + "_cpu"] = LAST_CPU[0]
                if args.before is not None:
                    before_env = {"PYTHONPATH": str(args.before.resolve())}
                    row[key + "_before"], _ = timed(cmd, args.repeat, env=before_env)
                    row[key + "_before_cpu"] = LAST_CPU[0]
            if peer is not None and n <= args.peer_max:
                work = tmp / f"peer{n}"
                work.mkdir()
                nbformat.write(make_runnable_notebook(n), work / "nb.ipynb")
                row["peer_convert"], _ = timed([*nbsplit, "convert", str(work / "nb.ipynb"), "--out",
                                                str(tmp / f"peerout{n}"), "--force"], args.repeat)
                row["peer"], row["peer_rc"] = timed([str(peer), "refactor", "nb.ipynb"], 1,
                                                    cwd=work)
            rows.append(row)
            print(f"{n} cells done", file=sys.stderr, flush=True)
        samples = sorted((ROOT / "sample_notebooks").glob("*.ipynb"))
        sample_checks, sample_cpu = [], []
        for p in samples:
            sample_checks.append(timed([*nbsplit, "check", str(p)], args.repeat)[0])
            sample_cpu.append(LAST_CPU[0])
        # The hook's case: pre-commit hands a commit's notebooks to one process.
        together = timed([*nbsplit, "check", *map(str, samples)], args.repeat)[0] if samples else 0.0
        together_cpu = LAST_CPU[0] if samples else 0.0

    lines = render(rows, sample_checks, len(samples), peer is not None, peer_note, together,
                   args.before is not None, sample_cpu, together_cpu, not args.no_bytecode_cache)
    print("\n".join(lines))
    # the table is replaced; the notes sections under it (``## ...``, written by people after
    # earlier runs) are what explains the numbers, so they are kept
    kept = ""
    if args.results.exists():
        previous = args.results.read_text()
        at = previous.find("\n## ")
        kept = previous[at:] if at >= 0 else ""
    args.results.write_text("\n".join(lines) + "\n" + kept)


def render(rows: list[dict[str, object]], sample_checks: list[float], n_samples: int,
           has_peer: bool, peer_note: str, together: float = 0.0, before: bool = False,
           sample_cpu: list[float] | None = None, together_cpu: float = 0.0,
           bytecode: bool = True) -> list[str]:
    def sec(value: object) -> str:
        return f"{value:.2f}" if isinstance(value, float) else "-"

    def ratio(a: object, b: object) -> str:
        return f"{a / b:.2f}x" if isinstance(a, float) and isinstance(b, float) else "-"

    out = [
        "# nbsplit speed: floor, plan, convert, check and the peer",
        "",
        f"`python benchmarks/run.py` on {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs; whole processes, seconds, best of "
        "several runs (the peer: one run). Generated notebooks from `benchmarks/bench_plan.py`. "
        + ("Bytecode cached (as installed)." if bytecode else "No bytecode cache (`--no-bytecode-cache`)."),
        "",
        "| cells | floor (nbformat + ast) | plan | convert | check | soorgeon refactor "
        "| plan / floor | convert / plan | soorgeon / convert |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        peer = r.get("peer")
        peer_cell = sec(peer) + (f" (exit {r['peer_rc']})" if peer is not None and r.get("peer_rc") else "")
        out.append(f"| {r['cells']:,} | {sec(r['floor'])} | {sec(r['plan'])} | {sec(r['convert'])} "
                   f"| {sec(r['check'])} | {peer_cell} | {ratio(r['plan'], r['floor'])} "
                   f"| {ratio(r['convert'], r['plan'])} | {ratio(peer, r.get('peer_convert'))} |")
    out += ["", "CPU seconds (user + system of the process, best run): steadier than wall time on a "
            "shared machine." + (" `before`: the tree given with `--before`." if before else ""), "",
            "| cells | floor | plan | convert | check | plan / floor | convert / plan"
            + (" | plan before | convert before | check before" if before else "") + " |",
            "|---:|---:|---:|---:|---:|---:|---:" + ("|---:|---:|---:" if before else "") + "|"]
    for r in rows:
        extra = (f" | {sec(r.get('plan_before_cpu'))} | {sec(r.get('convert_before_cpu'))} "
                 f"| {sec(r.get('check_before_cpu'))}") if before else ""
        out.append(f"| {r['cells']:,} | {sec(r.get('floor_cpu'))} | {sec(r.get('plan_cpu'))} "
                   f"| {sec(r.get('convert_cpu'))} | {sec(r.get('check_cpu'))} "
                   f"| {ratio(r.get('plan_cpu'), r.get('floor_cpu'))} "
                   f"| {ratio(r.get('convert_cpu'), r.get('plan_cpu'))}{extra} |")
    if before:
        out += ["", "Wall seconds of the `--before` tree: "
                + "; ".join(f"{r['cells']:,} cells: plan {sec(r.get('plan_before'))}, convert "
                            f"{sec(r.get('convert_before'))}, check {sec(r.get('check_before'))}"
                            for r in rows) + "."]
    if any("peer_convert" in r for r in rows):
        out += ["", "soorgeon runs on `make_runnable_notebook` (same pools, names bound before use); "
                "its ratio is to `nbsplit convert` on that same notebook: "
                + "; ".join(f"{r['cells']:,} cells: convert {sec(r.get('peer_convert'))}"
                            for r in rows if "peer_convert" in r) + "."]
    bad = [f"{k} exited {r[k + '_rc']} at {r['cells']} cells" for r in rows
           for k in ("plan", "convert", "check") if r.get(k + "_rc") not in (0, 1)]
    out += ["", f"`nbsplit check` on each of the {n_samples} sample notebooks (the pre-commit "
            f"case): median {statistics.median(sample_checks) * 1000:.0f} ms, max "
            f"{max(sample_checks) * 1000:.0f} ms per notebook (whole process); all {n_samples} in one "
            f"process (how pre-commit calls the hook): {together * 1000:.0f} ms, "
            f"{together * 1000 / max(n_samples, 1):.0f} ms per notebook amortised."
            if sample_checks else "no sample notebooks found"]
    if sample_cpu:
        out[-1] += (f" CPU: median {statistics.median(sample_cpu) * 1000:.0f} ms per notebook, all "
                    f"{n_samples} in one process {together_cpu * 1000:.0f} ms "
                    f"({together_cpu * 1000 / max(n_samples, 1):.0f} ms per notebook).")
    if not has_peer:
        out += ["", f"soorgeon: {peer_note}"]
    if "soorgeon" in LAST_ERROR:
        out += ["", "soorgeon's last error (a non-zero exit: the time is "
                f"until it stopped): `{LAST_ERROR['soorgeon']}`"]
    if bad:
        out += ["", "Failures: " + "; ".join(bad)]
    out += ["", "Targets (issue 12): plan within 3x of the floor at 1,000 and 10,000 cells; "
            "convert within 1.5x of plan; convert >= 200x faster than soorgeon at 1,000 cells; "
            "check under 50 ms per typical notebook."]
    return out


if __name__ == "__main__":
    main()
