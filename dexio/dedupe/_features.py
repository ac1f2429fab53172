"""Comparison features of each record: folded names, company, keys, corroborating values.

Everything here is a polars expression over the whole frame. Name similarity is defined one
pair at a time by :func:`name_similarity`; :func:`name_similarities` computes the same
numbers for a whole column of pairs at once (rapidfuzz in C for Jaro-Winkler).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from dexio.nicknames import GROUPS, are_nicknames, formal_names

#: Mailboxes that belong to a role or a desk, not a person: never identity on their own.
ROLE_MAILBOXES = frozenset(
    [
        "info",
        "office",
        "admin",
        "administrator",
        "contact",
        "contacts",
        "hello",
        "hi",
        "sales",
        "support",
        "team",
        "mail",
        "enquiries",
        "enquiry",
        "inquiries",
        "inquiry",
        "reception",
        "billing",
        "accounts",
        "accounting",
        "hr",
        "jobs",
        "careers",
        "marketing",
        "noreply",
        "no-reply",
        "donotreply",
        "help",
        "service",
        "services",
        "frontdesk",
        "general",
        "booking",
        "bookings",
        "orders",
        "press",
        "media",
        "webmaster",
        "postmaster",
        "hostmaster",
        "studio",
        "family",
        "home",
    ]
)

#: Mail providers anyone can sign up with: an address there says nothing about an employer.
FREE_MAIL = [
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "outlook.com",
    "hotmail.com", "hotmail.co.uk", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
    "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de",
    "yandex.ru", "yandex.com", "mail.ru", "qq.com", "163.com", "126.com", "zoho.com",
    "fastmail.com", "hey.com", "comcast.net", "verizon.net", "att.net", "btinternet.com",
    "orange.fr", "free.fr", "libero.it", "t-online.de", "naver.com", "rediffmail.com",
]  # fmt: skip

#: Legal-form words that do not tell two companies apart ("Acme Inc." is "ACME").
_COMPANY_NOISE = (
    r"\b(inc|incorporated|llc|llp|ltd|limited|corp|corporation|co|company|gmbh|ag|sa|sas|"
    r"srl|bv|nv|plc|pty|pte|oy|ab|as|the)\b"
)


def fold(expr: pl.Expr) -> pl.Expr:
    """Lower-case, strip accents and punctuation, collapse spaces; empty becomes null."""
    out = (
        expr.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(r"[-_./,]+", " ")
        .str.replace_all(r"[^\p{L}\p{N} ]+", "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )
    return pl.when(out.str.len_chars() > 0).then(out)


def company_key(expr: pl.Expr) -> pl.Expr:
    """A company name without case, accents, punctuation or legal form ("Acme Inc." = "ACME")."""
    out = fold(expr).str.replace_all(_COMPANY_NOISE, "").str.replace_all(r"\s+", " ")
    out = out.str.strip_chars()
    return pl.when(out.str.len_chars() > 0).then(out)


def email_user(expr: pl.Expr) -> pl.Expr:
    """The part of an address before @, without dots and +tags: who, not where."""
    # Two string passes fewer than lower-casing the whole address and taking the tag off
    # before the dots, with the same result: only the part before @ is lower-cased (no
    # letter's lower case is "@", "+", ".", "_" or "-"), and one replace_all takes off the
    # dots before the first +tag and the tag, which leaves no dot behind it.
    local = expr.str.extract(r"^([^@]+)@", 1).str.to_lowercase()
    return local.str.replace_all(r"[._-]|\+.*$", "")


def _per_value(frame: pl.DataFrame, expr: pl.Expr, how: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """``how(expr)`` computed once per distinct value (names repeat a lot) and mapped back."""
    values = frame.select(expr.alias("v"))["v"]
    table = values.unique().drop_nulls().to_frame("v").with_columns(f=how(pl.col("v")))
    # Each value's row in the table as an Enum of the table's values finds it: a little
    # cheaper than replace_strict (1M first names: 0.030 -> 0.023 CPU s, companies 0.045 ->
    # 0.033).
    rows = values.cast(pl.Enum(table["v"])).to_physical()
    return table["f"].gather(rows).alias("v")


def features(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per record (``_i``, its row number) with the folded values matching compares."""
    # Pieces that need none of each other run in threads (polars works without the GIL) to
    # keep both cores busy: the user parts of the addresses, in two halves submitted first
    # (the longest piece; the last step waits for them and the names), the other columns,
    # and in this thread the names.
    with ThreadPoolExecutor(max_workers=2) as pool:
        half = frame.height // 2
        finding = [pool.submit(_users, part) for part in (frame[:half], frame[half:])]
        building = pool.submit(_other_columns, frame)
        names = _names(frame)
        users = _shared_users(names, pl.concat([f.result() for f in finding]), pool)
        others = building.result()
    return names.hstack([*others, users]).select(
        "_i", "fn", "ln", "company_n", "bday", "city", "users", "tails"
    )


