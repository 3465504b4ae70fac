"""``python -m nbsplit`` and the ``nbsplit`` console script.

The pre-commit hook runs ``nbsplit check FILE...`` for every commit, so that process's start-up
is what a commit waits for. That plain call (no option at all) runs here without importing click
and building its command tree (~15 ms of a ~0.2 s process); every other command line goes to the
click application in ``nbsplit.cli``, and so does this one whenever click would do something of
its own: a file it would refuse (an unreadable one), a stream it would re-wrap (not UTF-8),
shell completion, Windows. The lines, streams and exit code are the ``check`` command's
(``nbsplit.cli.check`` and ``_edge``; tests/test_fastcheck.py runs both on the same inputs).
"""

from __future__ import annotations

import os
import sys

# click.echo strips these when the stream is not a terminal (click/_compat.py's _ansi_re)
_ANSI = r"\033\[[;?0-9]*[a-zA-Z]"


def main() -> None:
    args = sys.argv[1:]
    if _plain_check(args):
        _check(args[1:])
    from nbsplit.cli import main as cli_main

    cli_main()


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

    from nbsplit.errors import EXIT_OK, EXIT_USAGE, NbsplitError

    try:
        code = _run([Path(f) for f in files])
    except NbsplitError as exc:
        _echo(f"nbsplit: error: {exc.format()}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _echo("nbsplit: interrupted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # the last line of defence, word for word nbsplit.cli._edge's
        if os.environ.get("NBSPLIT_DEBUG"):
            raise
        line = " ".join(str(exc).split()) or type(exc).__name__
        _echo(f"nbsplit: internal error: {type(exc).__name__}: {line} "
              "(set NBSPLIT_DEBUG=1 for details)", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(code or EXIT_OK)


def _run(files: list) -> int:
    from nbsplit.check import check_files, format_text
    from nbsplit.errors import EXIT_OK

    if not files:
        return EXIT_OK
    from nbsplit.config import load_config

    config = load_config(files[0])
    report = check_files(list(files), config=config, require_tags=None, stages_dir=None, fix=False,
                         strict=False)
    _echo(format_text(report))
    return report.exit_code


if __name__ == "__main__":
    main()
