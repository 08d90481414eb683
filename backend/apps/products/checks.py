"""``manage.py check --deploy``: is the import lock's Redis configured and reachable?

Without it no import can start (the lock refuses to guess), and an embedded development Redis would
give each machine a lock of its own. The warning names Redis and the server's host, never the URL's
password.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

LOCK_REDIS_UNCONFIGURED = "products.W001"
LOCK_REDIS_UNREACHABLE = "products.W002"


def _where(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    return f"{parts.hostname or '?'}:{parts.port or 6379}"  # hostname/port only: no user, no password


@checks.register("redis", deploy=True)
def check_import_lock_redis(app_configs=None, **kwargs):
    url = settings.CACHES["default"].get("LOCATION", "")
    url = url[0] if isinstance(url, (list, tuple)) else url
    if not url or getattr(settings, "REDIS_EMBEDDED", False):
        return [checks.Warning(
            "Redis for the import lock is not configured: REDIS_URL is unset, so the embedded development "
            f"Redis ({_where(url)}) is used and every machine would have a lock of its own.",
            hint="Set REDIS_URL=redis://<host>:6379/0 to the Redis all web servers and workers share.",
            id=LOCK_REDIS_UNCONFIGURED,
        )]
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except (RedisError, OSError) as exc:
        return [checks.Warning(
            f"Redis for the import lock at {_where(url)} cannot be reached ({exc.__class__.__name__}): "
            "no import can start until it can.",
            hint="Check REDIS_URL, the network and the Redis server; see docs/operations.md.",
            id=LOCK_REDIS_UNREACHABLE,
        )]
    return []
