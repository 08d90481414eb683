"""Starting a 1C import from the admin, through the real admin URLs, the real command and the real Redis lock."""
from __future__ import annotations

import datetime as dt
import io
import queue
import re
import threading
import uuid

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.utils import timezone

from apps.products.admin import TRIGGER_ACTION
from apps.products.locking import KEEPALIVE_INTERVAL, LOCK_KEY, LOCK_TTL, STALE_AFTER
from apps.products.models import ImportSession, Offer, Product
from apps.products.services import import_sessions

from tests.conftest import ImportGate

from .conftest import CHANGELIST_URL, PACKAGE_PRODUCTS

pytestmark = pytest.mark.django_db

Status = ImportSession.Status
ALREADY_RUNNING = "⚠️ Импорт уже запущен!"
BUTTON_FORM = 'id="run-catalog-import"'
ACTION_OPTION = f'value="{TRIGGER_ACTION}"'


def press_button(client, **data):
    """What the "run import" button posts: the action, no selection, no ``index``."""
    return client.post(CHANGELIST_URL, {"action": TRIGGER_ACTION, **data})


def use_action_bar(client, *selected):
    """What the action bar's "Go" posts."""
    return client.post(CHANGELIST_URL, {"action": TRIGGER_ACTION, "index": "0", "select_across": "0",
                                        "_selected_action": [str(pk) for pk in selected]})


def shown_messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def the_only_message(response) -> tuple[str, str]:
    (message,) = shown_messages(response)
    return message


def make_session(**fields) -> ImportSession:
    return ImportSession.objects.create(**{"status": Status.COMPLETED, "finished_at": timezone.now(), **fields})




