"""Which files each code cell writes, and which cells name a file an earlier cell wrote.

A notebook often hands a value to a later cell through a file instead of a variable::

    df.to_csv("Absenteeism_preprocessed.csv", index=False)      # cell 109 (featurization)
    data = pd.read_csv("Absenteeism_preprocessed.csv")           # cell 111 (data-prep?)

The monolith runs them in that order. A split that puts the reader in an earlier stage reads
whatever file was there before the job ran (a stale copy the repository commits, or nothing), so
the plan treats a later cell that names a written path like a cell that reads a value: it runs in
the writer's stage or a later one, and its stage depends on the writer's (``dataflow``).

A cell writes a path when a call writes to it: ``to_csv``/``to_parquet``/... (pandas, polars),
``savefig``, ``save``/``save_model``/``dump`` (NumPy, Keras, joblib, torch), Spark's
``df.write...csv(path)``, ``open(path, "w")``, ``Path(path).write_text``, ``shutil.copy`` and
``urlretrieve`` targets. The path is the call's argument as a literal or built from the string
constants assigned above (``path_exprs``: ``OUT + "x.csv"``, ``os.path.join(DIR, "x.csv")``).
A call of one of the notebook's own functions writes what its body writes, where it is called
(``_written_by_calls``). A later cell names it when one of its strings, constants or built paths is
that path. Which value a file holds is not followed; a path built from a loop variable is not
known, and then no order is imposed (as before).
"""

from __future__ import annotations

import ast
import posixpath
import shlex
from dataclasses import dataclass, field
from typing import Iterator, Mapping

from nbsplit.memo import per_notebook
from nbsplit.model import Notebook
from nbsplit.path_exprs import cell_tree, dotted_name, statements_with_constants, string_value
from nbsplit.paths import fits_a_path

__all__ = ["FileUses", "file_uses", "imported_files", "writefile_target", "written_path"]

# methods whose positional string arguments (and path keywords) are files they write
_WRITE_METHODS = frozenset({
    "to_csv", "to_parquet", "to_excel", "to_json", "to_pickle", "to_feather", "to_hdf", "to_stata",
    "to_orc", "to_xml", "to_netcdf", "to_file", "write_csv", "write_parquet", "write_json",
    "write_excel", "write_ipc", "savefig", "save", "save_model", "save_weights", "save_pretrained",
    "savetxt", "savez", "savez_compressed", "dump", "imwrite", "to_filename", "export_graphviz",
    "write_image", "write_html",
})
# Spark's DataFrameWriter: ``df.write.mode("overwrite").parquet(path)``
_SPARK_FORMATS = frozenset({"csv", "parquet", "json", "orc", "text", "save", "saveAsTextFile"})
_SPARK_WRITERS = frozenset({"write", "writeStream"})
_OPEN = frozenset({"open", "io.open", "codecs.open", "gzip.open", "bz2.open", "lzma.open"})
# calls whose last positional argument is the file they write
_LAST_IS_TARGET = frozenset({"copy", "copy2", "copyfile", "move", "rename", "replace", "urlretrieve",
                             "copytree"})
# ...but ``df["x"].replace("T", "0.01")`` and ``s.str.replace(a, b)`` replace values: only
# ``os.replace``/``os.rename`` and ``Path(p).replace``/``.rename`` move a file
_ALSO_VALUE_METHODS = frozenset({"replace", "rename"})
_PATH_KEYWORDS = frozenset({"path", "fname", "filename", "filepath", "path_or_buf", "file", "f", "fp",
                            "excel_writer", "buf", "filepath_or_buffer", "output_file", "out_file",
                            "dst", "target"})


@dataclass(frozen=True)
class FileUses:
    """``writes``: per code cell, the paths it writes (normalised). ``names``: per code cell
    after a first write, the written paths it names other than as a write target (a read, a
    copy, a logged artifact: anything but writing the file again). ``imports``: per code cell,
    the written modules (``%%writefile x.py``) its import statements load, also in ``names``:
    a cell using a name such an import binds reads the module too, wherever the import is
    copied."""

    writes: Mapping[int, frozenset[str]]
    names: Mapping[int, frozenset[str]]
    imports: Mapping[int, frozenset[str]] = field(default_factory=dict)


