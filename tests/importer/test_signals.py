"""A CLI import stopped with SIGTERM (systemd, docker stop) must end like Ctrl-C: its session
failed at once and the Redis lock released — not "running" with the lock held until the stale check."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import redis

from apps.products.locking import LOCK_KEY
from apps.products.onec.synthetic import write_package

REPO_ROOT = Path(__file__).resolve().parents[2]


def _running_session(db_path) -> tuple | None:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT status, processed_items FROM products_importsession").fetchone()


def test_sigterm_fails_the_session_and_frees_the_lock(tmp_path):
    package = tmp_path / "package"
    write_package(package, products=4000)
    db_path = tmp_path / "cli.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "DJANGO_SETTINGS_MODULE": "freesport.settings.test"}
    manage = [sys.executable, str(REPO_ROOT / "backend" / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, check=True, timeout=120)

    proc = subprocess.Popen([*manage, "import_catalog_from_1c", "--data-dir", str(package)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while (row := _running_session(db_path)) is None or row[1] == 0:  # until a batch is committed
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the import never got going"
            time.sleep(0.02)  # polling another process's database for a condition
        assert row[0] == "running"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()

    assert proc.returncode == 128 + signal.SIGTERM, err
    with sqlite3.connect(db_path) as conn:
        status, message, processed, total = conn.execute(
            "SELECT status, error_message, processed_items, total_items FROM products_importsession").fetchone()
    assert status == "failed" and message.startswith("прервано") and "SystemExit" in message
    assert 0 < processed < total
    assert redis.Redis.from_url(os.environ["REDIS_URL"]).get(LOCK_KEY) is None
