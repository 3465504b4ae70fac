"""Local stand-ins for what a Databricks notebook takes for granted: ``dbutils``, ``display``,
``displayHTML``, ``spark``, and the ``%sql``/``%pip`` magics.

``nbsplit run`` loads this file into every kernel it starts through an IPython startup file (an
``IPYTHONDIR`` of its own under ``.nbsplit/``), so the converted notebooks on disk stay exactly
what Databricks runs, and cell positions in the executed notebooks match the files. Names the
notebook defines itself win: a stand-in is only bound when the name is absent.

This module is self-contained (standard library only, pandas/pyspark/IPython imported lazily):
the kernel may not be able to import nbsplit. It is configured by environment variables the
runner sets for each task:

- ``NBSPLIT_JOB_PARAMETERS``: JSON object of job parameters, the values widgets return;
- ``NBSPLIT_STATE_DIR``: the ``.nbsplit`` folder (task values, ``dbfs:/`` root);
- ``NBSPLIT_TASK_KEY``: the running task (``dbutils.jobs.taskValues.set`` writes under it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any, NamedTuple

ENV_PARAMETERS = "NBSPLIT_JOB_PARAMETERS"
ENV_STATE_DIR = "NBSPLIT_STATE_DIR"
ENV_TASK_KEY = "NBSPLIT_TASK_KEY"
TASK_VALUE_LIMIT = 48 * 1024  # bytes, as on Databricks
DISPLAY_ROWS = 1000


def _state_dir() -> Path:
    return Path(os.environ.get(ENV_STATE_DIR) or ".nbsplit")


# ----------------------------------------------------------------------------------- widgets

class InputWidgetNotDefined(ValueError):
    """Raised like Databricks' ``InputWidgetNotDefined`` for an unknown widget."""


class Widgets:
    """``dbutils.widgets``: job parameters win over a widget's default, values are strings."""

    def __init__(self, parameters: dict[str, Any] | None = None) -> None:
        self._parameters = {str(k): str(v) for k, v in (parameters or {}).items()}
        self._defaults: dict[str, str] = {}

    def _define(self, name: str, default: Any, choices: Any = None) -> None:
        default = "" if default is None else str(default)
        if choices is not None:
            choices = [str(c) for c in choices]
            # Databricks refuses a default outside the choices (multiselect: each of its values).
            values = default.split(",") if default else []
            if any(v not in choices for v in values) or (not values and choices):
                raise ValueError(f"default value {default!r} of widget {name!r} is not one of {choices}")
        self._defaults[str(name)] = default

    def text(self, name: str, defaultValue: Any = "", label: str | None = None) -> None:
        self._define(name, defaultValue)

    def dropdown(self, name: str, defaultValue: Any, choices: Any, label: str | None = None) -> None:
        self._define(name, defaultValue, choices)

    def combobox(self, name: str, defaultValue: Any, choices: Any, label: str | None = None) -> None:
        self._define(name, defaultValue)  # a combobox accepts values outside its choices

    def multiselect(self, name: str, defaultValue: Any, choices: Any, label: str | None = None) -> None:
        self._define(name, defaultValue, choices)

    def get(self, name: str) -> str:
        if name in self._parameters:
            return self._parameters[name]
        if name in self._defaults:
            return self._defaults[name]
        raise InputWidgetNotDefined(f"No input widget named {name} is defined")

    def getArgument(self, name: str, optional: Any = None) -> Any:
        try:
            return self.get(name)
        except InputWidgetNotDefined:
            return optional

    def getAll(self) -> dict[str, str]:
        return {**self._defaults, **self._parameters}

    def remove(self, name: str) -> None:
        self._defaults.pop(name, None)

    def removeAll(self) -> None:
        self._defaults.clear()

    def help(self) -> None:
        print("nbsplit stand-in for dbutils.widgets: text, dropdown, combobox, multiselect, get, "
              "getArgument, getAll, remove, removeAll")


# ------------------------------------------------------------------------------ task values

