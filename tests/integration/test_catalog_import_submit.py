"""``catalog_import_submit``: the door for callers that must not wait — same lock, same session."""
from __future__ import annotations

import threading

import pytest
from django.utils import timezone

from apps.products.locking import LOCK_KEY, ImportAlreadyRunning, ImportLockUnavailable
from apps.products.models import ImportSession, Product
from apps.products.services import import_sessions
from apps.products.services.catalog_import import catalog_import_submit

from .conftest import PACKAGE_PRODUCTS

pytestmark = pytest.mark.django_db(transaction=True)  # the import runs in its own thread and connection

Status = ImportSession.Status


def _import_thread() -> threading.Thread:
    (thread,) = [t for t in threading.enumerate() if t.name.startswith("catalog-import-")]
    return thread


def test_returns_the_running_session_and_finishes_in_the_background(onec_package, superuser, mocker, redis_conn):
    proceed = threading.Event()
    original = import_sessions.import_session_progress

    def held(session, result):
        assert proceed.wait(60)
        original(session, result)

    mocker.patch("apps.products.services.catalog_import.import_session_progress", side_effect=held)

    session = catalog_import_submit(user=superuser, source=ImportSession.Source.EXCHANGE)

    assert session.status == Status.RUNNING  # returned before the import got anywhere
    assert redis_conn.get(LOCK_KEY) == session.lock_token.encode()
    assert ImportSession.objects.get().pk == session.pk
    proceed.set()
    _import_thread().join(60)
    session.refresh_from_db()
    assert (session.status, session.source, session.triggered_by) == (Status.COMPLETED, "exchange", superuser)
    assert session.data_dir == str(onec_package.resolve())
    assert Product.objects.count() == PACKAGE_PRODUCTS
    assert redis_conn.get(LOCK_KEY) is None


def test_refused_while_another_import_holds_the_lock_and_records_nothing(onec_package, redis_conn):
    live = ImportSession.objects.create(status=Status.RUNNING, lock_token="live", heartbeat_at=timezone.now())
    redis_conn.set(LOCK_KEY, "live", ex=600)

    with pytest.raises(ImportAlreadyRunning):
        catalog_import_submit(source=ImportSession.Source.EXCHANGE)

    assert list(ImportSession.objects.all()) == [live]
    assert redis_conn.get(LOCK_KEY) == b"live"


def test_redis_down_starts_nothing(onec_package, mocker):
    from redis.exceptions import ConnectionError

    mocker.patch("apps.products.locking._redis", side_effect=ConnectionError("refused"))
    with pytest.raises(ImportLockUnavailable):
        catalog_import_submit(source=ImportSession.Source.EXCHANGE)
    assert not ImportSession.objects.exists()


def test_a_failing_package_fails_its_session_and_frees_the_lock(settings, tmp_path, redis_conn):
    settings.ONEC_DATA_DIR = tmp_path / "missing"
    session = catalog_import_submit(source=ImportSession.Source.EXCHANGE)
    _import_thread().join(60)
    session.refresh_from_db()
    assert session.status == Status.FAILED and "каталог данных 1С не найден" in session.error_message
    assert redis_conn.get(LOCK_KEY) is None
