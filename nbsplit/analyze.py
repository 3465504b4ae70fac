"""Per-cell code analysis: one libcst parse and one walk per cell -> ``CellFacts``.

Why a hand-written walk instead of ``CSTVisitor`` + ``ScopeProvider``: libcst's visitor rebuilds
every node it passes and the metadata wrapper costs milliseconds per cell, while ``nbsplit plan``
must handle a thousand cells in about a second. The walk below dispatches on node type, skips
whitespace nodes, and tracks scopes itself in source (evaluation) order, which is also what makes
``x = x + 1`` a read of ``x`` before its binding.

Scope rules (documented because the plan depends on them):

- The cell's top level is flow-sensitive: a load reads from before the cell unless the name is
  *definitely* bound earlier in the cell. Bindings inside ``if`` (without a binding ``else``),
  loop bodies, ``try`` bodies/handlers and ``match`` cases are only *possibly* bound, so a later
  load of such a name still counts as a read (its value may come from before the cell); it is in
  ``defines`` all the same.
- Function, class, lambda and comprehension bodies have their own locals (Python's rule: bound
  anywhere in the body means local, unless declared ``global``/``nonlocal``). Free names of a
  top-level ``def``/``class`` go to its ``FunctionInfo``; free names of lambdas and
  comprehensions at the top level are reads of the cell (they usually run right away).
- Augmented assignment ``x += 1`` at top level mutates ``x`` (and reads it); it is not in
  ``defines``. ``del x`` mutates ``x``.
- A presence check names the name it checks: ``"x" in globals()`` (or ``not in``, ``locals()``,
  ``vars()``, ``dir()``) and ``globals().get("x")`` read ``x``. A "rerunnable on its own" cell
  rebuilds what is missing; a stage that did not hold ``x`` where the monolith did rebuilt it.
"""

from __future__ import annotations

import ast
import keyword
import re
from typing import Any, Callable, Iterable, Mapping

import nbsplit.fastimport  # noqa: F401  (imports libcst with its dataclass code cached)
import libcst as cst

from nbsplit.analyze_text import (
    BUILTIN_NAMES,
    DATABRICKS_LANGS,
    MUTATING_METHODS,
    SQL_LEN,
    STRING_CAP,
    STRING_LEN,
    Masked,
    fallback_facts,
    leading_indent,
    literal_text,
    mask_ipython,
    parse_error_message,
    sql_writes,
)
from nbsplit.analyze_idioms import idiom_facts
from nbsplit.indirect_changes import with_indirect_changes
from nbsplit.cstwalk import children, inner_children
from nbsplit.model import Call, Cell, CellFacts, ColumnWrite, FunctionInfo, Notebook
from nbsplit.run_scripts import run_sources
from nbsplit.parse_guard import safe_ast, too_deep

__all__ = ["analyze_cell", "analyze_source", "analyze_notebook", "MUTATING_METHODS",
           "SIDE_EFFECT_METHODS"]

# builtins whose result lists the names bound where they are called
_NAMESPACE_CALLS = frozenset({"globals", "locals", "vars", "dir"})

# Calls that write files/tables/runs or change global state: a cell making one is not
# "display only" even though it is a bare expression. Plot calls are deliberately absent.
SIDE_EFFECT_METHODS: frozenset[str] = frozenset({
    "to_csv", "to_parquet", "to_excel", "to_json", "to_pickle", "to_sql", "to_feather", "to_hdf",
    "to_stata", "to_orc", "to_delta", "to_table", "to_spark_io",
    "saveAsTable", "insertInto", "save", "saveAsTextFile", "savefig", "save_model", "dump",
    "write", "writelines", "start", "awaitTermination",
    "register_model", "createOrReplaceTempView", "createTempView", "createGlobalTempView",
    "createOrReplaceGlobalTempView", "set_option", "filterwarnings", "simplefilter", "seed",
    "manual_seed", "set_seed", "set_random_seed", "run_line_magic", "run_cell_magic", "system",
    "download", "chdir", "makedirs", "mkdir", "remove", "unlink", "rmtree", "copyfile",
    "set_tracking_uri", "set_registry_uri", "set_experiment", "autolog", "start_run", "end_run",
    "set_tag", "set_tags", "use", "set_theme", "set_style", "set_context", "set_palette",
    "basicConfig", "setLevel", "upload", "upload_file", "put", "post", "mount", "unmount",
    "rm", "cp", "mv", "mkdirs", "install", "login", "init", "log",
})
# Functions that change their first argument in place.
ARGUMENT_MUTATORS: frozenset[str] = frozenset({
    "random.shuffle", "numpy.random.shuffle", "numpy.fill_diagonal", "numpy.copyto", "numpy.put",
    "numpy.place", "numpy.putmask", "heapq.heappush", "heapq.heapify",
})

_MLFLOW_WRITE_PREFIXES = ("log", "set_", "start_run", "end_run", "register", "autolog", "create",
                          "delete", "save", "enable", "disable", "transition")

_Node = cst.CSTNode


def _noop_method(walker: _Walker, node: _Node) -> None:
    return None


class _Scope:
    __slots__ = ("kind", "parent", "bound", "loads", "globals", "imports")

    def __init__(self, kind: str, parent: _Scope | None) -> None:
        self.kind = kind  # module, function, class, lambda, comp
        self.parent = parent
        self.bound: set[str] = set()
        self.loads: dict[str, None] = {}  # insertion-ordered set
        self.globals: set[str] = set()
        self.imports: dict[str, str] = {}


class _Owner:
    """Accumulates a top-level def/class while its body is walked."""

    __slots__ = ("name", "is_class", "free", "calls", "scope", "params", "positional", "rebound",
                 "changed")

    def __init__(self, name: str, is_class: bool) -> None:
        self.name = name
        self.is_class = is_class
        self.free: dict[str, None] = {}
        self.calls: list[Call] = []
        # a function's own scope and parameters, set once they are bound (None for a class)
        self.scope: _Scope | None = None
        self.params: tuple[str, ...] | None = None
        self.positional: tuple[str, ...] = ()
        self.rebound: set[str] = set()  # parameters assigned a new object in the body
        self.changed: dict[str, None] = {}  # parameters and globals the body changes in place


