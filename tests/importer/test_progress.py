"""Progress of a running import, seen the way the admin sees it: from another DB connection.

The import runs in a thread whose ``progress`` callback parks on an Event, so the test inspects
a genuinely half-done import; Events (with timeouts) are the only synchronisation.
"""
from __future__ import annotations

import io
import threading
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.products.models import ImportSession

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 60  # s: generous, only reached when something is broken


@contextmanager
def paused_import(data_dir, *, pause_when=lambda processed, total: True):
    """Run an import in a thread; yield once its progress callback is parked at the first call
    matching ``pause_when``. Yields a dict: ``calls`` (all callback calls) and, at the end,
    ``session`` or ``error``."""
    from apps.products.services.catalog_import import catalog_import_run

    reached, release = threading.Event(), threading.Event()
    state = {"calls": []}

    def progress(processed, total):
        state["calls"].append((processed, total))
        if not reached.is_set() and pause_when(processed, total):
            reached.set()
            if not release.wait(WAIT):
                raise RuntimeError("the test never released the paused import")

    def target():
        try:
            state["session"] = catalog_import_run(data_dir=str(data_dir), progress=progress)
        except BaseException as exc:  # reported by the main thread
            state["error"] = exc
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=target, name="test-import")
    thread.start()
    try:
        if not reached.wait(WAIT):
            release.set()
            thread.join(WAIT)
            pytest.fail(f"the import never paused; calls={state['calls']} error={state.get('error')!r}")
        yield state
    finally:
        release.set()
        thread.join(WAIT)
    assert not thread.is_alive(), "the import thread did not finish"
    if "error" in state:
        raise state["error"]


def test_progress_is_visible_from_another_connection(fixture_dir):
    with paused_import(fixture_dir("ut11_full")) as state:
        processed, total = state["calls"][0]
        session = ImportSession.objects.get()  # this thread's connection, not the importer's
        assert session.status == ImportSession.Status.RUNNING
        assert session.total_items > 0
        assert 0 < session.processed_items < session.total_items, (
            f"DB shows {session.processed_items}/{session.total_items}; the callback got {processed}/{total}")
        assert session.heartbeat_at is not None
        assert session.finished_at is None
    final = state["session"]
    final.refresh_from_db()
    assert final.status == ImportSession.Status.COMPLETED, final.error_message
    assert final.processed_items == final.total_items == 33


def test_progress_after_the_first_batch_is_in_the_db(fixture_dir):
    """Paused at the first call that reports work done, the session row says as much."""
    with paused_import(fixture_dir("ut11_full"), pause_when=lambda processed, total: processed > 0) as state:
        processed, total = state["calls"][-1]
        session = ImportSession.objects.get()
        assert session.status == ImportSession.Status.RUNNING
        assert session.total_items == total == 33
        assert session.processed_items == processed, (
            f"the callback was told {processed}/{total} was committed, the DB shows {session.processed_items}")
    assert state["session"].status == ImportSession.Status.COMPLETED


def test_progress_callback_follows_committed_batches(fixture_dir):
    from apps.products.services.catalog_import import catalog_import_run

    calls = []
    session = catalog_import_run(data_dir=str(fixture_dir("ut11_full")), progress=lambda p, t: calls.append((p, t)))
    assert session.status == ImportSession.Status.COMPLETED
    assert len(calls) >= 2  # ut11_full is several files, hence several batches
    assert {t for _, t in calls} == {33}  # the total is known before the first write and never changes
    processed = [p for p, _ in calls]
    assert processed == sorted(processed) and processed[-1] == 33
    assert processed[0] > 0, f"called before any batch was committed: {calls}"


def test_a_second_import_is_refused_while_one_runs(fixture_dir):
    from apps.products.locking import ImportAlreadyRunning
    from apps.products.services.catalog_import import catalog_import_run

    other = fixture_dir("classic_ns")
    with paused_import(fixture_dir("ut11_full")) as state:
        with pytest.raises(ImportAlreadyRunning):
            catalog_import_run(data_dir=str(other))
        with pytest.raises(CommandError) as excinfo:
            call_command("import_catalog_from_1c", "--data-dir", str(other), stdout=io.StringIO(),
                         stderr=io.StringIO())
        assert str(excinfo.value).strip() and "\n" not in str(excinfo.value).strip()
        running = ImportSession.objects.get(status=ImportSession.Status.RUNNING)
    assert state["session"].pk == running.pk
    state["session"].refresh_from_db()
    assert state["session"].status == ImportSession.Status.COMPLETED
    assert not ImportSession.objects.filter(data_dir__contains="classic_ns", status="completed").exists()
    # and once it is done, the next import runs
    assert catalog_import_run(data_dir=str(other)).status == ImportSession.Status.COMPLETED


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, SystemExit])
def test_an_interrupted_import_fails_at_once_and_frees_the_lock(fixture_dir, interruption):
    """Ctrl-C, or gunicorn's worker timeout (SystemExit), must not leave a "running" session behind."""
    from apps.products.locking import LOCK_KEY, import_lock_holder
    from apps.products.services.catalog_import import catalog_import_run

    def interrupt(processed, total):
        raise interruption()

    with pytest.raises(interruption):
        catalog_import_run(data_dir=fixture_dir("ut11_full"), progress=interrupt)
    session = ImportSession.objects.get()
    assert session.status == ImportSession.Status.FAILED
    assert session.error_message.startswith("прервано") and interruption.__name__ in session.error_message
    assert session.processed_items > 0 and session.finished_at is not None
    assert import_lock_holder() is None, f"{LOCK_KEY} still held"
