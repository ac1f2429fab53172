"""Find the records that are the same person, fold each group into one contact, say why.

:func:`dedupe` takes a normalized canonical frame and returns a :class:`Dedupe`: one row per
person (``contacts``), one row per record folded into another (``merged``, with a
``merge_reason`` a person can check), and the evidence (``pairs``). Nothing is lost:
``len(contacts) + len(merged) == len(input)``. :func:`find_duplicates` is the proposal
part alone (groups, proposed survivor, reasons), for reviewing duplicates already in Dex.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from dexio.dedupe._clusters import cluster_columns, components, split_contradictions
from dexio.dedupe._features import features
from dexio.dedupe._matching import (
    PRIORITY,
    Options,
    contradictions,
    exact_edges,
    exact_keys,
    fuzzy_candidates,
    fuzzy_edges,
    key_groups,
)
from dexio.dedupe._survivorship import (
    merge_extra,
    merge_lists,
    merge_scalars,
    rank_members,
)
from dexio.schema import COLUMNS, SCHEMA, conform

__all__ = ["Dedupe", "Options", "dedupe", "dedupe_files", "find_duplicates"]


#: Clusters up to this size are checked pair by pair for members that contradict each other.
_MAX_CHECKED_CLUSTER = 200


@dataclass(frozen=True)
class Dedupe:
    """The result of :func:`dedupe`.

    ``contacts``: one row per person, the canonical columns of the survivor record (its
    ``source``/``row``) with everything merged in, plus ``cluster_id`` (UInt32),
    ``cluster_size`` and ``conflicts`` (list of "field: 'a' vs 'b' (kept 'a' from f row n)").
    ``merged``: one row per record folded into another: ``source``, ``row``, ``cluster_id``,
    ``survivor_source``, ``survivor_row``, ``merge_reason``, ``full_name``, ``emails``,
    ``phones``. ``clusters``: every record of every group of two or more, survivor first,
    for review. ``pairs``: every link found (``merged`` true) and every link refused by a
    guard rail (``merged`` false), with its reason. ``shared_keys``: e-mails and phones held
    by many records or role mailboxes, which link only records with the same name.
    """

    contacts: pl.DataFrame
    merged: pl.DataFrame
    clusters: pl.DataFrame
    pairs: pl.DataFrame
    shared_keys: pl.DataFrame = field(repr=False)

    def summary(self) -> dict[str, int]:
        """Counts for the end-of-run table: they add up (contacts + merged = records)."""
        kinds = self.merged["merge_reason"].str.extract(r"^(same \w+|name)", 1)
        by_kind = {
            "merged_by_email": int((kinds == "same email").sum()),
            "merged_by_phone": int((kinds == "same phone").sum()),
            "merged_by_linkedin": int((kinds == "same LinkedIn").sum()),
            "merged_by_name": int((kinds == "name").sum()),
        }
        return {
            "records": self.contacts.height + self.merged.height,
            "contacts": self.contacts.height,
            "groups_with_duplicates": int((self.contacts["cluster_size"] > 1).sum()),
            "merged": self.merged.height,
            **by_kind,
            "contacts_with_conflicts": int((self.contacts["conflicts"].list.len() > 0).sum()),
            "links_refused": int((~self.pairs["merged"]).sum()),
            "shared_keys": self.shared_keys.height,
        }

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write the review files into ``out_dir`` (created if needed); return their paths.

        ``clusters.csv`` (every group, survivor first, with reasons and conflicts),
        ``merged-contacts.csv`` (one row per person, lists joined with "; ") and
        ``merged-contacts.jsonl`` (the same, lossless), ``reasons.csv`` (every link and
        every refused link), ``shared-keys.csv`` (keys that are not identity).
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "clusters": out / "clusters.csv",
            "contacts_csv": out / "merged-contacts.csv",
            "contacts_jsonl": out / "merged-contacts.jsonl",
            "reasons": out / "reasons.csv",
            "shared": out / "shared-keys.csv",
        }
        _flat(self.clusters).write_csv(paths["clusters"])
        _flat(self.contacts).write_csv(paths["contacts_csv"])
        self.contacts.write_ndjson(paths["contacts_jsonl"])
        self.pairs.write_csv(paths["reasons"])
        self.shared_keys.write_csv(paths["shared"])
        return list(paths.values())


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists as readable text for CSV: "a@x.com; b@y.com", notes joined with " | "."""
    exprs: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if name == "emails" and isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
            exprs.append(col.list.eval(pl.element().struct.field("email")).list.join("; "))
        elif name == "phones" and isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
            exprs.append(
                col.list.eval(
                    pl.coalesce(
                        pl.element().struct.field("phone_number_sanitized"),
                        pl.element().struct.field("phone_number"),
                    )
                ).list.join("; ")
            )
        elif name == "notes" and isinstance(dtype, pl.List):
            exprs.append(col.list.eval(pl.element().struct.field("body")).list.join(" | "))
        elif name == "reminders" and isinstance(dtype, pl.List):
            exprs.append(col.list.eval(pl.element().struct.field("text")).list.join(" | "))
        elif isinstance(dtype, pl.List):
            exprs.append(col.list.join("; "))
        else:
            exprs.append(col)
    return frame.select(exprs)


