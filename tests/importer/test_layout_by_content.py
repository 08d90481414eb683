"""Files are told apart by what they contain, not by their names (``apps.products.onec.layout``).

Every fixture gets its files in reading order (classifier → goods → offers → prices → stock) and its
layout label; the numbered 1C-Bitrix package (``bitrix_31``) imports into the catalog written below by
hand, also with every file renamed to say nothing (or the wrong thing); a file that is not CommerceML
is refused naming it; telling a file's kind reads a bounded number of bytes however big it is.
"""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from apps.products.models import ImportSession
from apps.products.onec import layout
from apps.products.onec.errors import CatalogImportError
from apps.products.onec.layout import PackageFile, classify, discover_package
from apps.products.onec.safexml import scan_file

from tests.conftest import ONEC_FIXTURES, SHARED_SAMPLES, catalog_state

# --- every fixture: its files in reading order, with the kind read from each ------------------

ORDERS = {
    "ut11_full": ("ut11", [
        ("groups/groups.xml", "groups"),
        ("propertiesGoods/propertiesGoods.xml", "properties"),
        ("propertiesOffers/propertiesOffers.xml", "properties"),
        ("priceLists/priceLists.xml", "price_types"),
        ("storages/storages.xml", "warehouses"),
        ("units/units.xml", "units"),
        ("goods/1/goods_1_1_0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9.xml", "goods"),
        ("goods/goods_1_2_9f1e2d3c-4b5a-4697-8879-6a5b4c3d2e1f.xml", "goods"),
        ("goods/goods_2_2_9f1e2d3c-4b5a-4697-8879-6a5b4c3d2e1f.xml", "goods"),
        ("offers/offers.xml", "offers"),
        ("prices/1/prices_1_1_3c4d5e6f-7a8b-49c0-8d1e-2f3a4b5c6d7e.xml", "prices"),
        ("rests/rests.xml", "stock"),
    ]),
    "ut11_incremental": ("ut11", [("goods/goods.xml", "goods"), ("prices/prices.xml", "prices")]),
    "package_209": ("package", [
        ("import___1e2f3a4b-5c6d-4e7f-8091-a2b3c4d5e6f7.xml", "goods"),
        ("offers___2f3a4b5c-6d7e-4f80-91a2-b3c4d5e6f708.xml", "offers"),
        ("prices___3a4b5c6d-7e8f-4091-a2b3-c4d5e6f70819.xml", "prices"),
        ("rests___4b5c6d7e-8f90-41a2-b3c4-d5e6f708192a.xml", "stock"),
    ]),
    "item_errors": ("package", [
        ("import___5c6d7e8f-9001-42a3-b4c5-d6e7f8091a2b.xml", "goods"),
        ("offers___6d7e8f90-0112-43b4-c5d6-e7f8091a2b3c.xml", "offers"),
        ("prices___7e8f9001-1223-44c5-d6e7-f8091a2b3c4d.xml", "prices"),
        ("rests___8f900112-2334-45d6-e7f8-091a2b3c4d5e.xml", "stock"),
    ]),
    # classifier + goods in one file: read at the rank of goods; offers with price types and stock
    "classic_ns": ("classic", [("import.xml", "goods"), ("offers.xml", "offers")]),
    "classic_nons_cp1251": ("classic", [("import.xml", "goods"), ("offers.xml", "offers")]),  # no namespace
    "classic_hash_goods": ("classic", [("import.xml", "goods"), ("offers.xml", "offers")]),  # "#" goods
    "ut11_product_prices": ("ut11", [
        ("priceLists/priceLists.xml", "price_types"),
        ("storages/storages.xml", "warehouses"),
        ("goods/goods.xml", "goods"),
        ("offers/offers.xml", "offers"),
        ("prices/prices.xml", "prices"),
        ("rests/rests.xml", "stock"),
    ]),
    "pictures": ("ut11", [("goods/1/goods_1_1_94000000-0000-4000-8000-0000000000f1.xml", "goods")]),
    "bitrix_31": ("bitrix", [
        ("properties/1/import.xml", "properties"),
        ("properties/1/offers.xml", "properties"),  # called "offers", carries the offers' properties
        ("import.xml", "price_types"),  # groups, price types, warehouses, units
        ("goods/1/import.xml", "goods"),
        ("goods/2/import.xml", "goods"),
        ("goods/1/offers.xml", "offers"),
        ("goods/2/offers.xml", "offers"),
        ("goods/1/prices.xml", "prices"),
        ("goods/2/prices.xml", "prices"),
        ("goods/1/rests.xml", "stock"),
        ("goods/2/rests.xml", "stock"),
    ]),
}


