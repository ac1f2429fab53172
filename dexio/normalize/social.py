"""Social profiles and websites: profile URLs and ``@handles`` -> bare handles; tidy URLs.

Everything here is polars string expressions over whole columns. A value that looks like
the address of some other site (a Facebook URL in the ``twitter`` column) is kept as
written and flagged, never guessed at.
"""

from __future__ import annotations

from urllib.parse import unquote

import polars as pl

from dexio.normalize._annotate import ROW, add_issue, append_row_issues, quoted, step

_SCHEME_AND_SUBDOMAINS = r"(?i)^(?:https?://)?(?:[a-z0-9-]+\.)*"
_HANDLE = r"@?([^/?#\s]+)"

#: column -> (site name for messages, host pattern, path before the handle).
SITES: dict[str, tuple[str, str, str]] = {
    "linkedin": ("LinkedIn", r"linkedin\.com", r"(?:in|pub)/"),
    "twitter": ("Twitter/X", r"(?:twitter|x)\.com", r"(?:#!/)?"),
    "instagram": ("Instagram", r"(?:instagram\.com|instagr\.am)", ""),
    "facebook": ("Facebook", r"(?:facebook\.com|fb\.com|fb\.me)", ""),
    "tiktok": ("TikTok", r"tiktok\.com", ""),
    "youtube": ("YouTube", r"youtube\.com", r"(?:c/|user/)?"),
    "telegram": ("Telegram", r"(?:t\.me|telegram\.me|telegram\.dog)", ""),
}

#: Paths that identify a profile by something other than a handle; kept with their prefix.
_SPECIAL_PATHS: dict[str, str] = {
    "facebook": r"(?i)facebook\.com/profile\.php\?id=(\d+)",
    "youtube": r"(?i)youtube\.com/(channel/[^/?#\s]+)",
}

# A scheme, "www.", or a dotted host followed by a path. A bare "ana.lopez" or
# "mateo.photo" is a handle (Instagram and TikTok allow dots), not a web address.
_LOOKS_LIKE_URL = r"(?i)^(?:[a-z][a-z0-9+.\-]*://|www\.)|^[^\s@/]+\.[a-z]{2,}/"
_URL_PARTS = r"^([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#\s]+)([^\s]*)$"
_HOST = r"^[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)+(?::\d+)?$"


def handle_expr(column: str) -> tuple[pl.Expr, pl.Expr]:
    """(bare handle, value was a URL of another site) for one social column."""
    _, hosts, prefix = SITES[column]
    value = pl.col(column).str.strip_chars().replace("", None)
    from_url = value.str.extract(rf"{_SCHEME_AND_SUBDOMAINS}{hosts}(?::\d+)?/+{prefix}{_HANDLE}")
    if column in _SPECIAL_PATHS:
        from_url = pl.coalesce(value.str.extract(_SPECIAL_PATHS[column]), from_url)
    from_at = value.str.extract(r"^@([^\s/@]+)$")
    foreign = from_url.is_null() & value.str.contains(_LOOKS_LIKE_URL)
    handle = pl.when(foreign).then(value).otherwise(pl.coalesce(from_url, from_at, value))
    return handle, foreign


def website_expr() -> tuple[pl.Expr, pl.Expr]:
    """(normalised website, value is not a web address) for the ``website`` column."""
    value = pl.col("website").str.strip_chars().replace("", None)
    with_scheme = (
        pl.when(value.str.contains(r"^[A-Za-z][A-Za-z0-9+.\-]*://"))
        .then(value)
        .otherwise(pl.concat_str(pl.lit("https://"), value))
    )
    parts = with_scheme.str.extract_groups(_URL_PARTS)
    scheme, host, rest = parts.struct[0], parts.struct[1], parts.struct[2]
    ok = host.str.contains(_HOST).fill_null(False)
    tidy = pl.concat_str(
        scheme.str.to_lowercase(),
        pl.lit("://"),
        host.str.to_lowercase(),
        rest.str.strip_chars_end("/"),
    )
    bad = value.is_not_null() & ~ok
    return pl.when(ok).then(tidy).otherwise(value), bad


def _all_null(frame: pl.DataFrame, column: str) -> bool:
    """Whether ``column`` has no value at all (most social columns of most exports).

    Such a column is skipped: every expression here keeps a null a null and flags
    nothing, and skipping saves compiling and running a dozen regexes on nothing.
    """
    return frame[column].null_count() == frame.height


#: A value :func:`handle_expr` may change or flag: empty, whitespace at an end, a ``/``
#: (in every profile URL and every address it flags, but ``www.``-first ones), an ``@``
#: first, or ``www.`` first. Anything else (a bare handle, nearly all values) is its own
#: handle and is not flagged.
_NOT_BARE = r"^$|^\s|\s$|/|^@|^(?i:www\.)"


def _handles(frame: pl.DataFrame, column: str, site: str) -> pl.DataFrame:
    """``column`` as bare handles, with an issue for each address of another site.

    :func:`handle_expr` runs on the values :data:`_NOT_BARE` picks out only, rather
    than its half-dozen regexes on every value of a million-row column.
    """
    not_bare = frame.select(pl.col(column).str.contains(_NOT_BARE).fill_null(False)).to_series()
    if not not_bare.any():
        return frame
    handle, foreign = handle_expr(column)
    message = pl.format(
        "{} {} is not a profile address on {}; kept as written",
        pl.lit(column),
        quoted(pl.col(column)),
        pl.lit(site),
    )
    found = (
        frame.select(ROW, column)
        .filter(not_bare)
        .with_columns(handle.alias("__handle"), foreign.fill_null(False).alias("__foreign"))
    )
    frame = append_row_issues(frame, found.filter("__foreign").select(ROW, message.alias("issue")))
    handles = frame[column].clone()  # scatter writes in place: not into the caller's column
    handles.scatter(not_bare.arg_true(), found["__handle"])
    return frame.with_columns(handles)


@step
def normalize_social(frame: pl.DataFrame) -> pl.DataFrame:
    """Social columns to bare handles and ``website`` tidied (see :func:`dexio.normalize`)."""
    for column, (site, _, _) in SITES.items():
        if _all_null(frame, column):
            continue
        frame = _handles(frame, column, site)
        # A literal search for the "%" first: it costs a fourth of the regex's pass.
        values = frame[column].filter(frame[column].str.contains("%", literal=True))
        encoded = values.filter(values.str.contains(r"^[^/]*%")).unique().to_list()
        if encoded:
            # LinkedIn writes accented handles percent-encoded: ana-l%C3%B3pez -> ana-lópez.
            frame = frame.with_columns(
                pl.col(column).replace({text: unquote(text) for text in encoded})
            )
    if _all_null(frame, "website"):
        return frame
    website, bad = website_expr()
    message = pl.format(
        "website {} is not a web address; kept as written", quoted(pl.col("website"))
    )
    frame = add_issue(frame, bad, message)
    return frame.with_columns(website.alias("website"))
