"""Real worker processes for the queue tests: ``import_worker`` started as its own process, on this
test run's database and Redis, plus helpers that wait on conditions with deadlines.

The workers write to the database from another process, so these tests use ``transactional_db``
(committed data, visible across processes). The Redis is the test run's own (the embedded one, or
REDIS_URL); the queue's keys and the lock are cleared around each test.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from django.db import connection
from django_redis import get_redis_connection

from apps.products.locking import LOCK_KEY

WORKER_MAIN = Path(__file__).with_name("worker_main.py")
DEADLINE = 60  # s: a generous bound for anything a test waits for on a busy 2-core machine


def wait_for(predicate, *, timeout: float = DEADLINE, what: str = "the condition"):
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)  # polling interval, not synchronisation: the deadline above decides


def _database_url() -> str:
    """This run's test database, as the URL a worker process's settings read."""
    sd = connection.settings_dict
    if sd["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{sd['NAME']}"
    auth = sd["USER"] + (f":{sd['PASSWORD']}" if sd.get("PASSWORD") else "")
    return f"postgres://{auth}@{sd['HOST'] or '127.0.0.1'}:{sd['PORT'] or 5432}/{sd['NAME']}"


def _clear_queue_state(redis) -> None:
    keys = list(redis.scan_iter("rq:*")) + list(redis.scan_iter("queue-test:*")) + [LOCK_KEY]
    redis.delete(*keys)


@pytest.fixture
def redis_conn():
    return get_redis_connection("default")


@pytest.fixture(autouse=True)
def clean_queue(redis_conn):
    _clear_queue_state(redis_conn)
    yield
    _clear_queue_state(redis_conn)


class Workers:
    """Starts ``import_worker`` processes and takes them (and their job processes) down at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, *, burst: bool = False, wait_registered: bool = True, **knobs: str) -> str:
        name = f"test-worker-{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "freesport.settings.test",
               **{f"QUEUE_TEST_{k.upper()}": str(v) for k, v in knobs.items()}}
        log = open(self.log_dir / f"{name}.log", "wb")
        args = [sys.executable, str(WORKER_MAIN), "--name", name] + (["--burst"] if burst else [])
        self.procs[name] = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        log.close()
        if wait_registered and not burst:
            wait_for(lambda: name in self.registered(), what=f"worker {name} to register with RQ")
        return name

    @staticmethod
    def registered() -> set[str]:
        from apps.products.import_queue import import_queue_workers

        return {w.name for w in import_queue_workers()}

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def job_processes(self, name: str) -> list[psutil.Process]:
        """The worker's work horse(s): children of the worker running a job."""
        return psutil.Process(self.procs[name].pid).children()

    def kill(self, name: str, *, tree: bool = True) -> None:
        """SIGKILL the worker (and, with ``tree``, every process under it: machine gone)."""
        proc = psutil.Process(self.procs[name].pid)
        victims = ([proc] + proc.children(recursive=True)) if tree else [proc]
        for p in victims:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        self.procs[name].wait(30)

    def wait_exit(self, name: str, timeout: float = DEADLINE) -> int:
        return self.procs[name].wait(timeout)

    def stop_all(self) -> None:
        for name, popen in self.procs.items():
            if popen.poll() is None:
                self.kill(name)


@pytest.fixture
def workers(transactional_db, tmp_path):
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()
    for name in pool.procs:  # pytest shows this only when the test failed
        print(f"--- log of {name} ---\n{pool.log(name)}")
