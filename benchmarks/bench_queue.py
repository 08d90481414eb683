"""Latencies of queued imports (IMPORT_RUNNER=queue): enqueue → a worker starts it, and cancel → it stops.

Starts one ``manage.py import_worker`` of its own on the database and Redis the environment names
(``DATABASE_URL``, ``REDIS_URL``) and measures, from the sessions' own timestamps (one clock, the
database's writers):

- **start**: ``started_at - queued_at`` of an import queued while the worker is idle;
- **cancel (batches)**: ``finished_at - cancel_requested_at`` of an import cancelled while it writes;
- **cancel (pre-scan)**: the same, cancelled during the pre-scan of a package big enough (≥ 64 MB)
  to be pre-scanned in worker processes.

It generates its packages under ``benchmarks/out/queue/``, migrates the database and WRITES THE
CATALOG into it: point it at a scratch database and say so with ``--scratch``.

    DATABASE_URL=postgres://…/scratch REDIS_URL=redis://…/15 \\
        .venv/bin/python benchmarks/bench_queue.py --scratch --repeat 5
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MANAGE = REPO / "backend" / "manage.py"
OUT = REPO / "benchmarks" / "out" / "queue"


def wait(predicate, timeout=600, what="condition"):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scratch", action="store_true", help="confirm the database may be written to")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--products", type=int, default=3000, help="package cancelled while it writes")
    parser.add_argument("--big-products", type=int, default=20000, help="package cancelled in its pre-scan")
    args = parser.parse_args()
    if not args.scratch:
        parser.error("this writes the catalog into DATABASE_URL's database: pass --scratch to confirm")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "freesport.settings.dev")
    os.environ["DEBUG"] = "0"
    sys.path.insert(0, str(REPO / "backend"))
    import django

    django.setup()
    from django.core.management import call_command

    from apps.products.import_queue import import_queue_workers
    from apps.products.locking import import_lock_holder
    from apps.products.models import ImportSession
    from apps.products.onec.synthetic import write_package
    from apps.products.services.catalog_import import catalog_import_cancel, catalog_import_enqueue

    if import_lock_holder():
        raise SystemExit("the import lock is taken: another import runs on this Redis")
    call_command("migrate", verbosity=0)
    packages = {}
    for key, products in (("small", 50), ("writes", args.products), ("big", args.big_products)):
        packages[key] = OUT / f"{products}"
        if not (packages[key] / "goods").exists():
            write_package(packages[key], products=products)

    worker = subprocess.Popen([sys.executable, str(MANAGE), "import_worker", "--name", f"bench-{os.getpid()}",
                               "--verbosity", "0"], env=os.environ.copy())
    try:
        wait(lambda: any(w.name == f"bench-{os.getpid()}" for w in import_queue_workers()), what="the worker")

        def finished(session):
            session.refresh_from_db()
            return session if session.status in ImportSession.FINISHED_STATUSES else None

        starts, cancels, prescan_cancels = [], [], []
        for _ in range(args.repeat):
            s = catalog_import_enqueue(data_dir=packages["small"], force=True)
            wait(lambda: finished(s), what="a small import")
            starts.append((s.started_at - s.queued_at).total_seconds())

            s = catalog_import_enqueue(data_dir=packages["writes"], force=True)
            wait(lambda: (s.refresh_from_db() or s.processed_items > s.total_items // 3), what="writes")
            catalog_import_cancel(session=s)
            wait(lambda: finished(s), what="the cancelled import")
            assert s.status == ImportSession.Status.CANCELLED, s.error_message
            cancels.append((s.finished_at - s.cancel_requested_at).total_seconds())

            s = catalog_import_enqueue(data_dir=packages["big"], force=True)
            wait(lambda: (s.refresh_from_db() or s.status == ImportSession.Status.RUNNING), what="the big import")
            time.sleep(1.0)  # well inside its pre-scan (several seconds at this size): not synchronisation
            s.refresh_from_db()
            assert s.total_items == 0, "the pre-scan ended before the cancel: use a bigger --big-products"
            catalog_import_cancel(session=s)
            wait(lambda: finished(s), what="the cancelled big import")
            assert s.status == ImportSession.Status.CANCELLED, s.error_message
            prescan_cancels.append((s.finished_at - s.cancel_requested_at).total_seconds())

        def row(name, values):
            print(f"| {name} | {statistics.median(values) * 1000:.0f} | {min(values) * 1000:.0f}–"
                  f"{max(values) * 1000:.0f} | {len(values)} |")

        print("\n| measured | median ms | range ms | runs |\n|---|---|---|---|")
        row("queued → started (idle worker)", starts)
        row(f"cancel → stopped, while writing ({args.products} products)", cancels)
        row(f"cancel → stopped, in the pre-scan ({args.big_products} products)", prescan_cancels)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(120)


if __name__ == "__main__":
    main()
