"""vCard 2.1, 3.0 and 4.0 (.vcf) -> a raw table that ``mappings/vcard.toml`` places.

One row per card. Each card is parsed on its own: a card that is cut off or garbled is kept
as a rejected row with its number, and the cards around it still go through. Handled: folded
lines, QUOTED-PRINTABLE with CHARSET (and its soft line breaks), escaped , ; \\n, ``item1.``
groups with ``X-ABLabel`` labels, TYPE/PREF preference, Apple's omitted birth year, and
embedded photos (skipped with a row issue, never decoded).
"""

from __future__ import annotations

import quopri
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dexio.errors import InputError
from dexio.mapping import ISSUES_COLUMN, ROW_COLUMN
from dexio.readers.countries import region_of
from dexio.readers.text import MAX_FIELD_BYTES, RawTable, clean_cell, decode

PROPERTY = re.compile(r"^(?:([A-Za-z0-9-]+)\.)?([A-Za-z0-9-]+)([;:])")
#: TYPE values that say nothing a person would call a label.
NOISE_TYPES = {"internet", "voice", "pref", "x400", "msg", "text", "uri", ""}
SOCIAL_DOMAINS = {
    "linkedin.com": "linkedin",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "facebook.com": "facebook",
    "instagram.com": "instagram",
    "t.me": "telegram",
    "tiktok.com": "tiktok",
    "youtube.com": "youtube",
}
SOCIAL_NETWORKS = set(SOCIAL_DOMAINS.values()) | {"x"}
#: Properties that describe the file, not the person.
SKIPPED = {
    "BEGIN",
    "END",
    "VERSION",
    "PRODID",
    "REV",
    "X-ABUID",
    "X-ABLABEL",
    "X-ABADR",
    "X-ABSHOWAS",
    "CLIENTPIDMAP",
}
BASE64_LINE = re.compile(r"^[A-Za-z0-9+/]+=*$")
APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")


@dataclass
class Property:
    group: str | None
    name: str
    params: dict[str, list[str]]
    value: str
    line: int


@dataclass
class Card:
    number: int
    line: int
    properties: list[Property] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    rejected: str | None = None


