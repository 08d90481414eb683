"""Reads of the 1C exchange: what an import session's page shows when 1C's exchange started it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Sum

from apps.products.models import ImportSession

from .models import Exchange, ExchangeFile, ExchangeImport


@dataclass(frozen=True)
class SessionExchange:
    """The exchange behind one import session: who sent what, and how long each step took."""

    exchange: Exchange
    link: ExchangeImport
    number: int  # this import is the number-th of its exchange (1C may send more files after an import)
    imports: int
    files: list[ExchangeFile]  # files this import took in (the first ``max_files``), unpacked ones included
    files_count: int
    files_bytes: int
    archives: list[ExchangeFile]  # the zips those files came from, as received
    upload_started_at: dt.datetime | None
    upload_finished_at: dt.datetime | None
    lock_wait: dt.timedelta | None  # from 1C's mode=import call to the import taking the lock
    import_duration: dt.timedelta | None

    @property
    def more_files(self) -> int:
        return self.files_count - len(self.files)

    @property
    def upload_duration(self) -> dt.timedelta | None:
        if self.upload_started_at and self.upload_finished_at:
            return self.upload_finished_at - self.upload_started_at
        return None

    @property
    def folder_kept(self) -> bool:
        return self.exchange.removed_at is None


def session_exchange(*, session: ImportSession, max_files: int = 100) -> SessionExchange | None:
    """None when the session was not started by 1C's exchange."""
    link = (ExchangeImport.objects.select_related("exchange", "exchange__user")
            .filter(session_id=session.pk).first())
    if link is None:
        return None
    taken = link.files.all()
    members = taken.filter(is_archive=False)
    totals = members.aggregate(count=Count("pk"), size=Sum("size"))
    received = taken.filter(chunks__gt=0).aggregate(first=Min("received_at"), last=Max("updated_at"))
    imports = list(link.exchange.imports.order_by("pk").values_list("pk", flat=True))
    return SessionExchange(
        exchange=link.exchange,
        link=link,
        number=imports.index(link.pk) + 1,
        imports=len(imports),
        files=list(members.order_by("name")[:max_files]),
        files_count=totals["count"],
        files_bytes=totals["size"] or 0,
        archives=list(taken.filter(is_archive=True).order_by("name")),
        upload_started_at=received["first"],
        upload_finished_at=received["last"],
        lock_wait=session.started_at - link.requested_at if session.started_at else None,
        import_duration=session.duration,
    )
