"""Prices and stock of a product without characteristics (UT 11): ``prices/`` and ``rests/`` name the
product's own Ид, and a changes-only exchange may send them without ``offers/`` describing that offer."""
from __future__ import annotations

import copy
import shutil

import pytest
from django.db import connection
from lxml import etree

from apps.products.models import ImportSession
from tests.conftest import catalog_models, catalog_state

from .test_semantics import edit_xml, items, zero_changes

pytestmark = pytest.mark.django_db

DUMBBELL, SHOES, MAT = (f"b1100000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
SHOES_42 = f"{SHOES}#c1100000-0000-4000-8000-000000000001"  # described in offers/
SHOES_43 = f"{SHOES}#c1100000-0000-4000-8000-000000000009"  # priced, never described
UNKNOWN = "b1100000-0000-4000-8000-0000000000ee"
RETAIL, MAIN = "e1100000-0000-4000-8000-000000000001", "f1100000-0000-4000-8000-000000000001"
UNKNOWN_ERROR = {"onec_id": UNKNOWN, "file": "prices/prices.xml",
                 "message": "неизвестное предложение: его нет ни в базе, ни в выгрузке"}


def own(product, name):
    return {"product": product, "name": name, "active": True, "characteristics": [], "quantity": None}


EXPECTED = {
    "categories": {},
    "products": {
        DUMBBELL: {"name": "Гантель 5 кг", "sku": "DB-5", "active": True, "category": None, "images": 0},
        SHOES: {"name": "Кроссовки беговые", "sku": "RUN-7", "active": True, "category": None, "images": 0},
        MAT: {"name": "Коврик для йоги", "sku": "MAT-3", "active": True, "category": None, "images": 0},
    },
    "offers": {
        DUMBBELL: own(DUMBBELL, "Гантель 5 кг"),  # the product's own offer, made from the product
        MAT: own(MAT, "Коврик для йоги"),
        SHOES_42: {"product": SHOES, "name": "Кроссовки беговые (42)", "active": True,
                   "characteristics": [{"name": "Размер", "value": "42"}], "quantity": None},
        # Its price is kept, but nobody described the variant: not for sale until 1C does.
        SHOES_43: {**own(SHOES, "Кроссовки беговые"), "active": False},
    },
    "prices": {(DUMBBELL, RETAIL): "2490", (SHOES_42, RETAIL): "6990", (SHOES_43, RETAIL): "7190",
               (MAT, RETAIL): "1350"},
    "stock": {(DUMBBELL, MAIN): "8", (SHOES_42, MAIN): "2", (MAT, MAIN): "0"},
}


def test_prices_and_stock_go_to_the_products_own_offers(fixture_dir, run_import, stat):
    session = run_import(fixture_dir("ut11_product_prices"))

    assert session.status == "completed", session.error_message
    assert catalog_state() == EXPECTED
    assert session.errors == [UNKNOWN_ERROR]  # the unknown product: no product, no offer made up
    assert (session.total_items, session.processed_items, session.failed_items) == (14, 14, 1)
    assert session.stats["offers"] == {"created": 4, "failed": 1}
    assert session.stats["prices"] == {"created": 4} and session.stats["stocks"] == {"created": 3}


def test_products_known_from_an_earlier_import(fixture_dir, run_import):
    goods = fixture_dir("ut11_product_prices")
    shutil.rmtree(goods / "prices"), shutil.rmtree(goods / "rests")
    assert run_import(goods).status == "completed"
    assert catalog_state()["offers"] == {SHOES_42: EXPECTED["offers"][SHOES_42]}
    prices = fixture_dir("ut11_product_prices")
    shutil.rmtree(prices / "goods"), shutil.rmtree(prices / "offers")

    session = run_import(prices)

    assert session.status == "completed", session.error_message
    assert catalog_state() == EXPECTED
    assert session.errors == [UNKNOWN_ERROR]


def test_reimport_changes_nothing(fixture_dir, run_import, catalog_snapshot):
    run_import(fixture_dir("ut11_product_prices"))
    before = catalog_snapshot()

    again = run_import(fixture_dir("ut11_product_prices"), force=True)

    assert zero_changes(again) == {}
    assert again.errors == [UNKNOWN_ERROR]
    assert catalog_snapshot() == before


def test_an_undescribed_characteristic_goes_on_sale_once_described(fixture_dir, run_import, stat):
    run_import(fixture_dir("ut11_product_prices"))
    later = fixture_dir("ut11_product_prices")
    for folder in ("goods", "prices", "rests"):
        shutil.rmtree(later / folder)

    def describe_43(root):
        (offer,) = items(root, "Предложение", SHOES_42)
        offer.find("{*}Ид").text = SHOES_43
        offer.find("{*}Наименование").text = "Кроссовки беговые (43)"
        offer.find(".//{*}Значение").text = "43"
    edit_xml(later / "offers" / "offers.xml", describe_43)

    session = run_import(later)

    assert session.status == "completed", session.error_message
    assert stat(session, "offers", "updated") == 1 and stat(session, "offers", "created") == 0
    expected = {**EXPECTED, "offers": {**EXPECTED["offers"], SHOES_43: {
        "product": SHOES, "name": "Кроссовки беговые (43)", "active": True,
        "characteristics": [{"name": "Размер", "value": "43"}], "quantity": None}}}
    assert catalog_state() == expected  # and the price stored before the description is there


def test_offers_are_made_from_products_per_batch_not_per_item(fixture_dir, run_import):
    """Ten times the bare records of unknown offers of known products: the same number of queries."""

    def run(extra: int) -> int:
        d = fixture_dir("ut11_product_prices")

        def more(tag: str):
            def change(root):
                (item,) = items(root, tag, MAT)
                for i in range(extra):
                    clone = copy.deepcopy(item)
                    clone.find("{*}Ид").text = f"b1100000-0000-4000-8000-0000000001{i:02d}"
                    item.addnext(clone)
            return change
        edit_xml(d / "goods" / "goods.xml", more("Товар"))
        edit_xml(d / "prices" / "prices.xml", more("Предложение"))
        statements = []  # the pipeline clears Django's query log after each batch: count them here

        def count(execute, sql, params, many, context):
            statements.append(sql)
            return execute(sql, params, many, context)
        with connection.execute_wrapper(count):
            session = run_import(d)
        assert session.status == "completed" and session.failed_items == 1
        assert len(catalog_state()["offers"]) == 4 + extra
        return len(statements)

    few = run(2)
    for model in reversed(catalog_models()):
        model.objects.all().delete()
    ImportSession.objects.all().delete()
    assert run(20) == few


def test_fixture_is_what_the_tests_say(fixture_dir):
    """Guards the fixture: prices/ and rests/ are bare records, offers/ describes only one offer."""
    d = fixture_dir("ut11_product_prices")
    offers = etree.parse(str(d / "offers" / "offers.xml")).getroot()
    assert [el.findtext("{*}Ид") for el in offers.iter("{*}Предложение")] == [SHOES_42]
    for name in ("prices/prices.xml", "rests/rests.xml"):
        for el in etree.parse(str(d / name)).getroot().iter("{*}Предложение"):
            assert el.find("{*}Наименование") is None
