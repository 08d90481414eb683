"""Classic CommerceML 2.0x goods with characteristics (1C:UT 10, the 2.04 documentation's example):
``import.xml`` lists each characteristic as a ``Товар`` with ``Ид`` = ``<product>#<characteristic>``,
``offers.xml`` prices some of them. One product per ``<product>``, one offer per characteristic."""
from __future__ import annotations

import pytest

from apps.products.models import Product
from apps.products.onec import pipeline
from tests.conftest import catalog_state

from .test_semantics import drop, edit_xml, set_child, zero_changes

pytestmark = pytest.mark.django_db

TABLE, CHAIR, STOOL = (f"b2041000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
TABLE_WHITE, TABLE_WENGE = (f"{TABLE}#c2041000-0000-4000-8000-00000000000{i}" for i in (1, 2))
CHAIR_WHITE, CHAIR_WENGE = (f"{CHAIR}#c2041000-0000-4000-8000-00000000000{i}" for i in (3, 4))
GROUP = "a2041000-0000-4000-8000-000000000001"
RETAIL = "e2041000-0000-4000-8000-000000000001"


def color(value, **more):
    return [{"name": "Цвет", "value": value}, *({"name": name, "value": v} for name, v in more.items())]


# Written by hand from the fixture: 3 products (not 7), 5 offers — the unpriced chair included.
EXPECTED = {
    "categories": {GROUP: {"name": "Мебель для кухни", "parent": None, "active": True}},
    "products": {
        TABLE: {"name": "Стол обеденный", "sku": "СТ-01", "active": True, "category": GROUP, "images": 0},
        CHAIR: {"name": "Стул венский", "sku": "СЛ-02", "active": True, "category": GROUP, "images": 0},
        STOOL: {"name": "Табурет", "sku": "ТБ-03", "active": True, "category": GROUP, "images": 0},
    },
    "offers": {
        # Name and characteristics from the Товар: offers.xml carries no ХарактеристикиТовара.
        TABLE_WHITE: {"product": TABLE, "name": "Стол обеденный", "active": True,
                      "characteristics": color("Белый"), "quantity": "3"},
        TABLE_WENGE: {"product": TABLE, "name": "Стол обеденный", "active": True,
                      "characteristics": color("Венге"), "quantity": "1"},
        CHAIR_WHITE: {"product": CHAIR, "name": "Стул венский", "active": True,
                      "characteristics": color("Белый", Обивка="Лён"), "quantity": "12"},
        CHAIR_WENGE: {"product": CHAIR, "name": "Стул венский", "active": True,
                      "characteristics": color("Венге", Обивка="Велюр"), "quantity": None},  # not priced yet
        STOOL: {"product": STOOL, "name": "Табурет", "active": True, "characteristics": [], "quantity": "7"},
    },
    "prices": {(TABLE_WHITE, RETAIL): "12500", (TABLE_WENGE, RETAIL): "13100", (CHAIR_WHITE, RETAIL): "4200",
               (STOOL, RETAIL): "1990"},
    "stock": {},
}


def with_changes(expected, **changes):
    """``EXPECTED`` with some products/offers changed: ``offers={oid: {"active": False}}``."""
    result = {kind: dict(rows) for kind, rows in expected.items()}
    for kind, rows in changes.items():
        for oid, fields in rows.items():
            result[kind][oid] = {**result[kind][oid], **fields}
    return result


def test_one_product_per_good_one_offer_per_characteristic(fixture_dir, run_import):
    session = run_import(fixture_dir("classic_hash_goods"))

    assert session.status == "completed", session.error_message
    assert catalog_state() == EXPECTED
    # The product's data comes from its first Товар (the second one of the table has no Описание).
    assert Product.objects.get(onec_id=TABLE).description == "Столешница из массива"
    # 1 group + 5 goods + 1 price type + 4 offers; each "#" Товар is one item of the progress.
    assert (session.total_items, session.processed_items, session.failed_items) == (11, 11, 0)
    assert session.stats["products"] == {"created": 3, "deactivated": 0}
    assert session.stats["offers"] == {"created": 5, "deactivated": 0}
    assert session.stats["prices"] == {"created": 4}


@pytest.mark.parametrize("batch_size", [1000, 1], ids=["one-batch", "batch-per-item"])
def test_reimport_changes_nothing(fixture_dir, run_import, catalog_snapshot, mocker, batch_size):
    """With one item per batch each characteristic of a product comes in its own batch: still the first
    describes the product (the table's two differ in Описание), and the re-import writes nothing."""
    mocker.patch.object(pipeline, "BATCH_SIZE", batch_size)
    run_import(fixture_dir("classic_hash_goods"))
    assert catalog_state() == EXPECTED
    before = catalog_snapshot()

    again = run_import(fixture_dir("classic_hash_goods"), force=True)

    assert again.status == "completed", again.error_message
    assert zero_changes(again) == {}
    assert again.stats["products"]["unchanged"] == 3 and again.stats["offers"]["unchanged"] == 5
    assert catalog_snapshot() == before  # every column, updated_at included: no write at all


def test_a_later_package_listing_the_product_itself_updates_the_same_product(fixture_dir, run_import, stat):
    run_import(fixture_dir("classic_hash_goods"))
    later = fixture_dir("classic_hash_goods")
    (later / "offers.xml").unlink()

    def own_table(root):
        goods = root.find("{*}Каталог")
        goods.set("СодержитТолькоИзменения", "true")
        items = goods.find("{*}Товары")
        for good in list(items)[1:]:
            items.remove(good)
        items[0].find("{*}Ид").text = TABLE
        items[0].find("{*}Наименование").text = "Стол обеденный раздвижной"
        items[0].remove(items[0].find("{*}ХарактеристикиТовара"))
    edit_xml(later / "import.xml", own_table)

    session = run_import(later)

    assert session.status == "completed", session.error_message
    assert stat(session, "products", "updated") == 1 and stat(session, "products", "created") == 0
    assert catalog_state() == with_changes(EXPECTED, products={TABLE: {"name": "Стол обеденный раздвижной"}})


def test_full_package_retires_a_characteristic_it_no_longer_lists(fixture_dir, run_import, stat):
    run_import(fixture_dir("classic_hash_goods"))
    later = fixture_dir("classic_hash_goods")
    edit_xml(later / "import.xml", drop("Товар", CHAIR_WENGE))

    session = run_import(later)

    assert session.status == "completed", session.error_message
    # The offers made from "#" goods count as listed: only the dropped one is retired, no product.
    assert stat(session, "offers", "deactivated") == 1 and stat(session, "products", "deactivated") == 0
    assert catalog_state() == with_changes(EXPECTED, offers={CHAIR_WENGE: {"active": False}})


def test_deleted_characteristic_retires_its_offer_not_the_product(fixture_dir, run_import):
    d = fixture_dir("classic_hash_goods")
    edit_xml(d / "import.xml", set_child("Товар", TABLE_WHITE, "Статус", "Удален"))

    session = run_import(d)

    assert session.status == "completed", session.error_message
    assert catalog_state() == with_changes(EXPECTED, offers={TABLE_WHITE: {"active": False}})


def test_a_good_without_product_part_is_an_item_error(fixture_dir, run_import):
    d = fixture_dir("classic_hash_goods")
    edit_xml(d / "import.xml", drop("Товар", CHAIR_WENGE))
    edit_xml(d / "import.xml", set_child("Товар", CHAIR_WHITE, "Ид", "#c2041000-0000-4000-8000-000000000003"))
    edit_xml(d / "offers.xml", drop("Предложение", CHAIR_WHITE))

    session = run_import(d)

    assert session.status == "completed", session.error_message
    assert session.failed_items == 1
    assert session.errors == [{"onec_id": "#c2041000-0000-4000-8000-000000000003", "file": "import.xml",
                               "message": "товар без Ид товара перед «#»"}]
    expected = with_changes(EXPECTED)
    del expected["products"][CHAIR], expected["offers"][CHAIR_WHITE], expected["offers"][CHAIR_WENGE]
    del expected["prices"][(CHAIR_WHITE, RETAIL)]
    assert catalog_state() == expected


def test_a_product_made_from_hash_goods_takes_the_first_ones_pictures(fixture_dir, run_import, settings, tmp_path):
    import shutil

    from apps.products.models import ProductImage
    from tests.conftest import ONEC_FIXTURES

    settings.MEDIA_ROOT = str(tmp_path / "media")
    d = fixture_dir("classic_hash_goods")
    red = ONEC_FIXTURES / "pictures" / "goods" / "import_files" / "p1" / "red.png"
    (d / "import_files").mkdir()
    shutil.copy(red, d / "import_files" / "white.png")
    (d / "import_files" / "wenge.png").write_bytes(red.read_bytes() + b"\0")  # other bytes, still a PNG
    edit_xml(d / "import.xml", set_child("Товар", TABLE_WHITE, "Картинка", "import_files/white.png"))
    edit_xml(d / "import.xml", set_child("Товар", TABLE_WENGE, "Картинка", "import_files/wenge.png"))

    session = run_import(d)

    assert session.status == "completed" and session.failed_items == 0, session.errors
    (image,) = ProductImage.objects.filter(product__onec_id=TABLE)
    assert image.path == "import_files/white.png" and image.file.read() == red.read_bytes()
    assert catalog_state() == with_changes(EXPECTED, products={TABLE: {"images": 1}})
    again = run_import(d, force=True)  # the wenge picture (other bytes) must not flip the product
    assert "images" not in again.stats and again.stats["products"]["unchanged"] == 3 \
        and not again.stats["products"].get("updated"), again.stats
