"""features' and exact_edges' fast steps agree with the code they replaced.

``_named_verdicts`` decides with expressions what ``distinctive_user`` decides one user part
at a time; exact_edges pairs the records of a key through its row in ``key_groups`` where it
joined the key texts. Both are checked on random inputs and on a generated file (the
``generated`` fixture and the ``user_rows`` strategy of test_fast_paths).
"""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fast_paths import generated, user_rows

from dexio.dedupe._features import (
    ROLE_MAILBOXES,
    _named_verdicts,
    _per_value,
    company_key,
    distinctive_user,
    email_user,
    features,
    fold,
)
from dexio.dedupe._matching import (
    EDGE_SCHEMA,
    ExactLinks,
    Options,
    _canonical_firsts,
    _display_name,
    at,
    exact_edges,
    exact_keys,
    key_groups,
    score_names,
)

__all__ = ["generated"]  # the fixture, found by pytest under this name


def reference_exact_edges(frame: pl.DataFrame, feats: pl.DataFrame, opts: Options) -> ExactLinks:
    """exact_edges as it was before the records of a key were paired through its row number in
    key_groups: semi-joins and self-joins on the key texts."""
    keys = exact_keys(frame)
    sizes = key_groups(keys).drop("held_by")
    shared = sizes.filter((pl.col("n") > opts.shared_key_size) | pl.col("role"))
    small = sizes.filter((pl.col("n") <= opts.shared_key_size) & ~pl.col("role"))

    # Small groups: compare every pair, names must not contradict each other.
    k = keys.join(small.select("kind", "value"), on=["kind", "value"], how="semi")
    pairs = (
        k.join(k, on=["kind", "value"], suffix="_b")
        .filter(pl.col("_i") < pl.col("_i_b"))
        .select(a="_i", b="_i_b", kind="kind", value="value")
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
    conflicted = pairs.filter(~pl.col("ok")).select("kind", "value").unique()
    pairs = pairs.with_columns(
        conflicted=pl.struct("kind", "value").is_in(
            conflicted.select(pl.struct("kind", "value")).to_series().implode()
        )
    )
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
    k = keys.join(shared.select("kind", "value"), on=["kind", "value"], how="semi")
    k = k.hstack(at(feats.select("fn", "ln"), k["_i"])).drop_nulls(["fn", "ln"])
    canon = _canonical_firsts(k["fn"])
    k = k.join(canon, on="fn").select("_i", "kind", "value", "cfn", "ln")
    k = k.filter(pl.len().over("kind", "value", "cfn", "ln").is_between(2, opts.max_block))
    same_name = (
        k.join(k, on=["kind", "value", "cfn", "ln"], suffix="_b")
        .filter(pl.col("_i") < pl.col("_i_b"))
        .join(sizes.select("kind", "value", "n"), on=["kind", "value"])
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
        # (ties broken by the evidence text, as exact_edges does now: before, by row order)
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


def test_exact_edges_equal_the_joins_on_key_texts_on_a_generated_file(
    generated: pl.DataFrame,
) -> None:
    feats = features(generated)
    # shared_key_size=1: every key two records hold is shared, and only same-name pairs
    # come out of it
    found = []
    for opts in (Options(), Options(shared_key_size=1)):
        now = exact_edges(generated, feats, opts)
        before = reference_exact_edges(generated, feats, opts)
        for name in ("accepted", "refused", "shared_keys", "same_name"):
            got, expected = getattr(now, name), getattr(before, name)
            assert got.sort(got.columns).equals(expected.sort(expected.columns)), name
        found.append(now)
    assert found[0].accepted.height > 300 and found[0].refused.height > 0
    assert found[1].same_name.height > 300 and found[1].shared_keys.height > 300


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(user_rows(), min_size=1, max_size=40))
def test_named_verdicts_equal_distinctive_user(
    rows: list[tuple[str, str | None, str | None]],
) -> None:
    named = [(u, f, l) for u, f, l in rows if f is not None and l is not None]  # noqa: E741
    frame = pl.DataFrame(named, schema=["users", "fn", "ln"], orient="row")
    got = _named_verdicts(frame).to_list() if named else []
    assert got == [distinctive_user(u, f, l) for u, f, l in named]  # noqa: E741


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="aB é-.,Inc", max_size=8)), max_size=30))
def test_per_value_equals_the_rule_on_every_row(values: list[str | None]) -> None:
    # _per_value finds each value's row in its table through an Enum of the table's values:
    # the same result as the rule run on every row, nulls, empty texts and repeats included
    frame = pl.DataFrame({"v": [*values, "", None, "Acme Inc.", "acme"]}, schema={"v": pl.String})
    for how in (fold, company_key):
        got = _per_value(frame, pl.col("v"), how)
        assert got.to_list() == frame.select(how(pl.col("v")))["v"].to_list()


