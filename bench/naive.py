"""The baseline dexio is measured against: the script people write by hand.

Row by row with the csv module: every phone through phonenumbers, every e-mail through
email-validator (no DNS), then duplicates folded on the exact (lower-cased) e-mail only.
It does less than dexio (no fuzzy matching, no guard rails, no survivorship) and is still
the yardstick for "at least 10x faster".

    python bench/naive.py FILE [--region US]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import phonenumbers
from email_validator import EmailNotValidError, validate_email

PHONE_COLUMNS = ("Mobile", "Work Phone", "Phone")
EMAIL_COLUMNS = ("Email", "Work Email")


def naive_dedupe(path: Path, region: str = "US") -> list[int]:
    """Cluster number of every record (1-based record order), by exact e-mail."""
    first_with: dict[str, int] = {}
    clusters: list[int] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for index, record in enumerate(csv.DictReader(fh)):
            phones = []
            for column in PHONE_COLUMNS:
                raw = (record.get(column) or "").strip()
                if not raw:
                    continue
                try:
                    number = phonenumbers.parse(raw, region)
                    phones.append(
                        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                    )
                except phonenumbers.NumberParseException:
                    phones.append(raw)
            emails = []
            for column in EMAIL_COLUMNS:
                raw = (record.get(column) or "").strip()
                if not raw:
                    continue
                try:
                    checked = validate_email(raw, check_deliverability=False)
                    emails.append(checked.normalized.lower())
                except EmailNotValidError:
                    pass
            cluster = index
            for email in emails:
                if email in first_with:
                    cluster = first_with[email]
                    break
            for email in emails:
                first_with.setdefault(email, cluster)
            clusters.append(cluster)
    return clusters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--region", default="US")
    args = parser.parse_args(argv)
    clusters = naive_dedupe(args.file, args.region)
    people = len(set(clusters))
    print(f"{len(clusters):,} records, {people:,} people, {len(clusters) - people:,} merged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