class TaskValues:
    """``dbutils.jobs.taskValues``: one JSON file per task under ``.nbsplit/task_values`` so a
    value set by one task (kernel) is read by the tasks after it."""

    def __init__(self, folder: Path, task_key: str | None) -> None:
        self._folder = folder
        self._task_key = task_key

    def _file(self, task_key: str) -> Path:
        return self._folder / f"{task_key}.json"

    def _read(self, task_key: str) -> dict[str, Any]:
        try:
            return json.loads(self._file(task_key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def set(self, key: str, value: Any) -> None:
        text = json.dumps(value)  # TypeError for what Databricks would refuse too
        if len(text.encode()) > TASK_VALUE_LIMIT:
            raise ValueError(f"task value {key!r} is larger than 48 KiB")
        if self._task_key is None:
            return  # outside a job Databricks ignores set() as well
        values = self._read(self._task_key)
        values[key] = json.loads(text)
        self._folder.mkdir(parents=True, exist_ok=True)
        tmp = self._file(self._task_key).with_suffix(".tmp")
        tmp.write_text(json.dumps(values, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self._file(self._task_key))

    def get(self, taskKey: str, key: str, default: Any = None, debugValue: Any = None) -> Any:
        values = self._read(taskKey)
        if key in values:
            return values[key]
        # A monolithic notebook (the source, run by --compare) plays every task itself.
        own = self._read(self._task_key) if self._task_key and self._task_key != taskKey else {}
        if key in own:
            return own[key]
        if default is not None:
            return default
        if debugValue is not None:
            return debugValue
        raise ValueError(f"task value {key!r} of task {taskKey!r} was not set: run task {taskKey!r} "
                         "first, or pass default=")

    def help(self) -> None:
        print("nbsplit stand-in for dbutils.jobs.taskValues: set(key, value), get(taskKey, key, default, debugValue)")


class Jobs:
    def __init__(self, task_values: TaskValues) -> None:
        self.taskValues = task_values


# ----------------------------------------------------------------------------------------- fs

class FileInfo(NamedTuple):
    path: str
    name: str
    size: int
    modificationTime: int


class Fs:
    """``dbutils.fs`` on local paths; ``dbfs:/x`` and ``/dbfs/x`` live under ``.nbsplit/dbfs/x``
    and ``file:/x`` is the local ``/x``."""

    def __init__(self, dbfs_root: Path) -> None:
        self._root = dbfs_root

    def _local(self, path: str) -> Path:
        path = str(path)
        for prefix in ("dbfs:", "/dbfs/"):
            if path.startswith(prefix):
                return self._root / path[len(prefix):].lstrip("/")
        if path.startswith("file:"):
            return Path("/" + path[len("file:"):].lstrip("/"))
        return Path(path)

    def ls(self, dir: str) -> list[FileInfo]:
        local = self._local(dir)
        if not local.exists():
            raise FileNotFoundError(f"java.io.FileNotFoundException: File {dir} does not exist.")
        entries = [local] if local.is_file() else sorted(local.iterdir())
        out = []
        base = str(dir).rstrip("/")
        for entry in entries:
            stat = entry.stat()
            is_dir = entry.is_dir()
            name = entry.name + ("/" if is_dir else "")
            path = str(dir) if entry is local else f"{base}/{name}"
            out.append(FileInfo(path, name, 0 if is_dir else stat.st_size, int(stat.st_mtime * 1000)))
        return out

    def mkdirs(self, dir: str) -> bool:
        self._local(dir).mkdir(parents=True, exist_ok=True)
        return True

    def put(self, file: str, contents: str, overwrite: bool = False) -> bool:
        local = self._local(file)
        if local.exists() and not overwrite:
            raise FileExistsError(f"File {file} already exists; pass overwrite=True")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(contents, encoding="utf-8")
        return True

    def head(self, file: str, maxBytes: int = 65536) -> str:
        with open(self._local(file), "rb") as fh:
            return fh.read(maxBytes).decode("utf-8", errors="replace")

    def rm(self, dir: str, recurse: bool = False) -> bool:
        local = self._local(dir)
        if not local.exists():
            return False
        if local.is_dir():
            if not recurse and any(local.iterdir()):
                raise OSError(f"{dir} is a non-empty directory; pass recurse=True")
            shutil.rmtree(local)
        else:
            local.unlink()
        return True

    def cp(self, from_: str, to: str, recurse: bool = False) -> bool:
        src, dst = self._local(from_), self._local(to)
        if src.is_dir():
            if not recurse:
                raise OSError(f"{from_} is a directory; pass recurse=True")
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        return True

    def mv(self, from_: str, to: str, recurse: bool = False) -> bool:
        src, dst = self._local(from_), self._local(to)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), str(dst))
        return True

    def help(self) -> None:
        print("nbsplit stand-in for dbutils.fs: ls, mkdirs, put, head, rm, cp, mv (local paths; "
              "dbfs:/ under .nbsplit/dbfs)")


# --------------------------------------------------------------------------- notebook, misc

class NotebookExit(Exception):
    """``dbutils.notebook.exit(value)``: ends the notebook successfully (see ``install``)."""

    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value


class NotebookUtils:
    def exit(self, value: Any = "") -> None:
        raise NotebookExit(value)

    def run(self, path: str, timeout_seconds: int = 0, arguments: Any = None) -> str:
        raise NotImplementedError("dbutils.notebook.run is not available in nbsplit run: make the "
                                  "called notebook a stage or a %run-free helper")


class Library:
    def restartPython(self) -> None:
        """Nothing to restart: packages are not installed by the local run."""


class Secrets:
    """``dbutils.secrets.get(scope, key)`` reads ``NBSPLIT_SECRET_<SCOPE>_<KEY>`` locally."""

    @staticmethod
    def env_name(scope: str, key: str) -> str:
        return "NBSPLIT_SECRET_" + re.sub(r"[^A-Za-z0-9]+", "_", f"{scope}_{key}").upper()

    def get(self, scope: str, key: str) -> str:
        name = self.env_name(scope, key)
        if name in os.environ:
            return os.environ[name]
        raise KeyError(f"secret {scope}/{key} is not available locally: set the environment "
                       f"variable {name}")


class DBUtils:
    def __init__(self, parameters: dict[str, Any], state_dir: Path, task_key: str | None) -> None:
        self.widgets = Widgets(parameters)
        self.jobs = Jobs(TaskValues(state_dir / "task_values", task_key))
        self.fs = Fs(state_dir / "dbfs")
        self.notebook = NotebookUtils()
        self.library = Library()
        self.secrets = Secrets()

    def help(self) -> None:
        print("nbsplit local stand-in for dbutils: widgets, jobs.taskValues, fs, notebook.exit, "
              "library.restartPython, secrets (environment variables)")


def dbutils_from_env() -> DBUtils:
    parameters = json.loads(os.environ.get(ENV_PARAMETERS) or "{}")
    return DBUtils(parameters, _state_dir(), os.environ.get(ENV_TASK_KEY) or None)


# ------------------------------------------------------------------------------------ display

def _is_spark_frame(obj: Any) -> bool:
    return any(c.__name__ == "DataFrame" and c.__module__.startswith("pyspark.sql")
               for c in type(obj).__mro__)


def display(obj: Any = None, *args: Any, **kwargs: Any) -> None:
    """Databricks ``display``: a Spark DataFrame shows its first rows as a table (pandas'
    text and HTML); anything else goes to IPython's display."""
    from IPython.display import display as ipython_display

    if _is_spark_frame(obj):
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not yet fully support pandas")
            obj = obj.limit(DISPLAY_ROWS).toPandas()
    ipython_display(obj, *args)


def displayHTML(html: str) -> None:
    from IPython.display import HTML, display as ipython_display

    ipython_display(HTML(html))


# -------------------------------------------------------------------------------------- spark

_SPARK_USE = re.compile(r"(?<![\w.'\"])spark\b(?!\s*=[^=])")

ENV_SPARK = "NBSPLIT_SPARK"
ENV_SPARK_CONF = "NBSPLIT_SPARK_CONF"

# Adaptive execution sizes shuffle partitions from the data it sees, so the same aggregate over a
# handed-off DataFrame (restored partition by partition) and over the monolith's lazy plan would
# group rows differently: `groupBy().count().show()` orders rows differently, float sums differ in
# the last digits, a seeded randomSplit after a shuffle draws other rows. Fixed, few partitions keep
# runs reproducible (and fast on small data). The same settings go to the source runs of
# `--compare` and to every stage (the manifest records them), whoever creates the session.
SPARK_CONF: dict[str, str] = {
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
}


def spark_conf() -> dict[str, str]:
    """The run's Spark settings: the manifest's (through the environment), else ``SPARK_CONF``."""
    raw = os.environ.get(ENV_SPARK_CONF)
    return {str(k): str(v) for k, v in json.loads(raw).items()} if raw else dict(SPARK_CONF)


def create_spark() -> Any:
    """A local Spark session like Databricks' ``spark`` (all cores, no UI)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master("local[*]").appName("nbsplit-run")
    builder = builder.config("spark.ui.enabled", "false")
    for key, value in spark_conf().items():
        builder = builder.config(key, value)
    warehouse = _state_dir() / "spark-warehouse"
    builder = builder.config("spark.sql.warehouse.dir", str(warehouse.resolve()))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def configure_session(session: Any) -> None:
    """Give a session the notebook made itself (``SparkSession.builder.getOrCreate()``, pandas
    API on Spark, a handoff load) the run's settings, except those its builder set explicitly."""
    explicit = session.sparkContext.getConf()
    for key, value in spark_conf().items():
        if not explicit.contains(key):
            session.conf.set(key, value)


def _ensure_spark(shell: Any) -> Any:
    if shell.user_ns.get("spark") is None:
        shell.user_ns["spark"] = create_spark()
    return shell.user_ns["spark"]


def cell_needs_spark(source: str) -> bool:
    """The cell reads ``spark`` and does not build its own session."""
    return bool(_SPARK_USE.search(source)) and "getOrCreate(" not in source


# ------------------------------------------------------------------------------------- magics

def split_sql(text: str) -> list[str]:
    """SQL statements separated by ``;`` outside quotes and ``--`` comments."""
    statements, current, quote, i = [], [], None, 0
    while i < len(text):
        ch = text[i]
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
            current.append(ch)
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif ch == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if s.strip()]


