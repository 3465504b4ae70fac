"""Import libcst with its dataclass methods' compiled code cached (``nbsplit.codecache``): the
modules that use libcst import this first."""

from nbsplit.codecache import scoped

with scoped():
    import libcst  # noqa: F401