def _users(frame: pl.DataFrame) -> pl.DataFrame:
    """``_i``, ``users``: the user part of each address that may be a person's own."""
    return (
        frame.select("_i", "emails")
        .explode("emails")
        .select("_i", users=email_user(pl.col("emails").struct.field("email")))
        .filter(
            (pl.col("users").str.len_chars() >= 4)
            & ~pl.col("users").is_in(pl.lit(sorted(ROLE_MAILBOXES)))
        )
    )


def _names(frame: pl.DataFrame) -> pl.DataFrame:
    """``_i``, ``fn``, ``ln``: the folded first and last name of each record."""
    first_raw = _per_value(frame, pl.col("first_name"), fold)
    last_raw = _per_value(frame, pl.col("last_name"), fold)
    # The full name is read only where the first or the last name is missing.
    need_full = pl.lit(first_raw).is_null() | pl.lit(last_raw).is_null()
    full = _per_value(frame, pl.when(need_full).then(pl.col("full_name")), fold)
    first = pl.coalesce(
        pl.lit(first_raw),
        pl.when(pl.lit(last_raw).is_null()).then(pl.lit(full).str.extract(r"^(\S+) ", 1)),
    )
    last = pl.coalesce(
        pl.lit(last_raw),
        pl.when(pl.lit(first_raw).is_null()).then(pl.lit(full).str.extract(r" (\S+)$", 1)),
    )
    return frame.select("_i", fn=first, ln=last)


def _other_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """``company_n``, ``bday``, ``city``, ``tails``: the features of each record but its
    names and its user parts."""
    company = _per_value(frame, pl.col("company"), company_key)
    city = _per_value(
        frame, pl.col("legacy_location"), lambda v: fold(v.str.extract(r"^([^,;]+)", 1))
    )
    return frame.select(
        company_n=pl.lit(company),
        bday=pl.col("birthday").str.strip_chars(),
        city=pl.lit(city),
        tails=pl.col("phones")
        .list.eval(
            pl.coalesce(
                pl.element().struct.field("phone_number_sanitized"),
                pl.element().struct.field("phone_number"),
            )
            .str.replace_all(r"\D", "")
            .str.slice(-7)
        )
        .list.eval(pl.element().filter(pl.element().str.len_chars() == 7))
        .list.unique()
        .fill_null(pl.lit([], dtype=pl.List(pl.String))),
    )


def _shared_users(names: pl.DataFrame, users: pl.DataFrame, pool: ThreadPoolExecutor) -> pl.Series:
    """``users``, a list for each record of ``names``: those of its ``users`` that may link
    it to another, distinctive (:func:`_distinctive`) and held by another record too."""
    # A user part only ever counts when two records share it (a fuzzy block, or the
    # intersection of two records' users), so one held by a single record is left out. Most
    # are shared, and _distinctive keeps few of them: the parts in one row only are dropped
    # first, cheaply (on their hashes; a collision only keeps a part a little longer), and
    # the records of a part are counted only for the parts _distinctive keeps.
    candidates = users.filter(pl.col("users").hash().is_duplicated())
    # ``_i`` is the record's row number (dedupe numbers them so): its names are gathered by
    # it, cheaper than a join on it.
    candidates = candidates.hstack(names.select("fn", "ln")[candidates["_i"]])
    # Each row is judged on its own: the two halves in two threads (a user part with the
    # same names in both halves is judged twice).
    half = candidates.height // 2
    judging = pool.submit(_distinctive_rows, candidates[half:])
    kept = pl.concat([_distinctive_rows(candidates[:half]), judging.result()])
    held = users.filter(pl.col("users").is_in(kept["users"].implode()))
    shared = held.filter(pl.col("_i").n_unique().over("users") > 1)["users"]
    kept = kept.filter(pl.col("users").is_in(shared.implode())).unique()
    kept = kept.group_by("_i").agg("users")
    return (
        names.select("_i")
        .join(kept, on="_i", how="left", maintain_order="left")["users"]
        .fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )


