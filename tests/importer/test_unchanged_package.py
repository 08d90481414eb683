"""The identical-package shortcut: 1C re-uploads the same export on schedule; reading it again
could change nothing, so the same data after a clean import completes at once. Each
condition under which it must NOT be taken is tested, since taking it wrongly would skip real
changes."""
from __future__ import annotations

import pytest

from apps.products.models import ImportSession, Product

pytestmark = pytest.mark.django_db

SKIPPED = "пакет не изменился"


def test_identical_package_completes_without_reading(fixture_dir, run_import, catalog_snapshot, stat):
    d = fixture_dir("ut11_full")
    first = run_import(d)
    before = catalog_snapshot()
    second = run_import(d)
    assert second.status == ImportSession.Status.COMPLETED
    assert SKIPPED in second.error_message and str(first.session_id) in second.error_message
    assert second.stats["unchanged_since"] == str(first.session_id)
    assert (second.total_items, second.processed_items) == (first.total_items, first.total_items)
    assert stat(second, "products", "unchanged") == stat(first, "products", "created")
    assert catalog_snapshot() == before


def test_force_reads_it_row_by_row(fixture_dir, run_import, stat):
    d = fixture_dir("ut11_full")
    run_import(d)
    forced = run_import(d, force=True)
    assert SKIPPED not in forced.error_message
    assert "unchanged_since" not in forced.stats
    assert stat(forced, "products", "unchanged") > 0 and stat(forced, "products", "updated") == 0


def test_not_taken_when_a_file_changed(fixture_dir, run_import):
    d = fixture_dir("ut11_full")
    run_import(d)
    goods = next(f for f in (d / "goods").rglob("*.xml") if "Мяч".encode() in f.read_bytes())
    goods.write_bytes(goods.read_bytes().replace("Мяч".encode(), "Мячик".encode(), 1))
    second = run_import(d)
    assert SKIPPED not in second.error_message
    assert Product.objects.filter(name__contains="Мячик").exists()


def test_not_taken_after_a_failed_import_in_between(fixture_dir, run_import, tmp_path):
    """A failed import may have committed some batches: the catalog is no longer what the clean
    import left, so the package must be read again."""
    d = fixture_dir("ut11_full")
    run_import(d)
    assert run_import(tmp_path / "missing").status == ImportSession.Status.FAILED
    third = run_import(d)
    assert third.status == ImportSession.Status.COMPLETED and SKIPPED not in third.error_message


def test_not_taken_after_another_package(fixture_dir, run_import):
    d = fixture_dir("ut11_full")
    run_import(d)
    run_import(fixture_dir("classic_ns"))
    third = run_import(d)
    assert SKIPPED not in third.error_message


def test_not_taken_when_the_last_import_had_item_errors(fixture_dir, run_import):
    """Errors may be fixed on our side since (a price type created by hand): read again."""
    d = fixture_dir("item_errors")
    first = run_import(d)
    assert first.failed_items > 0
    second = run_import(d)
    assert SKIPPED not in second.error_message and second.failed_items == first.failed_items


def test_same_bytes_in_another_dir_is_read(fixture_dir, run_import):
    run_import(fixture_dir("ut11_full"))
    second = run_import(fixture_dir("ut11_full"))  # a fresh copy: other path, same bytes
    assert SKIPPED not in second.error_message


def test_relative_and_absolute_spellings_of_one_dir_are_one_dir(fixture_dir, run_import, monkeypatch):
    d = fixture_dir("ut11_full")
    run_import(d)
    monkeypatch.chdir(d.parent)
    second = run_import(d.name)
    assert SKIPPED in second.error_message


def test_cli_force_option(fixture_dir, run_import):
    from io import StringIO

    from django.core.management import call_command

    d = fixture_dir("ut11_full")
    run_import(d)
    call_command("import_catalog_from_1c", "--data-dir", str(d), "--force", stdout=StringIO(), stderr=StringIO())
    forced = ImportSession.objects.latest("started_at")
    assert forced.status == ImportSession.Status.COMPLETED and SKIPPED not in forced.error_message
    call_command("import_catalog_from_1c", "--data-dir", str(d), stdout=StringIO(), stderr=StringIO())
    assert SKIPPED in ImportSession.objects.latest("started_at").error_message


def test_a_re_export_of_the_same_data_is_the_same_package(fixture_dir, run_import):
    """1C stamps every export with a new ДатаФормирования and new segment GUIDs: same data."""
    import re
    import uuid

    d = fixture_dir("ut11_full")
    first = run_import(d)
    for path in list(d.rglob("*.xml")):
        raw = re.sub('ДатаФормирования="[^"]*"'.encode(), 'ДатаФормирования="2031-01-02T03:04:05"'.encode(),
                     path.read_bytes(), count=1)
        path.unlink()
        name = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", str(uuid.uuid4()), path.name)
        (path.parent / name).write_bytes(raw)
    second = run_import(d)
    assert second.stats.get("unchanged_since") == str(first.session_id)


def test_any_other_byte_is_data(fixture_dir, run_import):
    """Only the root's export timestamp and segment GUIDs are ignored: any other byte is catalog data."""
    d = fixture_dir("ut11_full")
    run_import(d)
    goods = next(f for f in (d / "goods").rglob("*.xml") if "Мяч".encode() in f.read_bytes())
    goods.write_bytes(goods.read_bytes().replace("Мяч".encode(), "Мяч ".encode(), 1))  # one byte more
    assert SKIPPED not in run_import(d).error_message
