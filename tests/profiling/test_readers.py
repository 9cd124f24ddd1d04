"""The engine's readers on delimited text and JSON Lines: source files as Arrow record batches, with their
columns as the source names them."""

import gzip

import pandas as pd
import pyarrow as pa
import pytest

from profiler.files import SourceError
from profiler.readers import (
    read_partition,
    read_schema,
)
from tests.profiling.reading import numbered_rows, partition_of, read_table


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
