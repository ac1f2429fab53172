"""Match deduplicated contacts against what the destination already holds -> operations.

:func:`plan` is a pure function over two canonical frames: the contacts to import (one row
per person, as :func:`dexio.dedupe` leaves them) and what the destination holds for them
(from a lookup by email, or a whole snapshot with ``match="full"``). It adds, per row:

``action``
    ``create``, ``update``, ``unchanged``, ``rejected``, or ``merged`` (a second incoming
    row that matched the same destination contact as an earlier one; its lists are folded
    into that row's update so nothing it carries is lost).
``dest_id``
    the destination contact matched (updates, unchanged, merged).
``reason`` / ``field``
    why this action, in words; for rejections, the field at fault when there is one.
``patch``
    JSON, canonical field names, only what the destination lacks: ``fields`` (empty scalars
    filled, or overwritten with ``overwrite=True``), ``emails`` / ``phones`` (the *whole*
    merged list: read-merge-write, because a PUT replaces lists), and follow-ups
    ``tags`` / ``notes`` / ``reminders`` to add. For creates it carries the follow-ups.
``before``
    JSON of the destination record as it was (updates only), for undo.
``content_hash``
    a stable hash of the incoming record, for the ledger and re-runs.

Nothing here talks to a network; destinations (Dex, GoHighLevel, ...) provide the
``existing`` frame, so the same plan serves ``import`` and ``migrate``.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import polars as pl

from dexio.schema import SCALAR_FIELDS, SCHEMA, conform

Match = Literal["email", "full"]
OnExisting = Literal["update", "skip"]

#: Scalars a plan may fill or overwrite (source_id is provenance, not contact data).
PATCH_FIELDS: tuple[str, ...] = tuple(f for f in SCALAR_FIELDS if f != "source_id")
LIST_FIELDS = ("emails", "phones", "tags", "notes", "reminders")
#: Fields whose content defines a record for hashing (provenance and diagnostics left out).
HASHED_FIELDS: tuple[str, ...] = tuple(
    c for c in SCHEMA if c not in ("source", "row", "issues", "extra")
)
#: Prefix of an ``issues`` entry by which readers mark a record they could not use.
REJECTED = "rejected: "
ACTIONS = ("create", "update", "unchanged", "rejected", "merged")
PLAN_COLUMNS = ("action", "dest_id", "reason", "field", "patch", "before", "content_hash")


#: Rows serialized at a time by :func:`content_hash` (and into ledger payloads by
#: :func:`dexio.pipeline.items_from_plan`): only one slice's JSON exists at once, never the
#: whole frame's (~0.5 GB of text plus a list of its lines at 1M rows). 20k rows keep that
#: under ~80 MB at 200k-1M rows and cost no measurable time against 50k.
SLICE_ROWS = 20_000


def content_hash(frame: pl.DataFrame) -> pl.Series:
    """A hash of each row's contact content that is stable across runs and versions.

    The hash is SHA-256 (first 32 hex digits) of the row's line of ``write_ndjson`` over
    ``HASHED_FIELDS``. Resumes and migrations compare it with hashes stored by earlier runs
    and versions, so those bytes must never change. They do not here: the frame is
    serialized :data:`SLICE_ROWS` rows at a time (a line depends on its row only) into
    bytes, and each line is hashed where it lies, split on ``\n`` alone, the one separator
    ``write_ndjson`` writes (a newline inside a value is escaped; U+2028 or U+0085 are not,
    and ``str.splitlines`` once split such a record in two).
    """
    if frame.height == 0:
        return pl.Series("content_hash", [], dtype=pl.String)
    body = conform(frame).select(HASHED_FIELDS)
    hashes: list[str] = []
    for part in body.iter_slices(SLICE_ROWS):
        buffer = io.BytesIO()
        part.write_ndjson(buffer)
        data = buffer.getvalue()
        buffer.close()
        find, start, end = data.find, 0, data.find(b"\n")
        while end != -1:
            hashes.append(hashlib.sha256(data[start:end]).hexdigest()[:32])
            start, end = end + 1, find(b"\n", end + 1)
        del data
    assert len(hashes) == frame.height, "content_hash: one line per row expected"
    return pl.Series("content_hash", hashes, dtype=pl.String)


def json_object(columns: Mapping[str, pl.DataType]) -> pl.Expr:
    """Per row, a JSON object of the ``columns`` (name -> dtype, in that order), each value
    encoded as polars' ``struct.json_encode`` encodes it, leaving out keys whose value is
    null or an empty list (an empty string is kept: it is a value). Null when no key is
    left.

    Readers of such objects take a missing key for null (``dict.get``), which is why the
    ledger can store records this way; each value is encoded by itself, as the one field
    of a struct, with the surrounding braces removed, so the object is valid JSON by
    construction.
    """
    parts = []
    for name, dtype in columns.items():
        # {"name":value} -> "name":value
        encoded = pl.struct(pl.col(name)).struct.json_encode()
        fragment = encoded.str.strip_prefix("{").str.strip_suffix("}")
        keep = (
            pl.col(name).list.len() > 0
            if isinstance(dtype, pl.List)
            else pl.col(name).is_not_null()
        )
        parts.append(pl.when(keep).then(fragment))
    inner = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.when(inner != "").then(pl.lit("{") + inner + pl.lit("}"))


def _blank(expr: pl.Expr) -> pl.Expr:
    return expr.is_null() | (expr.str.strip_chars() == "")


def _email_keys(frame: pl.DataFrame, idx: str) -> pl.DataFrame:
    return (
        frame.select(
            idx,
            key=pl.col("emails").list.eval(
                pl.element().struct.field("email").str.strip_chars().str.to_lowercase()
            ),
        )
        .explode("key")
        .filter(pl.col("key").is_not_null() & (pl.col("key") != ""))
    )


def _phone_key(element: pl.Expr) -> pl.Expr:
    """Digits of the E.164 number (or of the number as written when it would not parse)."""
    return (
        pl.coalesce(
            element.struct.field("phone_number_sanitized"), element.struct.field("phone_number")
        )
        .str.replace_all(r"[^0-9]", "")
        .str.strip_chars_start("0")
    )


def _phone_keys(frame: pl.DataFrame, idx: str) -> pl.DataFrame:
    return (
        frame.select(idx, key=pl.col("phones").list.eval(_phone_key(pl.element())))
        .explode("key")
        .filter(pl.col("key").str.len_chars() >= 6)
    )


def _name_expr() -> pl.Expr:
    full = pl.col("full_name").str.strip_chars()
    built = pl.concat_str(
        [pl.col("first_name").fill_null(""), pl.col("last_name").fill_null("")], separator=" "
    ).str.strip_chars()
    name = pl.when(_blank(pl.col("full_name"))).then(built).otherwise(full)
    return name.str.to_lowercase().str.replace_all(r"\s+", " ")


def _name_company_keys(frame: pl.DataFrame, idx: str) -> pl.DataFrame:
    return frame.select(
        idx,
        key=pl.concat_str(
            [_name_expr(), pl.col("company").str.strip_chars().str.to_lowercase()],
            separator="|",
        ),
    ).filter(
        pl.col("key").is_not_null()
        & ~pl.col("key").str.starts_with("|")
        & ~pl.col("key").str.ends_with("|")
    )


def _linkedin_keys(frame: pl.DataFrame, idx: str) -> pl.DataFrame:
    return frame.select(
        idx, key=pl.col("linkedin").str.strip_chars().str.strip_chars("/").str.to_lowercase()
    ).filter(pl.col("key").is_not_null() & (pl.col("key") != ""))


def match(contacts: pl.DataFrame, existing: pl.DataFrame, how: Match = "email") -> pl.DataFrame:
    """Pair rows of ``contacts`` (column ``_i``) with rows of ``existing`` (``_j``).

    Returns ``_i, _j, match_reason`` with at most one ``_j`` per ``_i``: the first key in
    the order email, phone, LinkedIn handle, name+company that finds anyone, and within a
    key the destination contact sharing the most values. With ``how="email"`` the other
    keys are tried only for contacts that have no email at all (so that re-importing a
    LinkedIn export, where most emails are hidden, still creates nobody); with
    ``"full"`` they are tried for everyone not matched by email.
    """
    keyers: list[tuple[str, Any]] = [
        ("email", _email_keys),
        ("phone", _phone_keys),
        ("LinkedIn", _linkedin_keys),
        ("name and company", _name_company_keys),
    ]
    with_email = _email_keys(contacts, "_i").select("_i").unique()
    found: list[pl.DataFrame] = []
    for label, keyer in keyers:
        keys = keyer(contacts, "_i")
        if how == "email" and label != "email":
            keys = keys.join(with_email, on="_i", how="anti")
        pairs = keys.join(keyer(existing, "_j"), on="key")
        best = (
            pairs.group_by("_i", "_j")
            .agg(pl.len().alias("n"), pl.col("key").sort().first())
            .sort(["_i", "n", "_j"], descending=[False, True, False])
            .unique("_i", keep="first", maintain_order=True)
            .select(
                "_i",
                "_j",
                match_reason=pl.lit(f"same {label} ") + pl.col("key").str.replace("\\|", " at "),
            )
        )
        found.append(best)
    return pl.concat(found).unique("_i", keep="first", maintain_order=True)


def _rejections(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows nobody could be created from, or that an earlier stage already rejected."""
    has_name = (
        ~_blank(pl.col("full_name")) | ~_blank(pl.col("first_name")) | ~_blank(pl.col("last_name"))
    )
    has_contact = (
        (pl.col("emails").list.len().fill_null(0) > 0)
        | (pl.col("phones").list.len().fill_null(0) > 0)
        | ~_blank(pl.col("linkedin"))
    )
    # Readers mark a record they could not use with an ``issues`` entry "rejected: why".
    from_issues = (
        pl.col("issues")
        .list.eval(pl.element().filter(pl.element().str.starts_with(REJECTED)))
        .list.first()
        .str.strip_prefix(REJECTED)
    )
    earlier = pl.coalesce(
        pl.col("reject_reason") if "reject_reason" in frame.columns else pl.lit(None, pl.String),
        from_issues,
    )
    earlier_field = (
        pl.col("reject_field") if "reject_field" in frame.columns else pl.lit(None, pl.String)
    )
    return frame.select(
        "_i",
        reason=pl.when(earlier.is_not_null())
        .then(earlier)
        .when(~has_name & ~has_contact)
        .then(pl.lit("no name, email, phone or LinkedIn handle to create a contact from")),
        field=pl.when(earlier.is_not_null()).then(earlier_field).otherwise(pl.lit(None)),
    ).filter(pl.col("reason").is_not_null())


