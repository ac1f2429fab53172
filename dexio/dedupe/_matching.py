"""Which pairs of records are the same person, and why: exact keys and fuzzy names.

Exact keys (e-mail, E.164 phone, LinkedIn handle) link records directly, but a key shared
by people is not identity: e-mail and phone links need compatible names, and a role
mailbox (info@, office@) or a key shared by many records only proposes its same-name
records, which are then checked like fuzzy pairs. A name alone never links anything.
Fuzzy matching compares names inside small blocks (name key x corroborating value), so
every candidate already shares a company, birthday, distinctive e-mail user or phone
ending; it is accepted only when the names agree, nothing contradicts (another birthday,
LinkedIn profile, personal number or work address) and, for a shared company,
switchboard or birthday, when two people of that name there would be a coincidence in
this file.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dexio.dedupe._features import (
    ROLE_MAILBOXES,
    canonical_first,
    email_user,
    name_similarities,
    work_emails,
)
from dexio.nicknames import formal_names

#: Kind of link -> priority when several explain one merge (lower wins).
PRIORITY = {"email": 0, "linkedin": 1, "phone": 2, "fuzzy": 3}

#: Below this many records, name and company counts say little about how common they are:
#: the chance of a coincidence is estimated as if the file had this many.
_MIN_POPULATION = 1000

EDGE_SCHEMA = {
    "a": pl.UInt32,
    "b": pl.UInt32,
    "kind": pl.String,
    "score": pl.Float32,
    "reason": pl.String,
}


@dataclass(frozen=True)
class Options:
    """Thresholds of the matcher (the defaults are what the benchmarks were measured with)."""

    #: A key held by more records than this is "shared": only identical names link through it.
    shared_key_size: int = 8
    #: Names must be at least this alike for an e-mail or phone link (per name part).
    key_name_min: float = 0.9
    #: Fuzzy: the name score (mean of first and last part) needed, and the weakest part.
    fuzzy_name_min: float = 0.9
    fuzzy_part_min: float = 0.85
    #: A shared company (or switchboard, or birthday) is evidence only while same-name
    #: people sharing it by chance are rarer than this (name count x company count /
    #: records; the birthday's count for a birthday). At 0.1, 45-60 % of the links that
    #: passed with a chance between 0.04 and 0.1 were false on 1M generated rows; 0.03
    #: meets precision >= 0.99 and recall >= 0.95 at 20k, 200k and 1M rows (bench/dedupe.py;
    #: docs/performance.md has the table).
    company_chance_max: float = 0.03
    #: Fuzzy blocks larger than this are skipped (they are not informative).
    max_block: int = 60
    fuzzy: bool = True


def _empty_edges() -> pl.DataFrame:
    return pl.DataFrame(schema=EDGE_SCHEMA)


#: The kinds of exact key, in the order of their codes in :func:`exact_keys`.
_KINDS = ("email", "phone", "linkedin")


def exact_keys(frame: pl.DataFrame) -> pl.DataFrame:
    """(``_i``, ``kind``, ``value``, ``hash``) for the e-mail, phone and LinkedIn keys that
    could link two records: every key whose text some other key of the same kind also has,
    in the order of ``hash`` (a 64-bit hash of the text, seeded by the kind).

    A key held by one record only links nothing, and most keys are (1.5 M of 2 M at 1M
    rows), so they are left out here: a key whose hash no other key has is certainly
    alone, and telling those apart takes a sort of the hashes, where grouping the texts
    takes a hash table of every text (5x the time). A collision only keeps a few keys more:
    :func:`key_groups` decides, exactly as before. A key a record lists twice is here twice
    (key_groups counts records, not rows).
    """
    emails = (
        frame.select("_i", "emails")
        .explode("emails")
        .select(
            "_i",
            value=pl.col("emails").struct.field("email").str.strip_chars().str.to_lowercase(),
        )
    )
    # Gmail delivers john.smith+news@gmail.com to johnsmith@gmail.com: one mailbox, one key.
    local = pl.col("value").str.extract(r"^([^@]+)@", 1)
    domain = pl.col("value").str.extract(r"@(.+)$", 1)
    gmail = domain.is_in(["gmail.com", "googlemail.com"]).fill_null(False)
    # The domain the pattern finds runs to the end of the text, so a Gmail address ends in
    # "@gmail.com" or "@googlemail.com": a plain suffix test picks the few rows the pattern
    # has to read (it decides, as before).
    suffix = pl.col("value").str.ends_with("@gmail.com") | pl.col("value").str.ends_with(
        "@googlemail.com"
    )
    emails = emails.with_columns(_maybe=suffix.fill_null(False))
    maybe = emails.filter("_maybe").with_columns(_gmail=gmail)
    # (rewritten on the Gmail rows only; the others keep their value untouched)
    gmail_rows = maybe.filter("_gmail").with_columns(
        value=pl.concat_str(
            [local.str.replace(r"\+.*$", "").str.replace_all(".", "", literal=True)],
        )
        + pl.lit("@gmail.com")
    )
    emails = pl.concat(
        [
            emails.filter(~pl.col("_maybe")).drop("_maybe"),
            maybe.filter(~pl.col("_gmail")).drop("_maybe", "_gmail"),
            gmail_rows.drop("_maybe", "_gmail"),
        ]
    )
    phones = (
        frame.select("_i", "phones")
        .explode("phones")
        .select(
            "_i",
            value=pl.col("phones").struct.field("phone_number_sanitized").str.strip_chars(),
        )
    )
    # (most records have no LinkedIn profile: the texts are tidied for the others only)
    linkedin = (
        frame.select("_i", "linkedin")
        .drop_nulls("linkedin")
        .select(
            "_i",
            value=pl.col("linkedin").str.strip_chars().str.strip_chars("/").str.to_lowercase(),
        )
    )
    # The kind is a small code until the keys are picked (a text column over all 2M keys
    # cost as much to build and filter as the hashes did).
    keys = pl.concat(
        [
            part.filter(pl.col("value") != "").with_columns(  # (a null compares as null: out)
                kind=pl.lit(code, pl.UInt8), hash=pl.col("value").hash(code)
            )
            for code, part in enumerate([emails, phones, linkedin])
        ]
    )
    # Only the hashes are sorted to find the repeated ones (one thread: this runs beside
    # features() in _match), then the keys kept, a quarter of them, for key_groups.
    hashes = keys["hash"].sort(multithreaded=False)
    repeated = hashes.filter(hashes == hashes.shift(1))
    return (
        keys.filter(pl.col("hash").is_in(repeated.implode()))
        .sort("hash", multithreaded=False)
        .select("_i", pl.lit(pl.Series(_KINDS)).gather("kind").alias("kind"), "value", "hash")
    )


def key_groups(keys: pl.DataFrame) -> pl.DataFrame:
    """(``kind``, ``value``, ``n``, ``role``, ``held_by``) for the keys of :func:`exact_keys`
    that two records or more hold: how many, whether it is a role mailbox, and which
    records (their ``_i``, a list).

    The keys are grouped once, here; exact_edges pairs the records of a key through its
    row number in this table, so no later step joins on the texts again.
    """
    # exact_keys gives the keys in the order of their hashes, so the keys of one hash are
    # neighbours: if each has the kind and text of the one before it, the hashes tell the
    # keys apart and the keys are grouped by them, sorted integers (0.03 CPU s for the
    # 530k keys of 1M rows, where grouping the texts took 0.13). Two texts of one hash
    # (unseen in 64 bits) make the grouping fall back to the texts.
    same_hash = pl.col("hash") == pl.col("hash").shift(1)
    other_key = (pl.col("kind") != pl.col("kind").shift(1)) | (
        pl.col("value") != pl.col("value").shift(1)
    )
    if keys.select((same_hash & other_key).any()).item():
        groups = keys.group_by("kind", "value").agg(held_by=pl.col("_i").unique())
    else:
        groups = (
            keys.group_by("hash")
            .agg(pl.col("kind", "value").first(), held_by=pl.col("_i").unique())
            .drop("hash")
        )
    sizes = groups.with_columns(n=pl.col("held_by").list.len()).filter(pl.col("n") > 1)
    # A role mailbox (info@) is told by its address alone, so it is looked for only among
    # the e-mail keys held by two records or more, the only ones whose role matters. (A
    # Gmail key's user is the same before and after exact_keys rewrote it: email_user drops
    # the +tag and the dots too; an address with no user is no role mailbox.)
    email = pl.col("kind") == "email"
    role = email_user(pl.col("value")).is_in(pl.lit(sorted(ROLE_MAILBOXES))).fill_null(False)
    return pl.concat(
        [
            sizes.filter(email).with_columns(role=role),
            sizes.filter(~email).with_columns(role=pl.lit(False)),
        ]
    )


def _holders(groups: pl.DataFrame) -> pl.DataFrame:
    """(``g``, ``_i``): each record of each key of ``groups`` (rows of :func:`key_groups`),
    the key by its row number ``g`` in ``groups``."""
    return (
        groups.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("g"), "held_by")
        .explode("held_by")
        .rename({"held_by": "_i"})
    )


def at(records: pl.DataFrame, index: pl.Series, suffix: str = "") -> pl.DataFrame:
    """The rows of ``records`` at record indexes ``index``, without ``_i``, names suffixed.

    ``records`` holds one row per record in ``_i`` order (``_i`` is the row number, as in
    the frame ``_match`` builds and in ``features``), so a record is found by position: a
    gather, where a join on ``_i`` would build a hash table over every record.
    """
    rows = records.drop("_i", strict=False)
    if rows.width and rows.n_chunks() > 1 and index.null_count() == 0 and index.is_sorted():
        rows = _gather_by_chunk(rows, index)
    else:
        rows = rows[index]
    return rows.rename(lambda c: c + suffix)


def _gather_by_chunk(rows: pl.DataFrame, index: pl.Series) -> pl.DataFrame:
    """``rows[index]`` for a sorted ``index``, one chunk of ``rows`` at a time.

    A gather from a frame in many chunks looks every row's chunk up (a list column of 1M
    records in 10 chunks: ~10x slower than gathering from one chunk), and rechunking first
    would copy the columns; a sorted index is cut where the chunks of the column in most
    chunks start (columns may be cut in different places), and each piece is gathered
    from its slice of the frame.
    """
    chunked = max(rows.iter_columns(), key=lambda column: column.n_chunks())
    starts, start = [], 0
    for chunk in chunked.get_chunks():
        starts.append(start)
        start += len(chunk)
    starts.append(start)
    cuts = index.search_sorted(pl.Series(starts, dtype=index.dtype)).to_list()
    pieces = [
        rows.slice(first, end - first)[index.slice(lo, hi - lo) - first]
        for first, end, lo, hi in zip(starts, starts[1:], cuts, cuts[1:], strict=False)
        if hi > lo
    ]
    return pl.concat(pieces) if pieces else rows.clear()


def _codes(values: pl.Series, vocab: pl.Series) -> pl.Series:
    """The place of each value in ``vocab`` (a list of distinct texts holding them all)."""
    return values.cast(pl.Enum(vocab)).to_physical()


def score_names(pairs: pl.DataFrame, feats: pl.DataFrame) -> pl.DataFrame:
    """Add name similarity columns to pairs (``a``, ``b``) of record indexes.

    ``s_first``/``s_last`` compare the parts in the best orientation (``swapped`` when
    first/last were exchanged), ``name_score`` is their mean, ``nickname`` flags Bob/Robert.
    """
    # Each name part is numbered (its place in the sorted list of the parts the records of
    # the pairs hold) and a pair of parts (x, y) is the number x * n + y: the numbers are
    # gathered for the pairs instead of the texts, the distinct pairs are found, and each
    # combination looks its score up, on integers instead of hashing and joining the
    # strings four times. Same table, same answers: a combination with a null part has no
    # number and so no score, as a left join on the null part found none.
    # Only the records of some pair are numbered (at 1M rows, ~260k of the 1M records for
    # the fuzzy candidates): a record's place among them is read from an array over all
    # records, where numbering every record's names took twice the time.
    involved = pl.concat([pairs["a"], pairs["b"]]).unique().sort()
    names = at(feats.select("fn", "ln"), involved)
    vocab = pl.concat([names["fn"].unique(), names["ln"].unique()]).drop_nulls().unique().sort()
    n = max(vocab.len(), 1)
    codes = {part: _codes(names[part], vocab).cast(pl.UInt64) for part in ("fn", "ln")}
    place = pl.zeros(feats.height, pl.UInt32, eager=True).scatter(
        involved, pl.int_range(involved.len(), dtype=pl.UInt32, eager=True)
    )
    number = {
        f"{part}_{end}": codes[part].gather(place.gather(pairs[end]))
        for end in "ab"
        for part in ("fn", "ln")
    }
    combos = [("fn_a", "fn_b"), ("ln_a", "ln_b"), ("fn_a", "ln_b"), ("ln_a", "fn_b")]
    keys = pl.concat([number[l] * n + number[r] for l, r in combos])  # noqa: E741
    uniq = keys.drop_nulls().unique()
    table = name_similarities(
        pl.DataFrame({"x": vocab.gather(uniq // n), "y": vocab.gather(uniq % n)})
    ).select(key=uniq, s="s", nick="nick")
    # (one join for the four combinations, one after the other: half the time of four)
    found = keys.to_frame("key").join(table, on="key", how="left", maintain_order="left")
    scores = []
    for i, name in enumerate(["ff", "ll", "fl", "lf"]):
        part = found.slice(i * pairs.height, pairs.height)
        scores += [part["s"].alias(f"s_{name}"), part["nick"].alias(f"nick_{name}")]
    p = pairs.hstack([vocab.gather(v).alias(c) for c, v in number.items()] + scores)
    straight = pl.mean_horizontal("s_ff", "s_ll")
    swapped_score = pl.mean_horizontal("s_fl", "s_lf") - 0.01
    use_swap = (
        pl.col("s_fl").is_not_null() & pl.col("s_lf").is_not_null() & (swapped_score > straight)
    )
    return p.with_columns(
        swapped=use_swap.fill_null(False),
        s_first=pl.when(use_swap).then(pl.col("s_fl")).otherwise(pl.col("s_ff")),
        s_last=pl.when(use_swap).then(pl.col("s_lf")).otherwise(pl.col("s_ll")),
        nickname=pl.when(use_swap)
        .then(pl.col("nick_fl") | pl.col("nick_lf"))
        .otherwise(pl.col("nick_ff"))
        .fill_null(False),
        name_score=pl.max_horizontal(straight, swapped_score.fill_null(0.0)),
    ).drop("s_ff", "s_ll", "s_fl", "s_lf", "nick_ff", "nick_ll", "nick_fl", "nick_lf")


def _display_name(prefix: str) -> pl.Expr:
    return pl.concat_str(
        [pl.col(f"fn_{prefix}").fill_null(""), pl.col(f"ln_{prefix}").fill_null("")],
        separator=" ",
    ).str.strip_chars()


@dataclass(frozen=True)
class ExactLinks:
    """What the exact keys say."""

    accepted: pl.DataFrame  # EDGE_SCHEMA
    refused: pl.DataFrame  # EDGE_SCHEMA, with the reason they were refused
    shared_keys: pl.DataFrame  # kind, value, records
    #: Pairs with the same name behind a shared key: candidates, checked like fuzzy ones.
    same_name: pl.DataFrame  # a, b, evidence


def exact_edges(
    frame: pl.DataFrame,
    feats: pl.DataFrame,
    opts: Options,
    groups: pl.DataFrame | None = None,
) -> ExactLinks:
    """Links through e-mail, phone and LinkedIn keys, and the links refused.

    ``groups``: :func:`key_groups` of :func:`exact_keys` of ``frame``, if the caller has it
    (it needs the records alone, not ``feats``, so it may be found while the features are).
    """
    sizes = key_groups(exact_keys(frame)) if groups is None else groups
    shared = sizes.filter((pl.col("n") > opts.shared_key_size) | pl.col("role"))
    small = sizes.filter((pl.col("n") <= opts.shared_key_size) & ~pl.col("role"))

    # Small groups: compare every pair, names must not contradict each other.
    k = _holders(small)
    pairs = k.join(k, on="g", suffix="_b").filter(pl.col("_i") < pl.col("_i_b"))
    pairs = pl.concat(
        [
            pairs.select(a="_i", b="_i_b", g="g"),
            small.select("kind", "value")[pairs["g"]],
        ],
        how="horizontal",
    )
    pairs = score_names(pairs, feats)
    min_sim = opts.key_name_min
    first_ok = pl.col("s_first").is_null() | (pl.col("s_first") >= min_sim)
    last_ok = pl.col("s_last").is_null() | (pl.col("s_last") >= min_sim)
    no_names = pl.col("s_first").is_null() & pl.col("s_last").is_null()
    compatible = (
        pl.when(pl.col("kind") == "linkedin")
        .then(True)
        .when(pl.col("kind") == "email")
        # A personal address follows a person through a change of surname; the first name
        # tells family members sharing one address apart.
        .then(
            pl.when(pl.col("swapped"))
            .then(first_ok & last_ok)
            .when(pl.col("s_first").is_not_null())
            .then(first_ok)
            .otherwise(last_ok)
        )
        .otherwise(first_ok & last_ok)
    )
    pairs = pairs.with_columns(ok=compatible, no_names=no_names)
    # A group with two people in it cannot also vouch for a record that has no name.
    conflicted = pairs.filter(~pl.col("ok"))["g"].unique()
    pairs = pairs.with_columns(conflicted=pl.col("g").is_in(conflicted.implode()))
    accept = pairs.filter(pl.col("ok") & ~(pl.col("no_names") & pl.col("conflicted")))
    label = {"email": "same email", "phone": "same phone", "linkedin": "same LinkedIn"}
    accepted = accept.select(
        "a",
        "b",
        "kind",
        score=pl.lit(None, dtype=pl.Float32),
        reason=pl.concat_str(
            [
                pl.col("kind").replace_strict(label, return_dtype=pl.String),
                pl.lit(" "),
                pl.col("value"),
                pl.when((pl.col("kind") == "phone") & ~pl.col("no_names"))
                .then(pl.lit(" + name match"))
                .otherwise(pl.lit("")),
            ]
        ),
    )
    rejected_rows = pairs.filter(~pl.col("ok") | (pl.col("no_names") & pl.col("conflicted")))
    rejected = rejected_rows.select(
        "a",
        "b",
        "kind",
        score=pl.col("name_score").cast(pl.Float32),
        reason=pl.when(pl.col("ok"))
        .then(
            pl.concat_str(
                [pl.lit("not merged: "), pl.col("kind"), pl.lit(" "), pl.col("value")],
            )
            + pl.lit(" is shared by different people and one record has no name")
        )
        .otherwise(
            pl.concat_str(
                [
                    pl.lit("not merged: same "),
                    pl.col("kind"),
                    pl.lit(" "),
                    pl.col("value"),
                    pl.lit(" but names differ ('"),
                    _display_name("a"),
                    pl.lit("' vs '"),
                    _display_name("b"),
                    pl.lit("')"),
                ]
            )
        ),
    )

    # Shared keys (switchboards, info@, big family addresses): only the same full name links.
    k = _holders(shared)
    k = k.hstack(at(feats.select("fn", "ln"), k["_i"])).drop_nulls(["fn", "ln"])
    canon = _canonical_firsts(k["fn"])
    k = k.join(canon, on="fn").select("_i", "g", "cfn", "ln")
    k = k.filter(pl.len().over("g", "cfn", "ln").is_between(2, opts.max_block))
    same_name = k.join(k, on=["g", "cfn", "ln"], suffix="_b").filter(pl.col("_i") < pl.col("_i_b"))
    same_name = (
        pl.concat(
            [same_name.select("_i", "_i_b"), shared.select("kind", "value", "n")[same_name["g"]]],
            how="horizontal",
        )
        .select(
            a="_i",
            b="_i_b",
            evidence=pl.concat_str(
                [
                    pl.lit("same "),
                    pl.col("kind"),
                    pl.lit(" "),
                    pl.col("value"),
                    pl.lit(" (shared by "),
                    pl.col("n").cast(pl.String),
                    pl.lit(" records)"),
                ]
            ),
            n="n",
        )
        .group_by("a", "b")
        # the key the fewest records share; among keys as widely shared, the first evidence
        # in sort order (the order of the rows here is the join's, which varies)
        .agg(pl.col("evidence").sort_by("n", "evidence").first(), key_count=pl.col("n").min())
    )
    shared_keys = shared.select("kind", "value", records=pl.col("n").cast(pl.UInt32)).sort(
        "records", "kind", "value", descending=[True, False, False]
    )
    return ExactLinks(
        accepted.cast(EDGE_SCHEMA),  # type: ignore[arg-type]
        rejected.cast(EDGE_SCHEMA),  # type: ignore[arg-type]
        shared_keys,
        same_name,
    )


def _canonical_firsts(first_names: pl.Series) -> pl.DataFrame:
    uniq = first_names.unique().drop_nulls().to_list()
    return pl.DataFrame(
        {"fn": uniq, "cfn": [canonical_first(n) for n in uniq]},
        schema={"fn": pl.String, "cfn": pl.String},
    )


def _formal_table(first_names: pl.Series) -> pl.DataFrame:
    """fn -> every formal name it may stand for (a list), for nickname-proof blocking."""
    uniq = first_names.unique().drop_nulls().to_list()
    return pl.DataFrame(
        {"fn": uniq, "formals": [sorted(formal_names(n) | {n}) for n in uniq]},
        schema={"fn": pl.String, "formals": pl.List(pl.String)},
    )


def _birthday_match(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Same day and month, and the same year unless one of them is not known."""
    same_day = a.str.slice(-5) == b.str.slice(-5)
    years_known = ~a.str.starts_with("--") & ~b.str.starts_with("--")
    return same_day & (~years_known | (a.str.slice(0, 4) == b.str.slice(0, 4)))