def listing(package) -> list[tuple[str, str]]:
    return [(pf.rel, pf.kind) for pf in package.files]


FIXTURES = sorted(p.name for p in ONEC_FIXTURES.iterdir() if p.is_dir())


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_files_in_reading_order(name, fixture_dir):
    package = discover_package(fixture_dir(name))
    assert [pf.rank for pf in package.files] == sorted(pf.rank for pf in package.files)
    assert all(pf.size == pf.path.stat().st_size for pf in package.files)
    assert "other" not in {pf.kind for pf in package.files}  # every file of a fixture carries catalog data
    assert (package.layout, listing(package)) == ORDERS[name]


def test_every_fixture_has_its_order_written_down():
    assert set(ORDERS) == set(FIXTURES)


SHARED_ORDERS = {
    "classic-2.07": ("classic", [("import.xml", "goods"), ("offers.xml", "offers")]),
    # offers0_1.xml opens with a classifier that is only a header (Ид, Наименование, Владелец): offers
    "ut-2.07": ("classic", [("import0_1.xml", "goods"), ("offers0_1.xml", "offers")]),
    "package-2.09": ("package", [
        # named "offers", but its offers package is a bare header and its classifier holds properties
        ("offers___f0bab95c-14a6-4141-9746-6650b65f1191.xml", "properties"),
        # 1.2 MB, a classifier far longer than the peek: the Каталог is found at the end
        ("import___b815e2db-7a65-4265-9241-5f0c4f0565a7.xml", "goods"),
        ("offers___7f304edc-2527-4d3d-b058-6e4ee53de2e0.xml", "offers"),
        ("prices___d66a6b51-ce9c-4e7a-8c7c-25079721107f.xml", "prices"),
        ("rests___1af6e7b8-a026-4690-9752-1c9d64cb914d.xml", "stock"),
    ]),
}


@pytest.mark.shared_samples
@pytest.mark.skipif(not SHARED_SAMPLES.is_dir(), reason="../shared/commerceml not found (developers' machines only)")
@pytest.mark.parametrize("name", SHARED_ORDERS)
def test_real_exports_in_reading_order(name):
    package = discover_package(SHARED_SAMPLES / name)
    assert (package.layout, listing(package)) == SHARED_ORDERS[name]


# --- the numbered 1C-Bitrix package, imported whole --------------------------------------------