def _fold_lists(matched: pl.DataFrame) -> pl.DataFrame:
    """Give each destination contact's first matching row the lists of all rows matching it."""
    folded = matched.group_by("_j", maintain_order=True).agg(
        pl.col("_i").first(),
        *[
            pl.col(c).list.explode(keep_nulls=False, empty_as_null=False).drop_nulls().alias(c)
            for c in LIST_FIELDS
        ],
    )
    return matched.drop(LIST_FIELDS).join(folded.drop("_j"), on="_i", how="inner")


def _new_items(
    incoming: pl.DataFrame, existing: pl.DataFrame, column: str, key: pl.Expr
) -> pl.DataFrame:
    """Per ``_i``, the items of ``incoming[column]`` whose key is absent from the match's."""
    inc = (
        incoming.select("_i", "_j", pl.col(column).alias("item"))
        .explode("item")
        .filter(pl.col("item").is_not_null())
        .with_columns(key=key.alias("key"))
        .filter(pl.col("key").is_not_null() & (pl.col("key") != ""))
        .unique(["_i", "key"], keep="first", maintain_order=True)
    )
    have = (
        existing.select("_j", pl.col(column).alias("item"))
        .explode("item")
        .filter(pl.col("item").is_not_null())
        .select("_j", key=key)
    )
    new = inc.join(have, on=["_j", "key"], how="anti")
    return new.group_by("_i", maintain_order=True).agg(pl.col("item").alias(column))


