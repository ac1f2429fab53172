"""JSON Lines (and JSON arrays) -> canonical frame.

``dexio export --format jsonl`` writes one canonical record per line; reading it back gives the
same contacts. Objects with other keys (another tool's JSON) become a raw table of strings for
the mappings to place, like a CSV would.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from dexio.errors import InputError
from dexio.mapping import ISSUES_COLUMN, ROW_COLUMN
from dexio.readers.text import MAX_FIELD_BYTES, RawTable, clean_cell, decode, safe_name
from dexio.schema import COLUMNS, SCHEMA, check, conform

if TYPE_CHECKING:
    from dexio.readers import Reading

#: Keys of a canonical record the reader sets itself rather than taking from the file.
PROVENANCE = ("source", "row")


def read_json(file: Path) -> Reading | RawTable:
    """A :class:`Reading` for canonical records, else a :class:`RawTable` to be mapped."""
    from dexio.readers import REJECTED, Reading, with_empty_lists

    data, _ = decode(_read(file), str(file))
    fast = _fast_canonical(data)
    if fast is not None:
        frame = fast.with_columns(
            pl.lit(str(file)).alias("source"),
            pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("row"),
            pl.col("issues").fill_null([]),
        )
        return Reading(
            path=file,
            format="jsonl",
            mapping=None,
            frame=with_empty_lists(frame),
            columns=[c for c in fast.columns if c in COLUMNS],
            details={"records": "canonical (dexio export)"},
        )
    text = data.decode("utf-8")
    records = _records(text, str(file))
    if not records:
        raise InputError("the file holds no records", file=file)
    objects = [r for _, r in records if isinstance(r, dict)]
    keys = {k for obj in objects for k in obj}
    if objects and not keys <= set(COLUMNS):
        return _raw_table(records)
    rows: list[dict[str, Any]] = []
    for number, (line, record) in enumerate(records, start=1):
        rows.append(_canonical_row(record, number, line, str(file), REJECTED))
    frame = _frame(rows, REJECTED)
    frame = with_empty_lists(conform(frame.with_columns(pl.lit(str(file)).alias("source"))))
    return Reading(
        path=file,
        format="jsonl",
        mapping=None,
        frame=frame,
        columns=sorted(keys),
        details={"records": "canonical (dexio export)"},
    )


def _fast_canonical(data: bytes) -> pl.DataFrame | None:
    """polars' own NDJSON reader for a clean canonical file; None means take the careful way."""
    if data.lstrip()[:1] != b"{":
        return None
    try:
        frame = pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
        if not set(frame.columns) <= set(COLUMNS):
            return None
        frame = conform(frame)
        # A cast polars accepts can still leave a column off the schema (an empty object
        # {} where a list belongs stays a Struct): such a file takes the careful way.
        check(frame)
        longest = frame.select(
            pl.col(name).str.len_bytes().max() for name, t in SCHEMA.items() if t == pl.String()
        ).row(0)
    except (pl.exceptions.PolarsError, ValueError, TypeError):
        return None
    if any(n is not None and n > MAX_FIELD_BYTES for n in longest):
        return None
    return frame


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", file=file) from None


