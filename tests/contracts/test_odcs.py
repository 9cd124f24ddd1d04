"""A contract as an ODCS v3 document: the export validates (JSON schema, the open-data-contract-standard
model, `datacontract lint`), reads back as the same contract, and hostile YAML is refused."""

import functools
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from open_data_contract_standard.model import OpenDataContractStandard

from contracts import odcs
from contracts.models import ContractVersion
from contracts.rules import DRIFT_METRICS, LOGICAL_TYPES, ContractInvalid, contract_parsed, value_key
from tests.hostile import ALIAS_BOMB

# The ODCS v3.1.0 JSON schema (Apache-2.0, Bitol; see NOTICE there) and a contract written to it.
STANDARDS = Path(__file__).parent.parent / "standards" / "odcs"


@functools.cache
def odcs_validator() -> jsonschema.protocols.Validator:
    path = STANDARDS / "odcs-json-schema-v3.1.0.json"
    return jsonschema.Draft201909Validator(json.loads(path.read_text()))


share = st.floats(min_value=0, max_value=1, allow_nan=False)
number = st.one_of(st.integers(min_value=-(10**12), max_value=10**12), st.floats(-1e12, 1e12, allow_nan=False))
# Text a contract takes: no NUL, no lone surrogate (refused where they come in).
text = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=8)
value = st.one_of(text, st.integers(-1000, 1000), st.booleans())
names = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)


@st.composite
def features(draw, name):
    feature = {"name": name}
    logical = draw(
        st.one_of(
            st.none(), st.sampled_from(LOGICAL_TYPES), st.lists(st.sampled_from(LOGICAL_TYPES), min_size=1, max_size=3)
        )
    )
    if logical is not None:
        feature["logical_type"] = logical
    feature["required"] = draw(st.booleans())
    feature["unique"] = draw(st.booleans())
    bounds = draw(st.sampled_from(["none", "numbers", "dates"]))
    if bounds == "numbers":
        low, high = sorted([draw(number), draw(number)])
        feature.update(min=low, max=high)
    elif bounds == "dates":
        feature.update(min="2020-01-01", max="2024-12-31")
    if draw(st.booleans()):
        values = draw(st.lists(value, max_size=5, unique_by=value_key))
        feature["allowed_values"] = values
        feature["max_outside_share"] = draw(share)
    if draw(st.booleans()):
        feature["max_null_fraction"] = draw(share)
    if draw(st.booleans()):
        low, high = sorted([draw(st.integers(0, 100)), draw(st.integers(0, 100))])
        feature.update(min_length=low, max_length=high, pattern=draw(st.sampled_from([None, "[a-z]+", r"\d{3}-\d{2}"])))
    if draw(st.booleans()):
        feature["max_drift"] = draw(st.dictionaries(st.sampled_from(DRIFT_METRICS), share, max_size=3))
    return feature


@st.composite
def contracts(draw):
    chosen = draw(st.lists(names, max_size=5, unique=True))
    dataset = {}
    if draw(st.booleans()):
        low, high = sorted([draw(st.integers(0, 10**9)), draw(st.integers(0, 10**9))])
        dataset.update(min_rows=low, max_rows=high)
    for key in ("max_duplicate_share", "min_class_share", "max_label_conflict_share"):
        if draw(st.booleans()):
            dataset[key] = draw(share)
    if draw(st.booleans()):
        dataset["classes"] = draw(st.lists(text, max_size=4, unique=True))
    dataset["no_split_leakage"] = draw(st.booleans())
    return contract_parsed(
        {
            "enforcement": draw(st.sampled_from(["warn", "block"])),
            "reference_version": 1,
            "features": [draw(features(name)) for name in chosen],
            "dataset": dataset,
        }
    )


def exported(contract: dict) -> str:
    return odcs.odcs_yaml(
        odcs.odcs_document(contract, contract_id="2b0f8c1e-0000-4000-8000-000000000001", name="zoo/penguins", version=2)
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contract=contracts())
def test_it_reads_back_every_constraint_it_exports(contract):
    text = exported(contract)

    assert contract_parsed(odcs.contract_from_odcs(odcs.odcs_loaded(text))) == contract


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contract=contracts())
def test_it_exports_documents_the_standard_accepts(contract):
    text = exported(contract)
    document = yaml.safe_load(text)

    errors = list(odcs_validator().iter_errors(document))
    assert errors == [], [error.message for error in errors[:3]]
    model = OpenDataContractStandard.model_validate(document)
    assert model.apiVersion == "v3.1.0"
    assert len(model.schema_[0].properties or []) == len(contract["features"])


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (ALIAS_BOMB.split("---")[1], "odcs"),
        ("a: &x 1\nb: *x\n", "odcs"),
        ("[" * 100 + "]" * 100, "odcs"),
        ("- 1\n- 2\n", "odcs"),
        ("x: " + "y" * (2 * 1024 * 1024), "odcs"),
        ("a: [unclosed", "odcs"),
        ("kind: Pipeline\n", "odcs.kind"),
        ("schema: {}\n", "odcs.schema"),
        ("schema: [{}, {}]\n", "odcs.schema"),
        (
            "schema: [{properties: [{name: x, quality: [{type: custom, engine: training-data-catalog, implementation: {check: teleport}}]}]}]",
            "odcs.schema.0.properties.0.quality.0.implementation",
        ),
        (
            "schema: [{properties: [{name: x, quality: [{metric: nullValues, mustBeLessOrEqualTo: lots}]}]}]",
            "odcs.schema.0.properties.0.quality.0.mustBeLessOrEqualTo",
        ),
        (
            "schema: [{properties: [{name: x, quality: [{metric: nullValues, mustBe: 3, unit: rows}]}]}]",
            "odcs.schema.0.properties.0.quality.0.mustBe",
        ),
    ],
)
def test_it_refuses_hostile_or_wrong_yaml_naming_the_field(text, field):
    with pytest.raises(ContractInvalid) as raised:
        odcs.contract_from_odcs(odcs.odcs_loaded(text))
    assert raised.value.field == field


