#!/usr/bin/env python
"""How the import sessions list and the session page answer with many sessions in the table.

Fills a throwaway database with N sessions (each carrying 100 stored errors and full stats, as real
ones do), then times the admin pages through Django's test client (the full middleware and
template stack, no network) and counts their SQL queries. See benchmarks/README.md.

    .venv/bin/python benchmarks/bench_admin_list.py --sessions 100,10000 [--repeat 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/freesport_bench_admin"


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: the database name must contain 'bench'")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", default="100,10000", help="comma-separated table sizes")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgres"):
        recreate_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "freesport.settings.test")  # a private Redis
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from apps.products.models import ImportSession

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "pw")
    client = Client()
    client.force_login(user)
    errors = [{"onec_id": f"{i:08x}-0000-4000-8000-000000000000#1", "file": "prices/prices_1.xml",
               "message": "цена: неизвестный тип цены"} for i in range(100)]
    stats = {"layout": "ut11", "error_count": 100, "prescan_seconds": 1.2, "read_write_seconds": 60.0,
             "total_seconds": 61.2, **{entity: {"created": 10, "updated": 5, "unchanged": 1000}
                                       for entity in ("categories", "products", "offers", "prices", "stocks")}}
    statuses = [ImportSession.Status.COMPLETED] * 8 + [ImportSession.Status.FAILED] * 2
    print(f"database: {connection.vendor}; each session stores {len(errors)} errors")
    print("| sessions | page | median ms | queries |")
    print("|---:|---|---:|---:|")
    have = 0
    for size in [int(n) for n in args.sessions.split(",")]:
        now = timezone.now()
        ImportSession.objects.bulk_create(
            [ImportSession(status=statuses[i % 10], source="cli", triggered_by=user if i % 3 else None,
                           started_at=now - timezone.timedelta(minutes=i), finished_at=now, heartbeat_at=now,
                           total_items=12_000, processed_items=12_000, failed_items=100, errors=errors, stats=stats)
             for i in range(have, size)], batch_size=500)
        have = max(have, size)
        sample = ImportSession.objects.order_by("-started_at").first()
        pages = {
            "list": "/admin/products/importsession/",
            "list: status filter": "/admin/products/importsession/?status=failed",
            "list: search": f"/admin/products/importsession/?q={sample.short_id}",
            "list: last page": f"/admin/products/importsession/?p={max(0, (size - 1) // 100)}",
            "session page": f"/admin/products/importsession/{sample.pk}/change/",
        }
        for label, path in pages.items():
            timings = []
            for _ in range(args.repeat):
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    response = client.get(path)
                    timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            print(f"| {size:,} | {label} | {statistics.median(timings):.0f} | {len(queries)} |".replace(",", " "))


if __name__ == "__main__":
    main()