class _Walker:
    # type -> unbound handler, filled in after the class body (one dict lookup per node)
    _EXPR: dict[type, Callable[[_Walker, Any], None]] = {}
    _STMT: dict[type, Callable[[_Walker, Any], None]] = {}

    def __init__(self, imports: Mapping[str, str], shadowed: frozenset[str]) -> None:
        self.module = _Scope("module", None)
        self.scope = self.module
        self.import_map: dict[str, str] = dict(imports)
        self.shadowed = shadowed
        self.defines: set[str] = set()
        self.definite: set[str] = set()
        self.reads: set[str] = set()
        # reads after the cell's own conditional binding, and reads before any binding of it here
        self.self_bound_reads: set[str] = set()
        self.unbound_reads: set[str] = set()
        self.mutates: set[str] = set()
        self.imports: list[tuple[str, str]] = []
        self.calls: list[Call] = []
        self.functions: list[FunctionInfo] = []
        self.attributes: set[str] = set()
        self.strings: list[str] = []
        self.column_writes: list[ColumnWrite] = []
        self.subsets: list[tuple[str, str]] = []
        self.containers: list[tuple[str, tuple[str, ...]]] = []
        self.loops: list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = []
        self.owner: _Owner | None = None
        self.collectors: list[tuple[_Scope, list[str]]] = []
        self.side_effect = False
        self.branch_depth = 0  # > 0 inside a conditional block of the top level
        self.presence_checks: set[str] = set()  # "x" in globals(), globals().get("x")
    # -- dispatch --------------------------------------------------------------------------

    def expr(self, node: _Node | None) -> None:
        if node is None:
            return
        handler = self._EXPR.get(type(node))
        if handler is not None:
            handler(self, node)
        else:
            self.generic(node)

    def stmt(self, node: _Node) -> None:
        handler = self._STMT.get(type(node))
        if handler is not None:
            handler(self, node)
        else:
            self.generic(node)

    def generic(self, node: _Node) -> None:
        """Walk the children of a node we have no rule for (rare or new syntax), loading names."""
        for child in children(node):
            t = type(child)
            if t in self._EXPR:
                self._EXPR[t](self, child)
            elif t in self._STMT:
                self._STMT[t](self, child)
            elif not isinstance(child, _LEAVES):
                self.generic(child)

    def block(self, suite: _Node) -> None:
        for s in suite.body:  # IndentedBlock and SimpleStatementSuite alike
            self.stmt(s)

    # -- names -----------------------------------------------------------------------------

    def is_builtin(self, name: str) -> bool:
        return name in BUILTIN_NAMES and name not in self.shadowed

    def load(self, name: str) -> None:
        scope = self.scope
        if scope is self.module:
            if name not in self.definite and not self.is_builtin(name):
                self.reads.add(name)
                (self.self_bound_reads if name in self.defines else self.unbound_reads).add(name)
        else:
            scope.loads[name] = None
        if self.collectors:
            target, names = self.collectors[-1]
            if target is scope:
                names.append(name)

    def bind(self, name: str, scope: _Scope | None = None, record: bool = True) -> None:
        scope = scope or self.scope
        if scope is self.module:
            self.definite.add(name)
            if record:
                self.defines.add(name)
                if not self.branch_depth:
                    # rebinding an import alias shadows it; a fallback such as
                    # ``except ImportError: xgb = None`` does not
                    self.import_map.pop(name, None)
        elif name in scope.globals:
            scope.loads[name] = None  # a write to a global: the function uses that name
            owner = self.owner
            if owner is not None and owner.params is not None:
                owner.changed[name] = None
        else:
            scope.bound.add(name)
            owner = self.owner
            if owner is not None and scope is owner.scope and owner.params is not None \
                    and name in owner.params:
                owner.rebound.add(name)

    def is_nested_local(self, name: str) -> bool:
        """Bound in a lambda/comprehension between here and the cell's top level."""
        scope = self.scope
        while scope is not self.module and scope is not None:
            if name in scope.bound:
                return True
            scope = scope.parent
        return False

    def mutate(self, name: str) -> None:
        # ``plt.rcParams[...] = ...`` configures a module: that is setup, not a value to hand
        # from one stage to the next, so import aliases are never "mutated".
        owner = self.owner
        if owner is not None:
            if owner.params is not None:
                self.owner_mutates(owner, name)
        elif not self.is_nested_local(name) and self.resolve_import(name) is None:
            self.mutates.add(name)

    def owner_mutates(self, owner: _Owner, name: str) -> None:
        """A top-level function's body changes ``name`` in place: record it when it is the
        caller's object (a parameter not yet rebound) or a global, not a local of the body."""
        scope = self.scope
        while scope is not owner.scope and scope is not None:
            if name in scope.bound or name in scope.imports:
                return  # a local of a nested function, lambda or comprehension
            scope = scope.parent
        if scope is None:
            return
        params = owner.params or ()
        if name in scope.bound:
            if name in params and name not in owner.rebound:
                owner.changed[name] = None
        elif name not in scope.imports and self.resolve_import(name) is None:
            owner.changed[name] = None

    def resolve_import(self, name: str) -> str | None:
        scope = self.scope
        while scope is not None:
            if scope is self.module:
                return self.import_map.get(name)
            if name in scope.imports:
                return scope.imports[name]
            if name in scope.bound:
                return None
            scope = scope.parent
        return None

    def push(self, kind: str) -> _Scope:
        self.scope = _Scope(kind, self.scope)
        return self.scope

    def pop(self) -> None:
        """Leave the current scope, handing its free names to whoever resolves them."""
        scope = self.scope
        if scope.kind == "function":
            free = [n for n in scope.loads if n not in scope.bound or n in scope.globals]
        else:
            free = [n for n in scope.loads if n not in scope.bound]
        parent = scope.parent
        assert parent is not None
        self.scope = parent
        target = parent
        while target.kind == "class" and target.parent is not None:
            target = target.parent  # class bodies do not enclose nested scopes
        if target is self.module and self.owner is not None:
            self.owner.free.update(dict.fromkeys(free))
        elif target is parent:
            for n in free:
                self.load(n)
        else:
            for n in free:
                target.loads[n] = None

    # -- expressions -----------------------------------------------------------------------

    def e_name(self, node: cst.Name) -> None:
        self.load(node.value)

    def e_attribute(self, node: cst.Attribute) -> None:
        self.attributes.add(node.attr.value)
        self.expr(node.value)

    def e_subscript(self, node: cst.Subscript) -> None:
        self.expr(node.value)
        self.slices(node)

    def slices(self, node: cst.Subscript) -> None:
        for el in node.slice:
            s = el.slice
            if type(s) is cst.Index:
                self.expr(s.value)
            else:
                self.expr(s.lower)
                self.expr(s.upper)
                self.expr(s.step)

    def add_string(self, text: str) -> None:
        if len(self.strings) < STRING_CAP:
            self.strings.append(text[:STRING_LEN])

    def e_string(self, node: cst.SimpleString) -> None:
        if len(self.strings) < STRING_CAP:
            text = literal_text(node.value)
            if text is not None:
                self.add_string(text)

    def e_concat(self, node: cst.ConcatenatedString) -> None:
        self.expr(node.left)
        self.expr(node.right)

    def e_fstring(self, node: cst.FormattedString) -> None:
        self.fparts(node.parts)

    def fparts(self, parts: Iterable[_Node]) -> None:
        for part in parts:
            if type(part) in _TEXT_PARTS:
                if part.value:
                    self.add_string(part.value)
            else:
                self.expr(part.expression)  # type: ignore[attr-defined]
                spec = getattr(part, "format_spec", None)
                if spec:
                    self.fparts(spec)

    def e_binop(self, node: _Node) -> None:
        self.expr(node.left)  # type: ignore[attr-defined]
        self.expr(node.right)  # type: ignore[attr-defined]

    def e_unary(self, node: cst.UnaryOperation) -> None:
        self.expr(node.expression)

    def e_compare(self, node: cst.Comparison) -> None:
        self.expr(node.left)
        for c in node.comparisons:
            self.expr(c.comparator)
        # ``if "preprocessor" not in globals():`` reads ``preprocessor``: the cell acts on whether
        # an earlier cell bound it, so a stage must hold what the monolith held there
        if type(node.left) is cst.SimpleString and any(
                type(c.operator) in (cst.In, cst.NotIn) and self.is_namespace_call(c.comparator)
                for c in node.comparisons):
            self.presence(node.left)

    def is_namespace_call(self, node: _Node) -> bool:
        """``globals()``, ``locals()``, ``vars()``, ``dir()``: the names bound at that point."""
        return type(node) is cst.Call and not node.args and type(node.func) is cst.Name \
            and node.func.value in _NAMESPACE_CALLS and self.is_builtin(node.func.value)

    def presence(self, literal: cst.SimpleString) -> None:
        try:
            name = literal.evaluated_value
        except Exception:  # noqa: BLE001 - a malformed literal names nothing
            return
        if isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name):
            self.presence_checks.add(name)
            self.load(name)

    def e_ifexp(self, node: cst.IfExp) -> None:
        self.expr(node.test)
        self.expr(node.body)
        self.expr(node.orelse)

    def e_elements(self, node: _Node) -> None:
        for el in node.elements:  # type: ignore[attr-defined]
            self.expr(el.value)

    def e_value(self, node: _Node) -> None:
        self.expr(node.value)  # type: ignore[attr-defined]

    def e_dict(self, node: cst.Dict) -> None:
        for el in node.elements:
            if type(el) is cst.DictElement:
                self.expr(el.key)
            self.expr(el.value)

    def e_await(self, node: cst.Await) -> None:
        self.expr(node.expression)

    def e_yield(self, node: cst.Yield) -> None:
        self.expr(node.value)

    def e_from(self, node: cst.From) -> None:
        self.expr(node.item)

    def e_walrus(self, node: cst.NamedExpr) -> None:
        self.expr(node.value)
        scope = self.scope
        while scope.kind == "comp" and scope.parent is not None:
            scope = scope.parent  # PEP 572: binds in the enclosing non-comprehension scope
        if type(node.target) is cst.Name:
            self.bind(node.target.value, scope)
        else:
            self.expr(node.target)

    def e_lambda(self, node: cst.Lambda) -> None:
        params = node.params
        for p in _all_params(params):
            self.expr(p.default)
        self.push("lambda")
        for p in _all_params(params):
            self.bind(p.name.value)
        self.expr(node.body)
        self.pop()

    def e_comp(self, node: _Node) -> None:
        for_in: cst.CompFor = node.for_in  # type: ignore[attr-defined]
        self.expr(for_in.iter)  # the first iterable runs in the enclosing scope
        self.push("comp")
        first = True
        comp: cst.CompFor | None = for_in
        while comp is not None:
            if not first:
                self.expr(comp.iter)
            first = False
            self.store(comp.target)
            for cond in comp.ifs:
                self.expr(cond.test)
            comp = comp.inner_for_in
        if type(node) is cst.DictComp:
            self.expr(node.key)
            self.expr(node.value)
        else:
            self.expr(node.elt)  # type: ignore[attr-defined]
        self.pop()

    def e_call(self, node: cst.Call) -> None:
        func = node.func
        self.expr(func)
        if type(func) is cst.Attribute and func.attr.value == "get" and node.args \
                and type(node.args[0].value) is cst.SimpleString and self.is_namespace_call(func.value):
            self.presence(node.args[0].value)  # ``globals().get("model")``
        collected: list[str] = []
        self.collectors.append((self.scope, collected))
        for arg in node.args:
            self.expr(arg.value)
        self.collectors.pop()
        if self.collectors and self.collectors[-1][0] is self.scope:
            self.collectors[-1][1].extend(collected)
        self.record_call(node, collected)

    def record_call(self, node: cst.Call, collected: list[str]) -> None:
        name, root, via_import, method_of_chain, chain_has_call = self.callee(node.func)
        keywords = tuple(a.keyword.value for a in node.args if a.keyword is not None)
        receiver = None
        if root is not None and not via_import and method_of_chain:
            if self.owner is not None or not self.is_nested_local(root):
                receiver = root
        args: list[str] = []
        for n in collected:
            if n in args or self.is_builtin(n) or self.resolve_import(n) is not None:
                continue
            args.append(n)
        call = Call(name, receiver=receiver, args=tuple(args), keywords=keywords,
                    passed=self.passed(node) if name == root and not via_import else ())
        method = call.method
        inplace = any(a.keyword is not None and a.keyword.value == "inplace"
                      and not (type(a.value) is cst.Name and a.value.value in ("False", "None"))
                      for a in node.args)
        mutating = inplace or (method_of_chain and method in MUTATING_METHODS)
        if receiver is not None and not chain_has_call and mutating:
            self.mutate(receiver)
        if (name in ARGUMENT_MUTATORS or method == "shuffle" and method_of_chain) and node.args \
                and node.args[0].keyword is None and type(node.args[0].value) is cst.Name:
            mutating = True  # ``np.random.shuffle(X)`` changes X; ``rng.shuffle(X)`` too
            self.mutate(node.args[0].value.value)
        if self.owner is not None:
            self.owner.calls.append(call)
            return
        self.calls.append(call)
        if method in ("withColumn", "assign") and node.args:
            self.call_columns(node, method, root if method_of_chain else None)
        if mutating or self.is_side_effect(name, method, node):
            self.side_effect = True

    def passed(self, node: cst.Call) -> tuple[tuple[int | str, str], ...]:
        """The variables handed to a call as whole arguments, by position or keyword: what a
        notebook helper that changes its parameters in place would change."""
        out: list[tuple[int | str, str]] = []
        positional = True
        for i, a in enumerate(node.args):
            if a.star:
                positional = False  # positions after ``*args`` are unknown
                continue
            value = a.value
            if type(value) is not cst.Name or self.is_builtin(value.value) \
                    or self.resolve_import(value.value) is not None:
                continue
            if a.keyword is not None:
                out.append((a.keyword.value, value.value))
            elif positional:
                out.append((i, value.value))
        return tuple(out)

    def is_side_effect(self, name: str, method: str, node: cst.Call) -> bool:
        if method in SIDE_EFFECT_METHODS:
            return True
        if ".write." in name or ".writeStream." in name or name.startswith("mlflow.") and \
                method.startswith(_MLFLOW_WRITE_PREFIXES):
            return True
        if ".widgets." in name and method not in ("get", "getArgument", "getAll"):
            return True  # dbutils.widgets.text(...) creates a notebook parameter
        if method == "sql" and node.args:
            first = node.args[0].value
            if type(first) is cst.SimpleString:
                text = literal_text(first.value) or ""
                return sql_writes(text)
        return False

    def callee(self, func: _Node) -> tuple[str, str | None, bool, bool, bool]:
        """(dotted name, root variable, root is an import, is a method, chain has a call)."""
        segments: list[str] = []
        node = func
        while True:
            t = type(node)
            if t is cst.Attribute:
                segments.append(node.attr.value)
                node = node.value
            elif t is cst.Call:
                segments.append("()")
                node = node.func
            elif t is cst.Subscript:
                segments.append("[]")
                node = node.value
            else:
                break
        root: str | None = None
        via_import = False
        if type(node) is cst.Name:
            root = node.value
            qualified = self.resolve_import(root)
            if qualified is not None:
                base, via_import = qualified, True
            else:
                base = root
        else:
            base = _BASE_NAMES.get(type(node), "<expr>")
        name = base
        for seg in reversed(segments):
            name += seg if seg in ("()", "[]") else "." + seg
        is_method = bool(segments) and segments[0] not in ("()", "[]")
        chain_has_call = "()" in segments[1:]
        return name, root, via_import, is_method, chain_has_call

    # -- targets ---------------------------------------------------------------------------

    def store(self, target: _Node) -> None:
        t = type(target)
        if t is cst.Name:
            self.bind(target.value)
        elif t is cst.Tuple or t is cst.List:
            for el in target.elements:
                self.store(el.value)
        elif t is cst.StarredElement:
            self.store(target.value)
        elif t is cst.Attribute:
            self.attributes.add(target.attr.value)
            self.expr(target.value)
            self.mutate_root(target)
        elif t is cst.Subscript:
            name = self.namespace_key(target)
            if name is not None:
                # ``globals()["x"] = v`` is ``x = v`` (in a function: ``global x; x = v``)
                if self.scope is not self.module:
                    self.scope.globals.add(name)
                self.bind(name)
                return
            self.expr(target.value)
            self.slices(target)
            self.mutate_root(target)
        else:
            self.expr(target)

    def namespace_key(self, target: cst.Subscript) -> str | None:
        """``x`` for ``globals()["x"]`` (and ``vars()``/``locals()`` at the top level): the
        subscript names a global variable."""
        call = target.value
        if type(call) is not cst.Call or call.args or type(call.func) is not cst.Name:
            return None
        func = call.func.value
        if func != "globals" and not (func in ("vars", "locals") and self.scope is self.module):
            return None
        if func in self.import_map or not self.is_builtin(func) or len(target.slice) != 1:
            return None
        index = target.slice[0].slice
        if type(index) is not cst.Index or type(index.value) is not cst.SimpleString:
            return None
        key = index.value.evaluated_value
        return key if isinstance(key, str) and key.isidentifier() else None

    def mutate_root(self, target: _Node) -> None:
        node = target
        while type(node) in (cst.Attribute, cst.Subscript):
            node = node.value  # type: ignore[attr-defined]
        if type(node) is cst.Name:
            self.mutate(node.value)

    # -- statements ------------------------------------------------------------------------

    def s_small_body(self, node: _Node) -> None:
        for s in node.body:  # type: ignore[attr-defined]
            self.stmt(s)

    def s_expr(self, node: cst.Expr) -> None:
        self.expr(node.value)

    def s_assign(self, node: cst.Assign) -> None:
        self.expr(node.value)
        for t in node.targets:
            self.store(t.target)
        if self.owner is None and self.scope is self.module:
            for t in node.targets:
                self.note_columns(t.target, node.value, False)
            if not self.branch_depth and len(node.targets) == 1 \
                    and type(node.targets[0].target) is cst.Name:
                names = self.plain_names(node.value)
                if names:
                    self.containers.append((node.targets[0].target.value, names))

    def loop_sources(self, node: _Node, containers: list[str], literals: list[str]) -> None:
        """Where a loop's items come from: the variables iterated (``combine``,
        ``models.items()``, ``models.values()``, through ``enumerate``/``zip``/``reversed``/
        ``sorted``/``list``) and the variables of a literal list (``[train, test]``)."""
        t = type(node)
        if t is cst.Name:
            if not self.is_builtin(node.value) and self.resolve_import(node.value) is None:
                containers.append(node.value)
        elif t is cst.List or t is cst.Tuple:
            literals.extend(self.plain_names(node))
        elif t is cst.Call:
            func = node.func
            if type(func) is cst.Attribute and func.attr.value in ("items", "values") \
                    and not node.args:
                self.loop_sources(func.value, containers, literals)
            elif type(func) is cst.Name and func.value in _ITERATING and self.is_builtin(func.value):
                for arg in node.args:
                    if arg.keyword is None and not arg.star:
                        self.loop_sources(arg.value, containers, literals)

    def plain_names(self, node: _Node) -> tuple[str, ...]:
        """The variables of a list or tuple display made only of variables (``[train, test]``),
        or the values of a dict display whose values are all variables (``{"train": train}``),
        else ()."""
        t = type(node)
        if t is cst.Dict:
            elements = node.elements  # type: ignore[attr-defined]
            wanted: type = cst.DictElement
        elif t is cst.List or t is cst.Tuple:
            elements = node.elements  # type: ignore[attr-defined]
            wanted = cst.Element
        else:
            return ()
        out: list[str] = []
        for el in elements:
            v = el.value
            if type(el) is not wanted or type(v) is not cst.Name or self.is_builtin(v.value) \
                    or self.resolve_import(v.value) is not None:
                return ()
            out.append(v.value)
        return tuple(out)

    # -- columns (cleaning an existing column vs deriving a new one) ------------------------

    def note_columns(self, target: _Node, value: _Node, augmented: bool) -> None:
        """Record ``df["a"] = ...``-style column writes and ``df = df[mask]``-style subsets."""
        t = type(target)
        if t is cst.Name:
            subset = _subset_kind(value)
            if subset:
                self.subsets.append((target.value, subset))
            return
        if t is not cst.Subscript:
            return
        base, sl, rows = target.value, target.slice, False
        if type(base) is cst.Attribute and base.attr.value in _INDEXERS:
            if len(sl) != 2:
                return  # df.loc[mask] = ...: whole rows
            rows = not _is_full_slice(sl[0].slice)
            base, sl = base.value, sl[1:]
        if type(base) is not cst.Name or len(sl) != 1 or type(sl[0].slice) is not cst.Index:
            return
        keys = _column_keys(sl[0].slice.value)  # type: ignore[attr-defined]
        if not keys:
            return
        texts, names = _references(value)
        via = _via(value)
        shape = _value_shape(value)
        for literal, key in keys:
            itself = augmented or (key in texts if literal else key in names)
            self.column_writes.append(ColumnWrite(base.value, key if literal else "", itself, rows, via,
                                                  "subscript", *shape))

    def call_columns(self, node: cst.Call, method: str, frame: str | None) -> None:
        if method == "withColumn":
            first = node.args[0].value
            if len(node.args) < 2 or type(first) is not cst.SimpleString:
                return
            column = literal_text(first.value) or ""
            texts, _ = _references(node.args[1].value)
            self.column_writes.append(ColumnWrite(frame or "", column, column in texts, False,
                                                  _via(node.args[1].value), "withColumn",
                                                  *_value_shape(node.args[1].value)))
            return
        for a in node.args:  # assign(new=..., old=...)
            if a.keyword is not None:
                texts, _ = _references(a.value)
                self.column_writes.append(ColumnWrite(frame or "", a.keyword.value, a.keyword.value in texts,
                                                      False, _via(a.value), "assign", *_value_shape(a.value)))

    def s_annassign(self, node: cst.AnnAssign) -> None:
        self.expr(node.annotation.annotation)
        if node.value is not None:
            self.expr(node.value)
            self.store(node.target)
        elif type(node.target) is not cst.Name:
            self.expr(node.target)

    def s_augassign(self, node: cst.AugAssign) -> None:
        target = node.target
        if self.owner is None and self.scope is self.module and type(target) is cst.Subscript:
            self.note_columns(target, node.value, True)
        if type(target) is cst.Name:
            self.load(target.value)
            if self.scope is self.module:
                self.mutate(target.value)
            else:
                self.bind(target.value)
        else:
            self.store(target)
        self.expr(node.value)

    def s_del(self, node: cst.Del) -> None:
        self.delete(node.target)

    def delete(self, target: _Node) -> None:
        t = type(target)
        if t is cst.Name:
            self.load(target.value)
            if self.scope is self.module:
                self.mutate(target.value)
                self.definite.discard(target.value)
        elif t is cst.Tuple or t is cst.List:
            for el in target.elements:
                self.delete(el.value)
        else:
            self.store(target)

    def s_return(self, node: cst.Return) -> None:
        self.expr(node.value)

    def s_raise(self, node: cst.Raise) -> None:
        self.expr(node.exc)
        if node.cause is not None:
            self.expr(node.cause.item)

    def s_assert(self, node: cst.Assert) -> None:
        self.expr(node.test)
        self.expr(node.msg)

    def s_global(self, node: _Node) -> None:
        if self.scope is not self.module:
            for item in node.names:  # type: ignore[attr-defined]
                self.scope.globals.add(item.name.value)

    def add_import(self, alias: str, qualified: str) -> None:
        if alias == "*":
            if self.scope is self.module:
                self.imports.append(("*", qualified))
            return
        self.bind(alias)
        if self.scope is self.module:
            self.imports.append((alias, qualified))
            self.import_map[alias] = qualified
        else:
            self.scope.imports[alias] = qualified

    def s_import(self, node: cst.Import) -> None:
        for alias in node.names:
            qualified = _dotted(alias.name)
            if alias.asname is not None:
                self.add_import(_dotted(alias.asname.name), qualified)
            else:
                top = qualified.split(".", 1)[0]
                self.add_import(top, top)

    def s_importfrom(self, node: cst.ImportFrom) -> None:
        prefix = "." * len(node.relative) + (_dotted(node.module) if node.module else "")
        if isinstance(node.names, cst.ImportStar):
            self.add_import("*", prefix)
            return
        sep = "" if prefix.endswith(".") or not prefix else "."
        for alias in node.names:
            name = _dotted(alias.name)
            bound = _dotted(alias.asname.name) if alias.asname is not None else name
            self.add_import(bound, f"{prefix}{sep}{name}")

    def at_module(self) -> bool:
        return self.scope is self.module

    def s_if(self, node: cst.If) -> None:
        if not self.at_module():
            self.expr(node.test)
            self.block(node.body)
            orelse = node.orelse
            if orelse is not None:
                self.stmt(orelse) if type(orelse) is cst.If else self.block(orelse.body)
            return
        before = set(self.definite)
        finals: list[set[str]] = []
        has_else = False
        branch: _Node | None = node
        self.branch_depth += 1
        while branch is not None:
            self.definite = set(before)
            if type(branch) is cst.If:
                self.expr(branch.test)
                self.block(branch.body)
                finals.append(self.definite)
                branch = branch.orelse
            else:
                self.block(branch.body)  # type: ignore[attr-defined]
                finals.append(self.definite)
                has_else = True
                branch = None
        self.branch_depth -= 1
        self.definite = before | set.intersection(*finals) if has_else else before

    def s_for(self, node: cst.For) -> None:
        self.expr(node.iter)
        if self.owner is None and self.scope is self.module:
            variables = tuple(_target_names(node.target))
            containers: list[str] = []
            literals: list[str] = []
            self.loop_sources(node.iter, containers, literals)
            if variables and (containers or literals):
                self.loops.append((variables, tuple(containers), tuple(literals)))
        before = set(self.definite) if self.at_module() else None
        self.branch_depth += 1
        self.store(node.target)
        self.block(node.body)
        if node.orelse is not None:
            self.block(node.orelse.body)
        self.branch_depth -= 1
        if before is not None:
            self.definite = before  # the loop may run zero times

    def s_while(self, node: cst.While) -> None:
        before = set(self.definite) if self.at_module() else None
        self.branch_depth += 1
        self.expr(node.test)
        self.block(node.body)
        if node.orelse is not None:
            self.block(node.orelse.body)
        self.branch_depth -= 1
        if before is not None:
            self.definite = before

    def s_try(self, node: _Node) -> None:
        at_module = self.at_module()
        before = set(self.definite)
        self.branch_depth += 1
        self.block(node.body)  # type: ignore[attr-defined]
        if node.orelse is not None:  # type: ignore[attr-defined]
            self.block(node.orelse.body)  # type: ignore[attr-defined]
        finals = [self.definite]
        for handler in node.handlers:  # type: ignore[attr-defined]
            if at_module:
                self.definite = set(before)
            self.expr(handler.type)
            name = handler.name.name if handler.name is not None else None
            if type(name) is cst.Name:
                self.bind(name.value, record=not at_module)  # deleted after the handler
            self.block(handler.body)
            if at_module:
                if type(name) is cst.Name:
                    self.definite.discard(name.value)
                finals.append(self.definite)
        self.branch_depth -= 1
        if at_module:
            self.definite = before | set.intersection(*finals)
        if node.finalbody is not None:  # type: ignore[attr-defined]
            self.block(node.finalbody.body)  # type: ignore[attr-defined]

    def s_typealias(self, node: cst.TypeAlias) -> None:
        self.expr(node.value)
        self.bind(node.name.value)

    def s_with(self, node: cst.With) -> None:
        for item in node.items:
            self.expr(item.item)
            if item.asname is not None:
                self.store(item.asname.name)
        self.block(node.body)

    def s_match(self, node: cst.Match) -> None:
        self.expr(node.subject)
        before = set(self.definite) if self.at_module() else None
        self.branch_depth += 1
        for case in node.cases:
            if before is not None:
                self.definite = set(before)
            self.pattern(case.pattern)
            self.expr(case.guard)
            self.block(case.body)
        self.branch_depth -= 1
        if before is not None:
            self.definite = before

    def pattern(self, p: _Node | None) -> None:
        if p is None:
            return
        t = type(p)
        if t is cst.MatchAs:
            self.pattern(p.pattern)
            if p.name is not None:
                self.bind(p.name.value)
        elif t is cst.MatchStar:
            if p.name is not None:
                self.bind(p.name.value)
        elif t is cst.MatchValue:
            self.expr(p.value)
        elif t is cst.MatchList or t is cst.MatchTuple:
            for el in p.patterns:
                self.pattern(el if type(el) is cst.MatchStar else el.value)
        elif t is cst.MatchMapping:
            for el in p.elements:
                self.expr(el.key)
                self.pattern(el.pattern)
            if p.rest is not None:
                self.bind(p.rest.value)
        elif t is cst.MatchClass:
            self.expr(p.cls)
            for el in p.patterns:
                self.pattern(el.value)
            for kw in p.kwds:
                self.pattern(kw.pattern)
        elif t is cst.MatchOr:
            for el in p.patterns:
                self.pattern(el.pattern)

    def s_def(self, node: cst.FunctionDef) -> None:
        for d in node.decorators:
            self.expr(d.decorator)
        params = node.params
        for p in _all_params(params):
            self.expr(p.default)
            if p.annotation is not None:
                self.expr(p.annotation.annotation)
        if node.returns is not None:
            self.expr(node.returns.annotation)
        name = node.name.value
        self.bind(name)
        owner = self.enter_owner(name, is_class=False)
        scope = self.push("function")
        for p in _all_params(params):
            self.bind(p.name.value)
        if owner is not None:
            owner.scope = scope
            owner.params = tuple(p.name.value for p in _all_params(params))
            owner.positional = tuple(p.name.value for p in (*params.posonly_params, *params.params))
        self.block(node.body)
        self.pop()
        self.leave_owner(owner)

    def s_class(self, node: cst.ClassDef) -> None:
        for d in node.decorators:
            self.expr(d.decorator)
        for arg in (*node.bases, *node.keywords):
            self.expr(arg.value)
        name = node.name.value
        owner = self.enter_owner(name, is_class=True)
        self.push("class")
        self.block(node.body)
        self.pop()
        self.leave_owner(owner)
        self.bind(name)

    def enter_owner(self, name: str, is_class: bool) -> _Owner | None:
        if self.owner is None and self.at_module():
            self.owner = _Owner(name, is_class)
            return self.owner
        return None

    def leave_owner(self, owner: _Owner | None) -> None:
        if owner is None:
            return
        self.owner = None
        free = frozenset(n for n in owner.free if not self.is_builtin(n))
        params = set(owner.params or ())
        self.functions.append(FunctionInfo(
            owner.name, free, tuple(owner.calls), owner.is_class, params=owner.positional,
            changed_params=frozenset(n for n in owner.changed if n in params),
            changed_globals=frozenset(n for n in owner.changed if n not in params)))


