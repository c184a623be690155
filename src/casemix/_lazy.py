"""Lazy package exports (PEP 562): a package's public names are imported on first use.

A process that needs one part of the package (a scan worker, ``casemix --help``) then does
not load the rest: scipy.stats, statsmodels and the unit-comparison stack cost about a
second of start-up in every worker of a scan otherwise.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose public names are attributes of
    modules (``exports``: module -> names); each is imported on first use and kept.

    A name that is also a submodule of the package must be imported eagerly instead: once
    the submodule is imported, the package attribute is the module.
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:  # noqa: N807 (the module hook)
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted({*vars(sys.modules[package]), *where})

    return __getattr__, __dir__
