"""Flat column layouts for CSV and XLSX: ``dexio``, ``google`` and ``outlook``.

Each layout turns a canonical frame into a frame of plain string columns with a header
fixed up front, so a streamed file keeps the same columns from its first page to its last.
Then :func:`neutralise` defuses cells a spreadsheet would run as a formula.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

#: Numbered email/phone slots in the ``dexio`` and ``google`` layouts. A contact with more
#: puts the rest in the last slot, joined with :data:`MULTI` (see :func:`_numbered`).
SLOTS = 5

#: The separator Google's own CSV uses for several values in one cell; the readers split on it.
MULTI = " ::: "

#: How the ``dexio`` layout joins tags in one cell.
TAG_SEPARATOR = "; "

#: The scalar columns of the ``dexio`` layout, in order, after ``dex_id``.
DEXIO_SCALARS = (
    "first_name",
    "last_name",
    "full_name",
    "job_title",
    "company",
    "description",
    "education",
    "website",
    "legacy_location",
    "birthday",
    "linkedin",
    "twitter",
    "facebook",
    "instagram",
    "telegram",
    "tiktok",
    "youtube",
    "image_url",
)

#: Profile URL for a bare handle, per network (vCard X-SOCIALPROFILE, Google websites).
SOCIAL_URLS = {
    "linkedin": "https://www.linkedin.com/in/{}",
    "twitter": "https://x.com/{}",
    "facebook": "https://www.facebook.com/{}",
    "instagram": "https://www.instagram.com/{}",
    "telegram": "https://t.me/{}",
    "tiktok": "https://www.tiktok.com/@{}",
    "youtube": "https://www.youtube.com/@{}",
}

#: A cell starting with one of these is run as a formula by Excel, LibreOffice or Sheets.
FORMULA_START = r"^[=+\-@\t\r]"
#: Cells that start like a formula but are plain data a spreadsheet cannot run: a phone in
#: E.164 ("+" and 2-15 digits; several joined with MULTI) and a yearless birthday ("--MM-DD").
#: They are written as is so Google, Outlook and the readers get the value itself.
SAFE_CELL = r"^(?:\+[1-9][0-9]{1,14}(?: ::: \+[1-9][0-9]{1,14})*|--[0-9]{2}-[0-9]{2})$"


def _by_ranking(column: str) -> pl.Expr:
    """The list column sorted by ranking (missing rankings last, order otherwise kept)."""
    return pl.col(column).list.eval(
        pl.element().sort_by(pl.element().struct.field("ranking"), nulls_last=True)
    )


def _phone_value() -> pl.Expr:
    """Inside ``list.eval``: the phone as stored, else its sanitized form."""
    return pl.coalesce(
        pl.element().struct.field("phone_number"),
        pl.element().struct.field("phone_number_sanitized"),
    )


def _numbered(
    items: pl.Expr, value: pl.Expr, label: pl.Expr, names: Callable[[int], tuple[str, str]]
) -> list[pl.Expr]:
    """Slot columns 1..SLOTS for a sorted list; the last slot also takes every later item.

    Nothing is dropped: the overflow is joined with MULTI (values and labels alike), which
    the readers split back into separate items.
    """
    values = items.list.eval(value)
    labels = items.list.eval(label.fill_null(""))
    exprs = []
    for i in range(SLOTS):
        value_name, label_name = names(i + 1)
        if i < SLOTS - 1:
            v = values.list.get(i, null_on_oob=True)
            lab = labels.list.get(i, null_on_oob=True)
        else:
            rest_v = values.list.slice(i)
            rest_l = labels.list.slice(i)
            v = pl.when(rest_v.list.len() > 0).then(rest_v.list.join(MULTI))
            lab = pl.when(rest_l.list.len() > 0).then(rest_l.list.join(MULTI))
        exprs.append(v.alias(value_name))
        exprs.append(pl.when(lab != "").then(lab).alias(label_name))
    return exprs


def dexio_layout(frame: pl.DataFrame) -> pl.DataFrame:
    """Dex's own fields by their API names; the layout ``mappings/dex.toml`` reads back."""
    emails = _by_ranking("emails")
    phones = _by_ranking("phones")
    return frame.select(
        pl.col("source_id").alias("dex_id"),
        *[pl.col(name) for name in DEXIO_SCALARS],
        *_numbered(
            emails,
            pl.element().struct.field("email"),
            pl.element().struct.field("label"),
            lambda n: (f"email_{n}", f"email_{n}_label"),
        ),
        *_numbered(
            phones,
            _phone_value(),
            pl.element().struct.field("label"),
            lambda n: (f"phone_{n}", f"phone_{n}_label"),
        ),
        pl.when(pl.col("tags").list.len() > 0)
        .then(pl.col("tags").list.join(TAG_SEPARATOR))
        .alias("tags"),
    )


