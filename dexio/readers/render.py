"""Rich tables for ``dexio inspect`` and ``dexio mappings``: presentation only, no logic."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dexio.mapping import Mapping
from dexio.readers import REJECTED, Reading

PREVIEW_FIELDS = ("row", "first_name", "last_name", "full_name", "company", "emails", "phones")


def render_reading(console: Console, reading: Reading, rates: dict[str, float], rows: int) -> None:
    frame = reading.frame
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_row("file", escape(str(reading.path)))
    summary.add_row("format", reading.format)
    if reading.mapping is not None:
        how = "detected from the header" if reading.mapping_detected else "given"
        summary.add_row("mapping", f"{escape(reading.mapping.name)} ({how})")
    for key, value in reading.details.items():
        summary.add_row(key, escape(value))
    if reading.dropped:
        summary.add_row("ignored columns", escape(", ".join(reading.dropped)))
    summary.add_row("contacts", f"{frame.height:,}")
    summary.add_row("rejected", f"{reading.rejected:,}")
    console.print(summary)

    fills = Table(title="Fields filled", title_justify="left")
    fills.add_column("field")
    fills.add_column("rows", justify="right")
    fills.add_column("share", justify="right")
    for name, share in rates.items():
        if share > 0:
            fills.add_row(name, f"{round(share * frame.height):,}", f"{share:.0%}")
    console.print(fills)

    preview = Table(title=f"First {min(rows, frame.height)} rows", title_justify="left")
    for name in PREVIEW_FIELDS:
        preview.add_column(name, overflow="fold")
    for record in frame.head(rows).select(PREVIEW_FIELDS).iter_rows(named=True):
        preview.add_row(*(escape(_cell(record[name])) for name in PREVIEW_FIELDS))
    console.print(preview)

    problems = list(reading.problems)
    row_issues = frame.filter(pl.col("issues").list.len() > 0).select("row", "issues")
    for row, issues in row_issues.head(20).iter_rows():
        for issue in issues:
            problems.append(f"row {row}: {issue}")
    if row_issues.height > 20:
        problems.append(f"... and {row_issues.height - 20} more rows with issues")
    if problems:
        console.print("[bold]Problems found[/]")
        for problem in problems:
            marker = "[red]x[/]" if REJECTED in problem else "[yellow]![/]"
            console.print(f"  {marker} {escape(problem)}")
    else:
        console.print("No problems found.")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict):
                text = item.get("email") or item.get("phone_number") or item.get("body") or ""
                label = item.get("label")
                parts.append(f"{text} ({label})" if label else str(text))
            else:
                parts.append(str(item))
        return "\n".join(parts)
    return str(value)


def render_mapping_list(console: Console, mappings: Sequence[Mapping]) -> None:
    table = Table()
    table.add_column("name")
    table.add_column("description")
    table.add_column("detected by columns")
    for mapping in mappings:
        signature = " | ".join(", ".join(s) for s in mapping.detect) or "(fallback)"
        table.add_row(escape(mapping.name), escape(mapping.description), escape(signature))
    console.print(table)


def render_mapping(console: Console, mapping: Mapping) -> None:
    console.print(f"[bold]{escape(mapping.name)}[/]  {escape(mapping.description)}")
    if mapping.path is not None:
        console.print(f"file: {escape(str(mapping.path))}")
    for signature in mapping.detect:
        console.print(f"detected when the header has: {escape(', '.join(signature))}")
    table = Table()
    table.add_column("column(s)")
    table.add_column("field")
    table.add_column("how")
    for rule in mapping.fields:
        how = []
        if rule.join is not None:
            how.append(f"joined with {rule.join!r}")
        elif len(rule.columns) > 1:
            how.append("first non-empty")
        if rule.transform:
            how.append(rule.transform)
        if rule.date_format:
            how.append(f"date {rule.date_format}")
        if rule.split:
            how.append(f"split on {rule.split!r}")
        if rule.skip_prefix:
            how.append(f"skip values starting {rule.skip_prefix!r}")
        table.add_row(escape(" | ".join(rule.columns)), rule.target, escape(", ".join(how)))
    for kind, rules in (("emails", mapping.emails), ("phones", mapping.phones)):
        for contact in rules:
            how = []
            if contact.label:
                how.append(f"label {contact.label!r}")
            if contact.label_columns:
                how.append(f"label from {' or '.join(contact.label_columns)}")
            if contact.split:
                how.append(f"split on {contact.split!r}")
            table.add_row(escape(contact.column), kind, escape(", ".join(how)))
    for by_label in mapping.by_label:
        targets = ", ".join(f"{k} -> {v}" for k, v in by_label.fields.items())
        if by_label.default:
            targets += f", other -> {by_label.default}"
        table.add_row(escape(by_label.column), "by label", escape(targets))
    if mapping.country:
        table.add_row(escape(" | ".join(mapping.country)), "phones (country hint)", "")
    for extra in mapping.extra:
        note = f"date {extra.date_format}" if extra.date_format else ""
        table.add_row(escape(extra.column), f"extra.{extra.key}", escape(note))
    for column in mapping.drop:
        table.add_row(escape(column), "(dropped)", "")
    console.print(table)
    if mapping.add_tags:
        console.print(f"tags added to every contact: {escape(', '.join(mapping.add_tags))}")
    if mapping.split_full_name:
        console.print("first/last names are split from the full name when both are empty")
    console.print("Columns not listed are kept in extra.")
