"""Phone numbers: E.164 through phonenumbers, one label vocabulary, no repeats per contact.

Plain numbers (``+<digits>``, ``<digits>``) are parsed column-wise, in place, with
phonenumbers' own metadata (``_claim``, exact against :func:`parse_phone`); the rest
cost one phonenumbers call per distinct (number as written, region) pair. A number that will not parse stays in the list exactly
as written, flagged.
"""

from __future__ import annotations

import locale
import os
import re
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any

import phonenumbers
import polars as pl
from phonenumbers import (
    NumberParseException,
    PhoneMetadata,
    PhoneNumberDesc,
    PhoneNumberFormat,
    ValidationResult,
)

from dexio.errors import UsageError
from dexio.normalize._annotate import (
    ROW,
    aligned_lists,
    append_row_issues,
    explode_items,
    label_words,
    mark_first,
    merge_lists,
    rank_in_row,
    repeat_issues,
    split_lone,
    step,
)
from dexio.schema import PHONE

FALLBACK_REGION = "US"

#: The labels dexio writes, and the spellings real exports use for them (lower-cased,
#: Apple's ``_$!<...>!$_`` wrapper and a leading ``*`` already removed).
PHONE_LABELS: dict[str, tuple[str, ...]] = {
    "mobile": (
        "mobile",
        "mobile phone",
        "cell",
        "cell phone",
        "cellular",
        "iphone",
        "handy",
        "portable",
        "mobil",
        "móvil",
        "movil",
        "cellphone",
    ),
    "work": (
        "work",
        "business",
        "business phone",
        "business phone 2",
        "work phone",
        "office",
        "company",
        "job",
    ),
    "home": ("home", "home phone", "home phone 2", "private", "personal", "landline"),
    "main": ("main", "primary", "company main", "company main phone", "primary phone"),
    "fax": (
        "fax",
        "business fax",
        "work fax",
        "home fax",
        "other fax",
        "workfax",
        "homefax",
    ),
    "pager": ("pager", "beeper"),
    "other": ("other", "other phone", "voice", "tel", "phone", "msg", "text"),
}
_LABEL_BY_SPELLING = {
    spelling: label for label, spellings in PHONE_LABELS.items() for spelling in spellings
}
#: In a vCard type list the most specific kind of line wins ("WORK,FAX" is a fax).
_TYPE_PRIORITY = ("fax", "pager", "mobile", "work", "home", "main", "other")
_PREFERRED_WORDS = frozenset({"pref", "preferred"})

