"""The plain-number fast path gives exactly what phonenumbers gives, and so does the step.

``_claim`` (split into claimed / left by ``_parse_fast`` here) answers for ``+<digits>``
and plain ``<digits>`` numbers without calling phonenumbers; these tests hold every number it claims to :func:`parse_phone` (random
digits, every region's example numbers and their near misses), check that it claims the
common shapes at all, and hold ``normalize_phones`` to the same output with the fast path
on and off.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import phonenumbers
import polars as pl
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

import dexio
from dexio.normalize import phones
from dexio.normalize.phones import _claim, normalize_phones, parse_phone
from dexio.schema import from_records

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"

# The brief's regions, the ones sharing a calling code with another (+1, +7, +44, +61,
# +262...) and a few with unusual prefixes (AR, BR and JP parse with transform rules).
REGIONS = [
    "US", "CA", "GB", "DE", "FR", "IT", "AU", "IN", "BR", "MX", "JP", "NL", "RU", "KZ",
    "GG", "JE", "IM", "CC", "CX", "RE", "YT", "NO", "SJ", "FI", "AX", "SM", "VA", "AR",
    "CH", "AT", "ES", "IE", "NZ", "ZA", "CN", "KR", "SG", "PR", "DO", "JM", "AG", "BS",
]  # fmt: skip
# Calling codes with no region ("001" entities: +800 freephone, +882 networks...).
NON_GEO = sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)


@pytest.fixture(autouse=True, scope="module")
def _fast_path_for_every_group() -> Iterator[None]:
    # The fast path leaves groups of fewer than _MIN_GROUP numbers to parse_phone; these
    # tests use a few numbers per region, so they lift that limit.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(phones, "_MIN_GROUP", 1)
        yield


def _parse_fast(pairs: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(pairs the fast path parses, with parse_phone's fields; pairs it leaves alone)."""
    pairs = pairs.with_row_index("__id")
    found = _claim(pairs)
    done = pairs.join(found, on="__id", how="inner", maintain_order="left").drop("__id")
    return done, pairs.join(found, on="__id", how="anti").drop("__id")


def _frame(pairs: list[tuple[str, str]]) -> pl.DataFrame:
    return pl.DataFrame(pairs, schema=["__text", "__region"], orient="row").unique()


def _assert_claims_match_parse_phone(pairs: list[tuple[str, str]]) -> pl.DataFrame:
    """Run the fast path over ``pairs``; every number it claims must equal parse_phone."""
    frame = _frame(pairs)
    done, left = _parse_fast(frame)
    assert done.height + left.height == frame.height
    assert done.select("__text", "__region").join(left, on=["__text", "__region"]).is_empty()
    for text, region, *fields in done.iter_rows():
        assert tuple(fields) == parse_phone(text, region), (text, region)
    return done


def _examples(regions: list[str]) -> Iterator[tuple[str, str]]:
    """The regions' example numbers of every type, as people write them."""
    numbers = []
    for region in regions:
        for kind in PhoneNumberType.values():
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                numbers.append((number, region))
    for code in NON_GEO:
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            numbers.append((number, "US"))
    for number, region in numbers:
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        national = "".join(
            c for c in phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL) if c.isdigit()
        )
        yield e164, region
        yield e164[1:], region  # the calling code without its "+"
        yield national, region
        yield e164, "US"
        yield national, "GB"
        # Dialled from abroad: the US, most of Europe, Australia, Japan's prefix.
        yield "011" + e164[1:], "US"
        yield "00" + e164[1:], "DE"
        yield "0011" + e164[1:], "AU"
        yield "010" + e164[1:], "JP"


def _near_misses(text: str) -> Iterator[str]:
    """One digit changed, dropped or added: lengths and patterns just off the valid ones."""
    plus = "+" if text.startswith("+") else ""
    digits = text.removeprefix("+")
    for i in range(len(digits)):
        yield plus + digits[:i] + str((int(digits[i]) + 3) % 10) + digits[i + 1 :]
    yield plus + digits[:-1]
    yield plus + digits + "7"
    yield plus + "0" + digits


ALL_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


# Every region, in six parts so that no one test runs long.
@pytest.mark.parametrize("part", range(6))
def test_every_example_number_and_near_miss_the_fast_path_claims_matches_parse_phone(
    part: int,
) -> None:
    pairs = list(_examples(ALL_REGIONS[part::6]))
    pairs += [(miss, region) for text, region in pairs[::5] for miss in _near_misses(text)]
    done = _assert_claims_match_parse_phone(pairs)
    # The sweep is worth something only if the fast path answers for much of it, valid
    # and invalid numbers alike.
    assert done.height > len(set(pairs)) // 3
    assert done["__problem"].null_count() > 200
    assert done["__problem"].is_not_null().sum() > 200