def _patches(
    matched: pl.DataFrame, existing: pl.DataFrame, *, overwrite: bool, extra_tags: Sequence[str]
) -> pl.DataFrame:
    """``_i, patch`` (JSON) for rows matched to an existing contact; null when nothing to do."""
    ex = existing.select("_j", *PATCH_FIELDS, *LIST_FIELDS)
    joined = matched.join(
        ex.select("_j", *[pl.col(f).alias(f"{f}__dest") for f in PATCH_FIELDS]), on="_j"
    )
    scalar_exprs = []
    for f in PATCH_FIELDS:
        inc, dest = pl.col(f).str.strip_chars(), pl.col(f"{f}__dest")
        fill = ~_blank(pl.col(f)) & _blank(dest)
        over = ~_blank(pl.col(f)) & ~_blank(dest) & (inc != dest.str.strip_chars())
        cond = (fill | over) if overwrite else fill
        scalar_exprs.append(pl.when(cond).then(inc).alias(f))
    fields = joined.select("_i", pl.struct(scalar_exprs).alias("fields"))

    with_tags = matched.with_columns(
        pl.concat_list(pl.col("tags").fill_null([]), pl.lit(list(extra_tags), pl.List(pl.String)))
        .list.unique(maintain_order=True)
        .alias("tags")
    )
    new_emails = _new_items(
        matched,
        ex,
        "emails",
        pl.col("item").struct.field("email").str.strip_chars().str.to_lowercase(),
    )
    new_phones = _new_items(matched, ex, "phones", _phone_key(pl.col("item")))
    new_tags = _new_items(
        with_tags, ex, "tags", pl.col("item").str.strip_chars().str.to_lowercase()
    )
    new_notes = _new_items(
        matched, ex, "notes", pl.col("item").struct.field("body").str.strip_chars()
    )
    new_reminders = _new_items(
        matched, ex, "reminders", pl.col("item").struct.field("text").str.strip_chars()
    )

    out = fields
    for part in (new_emails, new_phones, new_tags, new_notes, new_reminders):
        out = out.join(part, on="_i", how="left")
    out = out.join(matched.select("_i", "_j"), on="_i").join(
        ex.select(
            "_j", pl.col("emails").alias("emails__dest"), pl.col("phones").alias("phones__dest")
        ),
        on="_j",
    )
    patches: list[str | None] = []
    for row in out.iter_rows(named=True):
        patch: dict[str, Any] = {}
        filled = {k: v for k, v in (row["fields"] or {}).items() if v is not None}
        if filled:
            patch["fields"] = filled
        for column in ("emails", "phones"):
            if row[column]:
                current = list(row[f"{column}__dest"] or [])
                top = max((item.get("ranking") or 0 for item in current), default=0)
                added = [
                    {**item, "ranking": top + n} for n, item in enumerate(row[column], start=1)
                ]
                patch[column] = current + added
                patch[f"{column}_added"] = len(added)
        for column in ("tags", "notes", "reminders"):
            if row[column]:
                patch[column] = row[column]
        patches.append(json.dumps(patch, sort_keys=True) if patch else None)
    return pl.DataFrame(
        {"_i": out["_i"], "patch": pl.Series(patches, dtype=pl.String)},
        schema={"_i": pl.UInt32, "patch": pl.String},
    )


