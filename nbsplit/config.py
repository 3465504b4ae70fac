"""``[tool.nbsplit]`` in the nearest pyproject.toml -> a frozen ``Config``.

Precedence is defaults < ``[tool.nbsplit]`` < command line: the CLI passes the file's values as
click's ``default_map``-like defaults and lets explicit options win. Unknown keys are errors, so
a typo in the config never silently does nothing.

Example::

    [tool.nbsplit]
    threshold = 0.6          # cells classified below this confidence are reported as uncertain
    require-tags = false     # nbsplit check: every non-empty code cell must carry a stage tag
    ignore = ["NBS104"]      # nbsplit check rule codes switched off

    [[tool.nbsplit.rules]]   # user rules, checked before the heuristics
    call = "mycompany.features.*"   # fnmatch on resolved call names (pandas.read_csv, df.fillna)
    stage = "featurization"

    [[tool.nbsplit.rules]]
    source = "spark\\.table\\(.*bronze"   # a regular expression searched in the cell source
    stage = "data-prep"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from nbsplit.errors import NbsplitError
from nbsplit.model import ALL_SLUGS, Stage

DEFAULT_THRESHOLD = 0.6
_KEYS = {"threshold", "require-tags", "ignore", "rules", "strict", "format"}
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
    path: Path | None = field(default=None, compare=False)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` (a file or a folder)."""
    here = start.resolve()
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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise NbsplitError(f"cannot read [tool.nbsplit]: {exc}", path) from None
    section = data.get("tool", {}).get("nbsplit")
    if section is None:
        return Config(path=path)
    return parse_config(section, path)


def parse_config(section: dict, path: Path | None = None) -> Config:
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise NbsplitError(
            f"unknown key {unknown[0]!r} in [tool.nbsplit] (known: {', '.join(sorted(_KEYS))})", path
        )
    threshold = section.get("threshold", DEFAULT_THRESHOLD)
    if not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise NbsplitError(f"[tool.nbsplit] threshold must be a number in 0..1, got {threshold!r}", path)
    ignore = section.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(c, str) for c in ignore):
        raise NbsplitError("[tool.nbsplit] ignore must be a list of rule codes like \"NBS104\"", path)
    fmt = section.get("format", "ipynb")
    if fmt not in ("ipynb", "databricks", "percent"):
        raise NbsplitError(f"[tool.nbsplit] format must be ipynb, databricks or percent, got {fmt!r}", path)
    return Config(
        threshold=float(threshold),
        require_tags=bool(section.get("require-tags", False)),
        ignore=tuple(ignore),
        rules=tuple(_parse_rule(r, i, path) for i, r in enumerate(section.get("rules", []))),
        strict=bool(section.get("strict", False)),
        format=fmt,
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
    if slug not in ALL_SLUGS:
        raise NbsplitError(f"{where}: stage must be one of {', '.join(ALL_SLUGS)}, got {slug!r}", path)
    call, source = raw.get("call"), raw.get("source")
    if (call is None) == (source is None):
        raise NbsplitError(f"{where}: give exactly one of 'call' or 'source'", path)
    if source is not None:
        try:
            re.compile(source)
        except re.error as exc:
            raise NbsplitError(f"{where}: bad regular expression {source!r}: {exc}", path) from None
    return Rule(stage=Stage(slug), call=call, source=source)
