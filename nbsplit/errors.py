"""The one user-facing error type and the exit codes.

Inside the library, problems are values (``Diagnostic``) or a raised ``NbsplitError``; the CLI
is the single place that turns them into a line on stderr and an exit code, never a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, NoReturn

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


def exit_with(command: Callable[[], int | None], echo_err: Callable[[str], None],
              passthrough: tuple[type[BaseException], ...] = ()) -> NoReturn:
    """Run a command and exit with its code; every ``NbsplitError`` becomes one stderr line and
    its exit code, and so does an unexpected exception (set NBSPLIT_DEBUG=1 for the traceback):
    a user is never handed a traceback for a bad notebook. ``passthrough`` exceptions (click's
    own exits) go up unchanged. Shared by the click application and the hook's click-free path."""
    try:
        code = command()
    except NbsplitError as exc:
        echo_err(f"nbsplit: error: {exc.format()}")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        echo_err("nbsplit: interrupted")
        sys.exit(130)
    except (SystemExit, *passthrough):
        raise
    except Exception as exc:  # the last line of defence
        if os.environ.get("NBSPLIT_DEBUG"):
            raise
        line = " ".join(str(exc).split()) or type(exc).__name__
        echo_err(f"nbsplit: internal error: {type(exc).__name__}: {line} (set NBSPLIT_DEBUG=1 for details)")
        sys.exit(EXIT_USAGE)
    sys.exit(code or EXIT_OK)
