"""Dex records <-> the canonical contact frame: the two pure functions of the Dex connector.

:func:`to_canonical` reads v1 contacts (models or dicts) and legacy ``/api/rest`` contacts;
:func:`to_wire` builds ``POST /v1/contacts`` items. Notes, reminders and tags are not part
of a contact payload: they go through their own calls, which the import engine makes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl
from pydantic import BaseModel

from dexio.schema import NAME_FIELDS, SOCIAL_FIELDS, TEXT_FIELDS, conform, from_records

#: Canonical columns that carry a Dex field of the same name, value for value.
DIRECT_FIELDS: tuple[str, ...] = (*NAME_FIELDS, *TEXT_FIELDS, *SOCIAL_FIELDS, "image_url")

#: Dex fields the canonical schema lacks that ``to_wire`` sends back from ``extra`` when
#: the value has the type Dex expects (so a CSV column "starred" = "yes" is not sent).
WIRE_PASSTHROUGH: dict[str, type | tuple[type, ...]] = {
    "starred": bool,
    "frequency": str,
    "never_keep_in_touch": bool,
    "last_seen_at": str,
    "next_reminder_at": str,
    "legacy_contact_addresses": list,
}

#: Read-only bookkeeping of a Dex record that is not worth keeping in ``extra``.
_DROPPED = frozenset({"id", "tags_contacts", "user_id"})
_FULL_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_NO_YEAR = re.compile(r"^--(\d{2})-(\d{2})$")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _as_dict(record: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(record, BaseModel):
        return record.model_dump(exclude_none=True)
    return {k: v for k, v in record.items() if v is not None}


def _emails(items: list[Any]) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(items):
        email = _text(item.get("email")) if isinstance(item, Mapping) else _text(item)
        if not email:
            continue
        label = _text(item.get("label")) if isinstance(item, Mapping) else None
        ranking = item.get("ranking") if isinstance(item, Mapping) else None
        out.append({"email": email, "label": label, "ranking": ranking or i + 1})
    return out


def _phones(items: list[Any]) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            item = {"phone_number": item}
        number = _text(item.get("phone_number")) or _text(item.get("phone_number_sanitized"))
        if not number:
            continue
        out.append(
            {
                "phone_number": number,
                "country_code": _text(item.get("country_code")),
                "phone_number_sanitized": _text(item.get("phone_number_sanitized")),
                "label": _text(item.get("label")),
                "ranking": item.get("ranking") or i + 1,
            }
        )
    return out


def _birthday(birthday: Any, year: Any) -> str | None:
    """Dex keeps the year apart (``birthday_year``); canonical is YYYY-MM-DD or --MM-DD."""
    text = _text(birthday)
    if text is None:
        return None
    month_day = None
    if match := _FULL_DATE.match(text):
        month_day = f"{match[2]}-{match[3]}"
    elif match := _NO_YEAR.match(text):
        month_day = f"{match[1]}-{match[2]}"
    if month_day is None:
        return text  # unexpected shape: keep it as Dex gave it rather than guess
    if isinstance(year, int) and 1 <= year <= 9999:
        return f"{year:04d}-{month_day}"
    return text


def to_canonical(contacts: Iterable[BaseModel | Mapping[str, Any]]) -> pl.DataFrame:
    """Dex contacts (v1 ``Contact`` / legacy ``LegacyContact`` models or plain dicts) ->
    a canonical frame: ``source="dex"``, ``source_id`` = the Dex id, ``row`` = 1..n.

    Emails, phones and tag names are mapped to their columns; every other field Dex holds
    (starred, frequency, created_at, birthday_year, ...) goes into the ``extra`` JSON.
    """
    records: list[Mapping[str, Any]] = []
    for row, contact in enumerate(contacts, start=1):
        raw = _as_dict(contact)
        record: dict[str, Any] = {"source": "dex", "row": row, "source_id": _text(raw.get("id"))}
        for name in DIRECT_FIELDS:
            record[name] = _text(raw.pop(name, None))
        record["emails"] = _emails(raw.pop("contact_emails", None) or raw.pop("emails", None) or [])
        record["phones"] = _phones(
            raw.pop("contact_phone_numbers", None) or raw.pop("phones", None) or []
        )
        tags = [_text(t.get("name")) for t in raw.pop("tags", None) or [] if isinstance(t, Mapping)]
        record["tags"] = [t for t in tags if t]
        record["birthday"] = _birthday(raw.pop("birthday", None), raw.get("birthday_year"))
        if "source" in raw:  # Dex's own provenance (e.g. linkedin_sync), not ours
            raw["dex_source"] = raw.pop("source")
        extra = {k: v for k, v in raw.items() if k not in _DROPPED}
        record["extra"] = json.dumps(extra, sort_keys=True, default=str) if extra else None
        records.append(record)
    return from_records(records)


def to_wire(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Canonical frame -> ``POST /v1/contacts`` items (dicts, None values left out).

    Names are made consistent (``full_name`` from first + last, or first/last split from
    ``full_name`` at its last space), emails and phones keep their ranking (position when
    missing), ``birthday`` goes with ``birthday_year`` when the year is known, and the
    Dex-only fields of :data:`WIRE_PASSTHROUGH` come back out of ``extra``.
    """
    frame = conform(frame)
    full = pl.col("full_name").str.strip_chars()
    first = pl.col("first_name").str.strip_chars()
    last = pl.col("last_name").str.strip_chars()
    joined = pl.concat_str([first, last], separator=" ", ignore_nulls=True).str.strip_chars()
    split = full.str.extract_groups(r"^(?<first>.*\S)\s+(?<last>\S+)$")
    no_parts = first.is_null() & last.is_null()
    wire = frame.select(
        pl.when(full.is_null() | (full == ""))
        .then(pl.when(joined == "").then(None).otherwise(joined))
        .otherwise(full)
        .alias("full_name"),
        pl.when(no_parts)
        .then(pl.coalesce(split.struct.field("first"), full))
        .otherwise(first)
        .alias("first_name"),
        pl.when(no_parts).then(split.struct.field("last")).otherwise(last).alias("last_name"),
        *[pl.col(name) for name in DIRECT_FIELDS if name not in NAME_FIELDS],
        pl.col("birthday"),
        pl.col("birthday")
        .str.extract(r"^(\d{4})-\d{2}-\d{2}$", 1)
        .cast(pl.Int32, strict=False)
        .alias("birthday_year"),
        pl.col("emails"),
        pl.col("phones"),
        pl.col("extra"),
    )
    payloads = []
    for row in wire.iter_rows(named=True):
        item: dict[str, Any] = {}
        for key, value in row.items():
            if key in ("emails", "phones", "extra") or value is None:
                continue
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            item[key] = value
        emails = _emails(row["emails"] or [])
        if emails:
            item["contact_emails"] = [_without_none(e) for e in emails]
        phones = _phones(row["phones"] or [])
        if phones:
            item["contact_phone_numbers"] = [_without_none(p) for p in phones]
        item.update(_passthrough(row["extra"]))
        payloads.append(item)
    return payloads


def _without_none(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


def _passthrough(extra: str | None) -> dict[str, Any]:
    if not extra:
        return {}
    try:
        values = json.loads(extra)
    except ValueError:
        return {}
    if not isinstance(values, dict):
        return {}
    out: dict[str, Any] = {}
    for key, kind in WIRE_PASSTHROUGH.items():
        value = values.get(key)
        if isinstance(value, kind):
            out[key] = value
    addresses = out.get("legacy_contact_addresses")
    if addresses is not None:
        kept = [
            {"formatted": a["formatted"]}
            for a in addresses
            if isinstance(a, Mapping) and isinstance(a.get("formatted"), str)
        ]
        if kept:
            out["legacy_contact_addresses"] = kept
        else:
            del out["legacy_contact_addresses"]
    return out
