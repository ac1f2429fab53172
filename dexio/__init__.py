"""dexio: move contacts in and out of the Dex personal CRM, in bulk, without losing anyone.

The public API is what ``__all__`` lists; every command-line verb has a library function of
the same name (``dexio import`` is :func:`dexio.import_files`). Everything else may change.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from dexio.errors import (
    ApiError,
    AuthError,
    ConfigError,
    DexError,
    DexioError,
    InputError,
    MappingError,
    OutcomeUnknown,
    RateLimited,
    ServerError,
    UsageError,
)
from dexio.schema import SCHEMA, conform, empty_frame

__version__ = "0.1.0"

# The public names below are imported when first used (PEP 562), not with ``import dexio``:
# the whole toolkit pulls in httpx, pydantic, openpyxl and the sandbox server, ~0.6 s of
# imports a script that only reads, normalizes and dedupes a file never needs (measured
# with ``python -X importtime -c "import dexio"``: 1.07 s before, see docs/performance.md).
# Each area keeps its own block (keep blocks separate so parallel work edits different lines).
_LAZY: dict[str, str] = {
    # -- dex client --
    "Dex": "dexio.dex",
    "DexLegacy": "dexio.dex",
    # -- readers --
    "Mapping": "dexio.mapping",
    "load_mapping": "dexio.mapping",
    "inspect": "dexio.readers",
    "read": "dexio.readers",
    # -- normalize --
    "normalize": "dexio.normalize",
    # -- dedupe --
    "Dedupe": "dexio.dedupe",
    "dedupe": "dexio.dedupe",
    "find_duplicates": "dexio.dedupe",
    # -- writers / export --
    "ExportResult": "dexio.export",
    "export": "dexio.export",
    "WriteResult": "dexio.writers",
    "write": "dexio.writers",
    # -- import / plan --
    "Ledger": "dexio.ledger",
    "ImportResult": "dexio.pipeline",
    "import_files": "dexio.pipeline",
    "plan": "dexio.plan",
    # -- migrate --
    "migrate": "dexio.migrate",
    # -- sandbox (the module itself) --
    "sandbox": "dexio.sandbox",
    # -- cleanup / undo --
    "DuplicateReview": "dexio.cleanup",
    "FixResult": "dexio.cleanup",
    "MergeResult": "dexio.cleanup",
    "fix": "dexio.cleanup",
    "merge": "dexio.cleanup",
    "review_duplicates": "dexio.cleanup",
    "UndoResult": "dexio.undo",
    "undo": "dexio.undo",
}

#: Public names that are modules themselves rather than something inside a module.
_MODULES = frozenset({"sandbox"})

if TYPE_CHECKING:  # what the names are, for type checkers and editors
    from dexio import sandbox
    from dexio.cleanup import (
        DuplicateReview,
        FixResult,
        MergeResult,
        fix,
        merge,
        review_duplicates,
    )
    from dexio.dedupe import Dedupe, dedupe, find_duplicates
    from dexio.dex import Dex, DexLegacy
    from dexio.export import ExportResult, export
    from dexio.ledger import Ledger
    from dexio.mapping import Mapping, load_mapping
    from dexio.migrate import migrate
    from dexio.normalize import normalize
    from dexio.pipeline import ImportResult, import_files
    from dexio.plan import plan
    from dexio.readers import inspect, read
    from dexio.undo import UndoResult, undo
    from dexio.writers import WriteResult, write


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'dexio' has no attribute {name!r}")
    module = importlib.import_module(where)
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


class _Package(types.ModuleType):
    """``dexio`` itself: a submodule never hides the public function of the same name.

    Importing ``dexio.export`` (the module) sets the attribute ``export`` of ``dexio`` to
    that module; while every name was imported eagerly the function was bound afterwards
    and won. With lazy names the module would stay, and ``dexio.export(...)`` would call a
    module. Dropping that one assignment leaves the name to ``__getattr__``.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        shadowed = name not in _MODULES and _LAZY.get(name) == getattr(value, "__name__", None)
        if shadowed and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "SCHEMA",
    "ApiError",
    "AuthError",
    "ConfigError",
    "Dedupe",
    "Dex",
    "DexError",
    "DexLegacy",
    "DexioError",
    "DuplicateReview",
    "ExportResult",
    "FixResult",
    "ImportResult",
    "InputError",
    "Ledger",
    "Mapping",
    "MappingError",
    "MergeResult",
    "OutcomeUnknown",
    "RateLimited",
    "ServerError",
    "UndoResult",
    "UsageError",
    "WriteResult",
    "__version__",
    "conform",
    "dedupe",
    "empty_frame",
    "export",
    "find_duplicates",
    "fix",
    "import_files",
    "inspect",
    "load_mapping",
    "merge",
    "migrate",
    "normalize",
    "plan",
    "read",
    "review_duplicates",
    "sandbox",
    "undo",
    "write",
]
