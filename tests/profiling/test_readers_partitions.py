"""The engine's readers on Parquet row groups and partitions, on files swapped after planning, and with read
options and tables separated by runs of spaces."""

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
from tests.profiling.reading import numbered_rows, partition_of


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
