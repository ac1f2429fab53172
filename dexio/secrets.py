"""Keeping API keys out of output: a masked string type and a redaction helper.

Every client stores its key as a :class:`Secret`; its ``repr``/``str`` never show the
value, and :func:`redact` scrubs any text (log lines, server messages) before it is shown.
"""

from __future__ import annotations

import os
import threading

_known: set[str] = set()
_lock = threading.Lock()


class Secret:
    """An API key or token. ``str()`` and ``repr()`` are masked; ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if len(value) >= 4:
            with _lock:
                _known.add(value)

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:  # never pickle the value by accident
        raise TypeError("Secret values cannot be pickled")


def redact(text: str) -> str:
    """Replace every key dexio has seen in this process with ``***``."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, "***")
    return text


def from_env(name: str) -> Secret | None:
    """The secret in environment variable ``name``, or None when unset/empty."""
    value = os.environ.get(name, "").strip()
    return Secret(value) if value else None
