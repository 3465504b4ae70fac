"""Every notebook in the repository snapshots through ``plan`` and rendering: crashes, hangs, refusals.

    python benchmarks/sweep.py [--jobs 2] [--limit N] [--out results.jsonl]

The labelled corpus is a few hundred notebooks; the repository snapshots it comes from
(``$NBSPLIT_MIRROR``, default ``/work/.mirror/<owner>+<name>/repo``, bare git folders) hold
thousands more that nobody here wrote: every ``.ipynb``, every Databricks source export and every
percent script (``# %%``) at each snapshot's HEAD, up to 3 MB. Each file goes through
``plan_notebook`` and ``render_files`` (the whole of ``convert`` except writing) in worker
processes, 60 CPU seconds at most each (CPU, not wall time: on a busy machine a file waits for a
core, it does not hang). The table counts what happened; every refusal message is grouped, so
a refusal of a file Jupyter would open (a schema nit, a kernel name) stands out from the legitimate
ones (no stage code, not a notebook, another language). A crash or a hang is always a bug.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

_MAX_BYTES = 3_000_000
_TIMEOUT = 60


def _files(mirror: Path, folder: Path, limit: int | None) -> list[tuple[Path, str]]:
    """Write each candidate blob to ``folder``; returns (copy, 'owner+name:path')."""
    out: list[tuple[Path, str]] = []
    for repo in sorted(p for p in mirror.iterdir() if (p / "repo").is_dir()):
        git = ["git", "--git-dir", str(repo / "repo")]
        listing = subprocess.run([*git, "ls-tree", "-r", "-l", "HEAD"], capture_output=True, text=True).stdout
        for line in listing.splitlines():
            meta, _, path = line.partition("\t")
            parts = meta.split()
            if len(parts) < 4 or parts[1] != "blob" or not parts[3].isdigit() or int(parts[3]) > _MAX_BYTES:
                continue
            if not path.endswith((".ipynb", ".py")):
                continue
            data = subprocess.run([*git, "cat-file", "blob", parts[2]], capture_output=True).stdout
            if path.endswith(".py") and not (data.startswith(b"# Databricks notebook source")
                                             or data.startswith(b"# %%") or b"\n# %%" in data[:5000]):
                continue
            name = f"{repo.name}:{path}"
            copy = folder / (hashlib.sha1(name.encode()).hexdigest()[:16] + Path(path).suffix)
            copy.write_bytes(data)
            out.append((copy, name))
            if limit is not None and len(out) >= limit:
                return out
    return out


_WORKER = r"""
import json, signal, sys, time, traceback
from nbsplit.api import plan_notebook
from nbsplit.config import Config
from nbsplit.convert import render_files
from nbsplit.errors import NbsplitError

def alarm(*_):
    raise TimeoutError
# CPU seconds, not wall seconds: on a shared machine a file waits for a core, it does not hang
signal.signal(signal.SIGPROF, alarm)
for f in sys.argv[2:]:
    t = time.process_time()
    rec = {"file": f}
    signal.setitimer(signal.ITIMER_PROF, int(sys.argv[1]))
    try:
        plan = plan_notebook(f, Config())
        render_files(plan, "stages")
        rec.update(status="ok", cells=len(plan.notebook.cells))
    except NbsplitError as e:
        rec.update(status="refused", message=str(e).split(": ", 1)[-1][:200])
    except TimeoutError:
        rec.update(status="timeout")
    except BaseException:
        rec.update(status="crash", message=traceback.format_exc()[-800:])
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
    rec["seconds"] = round(time.process_time() - t, 3)
    print(json.dumps(rec), flush=True)
"""


def _group(message: str) -> str:
    """A refusal message without its variable parts (cell numbers, names, positions)."""
    text = re.sub(r"cells/\d+", "cells/N", message)
    text = re.sub(r"line \d+ column \d+", "line L column C", text)
    return re.sub(r"'[^']*'", "'...'", text)[:90]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, help="at most this many files")
    ap.add_argument("--out", type=Path, help="write one JSON line per file here")
    ns = ap.parse_args(argv)
    mirror = Path(os.environ.get("NBSPLIT_MIRROR", "/work/.mirror"))
    if not mirror.is_dir():
        print(f"no repository snapshots at {mirror} (set NBSPLIT_MIRROR)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        files = _files(mirror, Path(tmp), ns.limit)
        names = {str(copy): name for copy, name in files}
        chunks = [[str(c) for c, _ in files[k::ns.jobs]] for k in range(ns.jobs)]
        procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(_TIMEOUT), *chunk], cwd=tmp,
                                  stdout=subprocess.PIPE, text=True) for chunk in chunks if chunk]
        records = []
        for proc in procs:
            out, _ = proc.communicate()
            records += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
            if proc.returncode:
                records.append({"file": "?", "status": "worker died", "message": f"exit {proc.returncode}"})
    for rec in records:
        rec["file"] = names.get(rec["file"], rec["file"])
    if ns.out:
        ns.out.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    status = collections.Counter(r["status"] for r in records)
    ok = sorted(r["seconds"] for r in records if r["status"] == "ok")
    repos = {r["file"].split(":", 1)[0] for r in records}
    print(f"{len(records)} files from {len(repos)} repository snapshots; cells planned: "
          f"{sum(r.get('cells', 0) for r in records):,}")
    print("\n| status | files |\n|---|---:|")
    for key in ("ok", "refused", "crash", "timeout", "worker died"):
        print(f"| {key} | {status.get(key, 0)} |")
    if ok:
        print(f"\nCPU seconds per file (plan + render, in process): median {ok[len(ok) // 2]:.2f}, "
              f"p99 {ok[int(len(ok) * 0.99)]:.2f}, max {ok[-1]:.2f}")
    groups = collections.Counter(_group(r.get("message", "")) for r in records if r["status"] == "refused")
    if groups:
        print("\n| refusal | files |\n|---|---:|")
        for text, n in groups.most_common(15):
            print(f"| {text} | {n} |")
    for r in records:
        if r["status"] in ("crash", "timeout", "worker died"):
            print(f"\n{r['status']}: {r['file']}\n{r.get('message', '')}")
    return 1 if status.get("crash") or status.get("timeout") or status.get("worker died") else 0


if __name__ == "__main__":
    sys.exit(main())
