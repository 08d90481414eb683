"""The import sessions list and session page in a real browser: what people actually see.

Auto-refresh timing runs on Playwright's fake clock (``page.clock``): the page's own timers, driven
deterministically; one test also waits for a real reload on the real clock.
"""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from apps.products.models import ImportSession

Status = ImportSession.Status
LIST = "/admin/products/importsession/"


def make(status, **fields) -> ImportSession:
    now = timezone.now()
    defaults = {"status": status, "started_at": now - dt.timedelta(minutes=3), "heartbeat_at": now + dt.timedelta(hours=1)}
    if status not in ImportSession.ACTIVE_STATUSES:
        defaults["finished_at"] = now
    return ImportSession.objects.create(**{**defaults, **fields})


@pytest.fixture
def one_of_each():
    return {
        "running": make(Status.RUNNING, total_items=10_000, processed_items=4_000, failed_items=2,
                        writing_started_at=timezone.now() - dt.timedelta(seconds=20)),
        "completed": make(Status.COMPLETED, total_items=10, processed_items=10),
        "failed": make(Status.FAILED, total_items=10, processed_items=4, failed_items=1,
                       errors=[{"onec_id": "bad-1", "file": "prices.xml", "message": "цена: неизвестный тип"}]),
        "pending": make(Status.PENDING),
    }


def icon_is_drawn(locator) -> bool:
    """The Font Awesome glyph really renders: the font is loaded and the ::before has a glyph."""
    return locator.evaluate("""el => {
        const before = getComputedStyle(el, '::before');
        return document.fonts.check('900 16px "Font Awesome 6 Free"')
            && before.fontFamily.includes('Font Awesome') && before.content !== 'none' && before.content !== ''
            && el.getBoundingClientRect().width > 4;
    }""")


def test_badges_with_icons_and_the_progress_bar_are_visible(login, live_server, one_of_each):
    page = login()
    page.goto(f"{live_server.url}{LIST}")

    for status, label in (("running", "Выполняется"), ("completed", "Завершён"), ("failed", "Ошибка"),
                          ("pending", "Ожидает")):
        badge = page.locator(f".import-status-{status}")
        assert badge.is_visible() and label in badge.inner_text()
        assert icon_is_drawn(badge.locator("i"))
    bar = page.locator("td.field-progress_display progress")
    assert bar.count() == 1 and bar.is_visible()
    assert bar.evaluate("el => [el.value, el.max]") == [4000, 10000]
    cell = page.locator("td.field-progress_display", has=page.locator("progress")).inner_text()
    assert "40\u00a0%" in cell and "4\u00a0000 из 10\u00a0000" in cell and "объектов/с, ещё ~" in cell


def test_the_status_filter_shows_its_icons_and_filters(login, live_server, one_of_each):
    page = login()
    page.goto(f"{live_server.url}{LIST}")

    page.locator("select.search-filter-icons + .select2-container").click()
    options = page.locator(".select2-results__option")
    failed_option = options.filter(has_text="Ошибка")
    assert failed_option.locator("i.fa-circle-xmark").is_visible()
    assert icon_is_drawn(failed_option.locator("i"))
    assert options.filter(has_text="Завершён").locator("i.fa-circle-check").is_visible()
    failed_option.click()
    assert page.locator("select.search-filter-icons + .select2-container i.fa-circle-xmark").is_visible()
    with page.expect_navigation():
        page.locator("#changelist-search button[type=submit]").click()

    assert "status=failed" in page.url
    assert page.locator("#result_list tbody tr").count() == 1
    assert page.locator("#result_list .import-status-failed").is_visible()


# --- auto-refresh --------------------------------------------------------------------------------

def open_on_fake_clock(page, url):
    """Open ``url`` with the page's clock stopped: from here on, time moves only when the test says."""
    start = dt.datetime.now()
    page.clock.install(time=start)
    page.clock.pause_at(start + dt.timedelta(seconds=1))  # before the page exists: nothing can be missed
    page.goto(url)
    page.clock.run_for(100)  # jQuery runs its ready handlers on a timer: let the page set itself up
    page.evaluate("window.__sameDocument = true")


def reloaded(page) -> bool:
    page.wait_for_load_state("load")
    return page.evaluate("window.__sameDocument") is None


def test_the_list_reloads_itself_within_twelve_seconds_while_an_import_runs(login, live_server):
    make(Status.RUNNING)
    page = login()
    page.goto(f"{live_server.url}{LIST}")
    page.evaluate("window.__sameDocument = true")
    page.wait_for_function("window.__sameDocument === undefined", timeout=12_500, polling=250)


def test_the_list_reloads_on_the_fake_clock_too(login, live_server):
    make(Status.RUNNING)
    page = login()
    open_on_fake_clock(page, f"{live_server.url}{LIST}")
    page.clock.run_for(9_000)
    assert not reloaded(page)
    with page.expect_navigation():
        page.clock.run_for(2_000)
    assert reloaded(page)


