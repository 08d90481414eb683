"""The one lock every import takes, whoever starts it (admin action, dashboard button, CLI, worker).

Key ``import_catalog_lock`` in the default Redis (``django_redis.get_redis_connection``), holding
the holder's random token so only the holder can extend or release it (redis-py's ``Lock``).

Lifetime: the key is set with a TTL of ``LOCK_TTL`` (1 h) and a keeper thread renews it every
``KEEPALIVE_INTERVAL`` while the import runs, so an import may run longer than an hour and stay
exclusive; the TTL only bounds how long a crashed holder could block others. That ceiling is
cut short by the heartbeat: the keeper also beats the holder's ``ImportSession.heartbeat_at``,
and a contender that finds the lock taken asks ``is_stale(token)`` whether the holder went
silent for ``STALE_AFTER`` seconds (killed with -9, a worker timeout). If so the lock is broken —
atomically, only if it still holds that same token — and taken over: a new import can start
within ~2 minutes of a crash without anyone editing Redis.

Queued imports (``IMPORT_RUNNER=queue``) take the lock when they are queued, in the request that
queues them, so a second request is refused at once and two queued imports never wait side by side.
The worker that runs the job then adopts the lock by the token stored on the session
(``adopt_import_lock``) and renews it from there on; cancelling a queued import releases it by that
token (``release_import_lock``). While queued nobody renews it: ``LOCK_TTL`` bounds how long a job
no worker ever takes can block other imports.
"""
from __future__ import annotations

import logging
import threading
import uuid
from typing import Callable

from django_redis import get_redis_connection
from redis.exceptions import LockError, LockNotOwnedError, RedisError

logger = logging.getLogger(__name__)

LOCK_KEY = "import_catalog_lock"
LOCK_TTL = 3600  # s; renewed while the import runs: a ceiling after a crash, not a limit on length
KEEPALIVE_INTERVAL = 2  # s between renewals and heartbeats (the pre-scan of a big package writes no progress)
STALE_AFTER = 90  # s without a heartbeat after which the holder is considered dead

# Delete the key only if it still holds the token we judged stale (no race with a new holder).
_BREAK_IF_TOKEN = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
# A worker adopting a queued import's lock: still ours → renew it; expired while queued and nobody
# took it since → take it again; anyone else's → refuse.
_ADOPT = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if not holder then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""


class ImportAlreadyRunning(Exception):
    """Another import holds the lock."""


class ImportLockUnavailable(Exception):
    """Redis cannot be reached, so whether an import runs cannot be known: nothing starts."""


class ImportLock:
    def __init__(self, redis_lock, token: str) -> None:
        self._lock = redis_lock
        self.token = token
        self.lost = threading.Event()  # set if the keeper finds the lock no longer ours
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None

    def start_keepalive(self, beat: Callable[[], None] | None = None) -> None:
        self._keeper = threading.Thread(target=self._keep, args=(beat,), name="import-lock-keeper", daemon=True)
        self._keeper.start()

    def _keep(self, beat) -> None:
        from django.db import connections

        try:
            while not self._stop.wait(KEEPALIVE_INTERVAL):
                try:
                    self._lock.reacquire()  # owner-only: resets the TTL to LOCK_TTL
                except LockNotOwnedError:
                    logger.error("import lock %s is no longer ours; stopping the import", self.token)
                    self.lost.set()
                    return
                except RedisError:
                    logger.warning("could not renew the import lock (Redis error); will retry", exc_info=True)
                if beat:
                    try:
                        beat()
                    except Exception:  # a missed beat must not kill the keeper
                        logger.warning("import heartbeat failed", exc_info=True)
        finally:
            connections.close_all()  # this thread's own DB connection

    def release(self) -> None:
        """Stop the keeper and release the lock if still ours. Never raises: a failed release must
        not hide the import's own outcome (the TTL and stale detection clean up after it)."""
        self._stop.set()
        if self._keeper is not None:
            self._keeper.join(timeout=KEEPALIVE_INTERVAL + 5)
        try:
            self._lock.release()
        except LockError:
            logger.warning("import lock %s was not ours any more at release", self.token)
        except RedisError:
            logger.warning("could not release the import lock %s (Redis error); it expires by TTL", self.token,
                           exc_info=True)


