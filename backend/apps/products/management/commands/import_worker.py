"""``import_worker`` — a worker of the import queue (``IMPORT_RUNNER=queue``): RQ's own worker,
through ``import_queue.import_worker_run``. Run one or more under systemd/supervisor (docs/operations.md)."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError

from apps.products.import_queue import import_worker_run


class Command(BaseCommand):
    help = ("Run a worker of the catalog import queue (IMPORT_RUNNER=queue). SIGTERM or Ctrl-C lets the "
            "current import finish, then exits; a second one stops it at once.")

    def add_arguments(self, parser):
        parser.add_argument("--burst", action="store_true", help="process what is queued, then exit")
        parser.add_argument("--name", help="worker name in RQ's registry (default: a random one)")

    def handle(self, *args, burst=False, name=None, verbosity=1, **options):
        level = {0: "WARNING", 1: "INFO"}.get(verbosity, "DEBUG")
        try:
            import_worker_run(burst=burst, name=name, logging_level=level)
        except RedisError as exc:
            raise CommandError(f"Очередь импорта недоступна: Redis ({exc.__class__.__name__}: {exc})") from None
