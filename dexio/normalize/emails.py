"""Email addresses: checked with email-validator (no DNS), ranked, one per address.

Plain ASCII addresses (nearly all of them) are normalized in place by polars expressions
that give exactly what email-validator would (see :func:`_plain_normalized`); only the
rest go through email-validator, one Python call per distinct address. An address that fails is taken out of
``emails`` but kept in ``extra`` under ``"invalid_emails"``, with a row issue, so
nothing typed by a person is lost.

Order: an address marked preferred (``* Home``, ``pref``) first; then the ranking the
source gave, if any; then personal before work; then list order.
"""

from __future__ import annotations

import re

import email_validator
import email_validator.rfc_constants
import polars as pl

from dexio.normalize._annotate import (
    ROW,
    aligned_lists,
    append_row_issues,
    explode_items,
    label_words,
    mark_first,
    merge_extra,
    merge_lists,
    rank_in_row,
    repeat_issues,
    split_lone,
    step,
)
from dexio.schema import EMAIL

#: The labels dexio writes, and the spellings exports use for them (lower-cased).
EMAIL_LABELS: dict[str, tuple[str, ...]] = {
    "personal": ("personal", "home", "private", "home email", "personal email", "privat"),
    "work": ("work", "business", "office", "work email", "business email", "company", "job"),
    "other": ("other", "other email", "email", "e-mail", "internet"),
}
_LABEL_BY_SPELLING = {
    spelling: label for label, spellings in EMAIL_LABELS.items() for spelling in spellings
}
#: Order before the source order: personal first, then unlabelled/other, then work.
_LABEL_ORDER = {"personal": 0, "work": 2}
#: Words in a label that mark the address the person prefers (vCard ``TYPE=pref``...).
_PREFERRED_WORDS = frozenset({"pref", "preferred", "primary"})
_ANGLE_ADDRESS = re.compile(r"^[^<>]*<([^<>]+)>$")
_VCARD_NOISE = frozenset({"internet", "x400", "x-internet", "type"})

#: The email-validator releases whose rules :func:`_plain_normalized` was checked against
#: (by reading their source and by tests/normalize/test_emails_fast.py). Under any other
#: release every address goes through email-validator: slower, never different.
_CHECKED_VALIDATOR = ("2.4",)
#: Whether plain addresses skip email-validator (see :func:`_plain_normalized`). Tests
#: turn it off to check that the output is the same either way.
_FAST_PATH = email_validator.__version__.startswith(tuple(v + "." for v in _CHECKED_VALIDATOR))


def _plain_address(letters: str) -> str:
    """A plain address, with ``letters`` as its letters.

    An ASCII dot-atom local part (RFC 5322 atext, no leading, trailing or doubled dot),
    then two or more LDH labels of 1-63 characters that neither start nor end with a
    hyphen, the last one alphabetic.
    """
    atom = rf"[{letters}0-9!#$%&'*+/=?^_`{{|}}~-]+"
    label = rf"[{letters}0-9](?:[{letters}0-9-]{{0,61}}[{letters}0-9])?"
    return rf"^({atom}(?:\.{atom})*)@((?:{label}\.)+[{letters}]{{2,63}})$"


_PLAIN_ADDRESS = _plain_address("A-Za-z")
#: The same without capital letters: what nearly every address matches.
_PLAIN_LOWER_ADDRESS = _plain_address("a-z")
#: In a plain address, a domain email-validator takes through IDNA (``xn--`` anywhere)
#: or refuses (``--`` as a label's 3rd and 4th characters); only a text with ``--`` can.
_NOT_LDH = r"@(?:.*(?i:xn--)|(?:[^.@]*\.)*[^.@]{2}--)"


def read_label(label: str | None) -> tuple[str | None, bool]:
    """(unified label, marked preferred) for a label as an export writes it.

    Google marks the primary address with ``"* Home"``; vCard with ``pref`` among the
    types (``"INTERNET,HOME,PREF"``). Unknown labels are kept as written.
    """
    if label is None:
        return None, False
    text, words, preferred = label_words(label, _PREFERRED_WORDS)
    meaningful = [w for w in words if w not in _PREFERRED_WORDS and w not in _VCARD_NOISE]
    if not meaningful:
        return ("other" if words and not preferred else None), preferred
    spelled = " ".join(meaningful)
    if spelled in _LABEL_BY_SPELLING:
        return _LABEL_BY_SPELLING[spelled], preferred
    for word in meaningful:
        if word in _LABEL_BY_SPELLING:
            return _LABEL_BY_SPELLING[word], preferred
    # A label of the user's own ("Newsletter", "Uni") means something to them: keep it.
    kept = re.sub(r"(?i)[,;\s]*\b(pref|preferred|primary)\b[,;\s]*", " ", text).strip(" ,;")
    return (kept or None), preferred