def _google_label(label: pl.Expr, ranking: pl.Expr) -> pl.Expr:
    """Google capitalises labels and marks the primary value with a leading ``* ``."""
    text = label.fill_null("Other")
    text = text.str.slice(0, 1).str.to_uppercase() + text.str.slice(1)
    return pl.when(ranking == 1).then("* " + text).otherwise(text)


def _social_url(network: str) -> pl.Expr:
    """The profile URL for a handle column (null stays null; a URL is kept as written)."""
    handle = pl.col(network)
    prefix, _, suffix = SOCIAL_URLS[network].partition("{}")
    return pl.when(handle.str.contains("://")).then(handle).otherwise(prefix + handle + suffix)


GOOGLE_NAME_COLUMNS = (
    "First Name",
    "Middle Name",
    "Last Name",
    "Phonetic First Name",
    "Phonetic Middle Name",
    "Phonetic Last Name",
    "Name Prefix",
    "Name Suffix",
    "Nickname",
    "File As",
)


def google_layout(frame: pl.DataFrame) -> pl.DataFrame:
    """The current Google Contacts CSV (contacts.google.com -> Import)."""
    emails = _by_ranking("emails")
    phones = _by_ranking("phones")
    none = pl.lit(None, dtype=pl.String)
    first = [
        pl.col("first_name").alias("First Name"),
        none.alias("Middle Name"),
        pl.col("last_name").alias("Last Name"),
        *[none.alias(name) for name in GOOGLE_NAME_COLUMNS[3:]],
        pl.col("company").alias("Organization Name"),
        pl.col("job_title").alias("Organization Title"),
        none.alias("Organization Department"),
        pl.col("birthday").alias("Birthday"),
        pl.col("description").alias("Notes"),
        pl.col("image_url").alias("Photo"),
        pl.concat_list(pl.col("tags").fill_null([]), pl.lit(["* myContacts"]))
        .list.join(MULTI)
        .alias("Labels"),
    ]
    numbered_emails = _numbered(
        emails,
        pl.element().struct.field("email"),
        _google_label(pl.element().struct.field("label"), pl.element().struct.field("ranking")),
        lambda n: (f"E-mail {n} - Value", f"E-mail {n} - Label"),
    )
    numbered_phones = _numbered(
        phones,
        _phone_value(),
        _google_label(pl.element().struct.field("label"), pl.element().struct.field("ranking")),
        lambda n: (f"Phone {n} - Value", f"Phone {n} - Label"),
    )
    # Google puts the label before the value; _numbered yields (value, label) pairs.
    numbered: list[pl.Expr] = []
    for pairs in (numbered_emails, numbered_phones):
        for i in range(0, len(pairs), 2):
            numbered += [pairs[i + 1], pairs[i]]
    address = [
        pl.when(pl.col("legacy_location").is_not_null()).then(pl.lit("Home")),
        pl.col("legacy_location"),
        *[none] * 7,
    ]
    address_names = [
        "Address 1 - Label",
        "Address 1 - Formatted",
        "Address 1 - Street",
        "Address 1 - City",
        "Address 1 - PO Box",
        "Address 1 - Region",
        "Address 1 - Postal Code",
        "Address 1 - Country",
        "Address 1 - Extended Address",
    ]
    websites: list[pl.Expr] = [
        pl.when(pl.col("website").is_not_null())
        .then(pl.lit("Homepage"))
        .alias("Website 1 - Label"),
        pl.col("website").alias("Website 1 - Value"),
    ]
    for n, network in enumerate(SOCIAL_URLS, start=2):
        websites += [
            pl.when(pl.col(network).is_not_null())
            .then(pl.lit(network.capitalize()))
            .alias(f"Website {n} - Label"),
            _social_url(network).alias(f"Website {n} - Value"),
        ]
    return frame.select(
        *first,
        *numbered,
        *[e.alias(n) for e, n in zip(address, address_names, strict=True)],
        *websites,
    )


