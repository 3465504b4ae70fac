"""Files a notebook reads or writes by relative path, found in its code cells' string literals.

A relative path means "from the source notebook's folder" (where it was written and run). The
stage notebooks keep meaning that: the runtime module makes ``data_dir`` (the way from the output
folder to the source folder) the working directory, and the bundle syncs the folders of the
inputs found here beside the notebooks, in the same relative layout.

Paths built from constants count too (``DATA_DIR + "train.csv"``, ``os.path.join(DATA_DIR, f)``:
``nbsplit.path_exprs``). A literal counts when it looks like a path (``data/x.csv``, ``outputs/``,
``model.joblib``, the file of a relative ``sqlite:///mlflow.db``) or names something that exists
in the source folder;
``inputs`` are the ones that exist when converting, everything else is an output. After a
top-level ``os.chdir("data")`` or ``%cd data`` (a literal relative folder), later names are read
from that folder: ``pd.read_csv("train.csv")`` there is ``data/train.csv``; after
``os.chdir("..")`` in a repository's ``notebooks/``, ``data/train.csv`` is ``../data/train.csv``,
above the notebook's folder (``outside_paths``).
"""

from __future__ import annotations

import ast
import posixpath
import re
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nbsplit.memo import per_notebook
from nbsplit.model import Cell, Notebook
from nbsplit.path_exprs import built_paths, cell_tree

__all__ = ["PathUse", "fits_a_path", "outside_folders", "outside_paths", "relative_paths", "sync_files", "sync_folders"]

_EXTENSIONS = frozenset(
    "csv tsv txt json jsonl parquet pq feather arrow orc avro xlsx xls pkl pickle joblib npy npz h5 hdf5 "
    "db sqlite zip gz model pt pth onnx yaml yml".split())
# a file or folder name may hold single spaces between its words (``shopping center.csv``)
_NAME = r"[\w.\-]+(?: [\w.\-]+)*"
_PATH = re.compile(rf"{_NAME}(?:/{_NAME})*/?")
_SQLITE = "sqlite:///"
# The longest file name file systems hold (NAME_MAX on Linux and macOS, 255 on Windows) and a
# bound on a relative path: a longer literal (a speech pasted as one word) names no file, and
# asking the disk about it fails with "File name too long" instead of saying no.
_NAME_MAX = 255
_PATH_MAX = 1024


def fits_a_path(text: str) -> bool:
    """Whether ``text`` is short enough to name a file (no component over ``_NAME_MAX`` bytes, at
    most ``_PATH_MAX`` in all)."""
    data = text.encode("utf-8", "surrogatepass")
    return len(data) <= _PATH_MAX and all(len(part) <= _NAME_MAX for part in data.split(b"/"))


@dataclass(frozen=True)
class PathUse:
    path: str  # as written, POSIX, relative to the source notebook's folder
    cells: tuple[int, ...]
    exists: bool  # an input (it was there when converting) rather than an output
    folder: bool = False  # an existing folder (``DATA_DIR = "data/"``), not a file


def relative_paths(notebook: Notebook) -> tuple[PathUse, ...]:
    """Every relative path the notebook's code names, in order of first use."""
    base = notebook.path.parent
    # Which paths the code names is kept per notebook object (a bare name counts when it existed
    # at the first call); whether each exists is asked again, as outputs appear while we run.
    return tuple(PathUse(p, c, (base / p).exists(), (base / p).is_dir()) for p, c in _path_cells(notebook))


@per_notebook
def _path_cells(notebook: Notebook) -> tuple[tuple[str, tuple[int, ...]], ...]:
    base = notebook.path.parent
    cells: dict[str, list[int]] = {}
    # each literal's reading in each working folder, once (a bare name: one stat)
    paths: dict[tuple[str, str], str | None] = {}
    built = built_paths(notebook)
    # the working folder relative to the notebook's, after ``os.chdir("data")``, ``%cd ..``;
    # "" once it is unknown (a variable, an absolute or Colab path): from then on names are read
    # from the notebook's folder, as without a change of folder
    cwd = "."
    for cell in notebook.cells:
        texts = built.get(cell.index, ())
        if cell.kind == "code" and ("'" in cell.source or '"' in cell.source):
            # a %%bash or %%writefile cell names no Python paths (nor one too deep to parse): None
            strings = _strings(cell.source) or ()
            if texts:  # ``"x.csv"`` in ``os.path.join(DATA_DIR, "x.csv")`` names no file of its own
                tails = {t.rstrip("/").rpartition("/")[2] for t in texts if "/" in t.rstrip("/")}
                strings = tuple(s for s in strings if s not in tails)
            texts = (*strings, *texts)
        for text in texts:
            if (cwd, text) in paths:
                path = paths[cwd, text]
            else:
                path = paths[cwd, text] = _in_folder(text, base, cwd)
            if path is not None and not _above(path) and cell.index not in cells.setdefault(path, []):
                cells[path].append(cell.index)
        cwd = _after_cell(cell, cwd, base)
    return tuple((p, tuple(sorted(c))) for p, c in cells.items())


