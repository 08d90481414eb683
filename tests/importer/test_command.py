"""``import_catalog_from_1c``: exit status, the one-line reason, the printed summary, --dry-run."""
from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from apps.products.models import ImportSession, Product

from .test_bad_input import CASES

pytestmark = pytest.mark.django_db

REPO_ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def run_command(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_catalog_from_1c", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_completed_import_returns_and_prints_a_summary(fixture_dir):
    d = fixture_dir("ut11_full")
    out, _ = run_command("--data-dir", str(d))
    (session,) = ImportSession.objects.all()
    assert session.status == ImportSession.Status.COMPLETED, session.error_message
    assert session.source == ImportSession.Source.CLI and session.triggered_by is None
    assert str(session.total_items) in out and session.total_items == 33  # the counts are printed
    assert Product.objects.filter(is_active=True).count() == 4


def test_completed_with_item_errors_still_exits_zero(fixture_dir):
    out, _ = run_command("--data-dir", str(fixture_dir("item_errors")))  # no CommandError
    (session,) = ImportSession.objects.all()
    assert session.status == ImportSession.Status.COMPLETED
    assert session.failed_items == 4
    assert out.strip()


def test_failed_import_raises_command_error_with_one_line(fixture_dir, tmp_path):
    data_dir, culprit = CASES["truncated"](fixture_dir, tmp_path)
    with pytest.raises(CommandError) as excinfo:
        run_command("--data-dir", str(data_dir))
    reason = str(excinfo.value)
    assert "\n" not in reason.strip() and culprit in reason
    (session,) = ImportSession.objects.all()
    assert session.status == ImportSession.Status.FAILED


def test_missing_data_dir(tmp_path):
    with pytest.raises(CommandError) as excinfo:
        run_command("--data-dir", str(tmp_path / "nowhere"))
    assert "nowhere" in str(excinfo.value) and "\n" not in str(excinfo.value).strip()
    assert ImportSession.objects.get().status == ImportSession.Status.FAILED


def test_default_data_dir_is_the_setting(fixture_dir):
    d = fixture_dir("classic_ns")
    with override_settings(ONEC_DATA_DIR=d):
        run_command()
    session = ImportSession.objects.get()
    assert session.status == ImportSession.Status.COMPLETED, session.error_message
    assert os.path.realpath(session.data_dir) == os.path.realpath(d)
    assert Product.objects.count() == 3


@pytest.mark.parametrize("name", ["ut11_full", "item_errors", "classic_nons_cp1251"])
def test_dry_run_writes_nothing(fixture_dir, run_import, catalog_snapshot, name):
    before = catalog_snapshot()
    out, _ = run_command("--data-dir", str(fixture_dir(name)), "--dry-run")
    assert catalog_snapshot() == before
    assert not ImportSession.objects.exists()
    expected_items = {"ut11_full": 33, "item_errors": 15, "classic_nons_cp1251": 6}[name]
    assert str(expected_items) in out  # it parsed the whole package and says how much


def test_dry_run_on_a_populated_catalog_changes_nothing(fixture_dir, run_import, catalog_snapshot):
    assert run_import(fixture_dir("ut11_full")).status == "completed"
    before = catalog_snapshot()
    d = fixture_dir("ut11_incremental")  # would rename a product and change a price
    run_command("--data-dir", str(d), "--dry-run")
    assert catalog_snapshot() == before
    assert ImportSession.objects.count() == 1


@pytest.mark.parametrize("case", ["truncated", "xxe-outside-file", "not-commerceml-root", "missing-dir"])
def test_dry_run_refuses_a_bad_package(fixture_dir, tmp_path, case):
    data_dir, culprit = CASES[case](fixture_dir, tmp_path)
    with pytest.raises(CommandError) as excinfo:
        run_command("--data-dir", str(data_dir), "--dry-run")
    assert culprit in str(excinfo.value) and "\n" not in str(excinfo.value).strip()
    assert not ImportSession.objects.exists()
    assert not Product.objects.exists()


def test_real_cli_exit_codes(fixture_dir, tmp_path):
    """The command as cron runs it: exit 0 on success; exit 1 and one stderr line, no traceback,
    on a bad package. It runs against its own throwaway SQLite database."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}", DJANGO_SETTINGS_MODULE="freesport.settings.test",
               PYTHONPATH=str(REPO_ROOT / "backend"))
    manage = [sys.executable, str(REPO_ROOT / "backend" / "manage.py")]

    def cli(*args):
        return subprocess.run([*manage, *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)

    migrated = cli("migrate", "--no-input", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr

    bad, culprit = CASES["png-bytes"](fixture_dir, tmp_path)
    failed = cli("import_catalog_from_1c", "--data-dir", str(bad))
    assert failed.returncode == 1, (failed.stdout, failed.stderr)
    reason_lines = [line for line in failed.stderr.splitlines() if line.strip() and " INFO " not in line
                    and " WARNING " not in line]
    assert len(reason_lines) == 1 and culprit in reason_lines[0], failed.stderr
    assert "Traceback" not in failed.stderr

    good = cli("import_catalog_from_1c", "--data-dir", str(fixture_dir("classic_ns")))
    assert good.returncode == 0, good.stderr
    assert "13" in good.stdout  # the summary with the item count
