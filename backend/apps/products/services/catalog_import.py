"""The single door to a catalog import: lock → session → pipeline → outcome.

The admin action, the dashboard button, the CLI command, the queue's worker and the 1C exchange all
come here, and every import takes the one Redis lock exactly once, so a cron job and an admin click
can never overlap:

- ``catalog_import_run`` runs an import now and returns its finished session (``IMPORT_RUNNER=sync``,
  the CLI);
- ``catalog_import_enqueue`` takes the lock now, queues the import for a worker and returns its
  pending session at once; the worker runs it with ``catalog_import_run_queued``;
- ``catalog_import_submit`` (the 1C exchange, which must answer within seconds) starts an import
  without waiting: queued as above with ``IMPORT_RUNNER=queue``, else in a thread of this process;
- ``catalog_import_cancel`` cancels a pending or running one, whoever runs it.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable

from django.conf import settings
from django.db import connections
from redis.exceptions import RedisError

from ..import_queue import import_job_cancel, import_job_enqueue, import_job_id
from ..locking import (
    ImportAlreadyRunning, ImportLock, ImportLockUnavailable, acquire_import_lock, adopt_import_lock,
    release_import_lock,
)
from ..models import ImportSession
from ..onec.errors import CatalogImportError
from ..onec.layout import discover_package
from ..onec.pipeline import ImportResult, package_digest, run_import
from ..selectors import import_session_cancel_requested, import_session_last_finished
from .import_sessions import (
    import_lock_holder_is_stale, import_session_beat, import_session_begin, import_session_cancel_pending,
    import_session_cancelled, import_session_complete, import_session_fail, import_session_fail_active,
    import_session_job_queued, import_session_progress, import_session_queue, import_session_request_cancel,
    import_session_skip_unchanged, import_session_start, import_sessions_fail_stale,
)

logger = logging.getLogger(__name__)

# A running import reads its session's cancel flag (one indexed SELECT) after every committed batch
# (~0.1 s of work), so a cancel stops it before the next batch; and, while nothing commits (the digest,
# the pre-scan of a big package, which ask ``should_stop`` every few ms), at most this often.
CANCEL_POLL_INTERVAL = 0.2  # s


class ImportNotCancellable(Exception):
    """The session has already finished (completed, failed or cancelled)."""


def _resolved(data_dir) -> Path:
    return Path(data_dir or settings.ONEC_DATA_DIR).resolve()  # one spelling per dir in sessions


def catalog_import_run(
    *,
    data_dir: Path | str | None = None,
    user=None,
    source: str = ImportSession.Source.CLI,
    progress: Callable[[int, int], None] | None = None,
    force: bool = False,
) -> ImportSession:
    """Run one import and return its finished session (completed, failed or cancelled).

    A package with the same data as the one the last finished import read cleanly (byte-identical,
    or re-exported with only a new ``ДатаФормирования``/segment GUIDs — see ``package_digest``) is
    not read again: the session completes at once, saying so. ``force`` reads it anyway.

    Raises ``ImportAlreadyRunning`` when another import holds the lock and
    ``ImportLockUnavailable`` when Redis is down; in both cases nothing is started or recorded.
    """
    data_dir = _resolved(data_dir)
    lock = acquire_import_lock(is_stale=import_lock_holder_is_stale)
    try:
        session = import_session_start(data_dir=data_dir, user=user, source=source, lock_token=lock.token)
        _run_locked(session, lock, progress, force=force)
        return session
    finally:
        lock.release()


def catalog_import_enqueue(
    *,
    data_dir: Path | str | None = None,
    user=None,
    source: str = ImportSession.Source.CLI,
    force: bool = False,
) -> ImportSession:
    """Queue one import for a worker of the import queue and return its pending session at once.

    The lock is taken here, now, and handed to the job (a worker adopts it by the token on the
    session): a second request while this one waits or runs is refused as in sync mode, and queues
    nothing. Raises ``ImportAlreadyRunning`` / ``ImportLockUnavailable`` exactly as
    ``catalog_import_run`` does, recording nothing then.
    """
    data_dir = _resolved(data_dir)
    lock = acquire_import_lock(is_stale=import_lock_holder_is_stale)
    session = None
    try:
        session = import_session_queue(data_dir=data_dir, user=user, source=source, lock_token=lock.token)
        job_id = import_job_id(session.session_id)
        import_job_enqueue(job_id=job_id, session_pk=session.pk, force=force,
                           description=f"Импорт каталога из 1С, сессия {session.session_id}")
        import_session_job_queued(session, job_id=job_id)
    except BaseException as exc:
        # Not queued: no worker will ever take this lock over, so give it back, and say why.
        if session is not None:
            import_session_fail(session, message=f"не поставлен в очередь: {exc.__class__.__name__}: {exc}")
        lock.release()
        if isinstance(exc, RedisError):
            raise ImportLockUnavailable(f"Redis недоступен ({exc.__class__.__name__}: {exc})") from exc
        raise
    logger.info("catalog import %s queued (job %s)", session.session_id, session.queue_job_id)
    return session  # the lock now belongs to the queued job: not released here


def catalog_import_submit(
    *,
    data_dir: Path | str | None = None,
    user=None,
    source: str,
    force: bool = False,
) -> ImportSession:
    """Start an import without waiting for it; returns its session at once (pending while queued).

    Takes the lock now, raising ``ImportAlreadyRunning`` / ``ImportLockUnavailable`` as
    ``catalog_import_run`` does (recording nothing then), records the session and hands the run over.
    With ``IMPORT_RUNNER=queue`` the run goes to the import queue's workers (``catalog_import_enqueue``);
    otherwise to a daemon thread of this process, which keeps the lock and its keeper here: if the
    process dies, the heartbeat stops and the session is marked failed like any crashed import.
    """
    if settings.IMPORT_RUNNER == "queue":
        return catalog_import_enqueue(data_dir=data_dir, user=user, source=source, force=force)
    data_dir = _resolved(data_dir)
    lock = acquire_import_lock(is_stale=import_lock_holder_is_stale)
    try:
        session = import_session_start(data_dir=data_dir, user=user, source=source, lock_token=lock.token)
    except BaseException:
        lock.release()
        raise
    threading.Thread(target=_run_in_thread, args=(session.pk, lock, force), name=f"catalog-import-{session.pk}",
                     daemon=True).start()
    return session


def _run_in_thread(pk: int, lock: ImportLock, force: bool) -> None:
    try:
        session = ImportSession.objects.get(pk=pk)  # the thread's own copy: the caller keeps its object
        _run_locked(session, lock, None, force=force)
    except Exception:  # _run records the import's own failures; this is bookkeeping gone wrong
        logger.exception("catalog import (session #%s) crashed in its thread", pk)
    finally:
        lock.release()
        connections.close_all()  # this thread's own DB connections


def catalog_import_run_queued(*, session_pk: int, force: bool = False) -> ImportSession | None:
    """Run a queued import: what the worker does with the job ``catalog_import_enqueue`` queued.

    The session goes pending → running first; if it is no longer pending (cancelled or failed while
    queued, or another worker got there first) nothing runs and None is returned. Then the worker
    adopts the lock the session was queued with, and the import runs exactly as in sync mode.
    """
    session = import_session_begin(pk=session_pk)
    if session is None:
        logger.info("import session #%s is no longer pending: its queued job does nothing", session_pk)
        return None
    try:
        lock = adopt_import_lock(session.lock_token)
    except (ImportAlreadyRunning, ImportLockUnavailable) as exc:
        reason = ("блокировка импорта истекла, пока задание ждало в очереди, и её занял другой импорт"
                  if isinstance(exc, ImportAlreadyRunning) else str(exc))
        import_session_fail(session, message=f"не выполнен: {reason}")
        return session
    try:
        _run_locked(session, lock, None, force=force)
        return session
    finally:
        lock.release()


def catalog_import_cancel(*, session: ImportSession, user=None) -> ImportSession:
    """Cancel a pending or running import, whoever runs it; returns the session as it stands now.

    Pending: it never runs — the session ends ``cancelled`` now, its job leaves the queue and its
    lock is released. Running (a worker, a CLI import, an admin request): it is asked to stop, and
    stops before its next batch, within about a second (also during the pre-scan); it then ends
    ``cancelled`` itself: every committed batch stays, nothing is deactivated. An import whose last
    batch has already committed completes instead. Raises ``ImportNotCancellable`` once it has ended.
    """
    if session.lock_token:
        import_sessions_fail_stale(lock_token=session.lock_token)  # a dead import just ends failed
    if import_session_cancel_pending(session, user=user):
        if session.queue_job_id:
            import_job_cancel(session.queue_job_id)
        if session.lock_token:
            release_import_lock(session.lock_token)
        logger.info("catalog import %s cancelled while queued", session.session_id)
        return session
    if import_session_request_cancel(session, user=user):
        logger.info("catalog import %s: cancel requested", session.session_id)
        return session
    session.refresh_from_db()
    raise ImportNotCancellable(f"импорт уже завершён ({session.get_status_display().lower()})")


def catalog_import_worker_lost(*, session_pk: int | None, reason: str) -> None:
    """The process running a queued import died under its worker (kill -9, OOM, a cold shutdown):
    end its session failed and free its lock now, instead of ``STALE_AFTER`` later."""
    session = ImportSession.objects.filter(pk=session_pk, status__in=ImportSession.ACTIVE_STATUSES).first()
    if session is None:
        return
    logger.warning("catalog import %s: %s", session.session_id, reason)
    if session.lock_token:
        release_import_lock(session.lock_token)  # first: a session that shows failed has freed the lock
    import_session_fail_active(pk=session.pk, message=f"прервано: {reason}")


class _StopCheck:
    """The pipeline's ``should_stop``: the lock is no longer ours, or someone cancelled the import."""

    def __init__(self, session_pk: int, lock: ImportLock) -> None:
        self._pk, self._lock = session_pk, lock
        self._checked = float("-inf")
        self.cancelled = False

    def __call__(self) -> bool:
        if self._lock.lost.is_set():
            return True
        if not self.cancelled and time.monotonic() - self._checked >= CANCEL_POLL_INTERVAL:
            self.poll()
        return self.cancelled

    def poll(self) -> None:
        """Read the cancel flag now (after each committed batch)."""
        self._checked = time.monotonic()
        self.cancelled = self.cancelled or import_session_cancel_requested(pk=self._pk)


