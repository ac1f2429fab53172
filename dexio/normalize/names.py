"""Names: tidy whitespace, fix SHOUTED or all-lower names, split and build ``full_name``.

Names already in mixed case are never touched (``McDonald``, ``de la Cruz``, ``O'Neil``
stay as the person wrote them); only a name written entirely in capitals or entirely in
lower case is re-cased, once per distinct spelling. Splitting uses polars regexes.
"""

from __future__ import annotations

import re

import polars as pl

from dexio.normalize._annotate import ROW, add_issue, append_row_issues, quoted, step

#: Words that belong to the last name and stay lower case inside a name ("van Gogh").
PARTICLES = frozenset(
    {"van", "von", "de", "da", "del", "della", "der", "den", "di", "du", "la", "le", "ten",
     "ter", "dos", "das", "do", "bin", "ibn", "al", "el", "zu", "y"}
)  # fmt: skip
#: Suffixes kept with the last name, in the spelling dexio writes them.
SUFFIXES = {
    "jr": "Jr.", "jr.": "Jr.", "sr": "Sr.", "sr.": "Sr.", "ii": "II", "iii": "III",
    "iv": "IV", "phd": "PhD", "ph.d.": "Ph.D.", "md": "MD", "m.d.": "M.D.", "esq": "Esq.",
    "esq.": "Esq.", "mba": "MBA", "dds": "DDS", "cpa": "CPA",
}  # fmt: skip
HONORIFICS = ("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir")

_PARTICLE_RE = "|".join(sorted(PARTICLES, key=len, reverse=True))
_SUFFIX_RE = "|".join(re.escape(s) for s in sorted(SUFFIXES, key=len, reverse=True))
_HONORIFIC = rf"^(?i:(?:{'|'.join(HONORIFICS)})\.?)\s+"
# "Ana Maria de la Cruz Jr." -> first "Ana Maria", last "de la Cruz Jr.": the last word, the
# particles before it and the suffixes after it make the last name.
_GIVEN_FAMILY = rf"^(.*?)\s+((?i:(?:{_PARTICLE_RE})\s+)*\S+(?:,?\s+(?i:{_SUFFIX_RE}))*)$"
# "Lopez, Ana" (but not "Ana Lopez, PhD": see _SUFFIX_ONLY).
_FAMILY_COMMA_GIVEN = r"^([^,]+),\s*([^,]+)$"
_SUFFIX_ONLY = rf"^(?i:{_SUFFIX_RE})$"

_FIELDS = ("first_name", "last_name", "full_name")


def recase(name: str, *, family: bool = False) -> str:
    """Capitalise a name written all in capitals or all in lower case.

    Each part of a word split by ``-`` or ``'`` is capitalised (``O'Neil``, ``Anne-Marie``),
    ``Mc`` names get their second capital, particles stay lower case before another word
    (at the very start only in a last name), and suffixes take their usual spelling.
    """
    words = name.split(" ")
    out = []
    for index, word in enumerate(words):
        lower = word.lower()
        is_last_word = index == len(words) - 1
        if lower in SUFFIXES and index > 0:
            out.append(SUFFIXES[lower])
        elif lower in PARTICLES and not is_last_word and (index > 0 or family):
            out.append(lower)
        else:
            out.append(_capitalise_word(lower))
    return " ".join(out)


def _capitalise_word(word: str) -> str:
    parts = re.split(r"([-'’])", word)
    fixed = []
    for part in parts:
        if part.startswith("mc") and len(part) > 2:
            fixed.append("Mc" + part[2:].capitalize())
        elif len(part) > 1 or part.isalpha():
            fixed.append(part.capitalize())
        else:
            fixed.append(part)
    return "".join(fixed)


#: A value that whitespace tidying changes: empty, whitespace at an end, a run of two, or
#: whitespace other than a plain space. Names without any (nearly all) are kept as they are.
_UNTIDY = r"^$|^\s|\s$|\s\s|[^\S ]"


def _tidied(values: pl.Series, untidy: pl.Series) -> pl.Series:
    """``values`` with whitespace runs as one space, trimmed, and empty as null.

    Only the ``untidy`` values (a mask, see :data:`_UNTIDY`) are rewritten, rather than
    running the regex replacement over a million names it leaves as they were.
    """
    rows = untidy.arg_true()
    if rows.is_empty():
        return values
    fixed = values.gather(rows).str.replace_all(r"\s+", " ").str.strip_chars().replace("", None)
    out = values.clone()  # scatter writes in place: not into the caller's column
    out.scatter(rows, fixed)
    return out


