"""Folding a cluster of records into one contact without losing anything.

The survivor is the record from the most trusted source (the ``trust`` order), then the most
complete, then the earliest. Its scalar fields stay; gaps are filled from the other records
in the same order, and every disagreement is listed in ``conflicts``. E-mails and phones are
united and re-ranked (the survivor's primary stays primary), tags, notes, reminders and
issues united, ``extra`` objects merged (the survivor's keys win).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import polars as pl

from dexio.dedupe._features import _per_value, company_key, fold
from dexio.schema import SCALAR_FIELDS, SCHEMA

#: Scalars filled from other records when the survivor lacks them, with conflicts listed.
#: ``source_id`` stays the survivor's own: it names one record in one system.
MERGED_SCALARS = tuple(f for f in SCALAR_FIELDS if f != "source_id")

#: The merged fields by name: a group's conflicts are listed in this order.
_FIELD = pl.Enum(sorted(MERGED_SCALARS))


def rank_members(
    frame: pl.DataFrame, trust: Sequence[str] | None, where: pl.Expr | None = None
) -> pl.DataFrame:
    """Add ``mrank`` (0 = survivor) inside each ``label`` of a frame of cluster members,
    sorted by ``label`` and ``mrank``. ``where`` picks the members among ``frame``'s rows
    (all of them by default)."""
    order = list(trust or [])
    positions = {name: i for i, name in enumerate(order)}
    base = pl.col("source").str.extract(r"([^/\\]+)$", 1)
    unknown = len(order)
    trust_rank = (
        pl.min_horizontal(
            pl.col("source").replace_strict(positions, default=unknown, return_dtype=pl.Int64),
            base.replace_strict(positions, default=unknown, return_dtype=pl.Int64),
        ).fill_null(unknown)
        if order
        else pl.lit(0, dtype=pl.Int64)  # no trust order: every source ranks the same
    )
    filled = pl.sum_horizontal(
        *[pl.col(f).is_not_null() & (pl.col(f).str.strip_chars() != "") for f in MERGED_SCALARS],
        pl.col("emails").list.len().fill_null(0) > 0,
        pl.col("phones").list.len().fill_null(0) > 0,
    )
    # The order is worked out on the ranking columns of the members alone; the records
    # move once, straight from ``frame`` (a filtered copy of them first would be a second
    # copy of every member's lists).
    # (a lazy query: only the columns the ranking reads are filtered)
    chosen = frame.lazy().with_row_index("_at")
    if where is not None:
        chosen = chosen.filter(where)
    ranking = (
        chosen.select(
            pl.col("_at").sort_by(
                [pl.col("label"), trust_rank, filled, pl.col("_i")],
                descending=[False, False, True, False],
            )
        )
        .collect()
        .to_series()
    )
    return frame[ranking].with_columns(mrank=_position_in_label())


def _position_in_label() -> pl.Expr:
    """Each row's place (0, 1, ...) among the rows of its ``label``, in a frame sorted by
    ``label``: how far it is from the label's first row (no window over the labels)."""
    row = pl.int_range(pl.len(), dtype=pl.UInt32)
    return (
        row - pl.when(pl.col("label").ne_missing(pl.col("label").shift())).then(row).forward_fill()
    )


def _same(column: str) -> pl.Expr:
    """Rows whose ``column`` holds what the row before holds."""
    return pl.col(column).eq_missing(pl.col(column).shift())


def _differing(column: str) -> pl.Expr:
    """Rows of a frame sorted by ``label`` (nulls dropped) whose ``column`` differs from the
    row before in the same label: a label has one when its texts are not all the same."""
    return (pl.col(column) != pl.col(column).shift()) & (pl.col("label") == pl.col("label").shift())


def _text(field: str) -> pl.Expr:
    """A field's text without surrounding spaces; nothing but spaces is no text (null)."""
    value = pl.col(field).str.strip_chars()
    return pl.when(value != "").then(value).alias(field)


def _quote(expr: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit("'"), expr, pl.lit("'")])


def _key(field: str, value: pl.Expr) -> pl.Expr:
    """What two texts of ``field`` must share to be one value, not a conflict."""
    # Two spellings of one value are not a conflict ("Acme Inc." vs "ACME", "Lopez" vs
    # "López"); a birthday without a year agrees with one that has it.
    if field == "birthday":
        return value.str.slice(-5)
    if field == "company":
        return company_key(value)
    return pl.coalesce(fold(value), value)