W = _Walker
_Walker._EXPR = {
    cst.Name: W.e_name, cst.Attribute: W.e_attribute, cst.Call: W.e_call,
    cst.Subscript: W.e_subscript, cst.SimpleString: W.e_string,
    cst.ConcatenatedString: W.e_concat, cst.FormattedString: W.e_fstring,
    cst.Integer: _noop_method, cst.Float: _noop_method, cst.Imaginary: _noop_method,
    cst.Ellipsis: _noop_method, cst.BinaryOperation: W.e_binop, cst.BooleanOperation: W.e_binop,
    cst.UnaryOperation: W.e_unary, cst.Comparison: W.e_compare, cst.IfExp: W.e_ifexp,
    cst.Tuple: W.e_elements, cst.List: W.e_elements, cst.Set: W.e_elements, cst.Dict: W.e_dict,
    cst.StarredElement: W.e_value, cst.Element: W.e_value, cst.Lambda: W.e_lambda,
    cst.NamedExpr: W.e_walrus, cst.ListComp: W.e_comp, cst.SetComp: W.e_comp,
    cst.GeneratorExp: W.e_comp, cst.DictComp: W.e_comp, cst.Await: W.e_await,
    cst.Yield: W.e_yield, cst.From: W.e_from, cst.TemplatedString: W.e_fstring,
}
_Walker._STMT = {
    cst.SimpleStatementLine: W.s_small_body, cst.SimpleStatementSuite: W.s_small_body,
    cst.Expr: W.s_expr, cst.Assign: W.s_assign, cst.AnnAssign: W.s_annassign,
    cst.AugAssign: W.s_augassign, cst.Del: W.s_del, cst.Pass: _noop_method,
    cst.Break: _noop_method, cst.Continue: _noop_method, cst.Return: W.s_return,
    cst.Raise: W.s_raise, cst.Assert: W.s_assert, cst.Global: W.s_global,
    cst.Nonlocal: W.s_global, cst.Import: W.s_import, cst.ImportFrom: W.s_importfrom,
    cst.If: W.s_if, cst.For: W.s_for, cst.While: W.s_while, cst.Try: W.s_try,
    cst.TryStar: W.s_try, cst.With: W.s_with, cst.FunctionDef: W.s_def,
    cst.ClassDef: W.s_class, cst.Match: W.s_match, cst.TypeAlias: W.s_typealias,
}
del W


