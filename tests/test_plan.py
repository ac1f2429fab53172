"""The plan: create / update / unchanged / rejected / merged, and patches that only add."""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dexio.plan import HASHED_FIELDS, content_hash, plan, summarize
from dexio.schema import conform, from_records

plan_module = sys.modules["dexio.plan"]  # the package re-exports the function as dexio.plan


def email(address: str, ranking: int = 1, label: str | None = None) -> dict[str, Any]:
    return {"email": address, "label": label, "ranking": ranking}


def phone(e164: str, ranking: int = 1) -> dict[str, Any]:
    return {
        "phone_number": e164,
        "country_code": None,
        "phone_number_sanitized": e164,
        "label": "mobile",
        "ranking": ranking,
    }


def incoming(*records: dict[str, Any]) -> pl.DataFrame:
    return from_records(
        [{"source": "people.csv", "row": n, **r} for n, r in enumerate(records, start=1)]
    )


def dex(*records: dict[str, Any]) -> pl.DataFrame:
    frame = from_records([{"source": "dex", "row": n, **r} for n, r in enumerate(records, 1)])
    return frame.with_columns(
        id=pl.col("source_id"),
        raw=pl.Series([json.dumps({"id": r["source_id"], "v": "before"}) for r in records]),
    )


def by_row(planned: pl.DataFrame) -> dict[int, dict[str, Any]]:
    return {r["row"]: r for r in planned.iter_rows(named=True)}


def test_each_contact_gets_one_action_in_input_order() -> None:
    planned = plan(
        incoming(
            {"full_name": "Ana Lima", "emails": [email("ana@x.example")]},
            {"full_name": "Bo Berg", "emails": [email("bo@y.example")]},
            {"full_name": "Cy New", "emails": [email("cy@z.example")]},
            {},  # nothing to create anyone from
        ),
        dex(
            {"source_id": "d1", "full_name": "Ana Lima", "emails": [email("ANA@x.example")]},
            {"source_id": "d2", "full_name": "Bo Berg", "emails": [email("bo@y.example")]},
        ),
    )
    assert planned["row"].to_list() == [1, 2, 3, 4]
    rows = by_row(planned)
    assert rows[1]["action"] == "unchanged" and rows[1]["dest_id"] == "d1"
    assert "same email ana@x.example" in rows[1]["reason"]
    assert rows[2]["action"] == "unchanged" and rows[2]["dest_id"] == "d2"
    assert rows[3]["action"] == "create" and rows[3]["dest_id"] is None
    assert rows[4]["action"] == "rejected" and "no name, email" in rows[4]["reason"]
    assert summarize(planned) == {
        "create": 1,
        "update": 0,
        "unchanged": 2,
        "rejected": 1,
        "merged": 0,
    }


def test_update_only_adds_what_dex_lacks() -> None:
    planned = plan(
        incoming(
            {
                "full_name": "Ana Lima",
                "company": "New Co",
                "job_title": "CTO",
                "emails": [email("ana@x.example"), email("ana.lima@work.example", 2, "work")],
                "phones": [phone("+4915112345678")],
                "tags": ["VIP", "friends"],
            }
        ),
        dex(
            {
                "source_id": "d1",
                "full_name": "Ana Lima",
                "company": "Old Co",
                "emails": [email("ana@x.example", 1, "home")],
                "phones": [phone("+49 151 12345678")],
                "tags": ["vip"],
            }
        ),
    )
    row = by_row(planned)[1]
    assert row["action"] == "update" and row["dest_id"] == "d1"
    patch = json.loads(row["patch"])
    # The empty job title is filled; the company Dex already has is left alone.
    assert patch["fields"] == {"job_title": "CTO"}
    # Read-merge-write: Dex's email first, as it was, then the new one ranked after it.
    assert patch["emails"] == [
        {"email": "ana@x.example", "label": "home", "ranking": 1},
        {"email": "ana.lima@work.example", "label": "work", "ranking": 2},
    ]
    assert "phones" not in patch  # same number, written differently
    assert patch["tags"] == ["friends"]  # VIP == vip
    assert json.loads(row["before"]) == {"id": "d1", "v": "before"}
    assert "fills job_title" in row["reason"] and "adds 1 email" in row["reason"]


def test_overwrite_replaces_non_empty_fields_and_skip_leaves_everyone_alone() -> None:
    contacts = incoming({"full_name": "Ana Lima", "company": "New Co", "emails": [email("a@x.io")]})
    existing = dex({"source_id": "d1", "full_name": "Ana Lima", "company": "Old Co",
                    "emails": [email("a@x.io")]})  # fmt: skip
    assert by_row(plan(contacts, existing))[1]["action"] == "unchanged"
    over = by_row(plan(contacts, existing, overwrite=True))[1]
    assert over["action"] == "update"
    assert json.loads(over["patch"])["fields"] == {"company": "New Co"}
    skipped = by_row(plan(contacts, existing, overwrite=True, on_existing="skip"))[1]
    assert skipped["action"] == "unchanged" and "--on-existing skip" in skipped["reason"]
    assert skipped["patch"] is None


