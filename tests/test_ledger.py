"""The ledger: journaled before sending, durable across a crash, id map and undo data."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from dexio import ledger as ledger_module
from dexio.ledger import Ledger, source_key


def items(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "seq": list(range(n)),
            "source": ["people.csv"] * n,
            "row": list(range(1, n + 1)),
            "source_key": [source_key("people.csv", r) for r in range(1, n + 1)],
            "action": ["create"] * (n - 1) + ["update"],
            "state": ["planned"] * n,
            "dest_id": [None] * (n - 1) + ["d-old"],
            "payload": [json.dumps({"full_name": f"P{r}"}) for r in range(n)],
            "content_hash": [f"h{r}" for r in range(n)],
        }
    )


def test_a_run_is_written_whole_and_resumable_until_finished(tmp_path: Path) -> None:
    with Ledger(tmp_path / "report") as ledger:
        run = ledger.start_run("fp1", items(4), before_images=[("d-old", '{"company": "A"}')])
        assert ledger.unfinished_run("fp1") is not None
        assert ledger.unfinished_run("other") is None
        assert ledger.items(run).height == 4
        assert ledger.before_images(run) == {"d-old": {"company": "A"}}
        ledger.finish_run(run)
        assert ledger.unfinished_run("fp1") is None
    assert (tmp_path / "report" / "ledger.sqlite").is_file()


def test_sent_survives_a_crash_and_done_is_never_pending_again(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    run = ledger.start_run("fp", items(5))
    ledger.mark_sent(run, [0, 1])
    ledger.mark_done(run, [(0, "c0")])
    ledger.mark_sent(run, [2])
    ledger.mark_failed(run, [(2, "contacts[0].birthday: not a date", "birthday")])
    # The process dies here: no close, no finish. A new process opens the same file.
    reopened = Ledger(tmp_path / "ledger.sqlite")
    assert reopened.unfinished_run("fp") is not None
    assert [s for s, _, _ in reopened.pending(run, "create", "sent")] == [1]
    assert [s for s, _, _ in reopened.pending(run, "create", "planned")] == [3]
    frame = reopened.items(run)
    done = frame.filter(pl.col("state") == "done")
    assert done["dest_id"].to_list() == ["c0"]
    failed = frame.filter(pl.col("state") == "failed").row(0, named=True)
    assert failed["field"] == "birthday" and "not a date" in failed["reason"]
    assert reopened.attempts(run, 1) == 1
    # Reconciled as not applied -> planned again, safe to send.
    reopened.mark_planned(run, [1])
    assert [s for s, _, _ in reopened.pending(run, "create", "planned")] == [1, 3]
    reopened.close()
    ledger.close()


def test_id_map_and_additions_are_kept_for_reruns_and_undo(tmp_path: Path) -> None:
    with Ledger(tmp_path) as ledger:
        run = ledger.start_run("fp", items(3))
        ledger.mark_done(run, [(0, "c0"), (2, "d-old")])
        assert ledger.dest_id(source_key("people.csv", 1)) == ("c0", "h0")
        assert ledger.dest_id(source_key("people.csv", 3)) == ("d-old", "h2")
        assert ledger.dest_id(source_key("people.csv", 2)) is None
        assert ("contact", "c0", None) in ledger.added(run)
        # Updates are not "added contacts": undo restores them from before-images instead.
        assert all(cid != "d-old" for kind, cid, _ in ledger.added(run) if kind == "contact")

        ledger.add_followups(
            run,
            [
                (0, "tags", 0, "c0", json.dumps(["friends", "2024"])),
                (0, "note", 0, "c0", json.dumps({"body": "hello"})),
            ],
        )
        # Journaling the same follow-ups again (a resume) keeps the first rows.
        ledger.add_followups(run, [(0, "note", 0, "c0", json.dumps({"body": "changed"}))])
        rows = ledger.followups(run, ("planned",))
        assert [(r[1], json.loads(r[4])) for r in rows] == [
            ("note", {"body": "hello"}),
            ("tags", ["friends", "2024"]),
        ]
        ledger.mark_followups(
            run, "done", [((0, "note", 0), "n1", None), ((0, "tags", 0), None, None)]
        )
        added = ledger.added(run)
        assert ("note", "c0", "n1") in added
        assert ("tag", "c0", "friends") in added and ("tag", "c0", "2024") in added
        assert ledger.followups(run, ("planned", "sent")) == []

        # A second run re-uses the id map (migrate's incremental re-runs).
        second = ledger.start_run("fp2", items(3))
        ledger.mark_done(second, [(0, "c0-new")])
        assert ledger.dest_id(source_key("people.csv", 1)) == ("c0-new", "h0")
        assert [r.run_id for r in ledger.runs()] == [run, second]


def test_first_before_image_of_a_run_wins(tmp_path: Path) -> None:
    with Ledger(tmp_path) as ledger:
        run = ledger.start_run(
            "fp", items(2), before_images=[("d-old", '{"v": 1}'), ("d-old", '{"v": 2}')]
        )
        assert ledger.before_images(run) == {"d-old": {"v": 1}}


def test_pages_of_a_run_add_up_to_the_whole_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upload and the report read a run a page at a time: pages of pending items
    follow plan order without gaps, and items() read in pages equals one read."""
    with Ledger(tmp_path) as ledger:
        run = ledger.start_run("fp", items(23))
        whole = ledger.pending(run, "create", "planned")
        assert [s for s, _, _ in whole] == list(range(22))
        paged, after = [], -1
        while page := ledger.pending(run, "create", "planned", after=after, limit=5):
            assert len(page) <= 5
            paged += page
            after = page[-1][0]
        assert paged == whole
        assert ledger.count(run, "create", "planned") == 22
        assert ledger.count(run, "update", "planned") == 1

        full = ledger.items(run)
        monkeypatch.setattr(ledger_module, "PAGE_ROWS", 4)
        assert ledger.items(run).equals(full)
        narrow = ledger.items(run, ("seq", "source", "row", "action"))
        assert narrow.equals(full.select("seq", "source", "row", "action"))
        with pytest.raises(ValueError, match="not item columns"):
            ledger.items(run, ("seq", "nope"))

        ledger.mark_done(run, [(0, "c0"), (3, "c3"), (22, "d-old")])
        with_later = ledger.items(run).with_columns(
            followups=pl.when(pl.col("seq").is_in([0, 22])).then(pl.lit('{"tags": ["x"]}'))
        )
        second = ledger.start_run("fp2", with_later)
        ledger.mark_done(second, [(0, "c0"), (3, "c3"), (22, "d-old")])
        assert ledger.done_with_followups(second) == [
            (0, "c0", '{"tags": ["x"]}'),
            (22, "d-old", '{"tags": ["x"]}'),
        ]
        assert ledger.done_with_followups(second, after=0, limit=1) == [
            (22, "d-old", '{"tags": ["x"]}')
        ]


