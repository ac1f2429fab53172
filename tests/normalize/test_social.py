"""Social profiles to bare handles; websites tidied; foreign URLs kept and flagged."""

from __future__ import annotations

import pytest

from dexio import normalize
from dexio.schema import from_records


def one(column: str, value: str | None) -> tuple[str | None, list[str]]:
    frame = from_records([{"source": "a.csv", "row": 1, column: value}])
    got, issues = normalize(frame, region="GB").select(column, "issues").row(0)
    return got, issues or []


@pytest.mark.parametrize(
    ("column", "written", "handle"),
    [
        ("linkedin", "https://www.linkedin.com/in/ana-lopez-12ab/", "ana-lopez-12ab"),
        ("linkedin", "linkedin.com/in/ana-lopez-12ab", "ana-lopez-12ab"),
        ("linkedin", "http://uk.linkedin.com/in/priya-r?trk=profile", "priya-r"),
        ("linkedin", "https://www.linkedin.com/in/ana-l%C3%B3pez", "ana-lópez"),
        ("linkedin", "ana-lopez-12ab", "ana-lopez-12ab"),
        ("twitter", "x.com/ana", "ana"),
        ("twitter", "https://twitter.com/ana_lopez?lang=en", "ana_lopez"),
        ("twitter", "https://mobile.twitter.com/#!/ana_lopez", "ana_lopez"),
        ("twitter", "@ana_lopez", "ana_lopez"),
        ("instagram", "https://www.instagram.com/ana.lopez/", "ana.lopez"),
        ("instagram", "@ana.lopez", "ana.lopez"),
        ("instagram", "mateo.photo", "mateo.photo"),  # a handle with a dot, not a domain
        ("tiktok", "ana.bakes", "ana.bakes"),
        ("facebook", "https://www.facebook.com/ana.lopez.77", "ana.lopez.77"),
        ("facebook", "https://www.facebook.com/profile.php?id=100004123456789", "100004123456789"),
        ("tiktok", "https://www.tiktok.com/@ana.bakes", "ana.bakes"),
        ("youtube", "https://www.youtube.com/@AnaBakes", "AnaBakes"),
        ("youtube", "youtube.com/user/anabakes", "anabakes"),
        ("youtube", "https://www.youtube.com/channel/UC1a2b3c", "channel/UC1a2b3c"),
        ("telegram", "https://t.me/ana_lopez", "ana_lopez"),
        ("telegram", "@ana_lopez", "ana_lopez"),
    ],
)
def test_profile_urls_and_at_handles_become_bare_handles(
    column: str, written: str, handle: str
) -> None:
    assert one(column, written) == (handle, [])


def test_address_of_another_site_is_kept_and_flagged() -> None:
    assert one("linkedin", "facebook.com/ana")[1] == [
        "linkedin 'facebook.com/ana' is not a profile address on LinkedIn; kept as written"
    ]
    assert one("twitter", "https://www.facebook.com/ana") == (
        "https://www.facebook.com/ana",
        [
            "twitter 'https://www.facebook.com/ana' is not a profile address on Twitter/X; kept as written"
        ],
    )


@pytest.mark.parametrize(
    ("written", "tidy"),
    [
        ("acme.com", "https://acme.com"),
        ("WWW.Acme.COM/About/", "https://www.acme.com/About"),
        ("HTTP://Example.ORG/", "http://example.org"),
        ("https://blog.example.net/posts/?page=2", "https://blog.example.net/posts/?page=2"),
        ("  https://büro.example.de  ", "https://büro.example.de"),
    ],
)
def test_websites_are_normalised(written: str, tidy: str) -> None:
    assert one("website", written) == (tidy, [])


def test_something_that_is_not_a_web_address_is_kept_and_flagged() -> None:
    assert one("website", "see LinkedIn") == (
        "see LinkedIn",
        ["website 'see LinkedIn' is not a web address; kept as written"],
    )
