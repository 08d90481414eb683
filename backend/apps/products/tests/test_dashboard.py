"""The dashboard's import card: what it says in each state, what it costs, who sees what.

Real Redis (the test run's own) holds the lock; sessions are real rows.
"""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_redis import get_redis_connection
import redis.client
from redis import Redis

from apps.products import dashboard, locking
from apps.products.locking import LOCK_KEY, STALE_AFTER
from apps.products.models import ImportSession

pytestmark = pytest.mark.django_db
Status = ImportSession.Status


@pytest.fixture
def redis_conn():
    conn = get_redis_connection("default")
    conn.delete(LOCK_KEY)
    yield conn
    conn.delete(LOCK_KEY)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


def staff(django_user_model, *codenames):
    user = django_user_model.objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="products", codename__in=codenames))
    return django_user_model.objects.get(pk=user.pk)


def card_for(user) -> dict | None:
    request = RequestFactory().get("/admin/")
    request.user = user
    return dashboard.import_card_context(request)["import_card"]


def make(status, **fields) -> ImportSession:
    now = timezone.now()
    defaults = {"status": status, "started_at": now - dt.timedelta(minutes=2), "heartbeat_at": now}
    if status not in ImportSession.ACTIVE_STATUSES:
        defaults["finished_at"] = now
    return ImportSession.objects.create(**{**defaults, **fields})


def test_free_lock_and_no_import_yet(superuser, redis_conn):
    card = card_for(superuser)
    assert card["lock"].state == "free"
    assert card["last"] is None and card["history"] == [] and card["active"] is None
    assert card["can_run"] and card["blocked"] == ""


def test_a_running_import_holds_the_lock_and_blocks_the_button(superuser, redis_conn):
    running = make(Status.RUNNING, lock_token="tok-1", triggered_by=superuser, total_items=100, processed_items=30,
                   writing_started_at=timezone.now() - dt.timedelta(seconds=10))
    redis_conn.set(LOCK_KEY, "tok-1", ex=3600)

    card = card_for(superuser)

    assert card["lock"].state == "held" and card["lock"].holder == running
    assert card["lock"].ttl_seconds and 3500 < card["lock"].ttl_seconds <= 3600
    assert card["active"] == running
    assert card["blocked"] == f"Идёт импорт {running.short_id} — дождитесь его завершения."


def test_a_silent_holder_is_stale_by_the_locks_own_rule(superuser, redis_conn):
    silent = make(Status.RUNNING, lock_token="tok-2",
                  heartbeat_at=timezone.now() - dt.timedelta(seconds=STALE_AFTER + 5))
    redis_conn.set(LOCK_KEY, "tok-2", ex=3600)

    assert dashboard.import_lock_view().state == "stale"  # read-only: the rule itself
    card = card_for(superuser)  # the card, like the list, marks the dead session failed first

    silent.refresh_from_db()
    assert silent.status == Status.FAILED
    assert card["lock"].state == "stale" and card["lock"].holder == silent
    assert card["active"] is None and card["blocked"] == ""  # the next start takes the lock over


def test_a_holder_just_under_the_stale_limit_is_still_live(superuser, redis_conn):
    make(Status.RUNNING, lock_token="tok-3", heartbeat_at=timezone.now() - dt.timedelta(seconds=STALE_AFTER - 5))
    redis_conn.set(LOCK_KEY, "tok-3", ex=3600)
    assert card_for(superuser)["lock"].state == "held"


def test_a_finished_holder_that_never_released_is_stale(superuser, redis_conn):
    make(Status.COMPLETED, lock_token="tok-4")
    redis_conn.set(LOCK_KEY, "tok-4", ex=3600)
    assert card_for(superuser)["lock"].state == "stale"


def test_a_lock_held_by_something_else_is_foreign_and_blocks(superuser, redis_conn):
    redis_conn.set(LOCK_KEY, "not-ours", ex=600)
    card = card_for(superuser)
    assert card["lock"].state == "foreign" and 590 < card["lock"].ttl_seconds <= 600
    assert "другой процесс" in card["blocked"]


def test_redis_down_is_said_and_does_not_break_the_card(superuser, redis_conn, monkeypatch):
    monkeypatch.setattr(locking, "_redis", lambda: Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5))
    make(Status.COMPLETED)
    card = card_for(superuser)
    assert card["lock"].state == "unknown" and "Redis недоступен" in card["lock"].error
    assert card["last"] is not None


def test_the_last_finished_import_and_the_history(superuser, redis_conn):
    for minutes in range(25, 0, -1):
        make(Status.COMPLETED, finished_at=timezone.now() - dt.timedelta(minutes=minutes))
    last = make(Status.FAILED, failed_items=3)
    card = card_for(superuser)
    assert card["last"] == last
    assert len(card["history"]) == dashboard.HISTORY_SIZE and card["history"][-1] == last
    finished = [session.finished_at for session in card["history"]]
    assert finished == sorted(finished)  # oldest first


def test_who_lacks_the_import_permission_sees_the_state_without_the_button(django_user_model, redis_conn):
    card = card_for(staff(django_user_model, "view_importsession"))
    assert card is not None and card["can_run"] is False


def test_staff_who_may_not_see_sessions_get_no_card(django_user_model, redis_conn):
    assert card_for(staff(django_user_model, "view_product")) is None


def test_the_card_costs_the_same_queries_and_at_most_two_redis_commands_whatever_the_history(superuser, redis_conn,
                                                                                              mocker):
    # Redis commands are counted on the client (the server's own counters would include other clients).
    commands = [mocker.spy(redis.client.Redis, "execute_command"), mocker.spy(redis.client.Pipeline, "execute_command")]

    def cost(sessions: int) -> tuple[int, int]:
        ImportSession.objects.all().delete()
        ImportSession.objects.bulk_create([ImportSession(status=Status.COMPLETED, finished_at=timezone.now(),
                                                         errors=[{"m": "x"}] * 20) for _ in range(sessions)])
        make(Status.RUNNING, lock_token="tok-5")
        redis_conn.set(LOCK_KEY, "tok-5", ex=3600)
        card_for(superuser)  # warm the user's permission cache, as a real request does once
        for spy in commands:
            spy.reset_mock()
        with CaptureQueriesContext(connection) as queries:
            card_for(superuser)
        return len(queries), sum(spy.call_count for spy in commands)

    few, many = cost(2), cost(200)
    assert few == many
    assert 1 <= many[1] <= 2


def test_a_queued_import_nobody_takes_says_so_on_the_card(superuser, redis_conn, settings, tmp_path):
    from apps.products.onec.synthetic import write_package
    from apps.products.services.catalog_import import catalog_import_cancel, catalog_import_enqueue

    write_package(tmp_path / "pkg", products=3)
    session = catalog_import_enqueue(data_dir=tmp_path / "pkg", user=superuser)
    try:
        settings.IMPORT_NO_WORKER_AFTER = 0  # no worker runs in this test
        card = card_for(superuser)
        assert card["active"] == session and card["lock"].state == "held"
        assert card["queue_note"] == "в очереди: нет работающего обработчика"
        assert card["cancel_url"].endswith(f"/{session.pk}/cancel/")
    finally:
        catalog_import_cancel(session=session)