@per_notebook
def file_uses(notebook: Notebook) -> FileUses:
    writes: dict[int, set[str]] = {}
    named: dict[int, set[str]] = {}
    pending: list[tuple[int, ast.stmt, dict[str, str], set[int]]] = []
    # a ``%%writefile`` cell has no Python statement to walk: its file is known up front
    for cell in notebook.cells:
        target = writefile_target(cell.source) if cell.kind == "code" else None
        if target is not None:
            writes[cell.index] = {target}
    written: set[str] = {path for paths in writes.values() for path in paths}
    first = min(writes, default=None)
    # the notebook's own functions, for the files their calls write; with one, a cell without a
    # string or constant may still write (``save(model)``), so every statement is looked at
    helpers: dict[str, tuple[ast.FunctionDef | ast.AsyncFunctionDef, dict[str, str]]] = {}
    every = any(cell.kind == "code" and "def " in cell.source for cell in notebook.cells)
    for index, stmt, env in statements_with_constants(notebook, every=every):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            helpers[stmt.name] = (stmt, dict(env))
            continue
        found: list[tuple[ast.expr | None, str]] = list(_written_by(stmt, env))
        if helpers:
            found += _written_by_calls(stmt, env, helpers)
        if found:
            writes.setdefault(index, set()).update(path for _, path in found)
            written |= {path for _, path in found}
            first = index if first is None else min(first, index)
        if first is not None and index >= first:  # only from the first write on can a cell name one
            pending.append((index, stmt, dict(env), {id(node) for node, _ in found if node is not None}))
    for index, stmt, env, targets in pending:
        texts = _named_by(stmt, env, targets) & written
        if texts:
            named.setdefault(index, set()).update(texts)
    imported: dict[int, frozenset[str]] = {}
    if first is not None:
        modules = {p for p in written if p.endswith(".py")}
        for cell in notebook.cells:
            if cell.kind == "code" and cell.index > first:
                texts = _named_by_ipython_lines(cell.source, written)
                loaded = imported_files(cell.source) & modules if modules and "import" in cell.source else set()
                if loaded:
                    imported[cell.index] = frozenset(loaded)
                if texts | loaded:
                    named.setdefault(cell.index, set()).update(texts | loaded)
    return FileUses({c: frozenset(p) for c, p in writes.items()}, {c: frozenset(p) for c, p in named.items()},
                    imported)


