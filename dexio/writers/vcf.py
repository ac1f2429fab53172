"""vCard writer: every contact as one card in one ``.vcf`` file, vCard 4.0 or 3.0.

Text is escaped as RFC 6350 section 3.4 says (backslash, comma, semicolon, newline) and
lines are folded at 75 octets without cutting a UTF-8 sequence in two. Labels vCard has a
TYPE for (work, home, mobile, fax ...) become TYPE parameters; any other label travels as
an ``itemN.X-ABLabel`` line, the grouping Apple and Google use and the vCard reader reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from dexio.schema import SOCIAL_FIELDS
from dexio.writers.layouts import SOCIAL_URLS

LINE_LIMIT = 75  # octets per physical line, excluding CRLF (RFC 6350 section 3.2)

EMAIL_TYPES = {"work": "work", "home": "home", "personal": "home"}
PHONE_TYPES = {
    "mobile": "cell",
    "cell": "cell",
    "work": "work",
    "home": "home",
    "fax": "fax",
    "pager": "pager",
    "voice": "voice",
    "text": "text",
    "video": "video",
    "textphone": "textphone",
}
# A telephone number that is a valid tel: URI as it stands (RFC 3966 visual separators).
_TEL_URI_CHARS = frozenset("+0123456789-.()")


def escape(value: str) -> str:
    """Escape a TEXT value: backslash, comma, semicolon and newlines."""
    value = value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def fold(line: str) -> bytes:
    """Encode one content line as UTF-8 and fold it into lines of at most 75 octets."""
    data = line.encode("utf-8")
    if len(data) <= LINE_LIMIT:
        return data + b"\r\n"
    parts: list[bytes] = []
    start, limit = 0, LINE_LIMIT
    while start < len(data):
        end = min(start + limit, len(data))
        # Never split a multi-byte character: back off while the next octet continues one.
        while end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1
        parts.append(data[start:end])
        start, limit = end, LINE_LIMIT - 1  # continuation lines begin with one space
    return b"\r\n ".join(parts) + b"\r\n"


def _param(value: str) -> str:
    """A parameter value, quoted when it holds a character that ends a parameter."""
    value = value.replace('"', "'").replace("\r", " ").replace("\n", " ")
    return f'"{value}"' if any(c in value for c in ":;,") else value


def _sorted(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    big = 1 << 30
    return sorted(items or [], key=lambda item: item.get("ranking") or big)


class _Card:
    """Collects the content lines of one card."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.lines: list[str] = ["BEGIN:VCARD", f"VERSION:{version}.0"]
        self.groups = 0

    def add(self, name: str, value: str, params: Iterable[str] = ()) -> None:
        self.lines.append(";".join([name, *params]) + ":" + value)

    def add_labelled(self, name: str, value: str, params: list[str], label: str) -> None:
        """A property whose label vCard has no TYPE for: grouped with an X-ABLabel line."""
        self.groups += 1
        group = f"item{self.groups}"
        self.add(f"{group}.{name}", value, params)
        self.add(f"{group}.X-ABLabel", escape(label))


def _types(version: int, *types: str) -> str:
    if version == 3:
        return "TYPE=" + ",".join(t.upper() if t != "pref" else t for t in types)
    return "TYPE=" + ",".join(types)


def _emails(card: _Card, emails: list[dict[str, Any]] | None) -> None:
    v = card.version
    for email in _sorted(emails):
        address = email.get("email")
        if not address:
            continue
        label = (email.get("label") or "").strip()
        kind = EMAIL_TYPES.get(label.lower())
        primary = email.get("ranking") == 1
        params: list[str] = []
        if v == 3:
            kinds = ["internet", *([kind] if kind else []), *(["pref"] if primary else [])]
            params.append(_types(3, *kinds))
        else:
            if kind:
                params.append(_types(4, kind))
            if primary:
                params.append("PREF=1")
        if label and not kind:
            card.add_labelled("EMAIL", escape(address), params, label)
        else:
            card.add("EMAIL", escape(address), params)


