"""Country column -> ISO alpha-2 region hint for phone parsing (names in many languages).

The names come from phonenumbers' own locale data, so no country table is kept here; only a
few everyday abbreviations that no locale spells out are added.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

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


def _locale_data() -> dict[str, dict[str, str]]:
    """phonenumbers' table of country names per language.

    Importing it the usual way first runs ``phonenumbers.geodata/__init__``, which loads
    the whole geocoding database (about 2 s); the names file alone loads in a tenth of
    that, so it is loaded on its own, and the usual import is the fallback.
    """
    try:
        spec = importlib.util.find_spec("phonenumbers")
        assert spec is not None and spec.origin is not None
        path = Path(spec.origin).parent / "geodata" / "locale.py"
        loader_spec = importlib.util.spec_from_file_location("dexio_phone_country_names", path)
        assert loader_spec is not None and loader_spec.loader is not None
        module: Any = importlib.util.module_from_spec(loader_spec)
        module.__package__ = "phonenumbers.geodata"  # for its `from ..util import u`
        loader_spec.loader.exec_module(module)
        return dict(module.LOCALE_DATA)
    except Exception:
        from phonenumbers.geodata.locale import LOCALE_DATA

        return dict(LOCALE_DATA)


@cache
def country_names() -> dict[str, str]:
    """Lower-cased country name or alpha-2 code -> alpha-2 code."""
    names: dict[str, str] = {}
    for region, by_language in _locale_data().items():
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
