"""``check --deploy`` warns when the import lock's Redis is not configured or cannot be reached."""
from __future__ import annotations

import os
import subprocess
import sys

from django.core import checks

from apps.products.checks import LOCK_REDIS_UNCONFIGURED, LOCK_REDIS_UNREACHABLE, check_import_lock_redis
from tests.conftest import REPO_ROOT

DEAD = "redis://ops:s3cret-pass@127.0.0.1:1/0"  # nothing listens on port 1


def with_location(settings, url, embedded=False):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}
    settings.REDIS_EMBEDDED = embedded


def test_a_reachable_redis_passes(settings):
    assert check_import_lock_redis() == []


def test_an_unreachable_redis_is_a_warning_naming_the_host_and_never_the_password(settings):
    with_location(settings, DEAD)
    (warning,) = check_import_lock_redis()
    assert isinstance(warning, checks.Warning) and warning.id == LOCK_REDIS_UNREACHABLE
    text = f"{warning.msg} {warning.hint}"
    assert "Redis" in text and "127.0.0.1:1" in text
    assert "s3cret" not in text and "ops" not in text


def test_the_embedded_development_redis_is_reported_as_not_configured(settings):
    with_location(settings, "unix:///tmp/x/redis.sock?db=0", embedded=True)
    (warning,) = check_import_lock_redis()
    assert warning.id == LOCK_REDIS_UNCONFIGURED and "REDIS_URL" in warning.msg


def test_check_deploy_under_production_settings_shows_it(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "freesport.settings.prod", "SECRET_KEY": "k" * 60,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": DEAD}
    done = subprocess.run([sys.executable, str(REPO_ROOT / "backend" / "manage.py"), "check", "--deploy"],
                          env=env, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert LOCK_REDIS_UNREACHABLE in output and "127.0.0.1:1" in output
    assert "s3cret" not in output
    plain = subprocess.run([sys.executable, str(REPO_ROOT / "backend" / "manage.py"), "check"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert LOCK_REDIS_UNREACHABLE not in plain.stdout + plain.stderr  # a deploy check only
