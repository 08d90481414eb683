"""The queue and cancel services in-process (no worker): the status machine, the stale rule for
queued sessions, lock adoption, cancel of a synchronous import, the pre-scan's stop and the
"no worker" note. Real Redis and database; the worker processes are in test_worker.py."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections
from django.utils import timezone

from apps.products import locking
from apps.products.import_queue import import_job_is_waiting, import_queue_length
from apps.products.locking import LOCK_KEY, ImportAlreadyRunning
from apps.products.models import ImportSession, Product
from apps.products.onec import safexml
from apps.products.onec.errors import CatalogImportError
from apps.products.onec.layout import discover_package
from apps.products.selectors import NO_WORKER_NOTE, import_session_queue_note
from apps.products.services import catalog_import, import_sessions
from apps.products.services.catalog_import import (
    ImportNotCancellable, catalog_import_cancel, catalog_import_enqueue, catalog_import_run,
    catalog_import_run_queued,
)

pytestmark = pytest.mark.django_db
Status = ImportSession.Status


def test_a_cancelled_pending_session_is_never_run_by_a_late_job(fixture_dir, redis_conn):
    session = catalog_import_enqueue(data_dir=fixture_dir("ut11_full"))
    catalog_import_cancel(session=session)

    assert catalog_import_run_queued(session_pk=session.pk) is None  # a worker that took the job anyway

    session.refresh_from_db()
    assert session.status == Status.CANCELLED and not Product.objects.exists()
    assert redis_conn.get(LOCK_KEY) is None


def test_cancelling_a_finished_import_says_so(fixture_dir):
    session = catalog_import_run(data_dir=fixture_dir("ut11_full"))
    with pytest.raises(ImportNotCancellable, match="импорт уже завершён \\(завершён\\)"):
        catalog_import_cancel(session=session)
    session.refresh_from_db()
    assert session.status == Status.COMPLETED and session.cancel_requested_at is None


def test_a_queued_session_is_not_judged_by_the_heartbeat_while_its_job_waits(fixture_dir, redis_conn):
    session = catalog_import_enqueue(data_dir=fixture_dir("ut11_full"))
    long_ago = timezone.now() - dt.timedelta(hours=2)
    ImportSession.objects.filter(pk=session.pk).update(heartbeat_at=long_ago, queued_at=long_ago,
                                                       started_at=long_ago)

    assert import_sessions.import_sessions_fail_stale() == 0
    with pytest.raises(ImportAlreadyRunning):  # its lock is respected: it still waits for a worker
        catalog_import_run(data_dir=fixture_dir("ut11_full"))
    session.refresh_from_db()
    assert session.status == Status.PENDING

    redis_conn.delete(*redis_conn.keys("rq:*"))  # Redis lost the queue (flushed, restarted without disk)
    assert not import_job_is_waiting(session.queue_job_id)
    assert import_sessions.import_sessions_fail_stale() == 1
    session.refresh_from_db()
    assert session.status == Status.FAILED
    assert session.error_message.startswith("не выполнен: задание пропало из очереди")


def test_a_running_queued_import_is_judged_by_the_heartbeat(fixture_dir, redis_conn):
    session = catalog_import_enqueue(data_dir=fixture_dir("ut11_full"))
    silent = timezone.now() - dt.timedelta(seconds=locking.STALE_AFTER + 5)
    ImportSession.objects.filter(pk=session.pk).update(status=Status.RUNNING, heartbeat_at=silent)

    assert catalog_import_run(data_dir=fixture_dir("ut11_full")).status == Status.COMPLETED  # took the lock over
    session.refresh_from_db()
    assert session.status == Status.FAILED and session.error_message.startswith("прервано: нет сигнала с ")


def test_a_job_whose_lock_expired_while_queued_still_runs_if_no_one_took_it(fixture_dir, redis_conn):
    session = catalog_import_enqueue(data_dir=fixture_dir("ut11_full"))
    redis_conn.delete(LOCK_KEY)  # LOCK_TTL passed without a worker

    assert catalog_import_run_queued(session_pk=session.pk).status == Status.COMPLETED
    assert redis_conn.get(LOCK_KEY) is None


def test_a_job_whose_lock_another_import_took_fails_without_running(fixture_dir, redis_conn):
    session = catalog_import_enqueue(data_dir=fixture_dir("ut11_full"))
    redis_conn.set(LOCK_KEY, "another-import", ex=600)  # expired while queued, then taken

    catalog_import_run_queued(session_pk=session.pk)

    session.refresh_from_db()
    assert session.status == Status.FAILED
    assert session.error_message == ("не выполнен: блокировка импорта истекла, пока задание ждало в очереди, "
                                     "и её занял другой импорт")
    assert not Product.objects.exists()
    assert redis_conn.get(LOCK_KEY) == b"another-import"


def test_enqueue_refuses_as_the_synchronous_run_does_and_records_nothing(fixture_dir, redis_conn):
    redis_conn.set(LOCK_KEY, "someone", ex=600)
    with pytest.raises(ImportAlreadyRunning):
        catalog_import_enqueue(data_dir=fixture_dir("ut11_full"))
    assert not ImportSession.objects.exists() and import_queue_length() == 0


def test_no_worker_note_shows_for_a_job_left_waiting(fixture_dir, settings):
    session = catalog_import_enqueue(data_dir=fixture_dir("ut11_full"))
    assert import_session_queue_note(session) == ""  # just queued: give a worker a moment
    settings.IMPORT_NO_WORKER_AFTER = 0
    assert import_session_queue_note(session) == NO_WORKER_NOTE == "в очереди: нет работающего обработчика"
    assert import_session_queue_note(session, workers=1) == ""
    catalog_import_cancel(session=session)
    session.refresh_from_db()
    assert import_session_queue_note(session) == ""


# --- cancelling a synchronous import (CLI, admin request) -----------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_synchronous_import_is_cancelled_before_its_next_batch(tmp_path, mocker, redis_conn, django_user_model):
    from apps.products.onec import pipeline
    from apps.products.onec.synthetic import write_package

    write_package(tmp_path / "pkg", products=300, offers_per_product=2)
    mocker.patch.object(pipeline, "BATCH_SIZE", 50)
    held, go = threading.Event(), threading.Event()
    original = import_sessions.import_session_progress

    def hold_once(session, result):
        original(session, result)
        if result.processed >= 150 and not held.is_set():
            held.set()
            assert go.wait(60)

    mocker.patch.object(catalog_import, "import_session_progress", side_effect=hold_once)
    outcome = {}

    def run():
        try:
            outcome["session"] = catalog_import_run(data_dir=tmp_path / "pkg")
        finally:
            connections.close_all()

    runner = threading.Thread(target=run)
    runner.start()
    assert held.wait(60)
    processed = ImportSession.objects.get().processed_items
    boss = django_user_model.objects.create_user("boss")
    catalog_import_cancel(session=ImportSession.objects.get(), user=boss)
    go.set()
    runner.join(60)

    session = ImportSession.objects.get()
    assert (session.status, session.cancelled_by, session.processed_items) == (Status.CANCELLED, boss, processed)
    assert "отменил: boss" in session.error_message
    assert Product.objects.count() % 50 == 0 and not Product.objects.filter(is_active=False).exists()
    assert redis_conn.get(LOCK_KEY) is None


def test_a_cancel_before_the_first_batch_stops_the_import_before_it_writes(fixture_dir, mocker):
    # Cancelled between the worker taking the job and the first batch (here: during the digest).
    digest = catalog_import.package_digest

    def digest_then_cancel(package):
        value = digest(package)
        catalog_import_cancel(session=ImportSession.objects.get())
        return value

    mocker.patch.object(catalog_import, "package_digest", side_effect=digest_then_cancel)
    session = catalog_import_run(data_dir=fixture_dir("ut11_full"))
    session.refresh_from_db()
    assert session.status == Status.CANCELLED and not Product.objects.exists()
    assert "остановлен до первой записи" in session.error_message


# --- the pre-scan stops when asked ------------------------------------------------------------


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "worker-processes"])
def test_the_prescan_stops_when_asked(parallel, fixture_dir, monkeypatch):
    from apps.products.onec.synthetic import write_package

    monkeypatch.setattr(safexml, "STOP_CHECK_EVERY", 16)
    monkeypatch.setattr(safexml, "PARALLEL_PRESCAN_BYTES", 0 if parallel else 1 << 40)
    data_dir = fixture_dir("ut11_full").parent / "big"
    write_package(data_dir, products=300, offers_per_product=2)
    package = discover_package(data_dir)
    asked = []

    def should_stop():
        asked.append(1)
        return True

    with pytest.raises(CatalogImportError, match="импорт остановлен во время предварительной проверки"):
        safexml.prescan(package.files, package.data_dir, should_stop)
    assert asked
    assert safexml.prescan(package.files, package.data_dir, lambda: False).items > 300  # not asked: it counts
