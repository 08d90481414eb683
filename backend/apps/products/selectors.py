"""Reads (HackSoft style): what the admin, the dashboard and the services ask about imports."""
from __future__ import annotations

from .models import ImportSession


def import_session_last_finished() -> ImportSession | None:
    return (ImportSession.objects.filter(status__in=ImportSession.FINISHED_STATUSES)
            .order_by("-finished_at", "-id").first())


def import_session_any_active() -> bool:
    """Is any import pending or running? (What decides whether admin pages refresh themselves.)"""
    return ImportSession.objects.filter(status__in=ImportSession.ACTIVE_STATUSES).exists()
