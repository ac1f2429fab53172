"""One exception hierarchy for everything dexio raises on purpose.

::

    DexioError                 anything dexio reports to a person (exit code on .exit_code)
    ├── UsageError             a bad flag or option combination                  (exit 2)
    ├── InputError             an unreadable file or record: file, row, field     (exit 2)
    ├── MappingError           a mapping file with a mistake: file, line          (exit 2)
    ├── ConfigError            missing/unsafe configuration, e.g. no API key      (exit 2)
    └── ApiError               a remote API (Dex, GoHighLevel, Whautomate) failed (exit 3)
        ├── AuthError          the key was rejected (401/403)
        ├── NotFound           404
        ├── PayloadRejected    400/422: the server refused what we sent; .message is its word
        ├── RateLimited        429 still after every retry
        ├── ServerError        5xx still after every retry
        ├── ConnectionFailed   could not connect (nothing was sent)
        └── OutcomeUnknown     a write was sent but no response came back: it may or may
                               not have been applied; reconcile before re-sending

``DexError`` is kept as an alias of ``ApiError`` (the Dex client is the first API client).
Messages say what happened and what to do; they never contain an API key (see
``dexio.secrets``).
"""

from __future__ import annotations

from pathlib import Path


class DexioError(Exception):
    """Base class: a problem dexio explains to the user instead of a traceback."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(DexioError):
    """A bad command-line option or option combination."""


class ConfigError(DexioError):
    """Missing or unsafe configuration (no API key, a config file readable by others...)."""


class InputError(DexioError):
    """An input file, or one record in it, cannot be read."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.row = row
        self.field = field
        where = []
        if self.file:
            where.append(self.file)
        if row is not None:
            where.append(f"row {row}")
        if field:
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.reason = message


class MappingError(DexioError):
    """A mapping file that cannot be used: bad TOML, an unknown field, a missing key."""

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None):
        self.file = str(file) if file is not None else None
        self.line = line
        where = self.file or "mapping"
        if line is not None:
            where += f", line {line}"
        super().__init__(f"{where}: {message}")
        self.reason = message


class ApiError(DexioError):
    """A remote API call failed. ``status`` is the HTTP status when there was one."""

    exit_code = 3

    def __init__(self, message: str, *, status: int | None = None, service: str = "Dex") -> None:
        super().__init__(message)
        self.status = status
        self.service = service


DexError = ApiError


class AuthError(ApiError):
    """The API key or token was rejected."""


class NotFound(ApiError):
    """The record does not exist (or belongs to someone else)."""


class PayloadRejected(ApiError):
    """The server refused the payload (400/422). ``message`` carries the server's reason."""


class RateLimited(ApiError):
    """Still rate limited after every retry the policy allows."""


class ServerError(ApiError):
    """Still failing with 5xx after every retry the policy allows."""


class ConnectionFailed(ApiError):
    """Could not connect to the API at all; nothing was sent."""


class OutcomeUnknown(ApiError):
    """A write went out but its response never arrived: it may have been applied.

    Never retried blindly (Dex has no idempotency key); the caller reconciles by looking
    the records up before re-sending.
    """