def check_email(raw: str) -> tuple[str | None, str | None]:
    """(normalized address, None) or (None, why it is not valid) for one address."""
    try:
        result = email_validator.validate_email(
            raw, check_deliverability=False, allow_display_name=True
        )
    except email_validator.EmailNotValidError as error:
        angle = _ANGLE_ADDRESS.match(raw)
        if angle:
            # email-validator wants non-ASCII display names quoted; contact exports do not.
            return check_email(angle[1])
        return None, str(error).rstrip(".")
    return result.normalized, None


def _plain_normalized(texts: pl.Series) -> pl.Series:
    """What :func:`check_email` returns for each plain address in ``texts``; null for the rest.

    Exact against email-validator 2.4 (``syntax.py``, ``validate_email.py``) for every
    text it does not leave null; ``tests/normalize/test_emails_fast.py`` checks that on
    generated near-misses and on whole files. Why each condition is there:

    * ``_PLAIN_ADDRESS`` (ASCII only, no ``(?i)``: Rust's case folding would let the
      Kelvin sign through as a ``k``). Such a local part matches ``DOT_ATOM_TEXT`` and
      comes back unchanged (NFC does nothing to ASCII); one ``@``, no quotes and no
      ``<`` mean ``split_email`` splits where we do, at the only ``@``. Such a domain
      passes the character, UTS-46 (ASCII is only lower-cased) and hostname checks, has
      a period and ends with a letter.
    * local part <= 64 and address <= 254 bytes: the validator checks the address
      length (254) and, in strict mode only, the local part's (64); the domain is then
      under its 253 too.
    * No ``xn--`` (in any case) anywhere in the domain: that takes the validator's IDNA
      round trip, which may fail or give a Unicode domain.
    * No label with ``--`` as 3rd and 4th characters: RFC 5890 R-LDH labels, refused.
    * Not a special-use domain (``email_validator.SPECIAL_USE_DOMAIN_NAMES``: ``.test``,
      ``.local``, ``localhost``, ``.arpa``...), refused unless in test mode; left to the
      validator, which knows which mode it is in.

    The last three look at the whole text: in a text that passes the first check, what
    follows the only ``@`` is the domain, and it is ASCII, so ``(?i)`` there is plain
    ASCII case folding. That spares splitting a million addresses in two.

    The normalized form is then ``local@lower(domain)``, with the local part lower-cased
    when it is an RFC 2142 mailbox name (``Info@``, ``Postmaster@``): the validator's
    ``CASE_INSENSITIVE_MAILBOX_NAMES`` rule. An address without a capital letter (nearly
    all) is thus its own normalized form; only the others are split and re-cased. Since
    the domain is lower-cased here, a spelling as written gives the same as its
    ``_check_text`` form, so the step can skip ``_check_text`` for plain spellings.

    email-validator's other module-level defaults (``STRICT``, ``ALLOW_SMTPUTF8``,
    ``GLOBALLY_DELIVERABLE``...) do not change its answer for an address that passes all
    of the above, so the fast path holds whatever they are set to.
    """
    text = pl.col("text")
    special = "|".join(re.escape(name) for name in email_validator.SPECIAL_USE_DOMAIN_NAMES)
    # One column per check, so that polars can run them side by side. The two regexes
    # costlier than a plain search run on the few texts that need them only: the full
    # pattern where the one without capitals fails (the others have none, so that was the
    # answer), and the LDH check where there is a ``--``.
    checks = texts.to_frame("text").select(
        text.str.contains(_PLAIN_LOWER_ADDRESS).alias("lower"),
        ((text.str.find("@", literal=True) <= 64) & (text.str.len_bytes() <= 254)).alias("size"),
        text.str.contains("--", literal=True).alias("dashes"),
        text.str.contains(rf"[@.](?i:{special})$").not_().alias("public"),
    )
    pattern = _where(texts, ~checks["lower"], _PLAIN_ADDRESS, checks["lower"])
    not_ldh = _where(texts, checks["dashes"], _NOT_LDH, checks["dashes"])
    plain = checks.select(
        pl.all_horizontal(pl.lit(pattern), pl.lit(not_ldh).not_(), "size", "public")
    ).to_series()
    # A plain address that the pattern without capitals refused has one.
    capitals = (plain & ~checks["lower"]).arg_true()
    out = (
        texts.to_frame("text")
        .select(pl.when(pl.lit(plain)).then(text).alias(texts.name))
        .to_series()
    )
    if capitals.len():
        parts = texts.gather(capitals).str.split_exact("@", 1)
        local, domain = parts.struct[0], parts.struct[1].str.to_lowercase()
        mailbox = local.str.to_lowercase()
        names = list(email_validator.rfc_constants.CASE_INSENSITIVE_MAILBOX_NAMES)
        local = mailbox.zip_with(mailbox.is_in(names), local)
        out.scatter(capitals, local + "@" + domain)
    return out