def _redis():
    return get_redis_connection("default")


def acquire_import_lock(*, is_stale: Callable[[str], bool] | None = None) -> ImportLock:
    """Take the lock without waiting, or raise ``ImportAlreadyRunning`` / ``ImportLockUnavailable``."""
    try:
        redis = _redis()
        token = uuid.uuid4().hex
        lock = redis.lock(LOCK_KEY, timeout=LOCK_TTL, blocking=False, thread_local=False)
        if lock.acquire(token=token):
            return ImportLock(lock, token)
        holder = redis.get(LOCK_KEY)
        holder = holder.decode() if isinstance(holder, bytes) else holder
        # No holder: it was released between our two calls (an import just finished) — try again.
        if holder is None or (is_stale and is_stale(holder)):
            if holder is not None and redis.eval(_BREAK_IF_TOKEN, 1, LOCK_KEY, holder):
                logger.warning("broke the import lock of a dead holder (token %s)", holder)
            if lock.acquire(token=token):
                return ImportLock(lock, token)
    except RedisError as exc:
        raise ImportLockUnavailable(f"Redis недоступен ({exc.__class__.__name__}: {exc})") from exc
    raise ImportAlreadyRunning("Импорт уже запущен")


def adopt_import_lock(token: str) -> ImportLock:
    """Take over the lock a queued import was given when it was queued (see the module docstring).

    Raises ``ImportAlreadyRunning`` when the key now holds another token (it expired while the job
    waited and another import took it) and ``ImportLockUnavailable`` when Redis is down."""
    try:
        redis = _redis()
        lock = redis.lock(LOCK_KEY, timeout=LOCK_TTL, blocking=False, thread_local=False)
        if redis.eval(_ADOPT, 1, LOCK_KEY, token, int(LOCK_TTL * 1000)):
            lock.local.token = redis.get_encoder().encode(token)  # redis-py's Lock now owns it
            return ImportLock(lock, token)
    except RedisError as exc:
        raise ImportLockUnavailable(f"Redis недоступен ({exc.__class__.__name__}: {exc})") from exc
    raise ImportAlreadyRunning("Импорт уже запущен")


def release_import_lock(token: str) -> bool:
    """Release the lock on behalf of its holder, known by ``token`` (a cancelled queued import, a
    worker whose job process died); never someone else's. True if it was released."""
    try:
        return bool(_redis().eval(_BREAK_IF_TOKEN, 1, LOCK_KEY, token))
    except RedisError:
        logger.warning("could not release the import lock %s (Redis error); it expires by TTL", token,
                       exc_info=True)
        return False


def import_lock_holder() -> str | None:
    """The current holder's token, or None when free. Raises ``ImportLockUnavailable``."""
    try:
        value = _redis().get(LOCK_KEY)
    except RedisError as exc:
        raise ImportLockUnavailable(f"Redis недоступен ({exc.__class__.__name__}: {exc})") from exc
    return value.decode() if isinstance(value, bytes) else value


def import_lock_state() -> tuple[str | None, int | None]:
    """``(holder token or None, seconds left of its TTL or None)`` in one round trip to Redis.
    Raises ``ImportLockUnavailable``."""
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.get(LOCK_KEY)
        pipe.pttl(LOCK_KEY)
        value, ttl_ms = pipe.execute()
    except RedisError as exc:
        raise ImportLockUnavailable(f"Redis недоступен ({exc.__class__.__name__}: {exc})") from exc
    token = value.decode() if isinstance(value, bytes) else value
    return token, (ttl_ms // 1000 if token and ttl_ms and ttl_ms > 0 else None)
