"""The languages of the training content (item 1.3-e) read from the text columns of tables as from the
documents of corpora: a real table in English and French, profiled in process, counted as py3langid counts
it row by row; a column profiled before languages were identified is said to be unexamined."""

import pytest

from catalog.models import Feature
from governance.choices import Origin, OwnershipRole, Sensitivity
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory
from tests.profiling.bilingual import django_messages, long_messages, oracle
from tests.training.recorded import record, register
from training.content_summary import training_content_summary

pytestmark = pytest.mark.django_db


def _dataset(owner, name, **fields):
    made = DatasetFactory(namespace="pub", name=name, **fields)
    OwnershipFactory(dataset=made, user=owner, role=OwnershipRole.OWNER)
    return made


def _table(capture, owner, storage_root, name, frame, **fields):
    path = storage_root / name / "messages.csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    dataset = _dataset(owner, name, origin=Origin.PUBLIC_DATASET, license="CC-BY-4.0", **fields)
    return register(capture, actor=owner, dataset=dataset, path=path)


def _summary(client, model, **query):
    response = client.get(f"/api/v1/models/{model.pk}/training-content-summary", query)
    assert response.status_code == 200, response.content
    return response


def test_it_counts_the_languages_of_a_table_s_text_column(
    owner, owner_client, storage_root, django_capture_on_commit_callbacks
):
    frame = long_messages()
    version = _table(django_capture_on_commit_callbacks, owner, storage_root, "messages", frame)
    run = record(owner, "translator", version)

    summary = _summary(owner_client, run.model).json()

    expected = oracle(frame["message"])
    found = summary["sections"]["1.3"]["languages"]["value"]
    assert {entry["language"]: entry["documents"] for entry in found["languages"]} == {
        code: count for code, count in expected.items() if code not in ("too_short", "undetermined")
    }
    assert found["undetermined_documents"] == expected["too_short"] + expected["undetermined"]
    assert found["estimated"] is False
    [note] = [note for note in summary["notes"] if note.startswith("1.3-e")]
    assert "text columns of tables" in note
    assert "not examined" not in note
    markdown = _summary(owner_client, run.model, format="markdown").content.decode()
    assert f"en ({expected['en']:,} documents)" in markdown
    assert f"fr ({expected['fr']:,} documents)" in markdown


def test_a_long_column_s_sample_is_scaled_to_its_values_and_said_to_be_estimated(
    owner, owner_client, storage_root, django_capture_on_commit_callbacks
):
    frame = django_messages()
    version = _table(django_capture_on_commit_callbacks, owner, storage_root, "all-messages", frame)
    run = record(owner, "translator", version)

    summary = _summary(owner_client, run.model).json()

    found = summary["sections"]["1.3"]["languages"]["value"]
    assert found["estimated"] is True
    counted = {entry["language"]: entry["documents"] for entry in found["languages"]}
    # Scaled from 1,000 values to every value of the column (rounding aside).
    assert sum(counted.values()) + found["undetermined_documents"] == pytest.approx(len(frame), abs=len(counted) + 1)
    expected = oracle(frame["message"])
    for code in ("en", "fr"):
        assert counted[code] == pytest.approx(expected[code], rel=0.25)
    [note] = [note for note in summary["notes"] if note.startswith("1.3-e")]
    assert "sample of 1,000 of its rows" in note
    assert "pub/all-messages" in note
    assert "(estimated" in _summary(owner_client, run.model, format="markdown").content.decode()


def test_a_column_profiled_before_languages_were_identified_is_named_as_not_examined(
    owner, owner_client, storage_root, django_capture_on_commit_callbacks
):
    profiled = _table(django_capture_on_commit_callbacks, owner, storage_root, "messages", long_messages())
    older = VersionFactory(dataset=_dataset(owner, "old-reviews", origin=Origin.PUBLIC_DATASET), number=1, format="csv")
    Feature.objects.create(
        version=older,
        name="review",
        position=0,
        dtype="string",
        logical_type="text",
        statistics={"count": 100, "string_length": {"mean": 200.0}},
    )
    run = record(owner, "translator", profiled, older)

    summary = _summary(owner_client, run.model).json()

    assert {entry["language"] for entry in summary["sections"]["1.3"]["languages"]["value"]["languages"]} >= {
        "en",
        "fr",
    }
    [note] = [note for note in summary["notes"] if note.startswith("1.3-e")]
    assert "not examined for language (pub/old-reviews)" in note


def test_a_stranger_sees_the_languages_counted_but_not_the_restricted_table_named(
    owner, stranger, stranger_client, storage_root, django_capture_on_commit_callbacks
):
    frame = django_messages()
    version = _table(
        django_capture_on_commit_callbacks,
        owner,
        storage_root,
        "private-messages",
        frame,
        sensitivity=Sensitivity.RESTRICTED,
    )
    run = record(owner, "translator", version)

    summary = _summary(stranger_client, run.model).json()

    assert {entry["language"] for entry in summary["sections"]["1.3"]["languages"]["value"]["languages"]} >= {
        "en",
        "fr",
    }
    text = _summary(stranger_client, run.model, format="markdown").content.decode()
    assert "private-messages" not in text
    assert "private-messages" not in " ".join(summary["notes"])
    assert training_content_summary(run.model, stranger)["sections"]["1.3"]["languages"]["value"]["estimated"]


@pytest.mark.parametrize("query", [{"format": "markdown\x00"}, {"format": "x" * 10_000}, {"format": "yaml"}])
def test_it_refuses_a_hostile_format_with_a_clear_4xx(
    owner, owner_client, storage_root, django_capture_on_commit_callbacks, query
):
    version = _table(django_capture_on_commit_callbacks, owner, storage_root, "messages", long_messages())
    run = record(owner, "translator", version)

    response = owner_client.get(f"/api/v1/models/{run.model.pk}/training-content-summary", query)

    assert 400 <= response.status_code < 500, response.content