def reference_email_user(expr: pl.Expr) -> pl.Expr:
    """email_user as it was: the whole address lower-cased, the +tag then the dots taken off
    in two passes."""
    local = expr.str.to_lowercase().str.extract(r"^([^@]+)@", 1)
    return local.str.replace(r"\+.*$", "").str.replace_all(r"[._-]", "")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="aBΣς+@._-\n1 ", max_size=12), min_size=1, max_size=30))
def test_email_user_equals_the_former_passes(emails: list[str]) -> None:
    # a tag runs from a + to the end without a line break (".*$"), so a + before one stays;
    # a capital sigma lower-cases by its place in the word
    frame = pl.DataFrame({"e": [*emails, "A.b+x.y@C.com", "@x", "noat", "+t@x", "a+b\nc+d@x"]})
    got = frame.select(email_user(pl.col("e")))["e"]
    assert got.to_list() == frame.select(reference_email_user(pl.col("e")))["e"].to_list()
    assert got.to_list()[-5:] == ["ab", None, None, "", "a+b\nc"]


def test_named_verdicts_equal_distinctive_user_on_a_generated_file(
    generated: pl.DataFrame,
) -> None:
    # every user part of every record with both names, not only those the clear cases in
    # _distinctive leave open, and each user part against the names of the next record
    users = generated.select("_i", "emails").explode("emails")
    users = users.select("_i", users=email_user(pl.col("emails").struct.field("email")))
    names = features(generated).select("fn", "ln")
    frame = pl.concat(
        [
            users.hstack(at(names, users["_i"])),
            users.hstack(at(names, (users["_i"] + 1) % generated.height)),
        ]
    )
    frame = frame.drop_nulls().select("users", "fn", "ln").unique()
    verdicts = _named_verdicts(frame)
    expected = [distinctive_user(u, f, l) for u, f, l in frame.iter_rows()]  # noqa: E741
    assert frame.height > 3000 and 0 < sum(expected) < frame.height
    assert verdicts.to_list() == expected


def test_users_are_the_distinctive_parts_two_records_share(generated: pl.DataFrame) -> None:
    # features drops the parts held by one record partly by hash and partly after
    # _distinctive; here they are dropped first, by counting each part's records. Record 0
    # lists one part twice (two rows, one record), records 1 and 2 share another.
    def addresses(*emails: str) -> pl.Expr:
        rows = [{"email": e, "label": None, "ranking": None} for e in emails]
        return pl.lit(pl.Series([rows], dtype=generated.schema["emails"]))

    i = pl.col("_i")
    generated = generated.with_columns(
        emails=pl.when(i == 0)
        .then(addresses("zq.ward1984@a.com", "zqward1984@b.org"))
        .when(i.is_in([1, 2]))
        .then(addresses("yx.ward1984@a.com"))
        .otherwise("emails")
    )
    users = generated.select("_i", "emails").explode("emails")
    users = users.select("_i", users=email_user(pl.col("emails").struct.field("email")))
    users = users.filter(
        (pl.col("users").str.len_chars() >= 4)
        & ~pl.col("users").is_in(pl.lit(sorted(ROLE_MAILBOXES)))
        & (pl.col("_i").n_unique().over("users") > 1)
    )
    feats = features(generated)
    names = feats.select("_i", "fn", "ln").join(users, on="_i")
    expected = {
        (i, u)
        for i, u, f, l in names.select("_i", "users", "fn", "ln").iter_rows()  # noqa: E741
        if distinctive_user(u, f, l)
    }
    got = set(feats.select("_i", "users").explode("users").drop_nulls().iter_rows())
    assert 10 < len(expected) < users.height / 2
    assert (1, "yxward1984") in expected and (0, "zqward1984") not in expected
    assert got == expected