def _with_ends(pairs: pl.DataFrame, involved: pl.Series, side: pl.DataFrame) -> pl.DataFrame:
    """``pairs`` with the row of ``side`` of each end: ``side`` holds one row per record of
    ``involved`` (sorted), where search_sorted finds ``a`` and ``b``; columns suffixed
    ``_a`` and ``_b``."""
    return pairs.hstack(
        [
            column.alias(f"{column.name}_{end}")
            for end in "ab"
            for column in side[involved.search_sorted(pairs[end])].iter_columns()
        ]
    )


def _both_present(name: str) -> pl.Expr:
    return (pl.col(f"{name}_a").list.len() > 0) & (pl.col(f"{name}_b").list.len() > 0)


def _name_key(family: int, x: pl.Expr, y: pl.Expr) -> pl.Expr:
    """One integer for a name key: its family and two numbers below 2**30."""
    return pl.lit(family << 60, pl.UInt64) + x.cast(pl.UInt64) * (1 << 30) + y.cast(pl.UInt64)


def _frequencies(feats: pl.DataFrame) -> pl.DataFrame:
    """``name_n``, ``company_count`` and ``bday_count`` of each record, in record order:
    how many records have its name (canonical first name and last name), its company and
    its birthday (for a birthday without a year, its day and month in any year).

    How surprising is a shared company? (records with this name) x (records at this
    company) / (records) is how many same-name people the company would hold by chance.
    """
    canon = _canonical_firsts(feats["fn"])
    return (
        feats.select("fn", "ln", "company_n", "bday")
        .join(canon, on="fn", how="left", maintain_order="left")
        .select(
            name_n=pl.len().over("cfn", "ln"),
            company_count=pl.when(pl.col("company_n").is_not_null()).then(
                pl.len().over("company_n")
            ),
            bday_count=pl.when(pl.col("bday").str.starts_with("--"))
            .then(pl.len().over(pl.col("bday").str.slice(-5)))
            .when(pl.col("bday").is_not_null())
            .then(pl.len().over("bday")),
        )
    )


