"""The admin in a real browser: headless Chromium (Debian's), driven by Playwright.

A steward logs in, finds a dataset by searching, reads its page (the histograms are SVG a browser
draws), and opens an audit report; retires a dataset with the admin's Delete and finds the retirement
in the change log over the API; and every page, filled with long names, URIs and hashes, fits a
1,366 px screen without scrolling sideways. Screenshots are kept in test-artifacts/."""

import os
import shutil
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model

from audits.rules import Purpose
from audits.services import audit_run
from catalog import pipeline, services
from catalog.models import Dataset
from governance.models import Change
from lineage import services as lineage_services
from tests.factories import token_for
from training.services import training_run_record
from training.specs import ArtifactSpec, InputRef, ModelRef, RunSpec

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("CATALOG_CHROMIUM", "/usr/bin/chromium")
SCREEN_WIDTH = 1366  # a common laptop screen: every admin page fits it
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
    pipeline.version_profile(version_id=dataset.latest_version.pk)  # as a worker does
    services.card_update(actor=steward, dataset=dataset, summary="Road signs, **measured** by hand.")
    audit = audit_run(actor=steward, datasets=[dataset.pk], purpose=Purpose(commercial=True))
    assert Dataset.objects.get(pk=dataset.pk).latest_version.status == "ready"
    return {"dataset": dataset, "audit": audit}