@dataclass(frozen=True)
class _Matched:
    base: pl.DataFrame  # canonical columns + _i + label + size
    edges: pl.DataFrame  # accepted links a<b, combined reasons
    refused: pl.DataFrame
    shared_keys: pl.DataFrame


def _like(frame: pl.DataFrame, columns: pl.DataFrame) -> pl.DataFrame:
    """``columns`` (as many rows as ``frame``) cut into the chunks of ``frame``'s columns.

    A frame read from several files (or pieces) holds its columns in several chunks; a new
    column in one chunk next to them makes polars rechunk, that is copy, every column of
    the records the next time they are used together (+450 MB at 1M rows). Slices are
    views, so this costs nothing.
    """
    if frame.width == 0 or frame.n_chunks() <= 1:
        return columns
    pieces, start = [], 0
    for chunk in frame.to_series(0).get_chunks():
        pieces.append(columns.slice(start, len(chunk)))
        start += len(chunk)
    return pl.concat(pieces, rechunk=False)


def _combine(raw: pl.DataFrame) -> pl.DataFrame:
    """One link per pair of records (``a`` < ``b``): the kind and priority of its strongest
    reason, its best score, and its distinct reasons joined by "; " (strongest first)."""
    ordered = raw.with_columns(
        prio=pl.col("kind").replace_strict(PRIORITY, return_dtype=pl.Int8),
        a=pl.min_horizontal("a", "b"),
        b=pl.max_horizontal("a", "b"),
    ).sort("a", "b", "prio", "reason")  # reason: the same text every run
    # Rows of one pair are together, strongest first: a row compares itself with its
    # neighbours instead of a window or a hash over the pairs.
    same_pair = pl.col("a").eq_missing(pl.col("a").shift()) & pl.col("b").eq_missing(
        pl.col("b").shift()
    )
    next_same = pl.col("a").eq_missing(pl.col("a").shift(-1)) & pl.col("b").eq_missing(
        pl.col("b").shift(-1)
    )
    best = pl.when(~same_pair).then(pl.col("prio")).forward_fill()
    # A name comparison adds nothing to an exact key between the same two records.
    kept = ordered.filter((pl.col("kind") != "fuzzy") | (best == pl.col("prio")))
    # A repeated reason is the same kind, so the same priority: it follows its first copy.
    kept = kept.filter(~(same_pair & pl.col("reason").eq_missing(pl.col("reason").shift())))
    kept = kept.with_columns(_alone=~same_pair & ~next_same)
    # Most pairs have one reason: only the others are aggregated.
    several = (
        kept.filter(~pl.col("_alone"))
        .group_by("a", "b", maintain_order=True)
        .agg(
            kind=pl.col("kind").first(),
            prio=pl.col("prio").first(),
            score=pl.col("score").max(),
            reason=pl.col("reason").str.join("; "),
        )
    )
    alone = kept.filter("_alone").select(several.columns)
    return pl.concat([alone, several]).sort("a", "b")


