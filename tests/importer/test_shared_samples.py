"""The real 1C exports in ``<repo>/../shared/commerceml`` (see its SOURCES.md), imported whole.

Expected numbers were derived independently of the importer, by reading the XML with lxml / grep
(the commands are in the comments), and are hard-coded here. The folder exists on the developers'
machines only; elsewhere these tests skip, saying so.
"""
from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.db.models import Sum

from apps.products.models import (
    Brand, Category, ImportSession, Offer, Price, PriceType, Product, ProductImage, Property, Stock, Warehouse,
)

from .test_semantics import re_export

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "commerceml"

pytestmark = [
    pytest.mark.shared_samples,
    pytest.mark.django_db,
    pytest.mark.skipif(not SHARED.is_dir(),
                       reason="../shared/commerceml not found: real 1C samples are only on the developers' machines"),
]

# Counts per sample. "items" = Группа + Свойство + ТипЦены + Склад (in Склады) + Товар + Предложение
# elements over all files. Derived with lxml, e.g.
#   len(root.findall('.//{urn:1C.ru:commerceml_2}Товар')),  sum of ЦенаЗаЕдиницу / Количество values.
EXPECTED = {
    "classic-2.07": dict(
        # import.xml: 22 Группа (7 top + 15 nested), 10 Свойство, 2 Товар, 3 Картинка;
        # offers.xml: 1 ТипЦены, 5 Склад in Склады, 5 Предложение (one Склад attribute each)
        items=22 + 10 + 2 + 1 + 5 + 5, categories=22, properties=10, brands=0, products=2, inactive_products=0,
        # The sample ships no import_files/: each Картинка is a per-item error of its good (which
        # is written, without pictures), not 3 rows pointing at nothing.
        offers=5, prices=5, price_types=1, warehouses=5, stocks=5, images=0, missing_pictures=3,
        price_sum=Decimal("7104"),  # 1719 + 1496 + 1309 + 1309 + 1271
        stock_sum=Decimal("219"),  # 20 + 19 + 120 + 15 + 45 (= the sum of the <Количество>s)
    ),
    "ut-2.07": dict(
        # import0_1.xml: 1 Группа, 12 Свойство, 36 Товар (one Статус="Удален"), all with one Изготовитель;
        # offers0_1.xml: 1 ТипЦены, 3 Склад, 44 Предложение — Ид == product Ид, 8 of them for goods
        # that are not in import0_1.xml (products made from the offer) — 3 Склад attributes each
        items=1 + 12 + 36 + 1 + 3 + 44, categories=1, properties=12, brands=1, products=36 + 8, inactive_products=1,
        offers=44, prices=44, price_types=1, warehouses=3, stocks=44 * 3, images=0,
        price_sum=Decimal("4400"),  # 44 × 100
        stock_sum=Decimal("2815"),  # sum of КоличествоНаСкладе (= sum of <Количество>)
    ),
    "package-2.09": dict(
        # import___*.xml: 97 Группа, 1908 Свойство (12 with ПометкаУдаления true), 1 ТипЦены, 1 Склад,
        #   a Каталог with no Товары at all; offers___f0bab95c: the same 1908 Свойство again;
        # offers___7f304edc: 978 Предложение (Ид without '#', never a known product: 978 products made
        #   from offers); prices___: 978 (one Цена each); rests___: 978 (one Остаток each, one "-1").
        # Everything is СодержитТолькоИзменения="true": nothing gets deactivated.
        items=97 + 1908 + 1 + 1 + 978 + 1908 + 978 + 978, categories=97, properties=1908, brands=0, products=978,
        inactive_products=0, offers=978, prices=978, price_types=1, warehouses=1, stocks=978, images=0,
        price_sum=Decimal("366563"),
        stock_sum=Decimal("1924"),
    ),
}


def test_every_sample_folder_is_covered():
    folders = {p.name for p in SHARED.iterdir() if p.is_dir()}
    assert folders == set(EXPECTED), "a sample folder was added or removed: derive its expectations here"


@pytest.fixture(params=sorted(EXPECTED))
def sample(request, run_import):
    session = run_import(SHARED / request.param)
    return request.param, session