# Whitespace, comments and punctuation: nothing to learn below them.
_LEAVES = (cst.BaseParenthesizableWhitespace, cst.EmptyLine, cst.TrailingWhitespace,
           cst.Newline, cst.Comment, cst.LeftParen, cst.RightParen, cst.Comma, cst.Dot,
           cst.BaseBinaryOp, cst.BaseBooleanOp, cst.BaseCompOp, cst.BaseUnaryOp,
           cst.BaseAugOp, cst.AssignEqual, cst.Colon, cst.Semicolon, cst.ImportStar)
_TEXT_PARTS = (cst.FormattedStringText, cst.TemplatedStringText)

_BASE_NAMES: dict[type, str] = {
    cst.SimpleString: "str", cst.ConcatenatedString: "str", cst.FormattedString: "str",
    cst.List: "list", cst.ListComp: "list", cst.Dict: "dict", cst.DictComp: "dict",
    cst.Set: "set", cst.SetComp: "set", cst.Tuple: "tuple", cst.Integer: "int",
    cst.Float: "float",
}




_INDEXERS = frozenset({"loc", "iloc", "at", "iat"})


def _is_full_slice(node: _Node) -> bool:
    return type(node) is cst.Slice and node.lower is None and node.upper is None  # type: ignore[attr-defined]


