"""A known key goes through every kind of call and failure; it must show up nowhere."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import pytest

from dexio.dex import Dex, DexLegacy
from dexio.errors import ApiError
from dexio.http import RetryPolicy
from dexio.sandbox import Sandbox

KEY = "dex_live_K3yTh4tMustNeverAppear_0123456789"
WRONG = "dex_live_WrongKeyAlsoSecret_9876543210"
FAST = RetryPolicy(max_attempts=3, max_total_seconds=5, base_delay=0.01, max_delay=0.02)


def test_key_appears_in_no_output_log_exception_or_repr(
    dex_sandbox: Callable[..., Sandbox],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    box = dex_sandbox(api_key=KEY, rate_limit=4, fail_rate=0.3, seed=11)
    texts: list[str] = []

    def keep(exc: BaseException) -> None:
        texts.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])

    with Dex(api_key=KEY, base_url=box.base_url, policy=FAST) as dex:
        texts += [repr(dex), repr(dex.http), repr(dex.http.pacer), repr(vars(dex.http))]
        try:
            created = dex.create_contacts(
                [{"full_name": f"Leak Test {i}"} for i in range(30)], chunk_size=5
            )
            dex.get_contact(created[0].id)
            print(created[0].model_dump())
        except ApiError as exc:  # retries may run out; that is fine, it must not leak
            keep(exc)
        box.faults.fail_rate = 0.0
        for failing in (
            lambda: dex.get_contact("no-such-id"),
            lambda: dex.create_chunk([{"contact_emails": [{"email": "nope"}]}]),
        ):
            with pytest.raises(ApiError) as caught:
                failing()
            keep(caught.value)
        box.faults.drop_after_commit = 1.0
        with pytest.raises(ApiError) as caught:
            dex.create_chunk([{"full_name": "Dropped"}])
        keep(caught.value)
        box.faults.drop_after_commit = 0.0

    with Dex(api_key=WRONG, base_url=box.base_url, policy=FAST) as wrong:
        with pytest.raises(ApiError) as caught:
            wrong.count()
        keep(caught.value)

    with DexLegacy(api_key=KEY, base_url=box.legacy_url, policy=FAST) as legacy:
        texts.append(repr(legacy))
        list(legacy.iter_contacts())

    captured = capsys.readouterr()
    texts += [captured.out, captured.err]
    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.args) for record in caplog.records]
    assert any("HTTP Request" in t for t in texts)  # the logs really were captured
    assert len(texts) > 20
    for text in texts:
        assert KEY not in text
        assert WRONG not in text