_PARSE_FAILURES = {
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_IMPOSSIBLE = {
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong number of digits",
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "a local number without its area code",
}

_PARSED_FIELDS = ("__shown", "__sanitized", "__calling_code", "__problem")
_EMPTY_PARSED = [pl.lit(None, dtype=pl.String).alias(name) for name in _PARSED_FIELDS]


def default_region() -> str:
    """The region numbers without a ``+`` are read in: from the locale (en_GB -> GB), else US."""
    candidates = [os.environ.get(name) for name in ("LC_ALL", "LC_TELEPHONE", "LANG")]
    candidates.append(locale.getlocale()[0])
    for value in candidates:
        match = re.match(r"^[A-Za-z]{2,3}[_-]([A-Za-z]{2})\b", value or "")
        if match and match.group(1).upper() in phonenumbers.SUPPORTED_REGIONS:
            return match.group(1).upper()
    return FALLBACK_REGION


def resolve_region(region: str | None) -> str:
    """Check a region given by the user (``"gb"`` -> ``"GB"``); ``None`` means the locale's."""
    if region is None:
        return default_region()
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise UsageError(
            f"unknown region {region!r}: give a two-letter country code such as GB, US or DE"
        )
    return code


def read_label(label: str | None) -> tuple[str | None, bool]:
    """(label from :data:`PHONE_LABELS`, marked preferred) for a label as exports write it.

    Handles Apple's ``_$!<Mobile>!$_``, Google's ``* Mobile`` (primary) and vCard type
    lists (``CELL,VOICE,PREF``: fax beats mobile beats work beats home). A label of the
    user's own ("Grandma's") is kept as written.
    """
    if label is None:
        return None, False
    text, words, preferred = label_words(label, _PREFERRED_WORDS)
    words = [w for w in words if w not in _PREFERRED_WORDS]
    if not words:
        return None, preferred
    spelled = " ".join(words)
    if spelled in _LABEL_BY_SPELLING:
        return _LABEL_BY_SPELLING[spelled], preferred
    known = {_LABEL_BY_SPELLING[w] for w in words if w in _LABEL_BY_SPELLING}
    for label_name in _TYPE_PRIORITY:
        if label_name in known:
            return label_name, preferred
    kept = re.sub(r"(?i)[,;\s]*\b(pref|preferred)\b[,;\s]*", " ", text).strip(" ,;")
    return (kept or None), preferred


def parse_phone(text: str, region: str) -> tuple[str | None, str | None, str | None, str | None]:
    """Parse one number: (phone_number, E.164, "+calling code", problem), Nones if it fails.

    ``phone_number`` is E.164 with `` ext. N`` when the number has an extension.
    ``problem`` completes the sentence "phone '<as written>' ...".
    """
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as error:
        reason = _PARSE_FAILURES.get(error.error_type, "not a phone number")
        return None, None, None, f"could not be parsed: {reason}"
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE:
        return None, None, None, f"could not be parsed: {_IMPOSSIBLE.get(possible, 'not possible')}"
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    shown = f"{e164} ext. {number.extension}" if number.extension else e164
    problem = None
    if not phonenumbers.is_valid_number(number):
        problem = f"({e164}) is not a number in use in any region; kept"
    return shown, e164, f"+{number.country_code}", problem


def _parse_text(raw: pl.Expr) -> pl.Expr:
    """The text handed to phonenumbers: punctuation dropped when the rest is only digits.

    phonenumbers ignores spaces, dots, dashes, slashes and brackets in such a number, so
    "020 7946 0958", "020-7946-0958" and "(020) 7946 0958" are parsed once, not three times.
    """
    # Literal replacements (one Aho-Corasick pass) rather than the regex [\s().\-/]: the
    # same characters, for some 60 % of the cost.
    punctuation = [*_WHITESPACE, "(", ")", ".", "-", "/"]
    return (
        pl.when(raw.str.contains(r"^\+?[\d\s().\-/]+$"))
        .then(raw.str.replace_many(punctuation, [""] * len(punctuation)))
        .otherwise(raw)
    )


#: Digits in groups split by single spaces (``+1 512 668 7769``): most numbers exports
#: write, whose :func:`_parse_text` is the text without its spaces.
_SPACED_DIGITS = r"^\+?[0-9]+(?: [0-9]+)*$"


def _parse_texts(raw: pl.Series) -> pl.Series:
    """:func:`_parse_text` of ``raw``: for most numbers, their spaces taken out.

    One literal replacement, for a third of the cost of the punctuation set's; only the
    numbers not in :data:`_SPACED_DIGITS` form take :func:`_parse_text` itself.
    """
    shapes = raw.to_frame("raw").select(
        pl.col("raw").str.contains(_SPACED_DIGITS).not_().fill_null(True)
    )
    rows = shapes.to_series().arg_true()
    out = raw.str.replace_all(" ", "", literal=True)
    rest = raw.gather(rows).to_frame("raw").select(_parse_text(pl.col("raw")))
    out.scatter(rows, rest.to_series())
    return out


#: What ``\s`` matches in polars' (Rust's) regexes: Unicode White_Space.
_WHITESPACE = tuple(
    chr(code)
    for code in (
        *range(0x09, 0x0E),
        *(0x20, 0x85, 0xA0, 0x1680),
        *range(0x2000, 0x200B),
        *(0x2028, 0x2029, 0x202F, 0x205F, 0x3000),
    )
)


@lru_cache(maxsize=1)
def _calling_code_regions() -> dict[str, str]:
    # Calling code -> its main region (+1 -> US, +44 -> GB), for per-phone region hints.
    return {
        str(code): regions[0]
        for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
        if regions and regions[0] != "001"
    }


def _region_hint(hint: pl.Expr, default: str) -> pl.Expr:
    """The parse region for each phone: its ``country_code`` hint when usable, else default."""
    text = hint.str.strip_chars()
    digits = text.str.replace(r"^(\+|00)", "")
    from_code = digits.replace_strict(_calling_code_regions(), default=None, return_dtype=pl.String)
    alpha = text.str.to_uppercase()
    region = (
        pl.when(alpha.is_in(sorted(phonenumbers.SUPPORTED_REGIONS)))
        .then(alpha)
        .when(digits.str.contains(r"^\d{1,3}$"))
        .then(from_code)
        .otherwise(None)
    )
    return region.fill_null(pl.lit(default))


def _regions(hints: pl.Series, default: str) -> pl.Series:
    """:func:`_region_hint` of each of ``hints``, worked out once per distinct hint.

    A file's phones carry no hint or one of a few: 0.031 -> 0.008 s CPU for the 676k
    phones of 1M generated records, which have none.
    """
    hint = pl.col("hint")
    found = hints.unique().drop_nulls().to_frame("hint")
    found = found.select(hint, _region_hint(hint, default).alias("region"))
    return hints.replace_strict(dict(found.iter_rows()), default=default, return_dtype=pl.String)


# The vectorized fast path. phonenumbers.parse and friends cost ~40 us a number in Python;
# for the shapes nearly every export uses -- "+<digits>" and plain national "<digits>" --
# the same decisions are taken here for a whole column at once, with polars regexes built
# from phonenumbers' own metadata. Each step below mirrors one step of
# phonenumbers.parse / is_possible_number_with_reason / is_valid_number /
# format_number(E164) (phonenumbers 9.x, phonenumberutil.py) and names it. A number is
# claimed only when every step is certain and the result is a possible number; anything
# else (extensions, letters, a national prefix that a transform rule rewrites, a pattern
# polars' regex engine refuses, every parse failure and every impossible length) goes to
# parse_phone as before.
# tests/normalize/test_phones_fast.py holds the proof that claimed results equal it.
#
# Why the regexes agree: the metadata patterns use only digits, classes, groups,
# alternation, counted repeats and "$" (_compiles checks them before use), on which
# Python's re and Rust's regex both match leftmost-first, so a full match (^...$) and the
# text a prefix match (^...) consumes are the same in both. The texts are ASCII digits,
# so \d may be written [0-9], which Rust compiles several times faster than Unicode \d.

#: Private switch for tests and benchmarks: False sends every number to parse_phone.
_FAST_PATH = True

_POSSIBLE = int(ValidationResult.IS_POSSIBLE)
_TOO_LONG = int(ValidationResult.TOO_LONG)
#: _test_number_length verdicts after which parse keeps the national prefix.
_KEEP_PREFIX = [
    int(ValidationResult.TOO_SHORT),
    int(ValidationResult.IS_POSSIBLE_LOCAL_ONLY),
    int(ValidationResult.INVALID_LENGTH),
]
#: Texts the fast path looks at: an optional "+" and ASCII digits only (no extension, no
#: letters; polars' \d would also take other scripts' digits, which phonenumbers converts).
_PLAIN_NUMBER = r"^\+?[0-9]{2,20}$"
_MIN_LENGTH_FOR_NSN = 2  # phonenumberutil._MIN_LENGTH_FOR_NSN
_MAX_LENGTH_FOR_NSN = 17  # phonenumberutil._MAX_LENGTH_FOR_NSN
#: Fewest numbers per parse region or calling code worth the fast path: its regexes cost
#: 5-50 ms to compile per group (+1 has 25 regions' patterns), parse_phone ~0.05 ms a number.
_MIN_GROUP = 500


def _ascii(pattern: str) -> str:
    """A metadata pattern for polars: ``\\d`` as ``[0-9]`` (see _compiles)."""
    return pattern.replace("\\d", "[0-9]")


@cache
def _compiles(patterns: tuple[str, ...]) -> bool:
    """Whether polars' regex engine takes every one of ``patterns`` as they are used below.

    Besides compiling, the only escape may be ``\\d`` and never inside a class, so that
    :func:`_ascii` rewrites it to a class of its own. One polars call for them all: a
    call's own overhead was most of a check one pattern at a time (the 234 patterns of
    +1's 25 regions: 0.038 s CPU, 0.012 s in one call), paid once per process.
    """
    if any("\\" in p.replace("\\d", "") or re.search(r"\[[^\]]*\\", p) for p in patterns):
        return False
    try:
        pl.select(
            pl.lit("").str.contains(f"^((?:{_ascii(pattern)}))$").alias(str(i))
            for i, pattern in enumerate(patterns)
        )
    except pl.exceptions.PolarsError:
        return False
    return True


def _patterns(metadata: PhoneMetadata) -> tuple[str, ...]:
    descs = [metadata.general_desc, *_type_descs(metadata), metadata.mobile]
    return tuple(
        pattern
        for pattern in (
            *(d.national_number_pattern for d in descs if d is not None),
            metadata.international_prefix,
            metadata.national_prefix_for_parsing,
            metadata.leading_digits,
        )
        if pattern
    )


def _type_descs(metadata: PhoneMetadata) -> list[PhoneNumberDesc | None]:
    # The number types _number_type_helper tries, mobile apart (see _has_type).
    return [
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
    ]


def _checkable(metadata: PhoneMetadata | None) -> bool:
    """Whether polars can test numbers against this metadata's patterns."""
    return (
        metadata is not None
        and metadata.general_desc is not None
        and len(metadata.general_desc.possible_length) > 0
        and _compiles(_patterns(metadata))
    )


def _general(metadata: PhoneMetadata) -> PhoneNumberDesc:
    # Present in every metadata _checkable lets through.
    assert metadata.general_desc is not None
    return metadata.general_desc


def _lengths(text: pl.Expr) -> pl.Expr:
    return text.str.len_chars().cast(pl.Int64)


def _leading(text: pl.Expr, pattern: str) -> pl.Expr:
    """The text a prefix match of ``pattern`` consumes, null where it does not match."""
    if pattern.isascii() and pattern.isdigit():
        # A literal (the US's 1 and 011, most of Europe's 0 and 00): a starts_with, some
        # ten times cheaper than the regex.
        return pl.when(text.str.starts_with(pattern)).then(pl.lit(pattern))
    return text.str.extract(f"^((?:{_ascii(pattern)}))", 1)


def _whole(text: pl.Expr, pattern: str | None) -> pl.Expr:
    """``_match_national_number(text, desc, False)``: a full match of a non-empty pattern."""
    return text.str.contains(f"^(?:{_ascii(pattern)})$") if pattern else pl.lit(False)


def _matches_desc(text: pl.Expr, desc: PhoneNumberDesc | None) -> pl.Expr:
    """``_is_number_matching_desc``: the desc's possible lengths, then its pattern."""
    if desc is None:
        return pl.lit(False)
    match = _whole(text, desc.national_number_pattern)
    if desc.possible_length:
        return _lengths(text).is_in(list(desc.possible_length)) & match
    return match


def _has_type(text: pl.Expr, metadata: PhoneMetadata) -> pl.Expr:
    """``_number_type_helper(text, metadata) != UNKNOWN``: the general pattern and a type's.

    The types with the same possible lengths are matched as one alternation, one regex
    pass for them all: a full match of ``A|B`` is a full match of ``A`` or of ``B``. A
    type without a pattern matches nothing.
    """
    descs = [*_type_descs(metadata)]
    if not metadata.same_mobile_and_fixed_line_pattern:
        descs.append(metadata.mobile)
    by_lengths: dict[tuple[int, ...], list[str]] = {}
    for desc in descs:
        if desc is not None and desc.national_number_pattern:
            by_lengths.setdefault(tuple(desc.possible_length), []).append(
                desc.national_number_pattern
            )
    types = [
        _matches_desc(
            text,
            PhoneNumberDesc(
                national_number_pattern="|".join(f"(?:{p})" for p in patterns),
                possible_length=lengths,
            ),
        )
        for lengths, patterns in by_lengths.items()
    ]
    return _matches_desc(text, metadata.general_desc) & pl.any_horizontal(types or [pl.lit(False)])


def _length_verdict(text: pl.Expr, metadata: PhoneMetadata) -> pl.Expr:
    """``_test_number_length(text, metadata)`` for the unknown type, as its int value."""
    lengths = list(_general(metadata).possible_length)
    local = list(_general(metadata).possible_length_local_only)
    n = _lengths(text)
    return (
        pl.when(n.is_in(local))
        .then(int(ValidationResult.IS_POSSIBLE_LOCAL_ONLY))
        .when(n == lengths[0])
        .then(_POSSIBLE)
        .when(n < lengths[0])
        .then(int(ValidationResult.TOO_SHORT))
        .when(n > lengths[-1])
        .then(_TOO_LONG)
        .when(n.is_in(lengths[1:]))
        .then(_POSSIBLE)
        .otherwise(int(ValidationResult.INVALID_LENGTH))
    )


def _strip_national_prefix(text: pl.Expr, metadata: PhoneMetadata) -> pl.Expr:
    """``_maybe_strip_national_prefix_carrier_code``; null where it is not followed here.

    The prefix (and a carrier code it may capture) goes unless the number matched the
    general pattern before and no longer does after. Where the region has a transform
    rule (AR, BR, JP, the NANPA islands' 7-digit local form...) and the prefix pattern
    matches, parse rewrites the number: null, for the caller to leave it to parse_phone.
    Where the pattern does not match, parse leaves the number as it is, rule or not.
    """
    pattern = metadata.national_prefix_for_parsing
    if not pattern:
        return text
    if metadata.national_prefix_transform_rule:
        rewritten = text.str.contains(f"^(?:{_ascii(pattern)})")
        return pl.when(rewritten).then(pl.lit(None, dtype=pl.String)).otherwise(text)
    prefix = _leading(text, pattern)
    # Only numbers the prefix starts are matched against the general pattern (null
    # elsewhere, and null | True is True): for most regions that is almost none.
    prefixed = pl.when(prefix.is_not_null()).then(text)
    rest = prefixed.str.strip_prefix(prefix)
    general = _general(metadata).national_number_pattern
    keep = prefix.is_null() | (_whole(prefixed, general) & ~_whole(rest, general))
    return pl.when(keep).then(text).otherwise(rest)


def _region_rules(region: str) -> PhoneMetadata | None:
    metadata = PhoneMetadata.metadata_for_region(region, None)
    return metadata if _checkable(metadata) else None


@cache
def _code_metadata(code: int, region: str) -> PhoneMetadata | None:
    """The metadata parse uses for a number of calling code ``code`` read as ``region``."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    return metadata if _checkable(metadata) else None


@cache
def _code_regions(code: int) -> tuple[PhoneMetadata, ...] | None:
    """The metadata of a calling code's regions, in phonenumbers' order (main first).

    Only their patterns are used (lengths, types, leading digits), so a region that
    parses with a transform rule still counts.
    """
    regions = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is None or not _checkable(metadata):
            return None
        regions.append(metadata)
    return tuple(regions)


def _validity(numbers: pl.DataFrame, regions: tuple[PhoneMetadata, ...]) -> pl.DataFrame:
    """``is_valid_number`` of each ``__nsn``: valid for the region ``region_code_for_number`` picks.

    With one region that is the region. With several (+1, +44, +7...) it is the first
    whose ``leading_digits`` start the number or, for a region without them, the first in
    which the number has a type; none means invalid. The main region is tried on all
    numbers in place; the others in turn on the numbers still undecided (most +1 numbers
    stop at the US), not all on every number. Returns ``numbers`` with ``__valid``, in
    their order.
    """
    nsn = pl.col("__nsn")

    def tried(numbers: pl.DataFrame, metadata: PhoneMetadata) -> pl.DataFrame:
        own = _has_type(nsn, metadata)
        if len(regions) == 1:
            chosen = pl.lit(True)
        elif metadata.leading_digits is not None:
            chosen = nsn.str.contains(f"^(?:{_ascii(metadata.leading_digits)})")
        else:
            chosen = own
        # Lazy, so that ``own`` is computed once where it is also ``chosen``.
        return numbers.lazy().with_columns(chosen.alias("__chosen"), own.alias("__valid")).collect()

    first = tried(numbers, regions[0])
    undecided = first.filter(~pl.col("__chosen")).select("__id", "__nsn")
    if undecided.is_empty():
        return first.drop("__chosen")
    decided = []
    for metadata in regions[1:]:
        if undecided.is_empty():
            break
        numbers_tried = tried(undecided, metadata)
        decided.append(numbers_tried.filter("__chosen").select("__id", "__valid"))
        undecided = numbers_tried.filter(~pl.col("__chosen")).select("__id", "__nsn")
    decided.append(undecided.select("__id", pl.lit(False).alias("__valid")))
    later = pl.concat(decided).rename({"__valid": "__later"})
    return (
        first.join(later, on="__id", how="left", maintain_order="left")
        .with_columns(
            pl.when("__chosen")
            .then(pl.col("__valid"))
            .otherwise(pl.col("__later"))
            .alias("__valid")
        )
        .drop("__chosen", "__later")
    )


def _international(numbers: pl.DataFrame) -> pl.DataFrame:
    """``<code><national>`` after a ``+`` or an IDD: the code as ``_extract_country_code`` finds it.

    Codes are 1-3 digits, none starts with 0 and none is a prefix of another, so the
    shortest known prefix is the code. Parse then reads the number with the metadata of
    the code's main region (US for +1), whatever the parse region. Three digits at least
    (fewer is TOO_SHORT_AFTER_IDD) and a known code (else INVALID_COUNTRY_CODE) or the
    number is left to parse_phone.
    """
    # The first three digits as an integer index into tables of what they start
    # (_code_prefixes): one short cast and three gathers, for some half the CPU of
    # matching each code length's heads against the known codes (0.07 -> 0.04 s for the
    # 625k numbers with a + of 1M records).
    code, main, size = _code_prefixes()
    head = pl.col("__head")
    digits = pl.col("__digits")
    return (
        numbers.lazy()
        .filter(_lengths(digits) > 2)
        .with_columns(digits.str.head(3).cast(pl.Int64).alias("__head"))
        .select(
            "__id",
            pl.lit(code).gather(head).alias("__code"),
            pl.lit(main).gather(head).alias("__meta"),
            digits.str.slice(pl.lit(size).gather(head)).alias("__national"),
        )
        .filter(pl.col("__code").is_not_null())
        .collect()
    )


@cache
def _code_prefixes() -> tuple[pl.Series, pl.Series, pl.Series]:
    """For the three digits 000-999, by value: the calling code each starts, null if none.

    With it, the code's main region and its number of digits, for :func:`_international`.
    """
    known = {
        str(code): (code, regions[0])
        for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
    }
    found = [
        next((known[head[:size]] for size in (1, 2, 3) if head[:size] in known), (None, None))
        for head in (f"{value:03d}" for value in range(1000))
    ]
    return (
        pl.Series([code for code, _ in found], dtype=pl.Int64),
        pl.Series([region for _, region in found], dtype=pl.String),
        pl.Series([len(str(code)) if code else None for code, _ in found], dtype=pl.Int64),
    )


def _national(shaped: pl.DataFrame, region: str) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """Plain digits read in ``region``: ``_maybe_extract_country_code`` without a ``+``.

    Returns (national numbers for _finish, numbers dialled with the region's
    international prefix for _international). The prefix (011, 00...) counts when the
    digit after it is not a 0 (``_parse_prefix_as_idd``). Otherwise a number starting
    with the region's own calling code loses it when the rest is a better national
    number (phonenumbers' rule: it matches the general pattern and the whole did not, or
    the whole is too long); parse then reads it with the code's main region's metadata,
    and otherwise with the region's own.
    """
    metadata = _region_rules(region)
    if metadata is None:
        return None
    digits = pl.col("__digits")
    part = shaped.filter(~pl.col("__plus") & (pl.col("__region") == region))
    dialled = part.clear().select("__id", "__digits")
    if metadata.international_prefix:
        idd = _leading(digits, metadata.international_prefix)
        after = digits.str.strip_prefix(pl.col("__prefix"))
        part = (
            part.lazy()
            .with_columns(idd.alias("__prefix"))
            .with_columns(
                (pl.col("__prefix").is_not_null() & ~after.str.starts_with("0")).alias("__idd"),
                after.alias("__after"),
            )
            .drop("__prefix")
            .collect()
        )
        dialled = part.filter("__idd").select("__id", pl.col("__after").alias("__digits"))
        part = part.filter(~pl.col("__idd"))
    code = metadata.country_code
    assert code is not None
    general = _general(metadata).national_number_pattern
    rest = pl.col("__rest")
    starts = digits.str.starts_with(str(code))
    moved = starts & (
        (~_whole(digits, general) & _whole(rest, general))
        | (_length_verdict(digits, metadata) == _TOO_LONG)
    )
    main = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code][0]
    # Lazy, each part computed once: the stripped rest, then what uses it.
    national = (
        part.lazy()
        .with_columns(
            _strip_national_prefix(digits.str.slice(len(str(code))), metadata).alias("__rest")
        )
        .filter(~starts | rest.is_not_null())  # null: see _strip_national_prefix
        .with_columns(moved.alias("__moved"))
        .select(
            "__id",
            pl.lit(code, dtype=pl.Int64).alias("__code"),
            pl.when("__moved").then(pl.lit(main)).otherwise(pl.lit(region)).alias("__meta"),
            pl.when("__moved").then(rest).otherwise(digits).alias("__national"),
        )
        .collect()
    )
    return national, dialled


def _finish(numbers: pl.DataFrame, code: int, region: str) -> pl.DataFrame | None:
    """The rest of parse, is_possible_number_with_reason, E.164 and is_valid_number.

    ``numbers`` are national numbers of calling code ``code`` that parse reads with the
    metadata of ``region``. Returns the claimed ones with parse_phone's four fields.
    """
    metadata = _code_metadata(code, region)
    regions = _code_regions(code)
    if metadata is None or regions is None:
        return None
    # is_possible_number judges by the main region's lengths (US for all of +1).
    main = regions[0]
    national = pl.col("__national")
    stripped = pl.col("__stripped")
    nsn = pl.col("__nsn")
    # Parse keeps the number as it was unless the stripped one is long enough. Lazy, and
    # the stripped number a column, so that each part is computed once.
    possible = (
        numbers.lazy()
        .with_columns(_strip_national_prefix(national, metadata).alias("__stripped"))
        .filter(stripped.is_not_null())
        .with_columns(
            pl.when(_length_verdict(stripped, metadata).is_in(_KEEP_PREFIX))
            .then(national)
            .otherwise(stripped)
            .alias("__nsn")
        )
        .filter(
            (_lengths(national) >= _MIN_LENGTH_FOR_NSN)
            & _lengths(nsn).is_between(_MIN_LENGTH_FOR_NSN, _MAX_LENGTH_FOR_NSN)
            # An all-zero national number is a special case in format_number.
            & nsn.str.contains("[1-9]")
            & (_length_verdict(nsn, main) == _POSSIBLE)
        )
        .drop("__stripped")
        .collect()
    )
    # The national significant number keeps its leading zeros (Italy's 06...,
    # phonenumbers' italian_leading_zero), so it is the digits as they are.
    e164 = pl.lit(f"+{code}") + nsn
    return (
        _validity(possible, regions)
        .lazy()
        .select(
            "__id",
            e164.alias("__shown"),
            e164.alias("__sanitized"),
            pl.lit(f"+{code}").alias("__calling_code"),
            pl.when("__valid")
            .then(pl.lit(None, dtype=pl.String))
            .otherwise(pl.format("({}) is not a number in use in any region; kept", e164))
            .alias("__problem"),
        )
        .collect()
    )


def _parse_fast_in_place(items: pl.DataFrame) -> pl.DataFrame:
    """``items`` with parse_phone's fields where the fast path claims them, null elsewhere.

    The answers of :func:`_claim` are gathered to the items' own rows (their position is
    the id), which keeps their order. A group smaller than :data:`_MIN_GROUP` is left to
    parse_phone, which is cheaper for a handful of numbers.
    """
    found = _claim(items.with_row_index("__id"))
    index = pl.Series("__index", [], dtype=pl.UInt32).extend_constant(None, items.height)
    index.scatter(found["__id"], pl.int_range(found.height, dtype=pl.UInt32, eager=True))
    found = found.rechunk()  # one gather per column from one chunk (see aligned)
    return items.with_columns(found[name].gather(index) for name in _PARSED_FIELDS)


def _claim(pairs: pl.DataFrame) -> pl.DataFrame:
    """``__id`` and parse_phone's fields of the ``pairs`` (with ``__id``) the fast path parses."""
    text = pl.col("__text")
    shaped = pairs.filter(text.str.contains(_PLAIN_NUMBER)).select(
        "__id",
        "__region",
        text.str.starts_with("+").alias("__plus"),
        text.str.strip_prefix("+").alias("__digits"),
    )
    regions = shaped.filter(~pl.col("__plus"))["__region"].value_counts()
    read = [
        _national(shaped, region)
        for region, count in regions.sort("__region").iter_rows()
        if count >= _MIN_GROUP
    ]
    national = [numbers for numbers, _ in filter(None, read)]
    dialled = [
        shaped.filter("__plus").select("__id", "__digits"),
        *(numbers for _, numbers in filter(None, read)),
    ]
    numbers = pl.concat([_international(pl.concat(dialled)), *national])
    del shaped, read, national, dialled  # copies of the digits: free them before _finish
    claimed = [
        _finish(group, code, region)
        for (code, region), group in _by_calling_code(numbers)
        if group.height >= _MIN_GROUP
    ]
    parsed = [c for c in claimed if c is not None]
    return (
        pl.concat(parsed)
        if parsed
        else pl.DataFrame(
            schema={"__id": pairs["__id"].dtype, **dict.fromkeys(_PARSED_FIELDS, pl.String)}
        )
    )