def test_extra_tags_and_notes_only_when_missing() -> None:
    note = {"body": "Met at the Lisbon meetup", "created_at": "2024-05-01"}
    contacts = incoming(
        {"full_name": "Ana Lima", "emails": [email("a@x.io")], "notes": [note]},
        {"full_name": "Bo Berg", "emails": [email("b@x.io")], "notes": [note]},
    )
    existing = dex(
        {"source_id": "d1", "full_name": "Ana Lima", "emails": [email("a@x.io")],
         "notes": [{"body": "Met at the Lisbon meetup ", "created_at": None}],
         "tags": ["Imported"]},
    )  # fmt: skip
    rows = by_row(plan(contacts, existing, tags=["imported"]))
    assert rows[1]["action"] == "unchanged"  # note and tag already there
    assert rows[2]["action"] == "create"
    assert json.loads(rows[2]["patch"]) == {"notes": [note], "tags": ["imported"]}


def test_full_match_uses_phone_linkedin_and_name_with_company() -> None:
    contacts = incoming(
        {"full_name": "Ana Lima", "phones": [phone("+4915112345678")]},
        {"full_name": "Bo Berg", "linkedin": "Bo-Berg"},
        {"first_name": "Cy", "last_name": "Dee", "company": "Acme", "emails": [email("c@n.io")]},
    )
    existing = dex(
        {"source_id": "d1", "full_name": "A. Lima", "phones": [phone("+4915112345678")]},
        {"source_id": "d2", "full_name": "Robert Berg", "linkedin": "bo-berg"},
        {"source_id": "d3", "full_name": "cy dee", "company": "ACME"},
    )
    full = by_row(plan(contacts, existing, match_on="full"))
    assert [full[n]["dest_id"] for n in (1, 2, 3)] == ["d1", "d2", "d3"]
    assert "same phone" in full[1]["reason"] and "same LinkedIn" in full[2]["reason"]
    assert "same name and company cy dee at acme" in full[3]["reason"]
    # By email, contacts without an email still match on the other keys (a re-imported
    # LinkedIn export must create nobody); one with an email that Dex lacks is new.
    by_email = by_row(plan(contacts, existing, match_on="email"))
    assert [by_email[n]["action"] for n in (1, 2, 3)] == ["unchanged", "unchanged", "create"]


def test_two_rows_matching_one_contact_fold_into_one_update() -> None:
    contacts = incoming(
        {"full_name": "Ana Lima", "emails": [email("a@x.io")]},
        {"full_name": "Ana L.", "emails": [email("a@x.io"), email("ana@home.io", 2)]},
    )
    existing = dex({"source_id": "d1", "full_name": "Ana Lima", "emails": [email("a@x.io")]})
    rows = by_row(plan(contacts, existing))
    assert rows[1]["action"] == "update"
    assert [e["email"] for e in json.loads(rows[1]["patch"])["emails"]] == [
        "a@x.io",
        "ana@home.io",
    ]
    assert rows[2]["action"] == "merged" and rows[2]["dest_id"] == "d1"
    assert (rows[2]["survivor_source"], rows[2]["survivor_row"]) == ("people.csv", 1)


def test_records_a_reader_rejected_stay_rejected_with_their_reason() -> None:
    planned = plan(
        incoming(
            {"full_name": "Ana", "issues": ["rejected: row has 40 columns, header has 7"]},
            {"full_name": "Bo", "emails": [email("bo@x.io")]},
        ),
        None,
    )
    rows = by_row(planned)
    assert rows[1]["action"] == "rejected"
    assert rows[1]["reason"] == "row has 40 columns, header has 7"
    assert rows[2]["action"] == "create"


def test_content_hash_is_stable_and_ignores_provenance() -> None:
    a = incoming({"full_name": "Ana", "emails": [email("a@x.io")]})
    b = a.with_columns(source=pl.lit("other.csv"), row=pl.lit(9, pl.UInt32))
    c = a.with_columns(full_name=pl.lit("Anna"))
    assert content_hash(a).to_list() == content_hash(b).to_list()
    assert content_hash(a).to_list() != content_hash(c).to_list()
    assert plan(a)["content_hash"].to_list() == content_hash(a).to_list()


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="match_on"):
        plan(incoming({"full_name": "Ana"}), match_on="fuzzy")  # type: ignore[arg-type]