def _after_cell(cell: Cell, cwd: str, base: Path) -> str:
    if cell.kind == "code" and cwd and ("chdir" in cell.source or "%cd" in cell.source
                                        or _BARE_CD.search(cell.source)):
        return _changed_folder(cell.source, cwd, base)
    return cwd


def _above(path: str) -> bool:
    return path == ".." or path.startswith("../")


def _in_folder(text: str, base: Path, cwd: str) -> str | None:
    """``text`` read in working folder ``cwd``, as a path relative to the notebook's folder (it
    starts with ``../`` when it is above that folder)."""
    if cwd in (".", ""):
        # after a change of folder we cannot follow (Colab's ``%cd /content/...``), reading the
        # name from the notebook's folder keeps what was found before: the inputs beside it
        return _as_path(text, base)
    if text.startswith(_SQLITE) and not text.startswith(_SQLITE + "/"):
        text = text[len(_SQLITE):]
    # ``../x.csv`` read in ``data`` is ``x.csv`` beside the notebook: the leading steps move the
    # folder the rest is read in
    lead = _LEADING_STEPS.match(text).group(0)  # type: ignore[union-attr]
    folder = posixpath.normpath(posixpath.join(cwd, lead)) if lead else cwd
    path = _as_path(text[len(lead):], base / folder)
    return None if path is None else _from_notebook(posixpath.join(folder, path), base)


def _from_notebook(path: str, base: Path) -> str:
    """``path`` (relative to the notebook's folder) normalised; one that goes up and comes back
    down (``../notebooks/x.csv`` from ``notebooks/``) is read as what it names, ``x.csv``."""
    path = posixpath.normpath(path)
    if not _above(path):
        return path
    here = posixpath.normpath(base.absolute().as_posix())
    return posixpath.relpath(posixpath.normpath(posixpath.join(here, path)), here)


_LEADING_STEPS = re.compile(r"(?:\.\.?/+)*")


# ``cd data`` without the ``%`` is IPython's automagic (``analyze_text._AUTOMAGIC``): the same magic
_CHDIR = re.compile(r"""^[ \t]*(?:os\.chdir\(\s*(?:r?(["'])(.*?)\1)?|%?cd[ \t]+(?![=(\[]|[-+*/%&|^@<>]=)(.*?)[ \t]*$)""",
                    re.M)
_BARE_CD = re.compile(r"^[ \t]*cd[ \t]", re.M)


def _changed_folder(source: str, cwd: str, base: Path) -> str:
    """The working folder after a cell's top-level ``os.chdir(...)`` / ``%cd`` lines, relative to
    the notebook's folder (``..`` for ``os.chdir("..")`` in a repository's ``notebooks/``): a
    literal relative folder is followed; anything else makes it unknown."""
    for m in _CHDIR.finditer(source):
        target = m.group(2)
        if m.group(3) is not None:
            target = m.group(3)
            if len(target) > 1 and target[0] == target[-1] and target[0] in "'\"":
                target = target[1:-1]
        if not target or target.startswith(("/", "~", "$", "{")) or any(ch in target for ch in ":'\" \\"):
            return ""
        cwd = posixpath.normpath(posixpath.join(cwd, target))
        cwd = _from_notebook(cwd, base)  # ``%cd ..`` then ``%cd notebooks`` is back home
    return cwd


def _strings(source: str) -> tuple[str, ...] | None:
    """The string literals of a cell in ``ast.walk`` order (its IPython lines masked), None when
    it is not Python: a function of the source, kept on analyze's view of it (shared by identical cells)."""
    from nbsplit.analyze import python_view

    memo = python_view(source).memo
    if "strings" in memo:
        return memo["strings"]  # type: ignore[return-value]
    tree = cell_tree(source)
    found = memo["strings"] = None if tree is None else tuple(
        node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str))
    return found


