"""The façade: a plan made once, carried as JSON to the parts, and finished into the profile the
engine gives for the whole source in one process."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from profiler import api
from profiler.files import expand
from tests.profiling.media_folders import image_folder, text_corpus


def carried(planned: api.Plan) -> api.Plan:
    """The plan as a worker elsewhere receives it: through JSON."""
    return api.Plan.from_data(json.loads(json.dumps(planned.as_data())))


def comparable(profile: api.Profile) -> dict:
    """The profile with each thumbnail's bytes replaced by their length."""
    thumbnails = [{**thumbnail, "content": len(thumbnail["content"])} for thumbnail in profile.get("thumbnails", [])]
    return {**profile, "thumbnails": thumbnails}


def parts_then_finish(files, format, options):
    planned = carried(api.plan(files, format, options))
    parts = [api.profile_part(carried(planned), index) for index in range(len(planned.partitions))]
    return api.finish(planned, parts)


@pytest.fixture
def split_source(tmp_path):
    rng = np.random.default_rng(5)
    root = tmp_path / "source"
    (root / "train").mkdir(parents=True)
    for name, rows in (("train/b.csv", 300), ("train/a.csv", 200), ("test.csv", 150)):
        frame = pd.DataFrame(
            {
                "x": rng.integers(0, 40, size=rows),
                "text": rng.choice(["red", "green", "blue"], size=rows),
                "label": rng.choice(["a", "b"], size=rows),
            }
        )
        frame.to_csv(root / name, index=False, sep=";")
    return root


def test_it_carries_a_plan_through_json_unchanged(split_source):
    options = api.Options(label_column="label", splits={"train": "train/", "test": "test.csv"})

    planned = api.plan(expand(split_source), "csv", options)

    assert carried(planned) == planned
    assert planned.dialect is not None
    assert planned.dialect["delimiter"] == ";"
    assert planned.file_names == ["test.csv", "train/a.csv", "train/b.csv"]


def test_its_parts_finish_into_the_profile_of_the_whole_source(split_source):
    options = api.Options(label_column="label", splits={"train": "train/", "test": "test.csv"})

    whole = api.profile(expand(split_source), "csv", options, workers=1)

    assert parts_then_finish(expand(split_source), "csv", options) == whole
    assert set(whole["splits"]) == {"train", "test"}
    assert whole["dialect"]["delimiter"] == ";"


def test_it_profiles_a_parquet_source_in_parts(tmp_path):
    rng = np.random.default_rng(7)
    table = pa.table({"x": rng.normal(size=3_000), "label": rng.choice(["a", "b", "c"], size=3_000)})
    pq.write_table(table, tmp_path / "data.parquet", row_group_size=1_000)
    files = expand(tmp_path / "data.parquet")

    planned = api.plan(files, "parquet", api.Options())

    assert carried(planned) == planned
    assert parts_then_finish(files, "parquet", api.Options()) == api.profile(files, "parquet", workers=1)


@pytest.mark.parametrize(("make", "format"), [(image_folder, "images"), (text_corpus, "text")])
def test_it_profiles_a_folder_of_media_in_parts(tmp_path, make, format):
    root = make(tmp_path / format)
    files = expand(root)

    planned = api.plan(files, format)

    assert carried(planned) == planned
    assert comparable(parts_then_finish(files, format, None)) == comparable(api.profile(files, format, workers=1))


def test_it_refuses_to_finish_without_every_part(split_source):
    planned = api.plan(expand(split_source), "csv")

    with pytest.raises(api.SourceError, match="Only 1 of 3 parts"):
        api.finish(planned, [api.profile_part(planned, 0)])


def test_it_refuses_a_split_that_holds_no_file(split_source):
    with pytest.raises(api.SourceError, match="'validation'"):
        api.plan(expand(split_source), "csv", api.Options(splits={"train": "train/", "validation": "valid/"}))


def test_a_plan_bound_to_the_files_where_a_part_runs_reads_them(split_source, tmp_path):
    planned = api.plan(expand(split_source), "csv")
    moved = tmp_path / "elsewhere"
    split_source.rename(moved)

    bound = carried(planned).bound_to(expand(moved))

    assert [file.path.parent.parent for file in bound.files if "/" in file.relative_path] == [moved, moved]
    assert api.finish(bound, [api.profile_part(bound, index) for index in range(3)]) == api.profile(
        expand(moved), "csv", workers=1
    )


def test_it_refuses_to_bind_a_plan_to_files_without_one_of_its_own(split_source):
    planned = api.plan(expand(split_source), "csv")
    (split_source / "test.csv").unlink()

    with pytest.raises(api.SourceError, match=r"test\.csv was removed"):
        planned.bound_to(expand(split_source))
