"""The one pipeline behind import and migrate: any plan source, any destination."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

import dexio
from dexio.dex import Dex
from dexio.dex.convert import to_wire
from dexio.ghl.mapping import outbound_row as ghl_outbound
from dexio.ledger import LEDGER_NAME, Ledger
from dexio.pipeline import (
    DexDestination,
    Planned,
    _display_name,
    _merged_email,
    _primary_email,
    _source_key,
    items_from_plan,
    prepare,
    run,
)
from dexio.plan import plan
from dexio.schema import SCHEMA, conform, from_records
from dexio.whautomate.mapping import outbound_row as wa_outbound

PEOPLE: list[Mapping[str, Any]] = [
    {
        "source": "crm",
        "row": i + 1,
        "full_name": f"Pia Source{i}",
        "emails": [{"email": f"pia{i}@example.com", "label": None, "ranking": 1}],
    }
    for i in range(3)
]


def test_a_plan_source_runs_dry_then_for_real_then_plans_again(dex: Dex, tmp_path: Path) -> None:
    destination = DexDestination(dex)
    folder = tmp_path / "report"
    given: list[Ledger | None] = []

    def source(ledger: Ledger | None) -> Planned:
        given.append(ledger)
        frame = from_records(PEOPLE)
        items, before = prepare(frame, destination)
        return Planned(items, before, {"input_records": frame.height, "options": {}, "n": 3})

    def go(dry_run: bool) -> dict[str, int]:
        result = run(
            folder,
            "same-source",
            destination,
            source,
            command="test",
            extra={"destination": destination.name},
            dry_run=dry_run,
            read_in_summary=True,
            console=Console(quiet=True),
        )
        assert result.summary["read"] == {"input_records": 3, "n": 3}  # options left out
        return result.counts

    assert go(dry_run=True)["created"] == 3
    assert given == [None] and not (folder / LEDGER_NAME).exists()  # a dry run keeps no ledger
    assert dex.count() == 0
    assert go(dry_run=False)["created"] == 3
    assert dex.count() == 3
    again = go(dry_run=False)  # finished: the source plans again, against what Dex holds now
    assert again["created"] == 0 and again["unchanged"] == 3
    assert len(given) == 3 and all(isinstance(ledger, Ledger) for ledger in given[1:])


# -- ledger items: payloads and follow-ups built by polars ------------------------------


def _items_reference(planned: pl.DataFrame, merged: pl.DataFrame | None = None) -> pl.DataFrame:
    """items_from_plan as it was (one json.loads / json.dumps per row, a sort of the whole
    items frame): the definition the column-wise version is held to. One fix: lines are
    split on "\n" only (``splitlines`` also split records on U+0085 / U+2028 in a value)."""
    merged = merged if merged is not None else pl.DataFrame()
    records = planned.select(list(SCHEMA)).write_ndjson().split("\n")[:-1] if planned.height else []
    payloads: list[str | None] = []
    followups: list[str | None] = []
    for action, patch, record in zip(
        planned["action"].to_list(), planned["patch"].to_list(), records, strict=True
    ):
        body = json.loads(patch) if patch else {}
        later = {k: body[k] for k in ("tags", "notes", "reminders") if body.get(k)}
        followups.append(json.dumps(later) if later else None)
        if action == "create":
            payloads.append(record)
        elif action == "update":
            now = {k: body[k] for k in ("fields", "emails", "phones") if body.get(k)}
            payloads.append(json.dumps(now))
        else:
            payloads.append(None)
    cluster = (
        pl.col("cluster_id").cast(pl.String)
        if "cluster_id" in planned.columns
        else pl.lit(None, pl.String)
    )
    items = planned.select(
        pl.col("source"),
        pl.col("row").cast(pl.Int64),
        _source_key(planned),
        pl.col("action"),
        pl.when(pl.col("action").is_in(["create", "update"]))
        .then(pl.lit("planned"))
        .otherwise(pl.lit("done"))
        .alias("state"),
        pl.col("dest_id"),
        pl.Series("payload", payloads, dtype=pl.String),
        pl.Series("followups", followups, dtype=pl.String),
        pl.col("content_hash"),
        pl.col("reason"),
        pl.col("field"),
        _display_name().alias("full_name"),
        _primary_email().alias("email"),
        pl.col("company"),
        pl.col("survivor_source"),
        pl.col("survivor_row").cast(pl.Int64),
        cluster.alias("cluster_id"),
    )
    if merged.height:
        merged_items = merged.select(
            pl.col("source"),
            pl.col("row").cast(pl.Int64),
            pl.concat_str([pl.col("source"), pl.col("row").cast(pl.String)], separator="#").alias(
                "source_key"
            ),
            pl.lit("merged").alias("action"),
            pl.lit("done").alias("state"),
            pl.col("merge_reason").alias("reason"),
            pl.col("survivor_source"),
            pl.col("survivor_row").cast(pl.Int64),
            pl.col("cluster_id").cast(pl.String),
            *(
                [_display_name().alias("full_name")]
                if {"full_name", "first_name", "last_name"} <= set(merged.columns)
                else []
            ),
            *([_merged_email(merged.schema["emails"])] if "emails" in merged.columns else []),
        )
        items = pl.concat([items, merged_items], how="diagonal_relaxed")
    items = (
        items.sort(["source", "row"])
        .with_row_index("seq")
        .with_columns(pl.col("seq").cast(pl.Int64), pl.lit(0, pl.Int64).alias("attempts"))
    )
    return items


def _without_empty(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None and v != []}


def assert_items_match_reference(planned: pl.DataFrame, merged: pl.DataFrame) -> pl.DataFrame:
    got = items_from_plan(planned, merged)
    expected = _items_reference(planned, merged)
    assert got.columns == expected.columns
    assert got.drop("payload", "followups").equals(expected.drop("payload", "followups"))
    rows = zip(
        got["action"],
        got["payload"],
        expected["payload"],
        got["followups"],
        expected["followups"],
        strict=True,
    )
    for action, payload, old, later, old_later in rows:
        want = json.loads(old) if old is not None else None
        if action == "create":
            want = _without_empty(want)
        assert (json.loads(payload) if payload is not None else None) == want
        assert (json.loads(later) if later else None) == (
            json.loads(old_later) if old_later else None
        )
    return got


_text = st.text(max_size=10)
_opt = st.one_of(st.none(), _text)
_email = st.builds(
    lambda user, n, label: {"email": f"{user}@x{n}.example", "label": label, "ranking": n},
    st.sampled_from(["ana", "bo", "cy", "Zoë"]),
    st.integers(1, 3),
    _opt,
)
_phone = st.builds(
    lambda digits, n: {
        "phone_number": f"+1 212 555 {digits}",
        "country_code": "1",
        "phone_number_sanitized": f"+1212555{digits}",
        "label": None,
        "ranking": n,
    },
    st.sampled_from(["0101", "0102", "0103"]),
    st.integers(1, 2),
)
_record = st.fixed_dictionaries(
    {"emails": st.lists(_email, max_size=2)},
    optional={
        "full_name": _opt,
        "company": _opt,
        "job_title": _opt,
        "extra": _opt,
        "phones": st.one_of(st.none(), st.lists(_phone, max_size=2)),
        "tags": st.one_of(st.none(), st.lists(_opt, max_size=2)),
        "notes": st.one_of(
            st.none(),
            st.lists(st.fixed_dictionaries({"body": _text, "created_at": _opt}), max_size=2),
        ),
        "reminders": st.one_of(
            st.none(),
            st.lists(
                st.fixed_dictionaries(
                    {"text": _text, "due_date": _opt, "is_complete": st.none() | st.booleans()}
                ),
                max_size=1,
            ),
        ),
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_record, min_size=1, max_size=8), st.lists(_record, max_size=4), st.booleans())
def test_ledger_items_equal_the_per_row_json(
    rows: list[dict[str, Any]], held: list[dict[str, Any]], overwrite: bool
) -> None:
    """Creates, updates (patches with fields, lists and follow-ups), unchanged, rejected and
    merged rows of random plans: payloads and follow-ups as the per-row code made them."""
    frame = from_records([{"source": "in.csv", "row": n, **r} for n, r in enumerate(rows, 1)])
    existing = from_records(
        [{"source": "dex", "row": n, "source_id": f"d{n}", **r} for n, r in enumerate(held, 1)]
    ).with_columns(id=pl.col("source_id"), raw=pl.lit('{"v": 1}'))
    planned = plan(frame, existing, overwrite=overwrite, tags=["vip"])
    assert_items_match_reference(planned, pl.DataFrame())


def _generated(tmp_path: Path, rows: int) -> pl.DataFrame:
    bench = Path(__file__).resolve().parents[1] / "bench"
    if str(bench) not in sys.path:
        sys.path.insert(0, str(bench))
    generator = importlib.import_module("generate")
    generator.write_csv(tmp_path / "gen.csv", generator.generate(rows, 0.15, 7))
    return dexio.read(tmp_path / "gen.csv")


def test_ledger_items_of_a_generated_file_equal_the_per_row_json(tmp_path: Path) -> None:
    """Every item of a generated file planned against a destination holding some of its
    people (blanked fields, fewer phones, other tags): the column-wise payloads and
    follow-ups equal the per-row ones, and a create payload without its null keys makes
    the same Dex, GoHighLevel and Whautomate requests as the full record did."""
    deduped = dexio.dedupe(dexio.normalize(_generated(tmp_path, 1500), region="US"))
    held = (
        deduped.contacts.head(300)
        .with_row_index("k")
        .with_columns(
            source_id=pl.lit("d") + pl.col("k").cast(pl.String),
            company=pl.when(pl.col("k") % 3 == 0).then(None).otherwise(pl.col("company")),
            phones=pl.when(pl.col("k") % 5 == 0)
            .then(pl.col("phones").list.head(0))
            .otherwise(pl.col("phones")),
            tags=pl.when(pl.col("k") % 2 == 0).then(pl.lit(["old"])).otherwise(pl.col("tags")),
        )
        .drop("k")
        .with_columns(id=pl.col("source_id"), raw=pl.lit('{"v": 1}'))
    )
    planned = plan(conform(deduped.contacts), held, tags=["imported"])
    items = assert_items_match_reference(planned, deduped.merged)
    actions = set(items["action"])
    assert {"create", "update", "merged"} <= actions

    creates = items.filter(pl.col("action") == "create")
    slim = [json.loads(p) for p in creates["payload"]]
    in_order = planned.filter(pl.col("action") == "create").sort(["source", "row"])
    full = in_order.select(list(SCHEMA)).to_dicts()
    assert all(None not in r.values() and [] not in r.values() for r in slim)
    assert sum(len(r) for r in slim) < sum(len(r) for r in full)
    assert to_wire(from_records(slim)) == to_wire(from_records(full))
    for light, whole in zip(slim[:300], full[:300], strict=True):
        light_ghl = ghl_outbound(light, today="2026-01-01")
        assert light_ghl == ghl_outbound(whole, today="2026-01-01")
        assert wa_outbound(light) == wa_outbound(whole)
