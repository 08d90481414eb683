"""Bookkeeping of ``ImportSession`` rows: every transition saves only the fields it changes."""
from __future__ import annotations

import traceback

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..import_queue import import_job_is_waiting
from ..models import ImportSession
from ..onec.pipeline import ImportResult
from ..selectors import import_session_stale_cutoff

Status = ImportSession.Status


def import_session_start(*, data_dir: str, user=None, source: str, lock_token: str = "") -> ImportSession:
    now = timezone.now()
    return ImportSession.objects.create(
        status=Status.RUNNING, data_dir=str(data_dir), triggered_by=user if user and user.is_authenticated else None,
        source=source, lock_token=lock_token, started_at=now, heartbeat_at=now,
    )


def import_session_queue(*, data_dir: str, user=None, source: str, lock_token: str) -> ImportSession:
    """A pending session about to be queued for a worker, holding the lock (``lock_token``) already.

    Until ``import_session_job_queued`` records its job it is judged by the heartbeat rule (fresh):
    judged by a job not yet in Redis, it would look lost to a request racing this one."""
    now = timezone.now()
    return ImportSession.objects.create(
        status=Status.PENDING, data_dir=str(data_dir), triggered_by=user if user and user.is_authenticated else None,
        source=source, lock_token=lock_token, queued_at=now, started_at=now, heartbeat_at=now,
    )


def import_session_job_queued(session: ImportSession, *, job_id: str) -> None:
    session.queue_job_id = job_id
    ImportSession.objects.filter(pk=session.pk).update(queue_job_id=job_id)  # the worker may own the row already


def import_session_begin(*, pk: int) -> ImportSession | None:
    """pending → running, for the worker that took its job; None (and nothing changed) when the
    session is no longer pending — cancelled or failed while queued, or already taken."""
    now = timezone.now()
    if not ImportSession.objects.filter(pk=pk, status=Status.PENDING).update(
            status=Status.RUNNING, started_at=now, heartbeat_at=now):
        return None
    return ImportSession.objects.get(pk=pk)


def _who(user) -> str:
    return user.get_username() if user is not None and user.is_authenticated else "неизвестно кем"


def import_session_cancel_pending(session: ImportSession, *, user=None) -> bool:
    """pending → cancelled (it never runs); False when it is no longer pending."""
    now = timezone.now()
    by = user if user is not None and user.is_authenticated else None
    message = f"отменён до запуска (отменил: {_who(user)})"
    if not ImportSession.objects.filter(pk=session.pk, status=Status.PENDING).update(
            status=Status.CANCELLED, finished_at=now, heartbeat_at=now, cancel_requested_at=now,
            cancelled_by=by, error_message=message):
        return False
    session.refresh_from_db()
    return True


def import_session_request_cancel(session: ImportSession, *, user=None) -> bool:
    """Ask a running import to stop (it polls ``cancel_requested_at``); False when it is not running.
    Asking twice keeps the first request and its author."""
    by = user if user is not None and user.is_authenticated else None
    running = ImportSession.objects.filter(pk=session.pk, status=Status.RUNNING)
    asked = running.filter(cancel_requested_at__isnull=True).update(cancel_requested_at=timezone.now(),
                                                                     cancelled_by=by)
    if not asked and not running.exists():
        return False
    session.refresh_from_db()
    return True


def import_session_cancelled(session: ImportSession, result: ImportResult | None) -> None:
    """The running import stopped at the cancel request: what committed stays, nothing was deactivated."""
    who = (ImportSession.objects.filter(pk=session.pk).select_related("cancelled_by").only("cancelled_by__username")
           .first())
    by = _who(who.cancelled_by if who else None)
    done = f"после {result.processed} из {result.total} объектов" if result and result.total else "до первой записи"
    _finish(session, Status.CANCELLED, result,
            f"отменён во время выполнения (отменил: {by}): остановлен {done}; записанное сохранено, "
            "ничего не деактивировано")


def import_session_fail_active(*, pk: int, message: str) -> ImportSession | None:
    """End a pending or running session failed (its process is known dead); None if it already ended."""
    with transaction.atomic():
        session = ImportSession.objects.select_for_update().filter(pk=pk, status__in=ImportSession.ACTIVE_STATUSES).first()
        if session is None:
            return None
        session.status = Status.FAILED
        session.finished_at = timezone.now()
        session.error_message = message
        session.save(update_fields=["status", "finished_at", "error_message"])
    return session


def import_session_progress(session: ImportSession, result: ImportResult) -> None:
    session.total_items = result.total
    session.processed_items = result.processed
    session.failed_items = result.failed
    session.heartbeat_at = timezone.now()
    fields = ["total_items", "processed_items", "failed_items", "heartbeat_at"]
    if session.writing_started_at is None:  # the first report comes right after the pre-scan
        session.writing_started_at = session.heartbeat_at
        fields.append("writing_started_at")
    if len(result.errors) != len(session.errors):
        session.errors = list(result.errors)
        fields.append("errors")
    session.save(update_fields=fields)


