"""Social handles: running the URL rules on the values that need them only changes nothing.

``normalize_social`` applies :func:`handle_expr` to the values ``_NOT_BARE`` picks out;
this test holds it to applying it to every value (the step as it was), on handles, profile
URLs of the right and the wrong site, ``@handles``, ``www.`` addresses and odd spacing.
"""

from __future__ import annotations

from urllib.parse import unquote

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dexio.normalize._annotate import ROW, add_issue, quoted
from dexio.normalize.social import SITES, handle_expr, normalize_social
from dexio.schema import from_records

COLUMNS = list(SITES)
PIECES = [
    "ana", "ana.lopez", "Ana_L", "l%C3%B3pez", "@", "/", "//", "www.", "WWW.", "https://",
    "http://", "linkedin.com/in/", "x.com/", "instagram.com/", "facebook.com/",
    "profile.php?id=123", "tiktok.com/@", "youtube.com/channel/", "t.me/", "example.org/",
    "?trk=1", "#!/", " ", "\t", "\u00a0", ".", "-",
]  # fmt: skip


def _everywhere(frame: pl.DataFrame) -> pl.DataFrame:
    """The step as it was: the rules on every value of each column."""
    for column, (site, _, _) in SITES.items():
        handle, foreign = handle_expr(column)
        message = pl.format(
            "{} {} is not a profile address on {}; kept as written",
            pl.lit(column),
            quoted(pl.col(column)),
            pl.lit(site),
        )
        frame = add_issue(frame, foreign, message)
        frame = frame.with_columns(handle.alias(column))
        values = frame[column]
        encoded = values.filter(values.str.contains(r"^[^/]*%")).unique().to_list()
        if encoded:
            frame = frame.with_columns(
                pl.col(column).replace({text: unquote(text) for text in encoded})
            )
    return frame


values = st.one_of(
    st.none(),
    st.lists(st.sampled_from(PIECES), max_size=5).map("".join),
    st.text(max_size=6),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(COLUMNS), values), min_size=1, max_size=25))
def test_step_equals_the_rules_on_every_value(cells: list[tuple[str, str | None]]) -> None:
    frame = from_records(
        [{"source": "s.csv", "row": i, column: value} for i, (column, value) in enumerate(cells)]
    ).with_row_index(ROW)
    got = normalize_social(frame)
    expected = _everywhere(frame)
    assert got.select(*COLUMNS, "issues").equals(expected.select(*COLUMNS, "issues"))
