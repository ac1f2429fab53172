"""Random CSV shapes (headers the mappings know, ragged rows, quotes, odd encodings,
oversized cells) and byte-mutated real vCards: a frame or a clear InputError."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dexio

from .conftest import read_or_clear_error

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
SAMPLES = Path(__file__).resolve().parents[2] / "samples"
VCARDS = sorted((SAMPLES / "vcard").glob("*.vcf"))
HEADERS = ["First Name", "Last Name", "Email", "E-mail Address", "Phone", "Mobile Phone",
           "Company", "Job Title", "Birthday", "Notes", "Tags", "URL", "Connected On",
           "Given Name", "Family Name", "Labels", "", "*", "Email", "a,b", 'quo"te']  # fmt: skip
CELLS = st.one_of(
    st.sampled_from(["", " ", "ana@example.org", "+44 20 7946 0000", "1990-02-30", "=1+1",
                     "line\nbreak", '"', "x" * 300, "\x00", "\u202e", "Zoë", "::: :::"]),
    st.text(max_size=12),
)  # fmt: skip


@pytest.mark.timeout(90)
@FUZZ
@given(
    header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=10),
    rows=st.lists(st.lists(CELLS, max_size=12), max_size=15),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
)
def test_random_csv_shapes(
    header: list[str], rows: list[list[str]], delimiter: str, encoding: str
) -> None:
    text = io.StringIO()
    out = csv.writer(text, delimiter=delimiter)
    out.writerow(header)
    out.writerows(rows)  # ragged on purpose: rows longer and shorter than the header
    data = text.getvalue().encode(encoding, errors="replace")
    read_or_clear_error(data, ".csv")


@pytest.mark.timeout(90)
@FUZZ
@given(
    sample=st.sampled_from(VCARDS),
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 30), st.binary(max_size=6)),
                   min_size=1, max_size=6),
)  # fmt: skip
def test_mutated_real_vcards(sample: Path, edits: list[tuple[float, int, bytes]]) -> None:
    data = sample.read_bytes()
    for where, cut, noise in edits:
        at = int(where * len(data))
        data = data[:at] + noise + data[at + cut :]
    read_or_clear_error(data, ".vcf")


def test_an_oversized_cell_is_left_out_with_a_reason_and_the_rest_goes_through(
    tmp_path: Path,
) -> None:
    path = tmp_path / "big.csv"
    path.write_text(f"First Name,Notes\nAna,{'n' * (2 * 1024 * 1024)}\nBo,short\n")
    frame = dexio.read(path)
    assert frame["first_name"].to_list() == ["Ana", "Bo"]
    assert any("longer than 1 MB" in issue for issue in frame["issues"][0])
    assert frame["notes"][1].to_list()[0]["body"] == "short"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["first_name", "emails", "phones", "tags", "notes", "x", ""]), inner,
        max_size=4),
    max_leaves=20,
)  # fmt: skip


@pytest.mark.timeout(90)
@FUZZ
@given(st.lists(JSON_VALUES, min_size=1, max_size=8), st.booleans())
def test_random_json_and_json_lines(values: list[object], lines: bool) -> None:
    import json

    text = "\n".join(json.dumps(v) for v in values) if lines else json.dumps(values)
    read_or_clear_error(text.encode(), ".jsonl" if lines else ".json")