def _column_keys(key: _Node) -> list[tuple[bool, str]]:
    """(is a literal, name) per column a subscript key names: ``"a"``, ``["a", "b"]``, ``col``."""
    t = type(key)
    if t is cst.SimpleString:
        text = literal_text(key.value)  # type: ignore[attr-defined]
        return [(True, text)] if text else []
    if t is cst.Name:
        return [(False, key.value)]  # type: ignore[attr-defined]
    if t is cst.List or t is cst.Tuple:
        out = []
        for el in key.elements:  # type: ignore[attr-defined]
            if type(el.value) is not cst.SimpleString:
                return []
            text = literal_text(el.value.value)
            if text:
                out.append((True, text))
        return out
    return []


def _references(value: _Node) -> tuple[set[str], set[str]]:
    """String literals and names/attribute names anywhere in an expression."""
    texts: set[str] = set()
    names: set[str] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        t = type(node)
        if t is cst.SimpleString:
            text = literal_text(node.value)  # type: ignore[attr-defined]
            if text:
                texts.add(text)
            continue
        if t is cst.Name:
            names.add(node.value)  # type: ignore[attr-defined]
            continue
        if t is cst.Attribute and type(node.value) is cst.Name:  # type: ignore[attr-defined]
            texts.add(node.attr.value)  # type: ignore[attr-defined]  (df.age reads column "age", .dt.year does not)
        stack.extend(inner_children(node))
    return texts, names


