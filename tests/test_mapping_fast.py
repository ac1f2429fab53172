"""The mapping's fast column builders give exactly what their plain polars definitions give.

``gather_items`` stands for the filled columns' items in a list, the ``plain`` keys of
``extra_json`` for polars' own JSON encoding of every value, the ``linkedin_handle`` cut and
the Excel serial slice for their capturing regexes, a note in filtered one-item rows for a
one-item ``concat_list``, a one-column join for ``concat_str`` and a one-key ``extra`` for the
joined fragments; these tests hold each fast version
to its definition on random columns, nulls, escapes and non-ASCII text included.
"""

from __future__ import annotations

import json

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dexio.mapping import (
    EXCEL_EPOCH,
    LINKEDIN_HANDLE,
    FieldRule,
    Mapping,
    _excel_serial_date,
    _transform,
    apply_mapping,
    extra_json,
    gather_items,
    plain_strings,
)
from dexio.schema import EMAIL, NOTE

# Cells JSON must escape ("\x00".."\x1f", '"', "\\") next to ones it leaves as they are.
CELLS = st.one_of(
    st.none(),
    st.sampled_from(["", "a", "ana@example.org", "Zoë", "\u2028", "\x7f", "😀", 'x"y', "a\\b"]),
    st.text(max_size=6),
)


def columns(width: int) -> st.SearchStrategy[list[list[str | None]]]:
    return st.integers(0, 12).flatmap(
        lambda height: st.lists(
            st.lists(CELLS, min_size=height, max_size=height), min_size=width, max_size=width
        )
    )


#: Labels of a slot: the same in every row (a literal, null included), or changing with
#: the row (the value itself).
LABELS = st.sampled_from(["work", "home", None, "varying"])


def email_slots(frame: pl.DataFrame, labels: list[str | None]) -> list[dict[str, pl.Expr]]:
    return [
        {
            "email": pl.col(c),
            "label": pl.col(c) if label == "varying" else pl.lit(label, pl.String),
            "ranking": pl.lit(i, pl.Int32),
        }
        for i, (c, label) in enumerate(zip(frame.columns, labels, strict=True))
    ]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4).flatmap(columns), st.lists(LABELS, min_size=4, max_size=4))
def test_gather_items_lists_the_filled_slots(
    cells: list[list[str | None]], labels: list[str | None]
) -> None:
    frame = pl.DataFrame(
        {f"c{i}": col for i, col in enumerate(cells)},
        schema_overrides={f"c{i}": pl.String for i in range(len(cells))},
    )
    labels = labels[: len(cells)]
    gathered = gather_items(frame, email_slots(frame, labels), EMAIL)
    assert gathered.dtype == pl.List(EMAIL)
    expected = []
    for row in zip(*cells, strict=True):
        expected.append(
            [
                {
                    "email": value,
                    "label": value if label == "varying" else label,
                    "ranking": i,
                }
                for i, (value, label) in enumerate(zip(row, labels, strict=True))
                if value is not None
            ]
        )
    assert gathered.to_list() == expected


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3).flatmap(columns), st.sampled_from(["key", 'k"e\\y', "Zoë ✓", "a.b c"]))
def test_plain_extra_is_polars_encoding(cells: list[list[str | None]], key: str) -> None:
    names = [f"{key}{i}" if i else key for i in range(len(cells))]
    frame = pl.DataFrame(dict(zip(names, cells, strict=True)), schema={n: pl.String for n in names})
    values = {name: pl.col(name) for name in names}
    plain = plain_strings(frame, {name: name for name in names})
    for name, col in zip(names, cells, strict=True):
        escapes = any(json.dumps(v, ensure_ascii=False)[1:-1] != v for v in col if v is not None)
        assert (name in plain) == (not escapes)
    fast = frame.select(extra_json(values, plain)).to_series()
    encoded = frame.select(extra_json(values)).to_series()
    assert fast.to_list() == encoded.to_list()
    for text, row in zip(fast, frame.iter_rows(named=True), strict=True):
        kept = {k: v for k, v in row.items() if v is not None}
        assert (json.loads(text) if text is not None else {}) == kept


LINKEDIN_PARTS = st.tuples(
    st.sampled_from(
        [
            "",
            "https://www.linkedin.com/in/",
            "HTTPS://WWW.LinkedIn.com/IN/",
            "http://linkedin.com/pub/",
            "see https://www.linkedin.com/in/",
            "https://www.linkedin.com/",
        ]
    ),
    st.text(alphabet="aZ09_-/?# \u00a0é", max_size=8),
    st.sampled_from(["", "/", "//", "?trk=x", " ", "/in/x"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), LINKEDIN_PARTS.map("".join)), max_size=10))
