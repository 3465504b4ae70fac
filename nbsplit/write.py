"""The only module that writes to disk: atomic file and folder writes.

- ``atomic_write_text(path, text)``: write a temporary file next to ``path``, then
  ``os.replace`` it in, so readers see the old file or the new one, never half of one. The
  file's permission bits are kept (new files get the usual ``0o666 & ~umask``).
- ``write_tree(files, out, force=False)``: build the whole output folder as a hidden sibling
  of ``out``, then rename it into place. An existing non-empty ``out`` is refused unless
  ``force``; then the old folder is renamed aside, the new one moved in, the old one deleted
  (and put back if the move fails). On any failure no partial output is left behind and an
  existing ``out`` is untouched.
- ``compare_tree(files, out)``: what ``write_tree`` would change (for ``--check`` modes).

Problems a user can fix (unwritable folder, a path under a regular file, a non-empty output
folder) raise ``NbsplitError`` naming the folder.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path, PurePosixPath
from typing import Iterable, Mapping

from nbsplit.errors import NbsplitError

__all__ = ["atomic_write_text", "write_tree", "compare_tree"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _encode(data: bytes | str) -> bytes:
    # No newline translation: the text is written exactly as rendered.
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def atomic_write_text(path: Path | str, text: str) -> None:
    """Replace ``path``'s content with ``text`` (UTF-8) atomically, keeping its permissions."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()  # write through the link, do not replace the link by a file
    folder = path.parent
    if not folder.is_dir():
        raise NbsplitError(f"cannot write {path.name}: folder does not exist or is not a folder", folder)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as exc:
        raise NbsplitError(f"cannot write: {_why(exc)}", path) from None
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".nbsplit-tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(_encode(text))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise NbsplitError(f"cannot write {path.name}: {_why(exc)}", folder) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _check_relative(name: str) -> PurePosixPath:
    rel = PurePosixPath(name.replace("\\", "/"))
    if not name or rel.is_absolute() or any(part in ("", ".", "..") for part in rel.parts) or not rel.parts:
        raise NbsplitError(f"refusing to write outside the output folder: {name!r}")
    return rel


def _write_file(path: Path, data: bytes) -> None:
    """Write one file of the tree (a seam for tests that simulate a failure)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _is_empty_dir(path: Path) -> bool:
    with os.scandir(path) as entries:
        return next(entries, None) is None


def _aside_name(parent: Path, stem: str) -> Path:
    for n in range(1000):
        candidate = parent / f".{stem}.nbsplit-old-{os.getpid()}-{n}"
        if not os.path.lexists(candidate):
            return candidate
    raise NbsplitError("cannot find a free name to move the old output folder aside", parent)


def write_tree(files: Mapping[str, bytes | str], out: Path | str, *, force: bool = False,
               protect: Iterable[Path | str] = ()) -> None:
    """Write ``files`` (relative POSIX paths, subfolders allowed -> content) as folder ``out``.

    ``protect`` lists paths that must survive (the input notebook): replacing a folder that
    contains one of them is refused even with ``force``.
    """
    out = Path(out)
    payload = {_check_relative(name): _encode(data) for name, data in files.items()}
    target = out.absolute()
    parent = target.parent

    existing = os.path.lexists(target)
    replace_old = False
    if existing:
        if not target.is_dir():
            raise NbsplitError("output path exists and is not a folder", out)
        if not _is_empty_dir(target):
            if not force:
                raise NbsplitError("output folder exists and is not empty (use --force to replace it)", out)
            _check_force_is_safe(target, protect, out)
            replace_old = True

    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NbsplitError(f"cannot create folder: {_why(exc)}", parent) from None
    try:
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.nbsplit-new-"))
    except OSError as exc:
        raise NbsplitError(f"cannot write in folder: {_why(exc)}", parent) from None

    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the output is a normal folder
        for rel, data in sorted(payload.items()):
            _write_file(tmp.joinpath(*rel.parts), data)
        if replace_old:
            _swap_in(tmp, target, parent)
        else:
            os.replace(tmp, target)  # also replaces an empty folder (POSIX rename semantics)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise NbsplitError(f"cannot write output folder: {_why(exc)}", out) from None
        raise


def _swap_in(tmp: Path, target: Path, parent: Path) -> None:
    old = _aside_name(parent, target.name)
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)  # put the old output back
        raise
    shutil.rmtree(old, ignore_errors=True)


def _check_force_is_safe(target: Path, protect: Iterable[Path | str], out: Path) -> None:
    resolved = target.resolve()
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        raise NbsplitError("refusing to replace this folder even with --force", out)
    cwd = Path.cwd().resolve()
    if cwd == resolved or resolved in cwd.parents:
        raise NbsplitError("refusing to replace the current folder (or one containing it) even with --force", out)
    for item in protect:
        item = Path(item).absolute().resolve()
        if item == resolved or resolved in item.parents:
            raise NbsplitError(f"refusing to replace a folder containing {item.name} even with --force", out)


def compare_tree(files: Mapping[str, bytes | str], out: Path | str) -> list[str]:
    """What writing ``files`` to ``out`` would change: ``"missing: x"``, ``"changed: x"``,
    ``"extra: x"`` lines, sorted; empty when ``out`` already holds exactly ``files``."""
    out = Path(out)
    wanted = {str(_check_relative(name)): _encode(data) for name, data in files.items()}
    present: dict[str, Path] = {}
    if out.is_dir():
        for path in out.rglob("*"):
            if path.is_file():
                present[path.relative_to(out).as_posix()] = path
    problems = []
    for name in sorted(set(wanted) | set(present)):
        if name not in present:
            problems.append(f"missing: {name}")
        elif name not in wanted:
            problems.append(f"extra: {name}")
        elif present[name].read_bytes() != wanted[name]:
            problems.append(f"changed: {name}")
    return problems
