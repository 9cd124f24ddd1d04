"""Odd and hostile files, generated here: each gives a correct profile or a SourceError a person can
act on, in bounded time, never a crash."""

import gzip

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from profiler import engine, hashes
from profiler.files import SourceError, SourceFile


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


def _gzip_bomb(path, expanded_bytes):
    """A gzip file of one line repeated: a few hundred kilobytes that expand to `expanded_bytes`."""
    line = b"1,2.5,hello,world,0\n"
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(b"a,b,c,d,label\n")
        block = line * 50_000
        for _ in range(expanded_bytes // len(block)):
            handle.write(block)
    return path


def test_a_gzip_bomb_is_profiled_with_its_repeats_folded(tmp_path, monkeypatch):
    monkeypatch.setattr(hashes, "SPILL_BYTES", 4 * 1024 * 1024)  # spill, and so fold, many times
    path = _gzip_bomb(tmp_path / "bomb.csv.gz", 48 * 1024 * 1024)
    assert path.stat().st_size < 200_000
    rows = 48 * 1024 * 1024 // (len(b"1,2.5,hello,world,0\n") * 50_000) * 50_000

    result = profile(path)

    assert result["row_count"] == rows
    assert result["quality"]["duplicate_rows"] == rows - 1
    assert result["quality"]["class_counts"] == {"0": rows}


def test_repeated_rows_cost_one_entry_per_spill_not_one_per_row(monkeypatch):
    monkeypatch.setattr(hashes, "SPILL_BYTES", 1024 * 1024)
    store = hashes.HashStore()
    same = np.full(100_000, 0xF00D, dtype=np.uint64)
    for batch in range(20):
        store.add(same, same, np.arange(batch * 100_000, (batch + 1) * 100_000, dtype=np.uint64))
    spilled = sum(len(paths) for paths in store.spilled)
    bucket, surplus = store.bucket(0), store.surplus_of(0)
    unspilled = sum(len(chunk) for chunk in store.chunks[0])
    assert spilled >= 5
    # One entry a spill, and what is still in memory; the rows folded away are counted beside them.
    assert len(bucket) == spilled + unspilled
    assert set(bucket[:, 0].tolist()) == {0xF00D}
    assert int(bucket[:, 2].min()) == 0
    assert len(bucket) + int(surplus[:, 1].sum()) == 2_000_000
    store.discard()


def test_folded_repeats_still_count_as_conflicting_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(hashes, "SPILL_BYTES", 1024 * 1024)
    path = tmp_path / "two-labels.csv.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"a,b,label\n" + b"1,2,cat\n1,2,dog\n" * 200_000 + b"3,4,cat\n")

    quality = profile(path)["quality"]

    assert quality["duplicate_rows"] == 400_001 - 3
    assert quality["label_conflicts"]["groups"] == 1
    assert quality["label_conflicts"]["rows"] == 400_000