def _where(texts: pl.Series, mask: pl.Series, pattern: str, otherwise: pl.Series) -> pl.Series:
    """Whether ``texts`` contain ``pattern``, where ``mask`` holds; ``otherwise`` elsewhere."""
    rows = mask.arg_true()
    out = otherwise.clone()  # scatter writes in place: not into the caller's column
    out.scatter(rows, texts.gather(rows).str.contains(pattern))
    return out


def _without_mailto(texts: pl.Series) -> pl.Series:
    """Stripped ``texts`` without a ``mailto:`` (any case) in front, itself stripped.

    Only the texts that start with an ``m`` (a few percent) go through the regex and the
    second strip: the others are left as they are.
    """
    text = pl.col("text")
    starts = texts.to_frame("text").select(text.str.starts_with("m") | text.str.starts_with("M"))
    rows = starts.to_series().arg_true()
    out = texts.clone()  # scatter writes in place: not into the caller's column
    out.scatter(rows, texts.gather(rows).str.replace(r"(?i)^mailto:", "").str.strip_chars())
    return out


def _check_text(raw: pl.Expr) -> pl.Expr:
    """The text handed to email-validator: the domain lower-cased, as the validator would.

    "ana@Example.COM" and "ana@example.com" are then checked once, not twice.
    """
    parts = raw.str.extract_groups(r"^(.*@)([^@]*)$")
    return pl.coalesce(pl.concat_str(parts.struct[0], parts.struct[1].str.to_lowercase()), raw)


def _validate_others(items: pl.DataFrame) -> pl.DataFrame:
    """Fill ``__email`` / ``__problem`` of the entries the fast path left, by email-validator.

    Each distinct ``_check_text`` form is checked once ("ana@Example.COM" and
    "ana@example.com" count once). Entries stay in ``ROW``, ``__position`` order.
    """
    plain = items.filter(pl.col("__email").is_not_null())
    others = items.filter(pl.col("__email").is_null()).drop("__email", "__problem")
    rest = others.select(pl.col("__raw").unique()).select(
        "__raw", _check_text(pl.col("__raw")).alias("__text")
    )
    texts = rest["__text"].unique()
    checked = [check_email(text) for text in texts.to_list()]
    normalized, problems = (list(c) for c in zip(*checked, strict=True)) if checked else ([], [])
    validated = pl.DataFrame(
        {"__text": texts, "__email": normalized, "__problem": problems},
        schema={"__text": pl.String, "__email": pl.String, "__problem": pl.String},
    )
    results = rest.join(validated, on="__text", how="left").drop("__text")
    others = others.join(results, on="__raw", how="left", maintain_order="left")
    return pl.concat([plain, others.select(plain.columns)]).sort(ROW, "__position")


