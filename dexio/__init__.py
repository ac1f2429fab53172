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
# -- writers / export --
# -- import / plan --
# -- migrate --
# -- cleanup / undo --

__all__ = [
    "SCHEMA",
    "ApiError",
    "AuthError",
    "ConfigError",
    "Dex",
    "DexError",
    "DexLegacy",
    "DexioError",
    "InputError",
    "Mapping",
    "MappingError",
    "OutcomeUnknown",
    "RateLimited",
    "ServerError",
    "UsageError",
    "__version__",
    "conform",
    "empty_frame",
    "inspect",
    "load_mapping",
    "normalize",
    "read",
]
