"""``[tool.nbsplit]`` in the nearest pyproject.toml -> a frozen ``Config``.

Precedence is defaults < ``[tool.nbsplit]`` < command line: the CLI passes the file's values as
click's ``default_map``-like defaults and lets explicit options win. Unknown keys are errors, so
a typo in the config never silently does nothing.

Example::

    [tool.nbsplit]
    threshold = 0.7          # cells classified below this confidence are reported as uncertain
    require-tags = false     # nbsplit check: every non-empty code cell must carry a stage tag
    ignore = ["NBS104"]      # nbsplit check rule codes switched off
    autolog = true           # convert: MLflow autologging in the training stage (--no-autolog)

    [[tool.nbsplit.rules]]   # user rules, checked before the heuristics
    call = "mycompany.features.*"   # fnmatch on resolved call names (pandas.read_csv, df.fillna)
    stage = "featurization"

    [[tool.nbsplit.rules]]
    source = "spark\\.table\\(.*bronze"   # a regular expression searched in the cell source
    stage = "data-prep"
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from nbsplit.errors import NbsplitError
from nbsplit.model import ALL_SLUGS, Stage

# From the grouped-CV reliability table (benchmarks/accuracy.py): cells below 0.7 are right about
# half the time (46%), cells at or above it 91%: "uncertain" means it.
DEFAULT_THRESHOLD = 0.7
_KEYS = {"threshold", "require-tags", "ignore", "rules", "strict", "format", "autolog"}
_RULE_KEYS = {"call", "source", "stage"}


@dataclass(frozen=True)
class Rule:
    """A user rule: a call pattern (fnmatch) or a source regex that decides a cell's stage."""

    stage: Stage
    call: str | None = None
    source: str | None = None

    def describe(self) -> str:
        what = f"call {self.call}" if self.call else f"source /{self.source}/"
        return f"user rule: {what} -> {self.stage.value}"


@dataclass(frozen=True)
class Config:
    threshold: float = DEFAULT_THRESHOLD
    require_tags: bool = False
    ignore: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    strict: bool = False
    format: str = "ipynb"
    autolog: bool = True
    path: Path | None = field(default=None, compare=False)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` (a file or a folder)."""
    try:
        here = start.resolve()
    except (OSError, RuntimeError):  # a symlink loop: the reader reports it, naming the file
        here = Path(os.path.abspath(start))
    if not here.is_dir():
        here = here.parent
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(start: Path | None = None, pyproject: Path | None = None) -> Config:
    """Read ``[tool.nbsplit]`` from ``pyproject`` or the nearest pyproject.toml above ``start``."""
    path = pyproject or (find_pyproject(start) if start is not None else None)
    if path is None:
        return Config()
    from nbsplit.read.validate import read_input_text

    try:
        data = tomllib.loads(read_input_text(path, "pyproject.toml"))
    except tomllib.TOMLDecodeError as exc:
        raise NbsplitError(f"cannot read [tool.nbsplit]: {exc}", path) from None
    except RecursionError:
        raise NbsplitError("cannot read [tool.nbsplit]: nested too deeply", path) from None
    tool = data.get("tool", {})
    section = tool.get("nbsplit") if isinstance(tool, dict) else None
    if section is None:
        return Config(path=path)
    if not isinstance(section, dict):
        raise NbsplitError(f"[tool.nbsplit] must be a table, got {_type(section)}", path)
    return parse_config(section, path)


def _type(value: object) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)


def _bool(section: dict, key: str, path: Path | None, default: bool = False) -> bool:
    # Strings are not booleans: `require-tags = "false"` must not switch the rule on.
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise NbsplitError(f"[tool.nbsplit] {key} must be true or false, got {_type(value)} {value!r}"[:200], path)
    return value


def parse_config(section: dict, path: Path | None = None) -> Config:
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise NbsplitError(
            f"unknown key {unknown[0]!r} in [tool.nbsplit] (known: {', '.join(sorted(_KEYS))})", path
        )
    threshold = section.get("threshold", DEFAULT_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise NbsplitError(f"[tool.nbsplit] threshold must be a number in 0..1, got {threshold!r}", path)
    ignore = section.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(c, str) for c in ignore):
        raise NbsplitError("[tool.nbsplit] ignore must be a list of rule codes like \"NBS104\"", path)
    fmt = section.get("format", "ipynb")
    if fmt not in ("ipynb", "databricks", "percent"):
        raise NbsplitError(f"[tool.nbsplit] format must be ipynb, databricks or percent, got {fmt!r}", path)
    rules = section.get("rules", [])
    if not isinstance(rules, list):
        raise NbsplitError(f"[tool.nbsplit] rules must be an array of tables ([[tool.nbsplit.rules]]), "
                           f"got {_type(rules)}", path)
    return Config(
        threshold=float(threshold),
        require_tags=_bool(section, "require-tags", path),
        ignore=tuple(ignore),
        rules=tuple(_parse_rule(r, i, path) for i, r in enumerate(rules)),
        strict=_bool(section, "strict", path),
        format=fmt,
        autolog=_bool(section, "autolog", path, default=True),
        path=path,
    )


def _parse_rule(raw: object, i: int, path: Path | None) -> Rule:
    where = f"[[tool.nbsplit.rules]] #{i + 1}"
    if not isinstance(raw, dict):
        raise NbsplitError(f"{where} must be a table with 'stage' and 'call' or 'source'", path)
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise NbsplitError(f"{where}: unknown key {unknown[0]!r} (known: call, source, stage)", path)
    slug = raw.get("stage")
    if not isinstance(slug, str) or slug not in ALL_SLUGS:
        raise NbsplitError(f"{where}: stage must be one of {', '.join(ALL_SLUGS)}, got {slug!r}"[:300], path)
    call, source = raw.get("call"), raw.get("source")
    if (call is None) == (source is None):
        raise NbsplitError(f"{where}: give exactly one of 'call' or 'source'", path)
    for key, value in (("call", call), ("source", source)):
        if value is not None and (not isinstance(value, str) or not value):
            raise NbsplitError(f"{where}: {key} must be a non-empty string, got {_type(value)}", path)
    if source is not None:
        try:
            re.compile(source)
        except re.error as exc:
            raise NbsplitError(f"{where}: bad regular expression {source!r}: {exc}", path) from None
    return Rule(stage=Stage(slug), call=call, source=source)
