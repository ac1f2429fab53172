"""The text handed to phonenumbers drops exactly what the regex ``[\\s().\\-/]`` would.

``_parse_text`` strips punctuation with literal replacements; these tests hold it to the
regex it replaced, on every kind of whitespace polars' regexes know.
"""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dexio.normalize.phones import _WHITESPACE, _parse_text, _parse_texts


def _by_regex(raw: pl.Expr) -> pl.Expr:
    return (
        pl.when(raw.str.contains(r"^\+?[\d\s().\-/]+$"))
        .then(raw.str.replace_all(r"[\s().\-/]", ""))
        .otherwise(raw)
    )


def test_whitespace_is_what_polars_regexes_call_whitespace() -> None:
    chars = pl.Series([chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF])
    assert tuple(chars.filter(chars.str.contains(r"^\s$"))) == _WHITESPACE


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=st.sampled_from(["+", "1", "٣", "x", "(", ")", ".", "-", "/", "_"])),
            st.text(alphabet=st.sampled_from(["0", "9", *_WHITESPACE, "\x1c", "\u200b"])),
            st.text(),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_parse_text_equals_the_regex_replacement(texts: list[str]) -> None:
    frame = pl.DataFrame({"raw": texts}, schema={"raw": pl.String})
    got = frame.select(_parse_text(pl.col("raw")))
    expected = frame.select(_by_regex(pl.col("raw")))
    assert got.to_series().to_list() == expected.to_series().to_list()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet=st.sampled_from(["+", "1", "0", " ", "٣", "-", "\u00a0"])),
            st.text(),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_spaced_digits_lose_their_spaces_as_parse_text_would_have_them(
    texts: list[str | None],
) -> None:
    raw = pl.Series("raw", texts, dtype=pl.String)
    expected = raw.to_frame().select(_parse_text(pl.col("raw"))).to_series()
    assert _parse_texts(raw).to_list() == expected.to_list()
    assert raw.to_list() == texts  # the input column is not written to