def _match(frame: pl.DataFrame, opts: Options) -> _Matched:
    base = conform(frame).select(COLUMNS)
    ids = pl.DataFrame({"_i": pl.int_range(base.height, dtype=pl.UInt32, eager=True)})
    base = base.hstack(_like(base, ids))
    # The exact keys' groups need the records alone, the exact links and the fuzzy
    # candidates the features too; each keeps about one core busy: found in a second thread
    # (polars works without the GIL) beside the features, then the exact links, they use
    # two. The worker runs its two jobs in turn; result() raises here an error of either.
    with ThreadPoolExecutor(max_workers=1) as pool:
        grouping = pool.submit(lambda: key_groups(exact_keys(base)))
        feats = features(base)
        finding = pool.submit(fuzzy_candidates, feats, opts)
        exact = exact_edges(base, feats, opts, grouping.result())
        found = finding.result()
    linked = exact.accepted.select("a", "b").unique()  # a < b, as fuzzy candidates
    fuzzy = fuzzy_edges(base, feats, opts, exact.same_name, exact.shared_keys, linked, found)
    raw = pl.concat([exact.accepted, fuzzy])
    refused, shared = exact.refused, exact.shared_keys
    edges = _combine(raw)
    labels = components(base.height, edges)
    # Clusters of three or more may hold two people joined through a third record.
    sizes = cluster_columns(labels["label"])["size"]
    big = labels.filter(sizes.is_between(3, _MAX_CHECKED_CLUSTER))
    inside = (
        big.join(big, on="label", suffix="_b")
        .filter(pl.col("_i") < pl.col("_i_b"))
        .select(a="_i", b="_i_b")
        .join(edges.select("a", "b"), on=["a", "b"], how="anti")  # a direct link was checked
    )
    labels, cut = split_contradictions(labels, edges, contradictions(inside, base, feats))
    if cut.height:
        edges = edges.join(cut, on=["a", "b"], how="anti")
        refused = pl.concat(
            [
                refused,
                cut.select(
                    "a",
                    "b",
                    "kind",
                    "score",
                    reason=pl.concat_str(
                        [
                            pl.lit("not merged: "),
                            pl.col("reason"),
                            pl.lit(", but it would join records that contradict each other"),
                        ]
                    ),
                ).cast(refused.schema),  # type: ignore[arg-type]
            ]
        )
    # New columns on the records without copying them: labels are in ``_i`` order.
    base = base.hstack(_like(base, cluster_columns(labels["label"])))
    return _Matched(base, edges, refused, shared)


def _display_name() -> pl.Expr:
    built = pl.concat_str(
        [pl.col("first_name").fill_null(""), pl.col("last_name").fill_null("")], separator=" "
    ).str.strip_chars()
    return pl.coalesce(pl.col("full_name"), pl.when(built != "").then(built))