def _sql_magic(shell: Any, line: str, cell: str | None = None) -> Any:
    spark = _ensure_spark(shell)
    result = None
    for statement in split_sql((line or "") + "\n" + (cell or "")):
        result = spark.sql(statement)
    if result is not None:
        shell.user_ns["_sqldf"] = result
        if result.columns:
            display(result)
    return None


_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_PIP_VALUE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url",
                      "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix"}


def pip_install_plan(args: list[str]) -> list[tuple[str, str | None]]:
    """``(requirement, installed version or None)`` for each requirement of ``pip install``."""
    from importlib import metadata

    out: list[tuple[str, str | None]] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in _PIP_VALUE_OPTIONS:
            skip = True
            continue
        if arg.startswith("-"):
            continue
        match = _REQUIREMENT_NAME.match(arg)
        if not match or "/" in arg:
            out.append((arg, None))
            continue
        try:
            out.append((arg, metadata.version(match.group(1))))
        except metadata.PackageNotFoundError:
            out.append((arg, None))
    return out


def _pip_magic(shell: Any, original: Any, line: str) -> None:
    import shlex

    args = shlex.split(line)
    # the verb may follow pip's own options (``%pip -q install x``): handing that line to the real
    # magic installed for real
    verb = next((a for a in args if a in ("install", "uninstall")), None)
    if verb != "install":
        if verb == "uninstall":
            print(f"nbsplit run: skipped %pip {line} (the local run does not change packages)")
            return
        if original is not None:
            return original(line)
        return None
    for requirement, version in pip_install_plan(args[args.index("install") + 1:]):
        if version is not None:
            print(f"nbsplit run: skipped %pip install {requirement} (installed: {version})")
        else:
            print(f"nbsplit run: NOT installing {requirement}: the local run does not change "
                  f"packages; install it into this environment (pip install {requirement!r})")


