import polars as pl
import pytest

from dexio.schema import SCHEMA, check, conform, empty_frame, from_records


def test_conform_adds_missing_columns_and_keeps_extras_last() -> None:
    frame = pl.DataFrame({"first_name": ["Ana"], "cluster_id": [7]})
    out = conform(frame)
    assert list(out.columns)[: len(SCHEMA)] == list(SCHEMA)
    assert out.columns[-1] == "cluster_id"
    assert out["first_name"].to_list() == ["Ana"]
    assert out["emails"].to_list() == [None]
    check(out)


def test_from_records_builds_nested_columns() -> None:
    frame = from_records(
        [
            {
                "source": "a.csv",
                "row": 1,
                "emails": [{"email": "a@x.com", "label": "work", "ranking": 1}],
            }
        ]
    )
    check(frame)
    assert frame["emails"][0].to_list()[0]["email"] == "a@x.com"
    assert frame["row"].dtype == pl.UInt32


def test_check_names_the_wrong_column() -> None:
    with pytest.raises(TypeError, match="row"):
        check(empty_frame().with_columns(pl.col("row").cast(pl.Int64)))
