"""How the normalize steps record what they did: row issues and values kept in ``extra``.

Every step works on a frame carrying :data:`ROW`, a private row index (0, 1, 2 ... in frame
order), so results computed over exploded lists or distinct values can be joined back to
their contact. Results come back as whole columns (:func:`aligned`), never by joining onto
the full frame, which would copy every column of a million-row frame each time.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

import polars as pl

#: Private row index added by :func:`dexio.normalize` and dropped before it returns.
ROW = "__normalize_row"

ISSUES = pl.List(pl.String)

_P = ParamSpec("_P")


def step(
    function: Callable[Concatenate[pl.DataFrame, _P], pl.DataFrame],
) -> Callable[Concatenate[pl.DataFrame, _P], pl.DataFrame]:
    """Let a normalize step run alone on any canonical frame (it adds and drops ``ROW``)."""

    @functools.wraps(function)
    def run(frame: pl.DataFrame, *args: _P.args, **kwargs: _P.kwargs) -> pl.DataFrame:
        if ROW in frame.columns:
            return function(frame, *args, **kwargs)
        return function(frame.with_row_index(ROW), *args, **kwargs).drop(ROW)

    return run


def append_row_issues(frame: pl.DataFrame, issues: pl.DataFrame) -> pl.DataFrame:
    """Append issues given as rows (``ROW``, ``issue``), in that order, to their contacts.

    Only the rows named are touched. Lines already present are not added again, so
    normalizing a normalized frame leaves its issues as they were.
    """
    if issues.height == 0:
        return frame
    per_row = issues.group_by(ROW, maintain_order=True).agg(pl.col("issue").alias("__new"))
    # ROW is the row's position in the frame, so the current issues are a gather away.
    current = frame["issues"].gather(per_row[ROW]).fill_null(pl.Series([[]], dtype=ISSUES))
    merged = per_row.select(
        ROW,
        pl.concat_list(pl.lit(current), pl.col("__new"))
        .list.unique(maintain_order=True)
        .alias("__merged"),
    )
    new = aligned(frame, merged, "__merged")
    return frame.with_columns(pl.coalesce(pl.lit(new), pl.col("issues")).alias("issues"))


def without_issues(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every row's ``issues`` null, so that a step run on it returns only its own.

    For a step run apart from the others (see :func:`dexio.normalize`): its lines are put
    back with :func:`add_issues_of`.
    """
    return frame.with_columns(pl.lit(None, dtype=ISSUES).alias("issues"))


def add_issues_of(frame: pl.DataFrame, done: pl.DataFrame) -> pl.DataFrame:
    """Append to ``frame``'s issues the lines a step wrote in ``done``, a run of it on :func:`without_issues`.

    The result is what the step would have made of ``frame`` itself: it only ever appends
    lines, and :func:`append_row_issues` keeps a row's lines distinct either way.
    """
    added = (
        done.lazy()
        .select(ROW, pl.col("issues").alias("issue"))
        .filter(pl.col("issue").is_not_null())
        .explode("issue")
        .collect()
    )
    return append_row_issues(frame, added)


def add_issue(frame: pl.DataFrame, condition: pl.Expr, message: pl.Expr) -> pl.DataFrame:
    """Append ``message`` to the issues of rows where ``condition`` holds.

    ``message`` is only computed for those rows, not formatted for a million clean ones.
    """
    # Lazy, so that only the columns the message needs are filtered, not the whole frame.
    hits = (
        frame.lazy()
        .filter(condition.fill_null(False))
        .select(ROW, message.alias("issue"))
        .collect()
    )
    return append_row_issues(frame, hits)


def aligned(frame: pl.DataFrame, values: pl.DataFrame, column: str) -> pl.Series:
    """``values[column]`` (keyed by ``ROW``, any order) as a column of ``frame``: null where missing.

    ``ROW`` is the row's position in ``frame``, so this is one gather of ``values``: no
    join, which would hash the keys and, for rows out of order, copy nested values twice.
    The column is made one chunk first: polars 2.1 gathers list values from several
    chunks (``pl.concat`` output) some twenty times slower than from one.
    """
    return values[column].rechunk().gather(_positions(frame, values))


def aligned_lists(frame: pl.DataFrame, lists: pl.DataFrame, column: str, source: str) -> pl.Series:
    """The list column that replaces ``source``, from ``lists`` as :func:`merge_lists` makes them.

    A row of ``frame`` whose ``source`` holds a list but that ``lists`` leaves out gets the
    empty list ``merge_lists`` puts last, a null ``source`` stays null. That is
    :func:`aligned` and a fill, in one gather: the fill would copy every list once more.
    """
    empty = lists.height - 1
    index = pl.lit(_positions(frame, lists.head(empty)))
    filled = pl.when(index.is_null() & pl.col(source).is_not_null()).then(empty)
    return lists[column].gather(frame.select(filled.otherwise(index).cast(pl.UInt32)).to_series())


def _positions(frame: pl.DataFrame, values: pl.DataFrame) -> pl.Series:
    """For each row of ``frame``, the position of its row in ``values`` (keyed by ``ROW``), or null."""
    index = pl.Series("__index", [], dtype=pl.UInt32).extend_constant(None, frame.height)
    index.scatter(values[ROW], pl.int_range(values.height, dtype=pl.UInt32, eager=True))
    return index