#: Written all in capitals, or all in lower case (and has letters with a case at all).
#: A regex rather than comparing to_uppercase() copies: no million-string temporaries.
_NEEDS_RECASE = r"^(?:[^\p{Ll}]*\p{Lu}[^\p{Ll}]*|[^\p{Lu}\p{Lt}]*\p{Ll}[^\p{Lu}\p{Lt}]*)$"
#: A value that tidying or re-casing may change. Whitespace is no letter, so whether a
#: name needs re-casing is the same before and after tidying. One regex: over a million
#: short names a search costs about the same whatever it looks for.
_SUSPECT = rf"{_UNTIDY}|{_NEEDS_RECASE}"


def _cleaned(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """``frame`` with the names of ``column`` tidied and, where needed, re-cased.

    Only the rows :data:`_SUSPECT` picks out (a few percent) are rewritten. A re-cased
    name adds an issue; tidying whitespace does not.
    """
    rows = frame.select(pl.col(column).str.contains(_SUSPECT).fill_null(False)).to_series()
    rows = rows.arg_true()
    if rows.is_empty():
        return frame
    names = frame.select(ROW, column).gather(rows)
    names = names.with_columns(
        _tidied(names[column], names[column].str.contains(_UNTIDY).fill_null(False))
    )
    targets = names.filter(pl.col(column).str.contains(_NEEDS_RECASE))[column].unique()
    fixed = {name: recase(name, family=column == "last_name") for name in targets.to_list()}
    fixed = {name: new for name, new in fixed.items() if new != name}
    new = (
        pl.col(column).replace_strict(fixed, default=pl.col(column), return_dtype=pl.String)
        if fixed
        else pl.col(column)
    )
    issues = names.filter(pl.col(column).is_in(list(fixed))).select(
        ROW,
        pl.format(
            "{} {} re-cased to {}", pl.lit(column), quoted(pl.col(column)), quoted(new)
        ).alias("issue"),
    )
    values = frame[column].clone()  # scatter writes in place: not into the caller's column
    values.scatter(rows, names.select(new).to_series())
    return append_row_issues(frame, issues).with_columns(values)


@step
def normalize_names(frame: pl.DataFrame) -> pl.DataFrame:
    """Tidy ``first_name``, ``last_name`` and ``full_name`` of a frame (see dexio.normalize)."""
    # A column without any value is left alone: every step below keeps a null a null.
    for column in _FIELDS:
        if frame[column].null_count() < frame.height:
            frame = _cleaned(frame, column)

    name = pl.col("full_name").str.replace(_HONORIFIC, "")
    comma = name.str.extract_groups(_FAMILY_COMMA_GIVEN)
    comma_form = comma.struct[0].is_not_null() & ~comma.struct[1].str.contains(_SUFFIX_ONLY)
    spaced = name.str.extract_groups(_GIVEN_FAMILY)
    first = pl.when(comma_form).then(comma.struct[1]).otherwise(pl.coalesce(spaced.struct[0], name))
    last = pl.when(comma_form).then(comma.struct[0]).otherwise(spaced.struct[1])
    split = (
        pl.col("first_name").is_null()
        & pl.col("last_name").is_null()
        & pl.col("full_name").is_not_null()
    )
    message = pl.format(
        "full_name {} split into first_name {} and last_name {}",
        quoted(pl.col("full_name")),
        quoted(first),
        quoted(last).fill_null(pl.lit("(none)")),
    )
    if frame["full_name"].null_count() == frame.height or not frame.select(split.any()).item():
        # Nothing to split (the usual case: exports write first and last names).
        return _fill_full_name(frame)
    frame = add_issue(frame, split & last.is_not_null(), message)
    frame = frame.with_columns(
        pl.when(split).then(first).otherwise(pl.col("first_name")).alias("first_name"),
        pl.when(split).then(last).otherwise(pl.col("last_name")).alias("last_name"),
    )
    return _fill_full_name(frame)


def _fill_full_name(frame: pl.DataFrame) -> pl.DataFrame:
    """``full_name`` from first and last name where it is missing."""
    return frame.with_columns(
        pl.coalesce(
            "full_name",
            pl.concat_str("first_name", "last_name", separator=" ", ignore_nulls=True).replace(
                "", None
            ),
        ).alias("full_name")
    )