def test_it_leaves_other_engines_rules_out():
    text = (STANDARDS / "training-dataset.odcs.yaml").read_text()

    contract = contract_parsed(odcs.contract_from_odcs(odcs.odcs_loaded(text)))

    by_name = {feature["name"]: feature for feature in contract["features"]}
    assert by_name["review_id"]["unique"] is True
    assert (by_name["text"]["min_length"], by_name["text"]["max_length"]) == (1, 5000)
    assert (by_name["rating"]["min"], by_name["rating"]["max"]) == (1, 5)
    assert by_name["split"]["allowed_values"] == ["train", "validation", "test"]
    assert by_name["label"]["max_null_fraction"] == 0.0
    assert contract["dataset"]["min_rows"] == 1000


# --- Over the API ---------------------------------------------------------------------------------


@pytest.fixture
def contracted(owner_client, penguins_dataset):
    url = f"/api/v1/datasets/{penguins_dataset.pk}/contract/"
    draft = owner_client.post(url + "infer", {}, format="json").json()
    draft["enforcement"] = "block"
    draft["features"][0]["pattern"] = "[A-Z][a-z]+"
    assert owner_client.put(url, draft, format="json").status_code == 200
    return penguins_dataset


def odcs_url(dataset) -> str:
    return f"/api/v1/datasets/{dataset.pk}/contract/odcs"


@pytest.mark.django_db
def test_the_export_round_trips_parses_and_passes_datacontract_lint(owner_client, contracted, tmp_path):
    before = owner_client.get(f"/api/v1/datasets/{contracted.pk}/contract/").json()

    response = owner_client.get(odcs_url(contracted))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    text = response.content.decode()
    model = OpenDataContractStandard.model_validate(yaml.safe_load(text))
    assert model.id == str(contracted.pk)
    path = tmp_path / "penguins.odcs.yaml"
    path.write_text(text)
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "datacontract"), "lint", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "valid" in lint.stdout

    saved = owner_client.put(
        odcs_url(contracted), text, content_type="application/yaml", HTTP_IF_MATCH=response["ETag"]
    )

    assert saved.status_code == 200, saved.content
    after = owner_client.get(f"/api/v1/datasets/{contracted.pk}/contract/").json()
    assert after["version"] == before["version"] + 1
    for key in ("enforcement", "reference_version", "features", "dataset"):
        assert after[key] == before[key], key


@pytest.mark.django_db
def test_it_refuses_a_stale_odcs_write(owner_client, contracted):
    response = owner_client.get(odcs_url(contracted))
    owner_client.patch(f"/api/v1/datasets/{contracted.pk}/contract/", {"enforcement": "warn"}, format="json")

    stale = owner_client.put(
        odcs_url(contracted), response.content.decode(), content_type="application/yaml", HTTP_IF_MATCH=response["ETag"]
    )

    assert stale.status_code == 412


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (ALIAS_BOMB.split("---")[1], "application/yaml"),
        ("[" * 5000 + "]" * 5000, "application/yaml"),
        (b"\xff\xfe not utf-8", "application/yaml"),
        ("kind: DataContract\nschema: [{properties: [{name: x, required: maybe}]}]", "application/yaml"),
        ('schema: [{properties: [{name: "a\\0b"}]}]', "application/yaml"),
        ("x: " + "y" * (6 * 1024 * 1024), "application/yaml"),
        ('{"features": []}', "application/json"),
    ],
)
def test_it_answers_hostile_yaml_with_a_clear_4xx(owner_client, contracted, body, content_type):
    response = owner_client.generic("PUT", odcs_url(contracted), body, content_type=content_type)

    assert 400 <= response.status_code < 500, response.content[:300]
    assert response["Content-Type"].startswith("application/problem+json")
    assert ContractVersion.objects.filter(dataset=contracted).count() == 1


@pytest.mark.django_db
def test_it_keeps_the_odcs_document_from_strangers(owner_client, stranger_client, contracted):
    text = owner_client.get(odcs_url(contracted)).content.decode()

    assert stranger_client.put(odcs_url(contracted), text, content_type="application/yaml").status_code == 403
    contracted.sensitivity = "restricted"
    contracted.save(update_fields=["sensitivity"])
    assert stranger_client.get(odcs_url(contracted)).status_code == 404
    assert stranger_client.put(odcs_url(contracted), text, content_type="application/yaml").status_code == 404
    assert ContractVersion.objects.filter(dataset=contracted).count() == 1