def test_sample_counts(sample, stat):
    name, session = sample
    want = EXPECTED[name]
    assert session.status == ImportSession.Status.COMPLETED, session.error_message
    missing = want.get("missing_pictures", 0)
    assert [e["message"] for e in session.errors if "не найдено в выгрузке" not in e["message"]] == []
    assert len(session.errors) == missing and session.failed_items == (1 if missing else 0), session.errors[:5]
    assert session.total_items == session.processed_items == want["items"]
    assert Category.objects.count() == want["categories"]
    assert Property.objects.count() == want["properties"]
    assert Brand.objects.count() == want["brands"]
    assert Product.objects.count() == want["products"]
    assert Product.objects.filter(is_active=False).count() == want["inactive_products"]
    assert Offer.objects.count() == want["offers"]
    assert Offer.objects.filter(is_active=False).count() == 0
    assert PriceType.objects.count() == want["price_types"]
    assert Warehouse.objects.count() == want["warehouses"]
    assert Price.objects.count() == want["prices"]
    assert Stock.objects.count() == want["stocks"]
    assert ProductImage.objects.count() == want["images"]
    assert Price.objects.aggregate(s=Sum("value"))["s"] == want["price_sum"]
    assert Stock.objects.aggregate(s=Sum("quantity"))["s"] == want["stock_sum"]
    assert sum(offer.stock_total or 0 for offer in Offer.objects.all()) == want["stock_sum"]  # stated totals, or derived ones (2.09)
    assert stat(session, "offers", "created") == want["offers"]
    assert stat(session, "prices", "created") == want["prices"]