def _phones(card: _Card, phones: list[dict[str, Any]] | None) -> None:
    v = card.version
    for phone in _sorted(phones):
        number = phone.get("phone_number") or phone.get("phone_number_sanitized")
        if not number:
            continue
        label = (phone.get("label") or "").strip()
        kind = PHONE_TYPES.get(label.lower())
        primary = phone.get("ranking") == 1
        params: list[str] = []
        if v == 3:
            kinds = [*([kind] if kind else []), *(["pref"] if primary else [])]
            if kinds:
                params.append(_types(3, *kinds))
            value = escape(number)
        else:
            if set(number) <= _TEL_URI_CHARS:
                params.append("VALUE=uri")
                value = "tel:" + number
            else:  # "+1 (415) 555-0100 ext 2" is no valid URI: keep it as text
                params.append("VALUE=text")
                value = escape(number)
            if kind:
                params.append(_types(4, kind))
            if primary:
                params.append("PREF=1")
        if label and not kind:
            card.add_labelled("TEL", value, params, label)
        else:
            card.add("TEL", value, params)


def _birthday(card: _Card, birthday: str | None) -> None:
    if not birthday:
        return
    if birthday.startswith("--"):
        month_day = birthday[2:].replace("-", "")
        if card.version == 4:
            card.add("BDAY", f"--{month_day}")
        else:  # 3.0 has no yearless date; Apple's convention is understood widely
            card.add("BDAY", f"1604-{month_day[:2]}-{month_day[2:]}", ["X-APPLE-OMIT-YEAR=1604"])
    elif card.version == 4:
        card.add("BDAY", birthday.replace("-", ""))
    else:
        card.add("BDAY", birthday)


def card_lines(record: Mapping[str, Any], version: int = 4) -> list[str]:
    """The unfolded content lines of one canonical record's card."""
    card = _Card(version)
    first = record.get("first_name") or ""
    last = record.get("last_name") or ""
    full = record.get("full_name") or " ".join(p for p in (first, last) if p)
    if not full:
        full = record.get("company") or ""
    card.add("FN", escape(full))
    card.add("N", f"{escape(last)};{escape(first)};;;")
    scalars = (
        ("ORG", "company"),
        ("TITLE", "job_title"),
        ("URL", "website"),
        ("NOTE", "description"),
    )
    for prop, field in scalars:
        if record.get(field):
            card.add(prop, escape(record[field]))
    _emails(card, record.get("emails"))
    _phones(card, record.get("phones"))
    _birthday(card, record.get("birthday"))
    if record.get("legacy_location"):
        card.add("ADR", f";;{escape(record['legacy_location'])};;;;", [_types(version, "home")])
    for network in SOCIAL_FIELDS:
        handle = record.get(network)
        if handle:
            url = handle if "://" in handle else SOCIAL_URLS[network].format(handle)
            params = [_types(version, network), f"X-USER={_param(handle)}"]
            card.add("X-SOCIALPROFILE", escape(url), params)
    if record.get("image_url"):
        card.add("PHOTO", escape(record["image_url"]), ["VALUE=uri"] if version == 3 else [])
    tags = [t for t in record.get("tags") or [] if t]
    if tags:
        card.add("CATEGORIES", ",".join(escape(t) for t in tags))
    if record.get("source_id"):
        card.add("UID", escape(record["source_id"]))
    card.lines.append("END:VCARD")
    return card.lines


def cards(frame: pl.DataFrame, version: int = 4) -> Iterator[bytes]:
    """Each record of a canonical frame as one folded, CRLF-terminated card."""
    for record in frame.iter_rows(named=True):
        yield b"".join(fold(line) for line in card_lines(record, version))


def write_vcf(pages: Iterable[pl.DataFrame], path: Path, *, vcard_version: int = 4) -> int:
    """Write canonical ``pages`` to ``path`` as vCards; return the number of cards."""
    rows = 0
    with path.open("wb") as out:
        for page in pages:
            out.writelines(cards(page, vcard_version))
            rows += page.height
    return rows