def _as_path(text: str, base: Path) -> str | None:
    if text.startswith(_SQLITE) and not text.startswith(_SQLITE + "/"):
        text = text[len(_SQLITE):]
    if not _PATH.fullmatch(text) or text.startswith((".", "-")) and not text.startswith("./") or not fits_a_path(text):
        return None
    path = PurePosixPath(text)
    if ".." in path.parts:
        return None
    looks_like = "/" in text.strip("/") or path.suffix.lstrip(".").lower() in _EXTENSIONS or text.endswith("/")
    if (not looks_like or " " in text) and not (base / text).exists():
        return None  # words with a slash ("Age/Fare ratio") name a file only when there is one
    return path.as_posix()


def sync_folders(uses: tuple[PathUse, ...]) -> tuple[str, ...]:
    """The top-level folders (relative to the source folder) holding the notebook's inputs or
    named as folders of inputs (``DATA_DIR = "data/"``); a file beside the notebook has none."""
    folders = {parts[0] for u in uses if u.exists
               and (len(parts := PurePosixPath(u.path).parts) > 1 or u.folder and parts)}
    return tuple(sorted(folders))


def sync_files(uses: tuple[PathUse, ...]) -> tuple[str, ...]:
    """The inputs that are files directly in the source folder (``train.csv`` beside the
    notebook): a bundle whose output folder is inside the source folder syncs each of them (the
    CLI's ``sync.paths`` takes files as well as folders), not the whole source folder."""
    return tuple(sorted(u.path for u in uses if u.exists and not u.folder and len(PurePosixPath(u.path).parts) == 1))


_OUTSIDE = re.compile(rf"(?:\./)?(?:\.\./)+{_NAME}(?:/{_NAME})*/?")


def outside_paths(notebook: Notebook) -> tuple[str, ...]:
    """Paths the notebook's code names above its own folder (``../data/x.csv``), normalised
    (``../data/x.csv``), in order of first use, never an ancestor of the notebook's folder itself
    (``..``, ``../..``): string literals, and paths built from literals and constants that start
    above it (``os.path.join("..", "data", "x.csv")``, ``Path("..") / "data"``, ``os.pardir``,
    ``DATA_DIR + "x.csv"``: ``nbsplit.path_exprs``), and the words of magic and shell lines
    (``%run ../utils.py``)."""
    found: dict[str, None] = {}
    built = built_paths(notebook)
    base = notebook.path.parent
    cwd = "."
    for cell in notebook.cells:
        texts = built.get(cell.index, ())
        moved = cwd not in (".", "")
        if cell.kind == "code" and (moved or ".." in cell.source):
            texts = (*(_strings(cell.source) or ()), *_magic_words(cell.source), *texts)
        for text in texts:
            if moved:
                # after ``os.chdir("..")`` a plain ``data/x.csv`` is above the notebook's folder
                # (and ``../notebooks`` from ``notebooks/`` comes back as ``.``)
                path = _in_folder(text, base, cwd)
            else:
                if text.startswith(_SQLITE) and not text.startswith(_SQLITE + "/"):
                    text = text[len(_SQLITE):]
                path = posixpath.normpath(text) if _OUTSIDE.fullmatch(text) and fits_a_path(text) else None
            if path is not None and _above(path) and set(PurePosixPath(path).parts) != {".."}:
                found.setdefault(path)
        cwd = _after_cell(cell, cwd, base)
    return tuple(found)


def _magic_words(source: str) -> tuple[str, ...]:
    """The words of a cell's IPython magic and shell lines (``%run ../utils.py``, ``!python
    ../train.py``): they name files as plain words, not as string literals."""
    words: list[str] = []
    for line in source.splitlines():
        line = line.strip()
        if line.startswith(("%", "!")):
            try:
                words += shlex.split(line, comments=True)[1:]
            except ValueError:  # an unclosed quote: the plain words
                words += line.split()[1:]
    return tuple(words)


def outside_folders(notebook: Notebook) -> tuple[str, ...]:
    """The folders above the notebook's own that hold what it names there (``../data/x.csv`` ->
    ``../data``), relative to the notebook's folder, existing ones only, and the existing files
    directly in an ancestor (``../x.csv``: the file alone; syncing the whole ancestor would carry
    everything beside the notebook), sorted: what a deployment must carry beside the notebook's
    folder."""
    base = notebook.path.parent
    found = set()
    for path in outside_paths(notebook):
        parts = PurePosixPath(path).parts
        ups = next(k for k, part in enumerate(parts) if part != "..")
        if len(parts) > ups + 1 and (base / Path(*parts[:ups + 1])).is_dir():
            found.add(PurePosixPath(*parts[:ups + 1]).as_posix())
        elif len(parts) == ups + 1 and (base / Path(*parts)).is_file():
            found.add(path)
    return tuple(sorted(found))
