"""dexio: move contacts in and out of the Dex personal CRM, in bulk, without losing anyone.

The public API is what ``__all__`` lists; every command-line verb has a library function of
the same name (``dexio import`` is :func:`dexio.import_files`). Everything else may change.
"""

from __future__ import annotations

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

# Each area re-exports its public names below, one block per area (keep blocks separate so
# parallel work edits different lines).
# -- dex client --
from dexio.dex import Dex, DexLegacy

# -- readers --
from dexio.mapping import Mapping, load_mapping
from dexio.readers import inspect, read

# isort: split
# -- normalize --
# isort: split
from dexio.normalize import normalize

# -- dedupe --
# isort: split
from dexio.dedupe import Dedupe, dedupe, find_duplicates

# -- writers / export --
# isort: split
from dexio.export import ExportResult, export
from dexio.writers import WriteResult, write

# -- import / plan --
# isort: split
from dexio.ledger import Ledger
from dexio.pipeline import ImportResult, import_files
from dexio.plan import plan

# -- migrate --
# isort: split
from dexio.migrate import migrate

# -- sandbox --
# isort: split
from dexio import sandbox

# -- cleanup / undo --
# isort: split
from dexio.cleanup import (
    DuplicateReview,
    FixResult,
    MergeResult,
    fix,
    merge,
    review_duplicates,
)
from dexio.undo import UndoResult, undo

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
