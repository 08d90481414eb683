"""Queued imports run by real ``import_worker`` processes on the real Redis and database."""
from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from django.core.management import call_command
from rq.job import Job

from apps.products.import_queue import import_job_enqueue, import_queue_length
from apps.products.locking import LOCK_KEY
from apps.products.models import ImportSession, Offer, Product
from apps.products.services.catalog_import import (
    catalog_import_cancel, catalog_import_enqueue, catalog_import_run,
)
from tests.importer.test_big_packages import natural_catalog

from .conftest import DEADLINE, WORKER_MAIN, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

Status = ImportSession.Status
BATCH = 50  # the workers' batch size in the tests that stop an import midway


def finished(session: ImportSession) -> ImportSession | None:
    session.refresh_from_db()
    return session if session.status in ImportSession.FINISHED_STATUSES else None


def wait_finished(session: ImportSession) -> ImportSession:
    return wait_for(lambda: finished(session), what=f"session {session.session_id} to finish")


def wait_held(session: ImportSession, after: int = 1) -> int:
    """Wait until the worker holds the import at its gate (a batch committed, the next not begun)."""
    def held():
        session.refresh_from_db()
        return session.status == Status.RUNNING and session.processed_items >= after and session.processed_items
    return wait_for(held, what="the import to run and reach its gate")


def big_package(tmp_path, products: int = 400):
    from apps.products.onec.synthetic import write_package

    data_dir = tmp_path / f"package-{uuid.uuid4().hex[:6]}"
    write_package(data_dir, products=products, offers_per_product=2)
    return data_dir


def start_next_import(data_dir) -> ImportSession | None:
    from apps.products.locking import ImportAlreadyRunning

    try:
        return catalog_import_enqueue(data_dir=data_dir)
    except ImportAlreadyRunning:
        return None


# --- running a queued import ------------------------------------------------------------------


def test_a_queued_import_completes_in_a_worker_with_the_catalog_a_direct_import_gives(workers, fixture_dir,
                                                                                      redis_conn):
    direct = catalog_import_run(data_dir=fixture_dir("ut11_full"))
    assert direct.status == Status.COMPLETED
    expected = natural_catalog()
    call_command("flush", "--no-input", verbosity=0)

    session = catalog_import_enqueue(data_dir=fixture_dir("ut11_full"))
    assert session.status == Status.PENDING
    assert redis_conn.get(LOCK_KEY) == session.lock_token.encode()  # held from the moment it is queued
    # The pre-scan and the reader run in processes of their own inside the worker's job process.
    workers.start(big=1)

    wait_finished(session)
    assert session.status == Status.COMPLETED, session.error_message
    assert natural_catalog() == expected
    assert (session.total_items, session.failed_items, session.errors) == (
        direct.total_items, direct.failed_items, direct.errors)
    assert session.queued_at <= session.started_at < session.finished_at
    job = Job.fetch(session.queue_job_id, connection=redis_conn)
    wait_for(lambda: job.get_status() == "finished", what="RQ to record the job's end")
    assert job.return_value() == Status.COMPLETED
    assert redis_conn.get(LOCK_KEY) is None


def test_two_workers_run_one_queued_import_once_even_if_its_job_is_delivered_twice(workers, tmp_path, redis_conn):
    data_dir = big_package(tmp_path, products=200)
    workers.start(), workers.start()
    session = catalog_import_enqueue(data_dir=data_dir)
    # A second delivery of the same session's job (as after a redelivery): both workers get one.
    import_job_enqueue(job_id=f"duplicate-{session.session_id}", session_pk=session.pk, force=False,
                       description="duplicate")

    wait_finished(session)
    jobs = [Job.fetch(job_id, connection=redis_conn) for job_id in (session.queue_job_id,
                                                                    f"duplicate-{session.session_id}")]
    wait_for(lambda: all(job.get_status() == "finished" for job in jobs), what="both jobs to finish")
    results = sorted(job.return_value() for job in jobs)
    assert results == [Status.COMPLETED, "not run: no longer pending"]
    assert session.status == Status.COMPLETED
    assert ImportSession.objects.count() == 1
    assert Product.objects.count() == 200 and Offer.objects.count() == 400
    assert Product.objects.filter(is_active=False).count() == 0


def test_cli_queues_and_a_burst_worker_runs_it_and_exits(workers, fixture_dir, capsys):
    session_id = call_command("import_catalog_from_1c", "--queue", "--data-dir", str(fixture_dir("ut11_full")))
    assert f"Импорт поставлен в очередь: сессия {session_id}" in capsys.readouterr().out
    session = ImportSession.objects.get(session_id=session_id)
    assert (session.status, session.source) == (Status.PENDING, "cli")

    name = workers.start(burst=True)
    assert workers.wait_exit(name) == 0
    assert finished(session).status == Status.COMPLETED
    assert import_queue_length() == 0


# --- one at a time ---------------------------------------------------------------------------


def test_a_queued_import_keeps_the_lock_so_nothing_else_starts(fixture_dir, workers, redis_conn):
    from apps.products.locking import ImportAlreadyRunning

    session = catalog_import_enqueue(data_dir=fixture_dir("ut11_full"))
    with pytest.raises(ImportAlreadyRunning):
        catalog_import_enqueue(data_dir=fixture_dir("ut11_full"))
    with pytest.raises(ImportAlreadyRunning):
        catalog_import_run(data_dir=fixture_dir("ut11_full"))
    assert ImportSession.objects.count() == 1 and import_queue_length() == 1
    workers.start()
    assert wait_finished(session).status == Status.COMPLETED


