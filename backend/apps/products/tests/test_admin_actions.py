"""``ImportSessionAdmin.trigger_catalog_import`` with ``call_command`` mocked: the call, the messages, who may."""
from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.sites import AdminSite
from django.contrib.auth.models import Permission
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from apps.products.admin import ImportSessionAdmin
from apps.products.management.commands.import_catalog_from_1c import (
    ImportLockTakenError, ImportLockUnavailableError, ImportSessionFailedError,
)
from apps.products.models import ImportSession

pytestmark = pytest.mark.django_db

Status = ImportSession.Status


@pytest.fixture
def model_admin():
    return ImportSessionAdmin(ImportSession, AdminSite())


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def make_request():
    def make(user):
        request = RequestFactory().post("/admin/products/importsession/")
        request.user = user
        request.session = SessionStore()
        request._messages = FallbackStorage(request)
        return request

    return make


@pytest.fixture
def call_command(mocker):
    return mocker.patch("apps.products.admin.call_command")


def run_action(model_admin, request) -> list[messages.storage.base.Message]:
    model_admin.trigger_catalog_import(request, ImportSession.objects.none())
    return list(messages.get_messages(request))


def the_message(model_admin, request) -> messages.storage.base.Message:
    (message,) = run_action(model_admin, request)
    # Jazzmin shows a message only when its tags are exactly a level: no extra_tags.
    assert message.extra_tags == "" and message.tags == message.level_tag
    return message


def test_success_runs_the_command_for_the_user_from_the_admin(model_admin, make_request, superuser, call_command):
    session = ImportSession.objects.create(
        status=Status.COMPLETED, source="admin", triggered_by=superuser, total_items=40, processed_items=40,
        failed_items=2,
        stats={"products": {"created": 5, "unchanged": 3}, "offers": {"created": 10, "updated": 4, "deactivated": 1}},
    )
    call_command.return_value = str(session.session_id)

    message = the_message(model_admin, make_request(superuser))

    call_command.assert_called_once()
    args = call_command.call_args.args
    assert args == ("import_catalog_from_1c", "--data-dir", str(settings.ONEC_DATA_DIR),
                    "--source", "admin", "--triggered-by", str(superuser.pk))
    assert message.level == messages.SUCCESS
    assert message.message == (
        "✅ Импорт завершён: обработано 40 из 40, с ошибками 2; товары: создано 5, обновлено 0, без изменений 3; "
        "предложения: создано 10, обновлено 4, деактивировано 1."
    )


def test_success_carries_the_sessions_note(model_admin, make_request, superuser, call_command):
    session = ImportSession.objects.create(
        status=Status.COMPLETED, total_items=7, processed_items=7, stats={"products": {"unchanged": 2}},
        error_message="пакет не изменился с импорта 01.12.2026 10:00 (сессия x) — данные не перечитывались",
    )
    call_command.return_value = str(session.session_id)

    message = the_message(model_admin, make_request(superuser))

    assert message.level == messages.SUCCESS
    assert message.message == (
        "✅ Импорт завершён: обработано 7 из 7, с ошибками 0; товары: создано 0, обновлено 0, без изменений 2; "
        "предложения: создано 0, обновлено 0. Пакет не изменился с импорта 01.12.2026 10:00 (сессия x) — "
        "данные не перечитывались."
    )


def test_lock_taken_is_a_warning(model_admin, make_request, superuser, call_command):
    call_command.side_effect = ImportLockTakenError("Импорт уже запущен другим процессом")

    message = the_message(model_admin, make_request(superuser))

    assert message.level == messages.WARNING
    assert message.message == "⚠️ Импорт уже запущен! Дождитесь завершения текущего импорта."


def test_redis_down_is_an_error_with_the_reason(model_admin, make_request, superuser, call_command):
    call_command.side_effect = ImportLockUnavailableError("Нельзя запустить импорт: Redis недоступен (ConnectionError)")

    message = the_message(model_admin, make_request(superuser))

    assert message.level == messages.ERROR
    assert message.message == "❌ Нельзя запустить импорт: Redis недоступен (ConnectionError)"


def test_failed_import_is_an_error_naming_the_reason_and_session(model_admin, make_request, superuser,
                                                                 call_command):
    call_command.side_effect = ImportSessionFailedError("Импорт не выполнен: нет XML-файлов", session_id="abc-123")

    message = the_message(model_admin, make_request(superuser))

    assert message.level == messages.ERROR
    assert message.message == "❌ Импорт не выполнен: нет XML-файлов (сессия abc-123)."


def test_unexpected_exception_is_an_error_and_keeps_its_traceback_in_the_log(model_admin, make_request, superuser,
                                                                             call_command, caplog):
    call_command.side_effect = ZeroDivisionError("division by zero")

    with caplog.at_level(logging.ERROR, logger="apps.products.admin"):
        message = the_message(model_admin, make_request(superuser))

    assert message.level == messages.ERROR
    assert message.message == "❌ Ошибка импорта: ZeroDivisionError: division by zero"
    (record,) = caplog.records
    assert record.exc_info and record.exc_info[0] is ZeroDivisionError


def test_the_selection_does_not_change_what_is_imported(model_admin, make_request, superuser, call_command):
    ImportSession.objects.create(status=Status.COMPLETED)
    call_command.side_effect = ImportLockTakenError("")

    model_admin.trigger_catalog_import(make_request(superuser), ImportSession.objects.all())
    model_admin.trigger_catalog_import(make_request(superuser), ImportSession.objects.none())

    with_rows, without_rows = call_command.call_args_list
    assert with_rows.args == without_rows.args


# --- who sees the action ----------------------------------------------------------------------


def _staff(django_user_model, *codenames):
    user = django_user_model.objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="products", codename__in=codenames))
    return django_user_model.objects.get(pk=user.pk)  # fresh: no stale permission cache


def test_superusers_get_the_action(model_admin, make_request, superuser):
    request = make_request(superuser)
    assert model_admin.has_run_catalog_import_permission(request)
    assert "trigger_catalog_import" in model_admin.get_actions(request)


def test_staff_without_the_permission_do_not_get_the_action(model_admin, make_request, django_user_model):
    request = make_request(_staff(django_user_model, "view_importsession"))
    assert not model_admin.has_run_catalog_import_permission(request)
    assert "trigger_catalog_import" not in model_admin.get_actions(request)


def test_staff_granted_the_permission_get_the_action(model_admin, make_request, django_user_model):
    request = make_request(_staff(django_user_model, "view_importsession", "run_catalog_import"))
    assert model_admin.has_run_catalog_import_permission(request)
    assert "trigger_catalog_import" in model_admin.get_actions(request)


def test_the_permission_is_the_custom_one():
    permission = Permission.objects.get(content_type__app_label="products", codename="run_catalog_import")
    assert permission.name == "Can run 1C catalog import"