def _run_locked(session: ImportSession, lock: ImportLock, progress, *, force: bool) -> None:
    lock.start_keepalive(beat=lambda: import_session_beat(pk=session.pk))
    _run(session, Path(session.data_dir), progress, force=force, should_stop=_StopCheck(session.pk, lock))


def _run(session: ImportSession, data_dir: Path, progress, *, force: bool, should_stop: _StopCheck) -> None:
    last = {"result": None}

    def on_progress(result: ImportResult) -> None:
        # After every committed batch (~0.1 s of work): one small UPDATE, so the admin, reading from
        # another connection, always sees what has really been committed, and the heartbeat.
        last["result"] = result
        import_session_progress(session, result)
        should_stop.poll()  # a cancel made while this batch ran stops the import before the next one
        if progress and result.processed:  # the caller hears of committed batches only
            progress(result.processed, result.total)

    try:
        package = discover_package(data_dir)
        digest = package_digest(package)
        if should_stop():  # cancelled while queued and taken at that very moment, or during the digest
            raise CatalogImportError("импорт остановлен до начала чтения")
        previous = _identical_clean_import(digest, data_dir) if not force else None
        if previous is not None:
            import_session_skip_unchanged(session, previous=previous, digest=digest)
            if progress:
                progress(session.processed_items, session.total_items)
            return
        result = run_import(package, on_progress=on_progress, should_stop=should_stop)
        result.stats["package_digest"] = digest
    except CatalogImportError as exc:
        if should_stop.cancelled:  # the pipeline stopped because it was asked to
            logger.info("catalog import %s cancelled", session.session_id)
            import_session_cancelled(session, last["result"])
            return
        logger.warning("catalog import %s failed: %s", session.session_id, exc)
        import_session_fail(session, message=str(exc), result=last["result"])
    except Exception as exc:  # unexpected: keep the traceback in the log and on the session
        logger.exception("catalog import %s crashed", session.session_id)
        import_session_fail(session, message=f"внутренняя ошибка: {exc.__class__.__name__}: {exc}",
                            result=last["result"], exc=exc)
    except BaseException as exc:  # SystemExit from a worker timeout, Ctrl-C: say so now, not 90 s later
        import_session_fail(session, message=f"прервано: процесс импорта остановлен ({exc.__class__.__name__})",
                            result=last["result"])
        raise
    else:
        import_session_complete(session, result)
        logger.info("catalog import %s completed: %s items, %s failed", session.session_id, result.processed,
                    result.failed)


def _identical_clean_import(digest: str, data_dir: Path) -> ImportSession | None:
    """The last finished import, if it read this very package from this dir without a single
    error. Only the last one counts: any import after it (even a failed one) may have changed rows."""
    previous = import_session_last_finished()
    if (previous is not None and previous.status == ImportSession.Status.COMPLETED and not previous.failed_items
            and previous.data_dir == str(data_dir) and previous.stats.get("package_digest") == digest):
        return previous
    return None


def catalog_import_dry_run(*, data_dir: Path | str | None = None) -> ImportResult:
    """Validate and parse the whole package without writing anything (no lock, no session)."""
    return run_import(discover_package(Path(data_dir or settings.ONEC_DATA_DIR)), dry_run=True)
