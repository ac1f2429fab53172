"""Clean up a Dex account in place: review its duplicates, merge the approved ones, fix formats.

:func:`review_duplicates` (``dexio cleanup``) snapshots the account through the exporter,
runs the file dedupe engine on it and writes a review file with an ``approve`` column; it
changes nothing. :func:`merge` (``dexio merge REVIEW_FILE``) applies the approved groups
through Dex's merge call, journaled in a ledger so a killed run resumes without merging a
group twice, and flags rejected groups ``ignore_merge``. :func:`fix` (``dexio fix``)
rewrites phones to E.164 and cleans e-mails with the normalize stage's own rules.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from dexio.dex.client import using
from dexio.errors import InputError, NotFound, OutcomeUnknown, PayloadRejected
from dexio.ledger import Ledger, items_frame

#: The review file's columns, in order. The user edits ``approve`` only.
REVIEW_COLUMNS = (
    "group",
    "approve",
    "size",
    "reason",
    "proposed_survivor",
    "survivor_name",
    "member_ids",
    "names",
    "emails",
    "phones",
    "companies",
)
APPROVE_YES = frozenset({"y", "yes", "x", "1", "true", "ok", "merge", "approve", "approved"})
APPROVE_NO = frozenset({"n", "no", "0", "false", "reject", "rejected", "never"})
SEP = "; "


def _join(values: Any) -> str:
    return SEP.join(str(v) for v in dict.fromkeys(v for v in values if v))


# -- review ---------------------------------------------------------------------------------


@dataclass
class DuplicateReview:
    """What :func:`review_duplicates` found and where it wrote it."""

    groups: pl.DataFrame
    contacts: int
    ignored: int
    files: list[Path] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        """Contacts a merge of every group would remove."""
        return int((self.groups["size"] - 1).sum()) if self.groups.height else 0


def snapshot(dex: Any, folder: Path) -> pl.DataFrame:
    """Export the account to ``folder/snapshot.jsonl`` and read it back as a canonical frame
    (``source_id`` = the Dex id): the review's evidence of what Dex held."""
    import dexio

    path = folder / "snapshot.jsonl"
    dexio.export(path, format="jsonl", dex=dex, force=True, progress=False, page_size=500)
    return dexio.read(path)


def _ignore_merge() -> pl.Expr:
    return (
        pl.col("extra")
        .str.json_path_match("$.ignore_merge")
        .fill_null("false")
        .str.to_lowercase()
        .eq("true")
    )


def proposals(
    frame: pl.DataFrame, *, region: str | None = None, trust: Sequence[str] | None = None
) -> tuple[pl.DataFrame, int]:
    """The review rows for a canonical snapshot, and how many contacts were left out because
    Dex marks them ``ignore_merge``. Same engine and thresholds as file dedupe."""
    from dexio.dedupe import find_duplicates
    from dexio.normalize import normalize

    flagged = frame.filter(_ignore_merge())
    candidates = frame.filter(~_ignore_merge())
    empty = pl.DataFrame(schema=dict.fromkeys(REVIEW_COLUMNS, pl.String)).with_columns(
        pl.col("group", "size").cast(pl.Int64)
    )
    if candidates.height < 2:
        return empty, flagged.height
    members = find_duplicates(normalize(candidates, region=region), trust=trust)
    if not members.height:
        return empty, flagged.height
    groups = (
        members.with_row_index("_order")
        .group_by("cluster_id", maintain_order=True)
        .agg(
            size=pl.len().cast(pl.Int64),
            reason=pl.col("merge_reason").drop_nulls().unique(maintain_order=True).str.join(SEP),
            proposed_survivor=pl.col("source_id").first(),
            survivor_name=pl.col("full_name").first(),
            member_ids=pl.col("source_id").str.join(SEP),
            names=pl.col("full_name").drop_nulls().unique(maintain_order=True).str.join(SEP),
            emails=pl.col("emails")
            .explode()
            .drop_nulls()
            .unique(maintain_order=True)
            .str.join(SEP),
            phones=pl.col("phones")
            .explode()
            .drop_nulls()
            .unique(maintain_order=True)
            .str.join(SEP),
            companies=pl.col("company").drop_nulls().unique(maintain_order=True).str.join(SEP),
        )
        .sort("cluster_id")
        .with_row_index("group", offset=1)
        .with_columns(pl.col("group").cast(pl.Int64), approve=pl.lit("", pl.String))
        .select(REVIEW_COLUMNS)
    )
    return groups, flagged.height


