"""The only module that writes to disk: atomic file and folder writes.

- ``atomic_write_text(path, text)``: write a temporary file next to ``path``, then
  ``os.replace`` it in, so readers see the old file or the new one, never half of one. The
  file's permission bits are kept (new files get the usual ``0o666 & ~umask``).
- ``write_tree(files, out, force=False)``: build the whole output folder as a hidden,
  short-named sibling of ``out``, then rename it into place. An existing non-empty ``out`` is
  refused unless ``force`` (and, for convert, unless it holds the manifest of an earlier
  convert); then the old folder is renamed to a short-named backup, the new one moved in, the
  backup deleted (and put back if the move fails). A run killed between any two steps leaves
  the old folder or the new one whole, plus a leftover the next run cleans up (restoring the
  old folder if the new one never arrived). A symlink at ``out`` is refused, never followed or
  replaced; a leftover that cannot be deleted is an error, not a silent success.
- ``compare_tree(files, out)``: what ``write_tree`` would change (for ``--check`` modes).

Problems a user can fix (unwritable folder, a path under a regular file, a non-empty output
folder) raise ``NbsplitError`` naming the folder.
"""

from __future__ import annotations

import hashlib
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
        info = path.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise NbsplitError(f"cannot write: {_why(exc)}", path) from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise NbsplitError("not a regular file; refusing to replace it", path)
    if info is not None and not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        # A rename would replace it anyway (only the folder's permissions count); the file's
        # read-only bit is the owner saying no.
        raise NbsplitError("file is read-only; refusing to replace it", path)
    mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
    tmp: str | None = None
    try:
        # A short temporary name: the target's own name may already be near the 255-byte limit.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".nbs-", suffix=".tmp")
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


def _side_names(target: Path) -> tuple[Path, Path]:
    """(temporary new tree, backup of the old tree) beside ``target``: short whatever the
    target's name (a name near 255 bytes leaves no room for a suffix), and the same on every
    run, so a run can find and finish what an interrupted one left."""
    digest = hashlib.sha256(os.fsencode(target.name)).hexdigest()[:12]
    return target.parent / f".nbs-{digest}.new", target.parent / f".nbs-{digest}.old"


def _remove_tree(path: Path, out: Path) -> None:
    """Delete a tree this module made; an entry that cannot be deleted is an error (exit 2),
    never a leftover reported as success."""
    failures: list[str] = []

    def record(_func: object, name: str, exc_info: object) -> None:
        exc = exc_info[1] if isinstance(exc_info, tuple) else exc_info
        failures.append(f"{name}: {_why(exc) if isinstance(exc, OSError) else exc}")

    if not os.path.lexists(path):
        return
    if path.is_symlink() or not path.is_dir():
        os.unlink(path)
        return
    shutil.rmtree(path, onerror=record)  # type: ignore[arg-type]
    if failures or os.path.lexists(path):
        first = failures[0] if failures else str(path)
        raise NbsplitError(f"cannot delete the leftover folder {path.name} ({first}); delete it by hand", out)


def _recover(target: Path, out: Path) -> None:
    """Finish an earlier run that was killed mid-way: the old output comes back if the new one
    never arrived, a backup left after the new output arrived is deleted, and a half-built
    temporary tree is deleted."""
    new, old = _side_names(target)
    if os.path.lexists(old):
        if old.is_symlink() or not old.is_dir():
            raise NbsplitError(f"unexpected entry {old.name} beside the output folder; delete it by hand", out)
        if not os.path.lexists(target):
            os.rename(old, target)  # the kill came between the two renames: the old output returns
        else:
            _remove_tree(old, out)
    if os.path.lexists(new):
        if new.is_symlink():
            raise NbsplitError(f"unexpected symlink {new.name} beside the output folder; delete it by hand", out)
        _remove_tree(new, out)


def _is_owned(target: Path, owner: str) -> bool:
    """True when ``target`` holds ``owner`` as a regular file (not a link): the mark that an
    earlier nbsplit run wrote this folder."""
    try:
        return stat.S_ISREG(os.lstat(target / owner).st_mode)
    except OSError:
        return False


def write_tree(files: Mapping[str, bytes | str], out: Path | str, *, force: bool = False,
               protect: Iterable[Path | str] = (), owner: str | None = None) -> None:
    """Write ``files`` (relative POSIX paths, subfolders allowed -> content) as folder ``out``.

    ``protect`` lists paths that must survive (the input notebook): replacing a folder that
    contains one of them is refused even with ``force``. With ``owner`` (a file name such as
    the manifest's), ``force`` replaces only a folder holding that file, i.e. one nbsplit wrote.

    A kill at any point leaves either the old folder or the whole new one (plus a short-named
    leftover beside it that the next run cleans up). A symlink at ``out`` is never followed
    nor replaced.
    """
    out = Path(out)
    payload = {_check_relative(name): _encode(data) for name, data in files.items()}
    target = out.absolute()
    parent = target.parent
    try:
        if os.path.isdir(parent):
            _recover(target, out)
    except OSError as exc:
        raise NbsplitError(f"cannot recover from an interrupted earlier run: {_why(exc)}", out) from None

    replace_old = False
    if target.is_symlink():
        raise NbsplitError("output path is a symlink; refusing to write through or replace it "
                           "(give the real folder)", out)
    if os.path.lexists(target):
        if not target.is_dir():
            raise NbsplitError("output path exists and is not a folder", out)
        if not _is_empty_dir(target):
            if not force:
                raise NbsplitError("output folder exists and is not empty (use --force to replace it)", out)
            _check_force_is_safe(target, protect, out)
            if owner is not None and not _is_owned(target, owner):
                raise NbsplitError(f"output folder was not written by nbsplit (no {owner}); "
                                   "refusing to replace it even with --force", out)
            replace_old = True

    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NbsplitError(f"cannot create folder: {_why(exc)}", parent) from None
    tmp, _ = _side_names(target)
    try:
        os.mkdir(tmp, 0o777 & ~_umask())
    except OSError as exc:
        raise NbsplitError(f"cannot write in folder: {_why(exc)}", parent) from None

    try:
        for rel, data in sorted(payload.items()):
            _write_file(tmp.joinpath(*rel.parts), data)
        if replace_old:
            _swap_in(tmp, target, out)
        else:
            os.replace(tmp, target)  # also replaces an empty folder (POSIX rename semantics)
    except BaseException as exc:
        if os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise NbsplitError(f"cannot write output folder: {_why(exc)}", out) from None
        raise


def _swap_in(tmp: Path, target: Path, out: Path) -> None:
    _, old = _side_names(target)
    _rename(target, old)
    try:
        _rename(tmp, target)
    except BaseException:
        _rename(old, target)  # put the old output back
        raise
    _remove_tree(old, out)


def _rename(src: Path, dst: Path) -> None:
    """``os.rename`` (a seam: tests raise here to simulate a kill between the renames)."""
    os.rename(src, dst)


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
