"""The admin with ``IMPORT_RUNNER=queue``: the action answers at once, many clicks queue one import,
and sessions can be cancelled (POST, CSRF, the import permission)."""
from __future__ import annotations

import threading

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connections
from django.test import Client
from django.utils import timezone

from apps.products.admin import TRIGGER_ACTION
from apps.products.import_queue import import_queue_length
from apps.products.locking import LOCK_KEY
from apps.products.models import ImportSession, Offer, Product

from .conftest import wait_for

CHANGELIST_URL = "/admin/products/importsession/"
Status = ImportSession.Status
ALREADY_RUNNING = ("warning", "⚠️ Импорт уже запущен! Дождитесь завершения текущего импорта.")


def cancel_url(session) -> str:
    return f"{CHANGELIST_URL}{session.pk}/cancel/"


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m.message)) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def queue_mode(settings):
    settings.IMPORT_RUNNER = "queue"


@pytest.fixture
def package(settings, tmp_path):
    from apps.products.onec.synthetic import write_package

    write_package(tmp_path / "import_1c", products=30, offers_per_product=2)
    settings.ONEC_DATA_DIR = tmp_path / "import_1c"
    return settings.ONEC_DATA_DIR


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


def staff(django_user_model, username, *codenames):
    user = django_user_model.objects.create_user(username, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="products", codename__in=codenames))
    return user