def review_duplicates(
    out: str | Path = "dexio-cleanup",
    *,
    dex: Any = None,
    region: str | None = None,
    trust: Sequence[str] | None = None,
) -> DuplicateReview:
    """``dexio cleanup``: propose the duplicate groups already in Dex, for review.

    Writes ``review.csv`` and ``review.xlsx`` (one row per group: member ids, names,
    e-mails, phones, the reason, the proposed survivor and an empty ``approve`` column to
    fill with yes / no) and ``snapshot.jsonl`` into ``out``. Changes nothing in Dex.
    Contacts Dex flags ``ignore_merge`` (rejected before) are not proposed again.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    with using(dex) as client:
        frame = snapshot(client, folder)
    groups, ignored = proposals(frame, region=region, trust=trust)
    files = [folder / "review.csv", folder / "review.xlsx"]
    groups.write_csv(files[0])
    _write_xlsx(groups, files[1])
    return DuplicateReview(groups, frame.height, ignored, files)


def _write_xlsx(groups: pl.DataFrame, path: Path) -> None:
    """The review as a workbook: header frozen, ``approve`` offered as a yes / no list."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Review"
    sheet.append(list(groups.columns))
    for record in groups.iter_rows():
        sheet.append(
            [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in record]
        )
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # a name starting with "=" is text, never a formula
    sheet.freeze_panes = "C2"
    choice = DataValidation(type="list", formula1='"yes,no"', allow_blank=True)
    sheet.add_data_validation(choice)
    choice.add(f"B2:B{max(groups.height + 1, 2)}")
    for letter, width in zip("ABCDEFGHIJK", (7, 9, 6, 40, 38, 24, 80, 40, 40, 30, 30), strict=True):
        sheet.column_dimensions[letter].width = width
    book.save(path)


