import pytest

from catalog.models import Dataset
from governance.licensing import LicenseExpressionInvalid, license_expression_parse
from governance.models import License

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("cc-by-4.0", "CC-BY-4.0"),
        ("CC-BY-4.0 and odbl-1.0", "CC-BY-4.0 AND ODbL-1.0"),
        ("mit OR apache-2.0", "MIT OR Apache-2.0"),
        ("(MIT or BSD-3-Clause) and CC-BY-NC-4.0", "(MIT OR BSD-3-Clause) AND CC-BY-NC-4.0"),
        ("GPL-2.0", "GPL-2.0-only"),
        ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),
        ("licenseref-bigscience-openrail-m", "LicenseRef-BigScience-OpenRAIL-M"),
        ("  CC0-1.0  ", "CC0-1.0"),
    ],
)
def test_it_normalises_an_expression(written, normal):
    assert license_expression_parse(written).expression == normal


@pytest.mark.parametrize("written", ["", "unknown", "UNKNOWN", "NOASSERTION"])
def test_it_reads_no_license_as_unknown(written):
    parsed = license_expression_parse(written)

    assert parsed.is_unknown
    assert parsed.ids == ()


def test_it_names_the_licenses_an_expression_holds():
    assert license_expression_parse("CC-BY-4.0 AND (MIT OR cc0-1.0)").ids == ("CC-BY-4.0", "CC0-1.0", "MIT")


def test_it_names_every_unknown_id():
    with pytest.raises(LicenseExpressionInvalid) as caught:
        license_expression_parse("CC-BY-4.0 AND Foo-1.0 OR LicenseRef-nobody")

    assert caught.value.unknown == ["Foo-1.0", "LicenseRef-nobody"]
    assert "Foo-1.0" in str(caught.value)


@pytest.mark.parametrize("written", ["MIT AND", "(MIT", "MIT)", "MIT WITH Apache-2.0", "AND OR"])
def test_it_rejects_broken_syntax(written):
    with pytest.raises(LicenseExpressionInvalid):
        license_expression_parse(written)


def test_it_knows_a_custom_license_as_soon_as_staff_add_it(staff_client):
    with pytest.raises(LicenseExpressionInvalid):
        license_expression_parse("LicenseRef-acme-1.0")

    staff_client.post("/api/v1/licenses/", {"spdx_id": "LicenseRef-acme-1.0", "name": "ACME"}, format="json")

    assert license_expression_parse("licenseref-ACME-1.0").expression == "LicenseRef-acme-1.0"


def test_it_registers_a_dataset_with_its_license_normalised(owner_client):
    response = owner_client.post(
        "/api/v1/datasets/", {"namespace": "team", "name": "a", "license": "cc-by-4.0 and odbl-1.0"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["license"] == "CC-BY-4.0 AND ODbL-1.0"


def test_it_rejects_a_registration_with_an_unknown_license_naming_it(owner_client):
    response = owner_client.post(
        "/api/v1/datasets/", {"namespace": "team", "name": "b", "license": "CC-BY-4.0 AND CC-BY-9.9"}, format="json"
    )

    assert response.status_code == 400
    message = response.json()["errors"]["license"][0]
    assert "CC-BY-9.9" in message
    assert "CC-BY-4.0," not in message
    assert not Dataset.objects.filter(name="b").exists()


def test_it_rejects_a_license_change_to_an_unknown_id_and_keeps_the_old(owner_client, dataset):
    Dataset.objects.filter(pk=dataset.pk).update(license="MIT")

    response = owner_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"license": "Apache-3.0"}, format="json")

    assert response.status_code == 400
    assert "Apache-3.0" in response.json()["errors"]["license"][0]
    dataset.refresh_from_db()
    assert dataset.license == "MIT"


def test_it_changes_a_license_to_its_normal_form(owner_client, dataset):
    response = owner_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"license": "gpl-3.0"}, format="json")

    assert response.status_code == 200
    assert response.json()["license"] == "GPL-3.0-only"


def test_it_stores_unknown_as_no_license(owner_client):
    response = owner_client.post(
        "/api/v1/datasets/", {"namespace": "team", "name": "c", "license": "unknown"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["license"] == ""


def test_it_filters_datasets_by_a_license_in_normal_form(owner_client):
    owner_client.post("/api/v1/datasets/", {"namespace": "team", "name": "d", "license": "cc0-1.0"}, format="json")

    response = owner_client.get("/api/v1/datasets/?license=cc0-1.0")

    assert [entry["name"] for entry in response.json()["results"]] == ["d"]


def test_a_deprecated_id_without_a_replacement_stays_itself():
    deprecated = License.objects.filter(is_deprecated=True, superseded_by="").first()

    assert license_expression_parse(deprecated.spdx_id).expression == deprecated.spdx_id


def test_it_rejects_an_expression_with_too_many_alternatives():
    clause = "(MIT OR Apache-2.0)"

    with pytest.raises(LicenseExpressionInvalid, match="ways to comply"):
        license_expression_parse(" AND ".join([clause] * 9))
    assert len(license_expression_parse(" AND ".join([clause] * 8)).ids) == 2


@pytest.mark.parametrize(
    ("written", "terms"),
    [
        ("MIT", {"license": "MIT", "exception": None}),
        ("Apache-2.0 WITH LLVM-exception", {"license": "Apache-2.0", "exception": "LLVM-exception"}),
        (
            "MIT AND CC-BY-4.0",
            {"all_of": [{"license": "MIT", "exception": None}, {"license": "CC-BY-4.0", "exception": None}]},
        ),
        (
            "MIT OR CC-BY-4.0",
            {"any_of": [{"license": "MIT", "exception": None}, {"license": "CC-BY-4.0", "exception": None}]},
        ),
        (
            "(MIT OR GPL-2.0-only WITH Classpath-exception-2.0) AND CC-BY-4.0",
            {
                "all_of": [
                    {
                        "any_of": [
                            {"license": "MIT", "exception": None},
                            {"license": "GPL-2.0-only", "exception": "Classpath-exception-2.0"},
                        ]
                    },
                    {"license": "CC-BY-4.0", "exception": None},
                ]
            },
        ),
    ],
)
def test_it_keeps_with_exceptions_and_tells_and_from_or(written, terms):
    assert license_expression_parse(written).terms == terms


def test_the_card_facts_carry_how_the_licenses_combine(owner_client, dataset):
    Dataset.objects.filter(pk=dataset.pk).update(license="MIT OR Apache-2.0 WITH LLVM-exception")

    facts = owner_client.get(f"/api/v1/datasets/{dataset.pk}/card/").json()["facts"]["license"]

    assert facts["expression"] == "MIT OR Apache-2.0 WITH LLVM-exception"
    assert facts["terms"] == {
        "any_of": [
            {"license": "MIT", "exception": None},
            {"license": "Apache-2.0", "exception": "LLVM-exception"},
        ]
    }
