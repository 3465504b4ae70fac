"""``python -m nbsplit`` and the ``nbsplit`` console script.

The pre-commit hook runs ``nbsplit check FILE...`` for every commit, so that process's start-up
is what a commit waits for. That plain call (no option at all) runs here without importing click
and building its command tree (~15 ms of a ~0.2 s process); every other command line goes to the
click application in ``nbsplit.cli``, and so does this one whenever click would do something of
its own: a file it would refuse (an unreadable one), a stream it would re-wrap (not UTF-8),
shell completion, Windows. Both paths run ``nbsplit.check.run_check`` under
``nbsplit.errors.exit_with`` (tests/test_fastcheck.py compares their streams and exit codes).
"""

from __future__ import annotations

import os
import sys

# click.echo strips these when the stream is not a terminal (click/_compat.py's _ansi_re)
_ANSI = r"\033\[[;?0-9]*[a-zA-Z]"


def main() -> None:
    args = sys.argv[1:]
    try:
        if _plain_check(args):
            _check(args[1:])
        from nbsplit.cli import main as cli_main

        cli_main()
    except SystemExit as done:
        if args and args[0] in _QUICK_EXIT:
            _quick_exit(done)
        raise


# Commands whose process may end without the interpreter's teardown (``_quick_exit``): they
# start no thread or child process and leave nothing to a finaliser.
_QUICK_EXIT = frozenset({"plan", "convert", "check"})


def _quick_exit(done: SystemExit) -> None:
    """End the process with ``done``'s exit code without freeing every object one by one.

    A command keeps its notebook's syntax trees and facts to the end (millions of objects at
    10,000 cells), and the interpreter's teardown then frees them one by one: ~0.5 s of CPU of
    a ~5.4 s ``plan`` at 10,000 cells, spent after the output is written. mypy ends the same way.
    Everything a normal exit does that a user can see still happens: the ``atexit`` functions
    run (the code cache is saved there) and both streams are flushed. Whenever the normal exit
    could do something else (an exit code that is not an int, a flush that fails -- a closed
    pipe --, another thread still running) this returns and the normal exit runs."""
    code = done.code
    if code is None:
        code = 0
    if type(code) is not int or not 0 <= code <= 255:
        return
    import threading

    if threading.active_count() != 1:
        return
    import atexit

    atexit._run_exitfuncs()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except Exception:  # noqa: BLE001  (the normal exit reports it, as it always has)
        return
    os._exit(code)


def _plain_check(args: list[str]) -> bool:
    """``check`` with file arguments only, in an environment click would leave as it is."""
    if not args or args[0] != "check" or os.name == "nt" or os.environ.get("_NBSPLIT_COMPLETE"):
        return False
    import io

    for stream in (sys.stdout, sys.stderr):
        if type(stream) is not io.TextIOWrapper or not _utf8(stream.encoding):
            return False
    try:
        for arg in args[1:]:
            if arg.startswith("-"):
                return False  # an option (or '--'): click parses it
            # click.Path(readable=True): a file that exists but cannot be read is a usage error
            if os.path.exists(arg) and not os.access(arg, os.R_OK):
                return False
    except Exception:  # noqa: BLE001  (a NUL byte in an argument...: click's business)
        return False
    return True


def _utf8(encoding: str | None) -> bool:
    import codecs

    try:
        return encoding is not None and codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _echo(message: str, err: bool = False) -> None:
    """``click.echo`` of a str on a UTF-8 text stream: ANSI codes dropped off a terminal, flushed."""
    stream = sys.stderr if err else sys.stdout
    out = message + "\n"
    try:
        tty = stream.isatty()
    except Exception:  # noqa: BLE001  (click.isatty's rule)
        tty = False
    if not tty:
        import re

        out = re.sub(_ANSI, "", out)
    stream.write(out)
    stream.flush()


def _check(files: list[str]) -> None:
    """``nbsplit check FILES`` with every option at its default, as ``nbsplit.cli`` runs it."""
    import gc

    from nbsplit import codecache

    codecache.enable()  # as nbsplit.cli does first: dataclass code and import-time patterns cached
    gc.set_threshold(50_000, 20, 10)  # as nbsplit.cli.main (why: there)
    from pathlib import Path

    from nbsplit.errors import exit_with

    exit_with(lambda: _run([Path(f) for f in files]), lambda line: _echo(line, err=True))


def _run(files: list) -> int:
    from nbsplit.check import run_check
    from nbsplit.config import load_config
    from nbsplit.errors import EXIT_OK

    if not files:
        return EXIT_OK
    return run_check(files, load_config(files[0]), _echo)


if __name__ == "__main__":
    main()
