"""Headless Debian Chromium driven by Playwright (its own browser download does not work here)."""
from __future__ import annotations

import os
import shutil
import threading

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH): "
                    "browser tests skipped")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    # Playwright's sync API keeps an event loop running in this thread; the tests' own ORM calls
    # (and pytest-django's database set-up) are still plain synchronous code, which Django would
    # otherwise refuse next to a running loop.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


PASSWORD = "browser-pass-123"


@pytest.fixture
def login(page, live_server, django_user_model):
    """``login(user=None)`` → the page, logged in to the admin (a new superuser by default)."""

    def log_in(user=None):
        if user is None:
            user = django_user_model.objects.create_superuser("boss", "boss@example.com", PASSWORD)
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("input[name=username]", user.get_username())
        page.fill("input[name=password]", PASSWORD)
        page.click("[type=submit]")
        page.wait_for_selector("#jazzy-navbar")
        return page

    return log_in


@pytest.fixture
def held_import(monkeypatch):
    """Park the first batch of the import (which runs in the live server's thread) until released."""
    entered, release = threading.Event(), threading.Event()
    from apps.products.onec import pipeline

    flush = pipeline._flush

    def parked_flush(*args, **kwargs):
        if not entered.is_set():
            entered.set()
            assert release.wait(60), "the test never released the import"
        return flush(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_flush", parked_flush)
    yield entered, release
    release.set()
