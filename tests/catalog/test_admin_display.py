"""What the admin shows read-only is shown as content, not as fields whose edits are dropped; long
values are wrapped or shortened with the whole value on hover; names are never cut."""

import re

import pytest
from django.urls import reverse

from catalog.charts import label_lines, lineage_svg
from catalog.models import DatasetVersion, Feature
from catalog.templatetags.catalog_admin import shortened
from governance.models import Change
from lineage.models import LineageEdge
from tests.factories import DatasetFactory, UserFactory, VersionFactory

pytestmark = pytest.mark.django_db

LONG_URI = "file:///data/" + "raw-exports-of-the-survey-" * 6 + "/signs.csv"
FINGERPRINT = "sha256:" + "cd" * 32


@pytest.fixture
def staff_admin(client):
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def version(dataset):
    return VersionFactory(
        dataset=dataset,
        number=1,
        uri=LONG_URI,
        fingerprint=FINGERPRINT,
        manifest=[{"path": "signs.csv", "size": 10, "sha256": "ab" * 32}],
        profile={"sample": {"columns": ["id"], "rows": [{"row": "signs.csv:1", "values": {"id": 7}}]}},
        quality={"findings": [], "label_column": ""},
        splits={"train": "signs.csv"},
    )


def _version_page(client, version) -> str:
    response = client.get(reverse("admin:catalog_datasetversion_change", args=[version.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_version_page_edits_only_the_notes(staff_admin, version):
    page = _version_page(staff_admin, version)

    assert re.findall(r'<textarea name="(\w+)"', page) == ["notes"]
    assert not re.findall(r'<(?:input|select)[^>]+name="(?!csrf|features-|_)(\w+)"', page)


def test_the_version_page_shows_the_profile_and_other_computed_fields_formatted(staff_admin, version):
    page = _version_page(staff_admin, version)

    assert re.search(r'<details class="json"><summary>sample[^<]*</summary><pre class="json">', page)
    assert '"row": "signs.csv:1"' in page.replace("&quot;", '"')
    assert '<table class="manifest">' in page
    assert f'title="{"ab" * 32}"' in page  # a file's hash shortened, whole on hover
    assert f'<span class="wrapped">{LONG_URI}</span>' in page
    assert f'<span class="wrapped">{FINGERPRINT}</span>' in page
    assert '"train": "signs.csv"' in page.replace("&quot;", '"')


def test_edits_to_computed_fields_are_not_taken_and_the_notes_are_recorded(staff_admin, version):
    url = reverse("admin:catalog_datasetversion_change", args=[version.pk])
    form = {
        "notes": "Collected in the rain.",
        "manifest": "[]",
        "profile": "{}",
        "uri": "file:///elsewhere.csv",
        "features-TOTAL_FORMS": "0",
        "features-INITIAL_FORMS": "0",
        "features-MIN_NUM_FORMS": "0",
        "features-MAX_NUM_FORMS": "1000",
    }

    response = staff_admin.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    saved = DatasetVersion.objects.get(pk=version.pk)
    assert (saved.uri, saved.manifest[0]["path"], saved.notes) == (LONG_URI, "signs.csv", "Collected in the rain.")
    assert saved.profile == version.profile
    assert Change.objects.get(object_type="version", action="update").after == {"notes": "Collected in the rain."}


def test_the_dataset_page_shortens_hashes_and_wraps_sources(staff_admin, version):
    page = staff_admin.get(reverse("admin:catalog_dataset_change", args=[version.dataset_id])).content.decode()

    assert f'title="{FINGERPRINT}"' in page
    assert f'<span class="wrapped">{LONG_URI}</span>' in page  # the versions' table
    assert f">{FINGERPRINT}<" not in page  # never printed whole, unbroken


def test_an_identifier_feature_gets_no_bar_chart(staff_admin, version):
    histogram = {"kind": "equal_width", "edges": [1, 2, 3], "counts": [5, 5]}
    Feature.objects.create(
        version=version,
        name="id",
        position=0,
        dtype="int64",
        logical_type="identifier",
        role="id",
        statistics={"count": 10, "histogram": histogram},
    )
    Feature.objects.create(
        version=version,
        name="width",
        position=1,
        dtype="int64",
        logical_type="numeric",
        statistics={"count": 10, "histogram": histogram},
    )

    page = staff_admin.get(reverse("admin:catalog_dataset_change", args=[version.dataset_id])).content.decode()

    assert page.count('<svg class="histogram"') == 1
    assert "an identifier: every value another row, nothing to chart" in page


def test_lineage_boxes_show_whole_names(staff_admin, dataset):
    long_name = "raw-dashcam-frames-from-the-fleet-of-delivery-vans-2024-q3-" + "x" * 60
    LineageEdge.objects.create(source=DatasetFactory(name=long_name), target=dataset, origin="manual")

    page = staff_admin.get(reverse("admin:catalog_dataset_change", args=[dataset.pk])).content.decode()
    (svg,) = re.findall(r'<svg class="lineage".*?</svg>', page, flags=re.DOTALL)

    shown = "".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg))
    assert f"team-vision/{long_name}" in shown
    assert "…" not in svg


@pytest.mark.parametrize(
    "label",
    ["a/b", "team/" + "x" * 90, "vision-survey-team/road-signs-measured-by-hand-in-the-field-2024", "_.-/" * 20],
)
def test_a_label_is_wrapped_into_lines_that_join_to_it_whole(label):
    lines = label_lines(label)

    assert "".join(lines) == label
    assert all(0 < len(line) <= 28 for line in lines)


def test_a_lineage_box_is_as_tall_as_its_name_needs():
    svg = lineage_svg(("t/centre", "/c"), [("t/" + "long-name-" * 12, "/a")], [("t/short", "/b")])

    heights = [float(value) for value in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="220" height="([\d.]+)"', svg)]
    assert heights[1] > heights[0]  # the long name's box, beside the centre's one line


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("short", "short"),
        ("", ""),
        (None, ""),
        ("x" * 32, "x" * 32),
    ],
)
def test_a_short_value_is_shown_as_it_is(value, expected):
    assert shortened(value) == expected


def test_a_long_value_is_shortened_with_the_whole_of_it_on_hover():
    value = "sha256:" + "0123456789abcdef" * 4 + '<"&>'

    shown = shortened(value, 24)

    assert shown.startswith('<span class="shortened" title="sha256:0123456789abcdef')
    assert "&lt;&quot;&amp;&gt;" in shown  # escaped, in the title and the text alike
    text = re.sub(r"<[^>]+>", "", shown)
    assert len(text.replace("&lt;&quot;&amp;&gt;", '<"&>')) == 24


def test_the_version_page_links_to_the_spdx_export_which_answers_its_reader(staff_admin, version):
    page = _version_page(staff_admin, version)

    link = f"/api/v1/versions/{version.pk}/spdx"
    assert f'<a href="{link}">SPDX 3.0.1 JSON-LD</a>' in page
    response = staff_admin.get(link)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/spdx+json"
    (package,) = [element for element in response.json()["@graph"] if element["type"] == "dataset_DatasetPackage"]
    assert package["spdxId"].endswith(f"/spdx/versions/{version.pk}")
