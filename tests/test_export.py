"""dexio export against the sandbox over HTTP: formats, filters, notes/reminders, safety."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest

import dexio
from dexio.cli import main
from dexio.dex import Dex, DexLegacy
from dexio.dex.convert import to_wire
from dexio.errors import ServerError, UsageError
from dexio.http import RetryPolicy
from dexio.sandbox import Sandbox
from dexio.schema import from_records

SandboxFactory = Callable[..., Sandbox]

PEOPLE: list[dict[str, Any]] = [
    {
        "first_name": "Ana",
        "last_name": "Lima",
        "full_name": "Ana Lima",
        "company": "Acme, Inc.",
        "job_title": "CTO",
        "birthday": "1990-01-02",
        "linkedin": "analima",
        "legacy_location": "Lisbon, Portugal",
        "description": "Met at PyCon;\nlikes jazz",
        "emails": [
            {"email": "ana@home.example", "label": "personal", "ranking": 1},
            {"email": "ana@work.example", "label": "work", "ranking": 2},
        ],
        "phones": [{"phone_number": "+14155550100", "label": "mobile", "ranking": 1}],
    },
    {
        "first_name": "Bruno",
        "last_name": "Stone",
        "full_name": "Bruno Stone",
        "birthday": "--03-14",
        "twitter": "brunos",
        "emails": [{"email": "bruno@example.org", "label": "work", "ranking": 1}],
    },
    {
        "first_name": "Chloé",
        "last_name": "Ng",
        "full_name": "Chloé Ng",
        "company": "Ünïcode Ltd",
        "phones": [
            {"phone_number": "+442079460000", "label": "work", "ranking": 1},
            {"phone_number": "+447700900123", "label": "mobile", "ranking": 2},
        ],
    },
    {"first_name": "Dev", "last_name": "Patel", "full_name": "Dev Patel", "company": "Initech"},
    {"first_name": "Eve", "last_name": "Ortiz", "full_name": "Eve Ortiz", "job_title": "Chef"},
]
TAGS = {"Ana Lima": ["Friends", "VIP"], "Chloé Ng": ["VIP"], "Eve Ortiz": ["Kitchen"]}


def _seed(dex: Dex) -> dict[str, str]:
    """Create PEOPLE (and their tags) through the client; return full name -> Dex id."""
    made = dex.create_contacts(to_wire(from_records(PEOPLE)))
    ids = {c.full_name or "": c.id for c in made}
    for name, tags in TAGS.items():
        dex.create_assign_tags(ids[name], tags)
    return ids


@pytest.fixture
def account(dex_sandbox: SandboxFactory) -> Iterator[tuple[Sandbox, Dex, dict[str, str]]]:
    # Summaries-only listing and 2 per page: export must follow cursors and GET each id.
    sandbox = dex_sandbox(list_summaries=True, page_cap=2)
    with Dex(api_key=sandbox.api_key, base_url=sandbox.base_url) as dex:
        yield sandbox, dex, _seed(dex)


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _xlsx_rows(path: Path) -> list[dict[str, str]]:
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    rows = [[v if v is not None else "" for v in row] for row in sheet.iter_rows(values_only=True)]
    header = rows[0]
    # write-only sheets leave trailing empty cells out of a row
    return [
        dict(zip(header, row + [""] * (len(header) - len(row)), strict=True)) for row in rows[1:]
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "vcf", "jsonl", "parquet"])
def test_export_each_format_pages_full_records(
    account: tuple[Sandbox, Dex, dict[str, str]], tmp_path: Path, fmt: str
) -> None:
    _, dex, ids = account
    out = tmp_path / f"contacts.{fmt}"
    result = dexio.export(out, dex=dex, progress=False, page_size=2)
    assert (result.contacts, result.scanned, result.complete) == (5, 5, True)
    assert result.files == [out] and out.exists()
    if fmt == "csv":
        ana = _csv_rows(out)[0]
        assert ana["dex_id"] == ids["Ana Lima"]
        assert (ana["email_1"], ana["phone_1"]) == ("ana@home.example", "+14155550100")
        assert ana["tags"] == "Friends; VIP"
    elif fmt == "xlsx":
        rows = _xlsx_rows(out)
        assert [r["full_name"] for r in rows] == [p["full_name"] for p in PEOPLE]
        assert rows[2]["phone_2"] == "+447700900123"
    elif fmt == "vcf":
        text = out.read_bytes().decode("utf-8")
        assert text.count("BEGIN:VCARD\r\n") == 5
        assert "EMAIL;TYPE=work:ana@work.example" in text
        assert "BDAY:--0314" in text
        assert f"UID:{ids['Bruno Stone']}" in text
    elif fmt == "jsonl":
        records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
        assert [r["source_id"] for r in records] == list(ids.values())
        assert records[2]["phones"][1]["phone_number"] == "+447700900123"
        assert records[0]["tags"] == ["Friends", "VIP"]
    else:
        frame = pl.read_parquet(out)
        assert frame.height == 5
        assert frame["emails"].list.len().to_list() == [2, 1, 0, 0, 0]


def test_google_and_outlook_layouts(
    account: tuple[Sandbox, Dex, dict[str, str]], tmp_path: Path
) -> None:
    _, dex, _ = account
    google = dexio.export(tmp_path / "g.csv", layout="google", dex=dex, progress=False)
    rows = _csv_rows(google.path)
    assert rows[0]["E-mail 1 - Value"] == "ana@home.example"
    assert rows[0]["Labels"] == "Friends ::: VIP ::: * myContacts"
    outlook = dexio.export(tmp_path / "o.xlsx", layout="outlook", dex=dex, progress=False)
    chloe = _xlsx_rows(outlook.path)[2]
    assert (chloe["Business Phone"], chloe["Mobile Phone"]) == ("+442079460000", "+447700900123")


def test_tag_and_archived_filters(
    account: tuple[Sandbox, Dex, dict[str, str]], tmp_path: Path
) -> None:
    _, dex, ids = account
    vip = dexio.export(tmp_path / "vip.jsonl", tag="vip", dex=dex, progress=False)
    assert (vip.contacts, vip.scanned) == (2, 5)
    dex.update_contact(ids["Dev Patel"], {"is_archived": True})
    active = dexio.export(tmp_path / "active.csv", dex=dex, progress=False)
    names = [r["full_name"] for r in _csv_rows(active.path)]
    assert "Dev Patel" not in names and len(names) == 4
    everyone = dexio.export(tmp_path / "all.csv", archived=True, dex=dex, progress=False)
    assert "Dev Patel" in [r["full_name"] for r in _csv_rows(everyone.path)]


def _notes_and_reminders(dex: Dex, ids: dict[str, str]) -> None:
    dex.create_note(
        ids["Ana Lima"], "Lunch, then =talks\nabout jazz", event_time="2026-01-05T12:00:00Z"
    )
    dex.create_note(
        [ids["Ana Lima"], ids["Eve Ortiz"]], "Group dinner", event_time="2026-02-01T19:00:00Z"
    )
    dex.create_reminder(ids["Eve Ortiz"], "Send recipe", due_at_date="2026-03-01", is_complete=True)


@pytest.mark.parametrize("use_legacy", [False, True])
def test_notes_and_reminders_beside_csv(
    account: tuple[Sandbox, Dex, dict[str, str]], tmp_path: Path, use_legacy: bool
) -> None:
    sandbox, dex, ids = account
    _notes_and_reminders(dex, ids)
    with DexLegacy(api_key=sandbox.api_key, base_url=sandbox.legacy_url) as old:
        result = dexio.export(
            tmp_path / "c.csv",
            include="notes,reminders",
            legacy=old if use_legacy else False,
            dex=dex,
            progress=False,
        )
    assert result.files == [tmp_path / "c.csv", tmp_path / "notes.csv", tmp_path / "reminders.csv"]
    notes = _csv_rows(tmp_path / "notes.csv")
    assert (result.notes, len(notes)) == (3, 3)  # the group note once per contact
    by_contact = sorted((n["contact_name"], n["body"]) for n in notes)
    assert by_contact == [
        ("Ana Lima", "Group dinner"),
        ("Ana Lima", "Lunch, then =talks\nabout jazz"),
        ("Eve Ortiz", "Group dinner"),
    ]
    reminders = _csv_rows(tmp_path / "reminders.csv")
    assert [(r["contact_id"], r["text"], r["due_date"], r["is_complete"]) for r in reminders] == [
        (ids["Eve Ortiz"], "Send recipe", "2026-03-01", "true")
    ]


def test_notes_nested_in_jsonl_and_only_for_exported_contacts(
    account: tuple[Sandbox, Dex, dict[str, str]], tmp_path: Path
) -> None:
    _, dex, ids = account
    _notes_and_reminders(dex, ids)
    result = dexio.export(
        tmp_path / "c.jsonl", include=["notes", "reminders"], dex=dex, progress=False
    )
    assert result.files == [tmp_path / "c.jsonl"]
    records = {
        r["full_name"]: r
        for r in map(json.loads, (tmp_path / "c.jsonl").read_text("utf-8").splitlines())
    }
    assert [n["body"] for n in records["Ana Lima"]["notes"]] == [
        "Lunch, then =talks\nabout jazz",
        "Group dinner",
    ]
    assert records["Eve Ortiz"]["reminders"] == [
        {"text": "Send recipe", "due_date": "2026-03-01", "is_complete": True}
    ]
    assert records["Dev Patel"]["notes"] is None
    # a tag filter keeps the notes of the contacts it keeps, and only theirs
    dexio.export(tmp_path / "k.csv", include="notes", tag="Kitchen", dex=dex, progress=False)
    assert [n["contact_name"] for n in _csv_rows(tmp_path / "notes.csv")] == ["Eve Ortiz"]


def test_existing_files_refused_before_any_request(
    account: tuple[Sandbox, Dex, dict[str, str]], tmp_path: Path
) -> None:
    _, dex, _ = account
    (tmp_path / "notes.csv").write_text("mine")
    before = dex.stats["requests"]
    with pytest.raises(UsageError, match=r"notes\.csv already exists"):
        dexio.export(tmp_path / "c.csv", include="notes", dex=dex, progress=False)
    assert dex.stats["requests"] == before
    assert not (tmp_path / "c.csv").exists() and (tmp_path / "notes.csv").read_text() == "mine"
    dexio.export(tmp_path / "c.csv", include="notes", dex=dex, progress=False, force=True)
    assert _csv_rows(tmp_path / "notes.csv") == []


def test_api_failure_midway_leaves_no_partial_file(
    dex_sandbox: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = dex_sandbox(page_cap=2)
    policy = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
    with Dex(api_key=sandbox.api_key, base_url=sandbox.base_url, policy=policy) as dex:
        _seed(dex)
        listing = dex.iter_contacts

        def failing_after_first_page(**options: Any) -> Iterator[Any]:
            for i, contact in enumerate(listing(**options)):
                if i == 1:
                    sandbox.faults.fail_rate = 1.0  # Dex goes down mid-export
                yield contact

        dex.iter_contacts = failing_after_first_page  # type: ignore[method-assign]
        with pytest.raises(ServerError):
            dexio.export(tmp_path / "c.xlsx", dex=dex, progress=False, page_size=2)
    assert list(tmp_path.glob("c.xlsx*")) == [] and list(tmp_path.glob(".c.xlsx*")) == []


def test_cli_export_with_key_from_environment(
    dex_sandbox_env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Dex() as dex:
        _seed(dex)
    out = tmp_path / "cards.vcf"
    with pytest.raises(SystemExit) as done:
        main(["export", "-o", str(out), "--vcard-version", "3", "--quiet"])
    assert done.value.code == 0
    captured = capsys.readouterr()
    assert f"Exported 5 contacts to {out}" in captured.out
    assert out.read_bytes().count(b"VERSION:3.0\r\n") == 5
    with pytest.raises(SystemExit) as again:
        main(["export", "-o", str(out), "--quiet"])
    assert again.value.code == 2
    captured = capsys.readouterr()
    assert "already exists" in captured.err
    key = dex_sandbox_env.api_key.reveal()
    assert key not in captured.out + captured.err


def test_cursor_ignored_export_stops_and_says_so(
    dex_sandbox: SandboxFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A server repeating its first page ends the export (no endless loop) as incomplete."""
    sandbox = dex_sandbox(page_cap=2, ignore_cursor=True)
    with Dex(api_key=sandbox.api_key, base_url=sandbox.base_url) as dex:
        _seed(dex)
        result = dexio.export(tmp_path / "c.jsonl", dex=dex, progress=False, page_size=2)
    assert (result.contacts, result.complete) == (2, False)
    assert "repeated a page" in result.note
    monkeypatch.setenv("DEX_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("DEX_API_KEY", sandbox.api_key.reveal())
    with pytest.raises(SystemExit) as done:
        main(["export", "-o", str(tmp_path / "c.csv"), "-q"])
    assert done.value.code == 1
    captured = capsys.readouterr()
    assert "repeated a page" in captured.err and "Exported 2 contacts" in captured.out


def test_cli_export_from_embedded_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--sandbox exports what the user-data-dir sandbox holds (what import --sandbox put there)."""
    from dexio.sandbox import embedded

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with embedded() as sandbox, Dex(api_key=sandbox.api_key, base_url=sandbox.base_url) as dex:
        _seed(dex)
    out = tmp_path / "out.csv"
    with pytest.raises(SystemExit) as done:
        main(["export", "--sandbox", "-o", str(out), "--layout", "google", "--tag", "VIP", "-q"])
    assert done.value.code == 0
    assert [r["First Name"] for r in _csv_rows(out)] == ["Ana", "Chloé"]
    assert "Exported 2 of 5 contacts" in capsys.readouterr().out


# -- round trip: samples -> Dex A -> file -> Dex B -> file; the two files must agree ---------

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
#: The reader module each export format needs to be read back (see dexio.readers.read_file).
READERS = {
    "jsonl": "dexio.readers.jsonl",
    "xlsx": "dexio.readers.excel",
    "vcf": "dexio.readers.vcard",
}
#: Contact files among the samples (the rest are generators and other CRMs' seed data).
SAMPLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".vcf"}
#: What legitimately differs between two accounts holding the same people.
VOLATILE = {"source_id", "row", "dex_id", "created_at", "updated_at", "id"}


def _comparable(path: Path, fmt: str) -> list[str]:
    """The exported records minus ids and timestamps, sorted (creation order may differ)."""
    if fmt in ("csv", "xlsx"):
        rows = _csv_rows(path) if fmt == "csv" else _xlsx_rows(path)
        items = [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]
    elif fmt == "jsonl":
        items = []
        for line in path.read_text("utf-8").splitlines():
            record = {k: v for k, v in json.loads(line).items() if k not in VOLATILE}
            extra = json.loads(record.pop("extra") or "{}")
            record["extra"] = {k: v for k, v in extra.items() if k not in VOLATILE}
            items.append(record)
    else:
        text = path.read_bytes().decode("utf-8").replace("\r\n ", "")
        cards = text.split("END:VCARD\r\n")[:-1]
        items = [[ln for ln in c.split("\r\n") if not ln.startswith("UID:")] for c in cards]
    return sorted(json.dumps(item, sort_keys=True, ensure_ascii=False) for item in items)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "xlsx", "vcf"])
def test_round_trip_through_two_accounts(
    dex_sandbox: SandboxFactory, tmp_path: Path, fmt: str
) -> None:
    if fmt in READERS:
        pytest.importorskip(READERS[fmt], reason=f"the {fmt} reader has not landed yet")
    seed = tmp_path / "seed.csv"
    people = [{**p, "tags": TAGS.get(p["full_name"], [])} for p in PEOPLE]
    dexio.write(from_records(people), seed)
    sources = [seed, *sorted(p for p in SAMPLES.rglob("*") if p.suffix in SAMPLE_SUFFIXES)]
    first, second = dex_sandbox(), dex_sandbox()
    exports = []
    for n, (box, inputs) in enumerate([(first, sources), (second, None)]):
        with Dex(api_key=box.api_key, base_url=box.base_url) as dex:
            files = inputs if inputs is not None else [exports[-1]]
            loaded = dexio.import_files(files, dex=dex, quiet=True, report_dir=tmp_path / f"r{n}")
            created = loaded.counts["created"]
            assert created > len(PEOPLE) and loaded.counts["rejected"] == 0
            include = "notes,reminders" if fmt == "jsonl" else ""  # only jsonl carries them in
            if include and n == 0:
                _notes_and_reminders(dex, {c.full_name or "": c.id for c in dex.iter_contacts()})
            out = tmp_path / f"export{n}.{fmt}"
            result = dexio.export(out, include=include, dex=dex, progress=False)
            assert result.contacts == created
            exports.append(out)
    before, after = _comparable(exports[0], fmt), _comparable(exports[1], fmt)
    assert len(before) == created
    assert before == after
    if fmt == "jsonl":
        assert sum(r.count('"body": "Group dinner"') for r in after) == 2
