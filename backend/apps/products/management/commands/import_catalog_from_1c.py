"""``import_catalog_from_1c`` — a thin shell around ``services.catalog_import``.

Programmatic callers (the admin action) pass the hidden ``--source`` / ``--triggered-by`` options so
the session records who started the import and from where; ``call_command`` returns the session
id of a completed import (with ``--queue``: of the queued one), and each way of not completing
raises its own ``CommandError`` subclass.
"""
from __future__ import annotations

import argparse
import signal
import threading
import time
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.products.locking import ImportAlreadyRunning, ImportLockUnavailable
from apps.products.models import ImportSession
from apps.products.onec.errors import CatalogImportError
from apps.products.services.catalog_import import catalog_import_dry_run, catalog_import_enqueue, catalog_import_run


class ImportLockTakenError(CommandError):
    """Another import holds the lock; nothing was started or recorded."""


class ImportLockUnavailableError(CommandError):
    """Redis cannot be reached; nothing was started or recorded."""


class ImportSessionFailedError(CommandError):
    """The import ran and its session ended failed; ``session_id`` names it."""

    def __init__(self, message: str, *, session_id) -> None:
        super().__init__(message)
        self.session_id = session_id


class Command(BaseCommand):
    help = ("Import the catalog from a 1C CommerceML export (the data dir defaults to ONEC_DATA_DIR). "
            "Prints a summary, then the session id.")

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", help="directory holding the 1C export (default: settings.ONEC_DATA_DIR)")
        parser.add_argument("--dry-run", action="store_true", help="validate and parse only; write nothing")
        parser.add_argument("--force", action="store_true",
                            help="read the package even if it holds the same data as the last clean import")
        parser.add_argument("--queue", action="store_true",
                            help="queue the import for `manage.py import_worker` and return at once; prints the "
                                 "session id")
        # Internal, for callers that run the command on someone's behalf (the admin action).
        parser.add_argument("--source", default=ImportSession.Source.CLI, help=argparse.SUPPRESS)
        parser.add_argument("--triggered-by", metavar="USER_PK", help=argparse.SUPPRESS)

    def handle(self, *args, data_dir=None, dry_run=False, source=ImportSession.Source.CLI, triggered_by=None,
               force=False, queue=False, verbosity=1, **options):
        if dry_run and queue:
            raise CommandError("--dry-run и --queue несовместимы: проверка пакета выполняется сразу")
        if dry_run:
            try:
                result = catalog_import_dry_run(data_dir=data_dir)
            except CatalogImportError as exc:
                raise CommandError(f"Пакет не прошёл проверку: {exc}") from None
            self.stdout.write(f"Проверка ({result.layout}): {result.total} объектов, "
                              f"{result.failed} с ошибками. Ничего не записано (--dry-run).")
            return

        if source not in ImportSession.Source.values:
            raise CommandError(f"--source: неизвестный источник {source!r} "
                               f"(допустимы: {', '.join(ImportSession.Source.values)})")
        user = _user(triggered_by) if triggered_by is not None else None
        if queue:
            return self._enqueue(data_dir=data_dir, user=user, source=source, force=force)

        bar = _ProgressBar(self.stderr) if verbosity > 0 and _isatty(self.stderr) else None
        try:
            with _sigterm_as_exit(source == ImportSession.Source.CLI):
                session = catalog_import_run(data_dir=data_dir, user=user, source=source, force=force,
                                             progress=bar.update if bar else None)
        except ImportAlreadyRunning:
            raise ImportLockTakenError("Импорт уже запущен другим процессом; дождитесь его завершения.") from None
        except ImportLockUnavailable as exc:
            raise ImportLockUnavailableError(f"Нельзя запустить импорт: {exc}") from None
        finally:
            if bar:
                bar.close()
        self.stdout.write(_summary(session))
        if session.status != ImportSession.Status.COMPLETED:
            reason = next(iter(session.error_message.splitlines()), "причина не записана")
            raise ImportSessionFailedError(f"Импорт не выполнен: {reason}", session_id=session.session_id)
        return str(session.session_id)  # BaseCommand prints it; call_command returns it


    def _enqueue(self, **kwargs) -> str:
        try:
            session = catalog_import_enqueue(**kwargs)
        except ImportAlreadyRunning:
            raise ImportLockTakenError("Импорт уже запущен другим процессом; дождитесь его завершения.") from None
        except ImportLockUnavailable as exc:
            raise ImportLockUnavailableError(f"Нельзя поставить импорт в очередь: {exc}") from None
        self.stdout.write(f"Импорт поставлен в очередь: сессия {session.session_id} "
                          "(выполнит `manage.py import_worker`)")
        return str(session.session_id)


def _user(pk):
    User = get_user_model()
    try:
        return User.objects.get(pk=pk)
    except (User.DoesNotExist, ValueError, TypeError):
        raise CommandError(f"--triggered-by: нет пользователя с pk {pk!r}") from None


@contextmanager
def _sigterm_as_exit(enabled: bool):
    """SIGTERM (systemd, docker stop, cron timeouts) kills Python without running ``finally``: the
    session would stay "running" and the lock held until the stale check. As ``SystemExit`` it
    unwinds like Ctrl-C: session failed, lock released. Only for CLI runs in the main thread —
    inside a web worker the server's own SIGTERM handling must stay in charge."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _isatty(stream) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def _summary(session: ImportSession) -> str:
    lines = [f"Сессия {session.session_id}: {session.get_status_display()}, "
             f"обработано {session.processed_items} из {session.total_items}, с ошибками {session.failed_items}, "
             f"за {session.duration.total_seconds():.1f} с"]
    for entity, counts in session.stats.items():
        if isinstance(counts, dict):
            lines.append("  " + entity + ": " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for error in session.errors[:10]:
        lines.append(f"  ! {error['file']} [{error['onec_id']}]: {error['message']}")
    if session.failed_items > 10:
        lines.append(f"  … полный список — в админке, сессия {session.session_id}")
    return "\n".join(lines)


class _ProgressBar:
    """A one-line terminal bar, redrawn at most 10 times a second."""

    def __init__(self, stream, width: int = 40) -> None:
        self.stream, self.width, self._drawn = stream, width, 0.0

    def update(self, processed: int, total: int) -> None:
        now = time.monotonic()
        if now - self._drawn < 0.1 and processed < total:
            return
        self._drawn = now
        filled = int(self.width * processed / total) if total else 0
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {processed}/{total}", ending="")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("", ending="\n")