G_WINTER, G_SKIS, G_SKATES = (f"a3110000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
P_SKIS, P_SKATES, P_WAX, P_POLES, P_BINDINGS = (f"b3110000-0000-4000-8000-00000000000{i}" for i in range(1, 6))
O_SKIS_190, O_SKIS_200, O_SKATES_42, O_SKATES_44 = (
    f"{product}#c3110000-0000-4000-8000-00000000000{i}"
    for product, i in ((P_SKIS, 1), (P_SKIS, 2), (P_SKATES, 3), (P_SKATES, 4)))
RETAIL, WHOLESALE = "e3110000-0000-4000-8000-000000000001", "e3110000-0000-4000-8000-000000000002"
NSK, TOMSK = "f3110000-0000-4000-8000-000000000001", "f3110000-0000-4000-8000-000000000002"
BITRIX_ITEMS = 3 + 3 + 2 + 2 + 5 + 6 * 3  # groups, properties, price types, warehouses, goods, offers × 3 files


def size(value: str) -> list[dict]:
    return [{"name": "Размер", "value": value}]


BITRIX_CATALOG = {
    "categories": {
        G_WINTER: {"name": "Зимний спорт", "parent": None, "active": True},
        G_SKIS: {"name": "Лыжи", "parent": G_WINTER, "active": True},
        G_SKATES: {"name": "Коньки", "parent": G_WINTER, "active": True},
    },
    "products": {
        P_SKIS: {"name": "Лыжи беговые Nordic Carbon", "sku": "SKI-NC", "active": True, "category": G_SKIS,
                 "images": 0},
        P_SKATES: {"name": "Коньки хоккейные Барс", "sku": "SK-BARS", "active": True, "category": G_SKATES,
                   "images": 0},
        P_WAX: {"name": "Мазь лыжная «Старт»", "sku": "WAX-1", "active": True, "category": G_SKIS, "images": 0},
        P_POLES: {"name": "Палки лыжные Nordic", "sku": "POLE-150", "active": True, "category": G_SKIS,
                  "images": 0},
        # goods/2/import.xml: <ПометкаУдаления>true</ПометкаУдаления>, no offers
        P_BINDINGS: {"name": "Крепления NNN (сняты с продажи)", "sku": "NNN-OLD", "active": False,
                     "category": G_SKIS, "images": 0},
    },
    "offers": {
        O_SKIS_190: {"product": P_SKIS, "name": "Лыжи беговые Nordic Carbon (190 см)", "active": True,
                     "characteristics": size("190 см"), "quantity": None},
        O_SKIS_200: {"product": P_SKIS, "name": "Лыжи беговые Nordic Carbon (200 см)", "active": True,
                     "characteristics": size("200 см"), "quantity": None},
        O_SKATES_42: {"product": P_SKATES, "name": "Коньки хоккейные Барс (42)", "active": True,
                      "characteristics": size("42"), "quantity": None},
        O_SKATES_44: {"product": P_SKATES, "name": "Коньки хоккейные Барс (44)", "active": True,
                      "characteristics": size("44"), "quantity": None},
        # products without characteristics: the offer's Ид is the product's
        P_WAX: {"product": P_WAX, "name": "Мазь лыжная «Старт»", "active": True, "characteristics": [],
                "quantity": None},
        P_POLES: {"product": P_POLES, "name": "Палки лыжные Nordic", "active": True, "characteristics": [],
                  "quantity": None},
    },
    "prices": {
        (O_SKIS_190, RETAIL): "12990", (O_SKIS_190, WHOLESALE): "10500",  # "12 990,00", "10 500,00"
        (O_SKIS_200, RETAIL): "13490", (O_SKIS_200, WHOLESALE): "10900",
        (O_SKATES_42, RETAIL): "5490", (O_SKATES_42, WHOLESALE): "4400.5",
        (O_SKATES_44, RETAIL): "5490",  # no wholesale price
        (P_WAX, RETAIL): "450.5", (P_WAX, WHOLESALE): "360",
        (P_POLES, RETAIL): "2190", (P_POLES, WHOLESALE): "1750",
    },
    "stock": {
        (O_SKIS_190, NSK): "4", (O_SKIS_190, TOMSK): "1",
        (O_SKIS_200, NSK): "0", (O_SKIS_200, TOMSK): "2",
        (O_SKATES_42, NSK): "7",  # one warehouse only
        (O_SKATES_44, NSK): "3", (O_SKATES_44, TOMSK): "3",
        (P_WAX, NSK): "25", (P_WAX, TOMSK): "10.5",  # "10,5"
        (P_POLES, NSK): "6", (P_POLES, TOMSK): "0",
    },
}


def assert_clean(session, layout_name: str):
    assert session.status == ImportSession.Status.COMPLETED, session.error_message
    assert session.errors == [] and session.failed_items == 0, session.errors
    assert session.total_items == session.processed_items == BITRIX_ITEMS
    assert session.stats["layout"] == layout_name


@pytest.mark.django_db
def test_bitrix_31_package_imports_whole(fixture_dir, run_import):
    session = run_import(fixture_dir("bitrix_31"))
    assert_clean(session, "bitrix")
    assert catalog_state() == BITRIX_CATALOG


@pytest.mark.django_db
def test_bitrix_31_reimport_changes_nothing(fixture_dir, run_import, catalog_snapshot):
    d = fixture_dir("bitrix_31")
    run_import(d)
    before = catalog_snapshot()
    session = run_import(d, force=True)
    assert_clean(session, "bitrix")
    assert catalog_snapshot() == before


# Every file of bitrix_31 under a name that says nothing, or says the wrong thing, and whose
# alphabetical order is the reverse of the reading order.
MISLEADING_NAMES = {
    "goods/2/rests.xml": "a/1/import.xml",
    "goods/1/rests.xml": "a/data.xml",
    "goods/2/prices.xml": "b/2.xml",
    "goods/1/prices.xml": "b/10.xml",
    "goods/2/offers.xml": "c/goods.xml",
    "goods/1/offers.xml": "x/offers_import.xml",
    "goods/2/import.xml": "x/rests.xml",
    "goods/1/import.xml": "data.xml",
    "import.xml": "offers.xml",
    "properties/1/offers.xml": "prices.xml",
    "properties/1/import.xml": "z.xml",
}


def renamed_bitrix(fixture_dir, tmp_path) -> Path:
    source = fixture_dir("bitrix_31")
    target = tmp_path / "renamed"
    for old, new in MISLEADING_NAMES.items():
        (target / new).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / old, target / new)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.xml")) == sorted(MISLEADING_NAMES.values())
    return target


