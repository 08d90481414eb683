"""The single door to a catalog import: lock → session → pipeline → outcome.

The admin action, the dashboard button, the CLI command and any worker call
``catalog_import_run``; it takes the Redis lock exactly once per import, so a cron job and an
admin click can never overlap.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from django.conf import settings

from ..locking import acquire_import_lock
from ..models import ImportSession
from ..onec.errors import CatalogImportError
from ..onec.layout import discover_package
from ..onec.pipeline import ImportResult, package_digest, run_import
from ..selectors import import_session_last_finished
from .import_sessions import (
    import_lock_holder_is_stale, import_session_beat, import_session_complete, import_session_fail,
    import_session_progress, import_session_skip_unchanged, import_session_start,
)

logger = logging.getLogger(__name__)

def catalog_import_run(
    *,
    data_dir: Path | str | None = None,
    user=None,
    source: str = ImportSession.Source.CLI,
    progress: Callable[[int, int], None] | None = None,
    force: bool = False,
) -> ImportSession:
    """Run one import and return its finished session (completed or failed).

    A package with the same data as the one the last finished import read cleanly (byte-identical,
    or re-exported with only a new ``ДатаФормирования``/segment GUIDs — see ``package_digest``) is
    not read again: the session completes at once, saying so. ``force`` reads it anyway.

    Raises ``ImportAlreadyRunning`` when another import holds the lock and
    ``ImportLockUnavailable`` when Redis is down; in both cases nothing is started or recorded.
    """
    data_dir = Path(data_dir or settings.ONEC_DATA_DIR).resolve()  # one spelling per dir in sessions
    lock = acquire_import_lock(is_stale=import_lock_holder_is_stale)
    try:
        session = import_session_start(data_dir=data_dir, user=user, source=source, lock_token=lock.token)
        lock.start_keepalive(beat=lambda: import_session_beat(pk=session.pk))
        _run(session, data_dir, progress, force=force, should_stop=lock.lost.is_set)
        return session
    finally:
        lock.release()


def _run(session: ImportSession, data_dir: Path, progress, *, force: bool, should_stop) -> None:
    last = {"result": None}

    def on_progress(result: ImportResult) -> None:
        # After every committed batch (~0.1 s of work): one small UPDATE, so the admin, reading from
        # another connection, always sees what has really been committed, and the heartbeat.
        last["result"] = result
        import_session_progress(session, result)
        if progress and result.processed:  # the caller hears of committed batches only
            progress(result.processed, result.total)

    try:
        package = discover_package(data_dir)
        digest = package_digest(package)
        previous = _identical_clean_import(digest, data_dir) if not force else None
        if previous is not None:
            import_session_skip_unchanged(session, previous=previous, digest=digest)
            if progress:
                progress(session.processed_items, session.total_items)
            return
        result = run_import(package, on_progress=on_progress, should_stop=should_stop)
        result.stats["package_digest"] = digest
    except CatalogImportError as exc:
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