def test_no_reload_at_all_when_nothing_runs(login, live_server):
    make(Status.COMPLETED)
    page = login()
    open_on_fake_clock(page, f"{live_server.url}{LIST}")
    page.clock.run_for(15_000)
    assert not reloaded(page)
    page.clock.run_for(60_000)
    assert not reloaded(page)


def test_no_reload_while_a_row_is_ticked_and_it_resumes_after(login, live_server):
    make(Status.RUNNING)
    page = login()
    open_on_fake_clock(page, f"{live_server.url}{LIST}")
    checkbox = page.locator("input.action-select").first
    checkbox.check()
    page.clock.run_for(30_000)
    assert not reloaded(page)
    checkbox.uncheck()
    with page.expect_navigation():
        page.clock.run_for(3_000)
    assert reloaded(page)


def test_no_reload_while_the_search_box_has_focus_or_typed_text(login, live_server):
    make(Status.RUNNING)
    page = login()
    open_on_fake_clock(page, f"{live_server.url}{LIST}")
    page.focus("#searchbar")
    page.clock.run_for(30_000)
    assert not reloaded(page)
    page.keyboard.type("abc")
    page.locator("h3").first.click()  # focus leaves, the typed text stays: still not
    page.clock.run_for(30_000)
    assert not reloaded(page)
    page.fill("#searchbar", "")
    page.locator("h3").first.click()
    with page.expect_navigation():
        page.clock.run_for(3_000)
    assert reloaded(page)


def test_no_reload_while_the_filter_dropdown_is_open(login, live_server):
    make(Status.RUNNING)
    page = login()
    open_on_fake_clock(page, f"{live_server.url}{LIST}")
    page.locator("select.search-filter-icons + .select2-container").click()
    assert page.locator(".select2-container--open").count()
    page.clock.run_for(30_000)
    assert not reloaded(page)


def test_the_button_still_guards_against_a_double_submit(login, live_server):
    page = login()
    page.goto(f"{live_server.url}{LIST}")
    assert page.locator("form[data-import-trigger]").count() == 1
    # The guard is wired: a submit event marks the form and a second one is cancelled.
    prevented = page.evaluate("""() => {
        const form = document.querySelector('form[data-import-trigger]');
        document.addEventListener('submit', e => e.preventDefault());  // after the guard's: keep the page here
        const first = new Event('submit', {cancelable: true, bubbles: true});
        form.dispatchEvent(first);
        const second = new Event('submit', {cancelable: true, bubbles: true});
        form.dispatchEvent(second);
        return [form.dataset.submitted, second.defaultPrevented];
    }""")
    assert prevented == ["1", True]


# --- the session page ----------------------------------------------------------------------------

def test_the_session_page_shows_the_errors_table_and_the_csv_downloads(login, live_server, tmp_path):
    errors = [{"onec_id": f"bad-{i}", "file": "prices/prices.xml", "message": f"цена: ошибка {i}"} for i in range(60)]
    session = make(Status.FAILED, total_items=100, processed_items=40, failed_items=60, errors=errors,
                   error_message="prices.xml: повреждённый XML")
    page = login()
    page.goto(f"{live_server.url}{LIST}{session.pk}/change/")

    assert "Причина" in page.locator(".import-summary").inner_text()
    rows = page.locator("table.import-errors tbody tr")
    assert rows.count() == 50
    assert rows.first.inner_text().split("\t")[:2] == ["bad-0", "prices/prices.xml"]
    with page.expect_download() as info:
        page.get_by_role("link", name="Скачать CSV").click()
    path = tmp_path / "errors.csv"
    info.value.save_as(path)
    table = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert len(table) == 61 and table[60] == ["bad-59", "prices/prices.xml", "цена: ошибка 59"]
    with page.expect_navigation():
        page.get_by_role("link", name="2", exact=True).click()
    assert page.locator("table.import-errors tbody tr").count() == 10


@pytest.mark.parametrize("where", ["session page", "list"])
def test_cancel_buttons_really_post_the_cancel(login, live_server, where):
    running = make(Status.RUNNING, total_items=100, processed_items=10)
    page = login()
    if where == "session page":
        page.goto(f"{live_server.url}{LIST}{running.pk}/change/")
        button = page.locator("#import-cancel")
    else:
        page.goto(f"{live_server.url}{LIST}")
        button = page.locator("#result_list button.import-cancel")
    with page.expect_navigation():
        button.click()
    assert "Отмена запрошена" in page.locator(".alert-info").inner_text()
    running.refresh_from_db()
    assert running.cancel_requested_at is not None and running.cancelled_by.username == "boss"