def test_files_named_unusually_are_ordered_by_content(fixture_dir, tmp_path):
    package = discover_package(renamed_bitrix(fixture_dir, tmp_path))
    assert package.layout == "other"
    assert listing(package) == [
        ("prices.xml", "properties"), ("z.xml", "properties"),  # within a kind: natural order of the paths
        ("offers.xml", "price_types"),
        ("data.xml", "goods"), ("x/rests.xml", "goods"),
        ("c/goods.xml", "offers"), ("x/offers_import.xml", "offers"),
        ("b/2.xml", "prices"), ("b/10.xml", "prices"),  # 2 before 10
        ("a/1/import.xml", "stock"), ("a/data.xml", "stock"),
    ]


@pytest.mark.django_db
def test_files_named_unusually_import_the_same_catalog(fixture_dir, tmp_path, run_import):
    session = run_import(renamed_bitrix(fixture_dir, tmp_path))
    assert_clean(session, "other")
    assert catalog_state() == BITRIX_CATALOG


@pytest.mark.django_db
def test_classic_pair_with_other_names(fixture_dir, tmp_path, run_import):
    """A goods file called data.xml and an offers file beside it whose name sorts first, in a folder x/:
    the same catalog as classic_ns."""
    run_import(fixture_dir("classic_ns"))
    expected = catalog_state()
    from apps.products import models

    for model in (models.Stock, models.Price, models.Offer, models.ProductImage, models.Product):
        model.objects.all().delete()
    while models.Category.objects.exists():  # parents are protected: leaves first
        models.Category.objects.filter(children__isnull=True).delete()
    assert all(not rows for rows in catalog_state().values())

    d = fixture_dir("classic_ns")
    (d / "x").mkdir()
    (d / "offers.xml").rename(d / "x" / "a.xml")  # sorts before x/data.xml, read after it
    (d / "import.xml").rename(d / "x" / "data.xml")
    (d / "import_files").rename(d / "x" / "import_files")  # pictures are named relative to the goods file
    package = discover_package(d)
    assert (package.layout, listing(package)) == ("other", [("x/data.xml", "goods"), ("x/a.xml", "offers")])
    session = run_import(d)
    assert session.status == ImportSession.Status.COMPLETED and session.failed_items == 0, session.errors
    assert catalog_state() == expected


# --- refused: not CommerceML, wherever it is ---------------------------------------------------

