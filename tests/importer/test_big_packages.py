"""Big packages are pre-scanned in worker processes and read by a reader process; both must give
exactly what the in-process paths give (small packages, i.e. the rest of the suite)."""
from __future__ import annotations

import pytest

from apps.products.models import ImportSession, Product
from apps.products.onec import readahead, safexml

pytestmark = pytest.mark.django_db


@pytest.fixture
def parallel_prescan(monkeypatch):
    monkeypatch.setattr(safexml, "PARALLEL_PRESCAN_BYTES", 0)  # every package counts as big


def test_a_good_package_counts_the_same(parallel_prescan, fixture_dir, run_import):
    from apps.products.onec.layout import discover_package

    package = discover_package(fixture_dir("ut11_full"))
    in_workers = safexml.prescan(package.files, package.data_dir)
    in_process = {pf: safexml.scan_file(pf, package.data_dir) for pf in package.files}
    assert [(pf, n) for pf, n in in_workers.files] == list(in_process.items())
    session = run_import(package.data_dir)
    assert session.status == ImportSession.Status.COMPLETED and session.total_items == in_workers.items


def test_a_broken_file_fails_with_its_name(parallel_prescan, fixture_dir, run_import):
    d = fixture_dir("ut11_full")
    rests = next((d / "rests").rglob("*.xml"))
    rests.write_bytes(rests.read_bytes()[:-200])  # truncated
    session = run_import(d)
    assert session.status == ImportSession.Status.FAILED
    assert session.error_message.startswith(rests.relative_to(d).as_posix() + ": повреждённый или неполный XML")
    assert not Product.objects.exists()


def natural_catalog() -> dict[str, list[str]]:
    """The catalog by 1C Ид instead of primary keys, so two imports into fresh tables compare equal."""
    from apps.products.models import Category, Offer, Price, ProductImage, Stock

    views = {
        Category: ("onec_id", "name", "parent__onec_id", "is_active"),
        Product: ("onec_id", "name", "sku", "barcode", "description", "unit", "category__onec_id",
                  "brand__onec_id", "brand__name", "properties", "is_active"),
        ProductImage: ("product__onec_id", "path", "position"),
        Offer: ("onec_id", "product__onec_id", "name", "sku", "characteristics", "quantity", "is_active"),
        Price: ("offer__onec_id", "price_type__onec_id", "price_type__name", "value", "currency"),
        Stock: ("offer__onec_id", "warehouse__onec_id", "warehouse__name", "quantity"),
    }
    return {model.__name__: sorted(map(repr, model.objects.values_list(*fields))) for model, fields in views.items()}


@pytest.mark.django_db(transaction=True)  # flushes between the two imports (TRUNCATE needs no open transaction)
@pytest.mark.parametrize("name", ["ut11_full", "classic_ns", "item_errors"])
def test_the_reader_process_imports_what_the_reader_thread_does(name, fixture_dir, run_import, monkeypatch):
    from django.core.management import call_command

    by_thread = run_import(fixture_dir(name))
    expected = natural_catalog()
    call_command("flush", "--no-input", verbosity=0)
    monkeypatch.setattr(readahead, "PROCESS_READER_BYTES", 0)
    by_process = run_import(fixture_dir(name))
    assert natural_catalog() == expected
    assert (by_process.status, by_process.total_items, by_process.failed_items, by_process.errors) == (
        by_thread.status, by_thread.total_items, by_thread.failed_items, by_thread.errors)