_ARITH_OPS = (cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo, cst.Power)
_COMPARE_OPS = (cst.LessThan, cst.GreaterThan, cst.LessThanEqual, cst.GreaterThanEqual, cst.Equal, cst.NotEqual)
_CODE_MAP_NAME = re.compile(r"map|dict|encoding|codes", re.I)


def _value_shape(value: _Node) -> tuple[frozenset[str], frozenset[str], frozenset[str], bool, bool]:
    """``(refs, attrs, words, arith, codes)`` of a column's new value (see ``ColumnWrite``)."""
    refs: set[str] = set()
    attrs: set[str] = set()
    words: set[str] = set()
    arith = codes = False
    called: set[int] = set()  # ids of Attribute nodes that are a call's function
    stack = [value]
    while stack:
        node = stack.pop()
        t = type(node)
        if t is cst.Name:
            words.add(node.value)  # type: ignore[attr-defined]
            continue
        if t is cst.SimpleString or t is cst.ConcatenatedString:
            continue
        if t is cst.Call:
            func = node.func  # type: ignore[attr-defined]
            if type(func) is cst.Attribute:
                called.add(id(func))
                method = func.attr.value
                args = node.args  # type: ignore[attr-defined]
                if method == "col" and args and type(args[0].value) is cst.SimpleString:
                    text = literal_text(args[0].value.value)
                    if text:
                        refs.add(text)
                if method.lower() in ("map", "replace") and args and _maps_to_numbers(args):
                    codes = True
        elif t is cst.Attribute:
            name = node.attr.value  # type: ignore[attr-defined]
            words.add(name)
            if id(node) not in called and type(node.value) in (cst.Name, cst.Attribute):  # type: ignore[attr-defined]
                attrs.add(name)
        elif t is cst.Subscript:
            sl = node.slice  # type: ignore[attr-defined]
            if len(sl) == 1 and type(sl[0].slice) is cst.Index and type(sl[0].slice.value) is cst.SimpleString:
                text = literal_text(sl[0].slice.value.value)
                if text:
                    refs.add(text)
        elif t is cst.BinaryOperation:
            arith = arith or isinstance(node.operator, _ARITH_OPS)  # type: ignore[attr-defined]
        elif t is cst.Comparison:
            arith = arith or any(isinstance(c.operator, _COMPARE_OPS) for c in node.comparisons)  # type: ignore[attr-defined]
        stack.extend(inner_children(node))
    return frozenset(refs), frozenset(attrs), frozenset(words), arith, codes


def _maps_to_numbers(args: Any) -> bool:
    """The first argument of ``.map``/``.replace``: a dict literal with a number among its
    values, or a lone variable named like a mapping (``sex_map``, ``codes``)."""
    first = args[0].value
    if type(first) is cst.Dict:
        return any(type(el) is cst.DictElement and _is_number(el.value) for el in first.elements)
    return len(args) == 1 and type(first) is cst.Name and bool(_CODE_MAP_NAME.search(first.value, 1))


def _is_number(node: _Node) -> bool:
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:  # type: ignore[attr-defined]
        node = node.expression  # type: ignore[attr-defined]
    return type(node) in (cst.Integer, cst.Float)


def _via(value: _Node) -> str:
    """How a column's new value is made (see ``ColumnWrite.via``)."""
    t = type(value)
    if t is cst.Call:
        func = value.func  # type: ignore[attr-defined]
        if type(func) is cst.Attribute:
            return func.attr.value
        if type(func) is cst.Name:
            return func.value
        return ""
    if t is cst.BinaryOperation or t is cst.UnaryOperation:
        return "op"
    if t in (cst.SimpleString, cst.Integer, cst.Float) or t is cst.Name and value.value in ("None", "True", "False"):  # type: ignore[attr-defined]
        return "const"
    return ""


def _subset_kind(value: _Node) -> str:
    """"rows" for ``df[mask]``/``df.loc[mask]``/``df[:n]``, "columns" for ``df[["a", "b"]]``."""
    if type(value) is not cst.Subscript:
        return ""
    base, sl = value.value, value.slice  # type: ignore[attr-defined]
    indexer = type(base) is cst.Attribute and base.attr.value in _INDEXERS
    if indexer:
        base = base.value
    if type(base) is not cst.Name or not sl:
        return ""
    key = sl[0].slice
    if type(key) is cst.Slice:
        return "rows" if not _is_full_slice(key) else ("columns" if len(sl) > 1 else "")
    key = key.value
    if not indexer and len(sl) == 1 and type(key) in (cst.List, cst.Tuple) \
            and all(type(el.value) is cst.SimpleString for el in key.elements):
        return "columns"
    if type(key) in (cst.Comparison, cst.BooleanOperation, cst.UnaryOperation, cst.BinaryOperation) \
            or type(key) is cst.Call and type(key.func) is cst.Attribute \
            and key.func.attr.value in ("isin", "notnull", "notna", "isnull", "isna", "between"):
        return "rows"
    return ""


# builtins whose result iterates over their arguments' own items
_ITERATING = frozenset({"enumerate", "zip", "reversed", "sorted", "list", "tuple", "iter"})


def _target_names(target: _Node) -> Iterable[str]:
    """The variables a ``for`` target binds (``name, model`` -> name, model)."""
    t = type(target)
    if t is cst.Name:
        yield target.value
    elif t is cst.Tuple or t is cst.List:
        for el in target.elements:
            yield from _target_names(el.value)
    elif t is cst.StarredElement:
        yield from _target_names(target.value)


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    found = [*params.posonly_params, *params.params]
    if isinstance(params.star_arg, cst.Param):
        found.append(params.star_arg)
    found.extend(params.kwonly_params)
    if params.star_kwarg is not None:
        found.append(params.star_kwarg)
    return found