NOT_COMMERCEML = {
    "x.xml": b'<?xml version="1.0" encoding="UTF-8"?>\n<x/>\n',
    "html.xml": b"<html><body><p>1C</p></body></html>",
    "yml.xml": '<?xml version="1.0" encoding="windows-1251"?>\n<yml_catalog><shop><name>Магазин</name>'
               '</shop></yml_catalog>\n'.encode("cp1251"),
    "text.xml": "Выгрузка 1С\n".encode(),
    "empty.xml": b"",
    "blank.xml": b"  \n",
    "declaration-only.xml": b'<?xml version="1.0" encoding="UTF-8"?>\n',
}


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["import.xml", "goods/1/import.xml", "goods/3/notes.xml", "readme.xml"])
@pytest.mark.parametrize("content", NOT_COMMERCEML)
def test_non_commerceml_file_anywhere_is_refused_naming_it(where, content, fixture_dir, run_import):
    d = fixture_dir("bitrix_31")
    (d / where).parent.mkdir(parents=True, exist_ok=True)
    (d / where).write_bytes(NOT_COMMERCEML[content])
    with pytest.raises(CatalogImportError) as excinfo:
        discover_package(d)
    assert excinfo.value.file == where
    assert "CommerceML" in excinfo.value.message or "XML" in excinfo.value.message, excinfo.value.message

    session = run_import(d)  # and through the service: a failed session, nothing written
    assert session.status == ImportSession.Status.FAILED
    assert f"{where}: " in session.error_message
    assert all(not rows for rows in catalog_state().values())


def test_messages_say_what_is_wrong(fixture_dir):
    cases = {
        b'<?xml version="1.0"?><x/>': "это не документ CommerceML (корневой элемент <x>)",
        b"": "это не документ CommerceML (пустой файл)",
        b"  \n": "это не документ CommerceML (не найден корневой элемент)",
        b"\x89PNG\r\n\x1a\n": "повреждённый или неполный XML",
        b'<?xml version="1.0"?><!DOCTYPE x><x/>': "документ содержит DOCTYPE",
    }
    for content, message in cases.items():
        d = fixture_dir("classic_ns")
        (d / "offers.xml").write_bytes(content)
        with pytest.raises(CatalogImportError) as excinfo:
            discover_package(d)
        assert str(excinfo.value).startswith(f"offers.xml: {message}"), str(excinfo.value)


@pytest.mark.parametrize("content", ["<x/>", "<x><Товар><Ид>1</Ид></Товар></x>"])
def test_prescan_refuses_a_non_commerceml_document(content, tmp_path):
    """The pre-scan's own check, behind the layout's: ``<x/>`` (no element it streams) is not an empty package."""
    path = tmp_path / "import.xml"
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n{content}\n', encoding="utf-8")
    pf = PackageFile(path=path, rel="import.xml", kind="goods", rank=3, size=path.stat().st_size)
    with pytest.raises(CatalogImportError) as excinfo:
        scan_file(pf, tmp_path)
    assert str(excinfo.value) == "import.xml: это не документ CommerceML (корневой элемент <x>)"


def test_orders_document_is_refused(fixture_dir):
    """CommerceML, but a business document: read as a catalog, its order lines would become goods."""
    d = fixture_dir("bitrix_31")
    (d / "goods" / "1" / "orders.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_3" '
        'ВерсияСхемы="3.1"><Документ><Ид>1</Ид><Товары><Товар><Ид>b3110000-0000-4000-8000-000000000001</Ид>'
        '<Наименование>Лыжи</Наименование></Товар></Товары></Документ></КоммерческаяИнформация>', encoding="utf-8")
    with pytest.raises(CatalogImportError) as excinfo:
        discover_package(d)
    assert excinfo.value.file == "goods/1/orders.xml"
    assert "<Документ>" in excinfo.value.message


# --- kinds that cannot be told, or are told in unusual shapes -----------------------------------

DOC = '<?xml version="1.0" encoding="{enc}"?>\n<КоммерческаяИнформация {ns}ВерсияСхемы="{ver}">{body}</КоммерческаяИнформация>\n'
NS3 = 'xmlns="urn:1C.ru:commerceml_3" '


def doc(body: str, *, ns: str = NS3, ver: str = "3.1", enc: str = "UTF-8") -> bytes:
    return DOC.format(enc=enc, ns=ns, ver=ver, body=body).encode("cp1251" if enc == "windows-1251" else "utf-8")


def kind_of(content: bytes) -> str:
    return classify(io.BytesIO(content), size=len(content), rel="f.xml")


HEADER = "<Ид>1</Ид><Наименование>Пакет</Наименование>"
OFFER_PACKAGE = "<ПакетПредложений>" + HEADER + "<Предложения><Предложение><Ид>b1</Ид>{}</Предложение></Предложения></ПакетПредложений>"


