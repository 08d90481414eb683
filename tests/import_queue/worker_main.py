"""Runs ``manage.py import_worker`` for the queue tests, as a real separate process.

The test gives it its database and Redis through the environment (``DATABASE_URL``, ``REDIS_URL``)
and, for some tests, these knobs — applied in this process only, never in the product:

- ``QUEUE_TEST_BIG=1``: every package counts as big, so the pre-scan and the reader run in their
  own processes inside the worker's job process (as a 64 MB+ package would);
- ``QUEUE_TEST_BATCH_SIZE=N``: smaller batches, so a small package is many batches;
- ``QUEUE_TEST_HOLD=<redis key>``: once a committed batch brings it to ``QUEUE_TEST_HOLD_AFTER``
  items (default 1), the import waits until the test pushes to that Redis list (a gate: "it is
  running now, between two batches"), at most 60 s; the worker's later imports are not held.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


def _apply_knobs() -> None:
    from apps.products.onec import pipeline, readahead, safexml
    from apps.products.services import catalog_import

    if os.environ.get("QUEUE_TEST_BIG"):
        safexml.PARALLEL_PRESCAN_BYTES = 0
        readahead.PROCESS_READER_BYTES = 0
    if batch := os.environ.get("QUEUE_TEST_BATCH_SIZE"):
        pipeline.BATCH_SIZE = int(batch)
    if hold := os.environ.get("QUEUE_TEST_HOLD"):
        import redis
        from django.conf import settings

        original = catalog_import.import_session_progress

        def progress_then_hold(session, result):
            gate = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=None)  # BLPOP may wait long
            # Claimed before the progress is written: whoever sees that progress finds the gate taken.
            hold_here = (result.processed >= int(os.environ.get("QUEUE_TEST_HOLD_AFTER", 1))
                         and gate.set(f"{hold}:held", 1, nx=True))  # the first import of this worker only
            original(session, result)
            if hold_here:
                gate.blpop([hold], timeout=60)

        catalog_import.import_session_progress = progress_then_hold


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "backend"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "freesport.settings.test")
    import django

    django.setup()
    _apply_knobs()
    from django.core.management import call_command

    call_command("import_worker", *sys.argv[1:])


if __name__ == "__main__":  # the pre-scan's "spawn" workers import this file again: do nothing there
    main()