def _logged_in(browser, live_server):
    """A page of the admin, logged in as the steward."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": SCREEN_WIDTH, "height": 1000})
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
    page.click("#result_list a:has-text('road-signs')")
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
    assert pipeline.version_profile(version_id=dataset.latest_version.pk) == "ready"
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


# --- Long names, URIs and hashes on a 1,366 px screen -------------------------------------------------

LONG_FOLDER = "raw-exports-of-the-road-sign-survey-measured-by-hand-in-the-field-2024-q3-batch-000123456789"
LONG_FILE = f"{LONG_FOLDER}/calipers-and-tape-measures-second-pass-with-corrections/signs-measured-by-hand.csv"
LONG_NAME = "road-signs-measured-by-hand-in-the-field-with-calipers-and-tape-measures-2024"
UPSTREAM = "raw-dashcam-frames-from-the-fleet-of-delivery-vans-2024-q3-all-regions-unfiltered"
DOWNSTREAM = "road-signs-train-split-balanced-by-class-and-region-2024-with-held-out-test-regions"


@pytest.fixture
def long_catalog(catalog_to_browse, storage_root):
    """A dataset with a long name, a source deep in long folders, a unique id column, a column of
    hashes, lineage to and from datasets with long names, and an audit of it. What the tests need
    of the database is read here: a query made while Playwright runs opens a connection of its own,
    which outlives the test."""
    steward = get_user_model().objects.get(username="stew")
    source = storage_root / LONG_FILE
    source.parent.mkdir(parents=True)
    rows = ["id,width,height,shape,image_sha256,label"]
    for i in range(1500):
        shape, label = ("round", "square")[i % 2], ("stop", "yield", "merge")[i % 3]
        rows.append(f"{100000 + i},{1 + i % 17},{2 + i % 5},{shape},{i * 7919 + 12345:064x},{label}")
    source.write_text("\n".join(rows) + "\n")
    dataset = services.dataset_register(
        actor=steward,
        namespace="vision-survey-team",
        name=LONG_NAME,
        license="CC-BY-NC-4.0",
        source=services.SourceSpec(uri=LONG_FILE, label_column="label"),
    )
    assert pipeline.version_profile(version_id=dataset.latest_version.pk) == "ready"
    upstream = services.dataset_register(actor=steward, namespace="vision-survey-team", name=UPSTREAM)
    downstream = services.dataset_register(actor=steward, namespace="vision-survey-team", name=DOWNSTREAM)
    lineage_services.edge_declare(actor=steward, source=upstream, target=dataset)
    lineage_services.edge_declare(actor=steward, source=dataset, target=downstream)
    audit = audit_run(actor=steward, datasets=[dataset.pk], purpose=Purpose(commercial=True))
    run = training_run_record(
        actor=steward,
        spec=RunSpec(
            model=ModelRef(namespace="vision-survey-team", name=f"{LONG_NAME}-classifier"),
            model_version="2024.3.0-rc.1+build.000123456789",
            status="completed",
            code_repository=f"https://git.example.com/vision-survey-team/{LONG_FOLDER}.git",
            code_commit="9fceb02d0ae598e95dc970b74767f19372d61af8",
            code_entrypoint="training/calipers_and_tape_measures/train_sign_classifier_with_held_out_regions.py",
            hyperparameters={
                "optimizer": {"name": "adamw", "betas": [0.9, 0.999], "weight_decay": 0.01},
                "schedule_with_a_rather_long_name_for_the_warmup_and_decay": "cosine-with-restarts",
            },
            metrics={"accuracy_on_held_out_regions_of_the_survey": 0.9132},
            inputs=(InputRef(version=dataset.latest_version.pk, role="train"),),
            artifacts=(ArtifactSpec(uri=f"s3://models/{LONG_FOLDER}/weights.safetensors", sha256="ab" * 32),),
            purpose={"commercial": True},
        ),
    )
    return {
        "dataset": Dataset.objects.select_related("latest_version").get(pk=dataset.pk),
        "audit": audit,
        "edge_entry": Change.objects.filter(object_type="edge").latest("created_at"),
        "token": token_for(steward),
        "run": run,
    }


# Elements that scroll sideways inside the page (a table in a scrolling box): a page may be as wide
# as the screen and still hide columns in one.
SCROLLERS = """() => [...document.querySelectorAll('body *')]
    .filter(e => !['SELECT', 'TEXTAREA'].includes(e.tagName))
    .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
    .filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => `${e.tagName}.${e.className}: ${e.scrollWidth} > ${e.clientWidth}`)"""


def _fits(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= SCREEN_WIDTH, name
    assert page.evaluate(SCROLLERS) == [], name


def test_every_admin_page_fits_a_1366_px_screen(live_server, long_catalog, browser):
    dataset = long_catalog["dataset"]
    page = _logged_in(browser, live_server)
    pages = {
        "list": "/admin/catalog/dataset/",
        "dataset-long": f"/admin/catalog/dataset/{dataset.pk}/change/",
        "version": f"/admin/catalog/datasetversion/{dataset.latest_version_id}/change/",
        "versions": "/admin/catalog/datasetversion/",
        "audit-long": f"/admin/governance/audit/{long_catalog['audit'].pk}/change/",
        "lineage": "/admin/lineage/lineageedge/",
        "changes": "/admin/governance/change/",
        "change-edge": f"/admin/governance/change/{long_catalog['edge_entry'].pk}/change/",
        "models": "/admin/training/model/",
        "model-long": f"/admin/training/model/{long_catalog['run'].model_id}/change/",
        "runs": "/admin/training/trainingrun/",
        "run-long": f"/admin/training/trainingrun/{long_catalog['run'].pk}/change/",
    }
    for name, path in pages.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None, path
        assert response.status == 200, path
        _fits(page, name)

        if name == "dataset-long":
            # Lineage boxes hold whole names; hashes are shortened, whole on hover.
            lines = page.evaluate(
                """() => [...document.querySelectorAll('svg.lineage text')]
                       .map(t => [...t.querySelectorAll('tspan')].map(s => s.textContent).join(''))"""
            )
            assert sorted(lines) == sorted(f"vision-survey-team/{n}" for n in (UPSTREAM, LONG_NAME, DOWNSTREAM))
            fingerprint = page.locator(".overview .shortened").first.get_attribute("title")
            assert fingerprint == dataset.latest_version.fingerprint
            identifier = page.locator("table.features tbody tr").filter(has=page.get_by_text("id", exact=True))
            assert identifier.locator("svg").count() == 0
            assert "nothing to chart" in identifier.inner_text()
            assert page.locator("svg.histogram").count() == 5  # each feature's but the identifier's
        if name == "audit-long":
            assert _words_broken_mid_letter(page, ".audit-report td, .audit-report th") == []
        if name == "run-long":
            # The input links to its version's page; the verdict of the run's audit is shown.
            link = page.locator(f"a[href$='/admin/catalog/datasetversion/{dataset.latest_version_id}/change/']")
            assert link.count() >= 1
            assert page.get_by_text("fail").count() >= 1
        if name == "changes":
            assert page.locator(f"text=vision-survey-team/{LONG_NAME} → vision-survey-team/{DOWNSTREAM}").count() == 1


def _words_broken_mid_letter(page, cells: str) -> list[str]:
    """Words (whole runs of letters and digits, of at most 12) that a cell's layout split across lines;
    longer runs (a hash) may break."""
    return page.evaluate(
        """(cells) => {
            const broken = [];
            for (const cell of document.querySelectorAll(cells)) {
                const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
                for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                    for (const word of node.data.matchAll(/(?<![A-Za-z0-9])[A-Za-z0-9]{2,12}(?![A-Za-z0-9])/g)) {
                        const range = document.createRange();
                        range.setStart(node, word.index);
                        range.setEnd(node, word.index + word[0].length);
                        if (new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1) broken.push(word[0]);
                    }
                }
            }
            return broken;
        }""",
        cells,
    )


def test_a_dataset_deleted_in_the_admin_is_retired_and_in_the_change_log(live_server, long_catalog, browser):
    dataset = long_catalog["dataset"]
    page = _logged_in(browser, live_server)
    page.goto(f"{live_server.url}/admin/catalog/dataset/{dataset.pk}/change/")

    page.click("a.deletelink:text('Delete (retire)')")
    page.wait_for_selector("text=Retire this dataset?")
    _fits(page, "retire")
    page.click("input[type=submit][value='Yes, retire']")
    page.wait_for_selector(f"text=Retired vision-survey-team/{LONG_NAME}")

    headers = {"Authorization": f"Token {long_catalog['token']}"}
    changes = requests.get(
        f"{live_server.url}/api/v1/changes/",
        params={"action": "retire", "dataset": str(dataset.pk)},
        headers=headers,
        timeout=10,
    ).json()
    assert changes["count"] == 1
    assert changes["results"][0]["actor"] == "stew"
    answer = requests.get(f"{live_server.url}/api/v1/datasets/{dataset.pk}/", headers=headers, timeout=10).json()
    assert answer["lifecycle"] == "retired"

    # The retired dataset's page opens, and its Delete now purges.
    response = page.goto(f"{live_server.url}/admin/catalog/dataset/{dataset.pk}/change/")
    assert response is not None
    assert response.status == 200
    assert page.locator("a.deletelink").inner_text() == "Delete for good (purge)"
    _fits(page, "dataset-retired")
