"""The one user-facing error type and the exit codes.

Inside the library, problems are values (``Diagnostic``) or a raised ``NbsplitError``; the CLI
is the single place that turns them into a line on stderr and an exit code, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_PROBLEMS = 1  # check found problems, a stage failed, a plan has error diagnostics
EXIT_USAGE = 2  # bad input or usage: missing file, invalid notebook, unknown slug, ...


class NbsplitError(Exception):
    """An error a user can act on. ``str()`` is one line naming the file (and cell)."""

    def __init__(self, message: str, path: Path | str | None = None, cell: int | None = None,
                 exit_code: int = EXIT_USAGE) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.cell = cell
        self.exit_code = exit_code
        super().__init__(self.format())

    def format(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}"
            if self.cell is not None:
                where += f":cell {self.cell}"
            where += ": "
        elif self.cell is not None:
            where = f"cell {self.cell}: "
        return printable(where + " ".join(self.message.splitlines()))


def printable(text: str) -> str:
    """``text`` with lone surrogates shown as ``\\udcff``: an undecodable file name arrives as
    surrogates, and a line naming it must still print (and be valid UTF-8 in a log)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