def work_emails(emails: pl.Expr) -> pl.Expr:
    """A record's addresses at an employer (not a free mail provider, not a role mailbox),
    lower-cased. Fuzzy matching computes it only for records in a candidate pair."""
    return (
        emails.list.eval(pl.element().struct.field("email").str.strip_chars().str.to_lowercase())
        .list.eval(
            pl.element().filter(
                ~pl.element().str.extract(r"@(.+)$", 1).is_in(pl.lit(FREE_MAIL))
                & ~email_user(pl.element()).is_in(pl.lit(sorted(ROLE_MAILBOXES)))
            )
        )
        .fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )


def _distinctive(rows: pl.DataFrame) -> pl.DataFrame:
    """Each record's e-mail user parts that say more than its name (see distinctive_user).

    ``rows``: a row per (``_i``, ``users``), repeats allowed, with the record's ``fn`` and
    ``ln``; returns ``_i`` -> ``users`` (a list without repeats, in no particular order) for
    records that keep any.
    """
    return _distinctive_rows(rows).unique().group_by("_i").agg(pl.col("users"))


def _distinctive_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """_distinctive's verdicts, as the (``_i``, ``users``) rows that keep theirs (repeats
    allowed): each row is judged on its own.

    The clear cases are decided with expressions over every row (four or more digits: yes;
    exactly the name, its initial and the last name, or the last name alone: no; what is
    left after taking the names out, as distinctive_user computes it, is nothing, a
    household word or the start of a name: no); the rest, a small share, once per distinct
    (user, first, last): by :func:`_named_verdicts` when the record has both name parts,
    else by :func:`distinctive_user` itself.
    """
    rows = rows.with_columns(
        letters=pl.col("users").str.replace_all(r"\d+", ""),
        # the name parts without spaces, as distinctive_user compares them (computed once:
        # every shape below reads them)
        f=pl.col("fn").str.replace_all(" ", "", literal=True),
        l=pl.col("ln").str.replace_all(" ", "", literal=True),
    )
    fn, ln, letters = pl.col("f"), pl.col("l"), pl.col("letters")
    # Each rule in distinctive_user's order, on the rows the previous ones left open. A value
    # read more than once is made a column first: an eager select computes an expression
    # each time it appears in it.
    rows = rows.with_columns(digits=pl.col("users").str.len_chars() - letters.str.len_chars())
    yes = rows.filter(pl.col("digits") >= 4).select("_i", "users")
    rows = rows.filter((pl.col("digits") < 4) & (letters != ""))
    rows = _drop_shapes(rows, fn, ln, letters)
    rows = rows.with_columns(*_longer_first(fn, ln))
    rows = rows.with_columns(rest=_rest(letters, pl.col("long"), pl.col("short")))
    long, short, rest = pl.col("long"), pl.col("short"), pl.col("rest")
    named_rest = (
        (rest == "")
        | rest.is_in(pl.lit(sorted(_HOUSEHOLD)))
        | long.str.starts_with(rest)
        | short.str.starts_with(rest)
    )
    both = pl.col("fn").is_not_null() & pl.col("ln").is_not_null()
    rows = rows.filter(~(both & named_rest).fill_null(False))
    open_ = rows.select("users", "fn", "ln").unique()
    named = open_.filter(both)
    others = open_.filter(~both)
    verdicts = pl.concat(
        [
            named.with_columns(verdict=_named_verdicts(named)),
            others.with_columns(
                verdict=pl.Series(
                    [distinctive_user(u, f, l) for u, f, l in others.iter_rows()],  # noqa: E741
                    dtype=pl.Boolean,
                )
            ),
        ]
    )
    rows = rows.join(verdicts, on=["users", "fn", "ln"], how="left", nulls_equal=True)
    return pl.concat([yes, rows.filter("verdict").select("_i", "users")])


