"""Mapping files: loading by name or path, mistakes named by line, detection, numbered groups."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import dexio
from dexio.errors import MappingError
from dexio.mapping import available_mappings, load_mapping

SAMPLES = Path(__file__).parents[1] / "samples"


def test_every_shipped_mapping_loads() -> None:
    names = {m.name for m in available_mappings()}
    assert {"linkedin", "google", "outlook", "vcard", "dex", "generic"} <= names


def test_load_by_name_and_by_path(tmp_path: Path) -> None:
    assert load_mapping("linkedin").name == "linkedin"
    path = tmp_path / "crm.toml"
    path.write_text(
        'name = "crm"\n'
        'add_tags = ["from-crm"]\n'
        "[fields]\n"
        'full_name = "Kontakt"\n'
        'company = "Firma"\n'
        "[[emails]]\n"
        'column = "Mail"\n'
        'label = "work"\n'
    )
    csv = tmp_path / "crm.csv"
    csv.write_text("Kontakt;Firma;Mail;Umsatz\nAna Lima;Lima GmbH;ana@lima.example;1200\n")
    reading = dexio.inspect(csv, mapping=str(path))
    assert reading.mapping is not None and reading.mapping.name == "crm"
    assert not reading.mapping_detected
    row = reading.frame.row(0, named=True)
    assert row["full_name"] == "Ana Lima"
    assert row["company"] == "Lima GmbH"
    assert row["emails"] == [{"email": "ana@lima.example", "label": "work", "ranking": 1}]
    assert row["tags"] == ["from-crm"]
    assert reading.unclaimed == ["Umsatz"]


def test_padded_or_blank_label_values_read_the_same_on_either_contact_path(
    tmp_path: Path,
) -> None:
    """A cell holding several values (the rule's ``split``) or a "* " preference marker
    anywhere sends e-mails and phones down the list path; otherwise they take the cheap
    path. A padded or blank label of the mapping ([labels] or a rule's label) must come
    out the same on all (trimmed; blank = no label): a CSV file is mapped piece by piece,
    and pieces with and without such cells sit side by side. (The cheap path used to keep
    " mobile ", "" and " Cell ".)"""
    mapping = tmp_path / "labels.toml"
    mapping.write_text(
        'name = "labels"\n'
        "[[phones]]\n"
        'column = "Phone"\n'
        'label_column = "Type"\n'
        'label = " Cell "\n'
        'split = ";"\n'
        "[labels]\n"
        'mob = " Mobile "\n'
        'old = ""\n'
    )
    rows = "Phone,Type\n+1 415 555 0100,Mob\n+1 415 555 0101,old\n+1 415 555 0104,\n"
    files = {
        "plain": rows,
        "split": rows + '"+1 415 555 0102; +1 415 555 0103",Mob\n',
        "marked": rows + "+1 415 555 0102,* Mob\n",
    }
    labels = {}
    for name, text in files.items():
        (tmp_path / f"{name}.csv").write_text(text)
        frame = dexio.read(tmp_path / f"{name}.csv", mapping=mapping)
        labels[name] = [phones[0]["label"] for phones in frame["phones"]][:3]
    assert labels == {name: ["mobile", None, "Cell"] for name in files}
    assert load_mapping(mapping).phones[0].label == "Cell"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            'name = "x"\n[fields]\nfirst_name = "A"\nfirts_name = "B"\n',
            4,
            "unknown field 'firts_name'",
        ),
        ('name = "x"\n[fields]\nfirst_name = "A\n', 3, "not valid TOML"),
        ('name = "x"\ncolums = 3\n', 2, "unknown key 'colums'"),
        (
            '[fields]\n\nlinkedin = { column = "URL", transform = "shout" }\n',
            3,
            "unknown transform",
        ),
        ("[fields]\ncompany = 7\n", 2, "fields.company"),
        ('[[emails]]\nlabel = "work"\n', 1, "needs column"),
    ],
)
def test_mistakes_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert caught.value.line == line
    assert str(path) in str(caught.value) and f"line {line}" in str(caught.value)
    assert words in str(caught.value)


def test_unknown_mapping_name_lists_the_known_ones() -> None:
    with pytest.raises(MappingError, match=r"known: .*linkedin"):
        load_mapping("linkdin")


def test_bad_mapping_on_the_command_line_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[fields]\nshoe_size = 'Shoe'\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dexio",
            "inspect",
            str(SAMPLES / "linkedin" / "Connections.csv"),
            "--mapping",
            str(bad),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "line 2" in result.stderr and "shoe_size" in result.stderr
    assert "Traceback" not in result.stderr


def test_mappings_commands() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "dexio", "mappings", "list"], capture_output=True, text=True
    )
    assert listed.returncode == 0
    for name in ("linkedin", "google", "outlook", "vcard", "dex", "generic"):
        assert name in listed.stdout
    shown = subprocess.run(
        [sys.executable, "-m", "dexio", "mappings", "show", "google"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
    )
    assert shown.returncode == 0
    assert "E-mail {n} - Value" in shown.stdout


def test_dexio_csv_layout_reads_back(tmp_path: Path) -> None:
    """What `dexio export` writes in its own CSV layout comes back as the same contacts,
    including more emails than the layout has numbered columns."""
    original = dexio.read(SAMPLES / "google" / "contacts.csv").with_columns(
        pl.format("dex-{}", pl.col("row")).alias("source_id")
    )
    many = [
        {"email": f"p{i}@x.example", "label": "work" if i % 2 else None, "ranking": i + 1}
        for i in range(7)
    ]
    original = original.with_columns(
        pl.when(pl.col("row") == 1).then(pl.lit(many)).otherwise(pl.col("emails")).alias("emails")
    )
    path = tmp_path / "export.csv"
    dexio_writers = pytest.importorskip("dexio.writers")
    dexio_writers.write(original, path, layout="dexio")
    reading = dexio.inspect(path)
    assert reading.mapping is not None and reading.mapping.name == "dex"
    back = reading.frame
    for name in ("source_id", "first_name", "last_name", "company", "birthday", "tags"):
        assert back[name].to_list() == original[name].to_list(), name
    assert back["emails"][0].to_list() == many
    assert back["emails"].to_list()[1:] == original["emails"].to_list()[1:]
    assert [[p["phone_number"] for p in ps] for ps in back["phones"].to_list()] == [
        [p["phone_number"] for p in ps] for ps in original["phones"].to_list()
    ]