def merge_scalars(members: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(``label`` + one column per scalar field, ``label`` + ``conflicts`` list)."""
    text = members.select(
        "label", "mrank", "source", "row", *[_text(f) for f in MERGED_SCALARS]
    ).sort("label", "mrank")
    # The survivor's text, or the next record's where it has none: what is kept, except
    # for a birthday without a year next to one with it (below).
    wide = text.group_by("label").agg(pl.col(f).drop_nulls().first() for f in MERGED_SCALARS)
    # Where every record of a group holds the same text there is nothing to choose and no
    # conflict. Keys, ranks and conflicts are worked out only for the fields whose texts
    # differ (about one in seven at 200k generated rows), on those records alone: a group's
    # texts differ when one differs from the text before it (records in rank order).
    parts = []
    name_clashes: list[pl.Series] = []
    # (full_name after first_name and last_name: see below)
    for f in sorted(MERGED_SCALARS, key=lambda f: f == "full_name"):
        present = text.select("label", "mrank", "source", "row", value=f).drop_nulls("value")
        varied = present.filter(_differing("value"))["label"].unique()
        if f == "full_name":
            # "Bob Stone" vs "Robert Stone" says nothing the first_name conflict has not
            # said: the full names of a group whose first or last names clash are not
            # compared (folding them was the largest part of this function: 1M rows, 82,094
            # full names -> 42, 0.096 -> 0.001 CPU s).
            varied = varied.filter(~varied.is_in(pl.concat(name_clashes).implode()))
        rows = present.filter(pl.col("label").is_in(varied.implode()))
        part = rows.with_columns(
            field=pl.lit(f, dtype=_FIELD),
            # (names repeat: each distinct text is folded once)
            key=_per_value(rows, pl.col("value"), lambda v: _key(f, v)),  # noqa: B023
            has_year=~pl.col("value").str.starts_with("--") & (f == "birthday"),
        )
        if f in ("first_name", "last_name"):
            # (two keys in a group: one differs from the one before it)
            name_clashes.append(part.filter(_differing("key"))["label"])
        parts.append(part)
    # Field by field, each in label and rank order: the records of one field of one group
    # are together, the first one the survivor's (the fields in any order: they are sorted
    # by name below). No sort by label and field and no window over them to find that
    # first text (and the fields an Enum, not texts, in the sort: 1M rows, merge_scalars
    # 0.55 -> 0.48 CPU s).
    long = pl.concat(parts)
    row = pl.int_range(pl.len(), dtype=pl.UInt32)
    starts = ~(_same("label") & _same("field"))
    kept_key = pl.col("key").gather(pl.when(starts).then(row).forward_fill())
    long = long.with_columns(
        pick=pl.when(pl.col("key") == kept_key)
        .then(pl.col("has_year").cast(pl.Int8) * -1)
        .otherwise(pl.lit(1, dtype=pl.Int8)),
    ).sort("field", "label", "pick", "mrank")
    distinct = long.unique(["label", "field", "key"], keep="first", maintain_order=True)
    per_field = distinct.group_by("label", "field", maintain_order=True).agg(
        kept=pl.col("value").first(),
        kept_source=pl.col("source").first(),
        kept_row=pl.col("row").first(),
        values=pl.col("value"),
    )
    # The birthday with the year is kept over the survivor's without it.
    birthday = per_field.filter(pl.col("field") == "birthday").select("label", _kept="kept")
    wide = (
        wide.join(birthday, on="label", how="left")
        .with_columns(birthday=pl.coalesce("_kept", "birthday"))
        .select("label", *[pl.col(f).cast(pl.String) for f in MERGED_SCALARS])
        # (a group with no text in any field has nothing to fill in)
        .filter(pl.any_horizontal(pl.col(f).is_not_null() for f in MERGED_SCALARS))
    )
    clashing = per_field.filter(pl.col("values").list.len() > 1)
    clashes = clashing.select(
        "label",
        text=pl.concat_str(
            [
                pl.col("field").cast(pl.String),
                pl.lit(": "),
                pl.col("values").list.eval(_quote(pl.element())).list.join(" vs "),
                pl.lit(" (kept "),
                _quote(pl.col("kept")),
                pl.lit(" from "),
                pl.col("kept_source").fill_null("?"),
                pl.lit(" row "),
                pl.col("kept_row").cast(pl.String).fill_null("?"),
                pl.lit(")"),
            ]
        ),
    )
    conflicts = clashes.group_by("label", maintain_order=True).agg(conflicts=pl.col("text"))
    return wide, conflicts


def _union(
    members: pl.DataFrame,
    column: str,
    key: pl.Expr,
    sort_by: list[pl.Expr],
    ranked: tuple[str, ...] = (),
) -> pl.DataFrame:
    """``label`` -> the united list of ``column``, first occurrence of each ``key`` kept.

    ``ranked``: the struct fields of ``column`` to keep, with ``ranking`` renumbered 1..n
    in the united order (the survivor's primary first).
    """
    items = (
        members.select("label", "mrank", column)
        .explode(column)
        .drop_nulls(column)
        .with_columns(_key=key)
        .sort([pl.col("label"), pl.col("mrank"), *sort_by])
        .unique(["label", "_key"], keep="first", maintain_order=True)
    )
    if ranked:
        fields = [pl.col(column).struct.field(f) for f in ranked]
        rank = (_position_in_label() + 1).cast(pl.Int32)
        items = items.with_columns(pl.struct(*fields, ranking=rank).alias(column))
    return items.group_by("label", maintain_order=True).agg(pl.col(column))


def merge_lists(members: pl.DataFrame) -> pl.DataFrame:
    """``label`` -> united emails, phones, tags, notes, reminders, issues."""
    labels = members.select("label").unique(maintain_order=True)
    email = pl.col("emails").struct.field("email")
    emails = _union(
        members,
        "emails",
        email.str.strip_chars().str.to_lowercase(),
        [pl.col("emails").struct.field("ranking")],
        ranked=("email", "label"),
    )
    phone_key = pl.coalesce(
        pl.col("phones").struct.field("phone_number_sanitized"),
        pl.col("phones").struct.field("phone_number").str.replace_all(r"[^\d+]", ""),
    )
    phones = _union(
        members,
        "phones",
        phone_key,
        [pl.col("phones").struct.field("ranking")],
        ranked=("phone_number", "country_code", "phone_number_sanitized", "label"),
    )
    tags = _union(members, "tags", pl.col("tags").str.strip_chars().str.to_lowercase(), [])
    notes = _union(members, "notes", pl.col("notes").struct.field("body").str.strip_chars(), [])
    reminders = _union(
        members,
        "reminders",
        pl.concat_str(
            [
                pl.col("reminders").struct.field("text"),
                pl.col("reminders").struct.field("due_date").fill_null(""),
            ],
            separator="|",
        ),
        [],
    )
    issues = _union(members, "issues", pl.col("issues"), [])
    out = labels
    for part in (emails, phones, tags, notes, reminders, issues):
        out = out.join(part, on="label", how="left")
    return out.with_columns(
        *[pl.col(c).fill_null(pl.lit([], dtype=SCHEMA[c])) for c in ("tags", "issues")]
    )


def merge_extra(members: pl.DataFrame) -> pl.DataFrame:
    """``label`` -> merged ``extra`` JSON (survivor's keys win), where two or more have one."""
    present = members.select("label", "mrank", "extra").drop_nulls("extra").sort("label", "mrank")
    # Only clusters whose records carry different extras need merging in Python.
    varied = present.filter(_differing("extra"))["label"].unique()
    present = present.filter(pl.col("label").is_in(varied.implode()))
    merged: dict[int, dict[str, object]] = {}
    for label, text in present.select("label", "extra").iter_rows():
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            obj = {"_extra": text}  # not an object: kept whole, never dropped
        target = merged.setdefault(label, {})
        for k, v in obj.items():
            target.setdefault(k, v)
    labels = sorted(merged)
    texts = [json.dumps(merged[label], ensure_ascii=False) for label in labels]
    return pl.DataFrame(
        {"label": labels, "extra": texts}, schema={"label": pl.UInt32, "extra": pl.String}
    )