def read_vcards(file: Path) -> RawTable:
    """Parse every card in ``file`` into a :class:`RawTable` of strings."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", file=file) from None
    utf8, encoding = decode(data, str(file))
    cards = split_cards(utf8.decode("utf-8"))
    if not cards:
        raise InputError("no BEGIN:VCARD ... END:VCARD card found", file=file)
    rows = [_card_row(card) for card in cards]
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(k for k in row if not k.startswith("_")))
    columns: dict[str, list[object]] = {n: [r.get(n) for r in rows] for n in names}
    columns[ROW_COLUMN] = [c.number for c in cards]
    columns[ISSUES_COLUMN] = [
        ([f"rejected: {c.rejected}"] if c.rejected else []) + c.issues for c in cards
    ]
    schema: dict[str, pl.DataType] = {n: pl.String() for n in names}
    schema[ROW_COLUMN] = pl.UInt32()
    schema[ISSUES_COLUMN] = pl.List(pl.String)
    frame = pl.DataFrame(columns, schema=schema)
    frame = frame.with_columns(clean_cell(pl.col(n)).alias(n) for n in names)
    versions = sorted({v for r in rows if (v := r.get("_version"))})
    details = {"encoding": encoding, "vCard version": ", ".join(versions) or "unknown"}
    return RawTable(frame=frame, format="vcard", details=details)


def split_cards(text: str) -> list[Card]:
    """Unfold lines and cut the text into cards; a broken card is marked, not fatal."""
    cards: list[Card] = []
    current: Card | None = None
    logical: list[tuple[int, str]] = []
    quoted_printable = False
    for number, raw in enumerate(text.splitlines(), start=1):
        if logical and (raw[:1] in (" ", "\t")):
            logical[-1] = (logical[-1][0], logical[-1][1] + raw[1:])
            continue
        if logical and quoted_printable and logical[-1][1].endswith("="):
            logical[-1] = (logical[-1][0], logical[-1][1][:-1] + "=\n" + raw)
            continue
        if not raw.strip():
            continue
        if logical and not PROPERTY.match(raw) and BASE64_LINE.match(raw.strip()):
            # vCard 2.1 base64 bodies (photos) may go on without the folding space.
            logical[-1] = (logical[-1][0], logical[-1][1] + raw.strip())
            continue
        logical.append((number, raw))
        head = raw.split(":", 1)[0].upper()
        quoted_printable = "QUOTED-PRINTABLE" in head
    for line_no, line in logical:
        upper = line.strip().upper()
        if upper == "BEGIN:VCARD":
            if current is not None:
                current.rejected = f"card starting on line {current.line} has no END:VCARD"
                cards.append(current)
            current = Card(number=len(cards) + 1, line=line_no)
            continue
        if upper == "END:VCARD":
            if current is not None:
                cards.append(current)
            current = None
            continue
        if current is None:
            continue  # text between cards (or before the first) is not part of any contact
        prop = parse_property(line, line_no)
        if prop is None:
            current.issues.append(f"line {line_no} is not a vCard property, ignored")
        else:
            current.properties.append(prop)
    if current is not None:
        current.rejected = f"card starting on line {current.line} has no END:VCARD (file cut off?)"
        cards.append(current)
    return cards


def parse_property(line: str, line_no: int) -> Property | None:
    head, sep, value = _split_unquoted(line, ":")
    if not sep:
        return None
    parts = _split_params(head)
    group, _, name = parts[0].rpartition(".")
    params: dict[str, list[str]] = {}
    for part in parts[1:]:
        key, eq, val = part.partition("=")
        if not eq:  # vCard 2.1 bare parameter: "TEL;WORK;VOICE:..."
            key, val = "TYPE", key
            if key.upper() in ("QUOTED-PRINTABLE", "BASE64", "B"):
                key = "ENCODING"
        values = [v.strip().strip('"') for v in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", val)]
        upper_key = key.strip().upper()
        if upper_key == "TYPE" and val.upper() in ("QUOTED-PRINTABLE", "BASE64", "B"):
            upper_key = "ENCODING"
        params.setdefault(upper_key, []).extend(values)
    encoding = " ".join(params.get("ENCODING", [])).upper()
    if "QUOTED-PRINTABLE" in encoding:
        charset = (params.get("CHARSET") or ["utf-8"])[0]
        raw = quopri.decodestring(value.replace("=\n", "").encode("latin-1", errors="replace"))
        try:
            value = raw.decode(charset)
        except (LookupError, ValueError):  # unknown charset, bad bytes, NUL in the name
            value = raw.decode("cp1252", errors="replace")
    return Property(group or None, name.upper(), params, value, line_no)


def _split_unquoted(text: str, sep: str) -> tuple[str, str, str]:
    """Split at the first ``sep`` outside double quotes (parameter values may hold ':')."""
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            return text[:i], sep, text[i + 1 :]
    return text, "", ""


def _split_params(head: str) -> list[str]:
    parts: list[str] = []
    rest = head
    while True:
        part, sep, rest = _split_unquoted(rest, ";")
        parts.append(part)
        if not sep:
            return parts


def unescape(value: str) -> str:
    return re.sub(r"\\([\\,;nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def components(value: str, sep: str = ";") -> list[str]:
    """Split a structured value (N, ADR, ORG) on unescaped separators, then unescape."""
    return [unescape(p) for p in re.split(rf"(?<!\\){re.escape(sep)}", value)]


def birthday(prop: Property) -> str:
    """vCard dates -> YYYY-MM-DD or --MM-DD when recognisable; anything else as written."""
    value = prop.value.strip()
    omit = prop.params.get("X-APPLE-OMIT-YEAR")
    date = value.split("T", 1)[0]
    m = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})", date)
    if m:
        year, month, day = m.groups()
        if omit and omit[0] == year:
            return f"--{month}-{day}"
        return f"{year}-{month}-{day}"
    m = re.fullmatch(r"--(\d{2})-?(\d{2})", date)
    if m:
        return f"--{m.group(1)}-{m.group(2)}"
    return value


def _label(prop: Property, group_labels: dict[str, str]) -> tuple[str | None, int]:
    """(label, preference): lower preference sorts first; 100 = no preference given."""
    types = [t.strip().lower() for t in prop.params.get("TYPE", []) for t in t.split(",")]
    preference = 100
    if "pref" in types:
        preference = 1
    for pref in prop.params.get("PREF", []):
        if pref.isdigit():
            preference = min(preference, int(pref))
    if prop.group and prop.group.lower() in group_labels:
        return group_labels[prop.group.lower()], preference
    kinds = [t for t in types if t not in NOISE_TYPES and not t.startswith("x-")]
    if "iphone" in kinds:  # Apple marks its own phones as both IPHONE and CELL
        kinds = ["cell", *[k for k in kinds if k not in ("iphone", "cell")]]
    return (" ".join(dict.fromkeys(kinds)) or None), preference


def _card_row(card: Card) -> dict[str, str | None]:
    row: dict[str, str | None] = {}
    group_labels: dict[str, str] = {}
    for prop in card.properties:
        if prop.name == "X-ABLABEL" and prop.group:
            text = unescape(prop.value).strip()
            apple = APPLE_LABEL.match(text)
            group_labels[prop.group.lower()] = (apple.group(1) if apple else text).lower()
    emails: list[tuple[int, int, str, str | None]] = []
    phones: list[tuple[int, int, str, str | None]] = []
    others: dict[str, list[str]] = {}
    region: str | None = None
    for order, prop in enumerate(card.properties):
        name = prop.name
        if len(prop.value.encode()) > MAX_FIELD_BYTES and name != "PHOTO":
            card.issues.append(f"{name} on line {prop.line} longer than 1 MB, left out")
            continue
        if name == "VERSION":
            row["_version"] = prop.value.strip()
        if name in SKIPPED:
            continue
        if name == "EMAIL":
            label, pref = _label(prop, group_labels)
            emails.append((pref, order, unescape(prop.value), label))
        elif name == "TEL":
            label, pref = _label(prop, group_labels)
            value = unescape(prop.value).strip()
            if value.lower().startswith("tel:"):
                # RFC 3966: "tel:+1-555-0100;ext=12" -> "+1-555-0100 ext. 12"
                number, _, params = value[4:].partition(";")
                ext = re.search(r"(?:^|;)ext=([^;]+)", params)
                value = number + (f" ext. {ext.group(1)}" if ext else "")
            phones.append((pref, order, value, label))
        elif name == "N":
            parts = [*components(prop.value), "", "", "", "", ""]
            for key, part in zip(
                ("N.family", "N.given", "N.additional", "N.prefix", "N.suffix"), parts, strict=False
            ):
                if part.strip():
                    row.setdefault(key, part.replace(",", " ").strip())
        elif name == "ORG":
            parts = components(prop.value)
            row.setdefault("ORG", parts[0])
            unit = "; ".join(p for p in parts[1:] if p.strip())
            if unit:
                row.setdefault("ORG.unit", unit)
        elif name == "ADR":
            parts = [p.replace("\n", ", ") for p in components(prop.value)]
            line = ", ".join(p.strip() for p in parts if p.strip())
            if line:
                others.setdefault("ADR", []).append(line)
                country = parts[6].strip() if len(parts) > 6 else ""
                region = region or region_of(country)
        elif name == "BDAY":
            row.setdefault("BDAY", birthday(prop))
        elif name == "CATEGORIES":
            tags = [t.strip() for t in components(prop.value, ",") if t.strip()]
            others.setdefault("CATEGORIES", []).extend(tags)
        elif name == "PHOTO":
            _photo(card, prop, row)
        elif name == "X-SOCIALPROFILE":
            network = _network(prop)
            user = (prop.params.get("X-USER") or [""])[0]
            row.setdefault(f"SOCIAL.{network}", user or unescape(prop.value))
        elif name == "URL":
            url = unescape(prop.value).strip()
            found = _domain_network(url)
            if found:
                row.setdefault(f"SOCIAL.{found}", url)
            else:
                others.setdefault("URL", []).append(url)
        else:
            others.setdefault(name, []).append(unescape(prop.value))
    for kind, items in (("EMAIL", emails), ("TEL", phones)):
        items.sort(key=lambda item: (item[0], item[1]))
        for n, (_, _, value, label) in enumerate(items, start=1):
            row[f"{kind} {n}"] = value
            row[f"{kind} {n} TYPE"] = label
    for key, values in others.items():
        if key == "CATEGORIES":
            row[key] = "\n".join(values)
        elif key in ("URL", "ADR"):
            row[key] = values[0]
            for n, extra in enumerate(values[1:], start=2):
                row[f"{key} {n}"] = extra
        else:
            row[key] = "\n".join(values)
    if region:
        row["ADR.region"] = region
    if row.get("FN") is None and "FN" in others:
        row["FN"] = others["FN"][0]
    if not any(row.get(k) for k in ("N.family", "N.given")) and row.get("FN") == row.get("ORG"):
        row.pop("FN", None)  # an organisation's card names the company, not a person
    if not card.properties and not card.rejected:
        card.rejected = "empty card"
    return row


def _photo(card: Card, prop: Property, row: dict[str, str | None]) -> None:
    encoding = " ".join(prop.params.get("ENCODING", [])).upper()
    value = prop.value.strip()
    if encoding in ("B", "BASE64") or value.startswith("data:"):
        card.issues.append("photo skipped (embedded base64)")
    elif value:
        row.setdefault("PHOTO", value)


def _network(prop: Property) -> str:
    types = [t.lower() for t in prop.params.get("TYPE", [])]
    for t in types:
        if t in SOCIAL_NETWORKS:
            return "twitter" if t == "x" else t
    return _domain_network(prop.value) or (types[0] if types else "other")


def _domain_network(url: str) -> str | None:
    host = re.sub(r"^[a-z]+://", "", url.strip().lower()).split("/", 1)[0]
    host = host.removeprefix("www.").removeprefix("m.")
    return SOCIAL_DOMAINS.get(host)
