"""Mapping files: declarative TOML that says which column of a file feeds which canonical field.

A mapping is loaded by name (``linkedin`` -> ``mappings/linkedin.toml``) or by path, checked
once (a mistake becomes a :class:`~dexio.errors.MappingError` naming the file and line), and
applied to a table of raw strings with polars expressions only, so a million rows cost about
as much as reading them. The file format is described in ``docs/mappings.md``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import tomllib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from dexio.errors import MappingError
from dexio.schema import EMAIL, NOTE, PHONE, SCALAR_FIELDS


def _shipped_mappings_dir() -> Path:
    """Where the mappings shipped with dexio live.

    ``$DEXIO_MAPPINGS`` wins (a team's own folder); then the checkout's top-level
    ``mappings/`` (editable installs, tests); then ``<prefix>/share/dexio/mappings``, where
    a wheel install puts them (``[tool.setuptools.data-files]`` in pyproject.toml).
    """
    if os.environ.get("DEXIO_MAPPINGS"):
        return Path(os.environ["DEXIO_MAPPINGS"])
    checkout = Path(__file__).resolve().parent.parent / "mappings"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "dexio" / "mappings"


MAPPINGS_DIR = _shipped_mappings_dir()

#: Fields a ``[fields]`` entry may target: every canonical scalar plus the two list columns a
#: single column can fill.
TARGET_FIELDS: tuple[str, ...] = (*SCALAR_FIELDS, "notes", "tags")
TRANSFORMS = ("linkedin_handle", "strip_at", "one_line")
TOP_LEVEL_KEYS = {
    "name",
    "description",
    "detect",
    "fields",
    "emails",
    "phones",
    "country",
    "extra",
    "drop",
    "add_tags",
    "null_values",
    "split_full_name",
    "labels",
    "by_label",
}
FIELD_KEYS = {"column", "columns", "join", "transform", "date_format", "split", "skip_prefix"}
CONTACT_KEYS = {"column", "label", "label_column", "split"}
EXTRA_KEYS = {"column", "date_format"}
BY_LABEL_KEYS = {"column", "label_column", "fields", "default"}
NUMBER = "{n}"
EXCEL_EPOCH = dt.date(1899, 12, 30)
#: Bookkeeping columns a raw table carries next to the file's own columns.
ROW_COLUMN = "_dexio_row"
ISSUES_COLUMN = "_dexio_issues"


def column_key(name: str) -> str:
    """How header names are compared: case, spacing and punctuation do not matter."""
    return re.sub(r"[\W_]+", "", name.casefold())


@dataclass(frozen=True)
class FieldRule:
    """One canonical field filled from one or more columns."""

    target: str
    columns: tuple[str, ...]
    join: str | None = None  # None: first non-empty column wins; else values joined
    transform: str | None = None
    date_format: str | None = None
    split: str | None = None  # tags: separator between several values in one cell
    skip_prefix: str | None = None  # tags: values starting with this are system groups


@dataclass(frozen=True)
class ContactRule:
    """An email or phone column (``{n}`` in the name makes it a numbered group)."""

    column: str
    label: str | None = None
    label_columns: tuple[str, ...] = ()  # alternatives: Google's "- Label" and older "- Type"
    split: str | None = None


@dataclass(frozen=True)
class ByLabelRule:
    """Numbered value/label columns whose label picks the field (Google's websites:
    "Website 2 - Label" = "LinkedIn" -> linkedin); other labels go to ``default``."""

    column: str
    label_columns: tuple[str, ...]
    fields: dict[str, str]
    default: str | None = None


@dataclass(frozen=True)
class ExtraRule:
    """A column kept in ``extra`` under a chosen key (e.g. LinkedIn's connected_on)."""

    key: str
    column: str
    date_format: str | None = None


@dataclass(frozen=True)
class Mapping:
    """A checked mapping file. Build with :func:`load_mapping`."""

    name: str
    description: str = ""
    path: Path | None = None
    detect: tuple[tuple[str, ...], ...] = ()
    fields: tuple[FieldRule, ...] = ()
    emails: tuple[ContactRule, ...] = ()
    phones: tuple[ContactRule, ...] = ()
    country: tuple[str, ...] = ()
    extra: tuple[ExtraRule, ...] = ()
    drop: tuple[str, ...] = ()
    add_tags: tuple[str, ...] = ()
    null_values: tuple[str, ...] = ()
    split_full_name: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    by_label: tuple[ByLabelRule, ...] = ()

    def score(self, header: Sequence[str]) -> int:
        """How well a header matches this mapping's signature: matched columns, 0 = no match."""
        keys = {column_key(h) for h in header}
        best = 0
        for signature in self.detect:
            if all(column_key(c) in keys for c in signature):
                best = max(best, len(signature))
        return best


# -- loading ----------------------------------------------------------------------------------


def available_mappings() -> list[Mapping]:
    """Every mapping shipped in ``mappings/``, sorted by name."""
    if not MAPPINGS_DIR.is_dir():
        return []
    return [load_mapping(p) for p in sorted(MAPPINGS_DIR.glob("*.toml"))]


def load_mapping(name_or_path: str | Path | Mapping) -> Mapping:
    """Load a mapping by name (``"google"``) or by path; raise MappingError on any mistake."""
    if isinstance(name_or_path, Mapping):
        return name_or_path
    text_name = str(name_or_path)
    path = Path(text_name)
    if not (path.suffix == ".toml" or os.sep in text_name or "/" in text_name):
        path = MAPPINGS_DIR / f"{text_name}.toml"
        if not path.is_file():
            known = ", ".join(p.stem for p in sorted(MAPPINGS_DIR.glob("*.toml")))
            raise MappingError(f"no mapping named {text_name!r} (known: {known or 'none'})")
    return _load_path(path.resolve())


@cache
def _load_path(path: Path) -> Mapping:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError("mapping file not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"cannot read mapping file: {exc}", file=path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _toml_error_line(str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise MappingError(f"not valid TOML: {reason}", file=path, line=line) from None
    return _build(data, path, text)


def _toml_error_line(message: str) -> int | None:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else None


class _Checker:
    """Turns a problem in the parsed TOML into a MappingError with the line it came from."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, *needles: str) -> int | None:
        for needle in needles:
            if not needle:
                continue
            pattern = re.compile(rf"(^|[\s\"'\[.{{,]){re.escape(needle)}($|[\s\"'\].=}},])")
            for number, line in enumerate(self.lines, start=1):
                if pattern.search(line.split("#", 1)[0] if "#" not in needle else line):
                    return number
        return None

    def fail(self, message: str, *needles: str) -> MappingError:
        return MappingError(message, file=self.path, line=self.line_of(*needles))

    def strings(self, value: Any, where: str, *needles: str) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(v, str) for v in value) and value:
            return tuple(value)
        raise self.fail(f"{where} must be a column name or a list of column names", *needles)


def _build(data: dict[str, Any], path: Path, text: str) -> Mapping:
    check = _Checker(path, text)
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise check.fail(
                f"unknown key {key!r} (allowed: {', '.join(sorted(TOP_LEVEL_KEYS))})", key
            )
    detect_raw = data.get("detect", [])
    if detect_raw and all(isinstance(d, str) for d in detect_raw):
        detect_raw = [detect_raw]
    detect: list[tuple[str, ...]] = []
    for signature in detect_raw:
        detect.append(check.strings(signature, "each 'detect' signature", "detect"))

    fields: list[FieldRule] = []
    fields_raw = data.get("fields", {})
    if not isinstance(fields_raw, dict):
        raise check.fail("'fields' must be a table: field = \"Column\"", "fields")
    for target, spec in fields_raw.items():
        if target not in TARGET_FIELDS:
            raise check.fail(
                f"unknown field {target!r}; fields are: {', '.join(TARGET_FIELDS)}", target
            )
        specs = spec if isinstance(spec, list) and spec and isinstance(spec[0], dict) else [spec]
        fields.extend(_field_rule(check, target, one) for one in specs)

    emails = tuple(_contact_rules(check, data.get("emails", []), "emails"))
    phones = tuple(_contact_rules(check, data.get("phones", []), "phones"))

    extra: list[ExtraRule] = []
    extra_raw = data.get("extra", {})
    if not isinstance(extra_raw, dict):
        raise check.fail("'extra' must be a table: key = \"Column\"", "extra")
    for key, spec in extra_raw.items():
        if isinstance(spec, str):
            extra.append(ExtraRule(key=key, column=spec))
        elif isinstance(spec, dict) and isinstance(spec.get("column"), str):
            unknown = set(spec) - EXTRA_KEYS
            if unknown:
                raise check.fail(f"unknown option {sorted(unknown)[0]!r} in extra.{key}", key)
            extra.append(
                ExtraRule(key=key, column=spec["column"], date_format=spec.get("date_format"))
            )
        else:
            raise check.fail(f"extra.{key} must be a column name or {{ column = ... }}", key)

    labels_raw = data.get("labels", {})
    if not isinstance(labels_raw, dict) or not all(isinstance(v, str) for v in labels_raw.values()):
        raise check.fail("'labels' must be a table of source label = dexio label", "labels")

    name = data.get("name", path.stem)
    if not isinstance(name, str):
        raise check.fail("'name' must be a string", "name")
    split_full_name = data.get("split_full_name", False)
    if not isinstance(split_full_name, bool):
        raise check.fail("'split_full_name' must be true or false", "split_full_name")
    return Mapping(
        name=name,
        description=str(data.get("description", "")),
        path=path,
        detect=tuple(detect),
        fields=tuple(fields),
        emails=emails,
        phones=phones,
        country=_optional_strings(check, data, "country"),
        extra=tuple(extra),
        drop=_optional_strings(check, data, "drop"),
        add_tags=_optional_strings(check, data, "add_tags"),
        null_values=_optional_strings(check, data, "null_values"),
        split_full_name=split_full_name,
        # Trimmed, as the list path of _contact_list leaves labels (see there).
        labels={k.strip().lower(): v.strip().lower() for k, v in labels_raw.items()},
        by_label=tuple(_by_label_rules(check, data.get("by_label", []))),
    )


def _optional_strings(check: _Checker, data: dict[str, Any], key: str) -> tuple[str, ...]:
    if key not in data or data[key] == []:
        return ()
    return check.strings(data[key], f"'{key}'", key)


def _field_rule(check: _Checker, target: str, spec: Any) -> FieldRule:
    if isinstance(spec, str | list):
        return FieldRule(target, check.strings(spec, f"fields.{target}", target))
    if not isinstance(spec, dict):
        raise check.fail(f"fields.{target} must be a column, a list or a table", target)
    unknown = set(spec) - FIELD_KEYS
    if unknown:
        bad = sorted(unknown)[0]
        raise check.fail(
            f"unknown option {bad!r} in fields.{target} (allowed: {', '.join(sorted(FIELD_KEYS))})",
            bad,
            target,
        )
    if "column" in spec and "columns" in spec:
        raise check.fail(f"fields.{target}: give 'column' or 'columns', not both", target)
    columns = check.strings(spec.get("column", spec.get("columns")), f"fields.{target}", target)
    transform = spec.get("transform")
    if transform is not None and transform not in TRANSFORMS:
        raise check.fail(
            f"unknown transform {transform!r} in fields.{target} (known: {', '.join(TRANSFORMS)})",
            str(transform),
        )
    for option in ("join", "date_format", "split", "skip_prefix"):
        if option in spec and not isinstance(spec[option], str):
            raise check.fail(f"fields.{target}.{option} must be a string", option, target)
    return FieldRule(
        target=target,
        columns=columns,
        join=spec.get("join"),
        transform=transform,
        date_format=spec.get("date_format"),
        split=spec.get("split"),
        skip_prefix=spec.get("skip_prefix"),
    )


def _contact_rules(check: _Checker, raw: Any, kind: str) -> Iterable[ContactRule]:
    if not isinstance(raw, list):
        raise check.fail(f"'{kind}' must be an array of tables: [[{kind}]]", kind)
    for spec in raw:
        if isinstance(spec, str):
            yield ContactRule(column=spec)
            continue
        if not isinstance(spec, dict) or not isinstance(spec.get("column"), str):
            raise check.fail(f'each [[{kind}]] entry needs column = "..."', kind)
        unknown = set(spec) - CONTACT_KEYS
        if unknown:
            bad = sorted(unknown)[0]
            raise check.fail(f"unknown option {bad!r} in [[{kind}]]", bad)
        for option in ("label", "split"):
            if option in spec and not isinstance(spec[option], str):
                raise check.fail(f"[[{kind}]] {option} must be a string", option)
        label_columns = spec.get("label_column")
        yield ContactRule(
            column=spec["column"],
            # Trimmed, a blank one none: as the list path of _contact_list reads it.
            label=spec.get("label", "").strip() or None,
            label_columns=check.strings(label_columns, "label_column", "label_column")
            if label_columns is not None
            else (),
            split=spec.get("split"),
        )


def _by_label_rules(check: _Checker, raw: Any) -> Iterable[ByLabelRule]:
    if not isinstance(raw, list):
        raise check.fail("'by_label' must be an array of tables: [[by_label]]", "by_label")
    for spec in raw:
        if not isinstance(spec, dict) or not isinstance(spec.get("column"), str):
            raise check.fail('each [[by_label]] entry needs column = "..."', "by_label")
        unknown = set(spec) - BY_LABEL_KEYS
        if unknown:
            bad = sorted(unknown)[0]
            raise check.fail(f"unknown option {bad!r} in [[by_label]]", bad)
        targets = spec.get("fields", {})
        if not isinstance(targets, dict):
            raise check.fail("[[by_label]] fields must be a table: label = field", "fields")
        default = spec.get("default")
        for target in [*targets.values(), *([default] if default is not None else [])]:
            if target not in SCALAR_FIELDS:
                raise check.fail(f"unknown field {target!r} in [[by_label]]", str(target))
        yield ByLabelRule(
            column=spec["column"],
            label_columns=check.strings(spec.get("label_column"), "label_column", "label_column"),
            fields={k.strip().lower(): v for k, v in targets.items()},
            default=default,
        )


# -- applying ---------------------------------------------------------------------------------


@dataclass
class Applied:
    """The canonical columns a mapping produced, and what it left over."""

    frame: pl.DataFrame
    claimed: list[str]
    unclaimed: list[str]
    dropped: list[str]


class _Header:
    """Finds actual header names for the names a mapping uses (loose comparison)."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.by_key: dict[str, str] = {}
        for c in columns:
            self.by_key.setdefault(column_key(c), c)
        self.used: set[str] = set()

    def find(self, name: str) -> str | None:
        found = self.by_key.get(column_key(name))
        if found is not None:
            self.used.add(found)
        return found

    def numbered(self, pattern: str) -> list[tuple[int, str]]:
        """``E-mail {n} - Value`` -> [(1, 'E-mail 1 - Value'), (2, ...)] in number order."""
        before, _, after = pattern.partition(NUMBER)
        regex = re.compile(rf"{re.escape(column_key(before))}(\d+){re.escape(column_key(after))}")
        hits = []
        for key, name in self.by_key.items():
            m = regex.fullmatch(key)
            if m:
                hits.append((int(m.group(1)), name))
        return sorted(hits)


def _as_date(expr: pl.Expr, date_format: str) -> pl.Expr:
    """Convert to ISO when the value parses with ``date_format``; keep it as written if not."""
    parsed = expr.str.strptime(pl.Date, date_format, strict=False).dt.to_string("%Y-%m-%d")
    return pl.coalesce(parsed, expr)


def _excel_serial_date(expr: pl.Expr) -> pl.Expr:
    """A birthday that is a bare 5-digit number is an Excel date serial (days since
    1899-12-30; 10000 = 1927, 60000 = 2064): show it as the date Excel would."""
    # Where the whole cell matches, its first five characters are the digits: a slice,
    # ~2x cheaper than capturing them (most birthdays are not serials, and fail fast).
    digits = pl.when(expr.str.contains(r"^\d{5}(?:\.0+)?$")).then(expr.str.slice(0, 5))
    serial = digits.cast(pl.Int64, strict=False)
    as_date = (pl.lit(EXCEL_EPOCH) + pl.duration(days=serial)).dt.to_string("%Y-%m-%d")
    return pl.when(serial.is_between(10000, 60000)).then(as_date).otherwise(expr)


#: A LinkedIn profile URL's handle, found anywhere in a cell (``linkedin_handle``).
LINKEDIN_HANDLE = r"(?i)linkedin\.com/(?:in|pub)/([^/?#\s]+)"
#: The URL as LinkedIn writes it: there, LINKEDIN_HANDLE finds what follows the prefix.
LINKEDIN_PREFIX = "https://www.linkedin.com/in/"
LINKEDIN_USUAL = r"^https://www\.linkedin\.com/in/[A-Za-z0-9_-]+/?$"


def _transform(expr: pl.Expr, name: str | None) -> pl.Expr:
    if name == "linkedin_handle":
        # The usual URL's handle is what follows its prefix: cut out ~2x faster than by the
        # capturing regex, which reads all the others.
        usual = expr.str.contains(LINKEDIN_USUAL)
        other = pl.when(~usual).then(expr).str.extract(LINKEDIN_HANDLE, 1)
        cut = expr.str.strip_prefix(LINKEDIN_PREFIX).str.strip_suffix("/")
        return pl.coalesce(pl.when(usual).then(cut).otherwise(other), expr)
    if name == "strip_at":
        return expr.str.strip_prefix("@")
    if name == "one_line":
        return expr.str.replace_all(r"\s*[\r\n]+\s*", ", ")
    return expr


def _empty_to_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.len_bytes() > 0).then(expr)


def _contact_list(
    raw: pl.DataFrame,
    header: _Header,
    rules: Sequence[ContactRule],
    kind: str,
    mapping: Mapping,
    region: pl.Expr | None,
) -> pl.Expr | list[dict[str, pl.Expr]]:
    """Email or phone columns -> list of structs with label and ranking (explicit preference
    first, then source order). A list of per-column items comes back when the data allows
    the fast path (see :func:`gather_items`)."""
    entries: list[
        tuple[str, pl.Expr, str | None, str | None]
    ] = []  # value, label, label col, split
    taken: set[str] = set()  # "Email" and "E-mail" may name the same column
    for rule in rules:
        if NUMBER in rule.column:
            labels: dict[int, str] = {}
            for pattern in rule.label_columns:
                for n, name in header.numbered(pattern):
                    labels.setdefault(n, name)
            pairs = [(col, labels.get(n)) for n, col in header.numbered(rule.column)]
            header.used.update(c for c, _ in pairs)
            header.used.update(v for v in labels.values())
        else:
            col = header.find(rule.column)
            found = [header.find(c) for c in rule.label_columns]
            label_col = next((c for c in found if c is not None), None)
            pairs = [(col, label_col)] if col is not None else []
        for col, label_col in pairs:
            if col in taken:
                continue
            taken.add(col)
            if label_col is not None:
                label = (
                    pl.col(label_col).str.strip_prefix("* ").str.strip_chars().str.to_lowercase()
                )
                if mapping.labels:
                    label = label.replace(mapping.labels)
                if rule.label:
                    label = label.fill_null(pl.lit(rule.label))
                if "" in mapping.labels.values():
                    # A label mapped to "" is none. The list path (split cells, "* "
                    # markers) reads labels so, and with CSV files mapped piece by piece
                    # both paths meet in one file: trimmed rule and [labels] values and
                    # this keep them agreeing.
                    label = _empty_to_null(label)
            else:
                label = pl.lit(rule.label, pl.String)
            entries.append((col, label, label_col, rule.split))
    dtype = EMAIL if kind == "email" else PHONE
    if not entries:
        return pl.lit([], dtype=pl.List(dtype))
    country = region if region is not None else pl.lit(None, pl.String)

    # Look at the data once to pick the cheap path: most files have no "* " preference
    # markers and no several-values-in-one-cell, and then no per-list evaluation is needed.
    probes = [
        pl.col(label_col).str.starts_with("* ").any().alias(f"pref{i}")
        for i, (_, _, label_col, _) in enumerate(entries)
        if label_col is not None
    ]
    probes += [
        pl.col(col).str.contains(split.strip() or split, literal=True).any().alias(f"split{i}")
        for i, (col, _, _, split) in enumerate(entries)
        if split
    ]
    found_any = raw.select(probes).row(0, named=True) if probes else {}
    has_preference = any(v for k, v in found_any.items() if k.startswith("pref"))
    has_split = any(v for k, v in found_any.items() if k.startswith("split"))
    if not has_preference and not has_split:
        return _contact_items(entries, kind, country)

    parts: list[pl.Expr] = []
    splits = {split for _, _, _, split in entries if split}
    for col, label, label_col, _ in entries:
        if label_col is not None:
            preferred = pl.col(label_col).str.starts_with("* ").fill_null(False)
        else:
            preferred = pl.lit(False)
        fields = {kind: pl.col(col), "label": label, "preferred": preferred}
        if kind == "phone_number":
            fields["country_code"] = country
        parts.append(pl.struct([e.alias(k) for k, e in fields.items()]))
    element = pl.element()
    items = pl.concat_list(parts)
    for separator in splits if has_split else ():
        # Split on the bare separator: trimming the cell may have cut the spaces around a
        # separator at either end (empty labels joined by the writer: " ::: work ::: ").
        bare = separator.strip() or separator
        pieces = (
            element.struct.field(kind).str.split(bare).list.eval(pl.element().str.strip_chars())
        )
        count = pieces.list.len()
        label_pieces = (
            element.struct.field("label")
            .str.split(bare)
            .list.eval(pl.element().str.strip_chars().pipe(_empty_to_null))
        )
        # The dexio layout joins the labels of overflowing values the same way: split them in
        # step when the counts agree, else repeat the one label.
        split_label = (
            pl.when(label_pieces.list.len() == count)
            .then(label_pieces)
            .otherwise(element.struct.field("label").repeat_by(count))
        )
        spread = [pieces.explode().alias(kind), split_label.explode().alias("label")]
        for name in ("preferred", *(["country_code"] if kind == "phone_number" else [])):
            spread.append(element.struct.field(name).repeat_by(count).explode().alias(name))
        items = items.list.eval(pl.struct(spread))
    value = element.struct.field(kind)
    items = items.list.eval(element.filter(value.is_not_null() & (value.str.len_bytes() > 0)))
    if has_preference:
        items = items.list.eval(
            element.sort_by(element.struct.field("preferred"), descending=True, maintain_order=True)
        )
    ranking = pl.int_range(1, pl.len() + 1, dtype=pl.Int32)
    if kind == "email":
        shaped = pl.struct(
            email=element.struct.field("email"),
            label=element.struct.field("label"),
            ranking=ranking,
        )
    else:
        shaped = pl.struct(
            phone_number=element.struct.field("phone_number"),
            country_code=element.struct.field("country_code"),
            phone_number_sanitized=pl.lit(None, pl.String),
            label=element.struct.field("label"),
            ranking=ranking,
        )
    return items.list.eval(shaped).cast(pl.List(dtype))


def _contact_items(
    entries: list[tuple[str, pl.Expr, str | None, str | None]],
    kind: str,
    country: pl.Expr,
) -> list[dict[str, pl.Expr]]:
    """The fields of each column's item, in the order of the item's struct, ranked in
    source order: each item's rank counts the filled columns before it.
    :func:`gather_items` makes the lists."""
    slots: list[dict[str, pl.Expr]] = []
    filled = [pl.col(col).is_not_null().cast(pl.Int32) for col, *_ in entries]
    for i, (col, label, _, _) in enumerate(entries):
        ranking = (pl.sum_horizontal(filled[:i]) + 1).cast(pl.Int32) if i else pl.lit(1, pl.Int32)
        if kind == "email":
            slots.append({"email": pl.col(col), "label": label, "ranking": ranking})
        else:
            slots.append(
                {
                    "phone_number": pl.col(col),
                    "country_code": country,
                    "phone_number_sanitized": pl.lit(None, pl.String),
                    "label": label,
                    "ranking": ranking,
                }
            )
    return slots


def gather_items(
    raw: pl.DataFrame, slots: Sequence[dict[str, pl.Expr]], dtype: pl.Struct
) -> pl.Series:
    """Per-row lists of items (structs of ``dtype``), one possible item per slot, in slot
    order: a slot's fields are expressions over ``raw`` in the struct's order, the first
    one the value (no item where it is null).

    polars' concat_list of structs is ~50x slower on large files than this, and
    list.drop_nulls ~30x: the fields side by side as fixed-size arrays, flattened row
    after row, made structs there, then cut into rows again (a reshape, no copy) and the
    empty slots filtered out (list.filter: ~40x faster than list.drop_nulls, and a little
    faster than the group-by over row positions used before). Only the fields that change
    from row to row are flattened so; those that are literals in every slot (labels,
    unknown countries) are placed by the slot number, not built per slot and flattened
    (0.42 -> ~0.31 s CPU for the e-mails and phones of 1M generated rows).
    """
    width = len(slots)
    names = list(slots[0])
    types = dtype.to_schema()
    varying = [
        n for n in names if not all(s[n].meta.is_literal(allow_aliasing=True) for s in slots)
    ]
    flat = raw.select(pl.concat_arr([s[n] for s in slots]).arr.explode().alias(n) for n in varying)
    slot = pl.int_range(0, pl.len(), dtype=pl.UInt32) % width
    fields: list[pl.Expr] = []
    for name in names:
        if name in varying:
            fields.append(pl.col(name))
            continue
        values = pl.select(s[name].cast(types[name]).alias(str(i)) for i, s in enumerate(slots))
        constants = values.row(0)
        if len(set(constants)) == 1:
            fields.append(pl.lit(constants[0], types[name]).alias(name))
        else:
            fields.append(pl.lit(pl.Series(constants, dtype=types[name])).gather(slot).alias(name))
    value = pl.col(names[0])
    items = pl.when(value.is_not_null()).then(pl.struct(fields))
    lists = items.reshape((-1, width)).arr.to_list().list.filter(pl.element().is_not_null())
    return flat.select(lists.cast(pl.List(dtype))).to_series()


def _by_label(header: _Header, mapping: Mapping) -> dict[str, pl.Expr]:
    """First value per field across numbered columns, the field chosen by each label."""
    found: dict[str, list[pl.Expr]] = {}
    for rule in mapping.by_label:
        labels: dict[int, str] = {}
        for pattern in rule.label_columns:
            for n, name in header.numbered(pattern):
                labels.setdefault(n, name)
        header.used.update(labels.values())
        for n, col in header.numbered(rule.column):
            header.used.add(col)
            value = pl.col(col)
            label = (
                pl.col(labels[n]).str.strip_prefix("* ").str.strip_chars().str.to_lowercase()
                if n in labels
                else pl.lit(None, pl.String)
            )
            known = pl.lit(False)
            for source_label, target in rule.fields.items():
                found.setdefault(target, []).append(pl.when(label == source_label).then(value))
                known = known | (label == source_label).fill_null(False)
            if rule.default:
                found.setdefault(rule.default, []).append(pl.when(~known).then(value))
    return {
        target: pl.coalesce(exprs) if len(exprs) > 1 else exprs[0]
        for target, exprs in found.items()
    }


def _country_hint(raw: pl.DataFrame, header: _Header, mapping: Mapping) -> pl.Expr | None:
    """The row's country as an ISO alpha-2 region hint for phone parsing. The names are
    looked up once per distinct value, then placed with a dictionary replace."""
    columns = list(dict.fromkeys(c for c in (header.find(n) for n in mapping.country) if c))
    if not columns:
        return None
    from dexio.readers.countries import region_of

    country = pl.coalesce([pl.col(c) for c in columns]) if len(columns) > 1 else pl.col(columns[0])
    names = raw.select(country.unique().drop_nulls()).to_series().to_list()
    table = {name: region for name in names if (region := region_of(name))}
    if not table:
        return pl.lit(None, pl.String)
    return country.replace_strict(
        list(table), list(table.values()), default=None, return_dtype=pl.String
    )


def _tags(raw: pl.DataFrame, header: _Header, mapping: Mapping) -> pl.Expr:
    lists: list[pl.Expr] = []
    for rule in mapping.fields:
        if rule.target != "tags":
            continue
        for name in rule.columns:
            col = header.find(name)
            if col is None:
                continue
            split = rule.split is not None and bool(
                raw.select(pl.col(col).str.contains(rule.split, literal=True).any()).item()
            )
            lists.append(_tag_list(pl.col(col), rule.split if split else None, rule.skip_prefix))
    if mapping.add_tags:
        lists.append(pl.lit(list(mapping.add_tags), dtype=pl.List(pl.String)))
    if not lists:
        return pl.lit([], dtype=pl.List(pl.String))
    if len(lists) == 1:
        return lists[0]
    return pl.concat_list(lists).list.unique(maintain_order=True)


def _tag_list(cell: pl.Expr, split: str | None, skip_prefix: str | None) -> pl.Expr:
    """The tags of a cell: its trimmed values (split at ``split``), empty ones and system
    groups left out. Where no cell holds the separator (``split=None``), each is one value:
    in one-item rows with the left-out ones filtered away, as in :func:`gather_items`:
    with the look for the separator, ~1.5x cheaper than a split and a filter in
    ``list.eval`` (0.12 -> 0.08 s CPU over 1M generated rows)."""
    if split is None:
        tag = cell.str.strip_chars()
        keep = tag.str.len_bytes() > 0
        if skip_prefix:
            keep = keep & ~tag.str.starts_with(skip_prefix)
        in_rows = pl.when(keep).then(tag).reshape((-1, 1)).arr.to_list()
        return in_rows.list.filter(pl.element().is_not_null())
    element = pl.element().str.strip_chars()
    keep = element.str.len_bytes() > 0
    if skip_prefix:
        keep = keep & ~element.str.starts_with(skip_prefix)
    return cell.str.split(split).list.eval(element.filter(keep)).fill_null([])


def _scalar(raw: pl.DataFrame, header: _Header, rule: FieldRule) -> pl.Expr | None:
    # dict.fromkeys: two names may find the same column ("Straße" and "Strasse").
    columns = list(
        dict.fromkeys(c for c in (header.find(n) for n in rule.columns) if c is not None)
    )
    if not columns:
        return None
    if rule.transform == "one_line":
        # Only columns that hold a line break need the (regex) rewrite: look once.
        broken = raw.select(pl.col(c).str.contains("[\r\n]").any() for c in columns).row(0)
        multi = {c for c, hit in zip(columns, broken, strict=True) if hit}
        exprs = [_transform(pl.col(c), "one_line") if c in multi else pl.col(c) for c in columns]
    else:
        exprs = [_transform(pl.col(c), rule.transform) for c in columns]
    if rule.date_format:
        exprs = [_as_date(e, rule.date_format) for e in exprs]
    if rule.join is not None:
        if len(exprs) == 1:  # nothing to join: the same cells, without concat_str's copy
            return _empty_to_null(exprs[0].cast(pl.String))
        joined = pl.concat_str(exprs, separator=rule.join, ignore_nulls=True)
        return _empty_to_null(joined)
    return exprs[0] if len(exprs) == 1 else pl.coalesce(exprs)


#: The characters JSON escapes in a string (polars' encoder escapes these and no others).
JSON_ESCAPED = r'[\x00-\x1f"\\]'


def extra_json(columns: dict[str, pl.Expr], plain: Collection[str] = ()) -> pl.Expr:
    """A JSON object string of the non-null values (null when there are none).

    Each value is encoded by polars as a one-field object and the braces trimmed off, so
    quoting and escaping stay polars' job; the fragments are then joined. The values of
    the keys in ``plain`` are strings known to hold nothing JSON escapes
    (:func:`plain_strings`): encoded, they are themselves between quotes, so they are put
    there directly (~3x faster). With one key (a file with one column left for ``extra``)
    the object is that key's fragment in braces, made in one pass instead of three (~2x
    faster); null where the value is.
    """
    if len(columns) == 1:
        ((key, value),) = columns.items()
        if key in plain:
            return pl.concat_str(pl.lit("{" + _plain_prefix(key)), value, pl.lit('"}'))
        return pl.when(value.is_not_null()).then(pl.struct(value.alias(key)).struct.json_encode())
    fragments = []
    for key, value in columns.items():
        if key in plain:
            fragments.append(pl.concat_str(pl.lit(_plain_prefix(key)), value, pl.lit('"')))
            continue
        encoded = pl.struct(value.alias(key)).struct.json_encode()
        inner = encoded.str.slice(1).str.head(-1)
        fragments.append(pl.when(value.is_not_null()).then(inner))
    if not fragments:
        return pl.lit(None, pl.String)
    joined = pl.concat_str(fragments, separator=",", ignore_nulls=True)
    return pl.when(joined.str.len_bytes() > 0).then("{" + joined + "}")


@cache  # asked again for every piece of a CSV file
def _plain_prefix(key: str) -> str:
    """What comes before a plain value in the object: '{"key":""}' -> '"key":"', the key
    quoted by polars all the same."""
    empty = pl.select(pl.struct(pl.lit("", pl.String).alias(key)).struct.json_encode())
    return str(empty.item())[1:-2]


def plain_strings(raw: pl.DataFrame, columns: dict[str, str]) -> set[str]:
    """The keys of ``columns`` (key -> column of ``raw``) whose column holds strings with
    nothing JSON escapes: the ``plain`` of :func:`extra_json`."""
    strings = {key: col for key, col in columns.items() if raw.schema[col] == pl.String}
    if not strings:
        return set()
    found = raw.select(
        pl.col(col).str.contains(JSON_ESCAPED).any().alias(f"escaped{i}")
        for i, col in enumerate(strings.values())
    ).row(0)
    return {key for key, escaped in zip(strings, found, strict=True) if not escaped}


def apply_mapping(mapping: Mapping, raw: pl.DataFrame) -> Applied:
    """Map a table of raw string columns (already trimmed, empty = null) to canonical columns.

    ``raw`` may carry ``ROW_COLUMN`` and ``ISSUES_COLUMN``; they come out as ``row`` and
    ``issues``. Each output row depends on its input row only: whatever is chosen by
    looking at the data (which columns need a rewrite, the cheap or the list path for
    e-mails and phones) gives the same rows for any part of the table. Keep it so:
    CSV files are mapped a piece at a time (``dexio.readers.read_in_pieces``).
    """
    passthrough = [c for c in (ROW_COLUMN, ISSUES_COLUMN) if c in raw.columns]
    data_columns = [c for c in raw.columns if c not in passthrough]
    header = _Header(data_columns)
    if mapping.null_values:
        raw = raw.with_columns(
            pl.when(pl.col(c).is_in(list(mapping.null_values)))
            .then(None)
            .otherwise(pl.col(c))
            .alias(c)
            for c in data_columns
        )
    out: dict[str, pl.Expr] = {}
    for rule in mapping.fields:
        if rule.target in ("tags",):
            continue
        expr = _scalar(raw, header, rule)
        if expr is None:
            continue
        if rule.target == "birthday":
            expr = _excel_serial_date(expr)
        if rule.target == "notes":
            # One note where there is a text, else []: the note (null where there is no
            # text) in one-item rows, the null ones filtered out (as in gather_items):
            # ~2x cheaper than the struct repeated once or not at all, which was ~25%
            # cheaper than a one-item concat_list with an empty otherwise.
            note = pl.when(expr.is_not_null()).then(
                pl.struct(body=expr, created_at=pl.lit(None, pl.String))
            )
            in_rows = note.reshape((-1, 1)).arr.to_list()
            out["notes"] = in_rows.list.filter(pl.element().is_not_null()).cast(pl.List(NOTE))
        elif rule.target in out:
            out[rule.target] = pl.coalesce(out[rule.target], expr)
        else:
            out[rule.target] = expr
    for target, expr in _by_label(header, mapping).items():
        out[target] = pl.coalesce(out[target], expr) if target in out else expr
    region = _country_hint(raw, header, mapping)
    gathered: dict[str, tuple[list[dict[str, pl.Expr]], pl.Struct]] = {}
    for name, rules, kind, hint, dtype in (
        ("emails", mapping.emails, "email", None, EMAIL),
        ("phones", mapping.phones, "phone_number", region, PHONE),
    ):
        made = _contact_list(raw, header, rules, kind, mapping, hint)
        if isinstance(made, list):
            gathered[name] = (made, dtype)
        else:
            out[name] = made
    out["tags"] = _tags(raw, header, mapping)
    if mapping.split_full_name and "full_name" in out:
        out.update(_split_full_name(out))

    extras: dict[str, pl.Expr] = {}
    as_found: dict[str, str] = {}  # key -> the column whose cells it keeps unchanged
    for rule_extra in mapping.extra:
        col = header.find(rule_extra.column)
        if col is not None:
            if rule_extra.date_format:
                extras[rule_extra.key] = _as_date(pl.col(col), rule_extra.date_format)
            else:
                extras[rule_extra.key] = pl.col(col)
                as_found[rule_extra.key] = col
    used_by_rules = set(header.used)
    dropped = [
        c
        for c in (header.find(n) for n in mapping.drop)
        if c is not None and c not in used_by_rules
    ]
    unclaimed = [c for c in data_columns if c not in header.used]
    for col in unclaimed:
        if col not in extras:
            extras[col] = pl.col(col)
            as_found[col] = col
    out["extra"] = extra_json(extras, plain_strings(raw, as_found))
    claimed = [c for c in data_columns if c in header.used and c not in dropped]
    renamed = {ROW_COLUMN: "row", ISSUES_COLUMN: "issues"}
    # Lazily, so polars evaluates a sub-expression used by several outputs only once.
    frame = raw.lazy().select(*[pl.col(c).alias(renamed[c]) for c in passthrough], **out).collect()
    if gathered:
        frame = frame.with_columns(
            gather_items(raw, items, dtype).alias(name) for name, (items, dtype) in gathered.items()
        )
    return Applied(frame=frame, claimed=claimed, unclaimed=unclaimed, dropped=dropped)


def _split_full_name(out: dict[str, pl.Expr]) -> dict[str, pl.Expr]:
    """Fill first/last from full_name when both are empty ("Last, First" or "First ... Last")."""
    full = out["full_name"].str.strip_chars()
    comma = full.str.contains(",")
    first = (
        pl.when(comma)
        .then(full.str.extract(r",\s*(.+)$", 1))
        .otherwise(full.str.extract(r"^(.+?)\s+\S+$", 1))
    )
    last = (
        pl.when(comma)
        .then(full.str.extract(r"^([^,]+),", 1))
        .otherwise(full.str.extract(r"(\S+)$", 1))
    )
    single = ~full.str.contains(r"\s") & ~comma
    first = pl.when(single).then(full).otherwise(first)
    last = pl.when(single).then(None).otherwise(last)
    have = (
        out.get("first_name", pl.lit(None, pl.String)).is_not_null()
        | out.get("last_name", pl.lit(None, pl.String)).is_not_null()
    )
    return {
        "first_name": pl.when(have)
        .then(out.get("first_name", pl.lit(None, pl.String)))
        .otherwise(first),
        "last_name": pl.when(have)
        .then(out.get("last_name", pl.lit(None, pl.String)))
        .otherwise(last),
    }