def _by_calling_code(
    numbers: pl.DataFrame,
) -> Iterable[tuple[tuple[Any, ...], pl.DataFrame]]:
    """``numbers`` grouped by ``__code`` and ``__meta``, as ``group_by`` iterates them.

    Numbers of one calling code read with one region's metadata (most exports: one
    country) are not split: finding that out costs 0.002 s CPU for the 676k numbers of 1M
    records, the split, which copies every column, 0.03 s.
    """
    code, meta = pl.col("__code"), pl.col("__meta")
    alike = code.eq_missing(code.first()) & meta.eq_missing(meta.first())
    if numbers.height and numbers.select(alike.all()).item():
        return [((numbers["__code"][0], numbers["__meta"][0]), numbers)]
    return numbers.group_by("__code", "__meta")


@step
def normalize_phones(frame: pl.DataFrame, region: str) -> pl.DataFrame:
    """Rewrite the ``phones`` lists of a frame carrying ``ROW`` (see :func:`dexio.normalize`)."""
    items = (
        explode_items(frame, "phones")
        .with_columns(
            pl.coalesce(
                pl.col("phone_number").str.strip_chars().replace("", None),
                pl.col("phone_number_sanitized").str.strip_chars().replace("", None),
            ).alias("__raw"),
        )
        .filter(pl.col("__raw").is_not_null())
        .select(ROW, "__position", "__raw", "country_code", "label", "ranking")
    )
    items = items.with_columns(_regions(items["country_code"], region).alias("__region"))
    # Plain numbers (nearly all) are parsed column-wise right where they are: nearly every
    # number is distinct, so finding the distinct ones and joining the answers back would
    # cost more than it saves. The rest cost one parse_phone call per distinct
    # (text, region) pair.
    items = items.with_columns(_parse_texts(items["__raw"]).alias("__text"))
    items = _parse_fast_in_place(items) if _FAST_PATH else items.with_columns(_EMPTY_PARSED)
    # Every number the fast path claims has its E.164 form; the rest have none yet.
    if items["__shown"].null_count():
        done = items.filter(pl.col("__shown").is_not_null())
        rest = items.filter(pl.col("__shown").is_null()).drop(_PARSED_FIELDS)
        pairs = rest.select("__text", "__region").unique()
        parsed = [parse_phone(text, hint) for text, hint in pairs.iter_rows()]
        columns = list(zip(*parsed, strict=True)) or [()] * len(_PARSED_FIELDS)
        parsed_pairs = pairs.with_columns(
            pl.Series(name, column, dtype=pl.String)
            for name, column in zip(_PARSED_FIELDS, columns, strict=True)
        )
        rest = rest.join(parsed_pairs, on=["__text", "__region"], how="left")
        items = pl.concat([done, rest.select(done.columns)]).sort(ROW, "__position")

    labels = items["label"].unique().drop_nulls().to_list()
    read = {label: read_label(label) for label in labels}

    items = items.select(
        ROW,
        "__position",
        "__raw",
        "__problem",
        # A number that will not parse stays as written, with the hint it came with.
        # Same number and extension = a repeat; another extension is another line.
        pl.coalesce("__shown", "__raw").alias("phone_number"),
        pl.coalesce("__calling_code", "country_code").alias("country_code"),
        pl.col("__sanitized").alias("phone_number_sanitized"),
        pl.col("label").replace_strict(
            {k: v[0] for k, v in read.items()}, default=None, return_dtype=pl.String
        ),
        "ranking",
        pl.col("label")
        .replace_strict({k: v[1] for k, v in read.items()}, default=False, return_dtype=pl.Boolean)
        .fill_null(False)
        .alias("__preferred"),
    )
    # The source's own order: its preferred number, its ranking, its list order.
    order = (pl.col("__preferred").not_(), "ranking", "__position")
    issues = items.filter(pl.col("__problem").is_not_null()).select(
        ROW, "__position", pl.format("phone '{}' {}", "__raw", "__problem").alias("issue")
    )
    # Only contacts with two or more numbers can have repeats or need ranking.
    fields = ("phone_number", "country_code", "phone_number_sanitized", "label")
    lone, many = split_lone(items, ROW, *fields)
    del items  # a million-row frame's worth of strings: free it before the next copies
    many = mark_first(many.with_columns(pl.col("phone_number").alias("__key")), *order)
    # In repeat order: the first label a repeat lends, and the issue lines, follow it.
    removed = many.filter(~pl.col("__first")).sort(ROW, "__key", *order, nulls_last=True)
    repeats = repeat_issues(removed, "phone")
    kept = many.filter(pl.col("__first")).drop("__raw", "__problem", "__first")
    del many
    if removed.height:
        # A repeat may carry the label the kept entry lacks.
        lent = (
            removed.filter(pl.col("label").is_not_null())
            .group_by(ROW, "__key", maintain_order=True)
            .agg(pl.col("label").first().alias("__lent"))
        )
        kept = (
            kept.join(lent, on=[ROW, "__key"], how="left", maintain_order="left")
            .with_columns(pl.coalesce("label", "__lent").alias("label"))
            .drop("__lent")
        )
    del removed
    ranked = kept.sort(ROW, *order, nulls_last=True).select(
        ROW, *fields, rank_in_row().alias("ranking")
    )
    del kept
    lists = merge_lists(
        lone.select(ROW, *fields, pl.lit(1, pl.Int32).alias("ranking")),
        ranked,
        pl.struct(*fields, "ranking").cast(PHONE).alias("__phones"),
    )
    del lone, ranked  # the lists hold them now: free them before the gather copies the lists
    out = frame.with_columns(aligned_lists(frame, lists, "__phones", "phones").alias("phones"))
    del lists
    row_issues = pl.concat([issues, repeats]).sort(ROW, "__position").select(ROW, "issue")
    return append_row_issues(out, row_issues)
