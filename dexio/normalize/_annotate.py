"""How the normalize steps record what they did: row issues and values kept in ``extra``.

Every step works on a frame carrying :data:`ROW`, a private row index, so results computed
over exploded lists or distinct values can be joined back to their contact.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

#: Private row index added by :func:`dexio.normalize` and dropped before it returns.
ROW = "__normalize_row"

ISSUES = pl.List(pl.String)


def append_issues(frame: pl.DataFrame, new: pl.Expr) -> pl.DataFrame:
    """Append the strings of ``new`` (a list[str] expression, nulls allowed) to ``issues``."""
    return frame.with_columns(
        pl.when(new.list.len() > 0)
        # Unique, so normalizing an already normalized frame does not repeat its issues.
        .then(
            pl.concat_list(pl.col("issues").fill_null(pl.lit([], dtype=ISSUES)), new).list.unique(
                maintain_order=True
            )
        )
        .otherwise(pl.col("issues"))
        .alias("issues")
    )


def append_row_issues(frame: pl.DataFrame, issues: pl.DataFrame) -> pl.DataFrame:
    """Append issues given as rows (``ROW``, ``issue``) — in that order — to their contacts."""
    if issues.height == 0:
        return frame
    per_row = issues.group_by(ROW, maintain_order=True).agg(pl.col("issue").alias("__new"))
    joined = frame.join(per_row, on=ROW, how="left", maintain_order="left")
    return append_issues(joined, pl.col("__new")).drop("__new")


def repeat_issues(repeats: pl.DataFrame, noun: str) -> pl.DataFrame:
    """(``ROW``, ``__position``, ``issue``) for removed repeats, one line per spelling.

    ``repeats`` has ``ROW``, ``__position`` and ``__raw`` (the value as written). A spelling
    removed twice is one line saying so, which keeps issue lines distinct.
    """
    counted = repeats.group_by(ROW, "__raw", maintain_order=True).agg(
        pl.col("__position").min(), pl.len().alias("__times")
    )
    message = pl.format("duplicate {} '{}' removed", pl.lit(noun), "__raw")
    return counted.select(
        ROW,
        "__position",
        pl.when(pl.col("__times") > 1)
        .then(pl.format("{} {} times", message, "__times"))
        .otherwise(message)
        .alias("issue"),
    )


def issue_if(condition: pl.Expr, message: pl.Expr) -> pl.Expr:
    """A one-item list holding ``message`` where ``condition`` holds, else an empty list."""
    return (
        pl.when(condition)
        .then(pl.concat_list(message.cast(pl.String)))
        .otherwise(pl.lit([], dtype=ISSUES))
    )


def quoted(column: pl.Expr) -> pl.Expr:
    """The value in single quotes, as issue messages show raw input."""
    return pl.concat_str(pl.lit("'"), column, pl.lit("'"))


def merge_extra(frame: pl.DataFrame, additions: pl.DataFrame) -> pl.DataFrame:
    """Merge keys into the ``extra`` JSON object of some rows.

    ``additions`` has ``ROW``, ``key`` and ``value`` (any JSON-able Python value after
    ``to_list``). A list value is appended to a list already under that key (without
    repeats); anything else overwrites. Only the rows named are touched, so the per-row
    Python work is bounded by how many rows needed it.
    """
    if additions.height == 0:
        return frame
    rows = additions[ROW].unique(maintain_order=True)
    current = dict(frame.filter(pl.col(ROW).is_in(rows.implode())).select(ROW, "extra").iter_rows())
    merged: dict[int, dict[str, Any]] = {}
    for row, key, value in additions.select(ROW, "key", "value").iter_rows():
        target = merged.get(row)
        if target is None:
            target = merged[row] = _load_extra(current.get(row))
        if isinstance(value, list) and isinstance(target.get(key), list):
            target[key] = target[key] + [v for v in value if v not in target[key]]
        else:
            target[key] = value
    updates = pl.DataFrame(
        {
            ROW: list(merged),
            "__extra": [json.dumps(v, ensure_ascii=False) for v in merged.values()],
        },
        schema={ROW: frame.schema[ROW], "__extra": pl.String},
    )
    joined = frame.join(updates, on=ROW, how="left", maintain_order="left")
    return joined.with_columns(pl.coalesce("__extra", "extra").alias("extra")).drop("__extra")


def _load_extra(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        # Not ours to judge: keep whatever a reader put there under a key of its own.
        return {"extra": text}
    return value if isinstance(value, dict) else {"extra": value}
