"""The Dex sandbox's storage: contacts, notes, reminders and tags in one SQLite file.

A contact is a JSON document plus index tables (lowercased emails, tag links), ordered by
an autoincrement sequence that stands for "created_at, oldest first" (lists and merge
survivorship use it). One connection, guarded by a lock, in WAL mode; every write is one
transaction, so a bulk create of 100 contacts is a single commit.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The scalar fields a contact as read always carries (null when never set).
CONTACT_FIELDS = (
    "full_name",
    "first_name",
    "last_name",
    "description",
    "job_title",
    "company",
    "education",
    "legacy_location",
    "website",
    "image_url",
    "starred",
    "birthday",
    "birthday_year",
    "frequency",
    "linkedin",
    "twitter",
    "facebook",
    "instagram",
    "telegram",
    "tiktok",
    "youtube",
    "source",
    "last_seen_at",
    "next_reminder_at",
)
SUMMARY_FIELDS = ("id", "full_name", "first_name", "last_name", "company", "job_title")
_LIST_FIELDS = ("contact_emails", "contact_phone_numbers", "legacy_contact_addresses")
_NOT_IN_DOC = {"id", "tags_contacts", "related_contacts"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    is_archived INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS contact_emails (
    contact_id TEXT NOT NULL,
    email TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contact_emails_by_email ON contact_emails (email);
CREATE INDEX IF NOT EXISTS contact_emails_by_contact ON contact_emails (contact_id);
CREATE TABLE IF NOT EXISTS tags (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS contact_tags (
    contact_id TEXT NOT NULL,
    tag_id TEXT NOT NULL,
    PRIMARY KEY (contact_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contact_tags_by_tag ON contact_tags (tag_id);
CREATE TABLE IF NOT EXISTS notes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS note_contacts (
    item_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    PRIMARY KEY (item_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS note_contacts_by_contact ON note_contacts (contact_id);
CREATE TABLE IF NOT EXISTS reminders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reminder_contacts (
    item_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    PRIMARY KEY (item_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reminder_contacts_by_contact ON reminder_contacts (contact_id);
"""

# Timeline items and reminders share one shape of storage: (table, link table).
_ITEM_TABLES = {"note": ("notes", "note_contacts"), "reminder": ("reminders", "reminder_contacts")}


class StoreError(Exception):
    """A request the store refuses; ``status`` is the HTTP status to answer with."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Missing(StoreError):
    status = 404


class Conflict(StoreError):
    status = 400


def now() -> str:
    """The current UTC time as Dex writes it (ISO 8601, milliseconds, ``Z``)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return str(uuid.uuid4())


def _sanitize_phone(number: str) -> str:
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"+{digits}" if number.strip().startswith("+") else digits


def _prepare_doc(fields: dict[str, Any]) -> dict[str, Any]:
    doc = {k: v for k, v in fields.items() if k not in _NOT_IN_DOC}
    for key in _LIST_FIELDS:  # a null list (e.g. sent to clear it) reads back as []
        if key in doc and doc[key] is None:
            doc[key] = []
    if doc.get("contact_emails") is not None:
        doc["contact_emails"] = [
            {"email": e["email"], "label": e.get("label"), "ranking": e.get("ranking")}
            for e in doc["contact_emails"]
        ]
    if doc.get("contact_phone_numbers") is not None:
        doc["contact_phone_numbers"] = [
            {
                "phone_number": p["phone_number"],
                "country_code": p.get("country_code"),
                "phone_number_sanitized": p.get("phone_number_sanitized")
                or _sanitize_phone(p["phone_number"]),
                "label": p.get("label"),
                "ranking": p.get("ranking"),
            }
            for p in doc["contact_phone_numbers"]
        ]
    return doc


def _record(
    contact_id: str, created_at: str, updated_at: str, doc: dict[str, Any]
) -> dict[str, Any]:
    """A contact as read: every field present (null or empty when never set), tags empty."""
    record: dict[str, Any] = {"id": contact_id}
    record.update(dict.fromkeys(CONTACT_FIELDS))
    record.update({key: [] for key in _LIST_FIELDS})
    record.update(doc)
    record["created_at"] = created_at
    record["updated_at"] = updated_at
    record["tags"] = []
    return record


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


