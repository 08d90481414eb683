#!/usr/bin/env python
"""Screenshots for the admin guide (docs/admin-guide/), taken of the real admin.

Seeds a demo state in a throwaway SQLite database with its own embedded Redis (completed, running
with progress and a held lock, pending and failed imports, per-item errors, a history), serves the
admin with ``runserver`` and drives Debian's Chromium through Playwright, cropping each picture to
what its step is about. Nothing outside the temporary folder is touched.

    scripts/admin_guide_screenshots.sh            # writes docs/admin-guide/img/*.png
    .venv/bin/python scripts/admin_guide_screenshots.py --out /tmp/shots

Emoji in messages need Debian's fonts-noto-color-emoji where the pictures are made.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANAGE = ROOT / "backend" / "manage.py"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1366, "height": 800}
ADMIN, VIEWER, PASSWORD = "admin", "support", "guide-demo-123"
RUNNING_TOKEN = "demo-running-import"
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there: "Redis unavailable"

# Every picture the generator makes; the guide references each (a test checks both ways).
SHOTS = (
    "01-dashboard.png", "02-card-running.png", "03-sessions-list.png", "04-progress.png", "05-status-filter.png",
    "06-start-success.png", "07-already-running.png", "08-session-failed.png", "09-session-errors.png",
    "10-session-results.png", "11-stale-lock.png", "12-redis-down.png", "13-no-permission.png",
    "14-start-failed.png", "15-cancel-running.png", "16-exchange-session.png", "17-exchanges-list.png",
    "18-queued.png", "19-no-worker.png", "20-cancelled.png", "21-catalog-pictures.png",
)
EXCHANGE_USER = "1c-exchange"


# --- the demo state (runs in a child process with Django set up) -----------------------------

def seed() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.core.management import call_command
    from django.utils import timezone
    from django_redis import get_redis_connection

    from apps.products.locking import LOCK_KEY
    from apps.products.models import ImportSession
    from apps.products.onec.synthetic import write_package

    S = ImportSession.Status
    User = get_user_model()
    admin = User.objects.create_superuser(ADMIN, "admin@example.com", PASSWORD)
    viewer = User.objects.create_user(VIEWER, "support@example.com", PASSWORD, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_importsession"))
    operator = User.objects.create_user("operator", "operator@example.com", PASSWORD, is_staff=True)
    exchange = User.objects.create_user(EXCHANGE_USER, "1c@example.com", PASSWORD)  # 1C's own login, not staff
    exchange.user_permissions.add(Permission.objects.get(codename="run_catalog_import"))

    write_package(Path(settings.ONEC_DATA_DIR), products=300, pictures=True)  # pictures: copied to MEDIA_ROOT
    call_command("import_catalog_from_1c", "--source", "cli", stdout=open(os.devnull, "w"))  # real stats
    now = timezone.now()
    real = ImportSession.objects.get()
    ImportSession.objects.filter(pk=real.pk).update(
        started_at=now - dt.timedelta(hours=3), finished_at=now - dt.timedelta(hours=3) + (real.finished_at - real.started_at))

    # History for the chart: a few days of scheduled imports, two with per-item errors.
    for days, (seconds, failed) in enumerate([(64, 0), (71, 0), (58, 0), (66, 3), (69, 0), (75, 0), (62, 0),
                                              (188, 0), (67, 0), (70, 12), (65, 0)], start=1):
        started = now - dt.timedelta(days=days, hours=2)
        ImportSession.objects.create(
            status=S.COMPLETED, source="cli", started_at=started, finished_at=started + dt.timedelta(seconds=seconds),
            total_items=33_350, processed_items=33_350, failed_items=failed, heartbeat_at=started,
            stats={"layout": "ut11", "error_count": failed})

    errors = [{"onec_id": f"5c0d3a1e-77b2-4f0e-9d51-0a3c{i:08x}#{i % 4 + 1}", "file": "prices/prices_1_1.xml",
               "message": "цена: неизвестный тип цены 'b2c8e0e4-7a4e-11ee-9b3c-0050569b5d21'"} for i in range(57)]
    errors[3]["message"] = "остаток: неизвестный склад 'c1f0a7d2-5e43-11ee-8c99-0242ac120002'"
    errors[8] = {"onec_id": "9a1f2e3d-4c5b-4a69-8e7f-0123456789ab", "file": "goods/goods_1_1.xml",
                 "message": "цена: некорректное число '1 2OO,00'"}
    started = now - dt.timedelta(minutes=50)
    ImportSession.objects.create(
        status=S.FAILED, source="admin", triggered_by=operator, data_dir=str(settings.ONEC_DATA_DIR),
        started_at=started, finished_at=started + dt.timedelta(seconds=41), heartbeat_at=started,
        total_items=33_350, processed_items=14_000, failed_items=57, errors=errors,
        error_message="rests/rests_1_1.xml: повреждённый или неполный XML (строка 18203, столбец 9): "
                      "Premature end of data in tag Остаток",
        stats={"layout": "ut11", "error_count": 57, "prescan_seconds": 1.1, "read_write_seconds": 39.6,
               "total_seconds": 40.7, "categories": {"unchanged": 6}, "products": {"unchanged": 300},
               "offers": {"updated": 412, "unchanged": 488, "failed": 57}, "prices": {"updated": 1200}})

    # A pending import (a queued run waiting for its turn) and the running one holding the lock.
    ImportSession.objects.create(status=S.PENDING, source="dashboard", triggered_by=viewer,
                                 started_at=now - dt.timedelta(seconds=5), heartbeat_at=now)
    ImportSession.objects.create(
        status=S.RUNNING, source="admin", triggered_by=admin, data_dir=str(settings.ONEC_DATA_DIR),
        started_at=now - dt.timedelta(seconds=24), writing_started_at=now - dt.timedelta(seconds=21),
        heartbeat_at=now, total_items=120_000, processed_items=50_400, failed_items=12, lock_token=RUNNING_TOKEN)
    get_redis_connection("default").set(LOCK_KEY, RUNNING_TOKEN, ex=3600)


# --- the browser ---------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(env: dict, log: Path):
    port = _free_port()
    with open(log, "a") as out:
        proc = subprocess.Popen([sys.executable, str(MANAGE), "runserver", "--noreload", f"127.0.0.1:{port}"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/admin/login/", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the admin did not start; see {log}")
            time.sleep(0.2)  # polling a just-started server's port
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def exchange_as_1c(url: str, archive: bytes) -> None:
    """What 1C's "Обмен с сайтом" does: log in, send the package as a zip in chunks, ask to import it
    until the site says it is done."""
    import base64
    import urllib.parse

    auth = "Basic " + base64.b64encode(f"{EXCHANGE_USER}:{PASSWORD}".encode()).decode()
    cookie = {}

    def call(mode, body=None, **params):
        query = urllib.parse.urlencode({"type": "catalog", "mode": mode, **params})
        headers = {"Authorization": auth, **({"Cookie": "=".join(cookie["pair"])} if cookie else {})}
        request = urllib.request.Request(f"{url}/1c/exchange/?{query}", data=body, headers=headers,
                                         method="POST" if body is not None else "GET")
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read().decode("windows-1251").split("\n")

    word, *pair = call("checkauth")
    assert word == "success", pair
    cookie["pair"] = pair
    limit = int(dict(line.split("=", 1) for line in call("init"))["file_limit"])
    for start in range(0, len(archive), limit):
        assert call("file", archive[start:start + limit], filename="export.zip")[0] == "success"
    deadline = time.monotonic() + 120
    while (answer := call("import", filename="goods/goods.xml"))[0] == "progress":
        assert time.monotonic() < deadline, answer
    assert answer[0] == "success", answer


def shoot(target, path: Path, **kwargs) -> None:
    target.screenshot(path=str(path), animations="disabled", **kwargs)


def union_clip(page, *selectors, pad: int = 8) -> dict:
    boxes = [page.locator(selector).first.bounding_box() for selector in selectors]
    left, top = min(b["x"] for b in boxes) - pad, min(b["y"] for b in boxes) - pad
    right = max(b["x"] + b["width"] for b in boxes) + pad
    bottom = max(b["y"] + b["height"] for b in boxes) + pad
    return {"x": max(left, 0), "y": max(top, 0), "width": right - max(left, 0), "height": bottom - max(top, 0)}


def log_in(context, url: str, user: str):
    page = context.new_page()
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("[type=submit]")
    page.wait_for_selector("#jazzy-navbar")
    return page


def take(out: Path, work: Path, env: dict) -> None:
    import sqlite3

    from playwright.sync_api import sync_playwright

    db = sqlite3.connect(work / "db.sqlite3", isolation_level=None)
    package = Path(env["ONEC_DATA_DIR"])
    archive = Path(shutil.make_archive(str(work / "package"), "zip", package)).read_bytes()  # the good one, for later

    def sql(statement: str, *params) -> None:
        db.execute(statement, params)

    def beat() -> None:  # the seeded "running" import stays alive while it is photographed
        sql("UPDATE products_importsession SET heartbeat_at = ? WHERE status IN ('running', 'pending')",
            dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f"))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, locale="ru-RU", device_scale_factor=1)
        with serve(env, work / "server.log") as url:
            page = log_in(context, url, ADMIN)
            beat()
            page.goto(f"{url}/admin/")
            shoot(page, out / "01-dashboard.png")
            shoot(page.locator("#import-card"), out / "02-card-running.png")

            beat()
            page.goto(f"{url}/admin/products/importsession/")
            shoot(page, out / "03-sessions-list.png", clip=union_clip(page, "#change-list-filters", "#result_list"))
            shoot(page.locator("#result_list tr", has=page.locator(".import-status-running")),
                  out / "04-progress.png")
            page.locator("select.search-filter-icons + .select2-container").click()
            shoot(page, out / "05-status-filter.png",
                  clip=union_clip(page, "#changelist-search", ".select2-dropdown"))
            page.keyboard.press("Escape")

            page.get_by_role("button", name="Запустить импорт").click()  # the lock is held: refused
            page.wait_for_selector(".alert-warning")
            shoot(page, out / "07-already-running.png", clip=union_clip(page, ".alert-warning", "#run-catalog-import"))

            beat()
            page.locator("#result_list tr", has=page.locator(".import-status-running")) \
                .locator(".field-session_link a").click()
            with page.expect_navigation():
                page.locator("#import-cancel").click()
            page.wait_for_selector(".alert-info")
            shoot(page, out / "15-cancel-running.png", clip=union_clip(page, ".alert-info", "#import-session .card"))
            page.goto(f"{url}/admin/products/importsession/")

            failed = page.locator("#result_list tr", has=page.locator(".import-status-failed")).first
            failed.locator(".field-session_link a").click()
            page.wait_for_selector("#import-session")
            shoot(page, out / "08-session-failed.png", clip=union_clip(page, "#import-session .card", ".import-summary"))
            errors = page.locator("#import-errors").bounding_box()  # its head and first rows: enough to read
            shoot(page, out / "09-session-errors.png", full_page=True,
                  clip={**errors, "height": min(errors["height"], 470)})

            page.goto(f"{url}/admin/products/importsession/?status=completed")  # newest first: the real import
            page.locator("#result_list tbody .field-session_link a").first.click()
            page.wait_for_selector("#import-session")
            shoot(page, out / "10-session-results.png", full_page=True,
                  clip=union_clip(page, "#import-results", "#import-timings"))

            page.goto(f"{url}/admin/products/product/")  # thumbnails served from the copies in storage
            page.wait_for_function("[...document.querySelectorAll('#result_list img')].slice(0, 4)"
                                   ".every(img => img.complete && img.naturalWidth > 0)")
            shoot(page, out / "21-catalog-pictures.png",
                  clip=union_clip(page, "#result_list thead", *(f"#result_list tbody tr:nth-child({i})" for i in (1, 2, 3, 4))))

            # The running import's process dies: no heartbeat for minutes.
            sql("UPDATE products_importsession SET heartbeat_at = ? WHERE status = 'running'",
                (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)).strftime("%Y-%m-%d %H:%M:%S.%f"))
            sql("DELETE FROM products_importsession WHERE status = 'pending'")
            page.goto(f"{url}/admin/")
            shoot(page.locator("#import-card"), out / "11-stale-lock.png")

            with page.expect_navigation():
                page.locator("#import-card").get_by_role("button", name="Запустить импорт").click()
            page.wait_for_selector(".alert-success")
            shoot(page, out / "06-start-success.png", clip=union_clip(page, ".alert-success", "#import-card"))

            exchange_as_1c(url, archive)
            page.goto(f"{url}/admin/products/importsession/?source=exchange")
            page.locator("#result_list tbody .field-session_link a").first.click()
            page.wait_for_selector("#import-exchange")
            exchange_card = page.locator("#import-exchange").bounding_box()
            shoot(page, out / "16-exchange-session.png", full_page=True,
                  clip={**exchange_card, "height": min(exchange_card["height"], 560)})
            page.goto(f"{url}/admin/onec_exchange/exchange/")
            shoot(page, out / "17-exchanges-list.png", clip=union_clip(page, "#result_list"))

            goods = next((package / "goods").rglob("*.xml"))
            goods.write_bytes(goods.read_bytes()[: goods.stat().st_size // 2])  # an upload cut in the middle
            page.goto(f"{url}/admin/")
            with page.expect_navigation():
                page.locator("#import-card").get_by_role("button", name="Запустить импорт").click()
            page.wait_for_selector(".alert-danger")
            shoot(page, out / "14-start-failed.png", clip=union_clip(page, ".alert-danger", "#import-card .card-header"))

            viewer = log_in(browser.new_context(viewport=VIEWPORT, locale="ru-RU"), url, VIEWER)
            shoot(viewer.locator("#import-card"), out / "13-no-permission.png")

        with serve({**env, "REDIS_URL": DEAD_REDIS}, work / "server.log") as url:
            page = log_in(browser.new_context(viewport=VIEWPORT, locale="ru-RU"), url, ADMIN)
            with page.expect_navigation():
                page.locator("#import-card").get_by_role("button", name="Запустить импорт").click()
            page.wait_for_selector(".alert-danger")
            shoot(page, out / "12-redis-down.png", clip=union_clip(page, ".alert-danger", "#import-card .import-card-lock"))

        # Queue mode with no worker running: the import waits, says so, and is cancelled.
        shutil.rmtree(package)
        shutil.unpack_archive(work / "package.zip", package)
        with serve({**env, "IMPORT_RUNNER": "queue"}, work / "server.log") as url:
            page = log_in(browser.new_context(viewport=VIEWPORT, locale="ru-RU"), url, ADMIN)
            with page.expect_navigation():
                page.locator("#import-card").get_by_role("button", name="Запустить импорт").click()
            page.wait_for_selector(".alert-info")
            shoot(page, out / "18-queued.png", clip=union_clip(page, ".alert-info", "#import-card .import-card-lock"))
            earlier = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
            sql("UPDATE products_importsession SET queued_at = ? WHERE status = 'pending'", earlier)
            page.goto(f"{url}/admin/products/importsession/")
            pending = page.locator("#result_list tr", has=page.locator(".import-status-pending"))
            pending.locator(".import-queue-note").wait_for()
            shoot(pending, out / "19-no-worker.png")
            with page.expect_navigation():
                pending.locator("button.import-cancel").click()
            page.wait_for_selector(".alert-success")
            shoot(page, out / "20-cancelled.png",
                  clip=union_clip(page, ".alert-success", "#result_list tbody tr:first-child"))
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "admin-guide" / "img")
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)  # the child process's part
    args = parser.parse_args()
    if args.seed:
        seed()
        return
    if not os.path.exists(CHROMIUM):
        sys.exit(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)")

    sys.path.insert(0, str(ROOT / "backend"))
    from freesport.embedded_redis import embedded_redis_url, stop_embedded_redis

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="admin-guide-") as tmp:
        work = Path(tmp)
        redis_dir = work / "redis"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "freesport.settings.dev", "DEBUG": "true",
               "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}", "REDIS_URL": embedded_redis_url(redis_dir),
               "ONEC_DATA_DIR": str(work / "import_1c"), "MEDIA_ROOT": str(work / "media"),
               "ONEC_EXCHANGE_DIR": str(work / "exchange"),
               "PYTHONPATH": str(ROOT / "backend"), "TIME_ZONE": "Europe/Moscow", "LOG_LEVEL": "WARNING"}
        try:
            subprocess.run([sys.executable, str(MANAGE), "migrate", "--no-input", "-v", "0"], env=env, check=True)
            subprocess.run([sys.executable, __file__, "--seed"], env=env, check=True)
            take(args.out, work, env)
        finally:
            stop_embedded_redis(redis_dir)
    for name in SHOTS:
        print(args.out / name)


if __name__ == "__main__":
    main()
