"""dexio.dedupe's column-at-a-time computations agree with their one-value definitions.

Each vectorized step keeps a plain Python function as its definition (``name_similarity``,
``is_nickname_pair``, ``distinctive_user``); these tests check that the fast versions give
the same answer on random inputs and on every row of a generated file.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from dexio.dedupe import _match, dedupe
from dexio.dedupe._features import (
    ROLE_MAILBOXES,
    _distinctive,
    company_key,
    distinctive_user,
    email_user,
    features,
    fold,
    is_nickname_pair,
    name_similarities,
    name_similarity,
)
from dexio.dedupe._matching import (
    Options,
    _birthday_match,
    _formal_table,
    _frequencies,
    at,
    candidates,
    exact_keys,
    key_groups,
    score_names,
)
from dexio.dedupe._survivorship import MERGED_SCALARS, _quote, merge_scalars, rank_members
from dexio.nicknames import GROUPS
from dexio.normalize import normalize
from dexio.readers import read
from dexio.schema import COLUMNS, conform

BENCH = Path(__file__).resolve().parents[2] / "bench"

#: Names people type, nicknames among them, and the kinds of damage dedupe must see through.
KNOWN = [*sorted(GROUPS)[:80], "smith", "garcia lopez", "garcia", "j", "jo", "de la cruz"]
name_text = st.one_of(
    st.sampled_from(KNOWN),
    st.text(alphabet="abcjoné -", min_size=1, max_size=8),
    st.text(min_size=1, max_size=12),
)


def folded(values: list[str]) -> list[str | None]:
    return (
        pl.DataFrame({"v": values}, schema={"v": pl.String})
        .select(fold(pl.col("v")))["v"]
        .to_list()
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(name_text, name_text), min_size=1, max_size=40))
def test_name_similarities_equal_name_similarity(pairs: list[tuple[str, str]]) -> None:
    xs, ys = folded([x for x, _ in pairs]), folded([y for _, y in pairs])
    rows = [(x, y) for x, y in zip(xs, ys, strict=True) if x is not None and y is not None]
    if not rows:
        return
    frame = pl.DataFrame(rows, schema={"x": pl.String, "y": pl.String}, orient="row").unique()
    out = name_similarities(frame)
    for x, y, s, nick in out.select("x", "y", "s", "nick").iter_rows():
        expected = pl.Series([name_similarity(x, y)], dtype=pl.Float32)[0]
        assert s == expected, (x, y)
        assert nick == is_nickname_pair(x, y), (x, y)


def test_every_nickname_pair_of_the_table_is_found() -> None:
    names = sorted(GROUPS)
    frame = pl.DataFrame(
        [(x, y) for x in names for y in names],
        schema={"x": pl.String, "y": pl.String},
        orient="row",
    )
    out = name_similarities(frame)
    expected = [is_nickname_pair(x, y) for x, y in out.select("x", "y").iter_rows()]
    assert out["nick"].to_list() == expected
    assert sum(expected) > 500  # the table is really in use


first_names = st.sampled_from(["mark", "robert", "bob", "mary", "ann", "de la", "jo", "x", None])
last_names = st.sampled_from(["smith", "smih", "garcia lopez", "ng", "ann", "the", "li", None])
digits_text = st.sampled_from(["", "7", "83", "122", "1984", "00001"])
fragment = st.sampled_from(["family", "home", "the", "m", "ms", "sparkle", "bob", "rob", "ii"])


@st.composite
def user_rows(draw: st.DrawFn) -> tuple[str, str | None, str | None]:
    first, last = draw(first_names), draw(last_names)
    pieces = [p.replace(" ", "") for p in (first, last) if p]
    # whole name parts, slices of them (typos, leftovers), household words, other letters
    piece = st.sampled_from(pieces or ["q"])
    sliced = st.tuples(piece, st.integers(0, 6), st.integers(1, 12)).map(
        lambda t: t[0][t[1] : t[2]]
    )
    other = st.text("abcdeghiklmnorstxyz", max_size=5)
    shape = draw(st.lists(st.one_of(piece, sliced, fragment, other), min_size=1, max_size=3))
    user = "".join(shape) + draw(digits_text)
    return (user or "z", first, last)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(user_rows(), min_size=1, max_size=40))
def test_distinctive_equals_distinctive_user(
    rows: list[tuple[str, str | None, str | None]],
) -> None:
    frame = pl.DataFrame(
        [(i, u, f, l) for i, (u, f, l) in enumerate(rows)],  # noqa: E741
        schema={"_i": pl.UInt32, "users": pl.String, "fn": pl.String, "ln": pl.String},
        orient="row",
    )
    kept = _distinctive(frame).explode("users")
    got = set(kept.iter_rows())
    expected = {(i, u) for i, (u, f, l) in enumerate(rows) if distinctive_user(u, f, l)}  # noqa: E741
    assert got == expected


def reference_score_names(pairs: pl.DataFrame, feats: pl.DataFrame) -> pl.DataFrame:
    """score_names as it was before it looked scores up by numbered name parts."""
    names = feats.select("fn", "ln")
    p = pairs.hstack(at(names, pairs["a"], "_a")).hstack(at(names, pairs["b"], "_b"))
    combos = [("fn_a", "fn_b"), ("ln_a", "ln_b"), ("fn_a", "ln_b"), ("ln_a", "fn_b")]
    uniq = pl.concat([p.select(x=pl.col(x), y=pl.col(y)) for x, y in combos]).drop_nulls().unique()
    table = name_similarities(uniq)
    for (x, y), name in zip(combos, ["ff", "ll", "fl", "lf"], strict=True):
        p = p.join(
            table.rename({"x": x, "y": y, "s": f"s_{name}", "nick": f"nick_{name}"}),
            on=[x, y],
            how="left",
            maintain_order="left",
        )
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


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.one_of(st.none(), name_text), st.one_of(st.none(), name_text)),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=30),
)
def test_score_names_equals_the_join_on_name_texts(
    people: list[tuple[str | None, str | None]], links: list[tuple[int, int]]
) -> None:
    # a missing part is null, as in features; folding may also make a part null
    feats = pl.DataFrame(
        {
            "fn": [None if f is None else folded([f])[0] for f, _ in people],
            "ln": [None if ln is None else folded([ln])[0] for _, ln in people],
        },
        schema={"fn": pl.String, "ln": pl.String},
    )
    pairs = pl.DataFrame(
        [(a % feats.height, b % feats.height) for a, b in links],
        schema={"a": pl.UInt32, "b": pl.UInt32},
        orient="row",
    )
    assert score_names(pairs, feats).equals(reference_score_names(pairs, feats))


def reference_key_groups(frame: pl.DataFrame) -> pl.DataFrame:
    """exact_keys and the key counts of exact_edges as they were before the role of a key
    was looked for only among shared keys and the Gmail pattern only on Gmail suffixes."""
    emails = (
        frame.select("_i", "emails")
        .explode("emails")
        .select(
            "_i",
            kind=pl.lit("email"),
            value=pl.col("emails").struct.field("email").str.strip_chars().str.to_lowercase(),
        )
    )
    local = pl.col("value").str.extract(r"^([^@]+)@", 1)
    domain = pl.col("value").str.extract(r"@(.+)$", 1)
    gmail = domain.is_in(["gmail.com", "googlemail.com"]).fill_null(False)
    emails = emails.with_columns(
        _gmail=gmail, role=email_user(pl.col("value")).is_in(pl.lit(sorted(ROLE_MAILBOXES)))
    )
    gmail_rows = emails.filter("_gmail").with_columns(
        value=pl.concat_str(
            [local.str.replace(r"\+.*$", "").str.replace_all(".", "", literal=True)],
        )
        + pl.lit("@gmail.com")
    )
    emails = pl.concat([emails.filter(~pl.col("_gmail")), gmail_rows]).drop("_gmail")
    phones = (
        frame.select("_i", "phones")
        .explode("phones")
        .select(
            "_i",
            kind=pl.lit("phone"),
            value=pl.col("phones").struct.field("phone_number_sanitized").str.strip_chars(),
        )
        .with_columns(role=pl.lit(False))
    )
    linkedin = frame.select(
        "_i",
        kind=pl.lit("linkedin"),
        value=pl.col("linkedin").str.strip_chars().str.strip_chars("/").str.to_lowercase(),
        role=pl.lit(False),
    )
    keys = pl.concat([emails, phones, linkedin])
    keys = keys.filter(pl.col("value").is_not_null() & (pl.col("value").str.len_chars() > 0))
    keys = keys.unique(["_i", "kind", "value"])
    sizes = keys.group_by("kind", "value").agg(n=pl.len(), role=pl.col("role").any())
    return sizes.filter(pl.col("n") > 1)


def key_groups_now(frame: pl.DataFrame) -> pl.DataFrame:
    return key_groups(exact_keys(frame)).select("kind", "value", "n", "role")


address = st.builds(
    lambda user, tag, domain: f"{user}{tag}@{domain}",
    st.sampled_from(["info", "i.n.fo", "Info", "john.smith", "john_smith", "", ".", "a@b", "x\n"]),
    st.sampled_from(["", "+news", "+", "+a.b"]),
    st.sampled_from(["gmail.com", "googlemail.com", "GMail.com", "x.gmail.com", "gmail.com\n"]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.one_of(address, st.just(" INFO@Acme.com ")), max_size=3), max_size=8))
def test_key_groups_equal_the_counts_they_replaced(records: list[list[str]]) -> None:
    email_type = pl.Struct({"email": pl.String})
    phone_type = pl.Struct({"phone_number_sanitized": pl.String})
    frame = pl.DataFrame(
        {
            "_i": pl.Series(range(len(records)), dtype=pl.UInt32),
            "emails": [[{"email": e} for e in r] for r in records],
            "phones": [[] for _ in records],
            "linkedin": [None for _ in records],
        },
        schema={
            "_i": pl.UInt32,
            "emails": pl.List(email_type),
            "phones": pl.List(phone_type),
            "linkedin": pl.String,
        },
    )
    ordered = ["kind", "value"]
    assert key_groups_now(frame).sort(ordered).equals(reference_key_groups(frame).sort(ordered))


# -- the whole-file checks: each fast step against the code it replaced ----------------------
#
# The two functions below are the earlier versions of ``candidates`` and ``merge_scalars``,
# kept verbatim as the slow paths the fast ones must equal, on every row of a generated file
# (bench/generate.py: typos, nicknames, shared addresses and switchboards, swapped names).


def reference_candidates(feats: pl.DataFrame, opts: Options) -> pl.DataFrame:
    """candidates as it was before keys held by one record were dropped and blocks hashed
    as pairs: every name key x every value, blocks by the hash of "key#value"."""
    named = feats.filter(pl.col("fn").is_not_null() & pl.col("ln").is_not_null())
    if named.height < 2:
        return pl.DataFrame(schema={"a": pl.UInt32, "b": pl.UInt32})
    formals = _formal_table(named["fn"])
    named = named.join(formals, on="fn", how="left")
    per_formal = named.select("_i", "fn", "ln", "formals").explode("formals")
    name_keys = pl.concat(
        [
            # last name + initial of every formal first name (typos, nicknames)
            per_formal.select(
                "_i",
                nk=pl.concat_str(
                    [pl.lit("L"), pl.col("ln"), pl.lit("|"), pl.col("formals").str.slice(0, 1)]
                ),
            ),
            # formal first name + start of the last name (typos in the last name)
            per_formal.select(
                "_i",
                nk=pl.concat_str(
                    [pl.lit("F"), pl.col("ln").str.slice(0, 2), pl.lit("|"), pl.col("formals")]
                ),
            ),
            # first and last exchanged
            named.select(
                "_i",
                nk=pl.concat_str(
                    [
                        pl.lit("S"),
                        pl.min_horizontal("fn", "ln"),
                        pl.lit("|"),
                        pl.max_horizontal("fn", "ln"),
                    ]
                ),
            ),
        ]
    ).unique()
    corroborators = named.select(
        "_i",
        ck=pl.concat_list(
            pl.concat_str([pl.lit("c"), pl.col("company_n")]),
            pl.concat_str([pl.lit("b"), pl.col("bday").str.slice(-5)]),
            pl.col("users").list.eval(pl.lit("u") + pl.element()),
            pl.col("tails").list.eval(pl.lit("t") + pl.element()),
        ).list.drop_nulls(),
    )
    blocks = (
        name_keys.join(corroborators, on="_i")
        .explode("ck")
        .drop_nulls()
        .select("_i", bk=pl.concat_str(["nk", "ck"], separator="#").hash())
    )
    # (name keys are unique per record and the values carry a kind prefix, so no repeats)
    blocks = blocks.filter(pl.len().over("bk").is_between(2, opts.max_block))
    cand = (
        blocks.join(blocks, on="bk", suffix="_b")
        .filter(pl.col("_i") < pl.col("_i_b"))
        .select(a="_i", b="_i_b")
        .unique()
    )
    return cand


def reference_merge_scalars(members: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """merge_scalars as it was before it skipped the fields whose texts all agree."""
    long = (
        members.select("label", "mrank", "source", "row", *MERGED_SCALARS)
        .unpivot(
            index=["label", "mrank", "source", "row"],
            on=list(MERGED_SCALARS),
            variable_name="field",
            value_name="value",
        )
        .with_columns(pl.col("value").str.strip_chars())
        .filter(pl.col("value").is_not_null() & (pl.col("value") != ""))
    )
    # Two spellings of one value are not a conflict ("Acme Inc." vs "ACME", "Lopez" vs
    # "López"); a birthday without a
    # year agrees with one that has it (and the one with the year is kept).
    long = long.with_columns(
        key=pl.when(pl.col("field") == "birthday")
        .then(pl.col("value").str.slice(-5))
        .when(pl.col("field") == "company")
        .then(company_key(pl.col("value")))
        .otherwise(pl.coalesce(fold(pl.col("value")), pl.col("value"))),
        has_year=(pl.col("field") == "birthday") & ~pl.col("value").str.starts_with("--"),
    ).sort("label", "field", "mrank")
    kept_key = pl.col("key").first().over("label", "field")
    long = long.with_columns(
        pick=pl.when(pl.col("key") == kept_key)
        .then(pl.col("has_year").cast(pl.Int8) * -1)
        .otherwise(pl.lit(1, dtype=pl.Int8)),
    ).sort("label", "field", "pick", "mrank")
    distinct = long.unique(["label", "field", "key"], keep="first", maintain_order=True)
    per_field = distinct.group_by("label", "field", maintain_order=True).agg(
        kept=pl.col("value").first(),
        kept_source=pl.col("source").first(),
        kept_row=pl.col("row").first(),
        values=pl.col("value"),
    )
    wide = per_field.pivot(on="field", index="label", values="kept")
    for f in MERGED_SCALARS:
        if f not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.String).alias(f))
    wide = wide.select("label", *[pl.col(f).cast(pl.String) for f in MERGED_SCALARS])
    clashing = per_field.filter(pl.col("values").list.len() > 1)
    # "Bob Stone" vs "Robert Stone" says nothing the first_name conflict has not said.
    name_clash = pl.col("field").is_in(["first_name", "last_name"]).any().over("label")
    clashing = clashing.filter(~((pl.col("field") == "full_name") & name_clash))
    clashes = clashing.select(
        "label",
        text=pl.concat_str(
            [
                pl.col("field"),
                pl.lit(": "),
                pl.col("values").list.eval(_quote(pl.element())).list.join(" vs "),
                pl.lit(" (kept "),
                _quote(pl.col("kept")),
                pl.lit(" from "),
                pl.col("kept_source").fill_null("?"),
                pl.lit(" row "),
                pl.col("kept_row").cast(pl.String).fill_null("?"),
                pl.lit(")"),
            ]
        ),
    )
    conflicts = clashes.group_by("label", maintain_order=True).agg(conflicts=pl.col("text"))
    return wide, conflicts


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    generator = importlib.import_module("generate")
    path = tmp_path_factory.mktemp("gen") / "gen-3000.csv"
    generator.write_csv(path, generator.generate(3000, 0.15, 5))
    frame = conform(normalize(read(path, mapping="generic"), region="US")).select(COLUMNS)
    return frame.with_columns(_i=pl.int_range(frame.height, dtype=pl.UInt32))


@pytest.mark.parametrize("company_chance_max", [0.1, 0.005])
def test_candidates_equal_the_unpruned_blocks_on_a_generated_file(
    generated: pl.DataFrame, company_chance_max: float
) -> None:
    opts = Options(company_chance_max=company_chance_max)
    feats = features(generated)
    fast = candidates(feats, opts).sort("a", "b")
    # candidates gives no company block to a record whose own name and company make a
    # coincidence too likely for the company to count (fuzzy_edges' chance)
    freq = _frequencies(feats)
    chance = freq["name_n"].cast(pl.Float64) * freq["company_count"] / generated.height
    common = (chance >= company_chance_max).fill_null(False)
    assert common.sum() > (0 if company_chance_max == 0.1 else 100)
    pruned = feats.with_columns(company_n=pl.when(~common).then("company_n"))
    slow = reference_candidates(pruned, opts).sort("a", "b")
    assert fast.height > 300  # blocks really found pairs
    # candidates leaves out the pairs whose birthdays the veto would reject
    bday = feats.select("bday")
    ends = pl.concat([slow, at(bday, slow["a"], "_a"), at(bday, slow["b"], "_b")], how="horizontal")
    other = ~_birthday_match(pl.col("bday_a"), pl.col("bday_b"))
    assert ends.filter(other.fill_null(False)).height > 0  # there were some (4 of 453)
    assert fast.equals(ends.filter(~other.fill_null(False)).select("a", "b"))


def test_merge_scalars_equals_the_full_computation_on_a_generated_file(
    generated: pl.DataFrame,
) -> None:
    result = dedupe(generated.drop("_i"))
    assert result.merged.height > 300
    matched = _match(generated.drop("_i"), Options())
    members = rank_members(matched.base.filter(pl.col("size") > 1), None)
    wide, conflicts = merge_scalars(members)
    ref_wide, ref_conflicts = reference_merge_scalars(members)
    assert wide.sort("label").equals(ref_wide.sort("label"))
    assert conflicts.sort("label").equals(ref_conflicts.sort("label"))
    assert conflicts.height > 10  # groups whose records disagree were there


def test_a_frame_in_several_chunks_gives_the_same_result(generated: pl.DataFrame) -> None:
    # What dedupe_files builds from several files: columns in several chunks.
    whole = generated.drop("_i")
    pieces = pl.concat(
        [whole.slice(0, 1000), whole.slice(1000, 1500), whole.slice(2500)], rechunk=False
    )
    assert pieces.n_chunks() == 3
    one, many = dedupe(whole), dedupe(pieces)
    assert many.contacts.equals(one.contacts)
    assert many.merged.equals(one.merged)
    assert many.pairs.equals(one.pairs)


def test_score_names_equals_the_join_on_name_texts_on_a_generated_file(
    generated: pl.DataFrame,
) -> None:
    # every candidate pair, each record with the next one (names missing, swapped,
    # nicknames and typos meet here) and each record with itself; every seventh first name
    # and eleventh last name removed, as records without them have
    row = pl.int_range(pl.len())
    feats = features(generated).with_columns(
        fn=pl.when(row % 7 != 3).then("fn"), ln=pl.when(row % 11 != 5).then("ln")
    )
    ids = generated["_i"]
    pairs = pl.concat(
        [
            candidates(feats, Options()),
            pl.DataFrame({"a": ids, "b": ids.shift(-1, fill_value=0)}),
            pl.DataFrame({"a": ids, "b": ids}),
        ]
    )
    fast = score_names(pairs, feats)
    assert fast["name_score"].is_not_null().sum() > 2000
    assert fast["swapped"].any() and fast["nickname"].any()
    assert fast.equals(reference_score_names(pairs, feats))


def test_name_similarities_equal_name_similarity_on_a_generated_file(
    generated: pl.DataFrame,
) -> None:
    # every pairing of name parts of candidate pairs, with multi-word and empty names added:
    # the token comparison runs only on rows with a space or an empty text
    feats = features(generated)
    pairs = candidates(feats, Options())
    names = feats.select("fn", "ln")
    ends = [at(names, pairs[end], f"_{end}") for end in "ab"]
    both = pl.concat(ends, how="horizontal")
    combos = [("fn_a", "fn_b"), ("ln_a", "ln_b"), ("fn_a", "ln_b"), ("ln_a", "fn_b")]
    extra = [("de la cruz", "cruz"), ("", "ann"), ("ann", ""), ("", ""), ("mary ann", "ann")]
    frame = (
        pl.concat(
            [
                *[both.select(x=pl.col(x), y=pl.col(y)) for x, y in combos],
                pl.DataFrame(extra, schema={"x": pl.String, "y": pl.String}, orient="row"),
            ]
        )
        .drop_nulls()
        .unique()
    )
    assert frame.height > 1000
    out = name_similarities(frame)
    expected = [name_similarity(x, y) for x, y in frame.iter_rows()]
    assert out["s"].equals(pl.Series("s", expected, dtype=pl.Float32))
    assert (out["s"] == 0.9).sum() > 0


def test_key_groups_equal_the_counts_they_replaced_on_a_generated_file(
    generated: pl.DataFrame,
) -> None:
    now, before = key_groups_now(generated), reference_key_groups(generated)
    assert now.height > 100 and now["value"].str.ends_with("@gmail.com").any()
    assert now.sort("kind", "value").equals(before.sort("kind", "value"))


def test_key_groups_tell_keys_of_one_hash_apart_by_their_texts() -> None:
    """key_groups groups the keys by their hashes; two texts with one hash (forced here, as
    no 64-bit collision is known) must still be two keys, grouped by their texts."""
    keys = pl.DataFrame(
        {
            "_i": [0, 1, 2, 3, 4, 4, 5],
            "kind": ["email", "email", "email", "email", "phone", "phone", "phone"],
            "value": ["info@a.com", "info@a.com", "x@b.com", "x@b.com", "+1", "+1", "+2"],
            "hash": [7, 7, 7, 7, 9, 9, 9],
        },
        schema={"_i": pl.UInt32, "kind": pl.String, "value": pl.String, "hash": pl.UInt64},
    )
    groups = key_groups(keys).sort("kind", "value")
    assert groups.select("kind", "value", "n", "role").rows() == [
        ("email", "info@a.com", 2, True),
        ("email", "x@b.com", 2, False),
    ]
    assert groups["held_by"].list.sort().to_list() == [[0, 1], [2, 3]]
    # (the same keys with distinct hashes: the same groups)
    distinct = keys.with_columns(hash=pl.col("value").hash()).sort("hash")
    assert key_groups(distinct).sort("kind", "value").drop("held_by").equals(groups.drop("held_by"))


def test_at_gathers_a_sorted_index_chunk_by_chunk_as_a_plain_gather(
    generated: pl.DataFrame,
) -> None:
    whole = generated.select("_i", "emails", "company", "linkedin")
    pieces = pl.concat(
        [whole.slice(0, 700), whole.slice(700, 1600), whole.slice(2300)], rechunk=False
    )
    assert pieces.n_chunks() == 3
    last = whole.height - 1
    # both sides of every cut, repeats, and the first and last record
    edges = [0, 0, 699, 700, 700, 2299, 2300, last, last]
    index = pl.Series(sorted([*edges, *range(3, whole.height, 7)]), dtype=pl.UInt32)
    expected = whole.drop("_i")[index]
    assert at(pieces, index).equals(expected)
    assert at(pieces, index, "_a").columns == ["emails_a", "company_a", "linkedin_a"]
    assert at(pieces, index.clear()).equals(expected.clear())
    # an unsorted index is gathered as it is
    assert at(pieces, index.reverse()).equals(whole.drop("_i")[index.reverse()])


def reference_contacts(base: pl.DataFrame, folded: pl.DataFrame) -> pl.DataFrame:
    """The contacts as they were built: singles and groups interleaved by merge_sorted."""
    from dexio.schema import SCHEMA

    empty = pl.lit([], dtype=pl.List(pl.String))
    singles = base.lazy().filter(pl.col("size") == 1)
    singles = singles.select(
        *COLUMNS, "cluster_id", cluster_size="size", conflicts=empty, label="label"
    )
    groups = (
        folded.lazy()
        .sort("label")
        .select(
            *[pl.col(c).cast(SCHEMA[c]) for c in COLUMNS],
            pl.col("cluster_id").cast(pl.UInt32),
            cluster_size=pl.col("size").cast(pl.UInt32),
            conflicts="conflicts",
            label="label",
        )
    )
    out_cols = [*COLUMNS, "cluster_id", "cluster_size", "conflicts"]
    return singles.merge_sorted(groups, key="label").select(out_cols).collect()


def test_contacts_equal_the_merge_of_singles_and_groups_on_a_generated_file(
    generated: pl.DataFrame,
) -> None:
    from dexio.dedupe import _contacts, _fold

    whole = generated.drop("_i")
    pieces = pl.concat([whole.slice(0, 1000), whole.slice(1000)], rechunk=False)
    for frame in (whole, pieces):
        matched = _match(frame, Options())
        folded = _fold(matched, None)[0]
        contacts = _contacts(matched.base, folded)
        assert contacts.equals(reference_contacts(matched.base, folded))
        assert (contacts["cluster_size"] > 1).sum() == folded.height > 300
        assert contacts["conflicts"].list.len().sum() > 10


def test_united_lists_ranked_per_item_equal_the_list_eval_rerank_on_a_generated_file(
    generated: pl.DataFrame,
) -> None:
    from dexio.dedupe._survivorship import _union

    matched = _match(generated.drop("_i"), Options())
    members = rank_members(matched.base.filter(pl.col("size") > 1), None)
    ranks = {
        "emails": ("email", "label"),
        "phones": ("phone_number", "country_code", "phone_number_sanitized", "label"),
    }
    for column, fields in ranks.items():
        key = pl.col(column).struct.field(fields[0])
        order = [pl.col(column).struct.field("ranking")]
        fast = _union(members, column, key, order, ranked=fields)
        # as merge_lists re-ranked the united lists before: list.eval over each list
        slow = _union(members, column, key, order).with_columns(
            pl.col(column).list.eval(
                pl.struct(
                    *[pl.element().struct.field(f) for f in fields],
                    ranking=pl.int_range(1, pl.len() + 1, dtype=pl.Int32),
                )
            )
        )
        assert fast.equals(slow)
        assert (fast[column].list.len() > 1).sum() > 5  # lists of two or more were re-ranked


def reference_combine(raw: pl.DataFrame) -> pl.DataFrame:
    """_combine as it was: a window over the pairs, unique, and a group_by of every pair."""
    from dexio.dedupe._matching import PRIORITY

    return (
        raw.with_columns(
            prio=pl.col("kind").replace_strict(PRIORITY, return_dtype=pl.Int8),
            a=pl.min_horizontal("a", "b"),
            b=pl.max_horizontal("a", "b"),
        )
        .sort("a", "b", "prio", "reason")
        .filter(
            (pl.col("kind") != "fuzzy") | (pl.col("prio").min().over("a", "b") == pl.col("prio"))
        )
        .unique(["a", "b", "reason"], keep="first", maintain_order=True)
        .group_by("a", "b", maintain_order=True)
        .agg(
            kind=pl.col("kind").first(),
            prio=pl.col("prio").first(),
            score=pl.col("score").max(),
            reason=pl.col("reason").str.join("; "),
        )
    )


def test_combined_links_equal_the_group_by_of_every_pair_on_a_generated_file(
    generated: pl.DataFrame,
) -> None:
    from dexio.dedupe import _combine
    from dexio.dedupe._matching import EDGE_SCHEMA, exact_edges, fuzzy_edges

    opts = Options()
    feats = features(generated)
    exact = exact_edges(generated, feats, opts)
    fuzzy = fuzzy_edges(generated, feats, opts, exact.same_name, exact.shared_keys)
    # Both orientations, repeated reasons and a fuzzy link next to an exact one.
    made = pl.DataFrame(
        [
            (5, 3, "email", None, "same email x@y.com"),
            (3, 5, "email", None, "same email x@y.com"),
            (3, 5, "phone", None, "same phone +1555 + name match"),
            (3, 5, "fuzzy", 0.95, "name ~0.95 + same company Acme"),
            (7, 9, "fuzzy", 0.91, "name ~0.91 + same birthday --01-02"),
            (9, 7, "fuzzy", 0.93, "name ~0.93 + same birthday --01-02"),
        ],
        schema=EDGE_SCHEMA,
        orient="row",
    )
    for raw in (pl.concat([exact.accepted, fuzzy]), made, made.clear()):
        assert _combine(raw).equals(reference_combine(raw))
    combined = _combine(pl.concat([exact.accepted, fuzzy, fuzzy]))
    assert combined.height > 300 and combined["reason"].str.contains("; ").any()


@pytest.mark.parametrize("fuzzy", [True, False])
def test_fuzzy_links_from_candidates_found_apart_equal_those_found_inline(
    generated: pl.DataFrame, fuzzy: bool
) -> None:
    # _match finds the candidates in a thread while exact_edges runs, then hands them over.
    from dexio.dedupe._matching import exact_edges, fuzzy_candidates, fuzzy_edges

    opts = Options(fuzzy=fuzzy)
    feats = features(generated)
    exact = exact_edges(generated, feats, opts)
    linked = exact.accepted.select("a", "b").unique()
    args = (generated, feats, opts, exact.same_name, exact.shared_keys, linked)
    found = fuzzy_candidates(feats, opts)
    assert found.pairs.height == (candidates(feats, opts).height if fuzzy else 0)
    inline = fuzzy_edges(*args)
    assert inline.height > 0 or not fuzzy
    assert_frame_equal(fuzzy_edges(*args, found).sort("a", "b"), inline.sort("a", "b"))


@pytest.mark.parametrize("shared_key_size", [8, 2])
def test_exact_links_from_key_groups_found_apart_equal_those_found_inline(
    generated: pl.DataFrame, shared_key_size: int
) -> None:
    # _match groups the exact keys in a thread while the features are found, then hands
    # the groups over.
    from dexio.dedupe._matching import exact_edges

    opts = Options(shared_key_size=shared_key_size)
    feats = features(generated)
    inline = exact_edges(generated, feats, opts)
    apart = exact_edges(generated, feats, opts, key_groups(exact_keys(generated)))
    assert inline.accepted.height > 0 and inline.shared_keys.height > 0
    for field in dataclasses.fields(inline):
        now, before = getattr(apart, field.name), getattr(inline, field.name)
        # (rows come in the order of key_groups' group_by, which varies from call to call)
        order = [name for name, dtype in now.schema.items() if not dtype.is_nested()]
        assert_frame_equal(now.sort(order), before.sort(order))
