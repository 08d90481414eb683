"""``import_catalog_from_1c``'s interface for programmatic callers: who/where options, outcome types."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_redis import get_redis_connection

from apps.products.locking import LOCK_KEY
from apps.products.management.commands.import_catalog_from_1c import (
    ImportLockTakenError, ImportLockUnavailableError, ImportSessionFailedError,
)
from apps.products.models import ImportSession
from apps.products.onec.synthetic import write_package

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def free_lock():
    redis = get_redis_connection("default")
    redis.delete(LOCK_KEY)
    yield redis
    redis.delete(LOCK_KEY)


@pytest.fixture
def package(tmp_path):
    write_package(tmp_path / "pkg", products=2, offers_per_product=1)
    return str(tmp_path / "pkg")


def run(*args):
    out = StringIO()
    result = call_command("import_catalog_from_1c", *args, stdout=out, stderr=StringIO())
    return result, out.getvalue()


def test_a_plain_cli_run_records_source_cli_and_returns_the_session_id(package):
    session_id, output = run("--data-dir", package)
    session = ImportSession.objects.get()
    assert session_id == str(session.session_id)
    assert (session.source, session.triggered_by, session.status) == ("cli", None, ImportSession.Status.COMPLETED)
    assert output.rstrip().endswith(session_id)


def test_source_and_triggered_by_are_recorded(package, django_user_model):
    user = django_user_model.objects.create_user("ops", "ops@example.com", "pw")
    run("--data-dir", package, "--source", "admin", "--triggered-by", str(user.pk))
    session = ImportSession.objects.get()
    assert (session.source, session.triggered_by) == ("admin", user)


@pytest.mark.parametrize("args, error", [
    (("--source", "cron"), "--source: неизвестный источник 'cron'"),
    (("--triggered-by", "999999"), "--triggered-by: нет пользователя с pk '999999'"),
    (("--triggered-by", "abc"), "--triggered-by: нет пользователя с pk 'abc'"),
])
def test_bad_internal_options_are_refused_before_anything_starts(package, args, error):
    with pytest.raises(CommandError, match=error):
        run("--data-dir", package, *args)
    assert not ImportSession.objects.exists()


def test_lock_taken_raises_its_own_error(package, free_lock):
    free_lock.set(LOCK_KEY, "someone", ex=60)
    with pytest.raises(ImportLockTakenError):
        run("--data-dir", package)
    assert not ImportSession.objects.exists()


def test_redis_down_raises_its_own_error(package, settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    with pytest.raises(ImportLockUnavailableError, match="Redis недоступен"):
        run("--data-dir", package)
    assert not ImportSession.objects.exists()


def test_a_failed_import_raises_its_own_error_naming_the_session(tmp_path):
    with pytest.raises(ImportSessionFailedError) as caught:
        run("--data-dir", str(tmp_path / "missing"))
    session = ImportSession.objects.get()
    assert session.status == ImportSession.Status.FAILED
    assert caught.value.session_id == session.session_id
    assert str(caught.value) == f"Импорт не выполнен: {session.error_message.splitlines()[0]}"


def test_the_three_outcomes_are_command_errors(tmp_path):
    # A cron job or the shell sees exit status 1 and the one-line reason, as for any CommandError.
    for error in (ImportLockTakenError, ImportLockUnavailableError, ImportSessionFailedError):
        assert issubclass(error, CommandError)