def _dotted(node: _Node) -> str:
    if type(node) is cst.Name:
        return node.value
    if type(node) is cst.Attribute:
        return _dotted(node.value) + "." + node.attr.value
    return ""


def _is_display_statement(module: cst.Module) -> bool:
    """Every top-level statement is a bare expression (masked magics count as nothing)."""
    seen = False
    for stmt in module.body:
        if type(stmt) is not cst.SimpleStatementLine:
            return False
        for small in stmt.body:
            if type(small) is cst.Expr:
                seen = True
            elif type(small) is not cst.Pass:
                return False
    return seen


def _databricks_facts(source: str, index: int, language: str) -> CellFacts:
    """A Databricks magic cell (``%sql``, ``%sh``, ``%pip``, ...): not Python, never parsed."""
    lines = source.split("\n")
    first = next((ln.strip() for ln in lines if ln.strip()), f"%{language}")
    body_lines = list(lines)
    for i, ln in enumerate(body_lines):
        if ln.strip():
            if ln.strip().startswith("%"):
                body_lines[i] = ln.strip()[1 + len(language):] if \
                    ln.strip()[1:].lower().startswith(language.lower()) else ""
            break
    body = "\n".join(body_lines).strip()
    strings: tuple[str, ...] = ()
    defines: frozenset[str] = frozenset()
    display_only = False
    if language == "sql":
        strings = (body[:SQL_LEN],) if body else ()
        # Databricks binds the last query's result to ``_sqldf`` for the next Python cell.
        defines = frozenset({"_sqldf"})
        display_only = bool(body) and not any(sql_writes(s) for s in body.split(";") if s.strip())
    return CellFacts(index=index, defines=defines, strings=strings, magics=(first,),
                     display_only=display_only, parsed=True)


def _databricks_language(source: str) -> str | None:
    """The language of a Databricks magic cell kept in a Python cell (an ipynb export).

    ``%sh``/``%md``/``%scala``/``%r``/``%fs`` are not IPython line magics, so they mark such a
    cell whatever follows them; ``%sql`` does only alone on its line (``%sql SELECT 1`` is
    ipython-sql's line magic, analysed as one).
    """
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped:
            if stripped.startswith("%") and not stripped.startswith("%%"):
                words = stripped[1:].split(None, 1)
                lang = words[0].lower() if words else ""
                if lang == "sql" and len(words) == 1:
                    return lang
                if lang in DATABRICKS_LANGS and lang not in ("pip", "run", "sql"):
                    return lang
            return None
    return None


def _analyze(source: str, index: int, language: str, imports: Mapping[str, str],
             shadowed: frozenset[str]) -> tuple[CellFacts, dict[str, str]]:
    language = (language or "python").lower()
    if language != "python":
        return _databricks_facts(source, index, language), dict(imports)
    lang = _databricks_language(source)
    if lang is not None:
        return _databricks_facts(source, index, lang), dict(imports)
    view = python_view(source)
    masked = view.masked
    if masked is not None and not masked.python_body:
        reads = frozenset(n for n in masked.shell_reads if n not in BUILTIN_NAMES)
        return CellFacts(index=index, defines=frozenset(masked.defines), reads=reads,
                         strings=tuple(masked.strings), magics=tuple(masked.magics),
                         display_only=masked.quiet and not masked.defines,
                         parsed=True), dict(imports)
    if view.module is None:
        return _fallback(index, source, view.error or "", imports, masked, shadowed)
    try:
        return _walk(view.module, index, masked, imports, shadowed)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - e.g. RecursionError on absurd nesting
        return _fallback(index, source, f"cannot analyse: {type(exc).__name__}: {exc}", imports,
                         masked, shadowed)


class PythonView:
    """What every pass reads of one cell's source before its own walk, made once per distinct
    source: the masked Python (IPython lines made ``pass``), the depth guard's verdict and
    libcst's tree, or why there is no tree. analyze, the ML facts (libcst), the random-state
    pass (its ``ast`` tree of the masked source) and the path scan (the raw source's string
    literals) all read it, so no cell is masked, measured or parsed twice, whatever the
    notebook's size. Each part is made when first asked for (the path scan never needs libcst's
    tree). ``memo`` holds the other passes' own per-source results (read-only values). A
    function of the source alone: shared by identical cells."""

    __slots__ = ("source", "_masked", "_module", "_error", "_state", "memo")

    def __init__(self, source: str) -> None:
        self.source = source
        self._masked: Masked | None = None
        self._module: cst.Module | None = None
        self._error: str | None = None
        self._state = 0  # 1: masked (or masking raised), 2: parsed (or refused)
        self.memo: dict[str, object] = {}

    @property
    def masked(self) -> Masked | None:
        """The masked cell; None when masking itself raised (``error`` says what)."""
        if self._state == 0:
            self._mask()
        return self._masked

    @property
    def module(self) -> cst.Module | None:
        """libcst's tree; None with no Python body, too deep, or refused by libcst."""
        if self._state < 2:
            self._parse()
        return self._module

    @property
    def error(self) -> str | None:
        """Why there is no tree when there is a Python body to read."""
        if self._state < 2:
            self._parse()
        return self._error

    def _mask(self) -> None:
        self._state = 1
        try:
            self._masked = mask_ipython(self.source)
        except Exception as exc:  # noqa: BLE001 - analysis must never stop a plan
            self._error = f"cannot parse: {type(exc).__name__}: {exc}"

    def _parse(self) -> None:
        masked = self.masked
        self._state = 2
        if masked is None or not masked.python_body:
            return
        try:
            too_deep_reason = too_deep(masked.source)
            if too_deep_reason is not None:
                # libcst would overflow the C stack (SIGSEGV, uncatchable) or take minutes.
                self._error = too_deep_reason
            else:
                self._module = _parse_module(masked.source)
        except cst.ParserSyntaxError as exc:
            self._error = parse_error_message(exc)
        except Exception as exc:  # noqa: BLE001 - analysis must never stop a plan
            self._error = f"cannot parse: {type(exc).__name__}: {exc}"


# libcst validates every node its parser builds (``CSTNode.__post_init__`` -> ``_validate``; its own
# comment: "It might make more sense to move validation work into the visitor, which would allow
# us to avoid validating the tree when parsing a file"): ~15 % of a parse, ~8 % of a typical
# ``nbsplit check``. For parsed trees nearly all of it re-checks what the grammar already
# guarantees (whitespace around keywords, matching quotes and brackets, valid numbers and names).
# Some checks go beyond the grammar and can refuse what parsed, so those node types are still
# validated: a bare ``except:`` before another handler (``Try``), str concatenated with bytes
# (``ConcatenatedString``), and the space a keyword needs before some tokens (``return*x``,
# ``not.5``: libcst refuses both, the grammar takes them; found by the token-soup property test),
# which every node with a keyword checks. A differential test (tests/test_analyze_parse.py) parses
# ~190 snippets of odd syntax and random token soup both ways; every corpus cell parses the same.
_CSTNode = cst.CSTNode
_VALIDATE = _CSTNode.__dict__["__post_init__"]
_KEYWORD_NODES = ("AsName", "Assert", "Asynchronous", "Await", "BaseSimpleComp", "BooleanOperation", "CompFor",
                  "CompIf", "Comparison", "ComparisonTarget", "Del", "DictComp", "ExceptHandler", "For", "From",
                  "FunctionDef", "Global", "If", "IfExp", "Import", "ImportAlias", "Lambda", "LazyImport",
                  "Nonlocal", "Raise", "Return", "StarredDictComp", "TypeAlias", "UnaryOperation", "While", "With",
                  "WithItem", "Yield")
_STILL_VALIDATED: tuple[type[cst.CSTNode], ...] = (cst.Try, cst.ConcatenatedString, *(
    getattr(cst, name) for name in _KEYWORD_NODES if hasattr(cst, name)))


def _skip_validation(self: object) -> None:
    return None


