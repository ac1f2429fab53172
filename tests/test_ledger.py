"""The ledger: journaled before sending, durable across a crash, id map and undo data."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

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
