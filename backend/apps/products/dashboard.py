"""The import card of the admin dashboard: what it shows, read in a fixed number of queries.

A fixed number of SQL queries whatever the history size — the stale check, the lock holder's
session, the active session, the last 20 finished imports — and one Redis round trip (GET + PTTL
of the lock). In queue mode, while an import waits in the queue, the stale check also asks for its
job and, once it has waited 10 s, the note asks RQ for live workers. The card's template renders it with the sessions list's badges
and progress bar; ``admin/index.html`` and the card's own refresh URL both call
``import_card_context``.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from .locking import ImportLockUnavailable, import_lock_state
from .models import ImportSession
from .selectors import import_session_is_silent, import_session_queue_note
from .services.import_sessions import import_sessions_fail_stale

HISTORY_SIZE = 20
REFRESH_SECONDS = 10


@dataclass(frozen=True)
class LockView:
    """The lock as the card tells it.

    ``state``: ``free``; ``held`` (by a live import of ours); ``stale`` (by one of ours that went
    silent or finished without releasing: the next start takes it over); ``foreign`` (a token that
    is no session of ours: respected until its TTL); ``unknown`` (Redis cannot be reached)."""

    state: str
    holder: ImportSession | None = None
    ttl_seconds: int | None = None
    error: str = ""


def import_lock_view(now=None) -> LockView:
    try:
        token, ttl = import_lock_state()
    except ImportLockUnavailable as exc:
        return LockView("unknown", error=str(exc))
    if not token:
        return LockView("free")
    holder = (ImportSession.objects.filter(lock_token=token).select_related("triggered_by")
              .defer("errors", "stats").first())
    if holder is None:
        return LockView("foreign", ttl_seconds=ttl)
    # The lock's own rule (services.import_sessions.import_lock_holder_is_stale), read-only here.
    if not holder.is_active or import_session_is_silent(holder, now):
        return LockView("stale", holder=holder, ttl_seconds=ttl)
    return LockView("held", holder=holder, ttl_seconds=ttl)


def import_card_context(request) -> dict:
    """Everything the card needs, or ``{"import_card": None}`` for staff who may not see sessions."""
    user = request.user
    if not (user.has_perm("products.view_importsession") or user.has_perm("products.change_importsession")):
        return {"import_card": None}
    import_sessions_fail_stale()  # a dead import shows as failed, as on the sessions list
    now = timezone.now()
    lock = import_lock_view(now)
    active = (ImportSession.objects.filter(status__in=ImportSession.ACTIVE_STATUSES)
              .select_related("triggered_by").defer("errors", "stats").order_by("-started_at", "-id").first())
    if lock.state == "held":
        active = lock.holder  # the import that runs is the one holding the lock
    finished = list(ImportSession.objects.filter(status__in=ImportSession.FINISHED_STATUSES)
                    .select_related("triggered_by").defer("errors", "stats")
                    .order_by("-finished_at", "-id")[:HISTORY_SIZE])
    can_run = user.has_perm("products.run_catalog_import")
    blocked = ""
    if active is not None:
        blocked = f"Идёт импорт {active.short_id} — дождитесь его завершения."
    elif lock.state == "foreign":
        blocked = "Блокировку импорта держит другой процесс (не сессия этой системы)."
    changelist = reverse("admin:products_importsession_changelist")
    return {"import_card": {
        "lock": lock,
        "active": active,
        "queue_note": import_session_queue_note(active) if active is not None else "",
        "cancel_url": reverse("admin:products_importsession_cancel", args=[active.pk]) if active is not None else "",
        "last": finished[0] if finished else None,
        "history": finished[::-1],  # oldest first, as a chart reads
        "can_run": can_run,
        "blocked": blocked,
        "now": now,
        "refresh_seconds": REFRESH_SECONDS,
        "changelist_url": changelist,
        "card_url": reverse("admin:products_importsession_card"),
    }}