def read_review(path: str | Path) -> pl.DataFrame:
    """A review file (CSV or XLSX, as written by :func:`review_duplicates` and edited by
    a person) -> ``group``, ``approve`` (``yes`` / ``no`` / ``""``), ``member_ids`` (list)."""
    file = Path(path)
    if not file.is_file():
        raise InputError("no such file", file=file)
    try:
        if file.suffix.lower() in (".xlsx", ".xlsm"):
            frame = pl.read_excel(file, infer_schema_length=0)
        else:
            frame = pl.read_csv(file, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise InputError(f"cannot read the review file: {exc}", file=file) from None
    missing = [c for c in ("group", "approve", "member_ids") if c not in frame.columns]
    if missing:
        raise InputError(
            f"not a review file (no column {', '.join(missing)}); make one with `dexio cleanup`",
            file=file,
            field=missing[0],
        )
    answer = pl.col("approve").cast(pl.String).fill_null("").str.strip_chars().str.to_lowercase()
    rows = frame.with_row_index("_line", offset=2).select(
        pl.col("_line").cast(pl.Int64),
        pl.col("group").cast(pl.String).str.strip_chars(),
        pl.when(answer.is_in(list(APPROVE_YES)))
        .then(pl.lit("yes"))
        .when(answer.is_in(list(APPROVE_NO)))
        .then(pl.lit("no"))
        .when(answer == "")
        .then(pl.lit(""))
        .otherwise(pl.lit("?") + answer)
        .alias("approve"),
        pl.col("member_ids")
        .cast(pl.String)
        .fill_null("")
        .str.split(";")
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
        .alias("member_ids"),
        *(
            [pl.col("proposed_survivor").cast(pl.String)]
            if "proposed_survivor" in frame.columns
            else [pl.lit(None, pl.String).alias("proposed_survivor")]
        ),
    )
    return rows


# -- merge ----------------------------------------------------------------------------------


@dataclass
class MergeResult:
    """What :func:`merge` did. ``skipped`` maps a reason to the groups it applies to."""

    report_dir: Path
    run_id: str | None
    dry_run: bool
    resumed: bool
    merged: int
    removed: int
    rejected: int
    skipped: dict[str, list[str]]
    survivors: dict[str, str]
    problems: list[str]
    files: list[Path] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0

    def summary(self) -> dict[str, Any]:
        return {
            "groups_merged": self.merged,
            "contacts_removed": self.removed,
            "groups_rejected_ignore_merge": self.rejected,
            "groups_skipped": sum(len(v) for v in self.skipped.values()),
            "skipped_by_reason": {k: len(v) for k, v in self.skipped.items()},
            "problems": self.problems,
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            "run_id": self.run_id,
        }


def _fingerprint(review: pl.DataFrame) -> str:
    body = review.select("group", "approve", "member_ids").sort("group").write_json()
    return hashlib.sha256(body.encode()).hexdigest()


def _timeline_index(dex: Any) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Contact id -> note ids, contact id -> reminder ids, for the whole account."""
    notes: dict[str, list[str]] = {}
    for note in dex.iter_notes(take=500):
        for ref in note.timeline_items_contacts or []:
            notes.setdefault(ref.contact_id, []).append(str(note.id))
    reminders: dict[str, list[str]] = {}
    for reminder in dex.iter_reminders(take=500):
        for ref in reminder.reminders_contacts or []:
            reminders.setdefault(ref.contact_id, []).append(str(reminder.id))
    return notes, reminders


def _plan_merge(review: pl.DataFrame, dex: Any, source: str) -> pl.DataFrame:
    """Ledger items (one per review row): ``merge`` / ``reject`` to send, ``skip`` with why.

    The payload of a merge keeps the note and reminder ids and the tag names its members
    hold now, so the survivor can be checked after the merge, also after a resume.
    """
    held = {c.id: c for c in dex.iter_contacts(take=500)}
    notes, reminders = _timeline_index(dex)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for line, group, approve, members, proposed in review.iter_rows():
        members = list(dict.fromkeys(members or []))
        present = [m for m in members if m in held]
        action, reason, payload = "skip", None, None
        if approve == "":
            reason = "not approved (approve column empty)"
        elif approve.startswith("?"):
            reason = f"approve column not understood: {approve[1:]!r} (use yes or no)"
        elif len(members) < 2:
            reason = "fewer than two member ids"
        elif seen & set(members):
            reason = "a member is also in an earlier group of the file"
        elif approve == "no":
            action = "reject"
            payload = json.dumps({"members": present})
            if not present:
                action, reason = "skip", "members no longer in Dex"
        elif len(present) < 2:
            reason = (
                "already merged or deleted: "
                f"{len(members) - len(present)} of {len(members)} members are no longer in Dex"
            )
        else:
            action = "merge"
            # Dex keeps the oldest contact whatever the order; the proposed one goes first
            # for an API that would keep the first id.
            if proposed in present:
                present.remove(proposed)
                present.insert(0, proposed)
            payload = json.dumps(
                {
                    "members": present,
                    "notes": sorted({n for m in present for n in notes.get(m, [])}),
                    "reminders": sorted({r for m in present for r in reminders.get(m, [])}),
                    "tags": sorted(
                        {t.name.strip().lower() for m in present for t in held[m].tags or []}
                    ),
                }
            )
        if action != "skip":
            seen.update(members)
        rows.append(
            {
                "source": source,
                "row": line,
                "source_key": f"merge-group:{group}",
                "action": action,
                "state": "planned" if action != "skip" else "done",
                "payload": payload,
                "reason": reason,
                "cluster_id": group,
                "full_name": None,
                "dest_id": None,
            }
        )
    columns = (
        "source",
        "row",
        "source_key",
        "action",
        "state",
        "payload",
        "reason",
        "cluster_id",
        "full_name",
        "dest_id",
    )
    return (
        items_frame(rows, columns).with_row_index("seq").with_columns(pl.col("seq").cast(pl.Int64))
    )


def _exists(dex: Any, contact_id: str) -> bool:
    try:
        dex.get_contact(contact_id)
    except NotFound:
        return False
    return True


def _settle_sent_merges(ledger: Ledger, run_id: str, dex: Any) -> dict[int, list[str]]:
    """A merge journaled ``sent`` but not answered (killed, lost answer): look at Dex.

    One member left -> it was merged, that member is the survivor; all there -> not
    applied, send again; some gone -> partly applied, merge what is left. Returns the
    members to send for groups that go again.
    """
    again: dict[int, list[str]] = {}
    for seq, _, payload in ledger.pending(run_id, "merge", "sent"):
        members = json.loads(payload)["members"]
        left = [m for m in members if _exists(dex, m)]
        if len(left) == 1:
            ledger.mark_done(run_id, [(seq, left[0])])
        elif not left:
            ledger.mark_failed(run_id, [(seq, "every member vanished from Dex", None)])
        else:
            again[seq] = left
            ledger.mark_planned(run_id, [seq])
    ledger.mark_planned(run_id, [s for s, _, _ in ledger.pending(run_id, "reject", "sent")])
    return again


def _send_merges(
    ledger: Ledger, run_id: str, dex: Any, batch_size: int, again: dict[int, list[str]]
) -> None:
    planned = ledger.pending(run_id, "merge", "planned")
    for start in range(0, len(planned), batch_size):
        chunk = planned[start : start + batch_size]
        seqs = [s for s, _, _ in chunk]
        groups = [again.get(s) or json.loads(p)["members"] for s, _, p in chunk]
        ledger.mark_sent(run_id, seqs)
        try:
            survivors = dex.merge(groups)
        except OutcomeUnknown:
            again.update(_settle_sent_merges(ledger, run_id, dex))
            continue
        except PayloadRejected:
            # One bad group must not hold back the others: send them one at a time.
            for seq, group in zip(seqs, groups, strict=True):
                try:
                    ledger.mark_done(run_id, [(seq, dex.merge([group])[0])])
                except PayloadRejected as exc:
                    ledger.mark_failed(run_id, [(seq, f"Dex refused the merge: {exc}", None)])
            continue
        if len(survivors) != len(groups) or any(
            survivor not in group for survivor, group in zip(survivors, groups, strict=False)
        ):
            # Cannot tell which answer is whose: let the settling step look.
            again.update(_settle_sent_merges(ledger, run_id, dex))
            continue
        ledger.mark_done(run_id, list(zip(seqs, survivors, strict=True)))
    if ledger.pending(run_id, "merge", "planned"):
        _send_merges(ledger, run_id, dex, batch_size, again)


def _send_rejects(ledger: Ledger, run_id: str, dex: Any) -> None:
    planned = ledger.pending(run_id, "reject", "planned")
    if not planned:
        return
    seqs = [s for s, _, _ in planned]
    updates = [
        (member, {"ignore_merge": True})
        for _, _, payload in planned
        for member in json.loads(payload)["members"]
    ]
    ledger.mark_sent(run_id, seqs)
    try:
        dex.update_contacts(updates)
    except (PayloadRejected, NotFound) as exc:
        ledger.mark_failed(run_id, [(s, f"could not flag ignore_merge: {exc}", None) for s in seqs])
        return
    ledger.mark_done(run_id, [(s, json.loads(p)["members"][0]) for s, _, p in planned])


def _check_survivors(dex: Any, done: pl.DataFrame) -> list[str]:
    """Every note, reminder and tag the members held is on the survivor; else a problem."""
    problems: list[str] = []
    for group, survivor, payload in done.select("cluster_id", "dest_id", "payload").iter_rows():
        body = json.loads(payload)
        try:
            contact = dex.get_contact(survivor)
        except NotFound:
            problems.append(f"group {group}: survivor {survivor} is not in Dex")
            continue
        notes = {str(n.id) for n in dex.iter_notes(contact_id=survivor)}
        reminders = {str(r.id) for r in dex.iter_reminders(contact_id=survivor)}
        tags = {t.name.strip().lower() for t in contact.tags or []}
        for what, wanted, have in (
            ("notes", body.get("notes", []), notes),
            ("reminders", body.get("reminders", []), reminders),
            ("tags", body.get("tags", []), tags),
        ):
            lost = sorted(set(wanted) - have)
            if lost:
                problems.append(
                    f"group {group}: {len(lost)} {what} of the merged contacts are not on the "
                    f"survivor {survivor}: {', '.join(lost[:5])}"
                )
    return problems


def merge(
    review_file: str | Path,
    *,
    dex: Any = None,
    report_dir: str | Path | None = None,
    batch_size: int = 50,
    dry_run: bool = False,
) -> MergeResult:
    """``dexio merge REVIEW_FILE``: merge the approved groups of a review file in Dex.

    Groups marked yes go through ``POST /v1/contacts/merge`` in batches of ``batch_size``
    (at most 50), journaled in ``report_dir/ledger.sqlite`` (default: a ``merge-report``
    folder beside the review file). Running it again resumes: a group whose merge was
    sent without an answer is looked up in Dex, never merged twice. Groups marked no get
    ``ignore_merge`` on every member. After merging, each survivor (as Dex answered it) is
    checked to hold the notes, reminders and tags its members had. ``dry_run`` plans and
    writes the report without sending anything.
    """
    if not 1 <= batch_size <= 50:
        raise InputError("batch size must be between 1 and 50 groups (Dex's limit)")
    review = read_review(review_file)
    file = Path(review_file)
    folder = Path(report_dir) if report_dir else file.parent / "merge-report"
    print_ = _fingerprint(review)
    with using(dex) as client, Ledger(folder) as ledger:
        previous = None if dry_run else ledger.unfinished_run(print_)
        resumed = previous is not None
        if previous is not None:
            run_id: str | None = previous.run_id
            assert run_id is not None
            items = ledger.items(run_id)
        else:
            items = _plan_merge(review, client, file.name)
            run_id = None
            if not dry_run:
                run_id = ledger.start_run(
                    print_, items, command="merge", meta={"review": str(file)}
                )
        problems: list[str] = []
        if run_id is not None:
            again = _settle_sent_merges(ledger, run_id, client)
            _send_merges(ledger, run_id, client, batch_size, again)
            _send_rejects(ledger, run_id, client)
            items = ledger.items(run_id)
            merged_items = items.filter((pl.col("action") == "merge") & (pl.col("state") == "done"))
            problems = _check_survivors(client, merged_items)
            ledger.finish_run(run_id)
    return _merge_result(folder, run_id, dry_run, resumed, items, problems)


def _merge_result(
    folder: Path,
    run_id: str | None,
    dry_run: bool,
    resumed: bool,
    items: pl.DataFrame,
    problems: list[str],
) -> MergeResult:
    skipped: dict[str, list[str]] = {}
    merged = removed = rejected = 0
    survivors: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for group, action, state, dest, payload, reason in items.select(
        "cluster_id", "action", "state", "dest_id", "payload", "reason"
    ).iter_rows():
        members = json.loads(payload)["members"] if payload else []
        outcome = reason or ""
        if action == "merge" and state == "done":
            merged += 1
            removed += len(members) - 1
            survivors[group] = dest
            outcome = "merged"
        elif action == "merge" and dry_run:
            merged += 1
            removed += len(members) - 1
            outcome = "would merge"
        elif action == "reject" and state == "done":
            rejected += 1
            outcome = "flagged ignore_merge"
        elif action == "reject" and dry_run:
            rejected += 1
            outcome = "would flag ignore_merge"
        elif action in ("merge", "reject"):
            skipped.setdefault(f"failed: {reason or state}", []).append(group)
            outcome = f"failed: {reason or state}"
        else:
            skipped.setdefault(reason or "skipped", []).append(group)
        rows.append(
            {
                "group": group,
                "outcome": outcome,
                "survivor_id": dest if action == "merge" and state == "done" else None,
                "removed_ids": SEP.join(m for m in members if m != dest)
                if action == "merge" and state == "done"
                else None,
                "member_ids": SEP.join(members) if members else None,
            }
        )
    result = MergeResult(
        folder, run_id, dry_run, resumed, merged, removed, rejected, skipped, survivors, problems
    )
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / "merge-results.csv"
    pl.DataFrame(
        rows,
        schema={
            k: pl.String for k in ("group", "outcome", "survivor_id", "removed_ids", "member_ids")
        },
    ).write_csv(results)
    summary = folder / "merge-summary.json"
    summary.write_text(json.dumps(result.summary(), indent=2) + "\n", encoding="utf-8")
    result.files = [results, summary]
    return result


# -- fix ------------------------------------------------------------------------------------


@dataclass
class FixResult:
    """What :func:`fix` changed (or would change): one row per changed contact."""

    changes: pl.DataFrame
    scanned: int
    applied: bool
    updated: int
    files: list[Path] = field(default_factory=list)


def _email_text(items: Any) -> str:
    return SEP.join(e["email"] for e in items or [])


def _phone_text(items: Any) -> str:
    return SEP.join(
        p.get("phone_number_sanitized") or p.get("phone_number") or "" for p in items or []
    )


def _fixed_lists(
    frame: pl.DataFrame, region: str | None, phones: bool, emails: bool
) -> list[dict[str, Any]]:
    """Per contact of ``frame`` (canonical, ``source_id`` = Dex id): the cleaned lists when
    they differ from what Dex holds. Invalid e-mails stay (normalize moves them to
    ``extra``; here nothing is dropped from the account) and are listed."""
    from dexio.normalize import normalize

    clean = normalize(frame, region=region)
    out: list[dict[str, Any]] = []
    for before, after in zip(
        frame.select("source_id", "full_name", "emails", "phones").iter_rows(named=True),
        clean.select("emails", "phones", "extra").iter_rows(named=True),
        strict=True,
    ):
        change: dict[str, Any] = {"id": before["source_id"], "full_name": before["full_name"]}
        notes: list[str] = []
        if emails:
            new = [dict(e) for e in after["emails"] or []]
            invalid = json.loads(after["extra"] or "{}").get("invalid_emails") or []
            for raw in invalid:
                notes.append(f"e-mail {raw!r} is not valid; left as it is")
                new.append({"email": raw, "label": None, "ranking": len(new) + 1})
            if _email_text(new) != _email_text(before["emails"]) or [
                e.get("label") for e in new
            ] != [e.get("label") for e in before["emails"] or []]:
                change["emails"] = new
                change["emails_before"] = _email_text(before["emails"])
                change["emails_after"] = _email_text(new)
        if phones:
            new_phones = [dict(p) for p in after["phones"] or []]
            was = [
                (p.get("phone_number"), p.get("phone_number_sanitized"))
                for p in before["phones"] or []
            ]
            now = [(p.get("phone_number"), p.get("phone_number_sanitized")) for p in new_phones]
            if was != now:
                change["phones"] = new_phones
                change["phones_before"] = SEP.join(p[0] or "" for p in was)
                change["phones_after"] = _phone_text(new_phones)
        if "emails" in change or "phones" in change:
            change["notes"] = SEP.join(notes)
            out.append(change)
    return out


def fix(
    *,
    phones: bool = True,
    emails: bool = True,
    apply: bool = False,
    region: str | None = None,
    dex: Any = None,
    report_dir: str | Path = "dexio-fix",
    batch_size: int = 100,
) -> FixResult:
    """``dexio fix --phones --emails``: normalise what the account holds.

    Phones become E.164 (numbers that do not parse stay as written), e-mails are trimmed,
    lower-cased in the domain and validated, repeats inside one contact are removed (with
    the normalize stage's rules). Dry by default: ``fix-changes.csv`` in ``report_dir``
    lists every change. With ``apply=True`` each changed contact is read again just before
    writing and only its e-mail / phone lists are replaced (read-merge-write), so an edit
    made in between is not overwritten. Running it again finds nothing left to change.
    """
    from dexio.dex.convert import to_canonical, to_wire
    from dexio.http import bounded_map
    from dexio.schema import from_records

    folder = Path(report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    updated = 0
    with using(dex) as client:
        contacts = list(client.iter_contacts(take=500))
        frame = to_canonical(contacts)
        changes = _fixed_lists(frame, region, phones, emails) if frame.height else []
        if apply and changes:
            for start in range(0, len(changes), batch_size):
                chunk = changes[start : start + batch_size]
                # Read again right before writing: the lists may have changed since.
                ids = [c["id"] for c in chunk]
                fresh = to_canonical(bounded_map(client.get_contact, ids, client.concurrency))
                redo = {c["id"]: c for c in _fixed_lists(fresh, region, phones, emails)}
                patches = []
                for change in redo.values():
                    record: dict[str, Any] = {}
                    if "emails" in change:
                        record["emails"] = change["emails"]
                    if "phones" in change:
                        record["phones"] = change["phones"]
                    wire = to_wire(from_records([record]))[0]
                    patch = {
                        key: wire.get(key, [])
                        for key, column in (
                            ("contact_emails", "emails"),
                            ("contact_phone_numbers", "phones"),
                        )
                        if column in change
                    }
                    patches.append((change["id"], patch))
                if patches:
                    updated += client.update_contacts(patches)
    table = pl.DataFrame(
        [
            {
                "contact_id": c["id"],
                "full_name": c["full_name"],
                "emails_before": c.get("emails_before"),
                "emails_after": c.get("emails_after"),
                "phones_before": c.get("phones_before"),
                "phones_after": c.get("phones_after"),
                "notes": c.get("notes") or None,
            }
            for c in changes
        ],
        schema={
            k: pl.String
            for k in (
                "contact_id",
                "full_name",
                "emails_before",
                "emails_after",
                "phones_before",
                "phones_after",
                "notes",
            )
        },
    )
    path = folder / "fix-changes.csv"
    table.write_csv(path)
    return FixResult(table, len(contacts), apply, updated, [path])


__all__ = [
    "DuplicateReview",
    "FixResult",
    "MergeResult",
    "fix",
    "merge",
    "read_review",
    "review_duplicates",
]