# --- cancel ----------------------------------------------------------------------------------


def test_cancel_a_pending_import_it_never_runs(workers, fixture_dir, redis_conn, django_user_model):
    admin = django_user_model.objects.create_user("canceller")
    session = catalog_import_enqueue(data_dir=fixture_dir("ut11_full"))

    catalog_import_cancel(session=session, user=admin)

    session.refresh_from_db()
    assert (session.status, session.cancelled_by) == (Status.CANCELLED, admin)
    assert session.error_message == "отменён до запуска (отменил: canceller)"
    assert redis_conn.get(LOCK_KEY) is None  # the next import may start at once
    assert import_queue_length() == 0
    name = workers.start(burst=True)
    assert workers.wait_exit(name) == 0
    assert finished(session).status == Status.CANCELLED
    assert not Product.objects.exists() and session.processed_items == 0


def test_cancel_a_running_import_stops_it_before_its_next_batch(workers, tmp_path, redis_conn):
    data_dir = big_package(tmp_path)
    session = catalog_import_enqueue(data_dir=data_dir)
    gate = f"queue-test:{uuid.uuid4().hex}"
    workers.start(batch_size=BATCH, hold=gate, hold_after=200)  # held inside the goods file
    processed = wait_held(session, after=200)

    catalog_import_cancel(session=session)
    asked = time.monotonic()
    redis_conn.rpush(gate, "go")
    wait_finished(session)
    stopped_after = time.monotonic() - asked

    assert session.status == Status.CANCELLED, session.error_message
    assert session.processed_items == processed < session.total_items  # not one batch more
    assert session.error_message == (f"отменён во время выполнения (отменил: неизвестно кем): остановлен после "
                                     f"{processed} из {session.total_items} объектов; записанное сохранено, "
                                     "ничего не деактивировано")
    # What committed stays, in whole batches; nothing is deactivated; the lock is free.
    products = Product.objects.count()
    assert 0 < products < 400 and products % BATCH == 0
    assert not Product.objects.filter(is_active=False).exists()
    wait_for(lambda: redis_conn.get(LOCK_KEY) is None, what="the lock to be released")  # right after the session
    assert stopped_after < 10, stopped_after
    # and the catalog is whole again after the next import
    again = catalog_import_enqueue(data_dir=data_dir)
    assert wait_finished(again).status == Status.COMPLETED
    assert Product.objects.filter(is_active=True).count() == 400 and Offer.objects.count() == 800


# --- a worker killed mid-import --------------------------------------------------------------


def test_an_import_process_killed_with_9_fails_at_once_and_the_worker_goes_on(workers, tmp_path, redis_conn):
    data_dir = big_package(tmp_path)
    session = catalog_import_enqueue(data_dir=data_dir)
    gate = f"queue-test:{uuid.uuid4().hex}"
    name = workers.start(batch_size=BATCH, hold=gate)
    wait_held(session)

    (horse,) = workers.job_processes(name)
    horse.kill()  # SIGKILL, as the OOM killer does

    wait_finished(session)
    assert session.status == Status.FAILED
    assert session.error_message.startswith("прервано: процесс импорта в обработчике очереди убит сигналом SIGKILL")
    assert redis_conn.get(LOCK_KEY) is None
    # The same worker takes the next import: no one touched Redis or the database.
    again = catalog_import_enqueue(data_dir=data_dir, force=True)
    assert wait_finished(again).status == Status.COMPLETED
    assert Product.objects.filter(is_active=True).count() == 400


def test_a_whole_worker_killed_with_9_is_noticed_by_the_heartbeat_rule(workers, tmp_path, redis_conn,
                                                                      monkeypatch):
    from apps.products import locking

    monkeypatch.setattr(locking, "STALE_AFTER", 3 * locking.KEEPALIVE_INTERVAL)  # 90 s scaled down
    data_dir = big_package(tmp_path)
    session = catalog_import_enqueue(data_dir=data_dir)
    gate = f"queue-test:{uuid.uuid4().hex}"
    name = workers.start(batch_size=BATCH, hold=gate)
    wait_held(session)

    workers.kill(name)  # the worker and its job process: the machine is gone
    killed = time.monotonic()
    session.refresh_from_db()
    assert session.status == Status.RUNNING  # nobody was left to say otherwise
    workers.start()

    again = wait_for(lambda: start_next_import(data_dir), what="the lock of the dead import to be taken over")
    recovered_after = time.monotonic() - killed
    assert wait_finished(again).status == Status.COMPLETED
    session.refresh_from_db()
    assert session.status == Status.FAILED and session.error_message.startswith("прервано: нет сигнала с ")
    assert locking.STALE_AFTER - locking.KEEPALIVE_INTERVAL <= recovered_after < DEADLINE
    assert Product.objects.filter(is_active=True).count() == 400


def test_import_worker_runs_as_documented():
    out = subprocess.run([sys.executable, str(WORKER_MAIN), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--burst" in out.stdout