def test_linkedin_handle_is_the_regex_capture(cells: list[str | None]) -> None:
    frame = pl.DataFrame({"url": cells}, schema={"url": pl.String})
    value = pl.col("url")
    fast = frame.select(_transform(value, "linkedin_handle")).to_series()
    regex = frame.select(pl.coalesce(value.str.extract(LINKEDIN_HANDLE, 1), value)).to_series()
    assert fast.to_list() == regex.to_list()


SERIALS = st.tuples(
    st.text(alphabet="0123456789٤5", min_size=4, max_size=6),
    st.sampled_from(["", ".0", ".00", ".5", ".", " ", "-01"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), SERIALS.map("".join), st.text(max_size=8)), max_size=10))
def test_excel_serial_date_reads_the_serials_the_regex_captures(cells: list[str | None]) -> None:
    frame = pl.DataFrame({"birthday": cells}, schema={"birthday": pl.String})
    value = pl.col("birthday")
    serial = value.str.extract(r"^(\d{5})(?:\.0+)?$", 1).cast(pl.Int64, strict=False)
    as_date = (pl.lit(EXCEL_EPOCH) + pl.duration(days=serial)).dt.to_string("%Y-%m-%d")
    regex = pl.when(serial.is_between(10000, 60000)).then(as_date).otherwise(value)
    assert frame.select(_excel_serial_date(value)).equals(frame.select(regex))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["", " ", "a note", "x\ny"])), max_size=10))
def test_notes_and_single_joins_are_their_list_and_concat_definitions(
    cells: list[str | None],
) -> None:
    frame = pl.DataFrame(
        {"Notes": cells, "City": cells}, schema={"Notes": pl.String, "City": pl.String}
    )
    mapping = Mapping(
        name="t",
        fields=(
            FieldRule("notes", ("Notes",)),
            FieldRule("legacy_location", ("City",), join=", "),
        ),
    )
    mapped = apply_mapping(mapping, frame).frame
    body = pl.col("Notes")
    note = pl.struct(body=body, created_at=pl.lit(None, pl.String))
    expected = frame.select(
        pl.when(body.is_not_null())
        .then(pl.concat_list(note))
        .otherwise(pl.lit([], dtype=pl.List(NOTE)))
        .alias("notes"),
        pl.concat_str([pl.col("City")], separator=", ", ignore_nulls=True)
        .pipe(lambda joined: pl.when(joined.str.len_bytes() > 0).then(joined))
        .alias("legacy_location"),
    )
    assert mapped.select("notes", "legacy_location").equals(expected)
    assert mapped.schema["notes"] == pl.List(NOTE)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 1).flatmap(columns), st.sampled_from(["key", 'k"e\\y', "Zoë ✓"]))
def test_one_key_extra_is_the_joined_object(cells: list[list[str | None]], key: str) -> None:
    """One key takes a one-pass shortcut; a second key that is always null leaves the
    object the same and goes the general way (fragments joined, then braced)."""
    frame = pl.DataFrame({key: cells[0]}, schema={key: pl.String})
    value = {key: pl.col(key)}
    general = {**value, "never": pl.lit(None, pl.String)}
    for plain in (set(), plain_strings(frame, {key: key})):
        one = frame.select(extra_json(value, plain)).to_series()
        joined = frame.select(extra_json(general, plain)).to_series()
        assert one.to_list() == joined.to_list()


TAG_CELLS = st.one_of(
    st.none(),
    st.sampled_from(
        ["", " ", "vip", " work ", "sys:all", " sys:x ", "a;b", " ; ", "Zoë", "\u00a0"]
    ),
    st.text(max_size=6),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(TAG_CELLS, max_size=12),
    st.sampled_from([None, ";"]),
    st.sampled_from([None, "sys:"]),
)
def test_tags_are_the_split_and_filtered_cells(
    cells: list[str | None], split: str | None, skip_prefix: str | None
) -> None:
    frame = pl.DataFrame({"Tags": cells}, schema={"Tags": pl.String})
    rule = FieldRule("tags", ("Tags",), split=split, skip_prefix=skip_prefix)
    mapped = apply_mapping(Mapping(name="t", fields=(rule,)), frame).frame
    values = pl.col("Tags").str.split(split) if split else pl.concat_list(pl.col("Tags"))
    element = pl.element().str.strip_chars()
    keep = element.str.len_bytes() > 0
    if skip_prefix:
        keep = keep & ~element.str.starts_with(skip_prefix)
    expected = frame.select(values.list.eval(element.filter(keep)).fill_null([]).alias("tags"))
    assert mapped.select("tags").equals(expected)
