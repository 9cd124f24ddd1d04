"""The engine's readers: source files as Arrow record batches, with their columns as the source names them."""

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import statsmodels

from profiler.files import SourceError, SourceFile, expand
from profiler.readers import (
    Partition,
    ReadOptions,
    plan_partitions,
    read_layout,
    read_options_parse,
    read_partition,
    read_schema,
    row_ranges,
)


def partition_of(path, format="csv") -> Partition:
    [partition] = plan_partitions([SourceFile(path.name, path)], format)
    return partition


def read_table(path, format="csv", **kwargs) -> pa.Table:
    partition = partition_of(path, format)
    batches = list(read_partition(partition, **kwargs))
    return pa.Table.from_batches(batches, schema=batches[0].schema if batches else read_schema(partition))


def numbered_rows(count, bad_row=None, bad_value="oops"):
    return "".join(f"{index},{bad_value if index == bad_row else index}\n" for index in range(count))


def test_it_reads_the_null_tokens_of_a_numeric_column_as_nulls(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("id,score\n1,1.5\n2,NA\n3,N/A\n4,null\n5,\n6,NULL\n7,NaN\n8,nan\n9,None\n10,2.5\n")

    table = read_table(path)

    assert pa.types.is_floating(table.schema.field("score").type)
    assert table.column("score").to_pylist() == [1.5, None, None, None, None, None, None, None, None, 2.5]


def test_it_keeps_a_dash_as_a_value(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("id,score\n1,1.5\n2,-\n")

    table = read_table(path)

    assert table.column("score").to_pylist() == ["1.5", "-"]


def test_it_reads_a_tsv_with_commas_in_its_fields(tmp_path):
    path = tmp_path / "reviews.tsv"
    path.write_text("id\ttext\tstars\n1\tgood, cheap\t5\n2\tslow, loud\t2\n")

    table = read_table(path, "tsv")

    assert table.column_names == ["id", "text", "stars"]
    assert table.column("text").to_pylist() == ["good, cheap", "slow, loud"]
    assert table.column("stars").to_pylist() == [5, 2]


def test_it_detects_a_semicolon_delimiter(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("item;price;note\napple;3;red, sweet\npear;4;green\n")

    table = read_table(path)

    assert table.column_names == ["item", "price", "note"]
    assert table.column("price").to_pylist() == [3, 4]
    assert table.column("note").to_pylist() == ["red, sweet", "green"]


def test_it_names_the_columns_of_a_file_without_header_column_1_onwards(tmp_path):
    path = tmp_path / "raw.csv"
    path.write_text("1,x,2.5\n2,y,3.5\n3,z,4.5\n")

    table = read_table(path)

    assert table.column_names == ["column_1", "column_2", "column_3"]
    assert table.num_rows == 3
    assert table.column("column_2").to_pylist() == ["x", "y", "z"]


def test_it_keeps_column_names_exactly_as_written(tmp_path):
    names = [" padded ", "Weight (kg)", "naïve é", "名前", "CamelCase", "a.b", "x-y", "100%", "semi;colon", 'quote"d']
    path = tmp_path / "names.csv"
    header = ",".join('"' + name.replace('"', '""') + '"' for name in names)
    path.write_text(header + "\n" + ",".join(str(index) for index in range(len(names))) + "\n", encoding="utf-8")
    partition = partition_of(path)

    assert read_schema(partition).names == names
    assert [batch.schema.names for batch in read_partition(partition)] == [names]


def test_it_renames_duplicate_column_names_as_duckdb_does(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("a,a,A\n1,2,3\n")

    assert read_table(path).column_names == ["a", "a_1", "A_2"]


def test_it_drops_a_utf8_byte_order_mark(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffPrénom,âge\nZoë,31\n".encode())

    table = read_table(path)

    assert table.column_names == ["Prénom", "âge"]
    assert table.to_pylist() == [{"Prénom": "Zoë", "âge": 31}]


def test_it_reads_accented_latin1_text(tmp_path):
    people = [("José", "Zürich", "très bien"), ("Françoise", "Besançon", "à côté"), ("Noël", "Malmö", "déjà vu")]
    lines = ["Prénom,Ville,Remarque"] + [",".join(person) for person in people * 20]
    path = tmp_path / "legacy.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))

    table = read_table(path)

    assert table.column_names == ["Prénom", "Ville", "Remarque"]
    assert [tuple(row.values()) for row in table.to_pylist()[:3]] == people


def test_it_reads_windows_1252_text(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_bytes("item,price,note\ncafé,€ 3,“fresh”\nthé,€ 2,it\u2019s hot\n".encode("cp1252"))

    table = read_table(path)

    assert table.to_pydict() == {"item": ["café", "thé"], "price": ["€ 3", "€ 2"], "note": ["“fresh”", "it\u2019s hot"]}


def test_it_reads_cyrillic_windows_1251_text(tmp_path):
    words = ["Привет", "мир", "Москва", "молоко", "хлеб", "книга", "дом", "улица"]
    path = tmp_path / "words.csv"
    rows = [f"{index},{words[index % 8]} {words[index * 3 % 8]}" for index in range(300)]
    path.write_bytes(("id,текст\n" + "\n".join(rows) + "\n").encode("cp1251"))

    table = read_table(path)

    assert table.column_names == ["id", "текст"]
    assert table.column("текст")[1].as_py() == "мир молоко"


def test_it_reads_invalid_utf8_beyond_an_ascii_start_as_windows_1252(tmp_path):
    path = tmp_path / "late.csv"
    rows = "".join(f"{index},name {index}\n" for index in range(400_000))
    assert len(rows) > 4 * 1024 * 1024
    path.write_bytes(b"id,name\n" + rows.encode() + "400000,José\n".encode("cp1252"))

    table = read_table(path, batch_rows=100_000)

    assert table.num_rows == 400_001
    assert table.column("name")[-1].as_py() == "José"


def test_it_replaces_invalid_bytes_beyond_a_utf8_start(tmp_path):
    path = tmp_path / "late.csv"
    rows = "".join(f"{index},Zoë {index}\n" for index in range(400_000))
    path.write_bytes(b"id,name\n" + rows.encode() + b"400000,bad \xff byte\n400001,Zo\xc3\xab\n")

    table = read_table(path, batch_rows=100_000)

    assert table.num_rows == 400_002
    assert table.column("name").to_pylist()[-3:] == ["Zoë 399999", "bad \ufffd byte", "Zoë"]


def test_it_reads_gzip(tmp_path):
    path = tmp_path / "train.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("id,label\n1,cat\n2,dog\n")

    assert read_table(path).to_pylist() == [{"id": 1, "label": "cat"}, {"id": 2, "label": "dog"}]


def test_it_keeps_newlines_inside_quoted_fields(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('id,note\n1,"first line\nsecond line"\n2,"say ""hi"""\n')

    assert read_table(path).column("note").to_pylist() == ["first line\nsecond line", 'say "hi"']


def test_it_keeps_a_quoted_newline_long_after_the_sample_in_a_ragged_file(tmp_path):
    path = tmp_path / "late.csv"
    rows = "".join(f"{index},n{index},e\n" for index in range(100_000))
    path.write_text("id,name,extra\n" + rows + '100000,"two\nlines"\n100001,short\n')

    table = read_table(path, batch_rows=10_000)

    assert table.num_rows == 100_002
    assert table.slice(100_000).to_pylist() == [
        {"id": 100_000, "name": "two\nlines", "extra": None},
        {"id": 100_001, "name": "short", "extra": None},
    ]


def test_it_pads_short_rows_with_nulls(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6\n")

    table = read_table(path)

    assert table.to_pydict() == {"a": [1, 4, 6], "b": [2, 5, None], "c": [3, None, None]}


@pytest.mark.parametrize("row", [2, 30_000])
def test_it_rejects_a_row_with_more_fields_than_the_header(tmp_path, row):
    path = tmp_path / "wide.csv"
    rows = [f"{index},{index},{index}" for index in range(1, 40_000)]
    rows[row - 1] += ",9"
    path.write_text("a,b,c\n" + "\n".join(rows) + "\n")

    with pytest.raises(SourceError, match=rf"^wide\.csv, line {row + 1}: the row has 4 fields, more than the 3 col"):
        list(read_partition(partition_of(path)))


def test_it_reads_a_numeric_looking_column_as_text_when_row_30000_is_not_a_number(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("id,code\n" + numbered_rows(40_000, bad_row=30_000, bad_value="A12"))

    table = read_table(path)

    assert table.num_rows == 40_000
    assert pa.types.is_string(table.schema.field("code").type)
    assert table.column("code")[30_000].as_py() == "A12"
    assert table.column("code")[29_999].as_py() == "29999"


@pytest.mark.xfail(reason="DuckDB 2.0 rounds 2.5 into the sniffed BIGINT (duckdb/duckdb#25824)", strict=True)
def test_it_widens_an_integer_column_to_float_from_a_full_sniff(tmp_path):
    path = tmp_path / "sizes.csv"
    path.write_text("id,size\n" + numbered_rows(40_000, bad_row=30_000, bad_value="2.5"))

    table = read_table(path)

    assert pa.types.is_floating(table.schema.field("size").type)
    assert table.column("size")[30_000].as_py() == 2.5


def test_it_rejects_a_value_that_does_not_convert_after_batches_went_out(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("id,code\n" + numbered_rows(400_000, bad_row=300_000))
    partition = partition_of(path)

    with pytest.raises(SourceError, match=r'^codes\.csv, line 300002: .*column "code".*"oops".*correct the value'):
        list(read_partition(partition, batch_rows=1_000))
    assert read_table(path).column("code")[300_000].as_py() == "oops"


def test_it_reads_true_and_false_as_booleans_and_yes_and_no_as_written(tmp_path):
    path = tmp_path / "flags.csv"
    path.write_text(
        "rained,sunny,done,label\n"
        + "true,yes,t,TRUE\nfalse,no,f,False\nNA,yes,t,true\n" * 10
        # Beyond the sniffer's sample a value of another spelling is read as DuckDB reads it.
        + "false,no,f,false\n" * 21_000
    )

    table = read_table(path)

    assert table.schema.field("rained").type == pa.bool_()
    assert table.column("rained").to_pylist()[:3] == [True, False, None]
    assert table.schema.field("label").type == pa.bool_()
    assert table.column("sunny").to_pylist()[:2] == ["yes", "no"]
    assert table.column("done").to_pylist()[:2] == ["t", "f"]


def test_it_reads_a_boolean_column_as_text_when_a_later_value_is_not_one(tmp_path):
    path = tmp_path / "flags.csv"
    path.write_text("id,flag\n" + "".join(f"{index},{'true' if index % 3 else 'false'}\n" for index in range(30_000)))
    with path.open("a") as handle:
        handle.write("30000,maybe\n")

    table = read_table(path)

    assert pa.types.is_string(table.schema.field("flag").type)
    assert table.column("flag").to_pylist()[-2:] == ["true", "maybe"]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (["01/02/2000", "03/04/2000", "12/11/2001"], ["2000-01-02", "2000-03-04", "2001-12-11"]),  # month first
        (["01/02/2000", "13/04/2000", "12/11/2001"], ["2000-02-01", "2000-04-13", "2001-11-12"]),  # 13 proves day first
        (["01/02/2000", "03/31/2000"], ["2000-01-02", "2000-03-31"]),
        (["01.02.2000", "03.04.2000"], ["2000-01-02", "2000-03-04"]),
        (["13.04.2000", "01.02.2000"], ["2000-04-13", "2000-02-01"]),
        (["01/02/2000 10:30:00", "03/04/2000 23:59:00"], ["2000-01-02 10:30:00", "2000-03-04 23:59:00"]),
        (["01/02/2000 10:30:00", "13/04/2000 23:59:00"], ["2000-02-01 10:30:00", "2000-04-13 23:59:00"]),
    ],
)
def test_it_reads_ambiguous_dates_month_first_unless_a_value_is_day_first(tmp_path, written, expected):
    path = tmp_path / "dates.csv"
    path.write_text("when,value\n" + "".join(f"{date},{index}\n" for index, date in enumerate(written)))

    table = read_table(path)

    assert [str(value) for value in table.column("when").to_pylist()] == expected
    if all(int(date[:2]) <= 12 for date in written):
        # As pandas reads them: month first where it can be (pandas decides value by value, a file by its column).
        assert [str(value) for value in pd.to_datetime(pd.read_csv(path)["when"], format="mixed")] == [
            str(pd.Timestamp(value)) for value in expected
        ]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (["Jan 1 2000", "Feb 29 2000", "Dec 31 2010"], ["2000-01-01", "2000-02-29", "2010-12-31"]),
        (["Jan-1-1995", "Sep-15-1995"], ["1995-01-01", "1995-09-15"]),
        (["January 1, 2000", "March 15, 2001"], ["2000-01-01", "2001-03-15"]),
        (["1 Jan 2000", "15 Mar 2001"], ["2000-01-01", "2001-03-15"]),
        (["01-Jan-2000", "15-Mar-2001"], ["2000-01-01", "2001-03-15"]),
    ],
)
def test_it_reads_dates_written_with_the_month_name(tmp_path, written, expected):
    path = tmp_path / "dates.csv"
    path.write_text("symbol,date,price\n" + "".join(f'A,"{date}",{index}.5\n' for index, date in enumerate(written)))

    table = read_table(path)

    assert table.schema.field("date").type == pa.date32()
    assert [str(value) for value in table.column("date").to_pylist()] == expected
    assert [str(value.date()) for value in pd.to_datetime(pd.read_csv(path)["date"], format="mixed")] == expected


def test_it_keeps_month_name_dates_as_text_beside_dates_of_another_format(tmp_path):
    # DuckDB reads one date format per file: the ISO column stays a date, the other text.
    path = tmp_path / "dates.csv"
    path.write_text("start,end\n2000-01-01,Jan 5 2000\n2000-02-01,Feb 3 2000\n")

    table = read_table(path)

    assert table.schema.field("start").type == pa.date32()
    assert table.column("end").to_pylist() == ["Jan 5 2000", "Feb 3 2000"]


def test_it_keeps_text_that_only_starts_like_a_date_as_text(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("note\nJan 1 2000\nMarch on\n")

    assert read_table(path).column("note").to_pylist() == ["Jan 1 2000", "March on"]


def test_it_reads_timestamps_with_an_offset_as_instants_in_utc(tmp_path):
    path = tmp_path / "stamps.csv"
    path.write_text("at,value\n2010-01-01T00:00:00+02:00,1\n2010-01-01 00:00:00-05:30,2\n2010-01-01T00:00:00Z,3\n")

    table = read_table(path)

    assert table.schema.field("at").type == pa.timestamp("us", tz="UTC")
    expected = pd.to_datetime(pd.read_csv(path)["at"], format="mixed", utc=True)
    assert [value.isoformat() for value in table.column("at").to_pylist()] == [value.isoformat() for value in expected]


def test_it_rejects_an_empty_file(tmp_path):
    path = tmp_path / "nothing.csv"
    path.write_bytes(b"")

    with pytest.raises(SourceError, match=r"^nothing\.csv is empty\.$"):
        list(read_partition(partition_of(path)))
    with pytest.raises(SourceError, match="is empty"):
        read_schema(partition_of(path))


def test_it_reads_the_columns_of_a_header_only_file(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("id,first name,score\n")
    partition = partition_of(path)

    assert read_schema(partition).names == ["id", "first name", "score"]
    assert sum(batch.num_rows for batch in read_partition(partition)) == 0


def test_it_reads_json_lines_with_nested_fields(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"id": 1, "User Name": "ann", "meta": {"tags": ["a", "b"], "score": 0.5}}\n'
        '{"id": 2, "User Name": null, "meta": {"tags": [], "score": null}}\n'
    )

    table = read_table(path, "jsonl")

    assert table.column_names == ["id", "User Name", "meta"]
    assert pa.types.is_struct(table.schema.field("meta").type)
    assert pa.types.is_list(table.schema.field("meta").type.field("tags").type)
    assert table.column("meta").to_pylist() == [{"tags": ["a", "b"], "score": 0.5}, {"tags": [], "score": None}]


def test_it_rejects_a_malformed_json_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"id": 1}\n{"id": 2}\n{"id": 3,,}\n{"id": 4}\n')

    with pytest.raises(SourceError, match=r"^events\.jsonl, line 3: Malformed JSON"):
        list(read_partition(partition_of(path, "jsonl")))


def write_parquet(path, row_group_sizes):
    start = 0
    with pq.ParquetWriter(path, pa.schema([("row id", pa.int64()), ("Label", pa.string())])) as writer:
        for size in row_group_sizes:
            ids = list(range(start, start + size))
            writer.write_table(pa.table({"row id": ids, "Label": [f"l{index % 3}" for index in ids]}))
            start += size


def test_it_groups_parquet_row_groups_by_target_rows(tmp_path):
    path = tmp_path / "train.parquet"
    write_parquet(path, [100, 100, 100])

    partitions = plan_partitions([SourceFile("train.parquet", path)], "parquet", target_rows=200)

    assert [(partition.row_groups, partition.rows_hint) for partition in partitions] == [((0, 1), 200), ((2,), 100)]
    first, second = (pa.Table.from_batches(list(read_partition(partition))) for partition in partitions)
    assert first.column("row id").to_pylist() == list(range(200))
    assert second.column("row id").to_pylist() == list(range(200, 300))
    assert first.column_names == ["row id", "Label"]


@pytest.mark.parametrize("parts", [2, 3, 4])
def test_it_recuts_parquet_row_groups_into_equal_shares_of_rows(tmp_path, parts):
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_parquet(first, [100, 100, 100, 100, 100])
    write_parquet(second, [70])
    files = [SourceFile("a.parquet", first), SourceFile("b.parquet", second)]

    shares = row_ranges(plan_partitions(files, "parquet", target_rows=100), parts)

    assert len(shares) == parts
    sizes = [sum(partition.rows_hint for partition in share) for share in shares]
    assert max(sizes) - min(sizes) <= 1
    assert sum(sizes) == 570
    read = {"a.parquet": [], "b.parquet": []}
    for share in shares:
        for partition in share:
            start, stop = partition.rows
            rows = [
                value
                for batch in read_partition(partition, batch_rows=64)
                for value in batch.column("row id").to_pylist()
            ]
            assert rows == list(range(start, stop))
            read[partition.relative_path] += rows
    assert read == {"a.parquet": list(range(500)), "b.parquet": list(range(70))}


def test_it_reads_a_small_parquet_file_as_one_partition(tmp_path):
    path = tmp_path / "train.parquet"
    write_parquet(path, [100, 100, 100])

    [partition] = plan_partitions([SourceFile("train.parquet", path)], "parquet")

    assert (partition.row_groups, partition.rows_hint) == (None, 300)
    assert read_schema(partition).names == ["row id", "Label"]
    assert sum(batch.num_rows for batch in read_partition(partition)) == 300


@pytest.mark.parametrize("format", ["csv", "parquet"])
def test_it_respects_batch_rows(tmp_path, format):
    path = tmp_path / f"rows.{format}"
    if format == "parquet":
        write_parquet(path, [2_500, 2_500])
    else:
        path.write_text("id,value\n" + numbered_rows(5_000))
    partition = partition_of(path, format)

    batches = list(read_partition(partition, batch_rows=1_000))

    assert all(0 < batch.num_rows <= 1_000 for batch in batches)
    assert sum(batch.num_rows for batch in batches) == 5_000
    assert all(batch.schema.equals(read_schema(partition)) for batch in batches)


def test_it_rejects_a_corrupt_parquet_file(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")

    with pytest.raises(SourceError, match=r"^broken\.parquet is not a readable Parquet file"):
        plan_partitions([SourceFile("broken.parquet", path)], "parquet")
    with pytest.raises(SourceError, match=r"^broken\.parquet is not a readable Parquet file"):
        list(read_partition(Partition(str(path), "broken.parquet", "parquet")))


def test_it_rejects_a_file_named_as_another_format(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    write_parquet(tmp_path / "b.parquet", [10])
    files = [SourceFile("a.csv", tmp_path / "a.csv"), SourceFile("b.parquet", tmp_path / "b.parquet")]

    with pytest.raises(SourceError, match=r"^b\.parquet is named like a parquet file, but the source is csv"):
        plan_partitions(files, "csv")


def test_it_releases_duckdb_when_the_iterator_is_closed_early(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("id,value\n" + numbered_rows(5_000))
    batches = read_partition(partition_of(path), batch_rows=1_000)

    assert next(batches).num_rows == 1_000
    batches.close()

    with pytest.raises(StopIteration):
        next(batches)


@pytest.mark.parametrize("format", ["csv", "jsonl", "parquet"])
def test_a_file_swapped_for_a_link_after_planning_is_never_read(tmp_path, format):
    """The readers open the file the source was expanded to, from its root, without following links:
    a name pointed at a secret outside the root in between fails the read, naming the file."""
    root, outside = (tmp_path / "root").resolve(), (tmp_path / "outside").resolve()
    (root / "set").mkdir(parents=True)
    outside.mkdir()
    name = f"data.{format}"
    for path, email in ((root / "set" / name, "a@example.org"), (outside / name, "patient-zero@example.org")):
        rows = {"email": [email] * 3, "diagnosis": ["flu"] * 3}
        if format == "parquet":
            pq.write_table(pa.table(rows), path)
        elif format == "csv":
            path.write_text("email,diagnosis\n" + f"{email},flu\n" * 3)
        else:
            path.write_text(f'{{"email": "{email}", "diagnosis": "flu"}}\n' * 3)
    [partition] = plan_partitions(expand(root / "set", confine_to=[root]), format)
    staged = root / "set" / "staged"
    staged.symlink_to(outside / name)
    staged.replace(root / "set" / name)

    with pytest.raises(SourceError, match=rf"^data\.{format} was replaced by a symbolic link while it was being read"):
        read_schema(partition)
    with pytest.raises(SourceError, match="was replaced by a symbolic link") as refused:
        list(read_partition(partition))
    assert "patient-zero" not in str(refused.value)


def test_a_partition_reads_the_file_it_was_planned_on_even_once_renamed(tmp_path):
    """Renaming a file over the planned one (same place, other bytes) is refused, not read."""
    root = tmp_path.resolve()
    (root / "data.csv").write_text("id,label\n1,a\n2,b\n")
    [partition] = plan_partitions(expand(root / "data.csv", confine_to=[root]), "csv")
    (root / "other.csv").write_text("id,label\n1,secret\n")
    (root / "other.csv").replace(root / "data.csv")

    with pytest.raises(SourceError, match=r"^data\.csv was replaced by another file while it was being read"):
        list(read_partition(partition))


# Read options and tables separated by runs of spaces, on statsmodels' own data files (pandas the oracle).

STATSMODELS = Path(statsmodels.__file__).parent / "datasets"


def read_with(path, read_options=None, format="csv") -> tuple[pa.Table, dict]:
    options = read_options_parse(read_options) if read_options else None
    [partition] = plan_partitions([SourceFile(path.name, path)], format, read_options=options)
    schema, dialect = read_layout(partition)
    batches = list(read_partition(partition))
    return pa.Table.from_batches(batches, schema=batches[0].schema if batches else schema), dialect


def assert_equals_pandas(table: pa.Table, expected: pd.DataFrame) -> None:
    assert table.column_names == [str(name) for name in expected.columns]
    assert table.num_rows == len(expected)
    for name in expected.columns:
        got, want = table.column(str(name)).to_pylist(), expected[name].tolist()
        if expected[name].dtype.kind == "f":
            assert np.allclose(np.array(got, dtype=float), np.array(want, dtype=float), equal_nan=True), name
        else:
            assert got == want, name


@pytest.mark.parametrize(
    ("relative", "quote"),
    [
        ("spector/spector.csv", "'"),  # single spaces, a header quoted with single quotes
        ("anes96/src/anes96.csv", '"'),  # single spaces, 944 rows
        ("copper/src/copper.dat", '"'),
        ("elnino/src/elnino.dat", '"'),  # lines led by spaces, runs of them between fields, a repeated name
    ],
)
def test_it_reads_a_table_separated_by_spaces_as_pandas_does_without_options(relative, quote):
    path = STATSMODELS / relative
    expected = pd.read_csv(path, sep=r"\s+", quotechar=quote)
    # DuckDB names a repeated column ANOM_1 where pandas says ANOM.1.
    expected = expected.rename(columns={f"ANOM.{index}": f"ANOM_{index}" for index in range(1, 4)})

    table, dialect = read_with(path)

    assert dialect["delimiter"] == "whitespace"
    assert dialect["quote"] == quote
    assert_equals_pandas(table, expected)


def test_it_reads_a_header_over_row_names_as_r_writes_it():
    """R's write.table: a header one field short of the rows, whose first field is the row's name."""
    path = STATSMODELS / "scotland/src/scotvote.csv"
    expected = pd.read_csv(path, sep=r"\s+")

    table, _ = read_with(path)

    assert table.num_rows == len(expected) == 32
    assert table.column(0).to_pylist() == list(expected.index)
    assert table.column_names[1:] == list(expected.columns)
    for name in expected.columns:
        got = np.array(table.column(name).to_pylist(), dtype=float)
        assert np.allclose(got, expected[name].to_numpy(dtype=float), equal_nan=True), name


def test_it_reads_a_header_less_space_separated_file_with_numbered_columns():
    path = STATSMODELS / "sunspots/src/sunspots_yearly.dat"
    expected = pd.read_csv(path, sep=r"\s+", header=None, names=["column_1", "column_2"])

    table, dialect = read_with(path)

    assert dialect["header"] is False
    assert_equals_pandas(table, expected)


def test_it_keeps_one_column_of_words_as_one_column(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("note\nthe pump was noisy today\nfine\nreplaced a filter\n")

    table, dialect = read_with(path)

    assert table.column_names == ["note"]
    assert dialect["delimiter"] != "whitespace"
    assert table.column("note").to_pylist()[0] == "the pump was noisy today"


def test_it_splits_on_runs_of_spaces_when_asked_and_keeps_quoted_fields_whole(tmp_path):
    path = tmp_path / "stations.txt"
    path.write_text('id   name            height\n1    "Mont Blanc"    4808\n2    Zugspitze       2962\n')

    table, dialect = read_with(path, {"delimiter": "whitespace"})

    assert dialect["delimiter"] == "whitespace"
    assert table.column("name").to_pylist() == ["Mont Blanc", "Zugspitze"]
    assert table.column("height").to_pylist() == [4808, 2962]


def test_it_reads_with_the_delimiter_quote_header_nulls_and_skipped_rows_given():
    path = STATSMODELS / "modechoice/modechoice.csv"
    expected = pd.read_csv(path, sep=";", header=None, skiprows=1, na_values=["0"], keep_default_na=False)
    expected.columns = [f"column_{index}" for index in range(1, len(expected.columns) + 1)]

    table, dialect = read_with(
        path, {"delimiter": ";", "header": False, "skip_rows": 1, "null_values": ["0"], "quote": ""}
    )

    assert dialect == {
        "delimiter": ";",
        "quote": "",
        "escape": dialect["escape"],
        "header": False,
        "encoding": "utf-8",
        "skip_rows": 1,
        "null_values": ["0"],
    }
    assert table.column_names == list(expected.columns)
    assert table.num_rows == len(expected)
    for name in expected.columns:
        assert table.column(name).null_count == expected[name].isna().sum(), name


def test_it_reads_a_tab_delimiter_given_as_backslash_t(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("word\tcount\nred, green\t3\nblue\t4\n")

    table, dialect = read_with(path, {"delimiter": "\\t"})

    assert dialect["delimiter"] == "\t"
    assert table.column("word").to_pylist() == ["red, green", "blue"]


def test_it_refuses_bytes_the_encoding_given_cannot_decode(tmp_path):
    path = tmp_path / "cities.csv"
    path.write_bytes("city,population\nZürich,421878\n".encode("cp1252"))

    with pytest.raises(SourceError, match=r"cannot be decoded as utf-8, the encoding given: bytes fc"):
        read_with(path, {"encoding": "utf-8"})
    with pytest.raises(SourceError, match=r"cannot be decoded as utf-16"):
        read_with(path, {"encoding": "utf-16"})


def test_it_decodes_with_the_encoding_given(tmp_path):
    path = tmp_path / "cities.csv"
    path.write_bytes("city,population\nZürich,421878\n".encode("cp1252"))

    table, dialect = read_with(path, {"encoding": "latin-1"})

    assert dialect["encoding"] == "iso8859-1"
    assert table.column("city").to_pylist() == ["Zürich"]


def test_it_refuses_a_skip_rows_past_the_end(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("a,b\n1,2\n")

    with pytest.raises(SourceError, match=r"skip_rows is 2, but the file has only 2 line\(s\)"):
        read_with(path, {"skip_rows": 2})


def test_it_counts_all_the_fields_of_a_ragged_row(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c,d,e\n" + "1,2,3,4,5\n" * 3 + ",".join(str(index) for index in range(31)) + "\n")

    with pytest.raises(SourceError, match=r"line 5: the row has 31 fields, more than the 5 columns"):
        read_with(path)


def test_it_counts_the_fields_of_a_ragged_row_with_quoted_delimiters(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text('a;b\n1;2\n3;"x;y";5;6\n')

    with pytest.raises(SourceError, match=r"line 3: the row has 4 fields, more than the 2 columns"):
        read_with(path, {"delimiter": ";"})


def test_read_options_are_refused_for_parquet(tmp_path):
    path = tmp_path / "table.parquet"
    pq.write_table(pa.table({"a": [1]}), path)

    with pytest.raises(SourceError, match="Read options apply to csv and tsv sources; this source is parquet"):
        plan_partitions([SourceFile(path.name, path)], "parquet", read_options=ReadOptions(delimiter=";"))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"sep": ","}, "Unknown read option(s): sep"),
        ({"delimiter": "ab"}, "is not one character"),
        ({"delimiter": "\n"}, "is not one character"),
        ({"encoding": "no-such-codec"}, "not an encoding Python knows"),
        ({"encoding": "base64"}, "not a text encoding"),
        ({"quote": "\n"}, "quote must be one character"),
        ({"skip_rows": 1_000_001}, "skip_rows must be a whole number"),
        ({"null_values": ["x" * 129]}, "at most 128 characters"),
        ({"null_values": [1]}, "null_values must be a list of strings"),
    ],
)
def test_read_options_parse_names_what_is_wrong(given, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        read_options_parse(given)


def test_read_options_parse_spells_them_back_as_given():
    options = read_options_parse(
        {"delimiter": "\\t", "header": False, "quote": "", "encoding": "Latin-1", "null_values": ["-", "-"]}
    )

    assert options == ReadOptions(delimiter="\t", header=False, quote="", encoding="iso8859-1", null_values=("-",))
    assert options.as_dict() == {
        "delimiter": "\\t",
        "header": False,
        "quote": "",
        "encoding": "iso8859-1",
        "null_values": ["-"],
    }
    assert read_options_parse({}) is None
    assert read_options_parse({"skip_rows": 0}) is None