def _describe(patch: str | None) -> str:
    if patch is None:
        return ""
    body = json.loads(patch)
    parts = []
    if "fields" in body:
        parts.append("fills " + ", ".join(sorted(body["fields"])))
    for column in ("emails", "phones"):
        if column in body:
            n = body[f"{column}_added"]
            parts.append(f"adds {n} {column[:-1] if n == 1 else column}")
    for column in ("tags", "notes", "reminders"):
        if column in body:
            n = len(body[column])
            parts.append(f"adds {n} {column[:-1] if n == 1 else column}")
    return "; ".join(parts)


def _followups(frame: pl.DataFrame, extra_tags: Sequence[str]) -> pl.Series:
    """For creates: the tags, notes and reminders to add once the contact exists.

    JSON with the non-empty ones of ``notes``, ``reminders``, ``tags`` (null when none),
    built by polars rather than a ``json.dumps`` per row; readers ``json.loads`` it."""
    tags = pl.concat_list(
        pl.col("tags").fill_null([]), pl.lit(list(extra_tags), pl.List(pl.String))
    ).list.unique(maintain_order=True)
    rows = frame.select(tags=tags, notes=pl.col("notes"), reminders=pl.col("reminders"))
    later = {"notes": SCHEMA["notes"], "reminders": SCHEMA["reminders"], "tags": SCHEMA["tags"]}
    return rows.select(json_object(later).alias("patch")).to_series()


