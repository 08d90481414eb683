"""Reads (HackSoft style): what the admin, the dashboard and the services ask about imports."""
from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from redis.exceptions import RedisError

from .import_queue import import_queue_workers
from . import locking
from .models import ImportSession

logger = logging.getLogger(__name__)

NO_WORKER_NOTE = "в очереди: нет работающего обработчика"


def import_session_last_finished() -> ImportSession | None:
    return (ImportSession.objects.filter(status__in=ImportSession.FINISHED_STATUSES)
            .order_by("-finished_at", "-id").first())


def import_session_any_active() -> bool:
    """Is any import pending or running? (What decides whether admin pages refresh themselves.)"""
    return ImportSession.objects.filter(status__in=ImportSession.ACTIVE_STATUSES).exists()


def import_session_stale_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """The stale rule: an active session whose last heartbeat is older than this is dead."""
    return (now or timezone.now()) - dt.timedelta(seconds=locking.STALE_AFTER)


def import_session_is_silent(session: ImportSession, now: dt.datetime | None = None) -> bool:
    """The heartbeat rule for one session, read-only (``import_sessions_fail_stale`` acts on it):
    running, or pending outside the queue, and silent for ``STALE_AFTER``. A session waiting in the
    queue is judged by its job instead, never by the heartbeat."""
    judged_by_heartbeat = (session.status == ImportSession.Status.RUNNING
                           or (session.status == ImportSession.Status.PENDING and not session.queue_job_id))
    return (judged_by_heartbeat and session.heartbeat_at is not None
            and session.heartbeat_at < import_session_stale_cutoff(now))


def import_session_cancel_requested(*, pk: int) -> bool:
    return ImportSession.objects.filter(pk=pk, cancel_requested_at__isnull=False).exists()


def import_queue_worker_count() -> int | None:
    """Live workers of the import queue (RQ's worker registry); None when Redis cannot be asked."""
    try:
        return len(import_queue_workers())
    except RedisError:
        logger.warning("could not read the import queue's workers (Redis error)", exc_info=True)
        return None


_ASK = object()


def import_session_queue_note(session: ImportSession, *, workers=_ASK) -> str:
    """"в очереди: нет работающего обработчика" for a session queued for longer than
    ``IMPORT_NO_WORKER_AFTER`` seconds while no worker of the queue is alive; "" otherwise.

    ``workers``: a count already read (``import_queue_worker_count``), so a page listing many
    sessions asks Redis once."""
    if session.status != ImportSession.Status.PENDING or not session.queue_job_id or session.queued_at is None:
        return ""
    if timezone.now() - session.queued_at < dt.timedelta(seconds=settings.IMPORT_NO_WORKER_AFTER):
        return ""  # a worker normally takes a job within milliseconds; give it a moment
    if workers is _ASK:
        workers = import_queue_worker_count()
    return NO_WORKER_NOTE if workers == 0 else ""
