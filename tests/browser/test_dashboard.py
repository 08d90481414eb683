"""The dashboard's import card in a real browser, and an admin that loads nothing from elsewhere."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from django_redis import get_redis_connection

from apps.products.locking import LOCK_KEY
from apps.products.models import ImportSession

from .conftest import PASSWORD
from .test_session_list import open_on_fake_clock

Status = ImportSession.Status


@pytest.fixture(autouse=True)
def free_lock():
    redis = get_redis_connection("default")
    redis.delete(LOCK_KEY)
    yield redis
    redis.delete(LOCK_KEY)


@pytest.fixture
def package(settings, fixture_dir):
    settings.ONEC_DATA_DIR = fixture_dir("ut11_full")
    return settings.ONEC_DATA_DIR


def running_import(redis, **fields) -> ImportSession:
    session = ImportSession.objects.create(
        status=Status.RUNNING, lock_token="held-by-test", heartbeat_at=timezone.now() + dt.timedelta(hours=1),
        total_items=1000, processed_items=400, writing_started_at=timezone.now() - dt.timedelta(seconds=20), **fields)
    redis.set(LOCK_KEY, "held-by-test", ex=600)
    return session


def test_the_card_button_starts_an_import_and_the_card_then_shows_it(login, live_server, package):
    page = login()
    card = page.locator("#import-card")
    assert "Ещё не было импорта" in card.inner_text()
    with page.expect_navigation():
        card.get_by_role("button", name="Запустить импорт").click()

    page.wait_for_selector(".alert-success")
    assert "Импорт завершён" in page.inner_text(".alert-success")
    assert urlsplit(page.url).path == "/admin/"
    session = ImportSession.objects.get()
    assert session.source == "dashboard" and session.status == Status.COMPLETED
    last = page.locator("#import-card .import-card-last")
    assert session.short_id in last.inner_text() and last.locator(".import-status-completed").is_visible()
    assert page.locator("#import-card svg.import-chart rect").count() == 1


def test_the_button_is_disabled_with_the_reason_while_an_import_runs(login, live_server, free_lock):
    running = running_import(free_lock)
    page = login()
    button = page.locator("#import-card").get_by_role("button", name="Запустить импорт")
    assert button.is_disabled()
    assert f"Идёт импорт {running.short_id}" in page.locator("#import-card-blocked").inner_text()
    assert page.locator("#import-card progress").is_visible()
    assert "Блокировку держит сессия" in page.locator("#import-card .import-card-lock").inner_text()


def test_without_the_import_permission_the_card_has_no_button(login, live_server, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", "v@example.com", PASSWORD, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_importsession"))
    page = login(viewer)
    assert page.locator("#import-card").is_visible()
    assert page.locator("#import-card button").count() == 0


def test_the_card_refreshes_itself_while_an_import_runs_and_stops_after(login, live_server, free_lock):
    running = running_import(free_lock)
    page = login()
    open_on_fake_clock(page, f"{live_server.url}/admin/")
    assert page.locator("#import-card[data-import-active]").count() == 1

    ImportSession.objects.filter(pk=running.pk).update(status=Status.COMPLETED, finished_at=timezone.now(),
                                                       processed_items=1000)
    free_lock.delete(LOCK_KEY)
    with page.expect_response(lambda response: response.url.endswith("/importsession/card/")):
        page.clock.run_for(11_000)
    page.wait_for_selector("#import-card:not([data-import-active])")

    assert page.evaluate("window.__sameDocument") is True  # the card was swapped, the page stayed
    assert running.short_id in page.locator("#import-card .import-card-last").inner_text()
    assert page.locator("#import-card").get_by_role("button", name="Запустить импорт").is_enabled()
    fetched = []
    page.on("request", lambda request: fetched.append(request.url) if "/card/" in request.url else None)
    page.clock.run_for(30_000)
    assert fetched == []  # nothing runs: no more refreshes


def test_the_admin_loads_nothing_from_another_host(login, live_server):
    finished = ImportSession.objects.create(status=Status.FAILED, finished_at=timezone.now(),
                                            errors=[{"onec_id": "x", "file": "f", "message": "m"}])
    hosts = set()
    page = login()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    for path in ("/admin/", "/admin/products/importsession/", f"/admin/products/importsession/{finished.pk}/change/",
                 "/admin/products/product/", "/admin/login/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    assert hosts == {urlsplit(live_server.url).netloc}


def test_the_card_button_submits_once_however_often_it_is_clicked(login, live_server, package, held_import):
    entered, release = held_import
    page = login()
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    button = page.locator("#import-card").get_by_role("button", name="Запустить импорт")
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    page.mouse.click(x, y)
    assert entered.wait(30), "the click did not start an import"
    page.mouse.click(x, y)  # impatient clicks while the import runs inside the first request
    page.mouse.dblclick(x, y)
    release.set()

    page.wait_for_selector(".alert-success", timeout=60_000)
    assert page.locator(".alert-warning").count() == 0
    assert len(posts) == 1, posts
    assert ImportSession.objects.get().source == "dashboard"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_admin_follows_the_systems_colour_scheme(login, live_server, scheme):
    page = login()
    page.emulate_media(color_scheme=scheme)
    page.goto(f"{live_server.url}/admin/")
    assert page.evaluate("document.documentElement.getAttribute('data-bs-theme')") == scheme
    # The card's text stays readable against its background in both.
    contrast = page.evaluate("""() => {
        const lum = c => { const [r, g, b] = c.match(/\\d+/g).slice(0, 3).map(Number).map(v => {
            v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const card = document.querySelector('#import-card');
        const fg = lum(getComputedStyle(card).color), bg = lum(getComputedStyle(card).backgroundColor);
        return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    }""")
    assert contrast >= 4.5, contrast
