import atexit
import os
import shutil
import tempfile
from pathlib import Path

from freesport.embedded_redis import embedded_redis_url, stop_embedded_redis

if not os.environ.get("REDIS_URL"):
    # A private embedded Redis per test run: the import lock is global, so sharing the dev server's
    # Redis would make tests fail while an import runs there (or another test run holds the lock).
    # Exported before ``base`` reads it (so base starts no shared server) and for the processes the
    # tests start, which must use the same server.
    _run_dir = Path(tempfile.gettempdir()) / f"freesport-test-redis-{os.getpid()}"
    os.environ["REDIS_URL"] = embedded_redis_url(_run_dir)

    @atexit.register
    def _stop_private_redis() -> None:
        stop_embedded_redis(_run_dir)
        shutil.rmtree(_run_dir, ignore_errors=True)


from .base import *  # noqa: E402,F401,F403
from .base import DATABASES  # noqa: E402

# Pictures the tests import land in a private folder, never in the repo's var/media.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="freesport-test-media-"))
atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users in tests

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not Django's shared in-memory DB: tests read an import's progress from a second
    # connection while it runs, which needs WAL, which needs a file.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"freesport-test-{os.getpid()}.sqlite3"),
    }
