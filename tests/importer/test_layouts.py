"""Each layout the importer recognises, imported from the project's own small fixture packages
(tests/fixtures/onec/, see its README), checked field by field against the hand-written XML."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.products.models import (
    Brand, Category, ImportSession, Offer, Price, PriceType, Product, ProductImage, Property, Stock, Warehouse,
)

pytestmark = pytest.mark.django_db

# --- ut11_full ---------------------------------------------------------------------------------
G_SPORT, G_BALLS, G_CLOTHES = (f"a1000000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
PR_MATERIAL, PR_WEIGHT, PR_SIZE = (f"d1000000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
V_LEATHER, V_RUBBER = "d1000000-0000-4000-8000-0000000000a1", "d1000000-0000-4000-8000-0000000000a2"
PT_RETAIL, PT_WHOLESALE = "e1000000-0000-4000-8000-000000000001", "e1000000-0000-4000-8000-000000000002"
W_MAIN, W_SHOP = "f1000000-0000-4000-8000-000000000001", "f1000000-0000-4000-8000-000000000002"
P_BALL, P_TSHIRT, P_ROPE, P_OLD, P_DUMBBELL = (f"b1000000-0000-4000-8000-00000000000{i}" for i in range(1, 6))
O_BALL4 = f"{P_BALL}#c1000000-0000-4000-8000-000000000001"
O_BALL5 = f"{P_BALL}#c1000000-0000-4000-8000-000000000002"
O_TS_M = f"{P_TSHIRT}#c1000000-0000-4000-8000-000000000003"
O_TS_L = f"{P_TSHIRT}#c1000000-0000-4000-8000-000000000004"
O_ROPE, O_DUMBBELL = P_ROPE, P_DUMBBELL  # offers whose Ид is their product's Ид (no characteristics)
UT11_ITEMS = 3 + 3 + 2 + 2 + 5 + 6 + 6 + 6  # groups, properties, price types, warehouses, goods, offers×3 files


def price(offer, price_type):
    return Price.objects.get(offer__onec_id=offer, price_type__onec_id=price_type)


def stock(offer, warehouse):
    return Stock.objects.get(offer__onec_id=offer, warehouse__onec_id=warehouse).quantity


def assert_clean(session, total):
    assert session.status == ImportSession.Status.COMPLETED, session.error_message
    assert session.errors == [] and session.failed_items == 0, session.errors
    assert session.total_items == total
    assert session.processed_items == total
    assert session.source == "cli" and session.triggered_by is None
    assert session.heartbeat_at is not None and session.finished_at is not None
    assert session.finished_at >= session.started_at


def test_ut11_full_session(fixture_dir, run_import, stat):
    d = fixture_dir("ut11_full")
    session = run_import(d)
    assert_clean(session, UT11_ITEMS)
    assert ImportSession.objects.count() == 1
    assert session.data_dir and str(d.name) in session.data_dir
    assert stat(session, "categories", "created") == 3
    assert stat(session, "brands", "created") == 1
    assert stat(session, "properties", "created") == 3
    assert stat(session, "price_types", "created") == 2
    assert stat(session, "warehouses", "created") == 2
    # P_OLD comes marked deleted: whether it is stored (inactive) or skipped, stats must agree with the DB
    assert stat(session, "products", "created") == Product.objects.count()
    assert stat(session, "offers", "created") == 6
    assert stat(session, "prices", "created") == 11
    assert stat(session, "stocks", "created") == 10
    assert stat(session, "images", "created") == 3


def test_ut11_full_classifier(fixture_dir, run_import):
    run_import(fixture_dir("ut11_full"))
    tree = {c.onec_id: (c.name, c.parent.onec_id if c.parent else None) for c in Category.objects.all()}
    assert tree == {G_SPORT: ("Спорт", None), G_BALLS: ("Мячи", G_SPORT), G_CLOTHES: ("Одежда", G_SPORT)}
    material = Property.objects.get(onec_id=PR_MATERIAL)
    assert material.name == "Материал"
    assert material.choices == {V_LEATHER: "Кожа", V_RUBBER: "Резина"}
    assert Property.objects.get(onec_id=PR_SIZE).name == "Размер"  # from propertiesOffers/
    assert {(p.onec_id, p.name, p.currency) for p in PriceType.objects.all()} == {
        (PT_RETAIL, "Розничная", "RUB"), (PT_WHOLESALE, "Оптовая", "RUB")}
    assert {(w.onec_id, w.name) for w in Warehouse.objects.all()} == {
        (W_MAIN, "Основной склад"), (W_SHOP, "Магазин на Ленина")}
    assert list(Brand.objects.values_list("onec_id", "name")) == [("c9000000-0000-4000-8000-000000000001", "Demix")]


def test_ut11_full_goods(fixture_dir, run_import):
    run_import(fixture_dir("ut11_full"))
    assert set(Product.objects.filter(is_active=True).values_list("onec_id", flat=True)) == {
        P_BALL, P_TSHIRT, P_ROPE, P_DUMBBELL}
    assert not Product.objects.filter(onec_id=P_OLD, is_active=True).exists()  # ПометкаУдаления true

    ball = Product.objects.get(onec_id=P_BALL)
    assert (ball.name, ball.sku, ball.barcode, ball.unit) == ("Мяч футбольный Demix", "BALL-5", "4600000000011", "796")
    assert ball.description == "Тренировочный мяч, размер 4 и 5"
    assert ball.category.onec_id == G_BALLS
    assert ball.brand.name == "Demix"
    assert ball.properties == {"Материал": "Кожа", "Вес, г": "430"}  # dictionary value resolved to its text
    # segmented goods/goods_1_2_<guid>.xml: images relative to goods/, stored relative to the data dir
    assert list(ball.images.order_by("position").values_list("path", flat=True)) == [
        "goods/import_files/b1/ball_1.jpg", "goods/import_files/b1/ball_2.jpg"]

    tshirt = Product.objects.get(onec_id=P_TSHIRT)
    assert tshirt.barcode == ""  # <Штрихкод/>
    assert tshirt.unit == "796"  # Код="796 "
    assert tshirt.category.onec_id == G_CLOTHES
    assert tshirt.brand is None
    assert list(tshirt.images.values_list("path", flat=True)) == ["goods/import_files/b2/tshirt.png"]

    rope = Product.objects.get(onec_id=P_ROPE)  # goods_2_2: <Описание/> and an empty <Значение/>
    assert (rope.name, rope.description, rope.category.onec_id) == ("Скакалка", "", G_SPORT)
    assert rope.properties.get("Материал", "") == ""

    dumbbell = Product.objects.get(onec_id=P_DUMBBELL)  # goods/1/goods_1_1_<guid>.xml: one folder deeper
    assert (dumbbell.name, dumbbell.sku, dumbbell.description) == ("Гантель 5 кг", "DB-5", "Гантель разборная, 5 кг")
    assert dumbbell.properties == {"Материал": "Резина", "Вес, г": "5000"}
    assert ProductImage.objects.count() == 3


def test_ut11_full_offers(fixture_dir, run_import):
    run_import(fixture_dir("ut11_full"))
    assert set(Offer.objects.filter(is_active=True).values_list("onec_id", flat=True)) == {
        O_BALL4, O_BALL5, O_TS_M, O_TS_L, O_ROPE, O_DUMBBELL}
    ball4 = Offer.objects.get(onec_id=O_BALL4)
    assert ball4.product.onec_id == P_BALL  # product = the part before '#'
    assert (ball4.name, ball4.sku, ball4.barcode) == ("Мяч футбольный Demix (4)", "BALL-5", "4600000000141")
    assert ball4.characteristics == [{"name": "Размер", "value": "4"}]
    ts_m = Offer.objects.get(onec_id=O_TS_M)
    assert ts_m.product.onec_id == P_TSHIRT
    assert ts_m.characteristics == [{"name": "Размер", "value": "M"}, {"name": "Цвет", "value": "синий"}]
    assert Offer.objects.get(onec_id=O_TS_L).barcode == ""
    rope = Offer.objects.get(onec_id=O_ROPE)  # offer Ид == product Ид
    assert rope.product.onec_id == P_ROPE and rope.characteristics == []


def test_ut11_full_prices_and_stock(fixture_dir, run_import):
    run_import(fixture_dir("ut11_full"))
    assert Price.objects.count() == 11
    assert price(O_BALL4, PT_RETAIL).value == Decimal("2490")
    assert price(O_BALL4, PT_WHOLESALE).value == Decimal("1990")
    assert price(O_BALL5, PT_RETAIL).value == Decimal("2690.00")  # "2 690,00"
    assert price(O_BALL5, PT_WHOLESALE).value == Decimal("2150.50")
    assert price(O_TS_M, PT_RETAIL).value == Decimal("1719.50")  # "1 719,50"
    assert price(O_ROPE, PT_RETAIL).currency == "RUB"
    assert not Price.objects.filter(offer__onec_id=O_ROPE, price_type__onec_id=PT_WHOLESALE).exists()

    assert Stock.objects.count() == 10  # zero quantities are stock rows too
    assert (stock(O_BALL4, W_MAIN), stock(O_BALL4, W_SHOP)) == (Decimal(10), Decimal(2))
    assert stock(O_TS_L, W_SHOP) == Decimal("1.5")  # "1,5"
    # rests carry per-warehouse stock only: no stated total (quantity), the total is derived
    assert set(Offer.objects.values_list("quantity", flat=True)) == {None}
    totals = {offer.onec_id: offer.stock_total for offer in Offer.objects.all()}
    assert totals == {O_BALL4: Decimal(12), O_BALL5: Decimal(5), O_TS_M: Decimal(7), O_TS_L: Decimal("4.5"),
                      O_ROPE: Decimal(15), O_DUMBBELL: Decimal(8)}


# --- package_209 -------------------------------------------------------------------------------
P209_SHAMPOO, P209_GEL, P209_PASTE = (f"b2090000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))


def test_package_209(fixture_dir, run_import, stat):
    session = run_import(fixture_dir("package_209"))
    assert_clean(session, 1 + 1 + 1 + 1 + 2 + 3 + 2 + 2)
    shampoo = Product.objects.get(onec_id=P209_SHAMPOO)
    assert (shampoo.name, shampoo.sku, shampoo.unit) == ("Шампунь Чистая линия 400 мл", "CL-400", "796")
    assert shampoo.category.name == "Гигиена"
    assert shampoo.properties == {"Объём, мл": "400"}
    # the offer's product is in no goods file: the product is created from the offer
    paste = Product.objects.get(onec_id=P209_PASTE)
    assert (paste.name, paste.sku, paste.is_active) == ("Зубная паста мятная 100 мл", "ZP-100", True)
    assert Product.objects.count() == 3
    assert Product.objects.get(onec_id=P209_GEL).is_active  # only its offer is marked deleted
    assert set(Offer.objects.filter(is_active=True).values_list("onec_id", flat=True)) == {P209_SHAMPOO, P209_PASTE}
    assert not Offer.objects.filter(onec_id=P209_GEL, is_active=True).exists()  # ПометкаУдаления true
    assert dict(Price.objects.values_list("offer__onec_id", "value")) == {
        P209_SHAMPOO: Decimal("181"), P209_PASTE: Decimal("1050.00")}
    assert dict(Stock.objects.values_list("offer__onec_id", "quantity")) == {
        P209_SHAMPOO: Decimal(5), P209_PASTE: Decimal(12)}
    assert Stock.objects.get(offer__onec_id=P209_PASTE).warehouse.name == "Оптовый"
    paste = Offer.objects.get(onec_id=P209_PASTE)
    assert (paste.quantity, paste.stock_total) == (None, Decimal(12))
    assert PriceType.objects.get().name == "Интернет-магазин"
    assert stat(session, "offers", "created") == Offer.objects.count()


# --- classic_ns --------------------------------------------------------------------------------
PC_SKI, PC_POLES, PC_WAX = (f"b2070000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
OC_SKI190 = f"{PC_SKI}#c2070000-0000-4000-8000-00000000000a"
OC_SKI200 = f"{PC_SKI}#c2070000-0000-4000-8000-00000000000b"
WC_MSK, WC_SPB = "f2070000-0000-4000-8000-000000000001", "f2070000-0000-4000-8000-000000000002"


def check_classic_ns_catalog():
    assert Category.objects.get(onec_id="a2070000-0000-4000-8000-000000000002").parent.name == "Зимний спорт"
    ski = Product.objects.get(onec_id=PC_SKI)
    assert (ski.name, ski.sku, ski.barcode, ski.unit) == ("Лыжи беговые Fischer", "SKI-190", "4600000000103", "796")
    assert ski.brand.name == "Fischer" and ski.category.name == "Лыжи"
    assert ski.properties == {"Цвет": "Красный"}
    assert list(ski.images.values_list("path", flat=True)) == ["import_files/ab/ski.jpg"]  # relative to the data dir
    poles = Product.objects.get(onec_id=PC_POLES)
    assert (poles.unit, poles.description, poles.brand_id) == ("715", "", ski.brand_id)
    assert Brand.objects.count() == 1
    assert Offer.objects.get(onec_id=OC_SKI190).characteristics == [{"name": "Длина", "value": "190 см"}]
    assert Offer.objects.get(onec_id=PC_POLES).product.onec_id == PC_POLES
    assert {(w.onec_id, w.name) for w in Warehouse.objects.all()} == {
        (WC_MSK, "Склад Москва"), (WC_SPB, "Склад Санкт-Петербург")}
    assert dict(Price.objects.values_list("offer__onec_id", "value")) == {
        OC_SKI190: Decimal("12990.00"), OC_SKI200: Decimal("13490"), PC_POLES: Decimal("2500"),
        PC_WAX: Decimal("450.50")}
    assert dict(Offer.objects.values_list("onec_id", "quantity")) == {
        OC_SKI190: Decimal(7),  # <Количество> wins
        OC_SKI200: None,  # no <Количество>: nothing stated (its Склад attributes are Stock rows)
        PC_POLES: Decimal(11),  # <Количество> only …
        PC_WAX: Decimal(3),
    }
    assert not Stock.objects.filter(offer__onec_id=PC_POLES).exists()  # … so no Stock row
    assert {(s.offer.onec_id, s.warehouse.onec_id, s.quantity) for s in Stock.objects.select_related()} == {
        (OC_SKI190, WC_MSK, Decimal(5)), (OC_SKI190, WC_SPB, Decimal(2)),
        (OC_SKI200, WC_MSK, Decimal(1)), (OC_SKI200, WC_SPB, Decimal(3)), (PC_WAX, WC_MSK, Decimal(3))}


def test_classic_ns_with_bom(fixture_dir, run_import):
    d = fixture_dir("classic_ns")
    assert (d / "import.xml").read_bytes().startswith(b"\xef\xbb\xbf")
    session = run_import(d)
    assert_clean(session, 2 + 1 + 3 + 1 + 2 + 4)
    check_classic_ns_catalog()


@pytest.mark.parametrize("names", [("import0_1.xml", "offers0_1.xml"), ("import1.xml", "offers1.xml")])
def test_classic_pair_numbered_names(fixture_dir, run_import, names):
    d = fixture_dir("classic_ns")
    (d / "import.xml").rename(d / names[0])
    (d / "offers.xml").rename(d / names[1])
    assert_clean(run_import(d), 13)
    check_classic_ns_catalog()


def test_classic_ns_without_bom(fixture_dir, run_import):
    d = fixture_dir("classic_ns")
    for name in ("import.xml", "offers.xml"):
        (d / name).write_bytes((d / name).read_bytes().removeprefix(b"\xef\xbb\xbf"))
    assert_clean(run_import(d), 13)
    check_classic_ns_catalog()


# --- classic_nons_cp1251 -----------------------------------------------------------------------
PN_STICK, PN_PUCK, PN_PADS = (f"b2040000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))


def test_classic_no_namespace_cp1251(fixture_dir, run_import):
    d = fixture_dir("classic_nons_cp1251")
    raw = (d / "import.xml").read_bytes()
    assert b'encoding="windows-1251"' in raw and "Клюшка".encode("cp1251") in raw  # really cp1251 bytes
    session = run_import(d)
    assert_clean(session, 1 + 3 + 1 + 1)
    stick = Product.objects.get(onec_id=PN_STICK)
    assert (stick.name, stick.sku) == ("Клюшка хоккейная «Ёрш» №1", "КЛ-01")
    assert stick.description == "Юниорская, загиб — левый"
    assert stick.category.name == "Хоккейная экипировка"
    assert not Product.objects.filter(onec_id=PN_PUCK, is_active=True).exists()  # Статус="Удален"
    assert not Product.objects.filter(onec_id=PN_PADS, is_active=True).exists()  # <Статус>Удален</Статус>
    offer = Offer.objects.get(onec_id=PN_STICK)
    assert (offer.name, offer.quantity) == ("Клюшка хоккейная «Ёрш» №1", Decimal(4))
    p = Price.objects.get(offer=offer)
    assert (p.value, p.currency, p.price_type.name) == (Decimal("3200.00"), "руб", "Розничная цена")
    assert not Stock.objects.exists()

