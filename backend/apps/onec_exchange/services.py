"""Writes of the 1C exchange, one function per protocol step, each returning the ``Answer`` for 1C.

The import itself is ``apps.products.services.catalog_import.catalog_import_submit``: the same
Redis lock and ``ImportSession`` as the admin and the CLI, started without waiting so that every
``mode=import`` call is answered within seconds; later calls report on that session.
"""
from __future__ import annotations

import ipaddress
import logging
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import LockError, RedisError

from apps.products.locking import ImportAlreadyRunning, ImportLockUnavailable
from apps.products.models import ImportSession
from apps.products.services.catalog_import import catalog_import_submit
from apps.products.services.import_sessions import import_sessions_fail_stale

from . import staging
from .auth import ExchangeStateUnavailable
from .models import Exchange, ExchangeFile, ExchangeImport
from .protocol import Answer, failure, progress, success

logger = logging.getLogger(__name__)

_MUTEX_TTL = 600  # s: a worker killed while holding an exchange's mutex blocks that exchange this long at most
_LOOK_EVERY = 0.5  # s between looks at the import while a mode=import call waits for news


# --- mode=init -------------------------------------------------------------------------------


def exchange_start(*, user, remote_addr: str = "") -> Exchange:
    """A new exchange with fresh, empty folders; older exchanges beyond the newest N lose theirs."""
    now = timezone.now()
    exchange_id = uuid.uuid4()
    root = Path(settings.ONEC_EXCHANGE_DIR)
    folder = (root / f"{timezone.localtime(now):%Y%m%d-%H%M%S}-{exchange_id.hex[:8]}").resolve()
    (folder / "incoming").mkdir(parents=True)
    (folder / "package").mkdir()
    exchange = Exchange.objects.create(exchange_id=exchange_id, user=user, remote_addr=_ip_or_none(remote_addr),
                                       folder=str(folder), started_at=now, last_request_at=now)
    exchanges_prune(keep=settings.ONEC_EXCHANGE_KEEP)
    return exchange


def exchanges_prune(*, keep: int) -> int:
    """Remove the folders of all but the newest ``keep`` exchanges (never one whose import runs)."""
    root = Path(settings.ONEC_EXCHANGE_DIR)
    removed = 0
    for exchange in Exchange.objects.filter(removed_at__isnull=True).order_by("-started_at", "-id")[max(keep, 1):]:
        if exchange.imports.filter(session__status__in=ImportSession.ACTIVE_STATUSES).exists():
            continue
        if staging.folder_remove(Path(exchange.folder), root=root):
            Exchange.objects.filter(pk=exchange.pk).update(removed_at=timezone.now())
            removed += 1
        else:
            logger.warning("exchange %s: folder %s is not under ONEC_EXCHANGE_DIR %s; left in place",
                           exchange.exchange_id, exchange.folder, root)
    return removed


