"""Module attributes imported on first use (PEP 562), so importing a package stays light."""

from __future__ import annotations

import importlib


def lazy_attributes(package: str, table: dict[str, str], namespace: dict):
    """``(__getattr__, __dir__)`` for a package whose ``table`` maps names to the modules that
    define them; a loaded name is kept in ``namespace`` (the package's globals)."""

    def __getattr__(name: str):
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(list(namespace) + list(table))

    return __getattr__, __dir__
