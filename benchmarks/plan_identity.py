"""Snapshot what nbsplit decides, to prove a speed change changed no decision.

    python benchmarks/plan_identity.py snapshot OUT.json [--quick]
    python benchmarks/plan_identity.py cells OUT.json
    python benchmarks/plan_identity.py compare BEFORE.json AFTER.json [--rename]

``snapshot`` runs ``nbsplit plan --format json``, ``plan --strict --format json``, ``check`` and
``convert`` (in this process, through the CLI) on every notebook the project keeps (samples, the
test case folders, the bad-input corpus, the classifier cases, generated ML notebooks, the
labelled corpus when ``benchmarks/corpus/notebooks`` is materialized) and on the benchmark's
generated notebooks (100, 1,000 and 10,000 cells; ``--quick`` stops at 1,000), and writes each
command's exit code and output to ``OUT.json`` (for ``convert``: its output, then the sha256 of
every file it wrote; generated inputs get fixed cell ids, as their sha256 is in the manifest). Run it under the tree to compare
(``PYTHONPATH=DIR``, or the venv that imports it). ``compare`` prints the first differing lines
per input and exits 1 when anything differs. ``--rename`` maps the pseudo-names before the
reserved prefix (``__rng_state__``, ``__view__x``) in BEFORE to today's, for comparing across
that rename.

``cells`` is the classifier's proof of identity: for the samples, every notebook of the test
case folders, the classifier cases and all corpus notebooks (``benchmarks/corpus``, materialised),
it writes every cell's classification (stage, confidence, origin, reasons, the fitted layer's
scores) and the plan's final stage, one line a cell, in the same format ``compare`` reads.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))
from bench_plan import make_notebook, make_runnable_notebook  # noqa: E402  (sibling script)

SUFFIXES = (".ipynb", ".py", ".txt", ".sql", ".r", ".scala", ".json")


def _inputs(folder: Path, quick: bool) -> list[Path]:
    """Every input, copied or generated into ``folder`` (relative names keep outputs comparable)."""
    from nbfactory import write_ml_notebook
    from test_classify_cases import load_case

    found: list[Path] = []

    def copy(src: Path, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        found.append(dest.relative_to(folder))

    for src in sorted((ROOT / "sample_notebooks").iterdir()):
        if src.suffix in (".ipynb", ".py") and src.name != "execute_samples.py":
            copy(src, folder / "samples" / src.name)
    for case_dir in ("read_cases", "check_cases", "bad_inputs", "faithful_cases", "convert_cases"):
        for src in sorted((ROOT / "tests" / case_dir).rglob("*")):
            if src.is_file() and src.suffix in SUFFIXES and "data" not in src.parts and src.name not in (
                    "cases.json", "build_cases.py", "support.py"):
                copy(src, folder / case_dir / src.relative_to(ROOT / "tests" / case_dir))
    for src in sorted((ROOT / "tests" / "classify_cases").glob("*.txt")):
        nb, _ = load_case(src)
        out = nbformat.v4.new_notebook()
        for cell in nb.cells:
            make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
                    "raw": nbformat.v4.new_raw_cell}[cell.kind]
            new = make(cell.source)
            if cell.tags:
                new.metadata["tags"] = list(cell.tags)
            out.cells.append(new)
        dest = folder / "classify_cases" / (src.stem + ".ipynb")
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(out, dest)
        found.append(dest.relative_to(folder))
    corpus = ROOT / "benchmarks" / "corpus" / "notebooks"
    if corpus.is_dir():
        for src in sorted(corpus.iterdir()):
            if src.is_file() and src.suffix in SUFFIXES:
                copy(src, folder / "corpus" / src.name)
    (folder / "generated").mkdir()
    for seed in range(40):
        found.append(write_ml_notebook(folder / "generated" / f"ml_{seed:02d}.ipynb", seed).relative_to(folder))
    for n in (100, 1000) if quick else (100, 1000, 10000):
        for make, stem in ((make_notebook, "bench"), (make_runnable_notebook, "runnable")):
            dest = folder / "generated" / f"{stem}_{n}.ipynb"
            nbformat.write(make(n), dest)
            found.append(dest.relative_to(folder))
    for rel in found:  # nbformat gives new cells random ids: the same ids in every snapshot
        if rel.parts[0] in ("classify_cases", "generated"):
            nb = nbformat.read(folder / rel, as_version=4)
            for i, cell in enumerate(nb.cells):
                cell.id = f"cell-{i}"
            nbformat.write(nb, folder / rel)
    return found


def _invoke(args: list[str]) -> tuple[int, str]:
    from nbsplit.cli import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.main(args, prog_name="nbsplit", standalone_mode=False)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:  # noqa: BLE001  (recorded: a crash is a difference too)
            code = -1
            err.write(f"{type(exc).__name__}: {exc}\n")
    return code, out.getvalue() + err.getvalue()


def _tree_digest(folder: Path) -> str:
    """``path sha256`` of every file under ``folder``, sorted (the bytes convert wrote)."""
    import hashlib

    if not folder.is_dir():
        return ""
    return "".join(f"{p.relative_to(folder)} {hashlib.sha256(p.read_bytes()).hexdigest()}\n"
                   for p in sorted(folder.rglob("*")) if p.is_file())


def snapshot(out: Path, quick: bool) -> None:
    result: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "pyproject.toml").write_text("[project]\nname = 'identity'\n", encoding="utf-8")
        inputs = _inputs(folder, quick)
        old = Path.cwd()
        os.chdir(folder)
        try:
            for rel in inputs:
                entry: dict[str, object] = {}
                for label, args in (("plan", ["plan", str(rel), "--format", "json"]),
                                    ("plan-strict", ["plan", str(rel), "--strict", "--format", "json"]),
                                    ("check", ["check", str(rel)])):
                    code, text = _invoke(args)
                    entry[label] = [code, text]
                out_dir = Path("_identity_out")  # relative: outputs that name it stay comparable
                code, text = _invoke(["convert", str(rel), "--out", str(out_dir), "--force"])
                entry["convert"] = [code, text + _tree_digest(out_dir)]
                shutil.rmtree(out_dir, ignore_errors=True)
                result[str(rel)] = entry
                print(f"{rel}: {entry['plan'][0]}", file=sys.stderr)  # type: ignore[index]
        finally:
            os.chdir(old)
    out.write_text(json.dumps(result, indent=1, sort_keys=True), encoding="utf-8")
    print(f"{len(result)} inputs -> {out}", file=sys.stderr)


_OLD_NAMES = ((re.compile(r"__rng_state__"), "_nbsplit_rng"), (re.compile(r"__view__"), "_nbsplit_view__"))


def compare(before: Path, after: Path, rename: bool) -> int:
    a = json.loads(before.read_text(encoding="utf-8"))
    b = json.loads(after.read_text(encoding="utf-8"))
    differ = 0
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            print(f"{key}: only in {'after' if key not in a else 'before'}")
            differ += 1
            continue
        for label in sorted(set(a[key]) | set(b[key])):
            old, new = a[key].get(label), b[key].get(label)
            if rename and old is not None:
                text = old[1]
                for pattern, repl in _OLD_NAMES:
                    text = pattern.sub(repl, text)
                old = [old[0], text]
            if old != new:
                differ += 1
                print(f"== {key} [{label}]: exit {old and old[0]} -> {new and new[0]}")
                diff = difflib.unified_diff((old or [0, ""])[1].splitlines(), (new or [0, ""])[1].splitlines(),
                                            "before", "after", lineterm="", n=1)
                for i, line in enumerate(diff):
                    if i >= 40:
                        print("   ...")
                        break
                    print("   " + line)
    total = sum(len(v) for v in b.values())
    print(f"{differ} of {total} outputs differ over {len(b)} inputs")
    return 1 if differ else 0


def _cell_inputs() -> list[tuple[str, "object"]]:
    """(key, Notebook) for every notebook ``cells`` classifies."""
    from test_classify_cases import load_case

    from nbsplit.errors import NbsplitError
    from nbsplit.read import read_notebook

    out: list[tuple[str, object]] = []

    def read(src: Path, key: str) -> None:
        try:
            out.append((key, read_notebook(src)))
        except NbsplitError:
            pass  # bad-input cases have no classification to compare

    for src in sorted((ROOT / "sample_notebooks").iterdir()):
        if src.suffix in (".ipynb", ".py") and src.name != "execute_samples.py":
            read(src, f"samples/{src.name}")
    for case_dir in ("read_cases", "check_cases", "faithful_cases", "convert_cases"):
        for src in sorted((ROOT / "tests" / case_dir).rglob("*")):
            if src.is_file() and src.suffix in SUFFIXES and "data" not in src.parts and src.name not in (
                    "cases.json", "build_cases.py", "support.py"):
                read(src, f"{case_dir}/{src.relative_to(ROOT / 'tests' / case_dir)}")
    for src in sorted((ROOT / "tests" / "classify_cases").glob("*.txt")):
        out.append((f"classify_cases/{src.name}", load_case(src)[0]))
    sys.path.insert(0, str(HERE / "corpus"))
    import corpus

    for e in corpus.load_manifest():
        read(corpus.materialize(e), f"corpus/{e.id}")
    return out


def cells(out: Path) -> None:
    from nbsplit.analyze import analyze_notebook
    from nbsplit.classify import classify_notebook
    from nbsplit.config import Config
    from nbsplit.plan import build_plan

    result: dict[str, dict[str, object]] = {}
    for key, nb in _cell_inputs():
        facts = list(analyze_notebook(nb))  # type: ignore[arg-type]
        classes, diags = classify_notebook(nb, facts, Config())  # type: ignore[arg-type]
        plan = build_plan(nb, facts, classes, diags)  # type: ignore[arg-type]
        final = {c.index: c.stage.value for c in plan.classifications}
        lines = [f"{c.index} {c.stage.value} {c.confidence:.2f} {c.origin} -> {final[c.index]} | "
                 f"{' ; '.join(c.reasons)} | {c.scores}" for c in classes]
        lines += [f"diag {d.cell} {d.code} {d.message}" for d in diags]
        result[key] = {"cells": [0, "\n".join(lines)]}
    out.write_text(json.dumps(result, indent=1, sort_keys=True), encoding="utf-8")
    print(f"{len(result)} notebooks, {sum(r['cells'][1].count(chr(10)) + 1 for r in result.values())} "
          f"lines -> {out}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot")
    snap.add_argument("out", type=Path)
    snap.add_argument("--quick", action="store_true")
    sub.add_parser("cells").add_argument("out", type=Path)
    comp = sub.add_parser("compare")
    comp.add_argument("before", type=Path)
    comp.add_argument("after", type=Path)
    comp.add_argument("--rename", action="store_true")
    args = parser.parse_args()
    if args.command == "snapshot":
        snapshot(args.out, args.quick)
    elif args.command == "cells":
        cells(args.out)
    else:
        sys.exit(compare(args.before, args.after, args.rename))


if __name__ == "__main__":
    main()
