"""Import libcst without its heavy parts, with its dataclass methods' compiled code cached
(``nbsplit.codecache``): the modules that use libcst import this first.

Why: ``libcst/__init__.py`` only re-exports names from its submodules, and importing it imports
all of them: the node classes nbsplit walks, but also the whole of ``libcst.metadata`` (every
provider, with ``subprocess``) and ``libcst.helpers``, ~20 ms of a ~0.2 s ``nbsplit check``.
Here ``libcst``, ``libcst.metadata`` and ``libcst.helpers`` start as modules whose names are
imported from their submodule when first read (the map comes from each ``__init__.py``).
``libcst`` itself is then filled at once with every name it exports (the node classes, and
``MetadataWrapper`` and ``ensure_type`` from the two subpackages' light leaf modules), so it is
an ordinary module afterwards: a module with a ``__getattr__`` is never specialised by the
interpreter, and ``cst.Name`` in nbsplit's walks ran ~6 % more instructions per cell that way.
The two subpackages stay lazy (nothing reads them in a hot loop); a name their map does not know
runs their real ``__init__.py`` first, so any other user of libcst in the process sees the
library as it is. When libcst was imported before, or an ``__init__.py`` is not a list of
imports, it is imported the ordinary way.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import types
from typing import Any

from nbsplit.codecache import scoped

__all__: list[str] = []

_PACKAGE = "libcst"


def _exports(source: str) -> tuple[dict[str, tuple[str, str]], list[str]] | None:
    """name -> (submodule, name there), and ``__all__``, of an ``__init__.py`` that only imports
    from its own submodules and assigns ``__all__`` (None for anything else)."""
    names: dict[str, tuple[str, str]] = {}
    exported: list[str] | None = None

    def imports(nodes: list[ast.stmt], guarded: bool) -> bool:
        nonlocal exported
        for node in nodes:
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                    and node.module.startswith(_PACKAGE + "."):  # libcst's own modules only
                for alias in node.names:
                    if alias.name == "*":
                        return False
                    names.setdefault(alias.asname or alias.name, (node.module, alias.name))
            elif isinstance(node, ast.Try) and not guarded:
                # ``try: from libcst._version import ... except ImportError: ...``: the fallback
                # is the real module's business (a name that fails to import completes it)
                if not imports(node.body, True):
                    return False
            elif isinstance(node, ast.Assign) and not guarded and [getattr(t, "id", None)
                                                                   for t in node.targets] == ["__all__"]:
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    return False
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    return False
                exported = value
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue  # a docstring
            elif not (guarded and isinstance(node, ast.Pass)):
                return False
        return True

    if not imports(ast.parse(source).body, False) or exported is None:
        return None
    return names, exported


class _LazyPackage:
    """The state behind one lazy package module (its ``__getattr__`` and ``__dir__``)."""

    def __init__(self, module: types.ModuleType, spec: Any, names: dict[str, tuple[str, str]],
                 exported: list[str]) -> None:
        self.module = module
        self.spec = spec
        self.names = names
        self.exported = exported
        self.completing = False

    def getattr(self, name: str) -> Any:
        where = self.names.get(name)
        if where is not None and not self.completing:
            try:
                with scoped():
                    value = getattr(importlib.import_module(where[0]), where[1])
            except (ImportError, AttributeError):
                pass  # as the real __init__.py would meet it: let it decide
            else:
                setattr(self.module, name, value)
                return value
        package = self.module.__name__
        if name.startswith("__") or self.completing:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if importlib.util.find_spec(f"{package}.{name}") is not None:
            # a submodule (``from libcst import native`` asks for it this way first): what
            # the import system would do next, and the attribute the real package would have
            with scoped():
                return importlib.import_module(f"{package}.{name}")
        self.complete()
        return getattr(self.module, name)

    def settle(self) -> None:
        """Every exported name now, then an ordinary module (see the module's doc)."""
        for name in self.names:
            if name not in self.module.__dict__:
                self.getattr(name)
                if "__getattr__" not in self.module.__dict__:
                    return  # a name only the real __init__.py could give: completed
        self.plain()

    def complete(self) -> None:
        """Run the real ``__init__.py`` in the module: every name, exactly as libcst sets it."""
        self.completing = True
        try:
            with scoped():
                self.spec.loader.exec_module(self.module)
        finally:
            self.completing = False
        self.plain()

    def plain(self) -> None:
        # done: attribute lookups are plain from now on
        self.module.__dict__.pop("__getattr__", None)
        self.module.__dict__.pop("__dir__", None)

    def dir(self) -> list[str]:
        return sorted(set(self.module.__dict__) | set(self.names) | {"__all__"})


def _lazy(name: str) -> _LazyPackage | None:
    """Put a lazy ``name`` package into ``sys.modules``; None when that cannot be done faithfully."""
    if name in sys.modules:
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.loader is None or spec.origin is None or not spec.submodule_search_locations:
        return None
    try:
        source = spec.loader.get_source(name)  # type: ignore[attr-defined]
    except (ImportError, OSError, AttributeError):
        return None
    found = _exports(source) if source else None
    if found is None:
        return None
    names, exported = found
    module = importlib.util.module_from_spec(spec)
    # What importlib leaves on a loaded module's spec: without it every import of the package
    # asks for a missing attribute (an exception raised and dropped), and libcst's parser
    # imports ``libcst`` for each node it builds (~5 % of a notebook's analysis).
    spec._initializing = False  # type: ignore[attr-defined]
    lazy = _LazyPackage(module, spec, names, exported)
    module.__dict__["__getattr__"] = lazy.getattr
    module.__dict__["__dir__"] = lazy.dir
    module.__dict__["__all__"] = list(exported)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)  # as the import system links a submodule
    return lazy


def _import_libcst() -> None:
    top = _lazy(_PACKAGE)
    if top is None:
        with scoped():
            import libcst  # noqa: F401
        return
    for heavy in ("metadata", "helpers"):
        _lazy(f"{_PACKAGE}.{heavy}")
    top.settle()


_import_libcst()