def _parse_module(source: str) -> cst.Module:
    """``cst.parse_module(source)``: the same tree, or the same exception, without re-validating
    the nodes the grammar already vouches for (see ``_STILL_VALIDATED``)."""
    if "__post_init__" in _CSTNode.__dict__ and _CSTNode.__dict__["__post_init__"] is not _VALIDATE:
        return cst.parse_module(source)  # someone else patched libcst: leave it as it is
    _CSTNode.__post_init__ = _skip_validation  # type: ignore[method-assign]
    for cls in _STILL_VALIDATED:
        cls.__post_init__ = _VALIDATE  # type: ignore[method-assign]
    try:
        return cst.parse_module(source)
    finally:
        for cls in _STILL_VALIDATED:
            del cls.__post_init__
        _CSTNode.__post_init__ = _VALIDATE  # type: ignore[method-assign]


# The views of the notebook analysed last: every distinct source of it, with no size limit (the
# other passes over the same notebook read them after analyze; a bounded cache overflowed at
# 10,000 distinct cells and parsed them all again). Views asked for outside ``analyze_notebook``
# (single cells, earlier notebooks' sources) go to a bounded cache.
_CURRENT: dict[str, PythonView] = {}
_PREVIOUS: dict[str, PythonView] = {}  # while a notebook is analysed: the one analysed before it
_OTHERS: dict[str, PythonView] = {}
_OTHERS_MAX = 4096
_collecting = False


def _remember(source: str, view: PythonView) -> None:
    if len(_OTHERS) >= _OTHERS_MAX:
        del _OTHERS[next(iter(_OTHERS))]
    _OTHERS[source] = view


def python_view(source: str) -> PythonView:
    """The shared view of ``source`` (see ``PythonView``). Never raises."""
    view = _CURRENT.get(source)
    if view is not None:
        return view
    view = _PREVIOUS.get(source) or _OTHERS.pop(source, None) or PythonView(source)
    if _collecting:
        _CURRENT[source] = view
    else:
        _remember(source, view)
    return view


def python_ast(source: str, *, masked: bool = False) -> ast.Module | None:
    """``safe_ast`` of ``source`` (or of its masked Python), kept on its view: the random-state
    pass reads the masked cell's tree, the path scan the raw cell's (the same tree when masking
    changed nothing), once per distinct source at any notebook size. Raises what masking raises."""
    view = python_view(source)
    if not masked:
        text = leading_indent(source)
    elif view.masked is None:
        return safe_ast(mask_ipython(source).source)  # masking raises here, as it did for the view
    else:
        text = view.masked.source
    key = "ast" if text == source else "ast masked" if masked else "ast dedented"
    memo = view.memo
    if key in memo:
        return memo[key]  # type: ignore[return-value]
    tree = memo[key] = safe_ast(text)
    return tree


def _fallback(index: int, source: str, error: str, imports: Mapping[str, str],
              masked: Masked | None, shadowed: frozenset[str]) -> tuple[CellFacts, dict[str, str]]:
    try:
        return fallback_facts(index, source, error, imports, masked, shadowed)
    except Exception:  # noqa: BLE001 - last resort: say nothing rather than raise
        return CellFacts(index=index, parsed=False, error=error), dict(imports)


def _walk(module: cst.Module, index: int, masked: Masked, imports: Mapping[str, str],
          shadowed: frozenset[str]) -> tuple[CellFacts, dict[str, str]]:
    w = _Walker(imports, shadowed)
    for stmt in module.body:
        w.stmt(stmt)
    reads = set(w.reads)
    for name in masked.shell_reads:
        if name not in w.defines and not w.is_builtin(name):
            reads.add(name)
    defines = w.defines | set(masked.defines)
    display_only = (not defines and not w.mutates and not w.side_effect and masked.quiet
                    and _is_display_statement(module))
    strings = (masked.strings + w.strings)[:STRING_CAP]
    facts = CellFacts(
        index=index,
        defines=frozenset(defines),
        reads=frozenset(reads),
        mutates=frozenset(w.mutates),
        imports=tuple(w.imports),
        calls=tuple(w.calls),
        functions=tuple(w.functions),
        attributes=frozenset(w.attributes),
        strings=tuple(strings),
        magics=tuple(masked.magics),
        display_only=display_only,
        column_writes=tuple(w.column_writes),
        subsets=tuple(w.subsets),
        containers=tuple(w.containers),
        loops=tuple(w.loops),
        idioms=idiom_facts(module),
        # a presence check of a name the cell then binds (``if "df" not in globals(): df = ...``)
        # is no read of an undefined name when nothing binds it before
        self_bound_reads=frozenset((w.self_bound_reads - w.unbound_reads) | (w.presence_checks & defines)),
        parsed=True,
    )
    return facts, w.import_map


def analyze_source(source: str, index: int = 0, language: str = "python", *,
                   imports: Mapping[str, str] | None = None,
                   shadowed: Iterable[str] = ()) -> CellFacts:
    """Facts about one cell's source. Never raises.

    ``imports`` maps names bound by earlier cells' imports to qualified names (``{"pd":
    "pandas"}``) so calls resolve across cells; ``shadowed`` lists builtin names that earlier
    cells rebound (``id = test["Id"]``), which then count as reads like any other name.
    """
    facts, _ = _analyze(source, index, language, imports or {}, frozenset(shadowed))
    return facts


def analyze_cell(cell: Cell, *, imports: Mapping[str, str] | None = None) -> CellFacts:
    """Facts about one code cell (markdown/raw cells give empty facts)."""
    if cell.kind != "code":
        return CellFacts(index=cell.index)
    return analyze_source(cell.source, cell.index, cell.language, imports=imports)


def analyze_notebook(nb: Notebook) -> tuple[CellFacts | None, ...]:
    """Facts for every cell, in order (None for markdown/raw cells).

    Imports accumulate from cell to cell, as they do in a kernel: ``pd.read_csv`` in cell 5
    resolves to ``pandas.read_csv`` through ``import pandas as pd`` in cell 0.
    """
    global _CURRENT, _PREVIOUS, _collecting
    _PREVIOUS, _CURRENT = _CURRENT, {}
    _collecting = True
    try:
        return _analyze_cells(nb)
    finally:
        _collecting = False
        for source, view in _PREVIOUS.items():
            if source not in _CURRENT:
                _remember(source, view)
        _PREVIOUS = {}


def _at_index(facts: CellFacts, index: int) -> CellFacts:
    """``replace(facts, index=index)`` for a recurring cell: the same field values, copied
    without ``replace``'s per-field ``__init__`` (a tenth of the time; ~5,000 copies at 10,000
    cells). CellFacts has no ``__post_init__`` and no cached values in its ``__dict__``."""
    new = object.__new__(CellFacts)
    fields = new.__dict__
    fields.update(facts.__dict__)
    fields["index"] = index
    return new


def _analyze_cells(nb: Notebook) -> tuple[CellFacts | None, ...]:
    imports: dict[str, str] = {}
    shadowed: set[str] = set()
    out: list[CellFacts | None] = []
    # A cell's facts are a function of its source, language, the import map and the shadowed
    # builtins before it: a cell that recurs in the same context (``df.head()``, ``df.shape``)
    # is walked once. ``version`` numbers the import maps seen so far (a new number whenever the
    # map changes), so a key never needs the map's items.
    done: dict[tuple[str, str, int, frozenset[str]], tuple[CellFacts, dict[str, str]]] = {}
    version = 0
    runs = run_sources(nb)
    for cell in nb.cells:
        if cell.kind != "code":
            out.append(None)
            continue
        shadow = frozenset(shadowed)
        # ``%run -i step.py`` runs the body an earlier cell wrote: the cell is read as that body
        source = runs.get(cell.index, cell.source)
        key = (source, cell.language, version, shadow)
        hit = done.get(key)
        if hit is not None:
            facts, after = hit
            if facts.index != cell.index:
                facts = _at_index(facts, cell.index)
        else:
            facts, after = _analyze(source, cell.index, cell.language, imports, shadow)
            done[key] = (facts, after)
        if after != imports:
            version += 1
        imports = after
        # ``id = test["Id"]`` makes a later ``id`` a real read; ``_`` stays IPython's.
        shadowed.update(n for n in facts.defines if n in BUILTIN_NAMES and n[0] != "_")
        out.append(facts)
    return with_indirect_changes(out)