#: Outlook's phone columns per kind of phone, filled in ranking order.
OUTLOOK_PHONE_SLOTS: dict[str, tuple[str, ...]] = {
    "mobile": ("Mobile Phone",),
    "work": ("Business Phone", "Business Phone 2"),
    "home": ("Home Phone", "Home Phone 2"),
    "fax": ("Business Fax",),
    "home fax": ("Home Fax",),
    "pager": ("Pager",),
    "main": ("Primary Phone",),
}
#: Labels that mean one of those kinds under another name.
OUTLOOK_PHONE_ALIASES = {"cell": "mobile", "business": "work", "work fax": "fax"}
OUTLOOK_PHONES = (
    "Primary Phone",
    "Home Phone",
    "Home Phone 2",
    "Business Phone",
    "Business Phone 2",
    "Mobile Phone",
    "Other Phone",
    "Pager",
    "Business Fax",
    "Home Fax",
)
OUTLOOK_EMAILS = ("E-mail Address", "E-mail 2 Address", "E-mail 3 Address")
OUTLOOK_COLUMNS = (
    "First Name",
    "Middle Name",
    "Last Name",
    "Title",
    "Suffix",
    "Nickname",
    *OUTLOOK_EMAILS,
    *OUTLOOK_PHONES,
    "Company",
    "Job Title",
    "Department",
    "Location",
    "Web Page",
    "Birthday",
    "Notes",
    "Categories",
)


def _shown_label(label: pl.Expr) -> pl.Expr:
    """`` (label)`` after a value moved to Notes, or nothing when it has no label."""
    return (
        pl.when(label.is_not_null() & (label != "")).then(" (" + label + ")").otherwise(pl.lit(""))
    )


def _outlook_phones(frame: pl.DataFrame) -> pl.DataFrame:
    """Per contact (``_i``): one column per Outlook phone slot and the phones left over.

    Each phone goes to the next free column of its kind (two work numbers: Business Phone,
    Business Phone 2); the first phone without a column of its own takes Other Phone and
    any later one becomes a ``Phone: ...`` line for Notes.
    """
    phones = (
        frame.select("_i", _by_ranking("phones").alias("phone"))
        .explode("phone")
        .filter(pl.col("phone").is_not_null())
        .select(
            "_i",
            pl.coalesce(
                pl.col("phone").struct.field("phone_number"),
                pl.col("phone").struct.field("phone_number_sanitized"),
            ).alias("number"),
            pl.col("phone").struct.field("label").alias("label"),
        )
    )
    key = pl.col("label").fill_null("").str.strip_chars().str.to_lowercase()
    kind = key.replace(OUTLOOK_PHONE_ALIASES)
    phones = phones.with_columns(kind.alias("kind"))
    phones = phones.with_columns(pl.int_range(pl.len()).over("_i", "kind").alias("nth"))
    slot = pl.lit(None, dtype=pl.String)
    for name, slots in OUTLOOK_PHONE_SLOTS.items():
        for nth, column in enumerate(slots):
            slot = (
                pl.when((pl.col("kind") == name) & (pl.col("nth") == nth))
                .then(pl.lit(column))
                .otherwise(slot)
            )
    phones = phones.with_columns(slot.alias("slot"))
    spare = pl.col("slot").is_null()
    phones = phones.with_columns(
        pl.when(spare & (spare.cum_sum().over("_i") == 1))
        .then(pl.lit("Other Phone"))
        .otherwise(pl.col("slot"))
        .alias("slot")
    )
    line = "Phone: " + pl.col("number") + _shown_label(pl.col("label"))
    return phones.group_by("_i").agg(
        *[pl.col("number").filter(pl.col("slot") == c).first().alias(c) for c in OUTLOOK_PHONES],
        line.filter(pl.col("slot").is_null()).alias("_phone_lines"),
    )


