"""The pre-scan of a big package runs in worker processes; its verdicts must be the same as in-process."""
from __future__ import annotations

import pytest

from apps.products.models import ImportSession, Product
from apps.products.onec import safexml

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