def _chunks(values: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class Page:
    """One page of a list: the items, the id that starts the next page, the total."""

    __slots__ = ("count", "items", "next_cursor")

    def __init__(self, items: list[dict[str, Any]], next_cursor: str | None, count: int) -> None:
        self.items = items
        self.next_cursor = next_cursor
        self.count = count

    def as_data(self) -> dict[str, Any]:
        return {"items": self.items, "nextCursor": self.next_cursor, "count": self.count}


class DexStore:
    """All sandbox data of one Dex account, in the SQLite file at ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=OFF")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    # -- the whole store ------------------------------------------------------------------

    def reset(self) -> None:
        """Delete everything (the tables stay)."""
        with self._write() as db:
            for table in (
                "contacts",
                "contact_emails",
                "tags",
                "contact_tags",
                "notes",
                "note_contacts",
                "reminders",
                "reminder_contacts",
            ):
                db.execute(f"DELETE FROM {table}")

    def counts(self) -> dict[str, int]:
        with self._read() as db:
            return {
                "contacts": db.execute("SELECT COUNT(*) FROM contacts").fetchone()[0],
                "archived": db.execute(
                    "SELECT COUNT(*) FROM contacts WHERE is_archived = 1"
                ).fetchone()[0],
                "notes": db.execute("SELECT COUNT(*) FROM notes").fetchone()[0],
                "reminders": db.execute("SELECT COUNT(*) FROM reminders").fetchone()[0],
                "tags": db.execute("SELECT COUNT(*) FROM tags").fetchone()[0],
            }

    # -- contacts -------------------------------------------------------------------------

    def create_contacts(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Insert ``items`` (validated POST items) in one transaction; return them as read."""
        stamp = now()
        rows: list[tuple[str, int, str, str, str]] = []
        emails: list[tuple[str, str]] = []
        tag_links: list[tuple[str, str]] = []
        tag_refs: dict[str, str] = {}
        ids: list[str] = []
        docs: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            contact_id = item.get("id") or new_id()
            ids.append(contact_id)
            doc = _prepare_doc(item)
            doc.setdefault("is_archived", False)
            doc.setdefault("ignore_merge", False)
            docs.append(doc)
            rows.append((contact_id, 0, stamp, stamp, json.dumps(doc)))
            for entry in doc.get("contact_emails") or []:
                emails.append((contact_id, entry["email"].lower()))
            for position, ref in enumerate(item.get("tags_contacts") or []):
                tag_links.append((contact_id, ref["tag_id"]))
                tag_refs.setdefault(ref["tag_id"], f"contacts[{index}].tags_contacts[{position}]")
        if len(set(ids)) != len(ids):
            raise Conflict("contacts: the same id is given twice")
        with self._write() as db:
            tag_names = self._require_tags(db, tag_refs)
            given = [i for i, item in zip(ids, items, strict=True) if item.get("id")]
            for chunk in _chunks(given):
                taken = db.execute(
                    f"SELECT id FROM contacts WHERE id IN ({_placeholders(len(chunk))})", chunk
                ).fetchone()
                if taken:
                    raise Conflict(f"contacts[{ids.index(taken[0])}].id: already exists")
            db.executemany(
                "INSERT INTO contacts (id, is_archived, created_at, updated_at, doc)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            db.executemany("INSERT INTO contact_emails VALUES (?, ?)", emails)
            db.executemany("INSERT OR IGNORE INTO contact_tags VALUES (?, ?)", tag_links)
        # Built from what was written rather than read back: the hot path of every import.
        created = [_record(i, stamp, stamp, doc) for i, doc in zip(ids, docs, strict=True)]
        by_id = dict(zip(ids, created, strict=True))
        for contact_id, tag_id in dict.fromkeys(tag_links):
            by_id[contact_id]["tags"].append({"id": tag_id, "name": tag_names[tag_id]})
        return created

    def _require_tags(self, db: sqlite3.Connection, refs: dict[str, str]) -> dict[str, str]:
        """``refs`` maps tag id -> where the body named it; raise for the first unknown id.

        Returns the names of the tags, by id.
        """
        wanted = list(refs)
        known: dict[str, str] = {}
        for chunk in _chunks(wanted):
            known.update(
                db.execute(
                    f"SELECT id, name FROM tags WHERE id IN ({_placeholders(len(chunk))})", chunk
                ).fetchall()
            )
        for tag_id in wanted:
            if tag_id not in known:
                raise Conflict(f"{refs[tag_id]}.tag_id: no tag with id {tag_id}")
        return known

    def _load(self, db: sqlite3.Connection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Contacts as read (full records with tags), by id; unknown ids are left out."""
        rows: list[tuple[str, str, str, str]] = []
        for chunk in _chunks(ids):
            rows.extend(
                db.execute(
                    "SELECT id, created_at, updated_at, doc FROM contacts"
                    f" WHERE id IN ({_placeholders(len(chunk))})",
                    chunk,
                )
            )
        return self._assemble(db, rows)

    def _assemble(
        self, db: sqlite3.Connection, rows: Iterable[tuple[str, str, str, str]]
    ) -> dict[str, dict[str, Any]]:
        contacts: dict[str, dict[str, Any]] = {}
        for contact_id, created_at, updated_at, doc in rows:
            contacts[contact_id] = _record(contact_id, created_at, updated_at, json.loads(doc))
        ids = list(contacts)
        for chunk in _chunks(ids):
            for contact_id, tag_id, name in db.execute(
                "SELECT ct.contact_id, t.id, t.name FROM contact_tags ct JOIN tags t"
                f" ON t.id = ct.tag_id WHERE ct.contact_id IN ({_placeholders(len(chunk))})"
                " ORDER BY t.seq",
                chunk,
            ):
                contacts[contact_id]["tags"].append({"id": tag_id, "name": name})
        return contacts

    def get_contact(self, contact_id: str) -> dict[str, Any]:
        with self._read() as db:
            found = self._load(db, [contact_id])
        if contact_id not in found:
            raise Missing(f"contact {contact_id} not found")
        return found[contact_id]

    def count_contacts(self, *, archived: bool = False) -> int:
        where = "" if archived else " WHERE is_archived = 0"
        with self._read() as db:
            count: int = db.execute(f"SELECT COUNT(*) FROM contacts{where}").fetchone()[0]
        return count

    def list_contacts(
        self,
        *,
        take: int,
        cursor: str | None,
        skip: int = 0,
        archived: bool = False,
        summaries: bool = False,
    ) -> Page:
        """Oldest first, starting at the contact ``cursor`` names (inclusive)."""
        where = "" if archived else "is_archived = 0"
        with self._read() as db:
            rows, next_cursor, count = _paged(db, "contacts", where, (), take, cursor, skip)
            if summaries:
                items = []
                for contact_id, _created, _updated, doc in rows:
                    fields = json.loads(doc)
                    summary = {key: fields.get(key) for key in SUMMARY_FIELDS}
                    summary["id"] = contact_id
                    items.append(summary)
            else:
                items = list(self._assemble(db, rows).values())
        return Page(items, next_cursor, count)

    def list_contacts_offset(self, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """The legacy API's paging: ``limit``/``offset`` over all contacts, oldest first."""
        with self._read() as db:
            rows = db.execute(
                "SELECT id, created_at, updated_at, doc FROM contacts ORDER BY seq"
                " LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
            total: int = db.execute("SELECT COUNT(*) FROM contacts").fetchone()[0]
            return list(self._assemble(db, rows).values()), total

    def update_contacts(self, changes: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Apply partial updates (contact id, validated patch) in one transaction.

        ``contact_emails``/``contact_phone_numbers``/``legacy_contact_addresses`` replace
        the stored lists; ``tags_contacts`` takes ``append``/``remove``. An unknown id fails
        the whole batch with :class:`Missing` naming its position.
        """
        stamp = now()
        with self._write() as db:
            ids = [contact_id for contact_id, _ in changes]
            current: dict[str, dict[str, Any]] = {}
            for chunk in _chunks(list(dict.fromkeys(ids))):
                for contact_id, doc in db.execute(
                    f"SELECT id, doc FROM contacts WHERE id IN ({_placeholders(len(chunk))})",
                    chunk,
                ):
                    current[contact_id] = json.loads(doc)
            for index, contact_id in enumerate(ids):
                if contact_id not in current:
                    where = f"[{index}].contactId: " if len(changes) > 1 else ""
                    raise Missing(f"{where}contact {contact_id} not found")
            tag_refs: dict[str, str] = {}
            for index, (_, patch) in enumerate(changes):
                tags = patch.get("tags_contacts") or {}
                for position, ref in enumerate(tags.get("append") or []):
                    tag_refs.setdefault(
                        ref["tag_id"], f"[{index}].tags_contacts.append[{position}]"
                    )
            self._require_tags(db, tag_refs)
            for contact_id, patch in changes:
                doc = current[contact_id]
                doc.update(_prepare_doc(patch))
                tags = patch.get("tags_contacts") or {}
                db.executemany(
                    "INSERT OR IGNORE INTO contact_tags VALUES (?, ?)",
                    [(contact_id, ref["tag_id"]) for ref in tags.get("append") or []],
                )
                db.executemany(
                    "DELETE FROM contact_tags WHERE contact_id = ? AND tag_id = ?",
                    [(contact_id, ref.get("tag_id")) for ref in tags.get("remove") or []],
                )
                self._save(db, contact_id, doc, stamp, emails_changed="contact_emails" in patch)
            found = self._load(db, ids)
        return [found[i] for i in ids]

    def _save(
        self,
        db: sqlite3.Connection,
        contact_id: str,
        doc: dict[str, Any],
        stamp: str,
        *,
        emails_changed: bool = True,
    ) -> None:
        db.execute(
            "UPDATE contacts SET doc = ?, is_archived = ?, updated_at = ? WHERE id = ?",
            (json.dumps(doc), int(bool(doc.get("is_archived"))), stamp, contact_id),
        )
        if emails_changed:
            db.execute("DELETE FROM contact_emails WHERE contact_id = ?", (contact_id,))
            db.executemany(
                "INSERT INTO contact_emails VALUES (?, ?)",
                [(contact_id, e["email"].lower()) for e in doc.get("contact_emails") or []],
            )

    def delete_contacts(self, ids: Sequence[str]) -> list[str]:
        """Delete the contacts that exist among ``ids``; return those ids."""
        with self._write() as db:
            return self._delete(db, list(dict.fromkeys(ids)))

    def _delete(self, db: sqlite3.Connection, ids: list[str]) -> list[str]:
        deleted: list[str] = []
        for chunk in _chunks(ids):
            marks = _placeholders(len(chunk))
            deleted.extend(
                row[0]
                for row in db.execute(f"SELECT id FROM contacts WHERE id IN ({marks})", chunk)
            )
            db.execute(f"DELETE FROM contacts WHERE id IN ({marks})", chunk)
            for table in ("contact_emails", "contact_tags", "note_contacts", "reminder_contacts"):
                db.execute(f"DELETE FROM {table} WHERE contact_id IN ({marks})", chunk)
        return deleted

    def contacts_by_emails(self, emails: Sequence[str]) -> list[dict[str, Any]]:
        """Contacts having any of ``emails`` (case-insensitive), oldest first."""
        keys = list(dict.fromkeys(e.strip().lower() for e in emails))
        if not keys:
            return []
        with self._read() as db:
            rows = db.execute(
                "SELECT id, created_at, updated_at, doc FROM contacts WHERE id IN"
                f" (SELECT contact_id FROM contact_emails WHERE email IN ({_placeholders(len(keys))}))"
                " ORDER BY seq",
                keys,
            ).fetchall()
            return list(self._assemble(db, rows).values())

    def merge(self, groups: list[list[str]]) -> list[str]:
        """Merge each group into its oldest contact; return the survivors' ids in order."""
        groups = [list(dict.fromkeys(group)) for group in groups]
        seen: dict[str, int] = {}
        for index, group in enumerate(groups):
            if len(group) < 2:
                raise Conflict(f"contactIds[{index}]: a group needs at least two different ids")
            for contact_id in group:
                if contact_id in seen:
                    raise Conflict(
                        f"contactIds[{index}]: contact {contact_id} is also in group {seen[contact_id]}"
                    )
                seen[contact_id] = index
        stamp = now()
        survivors: list[str] = []
        with self._write() as db:
            for index, group in enumerate(groups):
                rows = db.execute(
                    "SELECT id, seq, doc FROM contacts"
                    f" WHERE id IN ({_placeholders(len(group))}) ORDER BY seq",
                    group,
                ).fetchall()
                found = {row[0] for row in rows}
                for contact_id in group:
                    if contact_id not in found:
                        raise Missing(f"contactIds[{index}]: contact {contact_id} not found")
                survivor_id, _, survivor_doc = rows[0]
                doc: dict[str, Any] = json.loads(survivor_doc)
                others = [(row[0], json.loads(row[2])) for row in rows[1:]]
                for _, other in others:
                    _absorb(doc, other)
                other_ids = [other_id for other_id, _ in others]
                marks = _placeholders(len(other_ids))
                for table, column in (
                    ("contact_tags", "tag_id"),
                    ("note_contacts", "item_id"),
                    ("reminder_contacts", "item_id"),
                ):
                    db.execute(
                        f"INSERT OR IGNORE INTO {table} (contact_id, {column})"
                        f" SELECT ?, {column} FROM {table} WHERE contact_id IN ({marks})",
                        [survivor_id, *other_ids],
                    )
                self._delete(db, other_ids)
                self._save(db, survivor_id, doc, stamp)
                survivors.append(survivor_id)
        return survivors

    # -- notes and reminders --------------------------------------------------------------

    def _require_contacts(self, db: sqlite3.Connection, refs: list[tuple[str, str]]) -> None:
        """``refs`` are (where the body named it, contact id); raise for the first unknown."""
        ids = list(dict.fromkeys(contact_id for _, contact_id in refs))
        known: set[str] = set()
        for chunk in _chunks(ids):
            known.update(
                row[0]
                for row in db.execute(
                    f"SELECT id FROM contacts WHERE id IN ({_placeholders(len(chunk))})", chunk
                )
            )
        for where, contact_id in refs:
            if contact_id not in known:
                raise Conflict(f"{where}.contact_id: no contact with id {contact_id}")

    def create_item(
        self, kind: str, fields: dict[str, Any], links: list[str], where: str
    ) -> dict[str, Any]:
        """Create a note or reminder linked to the contacts ``links``; return it as read."""
        table, link_table = _ITEM_TABLES[kind]
        item_id = new_id()
        stamp = now()
        with self._write() as db:
            self._require_contacts(db, [(f"{where}[{i}]", c) for i, c in enumerate(links)])
            db.execute(
                f"INSERT INTO {table} (id, created_at, updated_at, doc) VALUES (?, ?, ?, ?)",
                (item_id, stamp, stamp, json.dumps(fields)),
            )
            db.executemany(
                f"INSERT OR IGNORE INTO {link_table} VALUES (?, ?)",
                [(item_id, contact_id) for contact_id in links],
            )
            return self._items(db, kind, [(item_id, stamp, stamp, json.dumps(fields))])[0]

    def _items(
        self, db: sqlite3.Connection, kind: str, rows: Sequence[tuple[str, str, str, str]]
    ) -> list[dict[str, Any]]:
        _, link_table = _ITEM_TABLES[kind]
        links: dict[str, list[str]] = {row[0]: [] for row in rows}
        for chunk in _chunks(list(links)):
            for item_id, contact_id in db.execute(
                f"SELECT item_id, contact_id FROM {link_table}"
                f" WHERE item_id IN ({_placeholders(len(chunk))})",
                chunk,
            ):
                links[item_id].append(contact_id)
        items = []
        for item_id, created_at, updated_at, doc in rows:
            record: dict[str, Any] = {"id": item_id, **json.loads(doc)}
            record["created_at"] = created_at
            record["updated_at"] = updated_at
            record["contact_ids"] = sorted(links[item_id])
            items.append(record)
        return items

    def get_item(self, kind: str, item_id: str) -> dict[str, Any]:
        table, _ = _ITEM_TABLES[kind]
        with self._read() as db:
            rows = db.execute(
                f"SELECT id, created_at, updated_at, doc FROM {table} WHERE id = ?", (item_id,)
            ).fetchall()
            if not rows:
                raise Missing(f"{kind} {item_id} not found")
            return self._items(db, kind, rows)[0]

    def update_item(
        self, kind: str, item_id: str, changes: dict[str, Any], links: list[str] | None, where: str
    ) -> dict[str, Any]:
        table, link_table = _ITEM_TABLES[kind]
        stamp = now()
        with self._write() as db:
            row = db.execute(f"SELECT doc FROM {table} WHERE id = ?", (item_id,)).fetchone()
            if row is None:
                raise Missing(f"{kind} {item_id} not found")
            doc = {**json.loads(row[0]), **changes}
            db.execute(
                f"UPDATE {table} SET doc = ?, updated_at = ? WHERE id = ?",
                (json.dumps(doc), stamp, item_id),
            )
            if links is not None:
                self._require_contacts(db, [(f"{where}[{i}]", c) for i, c in enumerate(links)])
                db.execute(f"DELETE FROM {link_table} WHERE item_id = ?", (item_id,))
                db.executemany(
                    f"INSERT OR IGNORE INTO {link_table} VALUES (?, ?)",
                    [(item_id, contact_id) for contact_id in links],
                )
            rows = db.execute(
                f"SELECT id, created_at, updated_at, doc FROM {table} WHERE id = ?", (item_id,)
            ).fetchall()
            return self._items(db, kind, rows)[0]

    def delete_item(self, kind: str, item_id: str) -> None:
        table, link_table = _ITEM_TABLES[kind]
        with self._write() as db:
            if db.execute(f"DELETE FROM {table} WHERE id = ?", (item_id,)).rowcount == 0:
                raise Missing(f"{kind} {item_id} not found")
            db.execute(f"DELETE FROM {link_table} WHERE item_id = ?", (item_id,))

    def list_items(
        self,
        kind: str,
        *,
        take: int,
        cursor: str | None,
        skip: int = 0,
        contact_id: str | None = None,
    ) -> Page:
        table, link_table = _ITEM_TABLES[kind]
        where = ""
        params: tuple[str, ...] = ()
        if contact_id:
            where = f"id IN (SELECT item_id FROM {link_table} WHERE contact_id = ?)"
            params = (contact_id,)
        with self._read() as db:
            rows, next_cursor, count = _paged(db, table, where, params, take, cursor, skip)
            return Page(self._items(db, kind, rows), next_cursor, count)

    def list_items_offset(
        self, kind: str, *, limit: int, offset: int, contact_id: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        table, link_table = _ITEM_TABLES[kind]
        where = ""
        params: tuple[str, ...] = ()
        if contact_id:
            where = f" WHERE id IN (SELECT item_id FROM {link_table} WHERE contact_id = ?)"
            params = (contact_id,)
        with self._read() as db:
            rows = db.execute(
                f"SELECT id, created_at, updated_at, doc FROM {table}{where}"
                " ORDER BY seq LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
            total: int = db.execute(f"SELECT COUNT(*) FROM {table}{where}", params).fetchone()[0]
            return self._items(db, kind, rows), total

    # -- tags -----------------------------------------------------------------------------

    def create_tag(self, name: str) -> dict[str, str]:
        with self._write() as db:
            if db.execute(
                "SELECT 1 FROM tags WHERE name_key = ?", (name.strip().lower(),)
            ).fetchone():
                raise Conflict(f"tag.name: a tag named {name!r} already exists")
            return self._insert_tag(db, name)

    def _insert_tag(self, db: sqlite3.Connection, name: str) -> dict[str, str]:
        tag_id = new_id()
        db.execute(
            "INSERT INTO tags (id, name, name_key, created_at) VALUES (?, ?, ?, ?)",
            (tag_id, name.strip(), name.strip().lower(), now()),
        )
        return {"id": tag_id, "name": name.strip()}

    def create_assign(self, contact_id: str, names: Sequence[str]) -> list[dict[str, str]]:
        """Tag a contact by names, creating the tags that do not exist (case-insensitive)."""
        with self._write() as db:
            if not db.execute("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)).fetchone():
                raise Missing(f"contact {contact_id} not found")
            tags: dict[str, dict[str, str]] = {}
            for name in names:
                key = name.strip().lower()
                if key in tags:
                    continue
                row = db.execute("SELECT id, name FROM tags WHERE name_key = ?", (key,)).fetchone()
                tags[key] = {"id": row[0], "name": row[1]} if row else self._insert_tag(db, name)
            db.executemany(
                "INSERT OR IGNORE INTO contact_tags VALUES (?, ?)",
                [(contact_id, tag["id"]) for tag in tags.values()],
            )
            return list(tags.values())

    def list_tags(self, *, take: int, cursor: str | None, skip: int = 0) -> Page:
        with self._read() as db:
            rows, next_cursor, count = _paged(
                db, "tags", "", (), take, cursor, skip, columns="id, name"
            )
        return Page([{"id": r[0], "name": r[1]} for r in rows], next_cursor, count)

    def link_tags(self, contact_ids: Sequence[str], tag_ids: Sequence[str], *, add: bool) -> int:
        """Add (or remove) every tag to (from) every contact; return how many links changed."""
        with self._write() as db:
            self._require_contacts(db, [(f"contactIds[{i}]", c) for i, c in enumerate(contact_ids)])
            self._require_tags(
                db, {t: f"tagIds[{i}]" for i, t in reversed(list(enumerate(tag_ids)))}
            )
            pairs = [(c, t) for c in dict.fromkeys(contact_ids) for t in dict.fromkeys(tag_ids)]
            before = db.total_changes
            if add:
                db.executemany("INSERT OR IGNORE INTO contact_tags VALUES (?, ?)", pairs)
            else:
                db.executemany(
                    "DELETE FROM contact_tags WHERE contact_id = ? AND tag_id = ?", pairs
                )
            return db.total_changes - before


def _paged(
    db: sqlite3.Connection,
    table: str,
    where: str,
    params: tuple[Any, ...],
    take: int,
    cursor: str | None,
    skip: int = 0,
    *,
    columns: str = "id, created_at, updated_at, doc",
) -> tuple[list[Any], str | None, int]:
    """``take`` rows from the ``cursor`` row (inclusive) after skipping ``skip``, in
    sequence order; the next cursor; the total.

    As with Prisma's ``cursor``/``skip``: ``skip=1`` makes the cursor exclusive, and an
    unknown cursor gives an empty last page.
    """
    total: int = db.execute(
        f"SELECT COUNT(*) FROM {table}{' WHERE ' + where if where else ''}", params
    ).fetchone()[0]
    conditions = [where] if where else []
    args: list[Any] = list(params)
    if cursor is not None:
        conditions.append(f"seq >= (SELECT seq FROM {table} WHERE id = ?)")
        args.append(cursor)
    clause = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = db.execute(
        f"SELECT {columns} FROM {table}{clause} ORDER BY seq LIMIT ? OFFSET ?",
        (*args, take + 1, skip),
    ).fetchall()
    next_cursor = rows[take][0] if len(rows) > take else None
    return rows[:take], next_cursor, total


def _absorb(doc: dict[str, Any], other: dict[str, Any]) -> None:
    """Merge ``other`` into the survivor ``doc``: append its list entries, fill empty scalars."""
    emails = list(doc.get("contact_emails") or [])
    have = {e["email"].lower() for e in emails}
    rank = max((e.get("ranking") or 0 for e in emails), default=0)
    for entry in other.get("contact_emails") or []:
        if entry["email"].lower() not in have:
            rank += 1
            emails.append({**entry, "ranking": rank})
            have.add(entry["email"].lower())
    doc["contact_emails"] = emails
    phones = list(doc.get("contact_phone_numbers") or [])
    have = {p.get("phone_number_sanitized") or p["phone_number"] for p in phones}
    rank = max((p.get("ranking") or 0 for p in phones), default=0)
    for entry in other.get("contact_phone_numbers") or []:
        key = entry.get("phone_number_sanitized") or entry["phone_number"]
        if key not in have:
            rank += 1
            phones.append({**entry, "ranking": rank})
            have.add(key)
    doc["contact_phone_numbers"] = phones
    addresses = list(doc.get("legacy_contact_addresses") or [])
    for entry in other.get("legacy_contact_addresses") or []:
        if entry not in addresses:
            addresses.append(entry)
    doc["legacy_contact_addresses"] = addresses
    for key, value in other.items():
        if key in _LIST_FIELDS or isinstance(value, bool) or value in (None, "", [], {}):
            continue
        if doc.get(key) in (None, "", [], {}):
            doc[key] = value
