"""Who is calling: HTTP Basic on ``checkauth``, then the exchange cookie; throttled failed logins.

The endpoint takes no CSRF token (1C cannot send one), so it must never honour a credential a
browser would send on its own: it ignores the admin's session cookie and issues its own cookie
value, only in the body of the ``checkauth`` answer (never with ``Set-Cookie``). A browser
therefore never holds it, and a page elsewhere cannot make a logged-in administrator's browser
upload or import anything.

State lives in the default Redis (like the import lock), under ``onec_exchange:``:

* ``token:<sha256 of the cookie value>`` → ``{"user": pk, "exchange": pk|null}``, expiring
  ``ONEC_EXCHANGE_AUTH_TTL`` after the last call that used it;
* ``fail:user:<hash>`` / ``fail:addr:<address>`` — failed ``checkauth`` attempts in the current
  ``ONEC_EXCHANGE_LOGIN_WINDOW``; past the limit, ``checkauth`` is refused without even checking
  the password until the window ends.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass

from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

COOKIE_NAME = "onec_exchange"
PERMISSION = "products.run_catalog_import"
_PREFIX = "onec_exchange:"


class ExchangeStateUnavailable(Exception):
    """Redis cannot be reached: nobody can be authenticated, so nothing is accepted."""


def _redis():
    return get_redis_connection("default")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def client_address(request) -> str:
    """The caller's address; behind a proxy, from the header ``ONEC_EXCHANGE_CLIENT_IP_HEADER`` names."""
    header = settings.ONEC_EXCHANGE_CLIENT_IP_HEADER
    value = request.META.get(header, "") if header else ""
    # X-Forwarded-For lists every hop; the last one is what our own proxy saw.
    return value.split(",")[-1].strip() or request.META.get("REMOTE_ADDR", "")


def basic_credentials(request) -> tuple[str, str] | None:
    """``(username, password)`` from an ``Authorization: Basic`` header, or None."""
    scheme, _, encoded = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1251")  # a Russian Windows client without RFC 7617's charset
    username, sep, password = text.partition(":")
    return (username, password) if sep else None


# --- failed logins ---------------------------------------------------------------------------


def _failure_keys(username: str, address: str) -> list[tuple[str, int]]:
    return [(f"{_PREFIX}fail:user:{_hash(username.strip().lower())}", settings.ONEC_EXCHANGE_LOGIN_FAILURES),
            (f"{_PREFIX}fail:addr:{address}", settings.ONEC_EXCHANGE_LOGIN_FAILURES_PER_ADDRESS)]


def login_retry_after(*, username: str, address: str) -> int | None:
    """Seconds until ``checkauth`` may be tried again for this user name and address, or None if allowed."""
    try:
        redis = _redis()
        waits = []
        for key, limit in _failure_keys(username, address):
            count = redis.get(key)
            if count is not None and int(count) >= limit:
                waits.append(max(redis.ttl(key), 1))
    except RedisError as exc:
        raise ExchangeStateUnavailable(f"Redis недоступен ({exc.__class__.__name__})") from exc
    return max(waits) if waits else None


def login_failure_record(*, username: str, address: str) -> None:
    try:
        pipe = _redis().pipeline()
        for key, _limit in _failure_keys(username, address):
            pipe.set(key, 0, ex=settings.ONEC_EXCHANGE_LOGIN_WINDOW, nx=True)  # the window starts at the first failure
            pipe.incr(key)
        pipe.execute()
    except RedisError as exc:
        raise ExchangeStateUnavailable(f"Redis недоступен ({exc.__class__.__name__})") from exc


def login_failures_clear(*, username: str, address: str) -> None:
    try:
        _redis().delete(*(key for key, _limit in _failure_keys(username, address)))
    except RedisError as exc:
        raise ExchangeStateUnavailable(f"Redis недоступен ({exc.__class__.__name__})") from exc


# --- the exchange cookie ---------------------------------------------------------------------


@dataclass(frozen=True)
class ExchangeAuth:
    token: str
    user_pk: int
    exchange_pk: int | None


def _token_key(token: str) -> str:
    return f"{_PREFIX}token:{_hash(token)}"  # the value itself is never stored


def auth_token_issue(*, user) -> str:
    token = secrets.token_urlsafe(32)
    _token_write(ExchangeAuth(token=token, user_pk=user.pk, exchange_pk=None))
    return token


def auth_token_bind(*, auth: ExchangeAuth, exchange_pk: int) -> ExchangeAuth:
    """Make ``exchange_pk`` the exchange later calls with this cookie belong to (``mode=init``)."""
    bound = ExchangeAuth(token=auth.token, user_pk=auth.user_pk, exchange_pk=exchange_pk)
    _token_write(bound)
    return bound


def auth_token_resolve(token: str) -> ExchangeAuth | None:
    """The cookie's owner and exchange, or None if unknown or expired; each use extends its life."""
    if not token:
        return None
    key = _token_key(token)
    try:
        redis = _redis()
        raw = redis.get(key)
        if raw is None:
            return None
        redis.expire(key, settings.ONEC_EXCHANGE_AUTH_TTL)
    except RedisError as exc:
        raise ExchangeStateUnavailable(f"Redis недоступен ({exc.__class__.__name__})") from exc
    data = json.loads(raw)
    return ExchangeAuth(token=token, user_pk=data["user"], exchange_pk=data["exchange"])


def _token_write(auth: ExchangeAuth) -> None:
    try:
        _redis().set(_token_key(auth.token), json.dumps({"user": auth.user_pk, "exchange": auth.exchange_pk}),
                     ex=settings.ONEC_EXCHANGE_AUTH_TTL)
    except RedisError as exc:
        raise ExchangeStateUnavailable(f"Redis недоступен ({exc.__class__.__name__})") from exc


def user_may_exchange(user) -> bool:
    return user is not None and user.is_active and user.has_perm(PERMISSION)