#: A record whose hash was computed before content_hash was sliced; resumes and migrations
#: compare stored hashes with new ones, so this value must never change.
KNOWN_RECORD: dict[str, Any] = {
    "first_name": "Zoë",
    "last_name": "Ångström",
    "full_name": "Zoë Ångström",
    "company": 'Ünïcode "Quoted" GmbH',
    "birthday": "--04-01",
    "linkedin": "zoe-a",
    "emails": [email("zoe@example.com", 1, "work"), email("z@example.org", 2)],
    "phones": [
        {
            "phone_number": "+49 30 1234567",
            "country_code": "49",
            "phone_number_sanitized": "+49301234567",
            "label": "mobile",
            "ranking": 1,
        }
    ],
    "tags": ["friends", "2024"],
    "notes": [{"body": "met at\nconf", "created_at": "2024-05-01"}],
    "reminders": [{"text": "call", "due_date": "2025-01-02", "is_complete": False}],
    "extra": '{"x": 1}',
    "issues": ["fixed phone"],
}


def test_content_hash_of_a_known_record_never_changes() -> None:
    frame = incoming(KNOWN_RECORD, {"full_name": "Ana", "emails": [email("a@x.io")]})
    assert content_hash(frame)[0] == "dc53802dfed57e0301261fd60e1b22e6"
    assert plan(frame)["content_hash"][0] == "dc53802dfed57e0301261fd60e1b22e6"


def test_a_line_separator_inside_a_value_leaves_one_hash_per_record() -> None:
    # U+2028 and U+0085 stay raw in JSON; splitting the text with str.splitlines once gave
    # such a record two hashes and plan() failed with a ShapeError.
    frame = incoming(
        {"full_name": "Ana\u2028Lima", "emails": [email("a@x.io")]},
        {"full_name": "Bo\x85Berg", "notes": [{"body": "x\u2029y", "created_at": None}]},
        {"full_name": "Cy"},
    )
    planned = plan(frame)
    assert planned.height == 3 and planned["content_hash"].n_unique() == 3
    assert planned["action"].to_list() == ["create", "create", "create"]


def _hash_reference(frame: pl.DataFrame) -> list[str]:
    """content_hash's definition: the whole frame's NDJSON at once, one hash per line."""
    text = conform(frame).select(HASHED_FIELDS).write_ndjson()
    return [hashlib.sha256(line.encode()).hexdigest()[:32] for line in text.split("\n")[:-1]]


_text = st.text(max_size=12)
_opt = st.one_of(st.none(), _text)
records = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "full_name": _opt,
            "first_name": _opt,
            "company": _opt,
            "birthday": _opt,
            "extra": _opt,
            "emails": st.one_of(
                st.none(),
                st.lists(st.builds(email, _text, st.integers(1, 3), _opt), max_size=3),
            ),
            "tags": st.one_of(st.none(), st.lists(_opt, max_size=3)),
            "notes": st.one_of(
                st.none(),
                st.lists(st.fixed_dictionaries({"body": _opt, "created_at": _opt}), max_size=2),
            ),
            "reminders": st.one_of(
                st.none(),
                st.lists(
                    st.fixed_dictionaries(
                        {"text": _opt, "due_date": _opt, "is_complete": st.none() | st.booleans()}
                    ),
                    max_size=2,
                ),
            ),
        },
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_sliced_content_hash_equals_the_whole_frame_hash(rows: list[dict[str, Any]]) -> None:
    frame = incoming(*rows)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plan_module, "SLICE_ROWS", 3)  # several slices, one partial
        assert content_hash(frame).to_list() == _hash_reference(frame)


def _followups_reference(frame: pl.DataFrame, extra_tags: list[str]) -> list[Any]:
    """The create patch as plan() wrote it with one json.dumps per row."""
    tags = pl.concat_list(
        pl.col("tags").fill_null([]), pl.lit(extra_tags, pl.List(pl.String))
    ).list.unique(maintain_order=True)
    rows = frame.select(
        tags=tags, notes=pl.col("notes").fill_null([]), reminders=pl.col("reminders").fill_null([])
    )
    return [{k: v for k, v in row.items() if v} or None for row in rows.iter_rows(named=True)]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records, st.lists(st.sampled_from(["vip", "2024", "Zoë"]), max_size=2))
def test_create_followups_equal_the_per_row_json(
    rows: list[dict[str, Any]], extra: list[str]
) -> None:
    frame = incoming(*rows)
    planned = plan(frame, tags=extra)
    creates = planned["action"] == "create"
    got = [json.loads(p) if p else None for p in planned.filter(creates)["patch"]]
    expected = _followups_reference(frame.filter(creates), [t for t in extra if t.strip()])
    assert got == expected