def import_session_beat(*, pk: int) -> None:
    ImportSession.objects.filter(pk=pk, status=Status.RUNNING).update(heartbeat_at=timezone.now())


def _summary(result: ImportResult) -> str:
    parts = []
    if result.failed:
        parts.append(f"{result.failed} объектов с ошибками ({result.error_count} ошибок)")
    parts.extend(result.notes)
    return "; ".join(parts)


def import_session_complete(session: ImportSession, result: ImportResult) -> None:
    _finish(session, Status.COMPLETED, result, _summary(result))


def import_session_skip_unchanged(session: ImportSession, *, previous: ImportSession, digest: str) -> None:
    """Complete a session whose package holds the same data as the one ``previous`` imported cleanly."""
    session.status = Status.COMPLETED
    session.finished_at = session.heartbeat_at = timezone.now()
    session.total_items = session.processed_items = previous.total_items
    session.failed_items = 0
    session.error_message = (f"пакет не изменился с импорта {timezone.localtime(previous.started_at):%d.%m.%Y %H:%M} "
                             f"(сессия {previous.session_id}) — данные не перечитывались")
    # What a full read would have reported: every row the package carries, unchanged.
    unchanged = {entity: {"unchanged": sum(counts.get(k, 0) for k in ("created", "updated", "unchanged"))}
                 for entity, counts in previous.stats.items() if isinstance(counts, dict)}
    session.stats = {"layout": previous.stats.get("layout", ""), "package_digest": digest,
                     "unchanged_since": str(previous.session_id), **unchanged}
    session.save(update_fields=["status", "finished_at", "heartbeat_at", "total_items", "processed_items",
                                "failed_items", "error_message", "stats"])


def import_session_fail(session: ImportSession, *, message: str, result: ImportResult | None = None,
                        exc: BaseException | None = None) -> None:
    if exc is not None:
        message += "\n\n" + "".join(traceback.format_exception(exc))
    _finish(session, Status.FAILED, result, message)


def _finish(session: ImportSession, status: str, result: ImportResult | None, message: str) -> None:
    session.status = status
    session.finished_at = session.heartbeat_at = timezone.now()
    session.error_message = message
    fields = ["status", "finished_at", "heartbeat_at", "error_message"]
    if result is not None:
        session.total_items, session.processed_items, session.failed_items = result.total, result.processed, result.failed
        session.errors = list(result.errors)
        session.stats = {"layout": result.layout, "error_count": result.error_count,
                         **{f"{phase}_seconds": value for phase, value in result.seconds.items()}, **result.stats}
        fields += ["total_items", "processed_items", "failed_items", "errors", "stats"]
    session.save(update_fields=fields)


def _interrupted_message(session: ImportSession) -> str:
    last = timezone.localtime(session.heartbeat_at or session.started_at)
    return f"прервано: нет сигнала с {last:%d.%m.%Y %H:%M:%S} — процесс импорта остановлен (сбой, kill, тайм-аут)"


def import_sessions_fail_stale(*, lock_token: str | None = None) -> int:
    """End failed the active sessions whose process is gone; returns how many.

    Running (and pending without a queue job): silent for ``STALE_AFTER`` — the heartbeat rule.
    Pending with a queue job: the job will never run (failed, cancelled, or vanished from Redis).
    A queued job may wait for a worker for any time: its session is never judged by the heartbeat.
    """
    silent = Q(heartbeat_at__lt=import_session_stale_cutoff()) & (Q(status=Status.RUNNING) | Q(status=Status.PENDING, queue_job_id=""))
    queued = Q(status=Status.PENDING) & ~Q(queue_job_id="")
    sessions = ImportSession.objects.filter(silent | queued)
    if lock_token is not None:
        sessions = sessions.filter(lock_token=lock_token)
    count = 0
    with transaction.atomic():
        for session in sessions.select_for_update():
            if session.status == Status.PENDING and session.queue_job_id:
                if import_job_is_waiting(session.queue_job_id):
                    continue
                message = ("не выполнен: задание пропало из очереди, не дождавшись обработчика "
                           "(Redis очищен или перезапущен?)")
            else:
                message = _interrupted_message(session)
            session.status = Status.FAILED
            session.finished_at = timezone.now()
            session.error_message = message
            session.save(update_fields=["status", "finished_at", "error_message"])
            count += 1
    return count


def import_lock_holder_is_stale(token: str) -> bool:
    """Is the import holding the lock with ``token`` dead? Unknown holders are respected."""
    session = ImportSession.objects.filter(lock_token=token).only("status").first()
    if session is None:
        return False
    if session.status in ImportSession.FINISHED_STATUSES:
        return True  # it finished but its release never reached Redis
    return import_sessions_fail_stale(lock_token=token) > 0