@pytest.mark.parametrize("force", [False, True], ids=["shortcut", "forced"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_second_run_changes_nothing(name, force, run_import, catalog_snapshot, tmp_path):
    """Imported, then re-exported (a new ДатаФормирования in every file, as 1C does) and imported
    again: recognised as the same data, or (forced) a full read that must find every row unchanged."""
    copy = tmp_path / name
    shutil.copytree(SHARED / name, copy)
    first = run_import(copy)
    assert first.status == ImportSession.Status.COMPLETED, first.error_message
    before = catalog_snapshot()
    re_export(copy)
    second = run_import(copy, force=force)
    # A good whose pictures are missing (classic-2.07) is retried by every import, so an import
    # with such errors is never skipped as "the same data" and that good is written again.
    retried = {e["onec_id"] for e in first.errors}
    assert ("unchanged_since" in second.stats) is not (force or bool(retried))
    assert second.status == ImportSession.Status.COMPLETED, second.error_message

    def settled(snapshot):
        for row in snapshot["Product"]:
            if row["onec_id"] in retried:
                row.pop("updated_at")
        return snapshot

    assert settled(catalog_snapshot()) == settled(before)
    changed = {kind: counts for kind, counts in second.stats.items() if isinstance(counts, dict)
               and any(counts.get(k, 0) for k in ("created", "updated", "deactivated"))}
    assert {kind: counts.get("updated") for kind, counts in changed.items()} == (
        {"products": len(retried)} if retried else {})


def test_classic_207_values(run_import):
    session = run_import(SHARED / "classic-2.07")
    assert session.status == ImportSession.Status.COMPLETED, session.error_message
    boots = Product.objects.get(onec_id="bd72d910-55bc-11d9-848a-00112f43529a")
    assert (boots.name, boots.sku, boots.barcode, boots.unit) == (
        "Женские ботфорты коричневые", "Б-130001", "2000018987155", "715")
    assert boots.category.onec_id == "e5a4c309-a659-11dd-acee-0015e9b8c48d"  # "Обувь" under "Обувь"
    assert boots.category.parent.name == "Обувь"
    # dictionary values (ИдЗначения) resolved through Свойства/ВариантыЗначений; a plain string kept
    assert boots.properties == {"Производитель": "Обувной комбинат", "Вид товара": "Демисезонная обувь",
                                "Канал сбыта": "Опт", "Основной поставщик": "ООО Рога и копыта"}
    assert not boots.images.exists()  # its three pictures are not in the sample (see EXPECTED)
    assert sorted(e["message"] for e in ImportSession.objects.get().errors) == [
        f"изображение 'import_files/9d/9da00149441011e19bb10015174048b8_0e01fd9e204611e8b2a794de807044d{i}.jpg' "
        "не найдено в выгрузке (товар сохраняет прежние изображения)" for i in (1, 2, 3)]
    assert Product.objects.get(onec_id="bd72d913-55bc-11d9-848a-00112f43529a").sku == "Б- 130005"

    offer = Offer.objects.get(onec_id="bd72d910-55bc-11d9-848a-00112f43529a#90c55447-d3a8-11e4-9423-e0cb4ed5eed4")
    assert offer.product_id == boots.pk
    assert offer.name == "Женские ботфорты коричневые (38)"
    assert offer.characteristics == [{"name": "Размер", "value": "40"}, {"name": "Тип кожи", "value": "натуральная кожа"},
                                     {"name": "Цвет", "value": "Коричневый"}]
    assert offer.quantity == Decimal(20)
    (p,) = offer.prices.all()
    assert (p.value, p.currency, p.price_type.name) == (Decimal("1719"), "RUB", "Розничная")
    (s,) = offer.stocks.all()
    assert (s.warehouse.name, s.quantity) == ('Магазин "Обувь"', Decimal(20))


def test_ut_207_values(run_import):
    session = run_import(SHARED / "ut-2.07")
    assert session.status == ImportSession.Status.COMPLETED, session.error_message
    mat = Product.objects.get(onec_id="bd8c4e15-18f9-11e7-80c2-0cc47ab29cd1")
    assert (mat.name, mat.sku, mat.barcode) == (
        "Портативный коврик Portable 140x200x1 см, Деревянные лошадки", "PM-421-WP", "8809288404089")
    assert mat.unit == "796"  # Код="796 " in the file
    assert mat.brand.name == "Crazy Boom"
    assert mat.category.name == "Коврики для дома"
    assert {k: mat.properties.get(k) for k in ("Страна производства", "Линейка", "Материал", "Расцветка", "Код ОЗОН")} == {
        "Страна производства": "КОРЕЯ, РЕСПУБЛИКА", "Линейка": "Portable", "Материал": "PE",
        "Расцветка": "Деревянные лошадки", "Код ОЗОН": "149831179"}

    offer = Offer.objects.get(onec_id="bd8c4e15-18f9-11e7-80c2-0cc47ab29cd1")  # offer Ид == product Ид
    assert offer.product_id == mat.pk and offer.quantity == Decimal(377)
    assert offer.prices.get().value == Decimal("100")
    assert offer.prices.get().price_type.name == "BASE"
    assert dict(offer.stocks.values_list("warehouse__name", "quantity")) == {
        "Владивосток": Decimal(1), "Новосибирск": Decimal(0), "Москва": Decimal(376)}

    gone = Product.objects.get(onec_id="b631c9c1-49de-11e9-80c9-0cc47ab29cd1")  # <Товар Статус="Удален">
    assert (gone.name, gone.sku, gone.is_active) == ("Коврик Mini Монстера, 120x44x1.5 см", "KM-245-BC", False)

    chair = Product.objects.get(onec_id="1ebb7d25-a752-11e8-80c8-0cc47ab29cd1")  # only in offers0_1.xml
    assert (chair.name, chair.sku, chair.is_active) == ("Детское кресло Higher, белое", "HKS-345-SW", True)
    assert Offer.objects.get(onec_id=chair.onec_id).quantity == Decimal(0)


def test_package_209_values(run_import):
    session = run_import(SHARED / "package-2.09")
    assert session.status == ImportSession.Status.COMPLETED, session.error_message
    deo = Offer.objects.get(onec_id="26b0dc1e-4d66-11e4-99fe-003048c64779")
    name = "Дезодорант для мужчин Чистая линия Фито защита без белых следов 150мл"  # the file adds a trailing space
    assert deo.name.strip() == name and deo.product.name.strip() == name  # product made from the offer
    assert deo.product.onec_id == deo.onec_id
    (p,) = deo.prices.all()
    assert (p.value, p.currency, p.price_type.name) == (Decimal("181"), "RUB", "Типовое соглашение Интернет-МХТ")
    (s,) = deo.stocks.all()
    assert (s.warehouse.name, s.quantity) == ("Оптовый", Decimal(1))
    assert (deo.quantity, deo.stock_total) == (None, Decimal(1))  # rests give per-warehouse stock only

    soap = Offer.objects.get(onec_id="633e7908-4eb6-11e4-99fe-003048c64779")
    assert soap.name == "Мыло-жидкое NIVEA Нежное увлажнение 250мл"
    assert soap.prices.get().value == Decimal("167")
    assert soap.stock_total == Decimal(-1)  # 1C reports -1 (oversold); kept as sent

    root = Category.objects.get(parent=None)
    assert root.name == "Косметика и гигиена" and root.children.count() == 9
    assert Property.objects.filter(is_active=False).count() == 12  # ПометкаУдаления true
    assert Warehouse.objects.get().name == "Оптовый"
