"""nbsplit.write: atomic file writes and all-or-nothing output folders."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import nbsplit.write as write
from nbsplit.errors import NbsplitError
from nbsplit.write import atomic_write_text, compare_tree, write_tree

FILES: dict[str, bytes | str] = {
    "01_data-prep.ipynb": '{"cells": []}\n',
    "resources/job.yml": "resources:\n  jobs: {}\n",
    "deep/er/data.bin": b"\x00\x01\xff",
    "README.md": "Caf\u00e9\r\nline two\n",  # written as is: UTF-8, no newline translation
}


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".nbs-") or "nbsplit-" in p.name)


# --- atomic_write_text ----------------------------------------------------------------------------


def test_atomic_write_new_file(tmp_path: Path) -> None:
    path = tmp_path / "nb.py"
    atomic_write_text(path, "x = 1\r\n\u00e9\n")
    assert path.read_bytes() == "x = 1\r\n\u00e9\n".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()
    assert _leftovers(tmp_path) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_write_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "script.py"
    path.write_text("old")
    path.chmod(0o750)
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o750


def test_atomic_write_through_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.ipynb"
    real.write_text("old")
    link = tmp_path / "link.ipynb"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_atomic_write_failure_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text("old")

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(write.os, "replace", boom)
    with pytest.raises(NbsplitError, match="cannot write nb.ipynb: No space left on device"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb.ipynb"]


def test_atomic_write_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(NbsplitError, match="nope"):
        atomic_write_text(tmp_path / "nope" / "x.py", "x")


# --- write_tree ------------------------------------------------------------------------------------


def test_write_tree_creates_folder_with_subfolders(tmp_path: Path) -> None:
    out = tmp_path / "pipeline"
    write_tree(FILES, out)
    expected = {name: (data.encode() if isinstance(data, str) else data) for name, data in FILES.items()}
    assert _tree(out) == dict(sorted(expected.items()))
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~_umask()
    assert _leftovers(tmp_path) == []
    assert compare_tree(FILES, out) == []


def test_write_tree_creates_missing_parents(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "out"
    write_tree({"x.txt": "x"}, out)
    assert (out / "x.txt").read_text() == "x"


def test_write_tree_into_existing_empty_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    write_tree({"x.txt": "x"}, out)
    assert _tree(out) == {"x.txt": b"x"}


def test_write_tree_refuses_non_empty_without_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(NbsplitError, match=r"out: output folder exists and is not empty \(use --force"):
        write_tree(FILES, out)
    assert _tree(out) == {"keep.txt": b"mine"}
    assert _leftovers(tmp_path) == []


def test_write_tree_force_replaces(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.ipynb").write_text("old")
    (out / "sub").mkdir()
    (out / "sub" / "old.txt").write_text("old")
    write_tree({"new.txt": "new"}, out, force=True)
    assert _tree(out) == {"new.txt": b"new"}
    assert _leftovers(tmp_path) == []


def test_write_tree_refuses_a_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("a file")
    with pytest.raises(NbsplitError, match="not a folder"):
        write_tree(FILES, out, force=True)
    assert out.read_text() == "a file"


def test_write_tree_failure_mid_way_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = write._write_file

    def flaky(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(write, "_write_file", flaky)
    out = tmp_path / "out"
    with pytest.raises(NbsplitError, match="out: cannot write output folder: No space left on device"):
        write_tree(FILES, out)
    assert len(calls) == 3  # it really failed half-way
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_write_tree_failure_with_force_keeps_old_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")

    def boom(path: Path, data: bytes) -> None:
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(write, "_write_file", boom)
    with pytest.raises(NbsplitError):
        write_tree(FILES, out, force=True)
    assert _tree(out) == {"old.txt": b"old"}
    assert _leftovers(tmp_path) == []


def test_write_tree_failed_swap_restores_old_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    real_rename = os.rename

    def rename(src: str | Path, dst: str | Path) -> None:
        if str(src).endswith(".new"):  # moving the new folder in fails
            raise OSError(18, "Invalid cross-device link")
        real_rename(src, dst)

    monkeypatch.setattr(write.os, "rename", rename)
    with pytest.raises(NbsplitError, match="Invalid cross-device link"):
        write_tree(FILES, out, force=True)
    assert _tree(out) == {"old.txt": b"old"}
    assert _leftovers(tmp_path) == []


def test_write_tree_under_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(NbsplitError, match="blocker"):
        write_tree(FILES, blocker / "out")
    with pytest.raises(NbsplitError, match="blocker"):
        write_tree(FILES, blocker / "deeper" / "out")
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("name", ["../escape.txt", "/abs.txt", "", "a/../../b", "a/../b", "..\\\\win.txt"])
def test_write_tree_rejects_paths_outside(tmp_path: Path, name: str) -> None:
    with pytest.raises(NbsplitError, match="outside the output folder"):
        write_tree({name: "x"}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_force_refuses_folder_holding_the_input(tmp_path: Path) -> None:
    out = tmp_path / "project"
    out.mkdir()
    notebook = out / "churn.ipynb"
    notebook.write_text("{}")
    with pytest.raises(NbsplitError, match="containing churn.ipynb"):
        write_tree(FILES, out, force=True, protect=[notebook])
    assert notebook.read_text() == "{}"


def test_force_refuses_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    (work / "inner").mkdir(parents=True)
    (work / "x.txt").write_text("x")
    monkeypatch.chdir(work / "inner")
    with pytest.raises(NbsplitError, match="current folder"):
        write_tree(FILES, work, force=True)
    assert (work / "x.txt").exists()


def test_compare_tree_reports_differences(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree({"a.txt": "a", "b/c.txt": "c"}, out)
    (out / "extra.txt").write_text("e")
    assert compare_tree({"a.txt": "A", "b/c.txt": "c", "d.txt": "d"}, out) == [
        "changed: a.txt", "missing: d.txt", "extra: extra.txt"]
    assert compare_tree({"a.txt": "a"}, tmp_path / "absent") == ["missing: a.txt"]


# --- --force that survives a kill ------------------------------------------------------------------

OWNER = "nbsplit-manifest.json"


class Killed(BaseException):
    """Stands in for SIGKILL: once raised, the 'process' runs nothing more (no cleanup)."""


def _converted(folder: Path, marker: str = "old") -> Path:
    folder.mkdir()
    (folder / OWNER).write_text("{}")
    (folder / "old.txt").write_text(marker)
    return folder


def _kill_at_rename(monkeypatch: pytest.MonkeyPatch, call: int) -> None:
    """Kill the run at the ``call``-th rename (1: old -> backup, 2: new -> out); every later
    rename fails too, so no restore runs, as after a real kill."""
    real = write._rename
    count = {"n": 0}

    def rename(src: Path, dst: Path) -> None:
        count["n"] += 1
        if count["n"] >= call:
            raise Killed()
        real(src, dst)

    monkeypatch.setattr(write, "_rename", rename)


@pytest.mark.parametrize("call", [1, 2])
def test_kill_between_the_renames_then_next_run_recovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         call: int) -> None:
    out = _converted(tmp_path / "out")
    with monkeypatch.context() as patch:
        _kill_at_rename(patch, call)
        with pytest.raises(Killed):
            write_tree({OWNER: "{}", "new.txt": "new"}, out, force=True, owner=OWNER)
    if call == 2:
        assert not out.exists() and _leftovers(tmp_path)  # the window the issue describes
    # The next run first puts the old output back, then refuses to touch it without --force.
    with pytest.raises(NbsplitError, match="not empty"):
        write_tree({OWNER: "{}", "new.txt": "new"}, out, owner=OWNER)
    assert _tree(out) == {OWNER: b"{}", "old.txt": b"old"}
    assert _leftovers(tmp_path) == []
    # ... and with --force replaces it whole.
    write_tree({OWNER: "{}", "new.txt": "new"}, out, force=True, owner=OWNER)
    assert _tree(out) == {OWNER: b"{}", "new.txt": b"new"}
    assert _leftovers(tmp_path) == []


def test_kill_after_the_new_folder_arrived_leaves_it_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _converted(tmp_path / "out")

    def killed(path: Path, out: Path) -> None:
        raise Killed()

    with monkeypatch.context() as patch:
        patch.setattr(write, "_remove_tree", killed)
        with pytest.raises(Killed):
            write_tree({OWNER: "{}", "new.txt": "new"}, out, force=True, owner=OWNER)
    assert _tree(out) == {OWNER: b"{}", "new.txt": b"new"}
    assert _leftovers(tmp_path)  # the backup of the old folder
    write_tree({OWNER: "{}", "again.txt": "again"}, out, force=True, owner=OWNER)
    assert _tree(out) == {OWNER: b"{}", "again.txt": b"again"}
    assert _leftovers(tmp_path) == []


def test_kill_while_building_leaves_old_folder_and_next_run_cleans_up(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = _converted(tmp_path / "out")
    real = write._write_file
    calls: list[Path] = []

    def dies(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise Killed()
        real(path, data)

    with monkeypatch.context() as patch:
        patch.setattr(write, "_write_file", dies)
        patch.setattr(write.shutil, "rmtree", lambda *a, **k: None)  # killed: no cleanup either
        with pytest.raises(Killed):
            write_tree(FILES, out, force=True, owner=OWNER)
    assert _tree(out) == {OWNER: b"{}", "old.txt": b"old"}
    write_tree({OWNER: "{}"}, out, force=True, owner=OWNER)
    assert _tree(out) == {OWNER: b"{}"}
    assert _leftovers(tmp_path) == []


def test_undeletable_old_folder_is_an_error_not_a_success(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _converted(tmp_path / "out")

    def stuck(path: str, onerror: object = None, **kwargs: object) -> None:
        onerror(os.rmdir, str(Path(path) / "sub"), (PermissionError, PermissionError(13, "Permission denied"), None))

    with monkeypatch.context() as patch:
        patch.setattr(write.shutil, "rmtree", stuck)
        with pytest.raises(NbsplitError, match=r"out: cannot delete the leftover folder \.nbs-\w+\.old "
                                               r"\(.*sub: Permission denied\); delete it by hand"):
            write_tree({OWNER: "{}", "new.txt": "new"}, out, force=True, owner=OWNER)
    assert _tree(out) == {OWNER: b"{}", "new.txt": b"new"}  # the new output is in place
    write_tree({OWNER: "{}"}, out, force=True, owner=OWNER)  # and the next run clears the leftover
    assert _leftovers(tmp_path) == []


def test_force_refuses_a_folder_nbsplit_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious")
    with pytest.raises(NbsplitError, match=r"thesis: output folder was not written by nbsplit \(no "
                                           r"nbsplit-manifest.json\); refusing to replace it even with --force"):
        write_tree(FILES, out, force=True, owner=OWNER)
    assert _tree(out) == {"chapter1.tex": b"precious"}


@pytest.mark.parametrize("force", [False, True])
def test_symlink_output_is_never_followed_or_replaced(tmp_path: Path, force: bool) -> None:
    real = _converted(tmp_path / "real")
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    with pytest.raises(NbsplitError, match="out: output path is a symlink; refusing"):
        write_tree({OWNER: "{}"}, link, force=force, owner=OWNER)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert _tree(real) == {OWNER: b"{}", "old.txt": b"old"}
    empty = tmp_path / "empty"
    empty.mkdir()
    link2 = tmp_path / "out2"
    link2.symlink_to(empty, target_is_directory=True)
    with pytest.raises(NbsplitError, match="symlink"):
        write_tree({OWNER: "{}"}, link2, force=force, owner=OWNER)
    assert link2.is_symlink() and list(empty.iterdir()) == []


def test_force_with_a_name_near_255_bytes(tmp_path: Path) -> None:
    out = _converted(tmp_path / ("n" * 250))
    write_tree({OWNER: "{}", "new.txt": "new"}, out, force=True, owner=OWNER)
    assert _tree(out) == {OWNER: b"{}", "new.txt": b"new"}
    assert _leftovers(tmp_path) == []
    long_file = tmp_path / ("f" * 249 + ".ipynb")
    long_file.write_text("old")
    atomic_write_text(long_file, "new")
    assert long_file.read_text() == "new"


def test_read_only_file_is_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text("old")
    path.chmod(0o444)
    with pytest.raises(NbsplitError, match=r"nb.ipynb: file is read-only; refusing to replace it"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb.ipynb"]