# --- queueing from the admin ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_button_queues_and_answers_at_once_with_a_link_to_the_session(queue_mode, package, superuser, client,
                                                                          workers):
    client.force_login(superuser)
    response = client.post(CHANGELIST_URL, {"action": TRIGGER_ACTION})

    assert response.status_code == 302
    session = ImportSession.objects.get()
    assert (session.status, session.source, session.triggered_by) == (Status.PENDING, "admin", superuser)
    (level, text), = messages_of(response)
    assert level == "info"
    assert text == (f'⏳ Импорт поставлен в очередь: <a href="{CHANGELIST_URL}{session.pk}/change/">сессия '
                    f'{session.session_id}</a>. Он начнётся, как только его возьмёт обработчик очереди; ход '
                    "импорта виден на странице сессии.")
    html = client.get(response.url).content.decode()  # the link is a link, not escaped text
    assert f'<a href="{CHANGELIST_URL}{session.pk}/change/">сессия {session.session_id}</a>' in html

    name = workers.start(burst=True)
    assert workers.wait_exit(name) == 0
    session.refresh_from_db()
    assert session.status == Status.COMPLETED and Product.objects.count() == 30


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_clicks_queue_one_import(queue_mode, package, superuser, workers, redis_conn):
    clicks = 20
    clients = []
    for _ in range(clicks):
        c = Client()
        c.force_login(superuser)
        clients.append(c)
    start = threading.Barrier(clicks)
    answers: list = [None] * clicks

    def click(i):
        try:
            start.wait(30)  # all POST at the same moment
            answers[i] = messages_of(clients[i].post(CHANGELIST_URL, {"action": TRIGGER_ACTION}))
        except BaseException as exc:  # surfaced below, not lost in the thread
            answers[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click, args=(i,)) for i in range(clicks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert all(isinstance(a, list) for a in answers), answers
    levels = sorted(level for (level, _), in answers)
    assert levels == ["info"] + ["warning"] * (clicks - 1)
    assert sum(a == [ALREADY_RUNNING] for a in answers) == clicks - 1
    session = ImportSession.objects.get()  # exactly one session, one job
    assert session.status == Status.PENDING and import_queue_length() == 1

    name = workers.start(burst=True)
    assert workers.wait_exit(name) == 0
    session.refresh_from_db()
    assert session.status == Status.COMPLETED
    assert (Product.objects.count(), Offer.objects.count()) == (30, 60)
    assert redis_conn.get(LOCK_KEY) is None


# --- cancel from the admin ------------------------------------------------------------------


@pytest.mark.django_db
def test_cancel_of_a_queued_import_from_the_admin(queue_mode, package, django_user_model, client, redis_conn):
    operator = staff(django_user_model, "operator", "view_importsession", "run_catalog_import")
    client.force_login(operator)
    client.post(CHANGELIST_URL, {"action": TRIGGER_ACTION})
    session = ImportSession.objects.get()

    response = client.post(cancel_url(session), {"next": CHANGELIST_URL})

    assert response.status_code == 302 and response.url == CHANGELIST_URL
    assert messages_of(response)[-1] == ("success", "🛑 Импорт отменён до запуска: он не выполнялся.")
    session.refresh_from_db()
    assert (session.status, session.cancelled_by) == (Status.CANCELLED, operator)
    assert redis_conn.get(LOCK_KEY) is None and import_queue_length() == 0


@pytest.mark.django_db
def test_cancel_of_a_running_import_asks_it_to_stop(superuser, client):
    running = ImportSession.objects.create(status=Status.RUNNING, heartbeat_at=timezone.now())
    client.force_login(superuser)

    response = client.post(cancel_url(running), {"next": "https://evil.example/"})

    assert response.url == f"{CHANGELIST_URL}{running.pk}/change/"  # not an open redirect
    (level, text), = messages_of(response)
    assert level == "info" and text.startswith("🛑 Отмена запрошена: импорт остановится после текущей порции")
    running.refresh_from_db()
    assert running.status == Status.RUNNING  # it stops itself, between two batches
    assert running.cancel_requested_at is not None and running.cancelled_by == superuser


@pytest.mark.django_db
def test_cancel_of_a_finished_import_says_there_is_nothing_to_cancel(superuser, client):
    done = ImportSession.objects.create(status=Status.COMPLETED, finished_at=timezone.now())
    client.force_login(superuser)
    response = client.post(cancel_url(done))
    assert messages_of(response) == [("warning", "⚠️ Отменять нечего: импорт уже завершён (завершён).")]


@pytest.mark.django_db
def test_cancel_needs_post_csrf_and_the_import_permission(django_user_model, superuser, client):
    running = ImportSession.objects.create(status=Status.RUNNING, heartbeat_at=timezone.now())
    viewer = staff(django_user_model, "viewer", "view_importsession")

    client.force_login(superuser)
    assert client.get(cancel_url(running)).status_code == 405
    assert client.post(f"{CHANGELIST_URL}999999/cancel/").status_code == 404
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(superuser)
    assert strict.post(cancel_url(running)).status_code == 403
    client.force_login(viewer)
    assert client.post(cancel_url(running)).status_code == 403

    running.refresh_from_db()
    assert running.cancel_requested_at is None
    client.logout()
    response = client.post(cancel_url(running))
    assert response.status_code == 302 and "/login/" in response.url
    running.refresh_from_db()
    assert running.cancel_requested_at is None


@pytest.mark.django_db
def test_sync_mode_is_unchanged_the_button_runs_the_import_in_the_request(package, superuser, client):
    client.force_login(superuser)
    response = client.post(CHANGELIST_URL, {"action": TRIGGER_ACTION})
    (level, text), = messages_of(response)
    assert level == "success" and text.startswith("✅ Импорт завершён")
    assert ImportSession.objects.get().status == Status.COMPLETED


def test_wait_for_fails_loudly_at_its_deadline():
    with pytest.raises(pytest.fail.Exception, match="timed out after 0.05 s waiting for nothing"):
        wait_for(lambda: False, timeout=0.05, what="nothing")


# --- where the admin shows it ---------------------------------------------------------------


@pytest.mark.django_db
def test_list_and_page_show_cancel_buttons_and_the_no_worker_note(queue_mode, package, superuser, client, settings,
                                                                    django_user_model):
    import re

    settings.IMPORT_NO_WORKER_AFTER = 0
    client.force_login(superuser)
    client.post(CHANGELIST_URL, {"action": TRIGGER_ACTION})
    session = ImportSession.objects.get()

    html = client.get(CHANGELIST_URL).content.decode()
    assert "в очереди: нет работающего обработчика" in html  # no import_worker runs in this test
    button = re.search(r'<button[^>]*formaction="([^"]+)"[^>]*>', html)
    assert button and button.group(1) == cancel_url(session)
    assert re.search(r'<form id="changelist-form"[^>]*method="post"', html) and "csrfmiddlewaretoken" in html
    page = client.get(f"{CHANGELIST_URL}{session.pk}/change/").content.decode()
    assert 'id="import-queue-note"' in page
    # Inside the admin's change form (forms cannot nest): a button that sends that form elsewhere.
    assert re.search(rf'<button type="submit"[^>]*id="import-cancel"\s+formaction="{cancel_url(session)}"', page)

    # The button as the browser sends it: the list's form, posted to the cancel URL, next = the list.
    response = client.post(cancel_url(session), {"action": TRIGGER_ACTION, "next": CHANGELIST_URL})
    assert response.url == CHANGELIST_URL
    session.refresh_from_db()
    assert session.status == Status.CANCELLED
    html = client.get(CHANGELIST_URL).content.decode()
    assert "import-cancel" not in html and "Отменён" in html

    viewer = staff(django_user_model, "viewer", "view_importsession")
    client.force_login(viewer)
    session.status = Status.PENDING
    session.save(update_fields=["status"])
    assert "import-cancel" not in client.get(CHANGELIST_URL).content.decode()
    assert 'id="import-cancel"' not in client.get(f"{CHANGELIST_URL}{session.pk}/change/").content.decode()