def plan(
    contacts: pl.DataFrame,
    existing: pl.DataFrame | None = None,
    *,
    match_on: Match = "email",
    on_existing: OnExisting = "update",
    overwrite: bool = False,
    tags: Iterable[str] = (),
) -> pl.DataFrame:
    """Decide, per contact, whether the destination gets a create, an update or nothing.

    ``existing`` is a canonical frame of destination contacts with their id in ``id`` (or
    ``source_id``) and, optionally, the raw record as JSON in ``raw`` (kept as the
    before-image of updates). Returns ``contacts`` with the columns of ``PLAN_COLUMNS``
    added, in the same row order. See the module docstring for their meaning.
    """
    if match_on not in ("email", "full"):
        raise ValueError(f"match_on must be 'email' or 'full', not {match_on!r}")
    if on_existing not in ("update", "skip"):
        raise ValueError(f"on_existing must be 'update' or 'skip', not {on_existing!r}")
    extra_tags = [t.strip() for t in tags if t and t.strip()]
    frame = conform(contacts).with_row_index("_i")
    dest = conform(existing if existing is not None else pl.DataFrame())
    id_col = "id" if "id" in dest.columns else "source_id"
    dest = dest.with_row_index("_j").with_columns(
        pl.col(id_col).cast(pl.String).alias("_dest_id"),
        (pl.col("raw") if "raw" in dest.columns else pl.lit(None, pl.String)).alias("_raw"),
    )

    rejected = _rejections(frame)
    # Joins copy every column of the wide frame: skip those that would keep every row.
    candidates = (
        frame.join(rejected.select("_i"), on="_i", how="anti") if rejected.height else frame
    )
    pairs = match(candidates, dest, match_on)
    matched = candidates.join(pairs, on="_i")
    first_per_dest = matched.unique("_j", keep="first", maintain_order=True).select("_i")
    survivors = matched.join(first_per_dest, on="_i")
    doubles = matched.join(first_per_dest, on="_i", how="anti").join(
        survivors.select(
            "_j", pl.col("source").alias("_surv_source"), pl.col("row").alias("_surv_row")
        ),
        on="_j",
    )
    if on_existing == "update":
        patches = _patches(_fold_lists(matched), dest, overwrite=overwrite, extra_tags=extra_tags)
    else:
        patches = pl.DataFrame(schema={"_i": pl.UInt32, "patch": pl.String})

    creates = (
        candidates.join(pairs.select("_i"), on="_i", how="anti") if pairs.height else candidates
    )
    create_plan = creates.select(
        "_i",
        action=pl.lit("create"),
        dest_id=pl.lit(None, pl.String),
        reason=pl.lit("not in the destination"),
        field=pl.lit(None, pl.String),
        patch=_followups(creates, extra_tags),
        before=pl.lit(None, pl.String),
    )
    described = [_describe(p) for p in patches["patch"]]
    patches = patches.with_columns(pl.Series("what", described, dtype=pl.String))
    survivor_plan = (
        survivors.join(patches, on="_i", how="left")
        .join(dest.select("_j", "_dest_id", "_raw"), on="_j")
        .select(
            "_i",
            action=pl.when(pl.col("patch").is_not_null())
            .then(pl.lit("update"))
            .otherwise(pl.lit("unchanged")),
            dest_id=pl.col("_dest_id"),
            reason=pl.when(pl.col("patch").is_not_null())
            .then(pl.col("match_reason") + pl.lit("; ") + pl.col("what"))
            .when(pl.lit(on_existing == "skip"))
            .then(pl.col("match_reason") + pl.lit("; left as is (--on-existing skip)"))
            .otherwise(pl.col("match_reason") + pl.lit("; nothing new")),
            field=pl.lit(None, pl.String),
            patch=pl.col("patch"),
            before=pl.when(pl.col("patch").is_not_null()).then(pl.col("_raw")),
        )
    )
    double_plan = doubles.join(dest.select("_j", "_dest_id"), on="_j").select(
        "_i",
        action=pl.lit("merged"),
        dest_id=pl.col("_dest_id"),
        reason=pl.col("match_reason")
        + pl.lit(", the same destination contact as ")
        + pl.col("_surv_source")
        + pl.lit(" row ")
        + pl.col("_surv_row").cast(pl.String),
        field=pl.lit(None, pl.String),
        patch=pl.lit(None, pl.String),
        before=pl.lit(None, pl.String),
        survivor_source=pl.col("_surv_source"),
        survivor_row=pl.col("_surv_row"),
    )
    reject_plan = rejected.select(
        "_i",
        action=pl.lit("rejected"),
        dest_id=pl.lit(None, pl.String),
        reason="reason",
        field="field",
        patch=pl.lit(None, pl.String),
        before=pl.lit(None, pl.String),
    )
    decided = pl.concat(
        [create_plan, survivor_plan, double_plan, reject_plan], how="diagonal_relaxed"
    )
    keep = [c for c in frame.columns if c not in (*PLAN_COLUMNS, "survivor_source", "survivor_row")]
    # Every row is decided exactly once (the parts partition ``frame``), so the decisions,
    # in row order, are put beside the rows instead of joining a copy of the wide frame.
    decided = decided.sort("_i")
    assert decided["_i"].equals(frame["_i"], check_names=False), "plan lost or duplicated rows"
    result = frame.select(keep).drop("_i").hstack(decided.drop("_i"))
    if "survivor_source" not in result.columns:
        result = result.with_columns(
            survivor_source=pl.lit(None, pl.String), survivor_row=pl.lit(None, pl.UInt32)
        )
    assert result.height == contacts.height, "plan lost or duplicated rows"
    return result.with_columns(content_hash(result))


def summarize(planned: pl.DataFrame) -> dict[str, int]:
    """Counts per action, every action present (zero when unused)."""
    counts = dict.fromkeys(ACTIONS, 0)
    for action, n in planned.group_by("action").len().iter_rows():
        counts[action] = n
    return counts
