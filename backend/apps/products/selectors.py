"""Reads (HackSoft style): what the admin, the dashboard and the services ask about imports."""
from __future__ import annotations

import datetime as dt

from django.utils import timezone

from .locking import STALE_AFTER
from .models import ImportSession


def import_session_last_finished() -> ImportSession | None:
    return (ImportSession.objects.filter(status__in=ImportSession.FINISHED_STATUSES)
            .order_by("-finished_at", "-id").first())


def import_session_any_active() -> bool:
    """Is any import pending or running? (What decides whether admin pages refresh themselves.)"""
    return ImportSession.objects.filter(status__in=ImportSession.ACTIVE_STATUSES).exists()


def import_session_stale_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """The stale rule: an active session whose last heartbeat is older than this is dead."""
    return (now or timezone.now()) - dt.timedelta(seconds=STALE_AFTER)


def import_session_is_silent(session: ImportSession, now: dt.datetime | None = None) -> bool:
    """The stale rule for one session, read-only (``import_sessions_fail_stale`` acts on it)."""
    return (session.is_active and session.heartbeat_at is not None
            and session.heartbeat_at < import_session_stale_cutoff(now))