@pytest.mark.parametrize("body, kind", [
    # nothing the catalog reads: kept, read last (it carries nothing to read)
    ("", "other"),
    ("<Каталог2/>", "other"),
    # a classifier with only its header (the classic offers.xml opens with one): a classifier
    ("<Классификатор>" + HEADER + "</Классификатор>", "classifier"),
    ("<Классификатор>" + HEADER + "<Группы><Группа><Ид>a</Ид></Группа></Группы><Свойства/></Классификатор>",
     "properties"),
    ("<Классификатор>" + HEADER + "<ЕдиницыИзмерения/></Классификатор>", "units"),
    ("<Каталог>" + HEADER + "<Товары/></Каталог>", "goods"),  # an empty list of goods is still goods
    ("<ПакетПредложений>" + HEADER + "</ПакетПредложений>", "other"),  # a bare header carries nothing
    ("<ПакетПредложений>" + HEADER + "<ТипыЦен><ТипЦены><Ид>e</Ид></ТипЦены></ТипыЦен></ПакетПредложений>",
     "price_types"),
    ("<ПакетПредложений>" + HEADER + "<Предложения/></ПакетПредложений>", "offers"),
    (OFFER_PACKAGE.format("<Наименование>Мяч</Наименование><Цены/>"), "offers"),
    (OFFER_PACKAGE.format("<Цены><Цена/></Цены>"), "prices"),
    (OFFER_PACKAGE.format("<Остатки><Остаток/></Остатки>"), "stock"),
    (OFFER_PACKAGE.format('<Склад ИдСклада="f" КоличествоНаСкладе="1"/>'), "stock"),
    (OFFER_PACKAGE.format("<Количество>3</Количество>"), "stock"),
    (OFFER_PACKAGE.format(""), "offers"),  # only an Ид: cannot be told, read with the offers
    (OFFER_PACKAGE.format("<Цены/>").replace("ПакетПредложений", "ИзмененияПакетаПредложений"), "prices"),
    # several sections: the latest kind (2.09's second offers file: a header, then properties)
    ("<ПакетПредложений>" + HEADER + "</ПакетПредложений><Классификатор>" + HEADER + "<Свойства/></Классификатор>",
     "properties"),
    # the peek stops at the first good; the offers package after it is found by its closing tag at the
    # end, which does not say whether it holds offers, prices or stock: read with the offers
    ("<Классификатор>" + HEADER + "<Группы/></Классификатор><Каталог>" + HEADER + "<Товары><Товар><Ид>b</Ид></Товар>"
     "</Товары></Каталог>" + OFFER_PACKAGE.format("<Цены/>"), "offers"),
])
def test_kind_by_content(body, kind):
    assert kind_of(doc(body)) == kind


def test_cp1251_no_namespace_and_prefixed_documents():
    body = OFFER_PACKAGE.format("<Наименование>Ёрш «№1»</Наименование>")
    assert kind_of(doc(body, ns="", ver="2.04", enc="windows-1251")) == "offers"
    prefixed = ('<?xml version="1.0"?>\n<c:КоммерческаяИнформация xmlns:c="urn:1C.ru:commerceml_2">'
                "<c:Каталог><c:Товары><c:Товар><c:Ид>1</c:Ид></c:Товар></c:Товары></c:Каталог>"
                "</c:КоммерческаяИнформация>")
    assert kind_of(prefixed.encode()) == "goods"


def big_classifier_then(section: str, *, ns: str = NS3, enc: str = "UTF-8") -> bytes:
    """A classifier much longer than the peek, followed by ``section``: only the tail can tell."""
    groups = "".join(f"<Группа><Ид>a{i}</Ид><Наименование>Группа «{i}»</Наименование></Группа>" for i in range(20000))
    return doc(f"<Классификатор>{HEADER}<Группы>{groups}</Группы></Классификатор>{section}", ns=ns, enc=enc)