def _drop_shapes(
    rows: pl.DataFrame, first: pl.Expr, last: pl.Expr, letters: pl.Expr
) -> pl.DataFrame:
    """``rows`` but those whose ``letters`` are exactly the name, its initial and the last
    name, or the last name alone (a shape a null part is needed for is no match). A glued
    shape is told by its length, its start and its end, which builds no text."""
    f0, l0 = first.str.slice(0, 1), last.str.slice(0, 1)
    n, nf, nl = letters.str.len_bytes(), first.str.len_bytes(), last.str.len_bytes()
    n0f, n0l = f0.str.len_bytes(), l0.str.len_bytes()
    starts, ends = letters.str.starts_with, letters.str.ends_with
    shapes = [
        (n == nf + nl) & starts(first) & ends(last),
        (n == nl + nf) & starts(last) & ends(first),
        (n == n0f + nl) & starts(f0) & ends(last),
        (n == nl + n0f) & starts(last) & ends(f0),
        (n == nf + n0l) & starts(first) & ends(l0),
        letters == last,
        letters == first,
    ]
    # One filter a shape, not one filter of any shape: each shape is then read on the rows
    # the ones before it left (at 1M, the first and the third leave 74k of 740k rows; 0.15
    # -> 0.095 CPU s).
    for shape in shapes:
        rows = rows.filter(~shape.fill_null(False))
    return rows