def _in_thread(target, *args) -> tuple[threading.Thread, queue.Queue]:
    results: queue.Queue = queue.Queue()

    def run():
        try:
            results.put(target(*args))
        except BaseException as exc:  # surfaced by the test, not lost in the thread
            results.put(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, results


# --- starting an import ---------------------------------------------------------------------


def test_button_renders_for_a_permitted_user_on_an_empty_list(client, superuser):
    client.force_login(superuser)
    html = client.get(CHANGELIST_URL).content.decode()
    form = re.search(rf'<form[^>]*{BUTTON_FORM}.*?</form>', html, re.S)
    assert form, "the run-import button is not on the page"
    assert 'method="post"' in form.group(0)
    assert 'name="csrfmiddlewaretoken"' in form.group(0)
    assert f'name="action" value="{TRIGGER_ACTION}"' in form.group(0)
    assert "admin_import/trigger.js" in html  # the double-submit guard


def test_button_starts_an_import_on_an_empty_list_and_fills_the_catalog(client, superuser, onec_package,
                                                                         redis_conn):
    client.force_login(superuser)
    response = press_button(client)

    assert response.status_code == 302 and response.url == CHANGELIST_URL
    session = ImportSession.objects.get()
    assert (session.status, session.source, session.triggered_by) == (Status.COMPLETED, "admin", superuser)
    assert session.data_dir == str(onec_package)
    assert Product.objects.count() == PACKAGE_PRODUCTS
    assert Offer.objects.count() == PACKAGE_PRODUCTS * 2
    level, text = the_only_message(response)
    assert level == "success"
    assert text.startswith("✅ Импорт завершён: ")
    assert f"обработано {session.processed_items} из {session.total_items}" in text
    assert f"товары: создано {PACKAGE_PRODUCTS}, обновлено 0" in text
    assert f"предложения: создано {PACKAGE_PRODUCTS * 2}, обновлено 0" in text
    assert redis_conn.get(LOCK_KEY) is None  # released after success


def test_action_bar_runs_with_nothing_selected(client, superuser, onec_package):
    make_session()  # a non-empty list, so the action bar is shown
    client.force_login(superuser)
    assert ACTION_OPTION in client.get(CHANGELIST_URL).content.decode()

    response = use_action_bar(client)

    assert response.status_code == 302
    assert the_only_message(response)[0] == "success"
    assert ImportSession.objects.filter(source="admin", status=Status.COMPLETED).count() == 1
    assert Product.objects.count() == PACKAGE_PRODUCTS


def test_action_bar_with_rows_selected_runs_one_import_of_the_whole_package(client, superuser, onec_package):
    old = [make_session(), make_session()]
    client.force_login(superuser)

    response = use_action_bar(client, *(s.pk for s in old))

    assert response.status_code == 302
    assert the_only_message(response)[0] == "success"
    assert ImportSession.objects.filter(source="admin").count() == 1
    assert Product.objects.count() == PACKAGE_PRODUCTS


def test_messages_render_as_jazzmin_alerts(client, superuser, onec_package, redis_conn):
    # Jazzmin drops messages whose tags are not exactly a level ("success extra" shows nothing).
    client.force_login(superuser)
    html = client.post(CHANGELIST_URL, {"action": TRIGGER_ACTION}, follow=True).content.decode()
    assert re.search(r'class="alert alert-success[^"]*"[^>]*>\s*<i[^>]*></i>\s*✅ Импорт завершён', html)

    redis_conn.set(LOCK_KEY, "someone-else", ex=60)
    html = client.post(CHANGELIST_URL, {"action": TRIGGER_ACTION}, follow=True).content.decode()
    assert re.search(r'class="alert alert-warning[^"]*"[^>]*>\s*<i[^>]*></i>\s*⚠️ Импорт уже запущен!', html)


def test_clicking_again_on_an_unchanged_package_says_so(client, superuser, onec_package):
    client.force_login(superuser)
    client.post(CHANGELIST_URL, {"action": TRIGGER_ACTION}, follow=True)  # the redirect shows (consumes) its message

    level, text = the_only_message(press_button(client))

    assert level == "success"
    assert f"товары: создано 0, обновлено 0, без изменений {PACKAGE_PRODUCTS}" in text
    assert "Пакет не изменился" in text
    assert ImportSession.objects.filter(status=Status.COMPLETED).count() == 2


def test_failed_import_shows_the_reason(client, superuser, settings, tmp_path, redis_conn):
    settings.ONEC_DATA_DIR = tmp_path / "nothing-here"
    client.force_login(superuser)

    response = press_button(client)

    assert response.status_code == 302
    session = ImportSession.objects.get()
    assert session.status == Status.FAILED
    level, text = the_only_message(response)
    assert level == "error"
    assert text == f"❌ Импорт не выполнен: {session.error_message.splitlines()[0]} (сессия {session.session_id})."
    assert "каталог данных 1С не найден" in text
    assert redis_conn.get(LOCK_KEY) is None


# --- one import at a time -------------------------------------------------------------------


def test_second_import_refused_while_a_live_import_holds_the_lock(client, superuser, onec_package, redis_conn):
    live = ImportSession.objects.create(status=Status.RUNNING, lock_token="live-token", heartbeat_at=timezone.now())
    redis_conn.set(LOCK_KEY, "live-token", ex=LOCK_TTL)
    client.force_login(superuser)

    response = press_button(client)

    assert response.status_code == 302
    assert the_only_message(response) == ("warning", "⚠️ Импорт уже запущен! Дождитесь завершения текущего импорта.")
    assert list(ImportSession.objects.all()) == [live]  # nothing recorded
    assert Product.objects.count() == 0
    assert redis_conn.get(LOCK_KEY) == b"live-token"  # and the holder keeps its lock


def test_a_lock_held_by_someone_else_is_not_broken_or_released(client, superuser, onec_package, redis_conn):
    redis_conn.set(LOCK_KEY, "not-an-import-session", ex=600)  # no session knows this token
    client.force_login(superuser)

    response = press_button(client)

    assert the_only_message(response)[0] == "warning"
    assert not ImportSession.objects.exists()
    assert redis_conn.get(LOCK_KEY) == b"not-an-import-session"
    assert 0 < redis_conn.ttl(LOCK_KEY) <= 600


@pytest.mark.django_db(transaction=True)
def test_racing_clicks_run_exactly_one_import(superuser, onec_package, mocker, redis_conn):
    racers = 4
    gate = ImportGate(mocker)
    clients = []
    for _ in range(racers):
        c = Client()
        c.force_login(superuser)
        clients.append(c)
    start = threading.Barrier(racers)

    def click(c):
        start.wait(30)  # all POST at the same moment: they really race for the lock
        return press_button(c)

    runs = [_in_thread(click, c) for c in clients]
    gate.wait_running()
    # Every click but the winner's finishes while the winner is held inside its import.
    refused = []
    pending = list(runs)
    while len(refused) < racers - 1:
        for thread, results in list(pending):
            thread.join(0.05)
            if not thread.is_alive():
                refused.append(results.get())
                pending.remove((thread, results))
    assert len(pending) == 1
    gate.open()
    (winner_thread, winner_results), = pending
    winner_thread.join(60)
    won = winner_results.get()

    for response in refused:
        assert not isinstance(response, BaseException), response
        assert shown_messages(response) == [("warning", "⚠️ Импорт уже запущен! Дождитесь завершения текущего импорта.")]
    assert not isinstance(won, BaseException), won
    assert the_only_message(won)[0] == "success"
    session = ImportSession.objects.get()  # exactly one session
    assert session.status == Status.COMPLETED
    assert Product.objects.count() == PACKAGE_PRODUCTS
    assert redis_conn.get(LOCK_KEY) is None


@pytest.mark.django_db(transaction=True)
def test_a_cli_import_and_an_admin_click_never_overlap(client, superuser, onec_package, mocker, redis_conn):
    gate = ImportGate(mocker)
    cli, cli_result = _in_thread(call_command, "import_catalog_from_1c", "--data-dir", str(onec_package))
    gate.wait_running()
    try:
        client.force_login(superuser)
        response = press_button(client)
    finally:
        gate.open()
        cli.join(60)

    assert the_only_message(response)[0] == "warning"
    session = ImportSession.objects.get()
    assert (session.source, session.status) == ("cli", Status.COMPLETED)
    assert cli_result.get() == str(session.session_id)


@pytest.mark.django_db(transaction=True)
def test_an_import_outliving_the_lock_ttl_stays_exclusive(client, superuser, onec_package, mocker, redis_conn):
    # Scaled down: a 1 s TTL renewed every 0.1 s. The held import outlives the TTL one and a half
    # times over, counted in renewals (each followed by a heartbeat), not by sleeping.
    mocker.patch("apps.products.locking.LOCK_TTL", 1)
    mocker.patch("apps.products.locking.KEEPALIVE_INTERVAL", 0.1)
    renewals = threading.Semaphore(0)
    beat = import_sessions.import_session_beat

    def counted_beat(**kwargs):
        beat(**kwargs)
        renewals.release()

    mocker.patch("apps.products.services.catalog_import.import_session_beat", side_effect=counted_beat)
    gate = ImportGate(mocker)
    first = Client()
    first.force_login(superuser)
    runner, first_result = _in_thread(press_button, first)
    gate.wait_running()
    try:
        for _ in range(15):
            assert renewals.acquire(timeout=30), "the keeper stopped renewing the lock"
        client.force_login(superuser)
        second = press_button(client)
    finally:
        gate.open()
        runner.join(60)

    assert the_only_message(second)[0] == "warning"
    assert the_only_message(first_result.get())[0] == "success"
    assert ImportSession.objects.count() == 1
    assert redis_conn.get(LOCK_KEY) is None


def test_a_crashed_import_blocks_for_less_than_two_minutes():
    # A dead holder is recognised STALE_AFTER after its last heartbeat; a live one beats every
    # KEEPALIVE_INTERVAL and must never look dead.
    assert STALE_AFTER <= 120
    assert KEEPALIVE_INTERVAL * 3 <= STALE_AFTER


# --- the lock always goes back ---------------------------------------------------------------


def test_lock_released_after_an_exception_inside_the_import(client, superuser, onec_package, mocker, redis_conn):
    mocker.patch("apps.products.services.catalog_import.run_import", side_effect=RuntimeError("boom"))
    client.force_login(superuser)

    response = press_button(client)

    assert response.status_code == 302
    session = ImportSession.objects.get()
    assert session.status == Status.FAILED
    assert session.error_message.startswith("внутренняя ошибка: RuntimeError: boom")
    level, text = the_only_message(response)
    assert level == "error" and "RuntimeError: boom" in text
    assert redis_conn.get(LOCK_KEY) is None


def test_lock_released_after_an_exception_escaping_the_service(client, superuser, onec_package, mocker, redis_conn):
    mocker.patch("apps.products.services.catalog_import.import_session_complete",
                 side_effect=RuntimeError("database went away"))
    client.force_login(superuser)

    response = press_button(client)

    assert response.status_code == 302  # never a 500
    assert the_only_message(response) == ("error", "❌ Ошибка импорта: RuntimeError: database went away")
    assert redis_conn.get(LOCK_KEY) is None


def test_release_never_deletes_a_lock_that_is_no_longer_ours(client, superuser, onec_package, mocker, redis_conn):
    # Mid-import the key changes hands (as after an expiry and another holder taking it).
    original = import_sessions.import_session_progress

    def usurp(session, result):
        original(session, result)
        redis_conn.set(LOCK_KEY, "new-holder", ex=600)

    mocker.patch("apps.products.services.catalog_import.import_session_progress", side_effect=usurp)
    client.force_login(superuser)

    response = press_button(client)

    assert redis_conn.get(LOCK_KEY) == b"new-holder"
    assert the_only_message(response)[0] == "success"  # the failed release does not hide the outcome
    assert ImportSession.objects.get().status == Status.COMPLETED


# --- crash recovery ---------------------------------------------------------------------------


def _dead_holder(redis_conn) -> ImportSession:
    """A session whose process was killed: still "running", silent for longer than STALE_AFTER,
    its token still in Redis with most of its TTL left."""
    silent_since = timezone.now() - dt.timedelta(seconds=STALE_AFTER + 30)
    token = uuid.uuid4().hex
    dead = ImportSession.objects.create(status=Status.RUNNING, lock_token=token, started_at=silent_since,
                                        heartbeat_at=silent_since)
    redis_conn.set(LOCK_KEY, token, ex=LOCK_TTL)
    return dead


def test_an_import_starts_over_a_dead_holder_and_its_session_shows_failed(client, superuser, onec_package,
                                                                         redis_conn):
    dead = _dead_holder(redis_conn)
    client.force_login(superuser)

    response = press_button(client)

    assert the_only_message(response)[0] == "success"
    dead.refresh_from_db()
    assert dead.status == Status.FAILED
    assert dead.error_message.startswith("прервано: нет сигнала с ")
    assert ImportSession.objects.filter(source="admin", status=Status.COMPLETED).count() == 1
    assert redis_conn.get(LOCK_KEY) is None


def test_the_cli_door_recovers_a_dead_holder_too(onec_package, redis_conn):
    dead = _dead_holder(redis_conn)

    call_command("import_catalog_from_1c", "--data-dir", str(onec_package), stdout=io.StringIO())

    dead.refresh_from_db()
    assert dead.status == Status.FAILED and dead.error_message.startswith("прервано: нет сигнала с ")
    assert Product.objects.count() == PACKAGE_PRODUCTS


def test_opening_the_list_marks_dead_sessions_failed(client, superuser):
    silent_since = timezone.now() - dt.timedelta(seconds=STALE_AFTER + 30)
    dead = ImportSession.objects.create(status=Status.RUNNING, heartbeat_at=silent_since)
    alive = ImportSession.objects.create(status=Status.RUNNING, heartbeat_at=timezone.now())
    client.force_login(superuser)

    html = client.get(CHANGELIST_URL).content.decode()

    dead.refresh_from_db(), alive.refresh_from_db()
    assert dead.status == Status.FAILED and "прервано: нет сигнала с" in dead.error_message
    assert alive.status == Status.RUNNING
    assert "Ошибка" in html


# --- Redis down -------------------------------------------------------------------------------


def test_redis_unreachable_gives_an_error_and_a_redirect_and_starts_nothing(client, superuser, onec_package,
                                                                           settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    client.force_login(superuser)

    response = press_button(client)

    assert response.status_code == 302 and response.url == CHANGELIST_URL
    level, text = the_only_message(response)
    assert level == "error"
    assert text.startswith("❌ Нельзя запустить импорт: Redis недоступен")
    assert not ImportSession.objects.exists()
    assert Product.objects.count() == 0


# --- who may start an import, and how ---------------------------------------------------------


def test_staff_without_the_permission_see_neither_button_nor_action(client, viewer):
    make_session()  # so the action bar is rendered at all
    client.force_login(viewer)
    html = client.get(CHANGELIST_URL).content.decode()
    assert BUTTON_FORM not in html
    assert ACTION_OPTION not in html


def test_a_forged_button_post_from_staff_without_the_permission_is_refused(client, viewer, onec_package):
    client.force_login(viewer)
    assert press_button(client).status_code == 403
    assert not ImportSession.objects.exists()
    assert Product.objects.count() == 0


def test_a_forged_action_bar_post_from_staff_without_the_permission_runs_nothing(client, viewer, onec_package):
    existing = make_session()
    client.force_login(viewer)

    response = use_action_bar(client, existing.pk)

    # With no action available to them, Django ignores the posted one and just shows the list.
    assert response.status_code == 200
    assert not [m for m in shown_messages(response) if m[0] == "success"]
    assert list(ImportSession.objects.all()) == [existing]
    assert Product.objects.count() == 0


def test_staff_granted_the_permission_can_run_and_are_recorded(client, operator, onec_package):
    client.force_login(operator)
    assert BUTTON_FORM in client.get(CHANGELIST_URL).content.decode()

    press_button(client)

    session = ImportSession.objects.get()
    assert (session.status, session.source, session.triggered_by) == (Status.COMPLETED, "admin", operator)


def test_a_get_never_starts_an_import(client, superuser, onec_package):
    client.force_login(superuser)
    for query in ({"action": TRIGGER_ACTION}, {"action": TRIGGER_ACTION, "index": "0"}):
        assert client.get(CHANGELIST_URL, query).status_code in (200, 302)
    assert not ImportSession.objects.exists()
    assert Product.objects.count() == 0


def test_csrf_is_required_and_the_buttons_token_is_accepted(superuser, onec_package):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(superuser)

    assert press_button(browser).status_code == 403
    assert not ImportSession.objects.exists()

    html = browser.get(CHANGELIST_URL).content.decode()
    form = re.search(rf'<form[^>]*{BUTTON_FORM}.*?</form>', html, re.S).group(0)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    response = press_button(browser, csrfmiddlewaretoken=token)
    assert response.status_code == 302
    assert ImportSession.objects.get().status == Status.COMPLETED


# --- the sessions themselves ------------------------------------------------------------------


def test_sessions_are_read_only(client, superuser):
    finished = make_session()
    running = ImportSession.objects.create(status=Status.RUNNING, heartbeat_at=timezone.now())
    client.force_login(superuser)
    change_url = f"{CHANGELIST_URL}{finished.pk}/change/"

    assert client.get(f"{CHANGELIST_URL}add/").status_code == 403
    assert client.get(change_url).status_code == 200
    assert client.post(change_url, {"status": Status.FAILED}).status_code == 403
    finished.refresh_from_db()
    assert finished.status == Status.COMPLETED
    assert client.get(f"{CHANGELIST_URL}{running.pk}/delete/").status_code == 403  # a live lock holder's record
    assert client.get(f"{CHANGELIST_URL}{finished.pk}/delete/").status_code == 200