def test_the_common_shapes_are_claimed() -> None:
    pairs = [
        ("+12025550123", "US"),
        ("2025550123", "US"),
        ("12025550123", "US"),  # the calling code without "+": phonenumbers strips it
        ("4165550123", "CA"),
        ("+442079460958", "US"),
        ("02079460958", "GB"),
        ("447911123456", "GB"),
        ("+4930123456", "US"),
        ("030123456", "DE"),
        ("0612345678", "FR"),
        ("0612345678", "NL"),
        ("0212345678", "IT"),  # Italy keeps its leading zero: +390212345678
        ("+390212345678", "US"),
        ("0212345678", "AU"),
        ("9876543210", "IN"),
        ("5512345678", "MX"),
        ("+97143001234", "US"),
        ("+80012345678", "US"),  # +800, a code without a region
        ("011442079460958", "US"),  # 011, the US international prefix
        ("00442079460958", "GB"),
        ("0011442079460958", "AU"),
        ("0001234567", "GB"),  # 00 then 0 is no international prefix: a national number
        # Regions with a transform rule, where it does not apply.
        ("+5511987654321", "US"),
        ("+81312345678", "US"),
        ("2684601234", "AG"),
    ]
    done = _assert_claims_match_parse_phone(pairs)
    assert done.height == len(pairs)
    got = dict(zip(done["__text"] + done["__region"], done["__sanitized"], strict=True))
    assert got["0212345678IT"] == "+390212345678"
    assert got["12025550123US"] == "+12025550123"
    assert got["011442079460958US"] == got["00442079460958GB"] == "+442079460958"


def test_numbers_the_fast_path_leaves_to_phonenumbers() -> None:
    pairs = [
        ("+1 202 555 0123", "US"),  # not yet stripped of its punctuation
        ("2025550123x12", "US"),  # an extension
        ("1800FLOWERS", "US"),  # letters
        ("0044", "GB"),  # too short after the international prefix
        ("0099912345", "GB"),  # an unknown calling code after it
        ("+0123456789", "US"),  # no calling code starts with 0
        ("+999123456", "US"),  # an unknown calling code
        ("12", "GB"),  # too short to be possible
        ("0312345678", "JP"),  # JP rewrites its national prefix with a transform rule
        ("01187654321", "BR"),
        ("٠٢٠٧٩٤٦٠٩٥٨", "GB"),  # Arabic-Indic digits
    ]
    done, left = _parse_fast(_frame(pairs))
    assert done.is_empty()
    assert left.height == len(pairs)


@st.composite
def numbers(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["digits", "plus", "code", "idd"]))
    digits = draw(st.text(alphabet="0123456789", min_size=1, max_size=19))
    if kind == "plus":
        return "+" + digits
    if kind in ("code", "idd"):  # a real calling code in front, with "+", nothing or an IDD
        code = draw(st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)))
        prefixes = ["+", ""] if kind == "code" else ["00", "011", "0011", "010", "810", "000"]
        return draw(st.sampled_from(prefixes)) + str(code) + digits
    return digits


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(REGIONS), st.lists(numbers(), min_size=1, max_size=40))
def test_random_digit_strings_the_fast_path_claims_match_parse_phone(
    region: str, texts: list[str]
) -> None:
    done = _assert_claims_match_parse_phone([(text, region) for text in texts])
    event("claimed some" if done.height else "claimed none")