def _ip_or_none(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


# --- mode=file -------------------------------------------------------------------------------


def exchange_file_receive(*, exchange: Exchange, filename: str, body, length: int) -> Answer:
    """Append one chunk (the request body) to ``filename`` in the exchange's ``incoming/``."""
    if exchange.error_message:
        return failure(exchange.error_message)
    try:
        name = staging.safe_name(filename)
        path = staging.path_inside(exchange.incoming_dir, name)
    except staging.UnsafeName as exc:
        return failure(f"недопустимое имя файла «{filename}»: {exc}; ничего не записано")
    limit = settings.ONEC_EXCHANGE_FILE_LIMIT
    if length > limit:
        return _poison(exchange, f"часть файла «{name}» ({length} байт) больше file_limit ({limit} байт)")
    with _exchange_mutex(exchange, wait=settings.ONEC_EXCHANGE_POLL) as mine:
        if not mine:
            return failure("предыдущий запрос этого обмена ещё выполняется")
        exchange.refresh_from_db()
        if exchange.error_message:
            return failure(exchange.error_message)
        record = ExchangeFile.objects.filter(exchange=exchange, name=name).first()
        if exchange.bytes_received + exchange.bytes_unpacked + length > settings.ONEC_EXCHANGE_MAX_BYTES:
            return _poison(exchange, f"обмен больше лимита ({settings.ONEC_EXCHANGE_MAX_BYTES} байт, "
                                     f"ONEC_EXCHANGE_MAX_BYTES): файл «{name}» не принят")
        if record is None and exchange.file_count >= settings.ONEC_EXCHANGE_MAX_FILES:
            return _poison(exchange, f"в обмене больше {settings.ONEC_EXCHANGE_MAX_FILES} файлов "
                                     f"(ONEC_EXCHANGE_MAX_FILES): файл «{name}» не принят")
        continuing = path.is_file()  # a later chunk of a file still arriving
        try:
            written = staging.chunk_append(path, body, limit=limit)
        except staging.ChunkTooBig as exc:
            return _poison(exchange, f"«{name}»: {exc}")
        except OSError as exc:
            return failure(f"не удалось записать «{name}»: {exc.strerror or exc}; ничего не записано")
        now = timezone.now()
        size = path.stat().st_size
        if record is None:
            ExchangeFile.objects.create(exchange=exchange, name=name, size=size, chunks=1, received_at=now,
                                        updated_at=now, is_archive=name.lower().endswith(".zip"))
        else:  # the next chunk, or the same name sent again after an import took the previous one
            ExchangeFile.objects.filter(pk=record.pk).update(
                size=size, chunks=F("chunks") + 1 if continuing else 1, updated_at=now, pending=True,
                received_at=record.received_at if continuing else now, archive="",
                is_archive=name.lower().endswith(".zip"))
        Exchange.objects.filter(pk=exchange.pk).update(
            bytes_received=F("bytes_received") + written, file_count=F("file_count") + int(record is None),
            last_request_at=now)
    return success()


# --- mode=import -----------------------------------------------------------------------------


def exchange_import_request(*, exchange: Exchange, user) -> Answer:
    """Start importing what arrived, or report on the import that runs; never blocks for long.

    Waits up to ``ONEC_EXCHANGE_POLL`` seconds for news before answering "progress", so 1C, which
    asks again at once, polls every few seconds instead of in a tight loop.
    """
    deadline = time.monotonic() + settings.ONEC_EXCHANGE_POLL
    Exchange.objects.filter(pk=exchange.pk).update(last_request_at=timezone.now())
    pause = threading.Event()  # never set: a bounded pause between looks
    while True:
        answer = _import_step(exchange, user)
        remaining = deadline - time.monotonic()
        if answer.word != "progress" or remaining <= 0:
            return answer
        pause.wait(min(_LOOK_EVERY, remaining))


def exchange_finish_ack(*, exchange: Exchange) -> Answer:
    """``mode=complete`` / ``mode=deactivate``: nothing left to do but report how the import went.

    Retiring what a full package no longer lists is done by the import itself.
    """
    Exchange.objects.filter(pk=exchange.pk).update(last_request_at=timezone.now())
    exchange.refresh_from_db()
    if exchange.error_message:
        return failure(exchange.error_message)
    last = _last_import(exchange)
    if last is None:
        return success()
    if last.session.is_active:
        return progress(_progress_text(last.session))
    return _outcome(last.session)


def _import_step(exchange: Exchange, user) -> Answer:
    exchange.refresh_from_db()
    if exchange.error_message:
        return failure(exchange.error_message)
    last = _last_import(exchange)
    if last is not None and last.session.is_active:
        if import_sessions_fail_stale(lock_token=last.session.lock_token):  # its process died
            last.session.refresh_from_db()
        else:
            return progress(_progress_text(last.session))
    if not exchange.files.filter(pending=True).exists():
        if last is None:
            return failure("нет файлов для импорта: 1С не передала ни одного файла (mode=file)")
        return _outcome(last.session)
    return _import_start(exchange, user)


def _import_start(exchange: Exchange, user) -> Answer:
    """Hand every file that arrived to a new import of the whole package (under the exchange's mutex)."""
    with _exchange_mutex(exchange, wait=0) as mine:
        if not mine:
            return progress("предыдущий запрос этого обмена ещё выполняется")
        exchange.refresh_from_db()
        last = _last_import(exchange)
        if exchange.error_message or (last is not None and last.session.is_active):
            return progress("состояние обмена изменилось")  # looked at again on the next step
        requested_at = exchange.lock_wait_since or timezone.now()
        error = _package_assemble(exchange)
        if error:
            return _poison(exchange, error)
        try:
            session = catalog_import_submit(data_dir=exchange.package_dir, user=user,
                                            source=ImportSession.Source.EXCHANGE)
        except ImportAlreadyRunning:
            return _lock_wait(exchange)
        except ImportLockUnavailable as exc:
            return failure(f"импорт не начат: {exc}")
        totals = exchange.files.filter(is_archive=False).aggregate(files=Count("pk"), size=Sum("size"))
        with transaction.atomic():
            link = ExchangeImport.objects.create(exchange=exchange, session=session, requested_at=requested_at,
                                                 package_files=totals["files"], package_bytes=totals["size"] or 0)
            taken = exchange.files.filter(pending=True).update(pending=False, exchange_import=link)
            Exchange.objects.filter(pk=exchange.pk).update(lock_wait_since=None, last_request_at=timezone.now())
    logger.info("exchange %s: import session %s started (%s new files, %s in the package)",
                exchange.exchange_id, session.session_id, taken, totals["files"])
    return progress("импорт начат")


def _package_assemble(exchange: Exchange) -> str | None:
    """Unpack the zips that arrived and move the other new files into ``package/``; a reason on failure."""
    started = time.monotonic()
    incoming, package = exchange.incoming_dir, exchange.package_dir
    if not any(incoming.iterdir()):
        return None  # moved by an earlier call that then found the lock taken
    plain = []
    for record in exchange.files.filter(pending=True).order_by("pk"):
        if not record.is_archive:
            plain.append(record.name)
            continue
        archive = incoming / record.name
        if not archive.is_file():
            continue
        try:
            members = staging.zip_unpack(
                archive, package,
                max_bytes=settings.ONEC_EXCHANGE_MAX_BYTES - exchange.bytes_received - exchange.bytes_unpacked,
                max_files=settings.ONEC_EXCHANGE_MAX_FILES - exchange.file_count)
        except staging.BadArchive as exc:
            return f"архив «{record.name}»: {exc}"
        archive.unlink()
        _members_record(exchange, record.name, members)
    try:
        staging.pending_move(incoming, package, plain)
    except (OSError, staging.UnsafeName) as exc:
        return f"не удалось собрать пакет из принятых файлов: {exc}"
    seconds = time.monotonic() - started
    Exchange.objects.filter(pk=exchange.pk).update(unpack_seconds=F("unpack_seconds") + seconds)
    logger.info("exchange %s: package assembled in %.2f s", exchange.exchange_id, seconds)
    return None


def _members_record(exchange: Exchange, archive: str, members: list[staging.Member]) -> None:
    now = timezone.now()
    known = set(exchange.files.values_list("name", flat=True))
    ExchangeFile.objects.bulk_create(
        [ExchangeFile(exchange=exchange, name=m.name, size=m.size, chunks=0, archive=archive, received_at=now,
                      updated_at=now, pending=True) for m in members],
        update_conflicts=True, unique_fields=["exchange", "name"],
        update_fields=["size", "chunks", "archive", "is_archive", "updated_at", "pending"])
    unpacked = sum(m.size for m in members)
    new = sum(m.name not in known for m in members)
    Exchange.objects.filter(pk=exchange.pk).update(bytes_unpacked=F("bytes_unpacked") + unpacked,
                                                   file_count=F("file_count") + new)
    exchange.bytes_unpacked += unpacked
    exchange.file_count += new


def _lock_wait(exchange: Exchange) -> Answer:
    now = timezone.now()
    since = exchange.lock_wait_since
    if since is None:
        Exchange.objects.filter(pk=exchange.pk).update(lock_wait_since=now)
        since = now
    waited = (now - since).total_seconds()
    limit = settings.ONEC_EXCHANGE_LOCK_WAIT
    if waited > limit:
        return failure(f"импорт не начат: другой импорт каталога выполняется дольше {limit // 60} мин "
                       f"(ONEC_EXCHANGE_LOCK_WAIT); повторите обмен позже")
    return progress(f"ожидание: выполняется другой импорт каталога ({int(waited)} с)")


def _last_import(exchange: Exchange) -> ExchangeImport | None:
    return exchange.imports.select_related("session").order_by("-pk").first()


def _progress_text(session: ImportSession) -> str:
    if session.status == ImportSession.Status.PENDING:
        return "импорт в очереди: ждёт обработчика очереди импорта"
    if not session.total_items:
        return "импорт: проверка файлов пакета"
    return (f"импорт: обработано {session.processed_items} из {session.total_items} объектов "
            f"({session.progress_percent}%)")


def _outcome(session: ImportSession) -> Answer:
    if session.status == ImportSession.Status.COMPLETED:
        return success()
    if session.status == ImportSession.Status.CANCELLED:
        return failure(f"импорт отменён в админке (сессия {session.session_id})")
    reason = next(iter(session.error_message.splitlines()), "") or "импорт завершился ошибкой"
    return failure(f"импорт не выполнен: {reason} (сессия {session.session_id})")


def _poison(exchange: Exchange, reason: str) -> Answer:
    """The exchange cannot deliver a whole package any more: say so now and on every later call."""
    reason = f"обмен прерван: {reason}"
    Exchange.objects.filter(pk=exchange.pk).update(error_message=reason, last_request_at=timezone.now())
    exchange.error_message = reason
    logger.warning("exchange %s: %s", exchange.exchange_id, reason)
    return failure(reason)


@contextmanager
def _exchange_mutex(exchange: Exchange, *, wait: float):
    """One call at a time per exchange: 1C calls one after another, a retry or a hostile client may not."""
    lock = get_redis_connection("default").lock(f"onec_exchange:mutex:{exchange.pk}", timeout=_MUTEX_TTL,
                                                thread_local=False)
    try:
        acquired = lock.acquire(blocking=wait > 0, blocking_timeout=wait or None)
    except RedisError as exc:
        raise ExchangeStateUnavailable(f"Redis недоступен ({exc.__class__.__name__})") from exc
    try:
        yield acquired
    finally:
        if acquired:
            try:
                lock.release()
            except (LockError, RedisError):
                logger.warning("exchange %s: its mutex expired before release", exchange.exchange_id)