def outlook_layout(frame: pl.DataFrame) -> pl.DataFrame:
    """Outlook's CSV (File -> Import/Export, or outlook.com -> Import contacts).

    Outlook has three email columns and one column per phone kind; whatever does not fit
    (a fourth email, a second mobile, a yearless birthday) is appended to Notes as a line,
    so nothing is silently dropped. Birthdays are written M/D/YYYY, as Outlook does.
    """
    base = frame.with_row_index("_i")
    emails = _by_ranking("emails")
    email_lines = emails.list.slice(len(OUTLOOK_EMAILS)).list.eval(
        "E-mail: "
        + pl.element().struct.field("email")
        + _shown_label(pl.element().struct.field("label"))
    )
    birthday = pl.col("birthday").str.extract_groups(r"^(?<y>\d{4})-(?<m>\d{2})-(?<d>\d{2})$")
    yearless = pl.col("birthday").str.contains(r"^--\d{2}-\d{2}$").fill_null(False)
    us_date = pl.format(
        "{}/{}/{}",
        birthday.struct.field("m").cast(pl.Int32),
        birthday.struct.field("d").cast(pl.Int32),
        birthday.struct.field("y"),
    )
    birthday_line = pl.when(yearless).then(
        pl.concat_list(pl.format("Birthday: {} (year unknown)", pl.col("birthday")))
    )
    none = pl.lit(None, dtype=pl.String)
    flat = base.join(_outlook_phones(base), on="_i", how="left").sort("_i")
    extra_lines = pl.concat_list(
        pl.concat_list(pl.col("description")).list.drop_nulls(),
        email_lines.fill_null([]),
        pl.col("_phone_lines").fill_null([]),
        birthday_line.fill_null([]),
    )
    columns: dict[str, pl.Expr] = {
        "First Name": pl.col("first_name"),
        "Middle Name": none,
        "Last Name": pl.col("last_name"),
        "Title": none,
        "Suffix": none,
        "Nickname": none,
        **{
            name: emails.list.get(i, null_on_oob=True).struct.field("email")
            for i, name in enumerate(OUTLOOK_EMAILS)
        },
        **{name: pl.col(name) for name in OUTLOOK_PHONES},
        "Company": pl.col("company"),
        "Job Title": pl.col("job_title"),
        "Department": none,
        "Location": pl.col("legacy_location"),
        "Web Page": pl.col("website"),
        "Birthday": pl.when(yearless)
        .then(none)
        .otherwise(pl.coalesce(us_date, pl.col("birthday"))),
        "Notes": pl.when(extra_lines.list.len() > 0).then(extra_lines.list.join("\n")),
        "Categories": pl.when(pl.col("tags").list.len() > 0).then(pl.col("tags").list.join(";")),
    }
    return flat.select(expr.alias(name) for name, expr in columns.items())


LAYOUTS: dict[str, Callable[[pl.DataFrame], pl.DataFrame]] = {
    "dexio": dexio_layout,
    "google": google_layout,
    "outlook": outlook_layout,
}


def neutralise(flat: pl.DataFrame) -> pl.DataFrame:
    """Prefix ``'`` to cells a spreadsheet would run as a formula (OWASP CSV injection).

    A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading
    apostrophe, except the plain data of :data:`SAFE_CELL` (E.164 phones such as
    "+14155550100", yearless birthdays "--03-14"), which cannot run anything and must stay
    readable. Readers drop one leading apostrophe when the next character is one of those six.
    """
    exprs = []
    for name, dtype in flat.schema.items():
        if dtype != pl.String:
            exprs.append(pl.col(name))
            continue
        cell = pl.col(name)
        risky = cell.str.contains(FORMULA_START) & ~cell.str.contains(SAFE_CELL)
        exprs.append(pl.when(risky).then("'" + cell).otherwise(cell).alias(name))
    return flat.select(exprs)


def flatten(frame: pl.DataFrame, layout: str, *, raw: bool = False) -> pl.DataFrame:
    """A canonical frame in ``layout``'s columns, neutralised unless ``raw``."""
    flat = LAYOUTS[layout](frame)
    return flat if raw else neutralise(flat)
