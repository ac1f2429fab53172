"""Country column -> ISO alpha-2 region hint for phone parsing (names in many languages).

The names come from phonenumbers' own locale data, so no country table is kept here; only a
few everyday abbreviations that no locale spells out are added.
"""

from __future__ import annotations

from functools import cache

import polars as pl
from phonenumbers.geodata.locale import LOCALE_DATA

ALIASES = {
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "deutschland": "DE",
    "holland": "NL",
    "the netherlands": "NL",
    "uae": "AE",
    "south korea": "KR",
    "korea": "KR",
    "russia": "RU",
}


@cache
def country_names() -> dict[str, str]:
    """Lower-cased country name or alpha-2 code -> alpha-2 code."""
    names: dict[str, str] = {}
    for region, by_language in LOCALE_DATA.items():
        if len(region) != 2:
            continue
        names.setdefault(region.lower(), region)
        for name in by_language.values():
            if name and not name.startswith("*"):
                names.setdefault(name.casefold(), region)
    names.update(ALIASES)
    return names


def region_of(value: str | None) -> str | None:
    """One country name or code -> alpha-2, or None when unknown."""
    if not value:
        return None
    return country_names().get(value.strip().casefold())


def region_expr(country: pl.Expr) -> pl.Expr:
    """Vectorised :func:`region_of`: a dictionary replace over the lower-cased values."""
    table = country_names()
    return (
        country.str.strip_chars()
        .str.to_lowercase()
        .replace_strict(list(table), list(table.values()), default=None, return_dtype=pl.String)
    )