# ``!pip install x`` and its spellings: ``!pip3.11``, ``!python3.10 -m pip``, ``!{sys.executable} -m
# pip`` (the usual advice for installing into the kernel's own Python), options before the verb
_SHELL_PIP = re.compile(r"^(\s*)!\s*(?:pip[\d.]*|(?:python[\d.]*|\"?\{sys\.executable\}\"?)\s+-m\s+pip)"
                        r"\s+((?:-[\w-]+\s+)*(?:un)?install\b.*)$")
_CONDA_CHANGES = ("install", "remove", "uninstall", "update", "upgrade")
_SHELL_CONDA = re.compile(rf"^(\s*)!\s*(conda|mamba)\s+((?:-[\w-]+\s+)*(?:{'|'.join(_CONDA_CHANGES)})\b.*)$")


def _conda_magic(original: Any, name: str, line: str) -> None:
    import shlex

    if any(a in _CONDA_CHANGES for a in shlex.split(line)):
        print(f"nbsplit run: skipped %{name} {line} (the local run does not change packages)")
        return None
    return original(line) if original is not None else None


def shell_pip_transform(lines: list[str]) -> list[str]:
    """``!pip install x`` (Colab and Kaggle notebooks' habit) becomes ``%pip install x``: the
    local run changes no packages either way, and the source runs and the stages print the same."""
    out = []
    for line in lines:
        body = line.rstrip("\n")
        match = _SHELL_PIP.match(body)
        if match is not None:
            out.append(f"{match.group(1)}%pip {match.group(2)}" + line[len(body):])
            continue
        match = _SHELL_CONDA.match(body)
        out.append(line if match is None else
                   f"{match.group(1)}%{match.group(2)} {match.group(3)}" + line[len(body):])
    return out