def _outputs(frame: pl.DataFrame, region: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    results = []
    for on in (True, False):
        monkeypatch.setattr(phones, "_FAST_PATH", on)
        results.append(normalize_phones(frame, region))
    return results


def _assert_same_either_way(
    frame: pl.DataFrame, monkeypatch: pytest.MonkeyPatch, region: str = "US"
) -> None:
    with_fast_path, without = _outputs(frame, region, monkeypatch)
    assert with_fast_path.equals(without)
    assert with_fast_path.write_ndjson() == without.write_ndjson()


def test_step_output_is_the_same_with_and_without_the_fast_path_on_a_generated_file(
    generated: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert generated["phones"].list.len().sum() > 3000
    _assert_same_either_way(generated, monkeypatch)


@pytest.mark.parametrize("region", ["US", "GB", "DE"])
def test_step_output_is_the_same_with_and_without_the_fast_path_on_samples(
    sample_path: Path, region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _assert_same_either_way(dexio.read(sample_path), monkeypatch, region)


def test_step_output_is_the_same_on_many_regions_repeats_and_hints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    examples = list(_examples(REGIONS))[::4]
    hints = [None, "GB", "+49", "33", "JP", "1"]
    records = [
        {
            "source": "s.csv",
            "row": i + 1,
            "phones": [
                {"phone_number": text, "country_code": hints[i % len(hints)], "label": "Mobile"},
                # The same number written another way is a repeat only once parsed.
                {"phone_number": examples[(i + 1) % len(examples)][0], "label": "work"},
                {"phone_number": text + " ext. 5"},
            ],
        }
        for i, (text, _) in enumerate(examples)
    ]
    _assert_same_either_way(from_records(records), monkeypatch, "GB")


def test_has_type_matches_phonenumbers_number_type_in_every_region() -> None:
    # _has_type matches the types sharing possible lengths as one alternation; hold it
    # to phonenumbers' own type lookup on every region's example numbers and near misses.
    for region in ALL_REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is None or not phones._checkable(metadata):
            continue
        texts = set()
        for kind in PhoneNumberType.values():
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                nsn = phonenumbers.national_significant_number(number)
                texts.update([nsn, *_near_misses(nsn)])
        frame = pl.DataFrame({"__nsn": sorted(texts)}, schema={"__nsn": pl.String})
        got = frame.select(phones._has_type(pl.col("__nsn"), metadata))["__nsn"].to_list()
        want = [
            phonenumbers.phonenumberutil._number_type_helper(text, metadata)
            != PhoneNumberType.UNKNOWN
            for text in frame["__nsn"]
        ]
        assert got == want, region


def test_patterns_checked_together_are_judged_as_one_at_a_time() -> None:
    # _compiles checks a region's patterns in one polars call: every region's as checked
    # one at a time, and one pattern polars refuses (a look-ahead) or an escape _ascii
    # cannot rewrite fails them all.
    for region in ALL_REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is not None:
            patterns = phones._patterns(metadata)
            alone = all(phones._compiles((pattern,)) for pattern in patterns)
            assert phones._compiles(patterns) == alone, region
    assert phones._compiles(("0[1-9]", "1(?:2|3){2}\\d"))
    assert not phones._compiles(("0[1-9]", "(?=1)2"))
    assert not phones._compiles(("0[1-9]", "[\\d]"))


@pytest.mark.parametrize(
    ("codes", "metas"),
    [([1, 1, 1], ["US", "US", "US"]), ([1, 44, 1], ["US", "GB", "US"]), ([1, 1], ["US", "CA"])],
)
def test_numbers_are_grouped_by_calling_code_as_group_by_groups_them(
    codes: list[int], metas: list[str]
) -> None:
    # One group (most exports) is not split; the groups must be group_by's either way.
    numbers = pl.DataFrame({"__id": range(len(codes)), "__code": codes, "__meta": metas})

    def groups(pairs: Any) -> dict[tuple[Any, ...], list[int]]:
        return {key: group["__id"].sort().to_list() for key, group in pairs}

    assert groups(phones._by_calling_code(numbers)) == groups(numbers.group_by("__code", "__meta"))


def test_calling_codes_are_found_as_the_known_prefix_of_the_digits() -> None:
    # _international looks the code up by the first three digits' value; hold it to the
    # known code each number starts with, for every three digits and a few tails.
    known = {
        str(code): region[0] for code, region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
    }
    texts = [f"{head:03d}{tail}" for head in range(1000) for tail in ("", "5", "0123456789")]
    texts += ["", "1", "44", "0", "00"]
    want = []
    for i, text in enumerate(texts):
        code = next((text[:n] for n in (1, 2, 3) if text[:n] in known), None)
        if len(text) > 2 and code is not None:
            want.append((i, int(code), known[code], text[len(code) :]))
    numbers = pl.DataFrame({"__id": range(len(texts)), "__digits": texts})
    assert phones._international(numbers).rows() == want


def test_region_hints_worked_out_once_each_match_the_rule_row_by_row() -> None:
    hints = [None, " +44", "DE", "us", "1", "0049", "x", "", "999", "+1", None, "DE", "44 "]
    series = pl.Series("country_code", hints * 3, dtype=pl.String)
    for default in ("US", "GB"):
        want = series.to_frame().select(phones._region_hint(pl.col("country_code"), default))
        assert phones._regions(series, default).to_list() == want.to_series().to_list()
