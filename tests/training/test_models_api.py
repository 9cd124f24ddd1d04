"""GET/POST /api/v1/models/, GET/PATCH /api/v1/models/{id}/ and the model's owners: a model with its
owners, its latest confirmed run and its runs, changed only by those who answer for it."""

import pytest

from governance.models import Change, ModelOwnership
from tests.factories import UserFactory
from training.models import Model
from training.services import training_run_record
from training.specs import ModelRef, RunSpec

pytestmark = pytest.mark.django_db

MODELS = "/api/v1/models/"


@pytest.fixture
def model(owner_client) -> dict:
    response = owner_client.post(
        MODELS, {"namespace": "vision", "name": "sign-classifier", "description": "Signs", "tags": ["Vision"]}
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_it_creates_a_model_owned_by_its_creator(model):
    assert model["owners"] == [{"type": "user", "name": "olivia-owner", "role": "owner"}]
    assert (model["tags"], model["latest_run"], model["runs"]) == (["vision"], None, [])
    assert model["runs_url"] == f"/api/v1/training-runs/?model={model['id']}"
    assert Change.objects.filter(object_type="model", object_id=model["id"], action="create").exists()


def test_it_refuses_a_second_model_of_the_same_name(owner_client, model):
    response = owner_client.post(MODELS, {"namespace": "vision", "name": "sign-classifier"})

    assert response.status_code == 409
    assert response.json()["id"] == model["id"]


def test_it_shows_the_latest_confirmed_run_and_the_runs_latest_first(owner, stranger, owner_client, model):
    ref = ModelRef(id=model["id"])
    older = training_run_record(actor=owner, spec=RunSpec(model=ref, started_at=_at("2026-01-01")))
    newer = training_run_record(actor=owner, spec=RunSpec(model=ref, started_at=_at("2026-02-01")))
    # Reported by someone who may not write the model: listed, but not its latest until confirmed.
    reported = training_run_record(
        actor=stranger, spec=RunSpec(model=ref, started_at=_at("2026-03-01"), source="openlineage", external_id="r")
    )

    detail = owner_client.get(f"{MODELS}{model['id']}/").json()
    assert detail["latest_run"]["id"] == str(newer.pk)
    assert [run["id"] for run in detail["runs"]] == [str(reported.pk), str(newer.pk), str(older.pk)]
    assert owner_client.get(MODELS).json()["results"][0]["latest_run"]["id"] == str(newer.pk)

    assert owner_client.post(f"/api/v1/training-runs/{reported.pk}/confirm/").status_code == 200
    assert owner_client.get(f"{MODELS}{model['id']}/").json()["latest_run"]["id"] == str(reported.pk)


def _at(day: str):
    from datetime import UTC, datetime

    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def test_it_filters_models(owner_client, model):
    owner_client.post(MODELS, {"namespace": "text", "name": "spam-filter", "description": "Mail"})
    for query, names in [
        ({"namespace": "vision"}, ["sign-classifier"]),
        ({"name": "spam-filter"}, ["spam-filter"]),
        ({"tag": "VISION"}, ["sign-classifier"]),
        ({"q": "mail"}, ["spam-filter"]),
        ({"q": "sign"}, ["sign-classifier"]),
    ]:
        response = owner_client.get(MODELS, query)
        assert response.status_code == 200, response.json()
        assert [item["name"] for item in response.json()["results"]] == names, query


def test_its_owners_change_its_description_and_tags(owner_client, model):
    response = owner_client.patch(f"{MODELS}{model['id']}/", {"description": "Road signs", "tags": ["road"]})

    assert response.status_code == 200, response.json()
    assert (response.json()["description"], response.json()["tags"]) == ("Road signs", ["road"])
    entry = Change.objects.get(object_type="model", action="update")
    assert entry.before == {"description": "Signs", "tags": ["vision"]}


def test_it_refuses_to_rename_a_model(owner_client, model):
    response = owner_client.patch(f"{MODELS}{model['id']}/", {"name": "other"})

    assert response.status_code == 400
    assert "identify it and cannot change" in response.json()["errors"]["name"][0]


def test_owners_add_and_remove_owners_and_the_last_one_stays(owner_client, model):
    UserFactory(username="otto-other")
    owners = f"{MODELS}{model['id']}/owners/"

    assert owner_client.post(owners, {"user": "otto-other", "role": "steward"}).status_code == 201
    assert owner_client.post(owners, {"user": "otto-other", "role": "steward"}).status_code == 200
    assert {entry["name"] for entry in owner_client.get(owners).json()} == {"olivia-owner", "otto-other"}
    assert owner_client.delete(f"{owners}?user=otto-other&role=steward").status_code == 204
    last = owner_client.delete(f"{owners}?user=olivia-owner")
    assert last.status_code == 409
    assert "model's last owner" in last.json()["detail"]
    entries = Change.objects.filter(object_type="model_ownership").values_list("action", flat=True)
    assert sorted(entries) == ["create", "create", "delete"]


def test_a_steward_cannot_make_an_owner(owner_client, client_for, model):
    steward = UserFactory(username="stew")
    owner_client.post(f"{MODELS}{model['id']}/owners/", {"user": "stew", "role": "steward"})

    response = client_for(steward).post(f"{MODELS}{model['id']}/owners/", {"user": "stew", "role": "owner"})

    assert response.status_code == 403
    assert "model's owners" in response.json()["detail"]


def test_a_stranger_cannot_patch_re_own_or_hide_the_model(stranger_client, model):
    before = Model.objects.get(pk=model["id"])
    owners = f"{MODELS}{model['id']}/owners/"
    ownership = ModelOwnership.objects.get(model_id=model["id"])

    assert stranger_client.get(f"{MODELS}{model['id']}/").status_code == 200
    assert stranger_client.patch(f"{MODELS}{model['id']}/", {"description": "mine"}).status_code == 403
    assert stranger_client.post(owners, {"user": "simon-stranger"}).status_code == 403
    assert stranger_client.post(owners, {"user": "simon-stranger", "role": "steward"}).status_code == 403
    assert stranger_client.delete(f"{owners}?user=olivia-owner").status_code == 403
    assert stranger_client.delete(f"{owners}{ownership.pk}/").status_code == 403
    assert stranger_client.delete(f"{MODELS}{model['id']}/").status_code == 405
    assert Model.objects.get(pk=model["id"]).description == before.description
    assert list(ModelOwnership.objects.values_list("user__username", flat=True)) == ["olivia-owner"]


def test_anonymous_readers_see_no_model(anonymous_client, model):
    assert anonymous_client.get(MODELS).status_code == 401
    assert anonymous_client.get(f"{MODELS}{model['id']}/").status_code == 401
