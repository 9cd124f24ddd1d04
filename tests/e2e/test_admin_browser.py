"""The admin in a real browser: headless Chromium (Debian's), driven by Playwright.

A steward logs in, finds a dataset by searching, reads its page (the histograms are SVG a browser
draws), and opens an audit report. Screenshots are kept in test-artifacts/."""

import os
import shutil
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from catalog import services
from catalog.models import Dataset
from governance.audits.rules import Purpose
from governance.audits.services import audit_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CATALOG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# The flags this machine's closed network needs (no background connections, no sandbox as root).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser(catalog_to_browse, monkeypatch):
    """Started after the test data is written: while Playwright's event loop runs in this thread,
    Django refuses database work here unless told the work is not async."""
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


@pytest.fixture
def catalog_to_browse(storage_root):
    steward = get_user_model().objects.create_user("stew", password="a long and good password", is_staff=True)
    steward.is_superuser = True
    steward.save()
    source = storage_root / "signs" / "signs.csv"
    source.parent.mkdir(parents=True)
    source.write_text(
        "width,height,shape,label\n"
        + "".join(
            f"{1 + i % 17},{2 + i % 5},{('round', 'square')[i % 2]},{('stop', 'yield', 'merge')[i % 3]}\n"
            for i in range(300)
        )
    )
    dataset = services.dataset_register(
        actor=steward,
        namespace="vision",
        name="road-signs",
        license="CC-BY-NC-4.0",
        source=services.SourceSpec(uri="signs/signs.csv", label_column="label"),
    )
    services.version_profile(version_id=dataset.latest_version.pk)  # as a worker does
    services.card_update(actor=steward, dataset=dataset, summary="Road signs, **measured** by hand.")
    audit = audit_run(actor=steward, datasets=[dataset.pk], purpose=Purpose(commercial=True))
    assert Dataset.objects.get(pk=dataset.pk).latest_version.status == "ready"
    return {"dataset": dataset, "audit": audit}


def _logged_in(browser, live_server):
    """A page of the admin, logged in as the steward."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "stew")
    page.fill("#id_password", "a long and good password")
    page.click("input[type=submit]")
    return page


def test_a_steward_finds_a_dataset_reads_its_histograms_and_an_audit(live_server, browser):
    page = _logged_in(browser, live_server)
    page.goto(f"{live_server.url}/admin/catalog/dataset/")
    page.fill("#searchbar", "road")
    page.press("#searchbar", "Enter")
    page.click("#result_list a:text('vision')")
    try:
        page.wait_for_selector("svg.histogram", timeout=10_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "admin-dataset-failed.png"), full_page=True)
        raise

    histograms = page.locator("svg.histogram")
    assert histograms.count() == 4
    for index in range(histograms.count()):
        box = histograms.nth(index).bounding_box()
        assert box is not None
        assert box["width"] > 100
        assert box["height"] > 30
    bars = page.evaluate(
        """() => [...document.querySelectorAll('svg.histogram')[0].querySelectorAll('rect')]
               .map(r => [r.getBoundingClientRect().height, Number(r.dataset.count)])"""
    )
    tallest_height = max(height for height, _ in bars)
    largest_count = max(count for _, count in bars)
    for height, count in bars:
        assert height == pytest.approx(tallest_height * count / largest_count, abs=0.6)
    assert page.locator("svg.class-balance rect").count() == 3
    assert page.locator(".card-section strong", has_text="measured").is_visible()
    page.screenshot(path=str(ARTIFACTS / "admin-dataset.png"), full_page=True)

    page.click("text=Audits that included it >> xpath=following::a[1]")
    page.wait_for_selector(".audit-report")
    report = page.locator(".audit-report").inner_text()
    assert "FAIL" in report
    assert "non_commercial" in report
    page.screenshot(path=str(ARTIFACTS / "admin-audit.png"), full_page=True)


@pytest.fixture
def images_to_browse(catalog_to_browse, storage_root):
    from tests.profiling.media_folders import image_folder

    steward = get_user_model().objects.get(username="stew")
    image_folder(storage_root / "pets")
    dataset = services.dataset_register(
        actor=steward, namespace="vision", name="pets", source=services.SourceSpec(uri="pets")
    )
    assert services.version_profile(version_id=dataset.latest_version.pk) == "ready"
    return dataset


def test_an_image_dataset_shows_its_thumbnails_decoded_beside_the_class_balance(live_server, images_to_browse, browser):
    page = _logged_in(browser, live_server)
    page.goto(f"{live_server.url}/admin/catalog/dataset/{images_to_browse.pk}/change/")
    page.wait_for_selector(".thumbnails img")

    pictures = page.evaluate(
        """() => [...document.querySelectorAll('.thumbnails img')]
               .map(img => [img.complete, img.naturalWidth, img.naturalHeight, img.title])"""
    )
    assert len(pictures) == 8
    for complete, width, height, title in pictures:
        assert complete, title
        assert 0 < width <= 128, title  # decoded by the browser, and small
        assert 0 < height <= 128, title
    captions = page.locator(".thumbnail-class figcaption").all_inner_texts()
    assert captions == ["cat", "dog"]
    assert page.locator("svg.class-balance rect").count() == 2
    page.screenshot(path=str(ARTIFACTS / "admin-images.png"), full_page=True)