def test_follow_ups_are_read_by_kind_and_by_pages_of_items(tmp_path: Path) -> None:
    with Ledger(tmp_path) as ledger:
        run = ledger.start_run("fp", items(6))
        ledger.add_followups(
            run,
            [
                (seq, kind, n, f"c{seq}", json.dumps({"body": f"{kind} {seq} {n}"}))
                for seq in (1, 2, 4)
                for kind, n in (("note", 0), ("note", 1), ("reminder", 0), ("tags", 0))
            ],
        )
        states = ("planned", "sent")
        assert ledger.count_followups(run, states) == 12
        tags = ledger.followups(run, states, kinds=("tags",))
        assert [(r[0], r[1]) for r in tags] == [(1, "tags"), (2, "tags"), (4, "tags")]
        assert len(ledger.followups(run, states, kinds=("tags",), limit=2)) == 2
        kinds = ("note", "reminder")
        assert ledger.followup_seqs(run, states, kinds, after=-1, limit=2) == [1, 2]
        assert ledger.followup_seqs(run, states, kinds, after=2, limit=2) == [4]
        page = ledger.followups(run, states, kinds=kinds, seqs=(1, 2))
        assert [(r[0], r[1], r[2]) for r in page] == [
            (1, "note", 0),
            (1, "note", 1),
            (1, "reminder", 0),
            (2, "note", 0),
            (2, "note", 1),
            (2, "reminder", 0),
        ]
        ledger.mark_followups(run, "done", [((1, "note", 0), "n1", None)])
        assert ledger.count_followups(run, states) == 11
        assert ledger.followups(run, states) == [
            r for r in ledger.followups(run, ("planned", "sent", "done")) if r[5] != "done"
        ]