@step
def normalize_emails(frame: pl.DataFrame) -> pl.DataFrame:
    """Rewrite the ``emails`` lists of a frame carrying ``ROW`` (see :func:`dexio.normalize`)."""
    items = explode_items(frame, "emails").select(
        ROW, "__position", "label", "ranking", pl.col("email").str.strip_chars().alias("__raw")
    )
    items = items.with_columns(_without_mailto(items["__raw"])).filter(pl.col("__raw") != "")

    # Plain spellings (nearly all) are normalized right where they are, which costs less
    # than finding the distinct ones and joining the answers back when nearly every
    # address is distinct anyway (the fast path lower-cases the domain, as ``_check_text``
    # would). The others go to email-validator once per distinct ``_check_text`` form.
    items = items.with_columns(
        _plain_normalized(items["__raw"]).alias("__email")
        if _FAST_PATH
        else pl.lit(None, pl.String).alias("__email"),
        pl.lit(None, pl.String).alias("__problem"),
    )
    if items["__email"].null_count():
        items = _validate_others(items)

    labels = items["label"].unique().drop_nulls().to_list()
    read = {label: read_label(label) for label in labels}
    items = items.with_columns(
        pl.col("label").replace_strict(
            {k: v[0] for k, v in read.items()}, default=None, return_dtype=pl.String
        ),
        pl.col("label")
        .replace_strict({k: v[1] for k, v in read.items()}, default=False, return_dtype=pl.Boolean)
        .fill_null(False)
        .alias("__preferred"),
    )

    invalid = items.filter(pl.col("__problem").is_not_null())
    lone, many = split_lone(
        items.filter(pl.col("__problem").is_null()) if invalid.height else items,
        ROW,
        "__email",
        "label",
    )
    del items  # a million-row frame's worth of strings: free it before the next copies
    # Only contacts with two or more valid addresses can have repeats or need ranking.
    # The first spelling in source order stays; a repeat lends its label and preference.
    valid = mark_first(
        many.with_columns(pl.col("__email").str.to_lowercase().alias("__key")),
        "ranking",
        "__position",
    )
    del many
    # In repeat order: the label and preference a repeat lends, and the issue lines, follow it.
    repeats = valid.filter(~pl.col("__first")).sort(
        ROW, "__key", "ranking", "__position", nulls_last=True
    )
    kept = valid.filter(pl.col("__first")).drop("__raw", "__problem", "__first")
    del valid
    if repeats.height:
        lent = repeats.group_by(ROW, "__key", maintain_order=True).agg(
            pl.col("label").drop_nulls().first().alias("__lent_label"),
            pl.col("__preferred").any().alias("__lent_preferred"),
        )
        kept = (
            kept.join(lent, on=[ROW, "__key"], how="left", maintain_order="left")
            .with_columns(
                pl.coalesce("label", "__lent_label").alias("label"),
                (pl.col("__preferred") | pl.col("__lent_preferred").fill_null(False)).alias(
                    "__preferred"
                ),
            )
            .drop("__lent_label", "__lent_preferred")
        )
    # The issue lines now, so that the repeats (and their spellings) can go.
    issues = pl.concat(
        [
            invalid.select(
                ROW,
                "__position",
                pl.format(
                    "email '{}' is not valid ({}); kept in extra.invalid_emails",
                    "__raw",
                    "__problem",
                ).alias("issue"),
            ),
            repeat_issues(repeats, "email"),
        ]
    ).sort(ROW, "__position")
    del repeats
    ranked = (
        kept.with_columns(
            pl.col("label")
            .replace_strict(_LABEL_ORDER, default=1, return_dtype=pl.Int8)
            .alias("__label_order")
        )
        # A ranking already on an entry is the source saying which comes first (readers
        # fold Google's "* " and vCard's PREF into it); personal-before-work orders the rest.
        .sort(
            ROW,
            pl.col("__preferred").not_(),
            "ranking",
            "__label_order",
            "__position",
            nulls_last=True,
        )
        .select(ROW, "__email", "label", rank_in_row().alias("ranking"))
    )
    del kept
    entry = pl.struct(pl.col("__email").alias("email"), "label", "ranking").cast(EMAIL)
    lists = merge_lists(
        lone.select(ROW, "__email", "label", pl.lit(1, pl.Int32).alias("ranking")),
        ranked,
        entry.alias("__emails"),
    )
    del lone, ranked  # the lists hold them now: free them before the gather copies the lists
    out = frame.with_columns(aligned_lists(frame, lists, "__emails", "emails").alias("emails"))
    del lists
    out = append_row_issues(out, issues.select(ROW, "issue"))
    additions = (
        invalid.sort(ROW, "__position")
        .group_by(ROW, maintain_order=True)
        .agg(pl.col("__raw").unique(maintain_order=True).alias("value"))
        .with_columns(pl.lit("invalid_emails").alias("key"))
    )
    return merge_extra(out, additions)
