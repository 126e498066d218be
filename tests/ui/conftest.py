"""Browser tests: a live server on the test database, and headless Chromium
(Debian's package, driven by Playwright). They run on the SQLite run only: the
page code is the same on both backends and the API tests cover PostgreSQL."""
from __future__ import annotations

import os
import shutil

import pytest

from reinfer_clone.app import create_app
from reinfer_clone.config import Config
from reinfer_clone.services import training

from ..conftest import empty_database
from ..helpers import make_project, make_source, make_user, ok, upload
from .live import REPO, LiveServer, banking_comments

CHROMIUM = os.environ.get("REINFER_CLONE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "var" / "test-artifacts" / "ui"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def pytest_collection_modifyitems(config, items):
    reason = None
    if config.getoption("--backend") != "sqlite":
        reason = "browser tests run on the SQLite run only"
    elif not shutil.which(CHROMIUM):
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it)"
    if reason:
        for item in items:
            if "/tests/ui/test_browser" in str(item.fspath).replace(os.sep, "/"):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def live(database_url, database):
    """A served app on an emptied database with one project, one source of 60
    banking questions (15 per topic), an admin, and a training worker."""
    empty_database(database)
    app = create_app(Config(database_url=database_url, training_worker="none", retrain_delay=-1),
                     database=database)
    admin = make_user(app, "admin", global_permissions=["root"])
    make_project(admin, "acme")
    source = make_source(admin, "acme", "inbox")
    items = banking_comments(15)
    ok(upload(admin, [c for c, _ in items]))
    worker = training.Worker(database, poll_seconds=0.3)
    worker.start_thread()
    with LiveServer(app) as server:
        server.app, server.admin, server.source, server.items = app, admin, source, items
        yield server
    worker.stopping.set()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Caps, not expectations: pages answer in well under a second, but this machine is shared.
    page.set_default_timeout(60_000)
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


# Controls without an accessible name: no aria-label, no <label>, no text.
UNLABELLED = """() => [...document.querySelectorAll('button, input, select, textarea, a[href]')]
    .filter((el) => !(el.getAttribute('aria-label') || (el.labels && el.labels.length) || el.textContent.trim()))
    .map((el) => el.outerHTML.slice(0, 160))"""


def shot(page, name: str) -> None:
    """Check that every control on the page has an accessible name, then take a screenshot."""
    assert page.evaluate(UNLABELLED) == [], name
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
