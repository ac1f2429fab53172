"""The canonical contact schema: the columns and polars dtypes every stage passes on.

See ../shared/DESIGN.md. Readers produce it, normalize/dedupe/plan keep it, writers and API
connectors consume it. Stages may add columns of their own (``cluster_id``, ``merge_reason``,
``action`` ...); :func:`conform` keeps those after the canonical ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import polars as pl

EMAIL = pl.Struct({"email": pl.String, "label": pl.String, "ranking": pl.Int32})
PHONE = pl.Struct(
    {
        "phone_number": pl.String,
        "country_code": pl.String,
        "phone_number_sanitized": pl.String,
        "label": pl.String,
        "ranking": pl.Int32,
    }
)
NOTE = pl.Struct({"body": pl.String, "created_at": pl.String})
REMINDER = pl.Struct({"text": pl.String, "due_date": pl.String, "is_complete": pl.Boolean})

#: Plain text columns, in display order. Column names follow the Dex v1 API.
NAME_FIELDS = ("first_name", "last_name", "full_name")
TEXT_FIELDS = (
    "job_title",
    "company",
    "description",
    "education",
    "website",
    "legacy_location",
)
SOCIAL_FIELDS = ("linkedin", "twitter", "facebook", "instagram", "telegram", "tiktok", "youtube")

#: Every scalar string field a mapping may target (besides the list columns).
SCALAR_FIELDS: tuple[str, ...] = (
    *NAME_FIELDS,
    *TEXT_FIELDS,
    "birthday",
    *SOCIAL_FIELDS,
    "image_url",
    "source_id",
)

SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "row": pl.UInt32(),
    **{name: pl.String() for name in NAME_FIELDS},
    **{name: pl.String() for name in TEXT_FIELDS},
    "birthday": pl.String(),  # YYYY-MM-DD, or --MM-DD when the year is unknown
    **{name: pl.String() for name in SOCIAL_FIELDS},  # bare handles, not URLs
    "image_url": pl.String(),
    "emails": pl.List(EMAIL),  # ranking 1 = primary
    "phones": pl.List(PHONE),  # phone_number_sanitized = E.164
    "tags": pl.List(pl.String),
    "notes": pl.List(NOTE),
    "reminders": pl.List(REMINDER),
    "source_id": pl.String(),
    "extra": pl.String(),  # JSON object of unmapped columns, never silently dropped
    "issues": pl.List(pl.String),
}

COLUMNS: tuple[str, ...] = tuple(SCHEMA)


def empty_frame() -> pl.DataFrame:
    """A frame with the canonical columns and no rows."""
    return pl.DataFrame(schema=SCHEMA)


#: A frame, eager or lazy: :func:`conform` gives back the kind it is given.
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def conform(frame: Frame) -> Frame:
    """Add missing canonical columns (as nulls), cast to canonical dtypes, order columns.

    Columns outside the schema are kept, after the canonical ones, so stages can carry
    their own annotations (``cluster_id``, ``merge_reason``) downstream.
    """
    columns = frame.collect_schema().names()
    exprs: list[pl.Expr] = []
    for name, dtype in SCHEMA.items():
        if name in columns:
            exprs.append(pl.col(name).cast(dtype))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    others: list[pl.Expr] = [pl.col(c) for c in columns if c not in SCHEMA]
    return frame.select([*exprs, *others])


def from_records(records: list[Mapping[str, Any]]) -> pl.DataFrame:
    """Build a canonical frame from plain dicts (missing keys become nulls)."""
    if not records:
        return empty_frame()
    columns = {name: [r.get(name) for r in records] for name in SCHEMA}
    frame = pl.DataFrame(columns, schema=SCHEMA)
    return frame


def check(frame: pl.DataFrame) -> None:
    """Raise ``TypeError`` if ``frame`` does not carry the canonical columns and dtypes."""
    for name, dtype in SCHEMA.items():
        if name not in frame.columns:
            raise TypeError(f"canonical column {name!r} is missing")
        if frame.schema[name] != dtype:
            raise TypeError(f"column {name!r} is {frame.schema[name]}, expected {dtype}")
