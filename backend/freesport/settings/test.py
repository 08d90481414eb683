import atexit
import os
import tempfile
from pathlib import Path

from freesport.embedded_redis import embedded_redis_url, stop_embedded_redis

from .base import *  # noqa: F401,F403
from .base import CACHES, DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users in tests

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not Django's shared in-memory DB: tests read an import's progress from a second
    # connection while it runs, which needs WAL, which needs a file.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"freesport-test-{os.getpid()}.sqlite3"),
    }

if not os.environ.get("REDIS_URL"):
    # A private embedded Redis per test run: the import lock is global, so sharing the dev server's
    # Redis would make tests fail while an import runs there (or another test run holds the lock).
    # Exported so that processes the tests start use the same server.
    _run_dir = Path(tempfile.gettempdir()) / f"freesport-test-redis-{os.getpid()}"
    REDIS_URL = os.environ["REDIS_URL"] = embedded_redis_url(_run_dir)
    CACHES["default"]["LOCATION"] = REDIS_URL
    atexit.register(stop_embedded_redis, _run_dir)