def _written_by_calls(stmt: ast.stmt, env: Mapping[str, str],
                      helpers: dict[str, tuple[ast.FunctionDef | ast.AsyncFunctionDef, dict[str, str]]]
                      ) -> list[tuple[ast.expr | None, str]]:
    """(the call's argument naming it or None, path) for the files ``stmt``'s calls of the
    notebook's own functions write: ``def save(df, path="clean.csv"): df.to_csv(path)`` then
    ``save(df)`` writes ``clean.csv`` where it is called, not where it is defined. A path is known
    from the function's constants, its parameters' string defaults and the call's string
    arguments (passing a path to write is no read of it)."""
    out: list[tuple[ast.expr | None, str]] = []
    for node in _run_now(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            helpers.pop(node.id, None)  # ``save = other``: no longer the function above
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in helpers:
            out.extend(_written_by_call(*helpers[node.func.id], node, env))
    return out


def _written_by_call(function: ast.FunctionDef | ast.AsyncFunctionDef, defined_env: Mapping[str, str],
                     call: ast.Call, env: Mapping[str, str]) -> Iterator[tuple[ast.expr | None, str]]:
    """(the call's argument naming it or None, path) for each file ``function``'s body writes
    when ``call`` runs it."""
    spec = function.args
    positional = spec.posonlyargs + spec.args
    params = [a.arg for a in positional + spec.kwonlyargs]
    params += [a.arg for a in (spec.vararg, spec.kwarg) if a is not None]
    local = {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    scope = {k: v for k, v in defined_env.items() if k not in local and k not in params}
    given: dict[str, ast.expr] = {}
    for i, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            break
        if i < len(positional):
            given[positional[i].arg] = arg
    given.update({kw.arg: kw.value for kw in call.keywords if kw.arg is not None})
    defaults = dict(zip([a.arg for a in positional[len(positional) - len(spec.defaults):]], spec.defaults))
    defaults.update({a.arg: d for a, d in zip(spec.kwonlyargs, spec.kw_defaults) if d is not None})
    via: dict[str, ast.expr] = {}
    for name in params:
        if name in local:
            continue  # rebound in the body (``path = path + ".csv"``): not the value passed
        value = string_value(given[name], env) if name in given else (
            string_value(defaults[name], defined_env) if name in defaults else None)
        if value is not None:
            scope[name] = value
            if name in given:
                via[name] = given[name]
    for stmt in function.body:
        for node, path in _written_by(stmt, scope):
            yield (via.get(node.id) if isinstance(node, ast.Name) else None), path


def _written_by(stmt: ast.stmt, env: Mapping[str, str]) -> Iterator[tuple[ast.expr, str]]:
    """(argument, path) for every file a call of ``stmt`` writes."""
    for node in _run_now(stmt):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = dotted_name(func) or ""
        method = func.attr if isinstance(func, ast.Attribute) else name
        if name in _OPEN or method == "open" and isinstance(func, ast.Attribute) and _is_path_call(func.value):
            if _opens_for_writing(node):
                target = node.args[0] if node.args else _keyword(node, "file")
                if isinstance(func, ast.Attribute) and method == "open" and name not in _OPEN:
                    target = func.value  # ``Path(p).open("w")``
                yield from _targets(target, env)
        elif method in ("write_text", "write_bytes") and isinstance(func, ast.Attribute):
            yield from _targets(func.value, env)
        elif method in _ALSO_VALUE_METHODS and isinstance(func, ast.Attribute) and _is_path_call(func.value):
            yield from _targets(node.args[0] if node.args else _keyword(node, "target"), env)
        elif method in _LAST_IS_TARGET and len(node.args) >= 2 and (
                method not in _ALSO_VALUE_METHODS or name.startswith(("os.", "shutil."))):
            yield from _targets(node.args[-1], env)
        elif method in _SPARK_FORMATS and isinstance(func, ast.Attribute) and _spark_writer(func.value):
            yield from _targets(node.args[0] if node.args else _keyword(node, "path"), env)
        elif method in _WRITE_METHODS:
            for arg in node.args:
                yield from _targets(arg, env)
            for kw in node.keywords:
                if kw.arg in _PATH_KEYWORDS:
                    yield from _targets(kw.value, env)


def _named_by(stmt: ast.stmt, env: Mapping[str, str], targets: set[int]) -> set[str]:
    """The paths ``stmt`` names other than as the target of a write (``targets``: node ids):
    writing a file again does not read it."""
    out: set[str] = set()
    for node in _run_now(stmt, targets):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            continue  # ``path = "new.csv"`` binds the name: it does not use the old value
        if isinstance(node, (ast.Constant, ast.Name, ast.JoinedStr, ast.BinOp, ast.Call)):
            out.update(_paths(node, env))
    return out


def _run_now(stmt: ast.stmt, skip: set[int] = frozenset()) -> Iterator[ast.expr]:  # type: ignore[assignment]
    """The nodes of ``stmt`` that run when the cell runs: not the bodies of the functions,
    classes and lambdas it defines (a write there happens when they are called), nor ``skip``."""
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if id(node) in skip or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield node  # type: ignore[misc]
        stack.extend(ast.iter_child_nodes(node))


def _targets(node: ast.expr | None, env: Mapping[str, str]) -> Iterator[tuple[ast.expr, str]]:
    for path in _paths(node, env):
        yield node, path  # type: ignore[misc]


def _paths(node: ast.expr | None, env: Mapping[str, str]) -> Iterator[str]:
    if node is None:
        return
    text = string_value(node, env)
    if text is None or not text.strip() or "\n" in text or not fits_a_path(text):
        return
    norm = posixpath.normpath(text.strip())
    leaf = norm.rpartition("/")[2]
    # a file name or a folder: "x.csv", "out/model", not a separator, a column or a sentence
    if norm not in (".", "/") and ("/" in norm or "." in leaf.strip(".")) and " " not in leaf.strip() \
            and not _is_number(leaf):
        yield norm


def _is_number(text: str) -> bool:
    """``"0.01"``, ``"1e-3"``: a value, not a file name."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def written_path(text: str) -> str | None:
    """``text`` as the plan names a file (normalised: ``./a/../b.py`` -> ``b.py``), or None when
    it does not look like a file name (a column, a sentence, a number)."""
    return next(_paths(ast.Constant(text), {}), None)


def writefile_target(source: str) -> str | None:
    """The file a ``%%writefile [-a] path`` cell writes (its body: a script, a module the
    notebook imports, an app), as the masking read its first line; None for any other cell or a
    path IPython expands (``{name}``)."""
    if "%%writefile" not in source:
        return None
    from nbsplit.analyze import python_view

    masked = python_view(source).masked
    if masked is None or masked.python_body or not masked.strings or not masked.magics[0].startswith("%%writefile"):
        return None
    target = masked.strings[0].strip("'\"")
    return None if any(ch in target for ch in "{}$") else written_path(target)


def _named_by_ipython_lines(source: str, written: set[str]) -> set[str]:
    """The written paths a ``%run``/``!python``/``%load`` line names (``%run train.py``, ``!python
    score.py --out x.csv``): magics and shell lines are not Python, so the words of the lines the
    masking found are compared."""
    if "%" not in source and "!" not in source:
        return set()
    from nbsplit.analyze import python_view

    masked = python_view(source).masked
    out: set[str] = set()
    for text in masked.magics if masked is not None else ():
        if text.startswith("%%"):
            continue
        try:
            words = shlex.split(text, comments=True)
        except ValueError:  # an unclosed quote
            words = text.split()
        for word in words[1:]:
            out.update(p for p in _paths(ast.Constant(word), {}) if p in written)
    return out


def imported_files(source: str) -> set[str]:
    """The files ``import a.b`` / ``from a.b import c`` may load from the working folder
    (``a.py``, ``a/b.py``, ``a/b/c.py`` and the packages' ``__init__.py``): a module written by
    ``%%writefile`` is read where it is imported."""
    tree = cell_tree(source)
    out: set[str] = set()
    for stmt in tree.body if tree is not None else ():
        for node in _run_now(stmt):
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [f"{node.module}.{alias.name}" for alias in node.names]
            for module in modules:
                parts = module.split(".")
                for n in range(1, len(parts) + 1):
                    stem = "/".join(parts[:n])
                    out.update((f"{stem}.py", f"{stem}/__init__.py"))
    return out


def _opens_for_writing(call: ast.Call) -> bool:
    mode = call.args[1] if len(call.args) > 1 else _keyword(call, "mode")
    if isinstance(call.func, ast.Attribute) and dotted_name(call.func) not in _OPEN:
        mode = call.args[0] if call.args else _keyword(call, "mode")  # ``Path(p).open("w")``
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and any(m in mode.value for m in "wax")


def _is_path_call(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and (dotted_name(node.func) or "").rpartition(".")[2] in (
        "Path", "PurePath", "PosixPath")


def _spark_writer(node: ast.expr) -> bool:
    """``df.write``, ``df.write.mode("overwrite").option(...)``: a writer chain."""
    while True:
        if isinstance(node, ast.Attribute):
            if node.attr in _SPARK_WRITERS:
                return True
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            return False


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)
