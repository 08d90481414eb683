"""The endpoint 1C calls: ``/1c/exchange/`` and the conventional ``/bitrix/admin/1c_exchange.php``.

A thin caller: it authenticates, hands ``type``/``mode`` to one service and renders the answer.
It takes no CSRF token (1C cannot send one), so every call authenticates: HTTP Basic on
``checkauth``, the exchange cookie issued there on every later call (see ``auth``).
Each request is logged with its outcome; never a password, an ``Authorization`` header or a cookie.
"""
from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import services, staging
from .auth import (
    COOKIE_NAME, ExchangeStateUnavailable, auth_token_bind, auth_token_issue, auth_token_resolve, basic_credentials,
    client_address, login_failure_record, login_failures_clear, login_retry_after, user_may_exchange,
)
from .models import Exchange
from .protocol import Answer, failure, init_answer, render, success

logger = logging.getLogger(__name__)

CATALOG = "catalog"
# 1C's catalog modes. complete/deactivate only acknowledge: the import already retired what a full package omits.
MODES = ("checkauth", "init", "file", "import", "complete", "deactivate")
UNSUPPORTED = "не поддерживается"


@csrf_exempt
@require_http_methods(["GET", "POST"])
def exchange(request):
    started = time.monotonic()
    call = {"user": "-", "address": client_address(request)}
    try:
        answer = _answer(request, call)
    except ExchangeStateUnavailable as exc:
        answer = failure(f"сайт не может проверить авторизацию обмена: {exc}")
    except Exception:
        logger.exception("1C exchange: the request crashed")
        answer = failure("внутренняя ошибка сайта; подробности в журнале сервера")
    _log(request, call, answer, time.monotonic() - started)
    return render(answer)


def _answer(request, call: dict) -> Answer:
    kind, mode = request.GET.get("type", ""), request.GET.get("mode", "")
    if kind != CATALOG or mode not in MODES:
        return failure(UNSUPPORTED)  # e.g. type=sale (orders): not part of this site
    if mode == "checkauth":
        return _checkauth(request, call)

    auth = auth_token_resolve(request.COOKIES.get(COOKIE_NAME, ""))
    if auth is None:
        return failure("нет авторизации: cookie обмена не передан или устарел; начните обмен заново (mode=checkauth)")
    user = get_user_model().objects.filter(pk=auth.user_pk).first()
    if not user_may_exchange(user):
        return failure("пользователь обмена отключён или лишён права на импорт каталога")
    call["user"] = user.get_username()

    if mode == "init":
        exchange = services.exchange_start(user=user, remote_addr=call["address"])
        auth_token_bind(auth=auth, exchange_pk=exchange.pk)
        return init_answer(zip_allowed=settings.ONEC_EXCHANGE_ZIP, file_limit=settings.ONEC_EXCHANGE_FILE_LIMIT)

    exchange = Exchange.objects.filter(pk=auth.exchange_pk, user=user).first() if auth.exchange_pk else None
    if exchange is None:
        return failure("обмен не начат: сначала mode=init")
    if exchange.removed_at is not None:
        return failure("обмен устарел: его файлы уже удалены; начните обмен заново")
    filename = request.GET.get("filename", "")

    if mode == "file":
        if request.method != "POST":
            return failure("mode=file: файл передаётся телом POST-запроса")
        try:
            length = int(request.META["CONTENT_LENGTH"])
        except (KeyError, ValueError):  # e.g. a chunked body: it would read as empty
            return failure("mode=file: нет заголовка Content-Length (тело частями не принимается)")
        call["bytes"] = length
        return services.exchange_file_receive(exchange=exchange, filename=filename, body=request, length=length)
    if mode == "import":
        if filename:  # only reported: the whole package is imported, but a hostile name is still refused
            try:
                staging.safe_name(filename)
            except staging.UnsafeName as exc:
                return failure(f"недопустимое имя файла «{filename}»: {exc}")
        return services.exchange_import_request(exchange=exchange, user=user)
    return services.exchange_finish_ack(exchange=exchange)


def _checkauth(request, call: dict) -> Answer:
    credentials = basic_credentials(request)
    if credentials is None:
        return failure("нужна авторизация HTTP Basic: имя и пароль пользователя обмена", status=401,
                       headers={"WWW-Authenticate": 'Basic realm="1C exchange", charset="UTF-8"'})
    username, password = credentials
    call["user"] = username or "-"
    address = call["address"]
    wait = login_retry_after(username=username, address=address)
    if wait:
        return failure(f"слишком много неудачных попыток входа; повторите через {(wait + 59) // 60} мин",
                       status=429, headers={"Retry-After": str(wait)})
    user = authenticate(request, username=username, password=password)
    if user is None:
        login_failure_record(username=username, address=address)
        return failure("неверное имя пользователя или пароль")
    if not user_may_exchange(user):
        login_failure_record(username=username, address=address)
        return failure(f"у пользователя «{username}» нет права на импорт каталога (products.run_catalog_import)")
    login_failures_clear(username=username, address=address)
    return success(COOKIE_NAME, auth_token_issue(user=user))


def _log(request, call: dict, answer: Answer, seconds: float) -> None:
    # The checkauth answer carries the cookie value: only failure/progress details are logged.
    detail = f": {answer.detail}" if answer.word in ("failure", "progress") else ""
    filename = request.GET.get("filename")
    size = f" {call['bytes']} B" if "bytes" in call else ""
    logger.log(logging.WARNING if answer.word == "failure" else logging.INFO,
               "1C exchange %s %s type=%r mode=%r%s%s user=%r -> %s%s (HTTP %s, %.0f ms)",
               call["address"], request.method, request.GET.get("type", "")[:40], request.GET.get("mode", "")[:40],
               f" filename={filename[:300]!r}" if filename else "", size, call["user"], answer.word, detail,
               answer.status, seconds * 1000)