@pytest.mark.parametrize("enc", ["UTF-8", "windows-1251"])
@pytest.mark.parametrize("ns", [NS3, ""])
def test_the_last_section_is_found_at_the_end(enc, ns):
    catalog = "<Каталог>" + HEADER + "<Товары><Товар><Ид>b</Ид></Товар></Товары></Каталог>"
    content = big_classifier_then(catalog, ns=ns, enc=enc)
    assert len(content) > 10 * layout.PEEK_LIMIT
    assert kind_of(content) == "goods"
    assert kind_of(big_classifier_then("", ns=ns, enc=enc)) == "groups"
    assert kind_of(big_classifier_then(OFFER_PACKAGE.format("<Цены/>"), ns=ns, enc=enc)) == "offers"


@pytest.mark.parametrize("offset", range(-20, 4))
def test_a_closing_tag_across_the_end_of_the_head_is_found(offset):
    """The head stops at PEEK_LIMIT inside an offers package it saw start but not carry anything;
    its closing tag starts ``offset`` bytes from there, maybe half in the head, half in the tail."""
    groups = "".join(f"<Группа><Ид>a{i}</Ид></Группа>" for i in range(500))
    before = doc(f"<Классификатор>{HEADER}<Группы>{groups}</Группы></Классификатор><ПакетПредложений>{HEADER}")
    before = before.split("</Комм".encode())[0]
    padding = layout.PEEK_LIMIT + offset - len(before)
    assert padding > 0
    content = before + b" " * padding + "</ПакетПредложений></КоммерческаяИнформация>\n".encode()
    assert content.index("</ПакетПредложений>".encode()) == layout.PEEK_LIMIT + offset
    assert kind_of(content) == "offers"


@pytest.mark.django_db
def test_a_file_whose_kind_cannot_be_told_is_read_last(fixture_dir, run_import):
    """CommerceML with nothing the catalog reads: not refused, read after everything, imports nothing."""
    d = fixture_dir("bitrix_31")
    (d / "0.xml").write_bytes(doc(""))
    (d / "goods" / "1" / "0.xml").write_bytes(doc("<ПакетПредложений>" + HEADER + "</ПакетПредложений>"))
    package = discover_package(d)
    assert listing(package)[-2:] == [("0.xml", "other"), ("goods/1/0.xml", "other")]
    assert listing(package)[:-2] == ORDERS["bitrix_31"][1]
    assert package.layout == "bitrix"
    session = run_import(d)
    assert_clean(session, "bitrix")
    assert catalog_state() == BITRIX_CATALOG


# --- telling a file's kind stays cheap ----------------------------------------------------------

class CountingReader(io.RawIOBase):
    """A binary file that counts the bytes handed out through ``read``."""

    def __init__(self, path: Path) -> None:
        self.fh = open(path, "rb")
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.fh.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.bytes_read += len(data)
        return data

    def close(self) -> None:
        self.fh.close()
        super().close()


def test_classifying_big_files_reads_a_bounded_number_of_bytes(tmp_path):
    from apps.products.onec.synthetic import write_package

    write_package(tmp_path / "big", products=4000)
    head_and_tail = layout.PEEK_CHUNK + layout.TAIL_BYTES
    seen = {}
    for path in sorted((tmp_path / "big").rglob("*.xml")):
        size = path.stat().st_size
        reader = CountingReader(path)
        try:
            kind = classify(reader, size=size, rel=path.name)
        finally:
            reader.close()
        seen[path.parent.name] = kind
        if size > 4 * 1024 * 1024:  # goods, offers, prices, rests: several MiB each
            assert reader.bytes_read <= head_and_tail, (path.name, size, reader.bytes_read)
        assert reader.bytes_read <= min(size, layout.PEEK_LIMIT + head_and_tail), (path.name, reader.bytes_read)
    assert seen == {"groups": "groups", "propertiesGoods": "properties", "priceLists": "price_types",
                    "storages": "warehouses", "units": "units", "goods": "goods", "offers": "offers",
                    "prices": "prices", "rests": "stock"}

    big = tmp_path / "classifier_then_goods.xml"
    big.write_bytes(big_classifier_then("<Каталог>" + HEADER + "<Товары/></Каталог>"))
    reader = CountingReader(big)
    try:
        assert classify(reader, size=big.stat().st_size, rel=big.name) == "goods"
    finally:
        reader.close()
    assert reader.bytes_read <= layout.PEEK_LIMIT + head_and_tail < big.stat().st_size / 5
