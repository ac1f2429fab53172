"""dexio.dedupe: who is merged, who is not, why, and what the merged contact holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dexio import Dedupe, dedupe, find_duplicates
from dexio.schema import COLUMNS, SCHEMA, from_records


def emails(*addresses: str) -> list[dict[str, Any]]:
    return [{"email": a, "label": "work", "ranking": i + 1} for i, a in enumerate(addresses)]


def phones(*numbers: str) -> list[dict[str, Any]]:
    return [
        {
            "phone_number": n,
            "country_code": "1",
            "phone_number_sanitized": n,
            "label": "mobile",
            "ranking": i + 1,
        }
        for i, n in enumerate(numbers)
    ]


def person(source: str, row: int, first: str | None, last: str | None, **fields: Any) -> dict:
    return {"source": source, "row": row, "first_name": first, "last_name": last, **fields}


def run(*records: dict, **options: Any) -> Dedupe:
    return dedupe(from_records(list(records)), **options)


def groups(result: Dedupe) -> set[frozenset[tuple[str, int]]]:
    """The clusters of two or more records, as sets of (source, row)."""
    out: dict[int, set[tuple[str, int]]] = {}
    for cid, src, row in result.clusters.select("cluster_id", "source", "row").iter_rows():
        out.setdefault(cid, set()).add((src, row))
    return {frozenset(v) for v in out.values()}


def reason_of(result: Dedupe, source: str, row: int) -> str:
    hit = result.merged.filter((pl.col("source") == source) & (pl.col("row") == row))
    assert hit.height == 1, f"{source} row {row} was not merged"
    return hit["merge_reason"][0]


def test_same_email_in_other_case_is_one_person_with_a_reason() -> None:
    result = run(
        person("a.csv", 1, "Ana", "Lopez", emails=emails("ana@x.com")),
        person("b.csv", 4, "Ana", "López", emails=emails("Ana@X.com")),
        person("b.csv", 5, "Ben", "Ode", emails=emails("ben@x.com")),
    )
    assert groups(result) == {frozenset({("a.csv", 1), ("b.csv", 4)})}
    assert reason_of(result, "b.csv", 4) == "same email ana@x.com"
    assert result.contacts.height == 2
    survivor = result.merged.row(0, named=True)
    assert (survivor["survivor_source"], survivor["survivor_row"]) == ("a.csv", 1)


def test_links_are_transitive_email_then_phone() -> None:
    result = run(
        person("a.csv", 1, "Ana", "Lopez", emails=emails("ana@x.com")),
        person(
            "a.csv", 2, "Ana", "Lopez", emails=emails("ana@x.com"), phones=phones("+14155550100")
        ),
        person("a.csv", 3, "Ana", "Lopez", phones=phones("+14155550100")),
    )
    assert groups(result) == {frozenset({("a.csv", 1), ("a.csv", 2), ("a.csv", 3)})}
    assert result.contacts["cluster_size"].to_list() == [3]
    assert reason_of(result, "a.csv", 3).startswith("same phone +14155550100 + name match")


def test_family_email_with_different_first_names_is_not_one_person() -> None:
    result = run(
        person("f.csv", 1, "John", "Smith", emails=emails("smithfamily@gmail.com")),
        person("f.csv", 2, "Jane", "Smith", emails=emails("smithfamily@gmail.com")),
        person("f.csv", 3, "Jon", "Smith", emails=emails("smithfamily@gmail.com")),
    )
    # John and Jon (a typo) are one person; Jane stays herself.
    assert groups(result) == {frozenset({("f.csv", 1), ("f.csv", 3)})}
    refused = result.pairs.filter(~pl.col("merged"))
    assert refused.height == 2
    assert all("names differ" in r for r in refused["reason"])


def test_nameless_record_does_not_bridge_two_people_sharing_an_address() -> None:
    result = run(
        person("f.csv", 1, "John", "Smith", emails=emails("home@smiths.net")),
        person("f.csv", 2, "Jane", "Smith", emails=emails("home@smiths.net")),
        person("f.csv", 3, None, None, emails=emails("home@smiths.net")),
    )
    assert groups(result) == set()
    assert result.contacts.height == 3


def test_a_chain_through_a_nameless_record_does_not_join_two_people() -> None:
    result = run(
        person("a.csv", 1, "John", "Smith", emails=emails("john@smith.net")),
        person(
            "a.csv", 2, None, None, emails=emails("john@smith.net"), phones=phones("+14155550100")
        ),
        person("a.csv", 3, "Jane", "Smith", phones=phones("+14155550100")),
    )
    # The e-mail link is the stronger one and is kept; the phone link would put John and
    # Jane together, so it is refused and listed.
    assert groups(result) == {frozenset({("a.csv", 1), ("a.csv", 2)})}
    refused = result.pairs.filter(~pl.col("merged"))["reason"].to_list()
    assert refused == [
        "not merged: same phone +14155550100, but it would join records that contradict each other"
    ]


def test_switchboard_phone_links_only_records_with_the_same_name() -> None:
    names = ["Amy", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ivy", "Jo"]
    records = [
        person("crm.csv", i + 1, n, "Worker", company="Acme", phones=phones("+14155550000"))
        for i, n in enumerate(names)
    ]
    records.append(person("crm.csv", 11, "Amy", "Worker", phones=phones("+14155550000")))
    result = run(*records)
    assert groups(result) == {frozenset({("crm.csv", 1), ("crm.csv", 11)})}
    assert reason_of(result, "crm.csv", 11) == (
        "name ~1.00 + same phone +14155550000 (shared by 11 records)"
    )
    assert result.shared_keys.row(0, named=True) == {
        "kind": "phone",
        "value": "+14155550000",
        "records": 11,
    }


def test_role_mailbox_never_links_a_record_without_a_name() -> None:
    result = run(
        person("a.csv", 1, "Kim", "Park", emails=emails("info@studio.com")),
        person("a.csv", 2, None, None, company="Studio", emails=emails("info@studio.com")),
    )
    assert groups(result) == set()


def test_nickname_and_same_company_merge_with_a_readable_reason() -> None:
    result = run(
        person("a.csv", 1, "Robert", "Stone", company="Acme Inc.", emails=emails("r@acme.com")),
        person("b.csv", 1, "Bob", "Stone", company="ACME", phones=phones("+14155550199")),
    )
    assert groups(result) == {frozenset({("a.csv", 1), ("b.csv", 1)})}
    reason = reason_of(result, "b.csv", 1)
    assert reason.startswith("name ~0.9")
    assert "(nickname)" in reason
    assert reason.endswith("same company Acme Inc.")


def test_a_name_alone_never_merges() -> None:
    result = run(
        person("a.csv", 1, "Maria", "Garcia", emails=emails("maria@one.com")),
        person("b.csv", 1, "Maria", "Garcia", emails=emails("mg@two.com")),
    )
    assert groups(result) == set()


def test_swapped_names_with_the_same_birthday_merge() -> None:
    result = run(
        person("a.csv", 1, "Wen", "Zhao", birthday="1990-04-12"),
        person("b.csv", 1, "Zhao", "Wen", birthday="--04-12"),
    )
    assert groups(result) == {frozenset({("a.csv", 1), ("b.csv", 1)})}
    assert "swapped" in reason_of(result, "b.csv", 1)
    # The birthday with a year is kept, and the two do not count as a conflict.
    contact = result.contacts.row(0, named=True)
    assert contact["birthday"] == "1990-04-12"
    assert not any(c.startswith("birthday") for c in contact["conflicts"])


def test_different_birthdays_veto_a_fuzzy_match() -> None:
    result = run(
        person("a.csv", 1, "Tom", "Reed", company="Acme", birthday="1980-01-01"),
        person("b.csv", 1, "Thomas", "Reed", company="Acme", birthday="1975-06-30"),
    )
    assert groups(result) == set()


def test_typo_in_the_name_with_a_distinctive_email_user_merges() -> None:
    result = run(
        person("a.csv", 1, "Jonathan", "Whitaker", emails=emails("sparrow.jw@gmail.com")),
        person("b.csv", 1, "Jonathon", "Whitaker", emails=emails("sparrowjw@acme.com")),
    )
    assert groups(result) == {frozenset({("a.csv", 1), ("b.csv", 1)})}
    assert reason_of(result, "b.csv", 1) == "name ~0.98 + same email user sparrowjw"


def test_an_email_user_made_of_the_name_is_no_evidence() -> None:
    # Two different Mark Smiths are both "marksmith" somewhere, and "msmith" elsewhere.
    result = run(
        person("a.csv", 1, "Mark", "Smith", emails=emails("mark.smith@gmail.com")),
        person("b.csv", 1, "Mark", "Smith", emails=emails("marksmith@yahoo.com")),
        person("b.csv", 2, "Mark", "Smith", emails=emails("msmith@acme.com")),
        person("b.csv", 3, "Mark", "Smith", emails=emails("m.smith@other.org")),
    )
    assert groups(result) == set()


def test_gmail_ignores_dots_and_plus_tags() -> None:
    result = run(
        person("a.csv", 1, "Ana", "Lopez", emails=emails("ana.lopez@gmail.com")),
        person("b.csv", 1, "Ana", "Lopez", emails=emails("AnaLopez+news@googlemail.com")),
        person("b.csv", 2, "Ana", "Lopez", emails=emails("ana.lopez@outlook.com")),
        person("b.csv", 3, "Ana", "Lopez", emails=emails("analopez@outlook.com")),
    )
    # Outlook does not ignore dots: those two stay apart (no other evidence).
    assert groups(result) == {frozenset({("a.csv", 1), ("b.csv", 1)})}
    assert reason_of(result, "b.csv", 1) == "same email analopez@gmail.com"


def test_same_name_at_one_company_with_different_mobiles_or_cities_is_two_people() -> None:
    by_phone = run(
        person("a.csv", 1, "James", "Smith", company="Acme", phones=phones("+14155550101")),
        person("b.csv", 1, "James", "Smith", company="Acme", phones=phones("+14155550102")),
    )
    assert groups(by_phone) == set()
    by_city = run(
        person("a.csv", 1, "James", "Smith", company="Acme", legacy_location="Boston, MA"),
        person("b.csv", 1, "James", "Smith", company="Acme", legacy_location="Denver"),
    )
    assert groups(by_city) == set()
    same = run(
        person("a.csv", 1, "James", "Smith", company="Acme", legacy_location="Boston, MA"),
        person("b.csv", 1, "Jim", "Smith", company="ACME Inc.", legacy_location="Boston"),
    )
    assert groups(same) == {frozenset({("a.csv", 1), ("b.csv", 1)})}


def test_same_name_at_one_company_with_different_work_addresses_is_two_people() -> None:
    # fuzzy_edges looks for this veto last, among the pairs nothing else refused
    apart = run(
        person("a.csv", 1, "James", "Smith", company="Acme", emails=emails("jsmith@acme.com")),
        person("b.csv", 1, "James", "Smith", company="Acme", emails=emails("james.s@acme.com")),
    )
    assert groups(apart) == set()
    # an address at a free mail provider is nobody's work address: no veto
    free = run(
        person("a.csv", 1, "James", "Smith", company="Acme", emails=emails("jsmith@acme.com")),
        person("b.csv", 1, "James", "Smith", company="Acme", emails=emails("jim77@gmail.com")),
    )
    assert groups(free) == {frozenset({("a.csv", 1), ("b.csv", 1)})}


def test_a_common_name_at_a_big_company_is_not_evidence_enough() -> None:
    # 40 John Smiths at one employer: sharing the company proves nothing about any two.
    crowd = [person("hr.csv", i + 1, "John", "Smith", company="Bigco") for i in range(40)]
    pair = [
        person("hr.csv", 41, "Ana", "Lopez", company="Tiny Co"),
        person("hr.csv", 42, "Ana", "Lopez", company="Tiny Co."),
    ]
    result = run(*crowd, *pair)
    assert groups(result) == {frozenset({("hr.csv", 41), ("hr.csv", 42)})}


def test_survivorship_unites_lists_keeps_primary_and_lists_conflicts() -> None:
    result = run(
        person(
            "old.csv",
            1,
            "Ana",
            "Lopez",
            job_title="Chief Tech Officer",
            company="Acme",
            emails=emails("ana.l@gmail.com", "ana@x.com"),
            tags=["Friends"],
            notes=[{"body": "met at PyCon", "created_at": None}],
            extra=json.dumps({"Twitter": "@ana", "Spouse": "Li"}),
        ),
        person(
            "crm.csv",
            7,
            "Ana",
            "Lopez",
            job_title="CTO",
            emails=emails("ana@x.com"),
            phones=phones("+14155550100"),
            tags=["vip", "friends"],
            notes=[{"body": "intro to Bo", "created_at": "2024-01-02"}],
            reminders=[{"text": "call", "due_date": "2025-01-01", "is_complete": False}],
            extra=json.dumps({"Spouse": "Lee"}),
        ),
        trust=["crm.csv"],
    )
    contact = result.contacts.row(0, named=True)
    assert (contact["source"], contact["row"]) == ("crm.csv", 7)
    assert [(e["email"], e["ranking"]) for e in contact["emails"]] == [
        ("ana@x.com", 1),
        ("ana.l@gmail.com", 2),
    ]
    assert [p["phone_number_sanitized"] for p in contact["phones"]] == ["+14155550100"]
    assert contact["tags"] == ["vip", "friends"]
    assert [n["body"] for n in contact["notes"]] == ["intro to Bo", "met at PyCon"]
    assert [r["text"] for r in contact["reminders"]] == ["call"]
    assert contact["job_title"] == "CTO"
    assert contact["company"] == "Acme"  # filled from the other record
    assert contact["conflicts"] == [
        "job_title: 'CTO' vs 'Chief Tech Officer' (kept 'CTO' from crm.csv row 7)"
    ]
    assert json.loads(contact["extra"]) == {"Spouse": "Lee", "Twitter": "@ana"}
    assert contact["cluster_size"] == 2


def test_most_complete_record_survives_without_a_trust_order() -> None:
    result = run(
        person("a.csv", 1, "Ana", "Lopez", emails=emails("ana@x.com")),
        person(
            "a.csv", 2, "Ana", "Lopez", company="Acme", job_title="CTO", emails=emails("ana@x.com")
        ),
    )
    assert (result.contacts["source"][0], result.contacts["row"][0]) == ("a.csv", 2)
    assert reason_of(result, "a.csv", 1) == "same email ana@x.com"


def test_output_frames_follow_the_contract() -> None:
    result = run(
        person("a.csv", 1, "Ana", "Lopez", emails=emails("ana@x.com")),
        person("a.csv", 2, "Ana", "Lopez", emails=emails("ana@x.com")),
        person("a.csv", 3, "Ben", "Ode"),
    )
    for name, dtype in SCHEMA.items():
        assert result.contacts.schema[name] == dtype, name
    assert result.contacts.columns == [*COLUMNS, "cluster_id", "cluster_size", "conflicts"]
    assert result.contacts.schema["cluster_id"] == pl.UInt32
    assert result.contacts["cluster_id"].to_list() == [1, 2]
    assert result.merged.columns == [
        "source",
        "row",
        "cluster_id",
        "survivor_source",
        "survivor_row",
        "merge_reason",
        "full_name",
        "emails",
        "phones",
    ]
    assert result.summary()["records"] == 3


def test_find_duplicates_proposes_groups_with_a_survivor() -> None:
    frame = from_records(
        [
            person("dex", 1, "Ana", "Lopez", source_id="c1", emails=emails("ana@x.com")),
            person("dex", 2, "Ana", "Lopez", source_id="c2", emails=emails("ANA@x.com")),
            person("dex", 3, "Ben", "Ode", source_id="c3"),
        ]
    )
    proposal = find_duplicates(frame)
    assert proposal.select("source_id", "role").rows() == [("c1", "survivor"), ("c2", "merged")]
    assert proposal["merge_reason"].to_list() == [None, "same email ana@x.com"]


def test_write_produces_review_files(tmp_path: Path) -> None:
    result = run(
        person("a.csv", 1, "Ana", "Lopez", emails=emails("ana@x.com"), tags=["a", "b"]),
        person("a.csv", 2, "Ana", "Lopez", emails=emails("ana@x.com")),
    )
    paths = result.write(tmp_path / "review")
    names = {p.name for p in paths}
    assert {"clusters.csv", "merged-contacts.csv", "merged-contacts.jsonl", "reasons.csv"} <= names
    clusters = pl.read_csv(tmp_path / "review" / "clusters.csv")
    assert clusters["role"].to_list() == ["survivor", "merged"]
    assert clusters["merge_reason"].to_list()[1] == "same email ana@x.com"
    people = pl.read_csv(tmp_path / "review" / "merged-contacts.csv")
    assert people["tags"].to_list() == ["a; b"]
    lines = (tmp_path / "review" / "merged-contacts.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["cluster_size"] == 2


# -- property: nothing is lost -------------------------------------------------------------

FIRST = ["Ana", "Anna", "Bob", "Robert", "Kate", "Katherine", "Li", None]
LAST = ["Lopez", "Lopes", "Stone", "Smith", None]
MAIL = ["a@x.com", "A@x.com", "b@y.com", "info@z.com", None]
PHONE = ["+14155550100", "+14155550101", None]

record = st.fixed_dictionaries(
    {
        "first_name": st.sampled_from(FIRST),
        "last_name": st.sampled_from(LAST),
        "company": st.sampled_from(["Acme", "ACME inc", None]),
        "birthday": st.sampled_from(["1990-01-02", "--01-02", "1980-05-05", None]),
        "emails": st.lists(st.sampled_from(MAIL), max_size=2).map(
            lambda xs: emails(*[x for x in xs if x])
        ),
        "phones": st.lists(st.sampled_from(PHONE), max_size=2).map(
            lambda xs: phones(*[x for x in xs if x])
        ),
        "tags": st.lists(st.sampled_from(["a", "b"]), max_size=2),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record, max_size=25))
def test_every_record_ends_in_exactly_one_place(records: list[dict[str, Any]]) -> None:
    rows = [{"source": "p.csv", "row": i + 1, **r} for i, r in enumerate(records)]
    result = dedupe(from_records(rows))
    assert result.contacts.height + result.merged.height == len(rows)
    seen = result.contacts.select("source", "row").vstack(result.merged.select("source", "row"))
    assert sorted(seen["row"].to_list()) == list(range(1, len(rows) + 1))
    # Every merged record points at a survivor that is a contact of the same cluster.
    survivors = result.contacts.select("cluster_id", survivor_source="source", survivor_row="row")
    joined = result.merged.join(survivors, on=["cluster_id", "survivor_source", "survivor_row"])
    assert joined.height == result.merged.height
    assert result.merged["merge_reason"].null_count() == 0
    sizes = result.contacts["cluster_size"].sum() if result.contacts.height else 0
    assert sizes == len(rows)
