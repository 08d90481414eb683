"""Shared fixtures for the 1C importer tests (tests/importer/).

The importer is imported lazily inside the helpers, so a broken or missing importer fails the
tests that use it instead of breaking collection of the whole suite.
"""
from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
ONEC_FIXTURES = TESTS_DIR / "fixtures" / "onec"
SHARED_SAMPLES = REPO_ROOT.parent / "shared" / "commerceml"

# Every table an import writes to, in an order that makes snapshots readable.
CATALOG_MODEL_NAMES = (
    "Category", "Brand", "Property", "Product", "ProductImage",
    "Offer", "PriceType", "Price", "Warehouse", "Stock",
)


def catalog_models():
    from apps.products import models

    return [getattr(models, name) for name in CATALOG_MODEL_NAMES]


def take_catalog_snapshot() -> dict[str, list[dict]]:
    """Every row of every catalog table, every column (timestamps included), ordered by pk."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in catalog_models()}


def catalog_state() -> dict[str, dict]:
    """The catalog as 1C sees it, keyed by Ид, for comparing with an expected catalog written by hand.

    Products, offers, prices and stock with their active flags; pks, timestamps and hashes left out.
    ``images`` is how many pictures a product has (where they are stored is the picture tests' job).
    """
    from apps.products import models as m

    def dec(value):
        return None if value is None else format(value.normalize(), "f")

    return {
        "categories": {c.onec_id: {"name": c.name, "parent": c.parent.onec_id if c.parent else None,
                                   "active": c.is_active}
                       for c in m.Category.objects.select_related("parent")},
        "products": {p.onec_id: {"name": p.name, "sku": p.sku, "active": p.is_active,
                                 "category": p.category.onec_id if p.category else None,
                                 "images": p.images.count()}
                     for p in m.Product.objects.select_related("category")},
        "offers": {o.onec_id: {"product": o.product.onec_id, "name": o.name, "active": o.is_active,
                               "characteristics": o.characteristics, "quantity": dec(o.quantity)}
                   for o in m.Offer.objects.select_related("product")},
        "prices": {(p.offer.onec_id, p.price_type.onec_id): dec(p.value)
                   for p in m.Price.objects.select_related("offer", "price_type")},
        "stock": {(s.offer.onec_id, s.warehouse.onec_id): dec(s.quantity)
                  for s in m.Stock.objects.select_related("offer", "warehouse")},
    }


@pytest.fixture
def catalog_snapshot():
    """``catalog_snapshot()`` -> a comparable dump of all catalog tables."""
    return take_catalog_snapshot


@pytest.fixture
def fixture_dir(tmp_path):
    """``fixture_dir("ut11_full")`` -> a private copy of tests/fixtures/onec/ut11_full under tmp_path.

    Each call makes a fresh copy, so a test may edit it freely (or take two copies).
    """
    counter = itertools.count()

    def copy(name: str) -> Path:
        source = ONEC_FIXTURES / name
        assert source.is_dir(), f"no fixture package {source}"
        target = tmp_path / f"{name}-{next(counter)}" / name
        shutil.copytree(source, target)
        return target

    return copy


@pytest.fixture
def run_import():
    """``run_import(data_dir, **kwargs)`` -> the finished ImportSession (re-read from the DB)."""

    def run(data_dir, **kwargs):
        from apps.products.services.catalog_import import catalog_import_run

        session = catalog_import_run(data_dir=str(data_dir), **kwargs)
        session.refresh_from_db()
        return session

    return run


def _stat(session, kind: str, key: str) -> int:
    assert isinstance(session.stats, dict) and kind in session.stats, f"stats has no {kind!r}: {session.stats!r}"
    return session.stats[kind].get(key, 0)


@pytest.fixture
def stat():
    """``stat(session, "products", "created")``: a missing inner key means 0, a missing kind fails."""
    return _stat


class ImportGate:
    """Holds the next import inside its first progress report until ``open()``: "it is running now".

    ``ImportGate(mocker)`` patches the service's progress hook; the import runs in another thread."""

    def __init__(self, mocker):
        import threading

        from apps.products.services import import_sessions

        self.running = threading.Event()
        self._open = threading.Event()
        original = import_sessions.import_session_progress

        def held(session, result):
            original(session, result)
            if not self.running.is_set():
                self.running.set()
                assert self._open.wait(60), "the test never let the held import go on"

        mocker.patch("apps.products.services.catalog_import.import_session_progress", side_effect=held)

    def wait_running(self):
        assert self.running.wait(60), "the import never started"

    def open(self):
        self._open.set()
