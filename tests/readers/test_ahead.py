"""Pieces parsed in a thread ahead of their mapping: same items, same errors, nothing left."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

from dexio.readers.text import Refused, ahead


def test_items_come_in_order() -> None:
    assert list(ahead(x for x in range(50))) == list(range(50))


def test_an_error_in_the_thread_is_raised_where_the_items_stop() -> None:
    def pieces() -> Generator[int, None, None]:
        yield 1
        yield 2
        raise Refused

    seen = []
    with pytest.raises(Refused):
        for item in ahead(pieces()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_closes_the_pieces_and_ends_the_thread() -> None:
    closed = threading.Event()

    def pieces() -> Generator[int, None, None]:
        try:
            yield from range(1000)
        finally:
            closed.set()

    items = ahead(pieces())
    assert next(items) == 0
    items.close()
    assert closed.is_set()
    assert not any(t.name == "dexio-read-ahead" for t in threading.enumerate())
