"""Phone numbers: E.164 through phonenumbers, one label vocabulary, no repeats per contact.

The parsing runs once per distinct (number as written, region) pair and is joined back to
the contacts; a million rows with fifty thousand distinct numbers cost fifty thousand
parses. A number that will not parse stays in the list exactly as written, flagged.
"""

from __future__ import annotations

import locale
import os
import re
from functools import lru_cache

import phonenumbers
import polars as pl
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from dexio.errors import UsageError
from dexio.normalize._annotate import (
    ROW,
    aligned,
    append_row_issues,
    explode_items,
    label_words,
    mark_first,
    rank_in_row,
    repeat_issues,
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
    return (
        pl.when(raw.str.contains(r"^\+?[\d\s().\-/]+$"))
        .then(raw.str.replace_all(r"[\s().\-/]", ""))
        .otherwise(raw)
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
            _region_hint(pl.col("country_code"), region).alias("__region"),
        )
        .filter(pl.col("__raw").is_not_null())
        .select(ROW, "__position", "__raw", "__region", "country_code", "label", "ranking")
    )
    # Everything per value is worked out on the distinct (spelling, region) pairs, and only
    # what the contacts need comes back, with an integer key for finding repeats.
    distinct = (
        items.select("__raw", "__region")
        .unique()
        .with_columns(_parse_text(pl.col("__raw")).alias("__text"))
    )
    pairs = distinct.select("__text", "__region").unique()
    parsed = [parse_phone(text, hint) for text, hint in pairs.iter_rows()]
    columns = list(zip(*parsed, strict=True)) or [()] * len(_PARSED_FIELDS)
    parsed_pairs = pairs.with_columns(
        pl.Series(name, column, dtype=pl.String)
        for name, column in zip(_PARSED_FIELDS, columns, strict=True)
    )
    results = (
        distinct.join(parsed_pairs, on=["__text", "__region"], how="left")
        .drop("__text")
        .with_columns(
            # Same number and extension = a repeat; another extension is another line.
            pl.coalesce("__shown", "__raw").rank("dense").cast(pl.UInt32).alias("__key")
        )
    )

    labels = items["label"].unique().drop_nulls().to_list()
    read = {label: read_label(label) for label in labels}

    items = (
        items.join(results, on=["__raw", "__region"], how="left")
        .with_columns(
            # A number that will not parse stays as written, with the hint it came with.
            pl.coalesce("__shown", "__raw").alias("phone_number"),
            pl.col("__sanitized").alias("phone_number_sanitized"),
            pl.coalesce("__calling_code", "country_code").alias("country_code"),
            pl.col("label").replace_strict(
                {k: v[0] for k, v in read.items()}, default=None, return_dtype=pl.String
            ),
            pl.col("label")
            .replace_strict(
                {k: v[1] for k, v in read.items()}, default=False, return_dtype=pl.Boolean
            )
            .fill_null(False)
            .alias("__preferred"),
        )
        .drop("__region", "__shown", "__sanitized", "__calling_code")
    )
    # The source's own order: its preferred number, its ranking, its list order.
    order = (pl.col("__preferred").not_(), "ranking", "__position")
    issues = items.filter(pl.col("__problem").is_not_null()).select(
        ROW, "__position", pl.format("phone '{}' {}", "__raw", "__problem").alias("issue")
    )
    items = mark_first(items, *order)
    removed = items.filter(~pl.col("__first"))
    repeats = repeat_issues(removed, "phone")
    kept = items.filter(pl.col("__first")).drop("__raw", "__problem", "__first")
    del items  # a million-row frame's worth of strings: free it before the next copies
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
    lists = (
        kept.sort(ROW, *order, nulls_last=True)
        .with_columns(rank_in_row().alias("ranking"))
        .group_by(ROW, maintain_order=True)
        .agg(
            pl.struct("phone_number", "country_code", "phone_number_sanitized", "label", "ranking")
            .cast(PHONE)
            .alias("__phones")
        )
    )
    new = aligned(frame, lists, "__phones")
    out = frame.with_columns(
        pl.when(pl.col("phones").is_null())
        .then(None)
        .otherwise(pl.lit(new).fill_null(pl.lit([], dtype=pl.List(PHONE))))
        .alias("phones")
    )
    row_issues = pl.concat([issues, repeats]).sort(ROW, "__position").select(ROW, "issue")
    return append_row_issues(out, row_issues)