def _records(text: str, file: str) -> list[tuple[int, Any]]:
    """(line number, parsed value or an Exception) for each record."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            values = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", file=file
            ) from None
        except (ValueError, RecursionError) as exc:  # a 5,000-digit number, [[[[... nesting
            raise InputError(f"not usable JSON: {_odd_json(exc)}", file=file) from None
        return [(0, v) for v in values]
    out: list[tuple[int, Any]] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((line_no, json.loads(line)))
        except json.JSONDecodeError as exc:
            out.append((line_no, exc))
        except (ValueError, RecursionError) as exc:
            out.append((line_no, ValueError(_odd_json(exc))))
    if out and all(isinstance(v, Exception) for _, v in out):
        _, first = out[0]
        raise InputError(f"not JSON or JSON Lines: {first}", file=file)
    return out


def _odd_json(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return "a number with too many digits" if "digits" in str(exc) else str(exc)[:200]


def _canonical_row(record: Any, number: int, line: int, file: str, rejected: str) -> dict[str, Any]:
    where = f"line {line}" if line else f"record {number}"
    if isinstance(record, Exception):
        reason = f"{where} is not valid JSON ({record})"
        return {"row": number, "issues": [rejected + reason]}
    if not isinstance(record, dict):
        return {"row": number, "issues": [f"{rejected}{where} is not a JSON object"]}
    row = {k: v for k, v in record.items() if k not in PROVENANCE}
    for key, value in row.items():
        problem = _type_problem(SCHEMA[key], value)
        if problem:
            return {"row": number, "issues": [f"{rejected}{where}, field {key!r}: {problem}"]}
    row["row"] = number
    issues = list(row.get("issues") or [])
    for key, value in row.items():
        if isinstance(value, str) and len(value.encode()) > MAX_FIELD_BYTES:
            row[key] = None
            issues.append(f"field {key!r} longer than 1 MB, left out")
    row["issues"] = issues
    return row


def _type_problem(dtype: Any, value: Any) -> str | None:
    """Why ``value`` cannot go in a column of ``dtype`` (None when it can)."""
    if value is None:
        return None
    if isinstance(dtype, pl.List):
        if not isinstance(value, list):
            return "expected a list"
        return next((p for p in (_type_problem(dtype.inner, v) for v in value) if p), None)
    if isinstance(dtype, pl.Struct):
        if not isinstance(value, dict):
            return "expected an object"
        fields = {f.name: f.dtype for f in dtype.fields}
        unknown = set(value) - set(fields)
        if unknown:
            return f"unexpected key {sorted(unknown)[0]!r}"
        return next((p for k, v in value.items() if (p := _type_problem(fields[k], v))), None)
    if dtype == pl.String():
        return None if isinstance(value, str) else "expected text"
    if dtype == pl.Boolean():
        return None if isinstance(value, bool) else "expected true or false"
    if dtype.is_integer():
        return (
            None if isinstance(value, int) and not isinstance(value, bool) else "expected a number"
        )
    return None


def _frame(rows: list[dict[str, Any]], rejected: str) -> pl.DataFrame:
    columns = {name: [r.get(name) for r in rows] for name in SCHEMA if name != "source"}
    return pl.DataFrame(columns, schema={k: v for k, v in SCHEMA.items() if k != "source"})


def _raw_table(records: list[tuple[int, Any]]) -> RawTable:
    """Another tool's JSON: flat string cells (nested values as JSON text) for a mapping."""
    from dexio.readers import REJECTED

    rows: list[dict[str, str | None]] = []
    issues: list[list[str]] = []
    names: dict[str, None] = {}
    for number, (line, record) in enumerate(records, start=1):
        where = f"line {line}" if line else f"record {number}"
        if not isinstance(record, dict):
            rows.append({})
            issues.append([f"{REJECTED}{where} is not a JSON object"])
            continue
        flat = {safe_name(str(k).strip()) or "(blank)": _cell(v) for k, v in record.items()}
        names.update(dict.fromkeys(flat))
        rows.append(flat)
        issues.append([])
    data: dict[str, list[Any]] = {name: [r.get(name) for r in rows] for name in names}
    data[ROW_COLUMN] = list(range(1, len(rows) + 1))
    data[ISSUES_COLUMN] = issues
    schema: dict[str, pl.DataType] = {name: pl.String() for name in names}
    schema[ROW_COLUMN] = pl.UInt32()
    schema[ISSUES_COLUMN] = pl.List(pl.String)
    frame = pl.DataFrame(data, schema=schema)
    frame = frame.with_columns(clean_cell(pl.col(c)).alias(c) for c in names)
    return RawTable(frame=frame, format="json", details={"records": "other JSON, mapped"})


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(value)  # a list of tags or groups, as a tags column would hold it
    return json.dumps(value, ensure_ascii=False)
