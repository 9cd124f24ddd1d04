"""The review of flagged rows in the admin, in a real browser (Debian's Chromium, driven by Playwright):
a steward of the dataset opens the version's page, follows its link to the flagged rows, confirms one
(choosing the corrected label) and dismisses another; the corrections CSV, fetched over HTTP with the
steward's token, has the confirmed row. A staff member who neither owns nor stewards the dataset
reads the rows but is offered no decision."""

import csv
import io
import os
import shutil
import time

import pytest
import requests
from django.contrib.auth import get_user_model

from catalog import pipeline, services
from catalog.models import DatasetVersion, LabelIssue
from catalog.pipeline import labels as label_pipeline
from governance.choices import OwnershipRole
from tests.catalog.test_label_quality import write_penguins
from tests.e2e.test_admin_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, SCREEN_WIDTH
from tests.factories import OwnershipFactory, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long and good password"


@pytest.fixture
def flagged_version(e2e_storage_root, settings):
    """A noisy penguins version analysed in this process (as a worker does), stewarded by `stew`
    (staff, so the admin lets them in) and read by `stella` (staff, no role on the dataset). What the
    test needs of the database is read here, before Playwright runs."""
    users = get_user_model().objects
    owner = users.create_user("olivia", password=PASSWORD)
    steward = users.create_user("stew", password=PASSWORD, is_staff=True, is_superuser=True)
    users.create_user("stella", password=PASSWORD, is_staff=True, is_superuser=True)
    # Under the storage root the session's workers read too: whichever takes the version first (this
    # process or a worker a module before this one started) profiles and analyses it alike.
    settings.CATALOG_STORAGE_ROOTS = [e2e_storage_root]
    path = e2e_storage_root / "review" / "penguins.csv"
    write_penguins(path, flip_share=0.08)
    dataset = services.dataset_register(
        actor=owner,
        namespace="zoo",
        name="penguins",
        source=services.SourceSpec(uri="review/penguins.csv", label_column="species"),
    )
    OwnershipFactory(dataset=dataset, user=steward, role=OwnershipRole.STEWARD)
    version_id = dataset.latest_version.pk
    pipeline.version_profile(version_id=version_id)  # as a worker does
    label_pipeline.version_label_quality_reset(version_id=version_id)
    label_pipeline.version_label_quality(version_id=version_id)  # None if a session worker took it first
    deadline = time.monotonic() + 120
    version = DatasetVersion.objects.get(pk=version_id)
    while version.label_quality_status not in ("ready", "failed") and time.monotonic() < deadline:
        time.sleep(0.5)
        version = DatasetVersion.objects.get(pk=version_id)
    assert version.status == "ready"
    assert version.label_quality_status == "ready", version.label_quality_error
    issues = list(LabelIssue.objects.filter(version=version).order_by("-confidence", "rank")[:2])
    assert len(issues) == 2
    return {"version": version, "issues": issues, "token": token_for(steward)}


@pytest.fixture
def chromium(flagged_version, monkeypatch):
    if not shutil.which(CHROMIUM):
        if os.environ.get("CATALOG_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is not installed: install Debian's chromium (bash .ci/run does).")
        pytest.skip(f"{CHROMIUM} is not installed (Debian's chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the teardown flushes the database
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def _logged_in(chromium, live_server, username):
    ARTIFACTS.mkdir(exist_ok=True)
    page = chromium.new_page(viewport={"width": SCREEN_WIDTH, "height": 1000})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    return page


def test_a_steward_confirms_and_dismisses_flagged_rows_and_the_csv_has_the_confirmed(
    live_server, flagged_version, chromium
):
    version = flagged_version["version"]
    confirm, dismiss = flagged_version["issues"]
    corrected = next(name for name in ("Adelie", "Chinstrap", "Gentoo") if name != confirm.given)
    page = _logged_in(chromium, live_server, "stew")
    page.goto(f"{live_server.url}/admin/catalog/datasetversion/{version.pk}/change/")
    try:
        page.click("a:has-text('flagged row')")
        page.wait_for_selector("#label-issues")
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "admin-label-review-failed.png"), full_page=True)
        raise
    row = page.locator(f"tr.label-issue[data-row-hash='{confirm.row_hash}']").first
    assert row.locator("td.given").inner_text() == confirm.given
    # The row's values are on the page: its island and bill length among them.
    assert str(confirm.values["island"]) in row.inner_text()

    row.locator("select[name=label]").select_option(corrected)
    row.locator("input.confirm-button").click()
    page.wait_for_selector(".messagelist .success")
    page.locator(f"tr.label-issue[data-row-hash='{dismiss.row_hash}']").first.locator("input.dismiss-button").click()
    page.wait_for_selector(".messagelist .success")
    decisions = {
        cells.get_attribute("data-row-hash"): cells.locator("td.decision").inner_text()
        for cells in page.locator("tr.label-issue").all()
        if cells.get_attribute("data-row-hash") in (confirm.row_hash, dismiss.row_hash)
    }
    page.screenshot(path=str(ARTIFACTS / "admin-label-review.png"), full_page=True)
    assert decisions[confirm.row_hash].startswith(f"confirmed: {corrected}")
    assert decisions[dismiss.row_hash].startswith("dismissed")

    response = requests.get(
        f"{live_server.url}/api/v1/versions/{version.pk}/label-issues/corrections.csv",
        headers={"Authorization": f"Token {flagged_version['token']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    lines = list(csv.DictReader(io.StringIO(response.text)))
    assert [(line["row_hash"], line["given"], line["corrected"], line["decided_by"]) for line in lines] == [
        (confirm.row_hash, confirm.given, corrected, "stew")
    ]


def test_staff_who_do_not_steward_the_dataset_read_the_rows_but_decide_nothing(live_server, flagged_version, chromium):
    version = flagged_version["version"]
    page = _logged_in(chromium, live_server, "stella")
    page.goto(f"{live_server.url}/admin/catalog/datasetversion/{version.pk}/label-issues/")
    page.wait_for_selector("#label-issues")

    assert page.locator("tr.label-issue").count() >= 2
    assert page.locator("input.confirm-button").count() == 0
    assert "Only the dataset's owners and stewards" in page.locator("#label-review").inner_text()
    # A forged form post is refused all the same.
    token = page.evaluate("() => document.cookie.match(/csrftoken=([^;]+)/)[1]")
    answer = page.request.post(
        f"{live_server.url}/admin/catalog/datasetversion/{version.pk}/label-issues/",
        form={"row_hash": flagged_version["issues"][0].row_hash, "decision": "dismissed", "csrfmiddlewaretoken": token},
        headers={"X-CSRFToken": token, "Referer": page.url},
    )
    assert answer.status == 403