def _longer_first(first: pl.Expr, last: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``long`` and ``short``: the name parts in the order distinctive_user takes them out of
    a user part, the longer first (the first name on a tie, as a stable sort leaves it)."""
    first_longer = first.str.len_chars() >= last.str.len_chars()
    long = pl.when(first_longer).then(first).otherwise(last)
    short = pl.when(first_longer).then(last).otherwise(first)
    return long.alias("long"), short.alias("short")


def _rest(letters: pl.Expr, long: pl.Expr, short: pl.Expr) -> pl.Expr:
    """``letters`` without ``long`` then ``short``: distinctive_user's ``rest`` (str.split +
    join is str.replace)."""
    return letters.str.split(long).list.join("").str.split(short).list.join("")


@cache
def _formal_lists() -> pl.DataFrame:
    """``name`` -> ``formals``, the formal names it stands for (a list), for every name of
    :data:`dexio.nicknames.GROUPS` (any other name stands for itself only)."""
    return pl.DataFrame(
        {"name": list(GROUPS), "formals": [sorted(f) for f in GROUPS.values()]},
        schema={"name": pl.String, "formals": pl.List(pl.String)},
    )


@cache
def _nickname_lists() -> pl.DataFrame:
    """``name`` -> ``nicks``, the other names :func:`are_nicknames` pairs it with (a list)."""
    return _nickname_pairs().group_by("y").agg(nicks=pl.col("x")).rename({"y": "name"})


def _named_verdicts(rows: pl.DataFrame) -> pl.Series:
    """distinctive_user(``users``, ``fn``, ``ln``) for each row, both names present.

    Every rule of distinctive_user after the digits says no, so a user part is distinctive
    when none of them holds, whatever their order: here each is a column (the nickname
    rules from the nickname table, Jaro-Winkler against every shape at once from
    rapidfuzz's batch call, the very scorer distinctive_user calls). tests/dedupe checks
    the two agree.
    """
    empty = pl.lit([], dtype=pl.List(pl.String))
    o = (
        rows.select(
            "users",
            "fn",
            letters=pl.col("users").str.replace_all(r"\d+", ""),
            f=pl.col("fn").str.replace_all(" ", "", literal=True),
            l=pl.col("ln").str.replace_all(" ", "", literal=True),
        )
        .with_row_index("_r")
        # formal names of the first name as distinctive_user looks them up: with its spaces
        # for the initials, without them for the shapes (names in GROUPS have none)
        .join(_formal_lists(), left_on="f", right_on="name", how="left", maintain_order="left")
        .join(
            _formal_lists().rename({"formals": "formals_fn"}),
            left_on="fn",
            right_on="name",
            how="left",
            maintain_order="left",
        )
        .join(_nickname_lists(), left_on="fn", right_on="name", how="left", maintain_order="left")
    )
    f, l, letters = pl.col("f"), pl.col("l"), pl.col("letters")  # noqa: E741
    o = o.with_columns(*_longer_first(f, l))
    o = o.with_columns(rest=_rest(letters, pl.col("long"), pl.col("short")))
    long, short, rest = pl.col("long"), pl.col("short"), pl.col("rest")
    pairs = _nickname_pairs()
    nickname_of = [
        o.join(pairs, left_on=["rest", part], right_on=["x", "y"], how="semi")["_r"]
        for part in ("long", "short")
    ]
    # formal_names(first): the first name's formal names, or itself (whose initial is f's)
    initials = pl.concat_str(
        f.str.slice(0, 1),
        l.str.slice(0, 1),
        pl.col("formals_fn").list.eval(pl.element().str.slice(0, 1)).list.join("").fill_null(""),
    )
    in_initials = [initials.str.contains(rest.str.slice(k, 1), literal=True) for k in (0, 1)]
    # a nickname of the first name (or the first name itself) glued to the last name
    glued = (
        o.select("_r", "rest", y=pl.concat_list("fn", pl.col("nicks").fill_null(empty)))
        .explode("y")
        .filter((pl.col("y").str.len_chars() >= 2) & rest.str.starts_with(pl.col("y")))["_r"]
    )
    digits = pl.col("users").str.len_chars() - letters.str.len_chars()
    named = (
        (rest == "")
        | long.str.starts_with(rest)
        | short.str.starts_with(rest)
        | pl.col("_r").is_in(pl.concat([*nickname_of, glued]).implode())
        | (
            (rest.str.len_chars() <= 2)
            & in_initials[0]
            & (in_initials[1] | (rest.str.len_chars() == 1))
        )
        | rest.is_in(pl.lit(sorted(_HOUSEHOLD)))
    )
    o = o.with_columns(named=named)
    # The last rule, the shapes of the name (every formal name of the first name too)
    # against the letters, only where the others leave the verdict open (81 % of the rows
    # at 1M): its batch call needs Python strings, one for each row and shape.
    left = o.filter(
        (digits < 4) & (letters.str.len_chars() > 0) & ~pl.col("named").fill_null(False)
    )
    firsts = left.select(
        "_r", "letters", "l", g=pl.concat_list("f", pl.col("formals").fill_null(empty))
    )
    g, g0, l0 = pl.col("g"), pl.col("g").str.slice(0, 1), l.str.slice(0, 1)
    # one frame per shape, stacked (building them as lists to explode costs more); the last
    # name alone once per row, not once per formal name
    firsts = firsts.explode("g")
    against = pl.concat(
        [left.select("_r", "letters", shape=l)]
        + [firsts.select("_r", "letters", shape=s) for s in (g + l, l + g, g0 + l, l + g0, g + l0)]
    )
    # only the scores from 0.9 up matter: rapidfuzz stops early on the others
    scores = process.cpdist(
        against["letters"].to_numpy(),
        against["shape"].to_numpy(),
        scorer=JaroWinkler.normalized_similarity,
        dtype="float64",
        score_cutoff=0.9,
    )
    alike = against.filter(pl.Series(scores.ravel() >= 0.9))["_r"]
    named = pl.col("named") | pl.col("_r").is_in(alike.implode())
    return o.select(verdict=(digits >= 4) | ((letters.str.len_chars() > 0) & ~named))["verdict"]


@cache
def name_similarity(a: str, b: str) -> float:
    """How alike two folded name parts are, 0..1, with nicknames and initials understood.

    Same name 1.0; nicknames (Bob/Robert) 0.95; an initial against a name it starts
    ("J" and "John") 0.9; one part inside the other ("garcia" in "garcia lopez") 0.9;
    otherwise Jaro-Winkler.
    """
    if a == b:
        return 1.0
    if are_nicknames(a, b):
        return 0.95
    if (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b)):
        return 0.9
    ta, tb = set(a.split()), set(b.split())
    if len(ta) != len(tb) and (ta <= tb or tb <= ta):
        return 0.9
    return float(JaroWinkler.normalized_similarity(a, b))


def is_nickname_pair(a: str, b: str) -> bool:
    return a != b and are_nicknames(a, b)


@cache
def _nickname_pairs() -> pl.DataFrame:
    """Every ordered pair (x, y), x != y, of names that share a formal name: exactly the
    pairs :func:`is_nickname_pair` accepts (two names are nicknames when their sets of
    formal names in :data:`dexio.nicknames.GROUPS` meet)."""
    by_formal: dict[str, set[str]] = {}
    for name, formals in GROUPS.items():
        for formal in formals:
            by_formal.setdefault(formal, set()).add(name)
    pairs = sorted({(x, y) for names in by_formal.values() for x in names for y in names if x != y})
    return pl.DataFrame(pairs, schema={"x": pl.String, "y": pl.String}, orient="row")


def _tokens(expr: pl.Expr) -> pl.Expr:
    # str.split() in Python: no empty parts. Folded names hold single spaces only.
    return expr.str.split(" ").list.eval(pl.element().filter(pl.element() != "")).list.unique()


def name_similarities(pairs: pl.DataFrame) -> pl.DataFrame:
    """``pairs`` (``x``, ``y``: non-null folded name parts) plus ``s`` (Float32, as
    :func:`name_similarity`) and ``nick`` (Boolean, as :func:`is_nickname_pair`).

    The same rules in the same order, as expressions over all rows; Jaro-Winkler comes from
    rapidfuzz's batch call, which runs the very scorer :func:`name_similarity` calls, in C.
    tests/dedupe/test_similarity.py checks the two agree.
    """
    x, y = pl.col("x"), pl.col("y")
    jaro = process.cpdist(
        pairs["x"].to_list(),
        pairs["y"].to_list(),
        scorer=JaroWinkler.normalized_similarity,
        dtype="float64",
    )
    nick = pairs.select("x", "y").join(
        _nickname_pairs().with_columns(nick=pl.lit(True)),
        on=["x", "y"],
        how="left",
        maintain_order="left",
    )["nick"]
    ta, tb = _tokens(x), _tokens(y)
    contained = (ta.list.len() != tb.list.len()) & (
        (ta.list.set_difference(tb).list.len() == 0) | (tb.list.set_difference(ta).list.len() == 0)
    )
    # Two texts without a space, neither empty, are one token each: never "contained". The
    # token lists are built only for the other rows (most names are one word).
    several = x.str.contains(" ", literal=True) | y.str.contains(" ", literal=True)
    several = several | (x == "") | (y == "")
    multi = pairs.with_row_index("_r").filter(several)
    is_contained = pl.repeat(False, pairs.height, eager=True).scatter(
        multi["_r"], multi.select(contained).to_series()
    )
    initial = ((x.str.len_chars() == 1) & y.str.starts_with(x)) | (
        (y.str.len_chars() == 1) & x.str.starts_with(y)
    )
    out = pairs.with_columns(
        nick=nick.fill_null(False), _jaro=pl.Series(jaro.ravel(), dtype=pl.Float64)
    )
    return out.with_columns(
        s=pl.when(x == y)
        .then(1.0)
        .when(pl.col("nick"))
        .then(0.95)
        .when(initial | pl.lit(is_contained))
        .then(0.9)
        .otherwise(pl.col("_jaro"))
        .cast(pl.Float32),
    ).drop("_jaro")


def canonical_first(name: str) -> str:
    """One stable formal name for a first name, for grouping (Bob -> robert)."""
    return min(formal_names(name))


#: Words that turn a surname into a household address ("smithfamily", "thejones").
_HOUSEHOLD = frozenset({"family", "fam", "home", "house", "household", "the", "familie"})


@cache
def distinctive_user(user: str, first: str | None, last: str | None) -> bool:
    """Does an e-mail user part say more than the name does?

    "marksmith", "m.smith", "marksmith83", "marksmith122" or "bob.smith" for Robert Smith
    are made of the name and a short number (two different Mark Smiths often have them);
    "marksmith1984" or "sparkle.m" are not, and sharing one is evidence. Typos in the name ("Smih") are allowed for.
    """
    letters = re.sub(r"\d+", "", user)
    if len(user) - len(letters) >= 4:
        return True
    if not letters:
        return False
    parts = sorted((p.replace(" ", "") for p in (first, last) if p), key=len, reverse=True)
    if not parts:
        return True
    rest = letters
    for part in parts:
        rest = rest.replace(part, "")
    if not rest:
        return False
    for part in parts:
        if part.startswith(rest) or are_nicknames(rest, part):
            return False
    initials = {p[0] for p in parts} | {n[0] for n in formal_names(first or "") if n}
    if len(rest) <= 2 and set(rest) <= initials:
        return False
    if rest in _HOUSEHOLD:
        return False
    if first and any(are_nicknames(rest[:k], first) for k in range(2, len(rest) + 1)):
        return False  # a nickname glued to the last name ("bobsmith")
    if first and last:
        f, l = first.replace(" ", ""), last.replace(" ", "")  # noqa: E741
        firsts = {f} | {n for n in formal_names(f) if n}
        shapes = [l] + [s for g in firsts for s in (g + l, l + g, g[0] + l, l + g[0], g + l[0])]
        if max(JaroWinkler.normalized_similarity(letters, s) for s in shapes) >= 0.9:
            return False
    return True