def _reasons(base: pl.DataFrame, members: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """``_i`` of each non-survivor -> the link that explains it (to the survivor if any)."""
    # Records are found by position (``_i`` is the row number of ``base``): each end's
    # label, its label's survivor and the other end's source and row are gathers, not
    # joins that hash every end.
    survivor = members.select("label", "_i").filter(members["mrank"] == 0)
    survivor_of = pl.zeros(base.height, dtype=pl.UInt32, eager=True).scatter(
        survivor["label"], survivor["_i"]
    )
    ends = pl.concat(
        [
            edges.select(x="a", other="b", prio="prio", reason="reason"),
            edges.select(x="b", other="a", prio="prio", reason="reason"),
        ]
    )
    s_i = survivor_of.gather(base["label"].gather(ends["x"]))
    ends = (
        ends.with_columns(direct=pl.col("other") != s_i)
        .sort("x", "direct", "prio")
        .unique("x", keep="first")
    )
    ends = ends.with_columns(
        o_src=base["source"].gather(ends["other"]), o_row=base["row"].gather(ends["other"])
    )
    return ends.select(
        _i="x",
        merge_reason=pl.when(pl.col("direct"))
        .then(
            pl.concat_str(
                [
                    pl.col("reason"),
                    pl.lit(" (via "),
                    pl.col("o_src").fill_null("?"),
                    pl.lit(" row "),
                    pl.col("o_row").cast(pl.String).fill_null("?"),
                    pl.lit(")"),
                ]
            )
        )
        .otherwise(pl.col("reason")),
    )


def _review_lists() -> list[pl.Expr]:
    return [
        pl.col("emails").list.eval(pl.element().struct.field("email")).alias("emails"),
        pl.col("phones")
        .list.eval(
            pl.coalesce(
                pl.element().struct.field("phone_number_sanitized"),
                pl.element().struct.field("phone_number"),
            )
        )
        .alias("phones"),
    ]


def _groups(matched: _Matched, trust: Sequence[str] | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(ranked members of every group of two or more, review table of those groups)."""
    # (a gather from the records leaves the members in one piece: sorting or joining a list
    # column held in pieces costs 20x more than in one)
    members = rank_members(matched.base, trust, where=pl.col("size") > 1)
    reasons = _reasons(matched.base, members, matched.edges)
    # Each reason goes to its member's row, found by position too: a join of the members
    # hashes them and copies every column they carry (1M rows: 0.09 -> 0.02 CPU s).
    row_of = pl.zeros(matched.base.height, dtype=pl.UInt32, eager=True).scatter(
        members["_i"], pl.int_range(members.height, dtype=pl.UInt32, eager=True)
    )
    merge_reason = pl.repeat(None, members.height, dtype=pl.String, eager=True).scatter(
        row_of.gather(reasons["_i"]), reasons["merge_reason"]
    )
    members = members.with_columns(merge_reason.alias("merge_reason"))
    is_survivor = pl.col("mrank") == 0
    # (the columns it shows first: a sort copies every column it carries)
    review = members.select(
        pl.col("cluster_id"),
        pl.col("size").alias("cluster_size"),
        pl.when(is_survivor).then(pl.lit("survivor")).otherwise(pl.lit("merged")).alias("role"),
        pl.col("source"),
        pl.col("row"),
        pl.col("source_id"),
        _display_name().alias("full_name"),
        pl.col("company"),
        *_review_lists(),
        pl.when(~is_survivor).then(pl.col("merge_reason")).alias("merge_reason"),
        pl.col("mrank"),
    )
    return members, review.sort("cluster_id", "mrank").drop("mrank")


def find_duplicates(
    frame: pl.DataFrame, *, trust: Sequence[str] | None = None, options: Options | None = None
) -> pl.DataFrame:
    """The proposed groups without merging them: one row per record in a group of two or more.

    Columns: ``cluster_id``, ``cluster_size``, ``role`` ("survivor" or "merged"),
    ``source``, ``row``, ``source_id``, ``full_name``, ``company``, ``emails``, ``phones``,
    ``merge_reason`` (null for the survivor). Same engine and thresholds as :func:`dedupe`.
    """
    matched = _match(frame, options or Options())
    return _groups(matched, trust)[1]


def dedupe(
    frame: pl.DataFrame,
    *,
    trust: Sequence[str] | None = None,
    fuzzy: bool = True,
    options: Options | None = None,
) -> Dedupe:
    """Fold duplicate records of a normalized canonical frame into one contact per person.

    ``trust`` lists sources (file names as in the ``source`` column, or their base names)
    from most to least trusted: the survivor of a group comes from the most trusted source,
    then the most complete record. ``fuzzy=False`` links on exact keys only.
    """
    opts = options or Options()
    if not fuzzy:
        opts = Options(**{**opts.__dict__, "fuzzy": False})
    matched = _match(frame, opts)
    # The review of the links needs only the links and a few columns of the records: it is
    # built in a second thread while the groups are folded (polars leaves the GIL during
    # its work, and the fold keeps only part of two cores busy).
    with ThreadPoolExecutor(max_workers=1) as pool:
        reviewing = pool.submit(_pairs, matched.base, matched)
        # The group members and what was worked out from them are gone (they are returned
        # from a function) before the contacts, a copy of every record, are built.
        folded, merged, review = _fold(matched, trust)
        contacts = _contacts(matched.base, folded)
        pairs = reviewing.result()
    conflicts_by_cluster = folded.select(pl.col("cluster_id").cast(pl.UInt32), "conflicts")
    review = review.join(conflicts_by_cluster, on="cluster_id", how="left").with_columns(
        conflicts=pl.when(pl.col("role") == "survivor")
        .then(pl.col("conflicts"))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
    )
    return Dedupe(contacts, merged, review, pairs, matched.shared_keys)


def _fold(
    matched: _Matched, trust: Sequence[str] | None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(one folded row per group, the ``merged`` table, the review table)."""
    members, review = _groups(matched, trust)
    # The scalar fields and the lists are merged from the same members, apart: in two
    # threads.
    with ThreadPoolExecutor(max_workers=1) as pool:
        merging = pool.submit(merge_scalars, members)
        lists = merge_lists(members)
        extra = merge_extra(members)
        scalars, conflicts = merging.result()
    first_extra = (
        members.select("label", "mrank", "extra")
        .drop_nulls("extra")
        .sort("label", "mrank")
        .unique("label", keep="first", maintain_order=True)
        .select("label", extra_one="extra")
    )
    survivors = members.select(
        "label", "_i", "source", "row", "source_id", "size", "cluster_id", "mrank"
    ).filter(pl.col("mrank") == 0)
    folded = (
        survivors.join(scalars, on="label", how="left")
        .join(lists, on="label", how="left")
        .join(extra, on="label", how="left")
        .join(first_extra, on="label", how="left")
        .join(conflicts, on="label", how="left")
        .with_columns(
            extra=pl.coalesce("extra", "extra_one"),
            conflicts=pl.col("conflicts").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
    )
    surv = survivors.select("label", survivor_source="source", survivor_row="row")
    merged = (
        # only the columns it shows: filter, join and sort copy what they carry
        members.select(
            "_i",
            "label",
            "mrank",
            "source",
            "row",
            "cluster_id",
            "merge_reason",
            "full_name",
            "first_name",
            "last_name",
            "emails",
            "phones",
        )
        .filter(pl.col("mrank") > 0)
        .join(surv, on="label")
        .sort("_i")
        .select(
            pl.col("source"),
            pl.col("row"),
            pl.col("cluster_id"),
            pl.col("survivor_source"),
            pl.col("survivor_row"),
            pl.col("merge_reason"),
            _display_name().alias("full_name"),
            *_review_lists(),
        )
    )
    return folded, merged, review


def _contacts(base: pl.DataFrame, folded: pl.DataFrame) -> pl.DataFrame:
    """One row per person in label order (a group sits where its first record was): single
    records straight from ``base``, groups from ``folded``."""
    groups = folded.sort("label").select(
        *[pl.col(c).cast(SCHEMA[c]) for c in COLUMNS],
        pl.col("cluster_id").cast(pl.UInt32),
        cluster_size=pl.col("size").cast(pl.UInt32),
        conflicts="conflicts",
    )
    # Each contact is a row of one column of the records with the groups' rows after them:
    # a single record's own row, or its group's. (The first record of a group holds the
    # group's label, so the rows whose label is their own index are the contacts, in
    # order.)
    n = base.height
    is_group = pl.col("size") > 1
    firsts = base.select("_i", "label", "size").filter(pl.col("label") == pl.col("_i"))
    at = firsts.select(
        pl.when(is_group).then(n + is_group.cum_sum() - 1).otherwise("_i").cast(pl.UInt32)
    ).to_series()
    tops = [*(base[c] for c in COLUMNS), base["cluster_id"], base["size"]]

    def column(top: pl.Series, name: str) -> pl.Series:
        # One column at a time, in one piece: a gather from a list column in pieces costs
        # 20x more, and a concat + sort (or merge_sorted) of the whole frames holds a
        # second copy of every record while the contacts are built.
        whole = pl.concat([top.alias(name), groups[name]]).rechunk()
        return whole.gather(at)

    # Two columns at a time, one per core (a gather is one core's work).
    with ThreadPoolExecutor(max_workers=2) as pool:
        columns = list(pool.map(column, tops, [*COLUMNS, "cluster_id", "cluster_size"]))
    # (singles have no conflicts: one empty list stands before the groups' conflicts; in
    # one piece too, 1M rows: 0.15 -> 0.02 CPU s)
    none = pl.Series("conflicts", [[]], dtype=pl.List(pl.String))
    conflicts_at = firsts.select(pl.when(is_group).then(is_group.cum_sum()).otherwise(0))
    columns.append(
        pl.concat([none, groups["conflicts"]], rechunk=True).gather(
            conflicts_at.to_series().cast(pl.UInt32)
        )
    )
    return pl.DataFrame(columns)


def _pairs(base: pl.DataFrame, matched: _Matched) -> pl.DataFrame:
    links = pl.concat(
        [
            matched.edges.select("a", "b", "kind", "score", "reason", merged=pl.lit(True)),
            matched.refused.select("a", "b", "kind", "score", "reason", merged=pl.lit(False)),
        ]
    )
    ends = pl.concat([links["a"], links["b"]]).unique().sort()
    # Records are found by position (``_i`` is the row number): a gather, not a semi join
    # that hashes every record.
    shown = base.select("_i", "source", "row", "cluster_id", "first_name", "last_name", "full_name")
    who = shown[ends].select("_i", "source", "row", "cluster_id", name=_display_name())
    a = who.rename(lambda c: f"{c}_a" if c != "_i" else "a")
    b = who.rename(lambda c: f"{c}_b" if c != "_i" else "b")
    out = links.join(a, on="a").join(b, on="b")
    return out.sort("cluster_id_a", "a", "b", "merged", "kind", "reason").select(
        cluster_id=pl.when(pl.col("merged")).then(pl.col("cluster_id_a")),
        merged="merged",
        kind="kind",
        score=pl.col("score").round(3),
        reason="reason",
        source_a="source_a",
        row_a="row_a",
        name_a="name_a",
        source_b="source_b",
        row_b="row_b",
        name_b="name_b",
    )


def dedupe_files(
    paths: Sequence[str | Path],
    *,
    mapping: Any = None,
    region: str | None = None,
    trust: Sequence[str] | None = None,
    fuzzy: bool = True,
) -> Dedupe:
    """``dexio dedupe FILE...`` as a library call: read every file, normalize, dedupe.

    ``mapping`` applies to every file (a name, a TOML path or a :class:`dexio.Mapping`;
    by default each file's mapping is chosen from its header); ``region`` is how phone
    numbers without a country code are read. Touches no API.
    """
    from dexio.normalize import normalize
    from dexio.readers import read

    frames = [conform(read(path, mapping=mapping)) for path in paths]
    frame = pl.concat(frames, how="vertical_relaxed") if frames else conform(pl.DataFrame())
    return dedupe(normalize(frame, region=region), trust=trust, fuzzy=fuzzy)