def explode_items(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """One row per list entry: ``ROW``, ``__position`` in the list, and the struct's fields."""
    position = pl.int_ranges(0, pl.col(column).list.len()).alias("__position")
    return (
        frame.select(ROW, column, position)
        .explode(column, "__position", keep_nulls=False)
        .unnest(column)
    )


#: Private switch for tests and benchmarks: False sends every entry through the general
#: path (:func:`mark_first`, sort, :func:`rank_in_row`), as if no list had a lone entry.
LONE_FAST_PATH = True


def split_lone(items: pl.DataFrame, *lone_columns: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(entries alone in their contact's list, the rest) of ``items`` sorted by ``ROW``.

    A lone entry cannot repeat another and is ranked 1 whatever the order rules say, so
    the steps give it its final form directly and keep the sort / repeat / re-rank work
    for contacts with two or more entries (a fraction of them in real exports). Lone
    entries keep only ``lone_columns``: the columns of the sort and the issues are not
    copied for the nine in ten phones of a generated 1M file that are alone.
    """
    if not LONE_FAST_PATH:
        return items.clear().select(lone_columns), items
    row = pl.col(ROW)
    lone = (row != row.shift(1)).fill_null(True) & (row != row.shift(-1)).fill_null(True)
    marked = items.lazy().with_columns(lone.alias("__lone"))
    alone, rest = pl.collect_all(
        [
            marked.filter("__lone").select(lone_columns),
            marked.filter(~pl.col("__lone")).drop("__lone"),
        ]
    )
    return alone, rest


def mark_first(items: pl.DataFrame, *order: str | pl.Expr) -> pl.DataFrame:
    """``items`` with ``__first``: whether an entry is the first of its ``__key`` in ``order``.

    Repeats only matter within one contact, so neighbours in ``ROW``, ``__key``, ``order``
    order are compared: exact, and far leaner than ``is_first_distinct`` over a (row, key)
    struct. Only ``ROW`` and ``__key`` are put in that order and the marks scattered back:
    the entries keep their place, rather than a sorted copy of every column. So a caller
    that needs repeats in that order (the first label a repeat lends) sorts them itself.
    """
    index = items.select(pl.arg_sort_by(ROW, "__key", *order, nulls_last=True)).to_series()
    keys = items.select(pl.col(ROW, "__key").gather(pl.lit(index)))
    repeat = (pl.col(ROW) == pl.col(ROW).shift(1)) & (pl.col("__key") == pl.col("__key").shift(1))
    first = pl.repeat(True, items.height, eager=True)
    first.scatter(index, keys.select(repeat.fill_null(False).not_()).to_series())
    return items.with_columns(first.alias("__first"))


def merge_lists(lone: pl.DataFrame, ranked: pl.DataFrame, entry: pl.Expr) -> pl.DataFrame:
    """(``ROW``, list of ``entry``) for lone entries and ranked ones, for :func:`aligned_lists`.

    Both frames are sorted by ``ROW``. A lone entry is wrapped in a list of its own (no
    grouping at all); the others are grouped while still sorted, which polars does far
    faster than grouping the two frames concatenated (out of order). Last comes an empty
    list under a null ``ROW``, for the contacts left without entries. Not sorted: that
    would copy the nested values once more before :func:`aligned_lists` gathers them.
    """
    column = entry.meta.output_name()
    lists = [
        lone.select(ROW, pl.concat_list(entry).alias(column)),
        ranked.group_by(ROW, maintain_order=True).agg(entry),
    ]
    empty = pl.DataFrame({ROW: [None], column: [[]]}, schema=lists[0].schema)
    # One chunk here, while only the parts are alive: polars 2.1 gathers list values from
    # several chunks some twenty times slower than from one (see aligned), and a rechunk
    # in aligned_lists would copy every list with these still held by the caller.
    return pl.concat([*lists, empty], rechunk=True)


def rank_in_row() -> pl.Expr:
    """1, 2, 3 ... within each ``ROW``, for a frame sorted by ``ROW``.

    The same as ``int_range(1, len + 1).over(ROW)`` at a fraction of the cost: a window
    over a million small groups is the slowest thing in this stage otherwise.
    """
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    start = pl.when(pl.col(ROW) != pl.col(ROW).shift(1)).then(index).forward_fill().fill_null(0)
    return (index - start + 1).cast(pl.Int32)


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
    new = aligned(frame, updates, "__extra")
    return frame.with_columns(pl.coalesce(pl.lit(new), pl.col("extra")).alias("extra"))


def _load_extra(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        # Not ours to judge: keep whatever a reader put there under a key of its own.
        return {"extra": text}
    return value if isinstance(value, dict) else {"extra": value}


_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")


def label_words(label: str, preferred_words: frozenset[str]) -> tuple[str, list[str], bool]:
    """Take a label as exports write it apart: (text, lower-cased words, marked preferred).

    Apple writes ``_$!<Mobile>!$_``, Google marks the primary entry ``* Home``, vCard puts
    ``pref`` among its types (``CELL,VOICE,PREF``). Email and phone labels share this; each
    then maps the words to its own vocabulary.
    """
    text = label.strip()
    apple = _APPLE_LABEL.match(text)
    if apple:
        text = apple.group(1).strip()
    preferred = text.startswith("*")
    text = text.lstrip("*").strip()
    words = [w for w in re.split(r"[\s,;]+", text.lower()) if w]
    if any(w in preferred_words for w in words):
        preferred = True
    return text, words, preferred
