"""The Jinja environment every renderer uses.

Templates live in the top-level ``templates/`` folder, shipped in the wheel as the package
``nbsplit.templates``. A user folder given with ``--templates DIR`` is searched first, so a team
can replace any single template (``DIR/notebook/load.py.j2``) and keep the rest.

Templates render in Jinja's immutable sandbox: a user template is code from outside nbsplit, and
``{{ cycler.__init__.__globals__.os }}`` must be an error, not a shell. The built-in templates need
nothing the sandbox forbids, so one environment serves both.

``StrictUndefined`` turns a typo in a template into an error instead of an empty string, and
every error a template causes is reported as one ``NbsplitError`` line naming the template file
and line, never a Jinja traceback.
"""

from __future__ import annotations

import traceback
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from nbsplit.errors import NbsplitError
from nbsplit.render import escape

__all__ = ["environment", "render", "builtin_templates_dir"]


def builtin_templates_dir() -> Path:
    """The folder of the templates shipped with nbsplit (``nbsplit.templates``)."""
    return Path(str(resources.files("nbsplit.templates")))


def tojson(value: Any, indent: int | None = None) -> str:
    """JSON for ``value``, keys in a stable order; non-ASCII kept readable."""
    return escape.json_text(value, indent=indent, sort_keys=True)


# Every input text a template writes goes through the filter of the file's language.
FILTERS = {
    "pyrepr": escape.py_literal,  # a Python literal (str, number, list, dict)
    "pyident": escape.py_identifier,  # a name written as code: refused unless an identifier
    "pycomment": escape.py_comment,  # text after '#'
    "tojson": tojson,
    "yaml": escape.yaml_scalar,
    "yaml_key": escape.yaml_key,
    "yaml_comment": escape.yaml_comment,
    "md_code": escape.md_code,  # an inline code span
    "sh": escape.sh_arg,  # one shell word
}


def environment(user_dir: Path | str | None = None) -> jinja2.Environment:
    """A Jinja environment: ``user_dir`` first (if given), then the built-in templates."""
    return _environment(str(Path(user_dir).resolve()) if user_dir is not None else None)


@lru_cache(maxsize=8)
def _environment(user_dir: str | None) -> ImmutableSandboxedEnvironment:
    if user_dir is not None and not Path(user_dir).is_dir():
        raise NbsplitError("templates folder does not exist", user_dir)
    loaders: list[jinja2.BaseLoader] = []
    if user_dir is not None:
        loaders.append(jinja2.FileSystemLoader(user_dir))
    loaders.append(jinja2.FileSystemLoader(str(builtin_templates_dir())))
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render(name: str, context: dict[str, Any], *, user_dir: Path | str | None = None) -> str:
    """Render template ``name`` (e.g. ``notebook/load.py.j2``) with ``context``.

    Any template error becomes ``NbsplitError("<template file>:<line>: <problem>")``.
    """
    env = environment(user_dir)
    try:
        template = env.get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        raise NbsplitError(f"{_where(exc.filename or name, exc.lineno)}: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise NbsplitError(f"template {exc.name} not found") from None
    try:
        return template.render(**context)
    except jinja2.TemplateSyntaxError as exc:  # an {% include %} that does not parse
        raise NbsplitError(f"{_where(exc.filename or name, exc.lineno)}: {exc.message}") from None
    except Exception as exc:  # noqa: BLE001 - anything a template raises is the template's fault
        filename, line = template.filename or name, None
        # Jinja rewrites tracebacks so template frames carry the template file and line.
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename.endswith(".j2"):
                filename, line = frame.filename, frame.lineno
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        raise NbsplitError(f"{_where(filename, line)}: {message}") from None


def _where(filename: str, line: int | None) -> str:
    path = Path(filename)
    try:
        shown = str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        shown = str(path)
    return f"{shown}:{line}" if line else shown