def candidates(
    feats: pl.DataFrame, opts: Options, freq: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Pairs (a < b) that share a name block and a corroborating value.

    ``freq``: :func:`_frequencies` of ``feats``, if the caller has it.
    """
    if freq is None:
        freq = _frequencies(feats)
    # A shared company is evidence only while the same-name people it would hold by chance
    # are few (fuzzy_edges), and that count is at least the one of each record's own name:
    # a record of a common name at a large company can never be linked by its company, so
    # it is given no company block (those blocks are the largest, and grow with the file).
    chance = (
        pl.col("name_n").cast(pl.Float64)
        * pl.col("company_count")
        / max(feats.height, _MIN_POPULATION)
    )
    named = (
        feats.hstack(freq)
        .with_columns(company_n=pl.when(chance < opts.company_chance_max).then("company_n"))
        .filter(pl.col("fn").is_not_null() & pl.col("ln").is_not_null())
    )
    if named.height < 2:
        return pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32})
    # Name keys are integers: every name text is numbered by its place in the sorted list
    # of the texts the keys are made of (names, formal first names and their first one or
    # two letters, so the list holds the start of each of its texts), and a key is its
    # family and two such numbers. The keys are those of the texts "family + x | y"; the
    # numbers spare building and hashing three texts per record, and since the list is
    # sorted, min/max of two numbers are those of the two names. (2**30 distinct names would
    # take a file of billions of records.)
    formals = _formal_table(named["fn"]).explode("formals")
    texts = pl.concat([formals["fn"], formals["formals"], named["ln"].unique()]).unique()
    vocab = pl.concat([texts, texts.str.slice(0, 2), texts.str.slice(0, 1)]).unique().sort()
    first_two = _codes(vocab.str.slice(0, 2), vocab)  # the number of each text's start
    per_fn = pl.DataFrame(
        {
            "fn": _codes(formals["fn"], vocab),
            "formal": _codes(formals["formals"], vocab),
            "initial": _codes(formals["formals"].str.slice(0, 1), vocab),
        }
    )
    records = named.select("_i", fn=_codes(named["fn"], vocab), ln=_codes(named["ln"], vocab))
    name_keys = pl.concat(
        [
            # last name + initial of every formal first name (typos, nicknames); two
            # formal names may share an initial, hence the unique()
            records.join(per_fn.select("fn", "initial").unique(), on="fn").select(
                "_i", nk=_name_key(1, pl.col("ln"), pl.col("initial"))
            ),
            # formal first name + start of the last name (typos in the last name)
            records.join(per_fn.select("fn", "formal"), on="fn").select(
                "_i", nk=_name_key(2, pl.lit(first_two).gather("ln"), pl.col("formal"))
            ),
            # first and last exchanged
            records.select(
                "_i", nk=_name_key(3, pl.min_horizontal("fn", "ln"), pl.max_horizontal("fn", "ln"))
            ),
        ]
    )
    # Corroborating values are compared by their 64-bit hashes, one seed per kind.
    values = {
        1: named.select("_i", ck="company_n"),
        2: named.select("_i", ck=pl.col("bday").str.slice(-5)),
        3: named.select("_i", ck="users").explode("ck"),
        4: named.select("_i", ck="tails").explode("ck"),
    }
    corroborators = pl.concat(
        [v.drop_nulls().select("_i", ck=pl.col("ck").hash(seed)) for seed, v in values.items()]
    )
    # A block holds two records only if its corroborating value is held by two records
    # (values are unique per record, by their kind and the unique users/tails lists), so
    # the values of one record alone are dropped before the product is built: the same
    # blocks, from a fraction of the rows. (Name keys are not filtered so: at 1M rows 98 %
    # of them are held twice, and finding the others cost more than it saved.)
    corroborators = corroborators.filter(pl.col("ck").is_duplicated())
    # A block is the hash of its name key xor its value's hash. Joins and block sizes are
    # found on sorted columns (a merge and runs), several times faster here than hashing
    # 3M rows again; the sorts run on one thread, since this runs beside exact_edges on a
    # two-core machine (at 1M, 0.27 CPU s where the parallel sort took 0.36 for 3.2M rows).
    blocks = (
        name_keys.sort("_i", multithreaded=False)
        .join(corroborators.sort("_i", multithreaded=False), on="_i")
        .select("_i", bk=pl.col("nk").hash().xor(pl.col("ck")))
        .sort("bk", multithreaded=False)
    )
    blocks = blocks.filter(pl.len().over(pl.col("bk").rle_id()).is_between(2, opts.max_block))
    pairs = (
        blocks.join(blocks, on="bk", suffix="_b")
        .filter(pl.col("_i") < pl.col("_i_b"))
        .select(a="_i", b="_i_b")
    )
    # Two birthdays that do not match veto a link (fuzzy_edges), so such pairs, four in ten
    # of those the blocks find in a large file, are dropped before they are counted and
    # scored. The parts _birthday_match compares are compared by their hashes (a collision
    # only keeps a pair the veto drops later).
    bday = pl.col("bday")
    parts = feats.select(
        day=pl.when(bday.is_not_null()).then(bday.str.slice(-5).hash()),
        year=pl.when(~bday.str.starts_with("--")).then(bday.str.slice(0, 4).hash()),
    ).rechunk()  # (16 bytes a record, gathered at random: from one chunk, ~10x faster)
    ends = [at(parts, pairs[end], f"_{end}") for end in "ab"]
    other_day = ends[0]["day_a"] != ends[1]["day_b"]
    other_year = ends[0]["year_a"] != ends[1]["year_b"]
    keep = (other_day | other_year).fill_null(False).not_()
    # A pair found in several blocks is one candidate: its two numbers are one integer.
    return _pairs(_pair_numbers(pairs.filter(keep)).unique())


def _pair_numbers(pairs: pl.DataFrame) -> pl.Series:
    """One integer per pair (``a``, ``b``) of record indexes: set operations on pairs of
    numbers cost hashing one column instead of two."""
    return pairs.select(pl.col("a").cast(pl.UInt64) * (1 << 32) + pl.col("b")).to_series()


def _pairs(numbers: pl.Series) -> pl.DataFrame:
    """The pairs (``a``, ``b``) of :func:`_pair_numbers`."""
    return pl.DataFrame(
        {"a": (numbers // (1 << 32)).cast(pl.UInt32), "b": (numbers % (1 << 32)).cast(pl.UInt32)}
    )


@dataclass(frozen=True)
class FuzzyCandidates:
    """What :func:`fuzzy_edges` compares, from the features alone (no exact link needed)."""

    freq: pl.DataFrame  # _frequencies
    pairs: pl.DataFrame  # candidates (a < b); none without opts.fuzzy


def fuzzy_candidates(feats: pl.DataFrame, opts: Options) -> FuzzyCandidates:
    """The part of :func:`fuzzy_edges` that does not depend on :func:`exact_edges`: the
    caller may find it while the exact links are found."""
    freq = _frequencies(feats)
    if opts.fuzzy:
        return FuzzyCandidates(freq, candidates(feats, opts, freq))
    return FuzzyCandidates(freq, pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32}))


def fuzzy_edges(
    frame: pl.DataFrame,
    feats: pl.DataFrame,
    opts: Options,
    same_name: pl.DataFrame,
    shared_keys: pl.DataFrame,
    linked: pl.DataFrame | None = None,
    found: FuzzyCandidates | None = None,
) -> pl.DataFrame:
    """Links between records with similar names, a corroborating fact and no contradiction.

    ``same_name`` pairs (same name behind a shared key) are checked the same way, with the
    shared key as their evidence; the shared phones do not count as a record's own.
    ``linked`` (``a`` < ``b``): pairs an exact key already links; they are not compared,
    since an exact link makes a name comparison between the same two records redundant
    (``_match`` drops such fuzzy links). ``found``: :func:`fuzzy_candidates` of ``feats``,
    if the caller has it.
    """
    if found is None:
        found = fuzzy_candidates(feats, opts)
    freq = found.freq
    numbers = pl.concat([_pair_numbers(found.pairs), _pair_numbers(same_name)]).unique()
    if linked is not None:
        numbers = numbers.filter(~numbers.is_in(_pair_numbers(linked).implode()))
    cand = _pairs(numbers)
    if cand.height == 0:
        return _empty_edges()
    cand = score_names(cand, feats)
    cand = cand.filter(
        (pl.col("name_score") >= opts.fuzzy_name_min)
        & (pl.min_horizontal("s_first", "s_last") >= opts.fuzzy_part_min)
    )
    # Keys shared by many records are nobody's own: leave them out of the comparison.
    shared_tails = (
        shared_keys.filter(pl.col("kind") == "phone")["value"].str.replace_all(r"\D", "")
    ).str.slice(-7)
    shared_emails = shared_keys.filter(pl.col("kind") == "email")["value"]
    # Only the records of some candidate pair are compared: their side of the comparison.
    involved = pl.concat([cand["a"], cand["b"]]).unique().sort()
    side = pl.concat(
        [
            at(feats.select("company_n", "bday", "city", "users", "tails"), involved),
            freq[involved],
            at(frame.select("linkedin", "company"), involved),
        ],
        how="horizontal",
    ).with_columns(pl.col("tails").list.set_difference(pl.lit(shared_tails.implode())))
    cand = _with_ends(cand, involved, side)
    cand = cand.join(same_name, on=["a", "b"], how="left")
    cand = cand.with_columns(
        shared_user=pl.col("users_a").list.set_intersection("users_b").list.sort().list.first()
    )
    both = _both_present
    # Two people of one name at one company still differ in their own numbers, in the
    # address the company gave each of them, in birthdays and LinkedIn profiles.
    diff_phones = both("tails") & (
        pl.col("tails_a").list.set_intersection("tails_b").list.len() == 0
    )
    diff_linkedin = (
        pl.col("linkedin_a").str.to_lowercase() != pl.col("linkedin_b").str.to_lowercase()
    ).fill_null(False)
    diff_bday = (~_birthday_match(pl.col("bday_a"), pl.col("bday_b"))).fill_null(False)
    diff_city = (pl.col("city_a") != pl.col("city_b")).fill_null(False)
    chance = (
        pl.max_horizontal("name_n_a", "name_n_b").cast(pl.Float64)
        * pl.col("company_count_a")
        / max(feats.height, _MIN_POPULATION)
    )
    # A birthday is a value many people share too: in a file of a million records, a
    # name thousands of them hold meets its own birthday by chance (on the 1M generated
    # file, 23 % of the links by birthday alone between such names were two people).
    bday_chance = (
        pl.max_horizontal("name_n_a", "name_n_b").cast(pl.Float64)
        * pl.max_horizontal("bday_count_a", "bday_count_b")
        / max(feats.height, _MIN_POPULATION)
    )
    cand = cand.with_columns(
        same_company=(pl.col("company_n_a") == pl.col("company_n_b")).fill_null(False)
        & (chance < opts.company_chance_max).fill_null(False),
        same_bday=_birthday_match(pl.col("bday_a"), pl.col("bday_b")).fill_null(False)
        & (bday_chance < opts.company_chance_max).fill_null(False),
        shared_tail=pl.col("tails_a").list.set_intersection("tails_b").list.first(),
        veto=diff_bday | diff_linkedin | diff_phones,
        diff_city=diff_city,
    )
    personal = (
        pl.col("same_bday")
        | pl.col("shared_user").is_not_null()
        | pl.col("shared_tail").is_not_null()
    )
    # A company or a shared switchboard is a place many people share: enough only when
    # nothing else about the two records disagrees.
    key_chance = (
        pl.max_horizontal("name_n_a", "name_n_b").cast(pl.Float64)
        * pl.col("key_count")
        / max(feats.height, _MIN_POPULATION)
    )
    cand = cand.with_columns(
        evidence=pl.when(key_chance < opts.company_chance_max).then(pl.col("evidence"))
    )
    place = (pl.col("same_company") | pl.col("evidence").is_not_null()) & ~pl.col("diff_city")
    cand = cand.filter((personal | place) & ~pl.col("veto"))
    # The addresses an employer gave each of the two are the last veto, looked for only in
    # the pairs nothing else refused (at 1M rows, 16k of the 32k pairs with alike names,
    # their 27k records: the work addresses of the 39k records of all took 0.14 CPU s).
    involved = pl.concat([cand["a"], cand["b"]]).unique().sort()
    work = at(frame.select("emails"), involved).select(
        work=work_emails(pl.col("emails")).list.set_difference(pl.lit(shared_emails.implode()))
    )
    domains = [pl.col(f"work_{s}").list.eval(pl.element().str.extract(r"@(.+)$", 1)) for s in "ab"]
    diff_work_email = (
        both("work")
        & (pl.col("work_a").list.set_intersection("work_b").list.len() == 0)
        & (domains[0].list.set_intersection(domains[1]).list.len() > 0)
    )
    cand = _with_ends(cand, involved, work).filter(~diff_work_email)
    name_part = pl.concat_str(
        [
            pl.lit("name ~"),
            pl.col("name_score").round(2).cast(pl.String).str.pad_end(4, "0"),
            pl.when(pl.col("nickname")).then(pl.lit(" (nickname)")).otherwise(pl.lit("")),
            pl.when(pl.col("swapped")).then(pl.lit(" (first/last swapped)")).otherwise(pl.lit("")),
        ]
    )
    evidence = pl.concat_list(
        pl.when(pl.col("same_company")).then(
            pl.concat_str([pl.lit("same company "), pl.col("company_a").str.strip_chars()])
        ),
        pl.col("evidence"),
        pl.when(pl.col("same_bday")).then(
            pl.concat_str([pl.lit("same birthday "), pl.col("bday_a")])
        ),
        pl.when(pl.col("shared_user").is_not_null()).then(
            pl.concat_str([pl.lit("same email user "), pl.col("shared_user")])
        ),
        pl.when(pl.col("shared_tail").is_not_null()).then(
            pl.concat_str([pl.lit("same phone ending "), pl.col("shared_tail")])
        ),
    ).list.drop_nulls()
    return cand.select(
        "a",
        "b",
        kind=pl.lit("fuzzy"),
        score=pl.col("name_score").cast(pl.Float32),
        reason=pl.concat_str([name_part, pl.lit(" + "), evidence.list.join(" + ")]),
    ).cast(EDGE_SCHEMA)  # type: ignore[arg-type]


def contradictions(pairs: pl.DataFrame, frame: pl.DataFrame, feats: pl.DataFrame) -> pl.DataFrame:
    """The pairs (``a``, ``b``) that cannot be one person: first names that are not the
    same name (John/Jane), different birthdays or different LinkedIn profiles."""
    if pairs.height == 0:
        return pairs.select("a", "b")
    scored = score_names(pairs.select("a", "b"), feats)
    side = pl.concat([feats.select("bday"), frame.select("linkedin")], how="horizontal")
    scored = scored.hstack(at(side, scored["a"], "_a")).hstack(at(side, scored["b"], "_b"))
    other_first = (pl.col("s_first") < 0.7).fill_null(False) & ~pl.col("nickname")
    other_bday = (~_birthday_match(pl.col("bday_a"), pl.col("bday_b"))).fill_null(False)
    other_linkedin = (
        pl.col("linkedin_a").str.to_lowercase() != pl.col("linkedin_b").str.to_lowercase()
    ).fill_null(False)
    return scored.filter(other_first | other_bday | other_linkedin).select("a", "b")
