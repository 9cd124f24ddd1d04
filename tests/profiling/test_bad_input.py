"""Odd and hostile files, generated here: each gives a correct profile or a SourceError a person can
act on, in bounded time, never a crash."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.profiling import engine
from catalog.profiling.files import SourceError, SourceFile


def profile(path, format="csv"):
    return engine.profile_files([SourceFile(path.name, path)], format, workers=1)


def test_a_bom_is_not_part_of_the_first_column_s_name(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffname,value\nx,1\ny,2\n".encode())

    result = profile(path)

    assert [feature["name"] for feature in result["features"]] == ["name", "value"]
    assert result["row_count"] == 2


def test_mixed_encodings_are_read_without_failing(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes("name,city\nJosé,Zürich\n".encode() + "Renée,Köln\n".encode("latin-1") + b"Bob,Oslo\n")

    assert profile(path)["row_count"] == 3


def test_quoted_newlines_stay_inside_their_value(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('id,text,label\n1,"hello\nworld",a\n2,"multi\nline\nvalue",b\n3,plain,a\n')

    result = profile(path)

    assert result["row_count"] == 3
    text = next(feature for feature in result["features"] if feature["name"] == "text")
    assert text["statistics"]["string_length"]["max"] == len("multi\nline\nvalue")


def test_a_row_with_too_many_fields_names_its_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8,9\n")

    with pytest.raises(SourceError, match="line 4: the row has 4 fields"):
        profile(path)


@pytest.mark.parametrize(("content", "message"), [("", "is empty"), ("a,b,c\n", "no data rows")])
def test_empty_and_header_only_files_are_refused_with_the_reason(tmp_path, content, message):
    path = tmp_path / "thin.csv"
    path.write_text(content)

    with pytest.raises(SourceError, match=message):
        profile(path)


def test_a_line_longer_than_the_reader_takes_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("a,b\n" + "x" * 3_000_000 + ",1\ny,2\n")

    with pytest.raises(SourceError, match="line size"):
        profile(path)


def test_nested_and_unusual_parquet_types_are_profiled(tmp_path):
    path = tmp_path / "nested.parquet"
    table = pa.table(
        {
            "nested": pa.array([{"x": 1, "y": [1, 2]}, {"x": 2, "y": []}, None]),
            "items": pa.array([[1, 2], [], None]),
            "attributes": pa.array([[("k", 1)], [], None], type=pa.map_(pa.string(), pa.int64())),
            "price": pa.array([None, None, None], type=pa.decimal128(10, 2)),
            "blob": pa.array([b"\x00\x01", b"", None]),
            "elapsed": pa.array([1, 2, None], type=pa.duration("s")),
            "seen": pa.array([1, 2, None], type=pa.timestamp("ns", tz="Europe/Berlin")),
            "kind": pa.array(["a", "b", "a"]).dictionary_encode(),
        }
    )
    pq.write_table(table, path)

    result = profile(path, "parquet")

    assert result["row_count"] == 3
    assert [feature["name"] for feature in result["features"]] == table.column_names
    kind = next(feature for feature in result["features"] if feature["name"] == "kind")
    assert kind["statistics"]["distinct_count"] == 2


def test_a_table_wider_than_the_profiler_finishes_is_refused(tmp_path):
    path = tmp_path / "wide.csv"
    columns = 10_000
    path.write_text(",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join("1" for _ in range(columns)) + "\n")

    with pytest.raises(SourceError, match="10,000 columns"):
        profile(path)