_FIRST_MAGIC = re.compile(r"^(\s*)%(sql|python|md|md-sandbox|sh|restart_python)\b[ \t]*(.*)$")


def databricks_magic_transform(lines: list[str]) -> list[str]:
    """Databricks cells start with ``%sql``/``%python``/``%md``/``%sh`` and the whole cell is in
    that language: turn them into IPython cell magics (or plain Python / nothing)."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return lines
    match = _FIRST_MAGIC.match(lines[first].rstrip("\n"))
    if not match:
        return lines
    kind, rest = match.group(2), match.group(3)
    body = ([rest + "\n"] if rest.strip() else []) + lines[first + 1:]
    if kind == "python":
        return lines[:first] + body
    if kind in ("md", "md-sandbox"):
        return ["pass\n"]
    if kind == "restart_python":
        return lines  # a line magic of its own
    magic = "%%sh\n" if kind == "sh" else "%%sql\n"
    return lines[:first] + [magic] + body


# ------------------------------------------------------------------------------------ install

def install(shell: Any) -> None:
    """Bind the stand-ins in ``shell`` (an IPython InteractiveShell) where names are absent."""
    ns = shell.user_ns
    # Spark workers must use this kernel's Python (with its packages), not the first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if "dbutils" not in ns:
        ns["dbutils"] = dbutils_from_env()
    ns.setdefault("display", display)
    ns.setdefault("displayHTML", displayHTML)
    _install_exit(shell)
    _install_spark_hook(shell)
    _install_inline_figures(shell)
    _install_magics(shell)
    _install_noninteractive_system()


def run_shell_command(cmd: str) -> int:
    """A ``!cmd`` line: run with no input, its output (stdout and stderr, in order) printed as it
    comes; the exit status.

    IPython runs ``!cmd`` on a pseudo-terminal, so a command that asks a question waits for an
    answer no one gives: ``!unzip data.zip`` hangs on the second run, asking whether to replace
    what the first extracted, until the cell times out. With no input it takes its default
    (unzip: replace [N]one) and the cell goes on, as it does on a Databricks job."""
    import codecs
    import subprocess

    shell = os.environ.get("SHELL") or None
    proc = subprocess.Popen(cmd, shell=True, executable=shell if shell and os.path.exists(shell) else None,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    assert proc.stdout is not None
    try:
        for chunk in iter(lambda: proc.stdout.read1(65536), b""):  # type: ignore[union-attr]
            sys.stdout.write(decoder.decode(chunk))
            sys.stdout.flush()
        sys.stdout.write(decoder.decode(b"", final=True))
        return proc.wait()
    except KeyboardInterrupt:
        proc.kill()
        proc.wait()
        raise


def _install_noninteractive_system() -> None:
    # The kernel's ``!cmd`` (system_piped) calls its module's ``system`` with the command already
    # expanded ($var, {expr}); replacing that function keeps the expansion and the _exit_code.
    module = sys.modules.get("ipykernel.zmqshell")
    if module is not None and callable(getattr(module, "system", None)) and os.name == "posix":
        module.system = run_shell_command  # type: ignore[attr-defined]


def _install_magics(shell: Any) -> None:
    # ipython-sql (``%load_ext sql``) registers its own ``sql`` magic later and then wins.
    shell.register_magic_function(lambda line, cell=None: _sql_magic(shell, line, cell),
                                  magic_kind="line_cell", magic_name="sql")
    sql_magic = shell.find_cell_magic("sql")

    def transform(lines: list[str]) -> list[str]:
        if shell.find_cell_magic("sql") is not sql_magic:
            return lines
        return databricks_magic_transform(lines)

    shell.input_transformers_cleanup.append(transform)
    shell.input_transformers_cleanup.append(shell_pip_transform)
    original_pip = shell.find_line_magic("pip")
    shell.register_magic_function(lambda line: _pip_magic(shell, original_pip, line),
                                  magic_kind="line", magic_name="pip")
    for name in ("conda", "mamba"):
        original = shell.find_line_magic(name)
        shell.register_magic_function(lambda line, name=name, original=original: _conda_magic(original, name, line),
                                      magic_kind="line", magic_name=name)
    shell.register_magic_function(lambda line: None, magic_kind="line", magic_name="restart_python")


def _install_spark_hook(shell: Any) -> None:
    # NBSPLIT_SPARK=1: the plan found that this task needs Spark (a pyspark API, a Spark value it
    # loads), so the session exists before the first cell, as on Databricks.
    wanted = os.environ.get(ENV_SPARK) == "1"
    configured: set[int] = set()

    def pre_run_cell(info: Any) -> None:
        source = getattr(info, "raw_cell", "") or ""
        if not cell_needs_spark(source) and ("_nbsplit_start(" in source or "handoff_dir" in source):
            # The stage's parameters and runtime start come first: they move the kernel to the
            # notebook's data_dir, and the JVM must start there so Spark's relative paths (read
            # and write) resolve as in the monolith.
            return
        if shell.user_ns.get("spark") is None and (wanted or cell_needs_spark(source)) \
                and "getOrCreate(" not in source:
            # pre_run_cell runs outside the cell's builtins: pandas, first imported here by
            # pyspark, would miss get_ipython, take the kernel for a terminal and print every
            # later frame in a terminal's layout (the monolith's frames unlike a stage's).
            with shell.builtin_trap:
                configured.add(id(_ensure_spark(shell)))

    def post_run_cell(result: Any) -> None:
        if "pyspark.sql" not in sys.modules:
            return
        session = sys.modules["pyspark.sql"].SparkSession.getActiveSession()
        if session is None or id(session) in configured:
            return
        configured.add(id(session))
        source = getattr(getattr(result, "info", None), "raw_cell", "") or ""
        # A session the notebook's own builder made runs under the notebook's settings, in the
        # monolith and in every stage (the builder is carried like setup); one a handoff load or
        # the pandas API on Spark made gets the run's.
        if "getOrCreate(" not in source or "_nbsplit_" in source:
            configure_session(session)

    shell.events.register("pre_run_cell", pre_run_cell)
    shell.events.register("post_run_cell", post_run_cell)


_INLINE_BACKENDS = ("inline", "module://matplotlib_inline.backend_inline")


def _install_inline_figures(shell: Any) -> None:
    """Every figure shows in the outputs of the cell that drew it, in the source run and in the
    stages alike.

    The kernel loads matplotlib's inline backend when a cell first draws, and the backend then
    hooks itself in to show figures after each cell. With matplotlib before 3.8 that hook fails
    on a circular import and is retried after the cell, so the first figure shows at the end of
    the *next* cell the kernel runs: in the monolith one cell, in a stage another (the next cell
    of that stage), and ``run --compare`` would report a difference the split did not make.
    After each cell, when the backend is loaded but not hooked in, this does what the retry
    does (``%matplotlib inline``'s setup) and shows the cell's figures then."""

    def post_execute() -> None:
        inline = sys.modules.get("matplotlib_inline.backend_inline")
        matplotlib = sys.modules.get("matplotlib")
        if inline is None or matplotlib is None or inline.flush_figures in shell.events.callbacks["post_execute"]:
            return
        try:
            # dict.__getitem__: reading rcParams["backend"] would resolve an unset backend
            backend = dict.__getitem__(matplotlib.rcParams, "backend")
            if backend not in _INLINE_BACKENDS:
                return
            from IPython.core.pylabtools import activate_matplotlib

            activate_matplotlib(backend)
            inline.configure_inline_support(shell, backend)
        except Exception:  # noqa: BLE001 - never a cell's error; the backend's own retry still runs
            return
        inline.flush_figures()

    shell.events.register("post_execute", post_execute)


def _install_exit(shell: Any) -> None:
    """``dbutils.notebook.exit``: the cell stops, the cell counts as successful and every later
    cell is skipped, as on Databricks."""
    state = {"exited": False}

    def handler(self: Any, etype: Any, value: Any, tb: Any, tb_offset: Any = None) -> None:
        state["exited"] = True
        print(f"Notebook exited: {value.value}")

    def post_run_cell(result: Any) -> None:
        if isinstance(getattr(result, "error_in_exec", None), NotebookExit):
            result.error_in_exec = None  # the kernel then replies "ok"

    def skip_after_exit(lines: list[str]) -> list[str]:
        return ["pass\n"] if state["exited"] else lines

    shell.set_custom_exc((NotebookExit,), handler)
    shell.events.register("post_run_cell", post_run_cell)
    shell.input_transformers_cleanup.insert(0, skip_after_exit)


STARTUP_TEMPLATE = '''\
# Written by nbsplit run: loads the Databricks stand-ins into this kernel.
def _nbsplit_startup():
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("_nbsplit_standins", {path!r})
    module = importlib.util.module_from_spec(spec)
    sys.modules["_nbsplit_standins"] = module
    spec.loader.exec_module(module)
    module.install(get_ipython())


_nbsplit_startup()
del _nbsplit_startup
'''


def write_ipython_dir(ipython_dir: Path) -> Path:
    """An ``IPYTHONDIR`` whose startup file installs these stand-ins; returns it."""
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    module = ipython_dir / "nbsplit_standins.py"
    module.write_text(Path(__file__).read_text(encoding="utf-8"), encoding="utf-8")
    (startup / "00-nbsplit-standins.py").write_text(STARTUP_TEMPLATE.format(path=str(module)),
                                                    encoding="utf-8")
    # History off: parallel kernels would share one sqlite history file.
    (ipython_dir / "profile_default" / "ipython_kernel_config.py").write_text(
        "c.HistoryManager.enabled = False\n"
        "c.IPKernelApp.log_level = \"ERROR\"  # not the TCP-without-encryption warning per kernel\n",
        encoding="utf-8")
    return ipython_dir

