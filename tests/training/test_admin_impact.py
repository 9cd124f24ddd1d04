"""The admin's dataset page lists the models trained on the dataset or on data derived from it."""

import pytest
from django.urls import reverse

from governance.choices import OwnershipRole
from lineage.services import edge_declare
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory
from tests.training.recorded import record, register, write_rows

pytestmark = pytest.mark.django_db


def test_the_dataset_page_lists_the_models_trained_on_it(
    client, owner, storage_root, django_capture_on_commit_callbacks
):
    raw, clean = (DatasetFactory(namespace="lab", name=name) for name in ("raw", "clean"))
    for dataset in (raw, clean):
        OwnershipFactory(dataset=dataset, user=owner, role=OwnershipRole.OWNER)
    raw_v1 = register(
        django_capture_on_commit_callbacks, actor=owner, dataset=raw, path=write_rows(storage_root / "raw" / "d.csv")
    )
    clean_v1 = register(
        django_capture_on_commit_callbacks,
        actor=owner,
        dataset=clean,
        path=write_rows(storage_root / "clean" / "d.csv"),
    )
    edge_declare(actor=owner, source=raw, target=clean)
    direct = record(owner, "direct-model", raw_v1, model_version="1.4.0")
    derived = record(owner, "derived-model", clean_v1)
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:catalog_dataset_change", args=[raw.pk])).content.decode()

    section = page[page.index("Models trained on this") :]
    assert "ml/direct-model</a> 1.4.0" in section
    assert "ml/derived-model" in section
    assert 'through <span class="wrapped">lab:clean</span>' in section
    assert reverse("admin:training_model_change", args=[direct.model_id]) in section
    assert reverse("admin:training_trainingrun_change", args=[derived.pk]) in section
