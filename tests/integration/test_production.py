"""The admin under production settings: DEBUG off, static files collected with hashed names and
served by the app (WhiteNoise), nothing loaded from another host.

Runs in child processes with ``freesport.settings.prod`` (its own SQLite database and this test
run's Redis), because settings are read once per process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

MANAGE = REPO_ROOT / "backend" / "manage.py"

RENDER_PAGES = r"""
import json, re, django
django.setup()
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from apps.products.models import ImportSession

user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
now = timezone.now()
done = ImportSession.objects.create(status="failed", started_at=now, finished_at=now, total_items=10, processed_items=4,
    failed_items=1, errors=[{"onec_id": "x", "file": "f.xml", "message": "m"}], stats={"layout": "ut11"})
ImportSession.objects.create(status="running", started_at=now, heartbeat_at=now, total_items=100, processed_items=10)
client = Client()
client.force_login(user)
pages = {"index": "/admin/", "list": "/admin/products/importsession/",
         "session": f"/admin/products/importsession/{done.pk}/change/", "card": "/admin/products/importsession/card/"}
result = {"debug": settings.DEBUG, "storage": settings.STORAGES["staticfiles"]["BACKEND"]}
for name, path in pages.items():
    response = client.get(path, secure=True)
    html = response.content.decode()
    result[name] = {"status": response.status_code, "card": 'id="import-card"' in html,
                    "static": sorted(set(re.findall(r'(?:src|href|data-theme-base)="(/static/[^"]+)"', html))),
                    "external": sorted(set(re.findall(r'(?:src|href)="((?:https?:)?//[^"]+)"', html)))}
css = next(url for url in result["index"]["static"] if "admin_import/import." in url)
served = client.get(css, secure=True)
result["served"] = {"url": css, "status": served.status_code, "cache": served.get("Cache-Control", ""),
                    "body": b"".join(served.streaming_content)[:200].decode() if served.status_code == 200 else ""}
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prod")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "freesport.settings.prod", "SECRET_KEY": "x" * 50,
           "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "STATIC_ROOT": str(tmp / "static"),
           "ALLOWED_HOSTS": "testserver", "PYTHONPATH": str(REPO_ROOT / "backend")}
    assert env.get("REDIS_URL"), "the test settings export this run's Redis"

    def run(*args):
        done = subprocess.run([sys.executable, *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    run(str(MANAGE), "collectstatic", "--no-input", "-v", "0")
    run(str(MANAGE), "migrate", "--no-input", "-v", "0")
    return {"static_root": tmp / "static", "result": json.loads(run("-c", RENDER_PAGES).splitlines()[-1])}


@pytest.mark.parametrize("page", ["index", "list", "session", "card"])
def test_each_admin_page_renders_with_debug_off_and_hashed_static_files(production, page):
    result = production["result"]
    assert result["debug"] is False and result["storage"] == "freesport.storage.StaticStorage"
    assert result[page]["status"] == 200
    assert result[page]["external"] == [], "nothing may load from another host"
    if page != "card":
        static = result[page]["static"]
        assert static and all(re_hashed(url) for url in static), static


def test_the_dashboard_shows_the_import_card(production):
    assert production["result"]["index"]["card"] and production["result"]["card"]["card"]


def test_the_app_serves_its_hashed_static_files_itself(production):
    served = production["result"]["served"]
    assert served["status"] == 200, served
    assert "max-age=315360000" in served["cache"] and "immutable" in served["cache"]
    assert ".import-status" in served["body"]


def test_jazzmins_theme_folder_reference_resolves_instead_of_crashing(production):
    assert (Path(production["static_root"]) / "vendor" / "bootswatch").is_dir()
    assert "/static/vendor/bootswatch" in json.dumps(production["result"]["index"])


def re_hashed(url: str) -> bool:
    """``/static/admin_import/import.3f2a9c01b2d4.css``: a 12-hex content hash before the extension."""
    import re

    return bool(re.search(r"\.[0-9a-f]{12}\.\w+$", url)) or url.endswith("/vendor/bootswatch")
