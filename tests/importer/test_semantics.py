"""What an import means for the catalog: idempotency, incremental vs full packages, deactivation
(never deletion), deletion marks, products created from offers, per-item errors."""
from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from apps.products.models import ImportSession, Offer, Price, Product, ProductImage, Stock

pytestmark = pytest.mark.django_db

P_BALL, P_TSHIRT, P_ROPE, P_OLD, P_DUMBBELL = (f"b1000000-0000-4000-8000-00000000000{i}" for i in range(1, 6))
O_BALL4 = f"{P_BALL}#c1000000-0000-4000-8000-000000000001"
O_BALL5 = f"{P_BALL}#c1000000-0000-4000-8000-000000000002"
O_DUMBBELL = P_DUMBBELL
PT_RETAIL, PT_WHOLESALE = "e1000000-0000-4000-8000-000000000001", "e1000000-0000-4000-8000-000000000002"
PC_SKI, PC_POLES, PC_WAX = (f"b2070000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
PN_STICK, PN_PUCK, PN_PADS = (f"b2040000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))

GOOD_FIXTURES = ["ut11_full", "package_209", "classic_ns", "classic_nons_cp1251", "item_errors"]


# --- editing a fixture copy ---------------------------------------------------------------------
def edit_xml(path: Path, change) -> None:
    tree = etree.parse(str(path))
    change(tree.getroot())
    tree.write(str(path), encoding=tree.docinfo.encoding or "UTF-8", xml_declaration=True)


def items(root, tag: str, onec_id: str):
    return [el for el in root.iter(f"{{*}}{tag}") if (el.findtext("{*}Ид") or "").strip() == onec_id]


def drop(tag: str, *onec_ids: str):
    def change(root):
        for onec_id in onec_ids:
            found = items(root, tag, onec_id)
            assert found, f"no <{tag}> {onec_id} to drop"
            for el in found:
                el.getparent().remove(el)
    return change


def set_child(tag: str, onec_id: str, child: str, text: str, *, before: str | None = None):
    """Set (or add) ``<child>text</child>`` in the item ``<tag>`` with this Ид."""
    def change(root):
        (el,) = items(root, tag, onec_id)
        node = el.find(f"{{*}}{child}")
        if node is None:
            node = etree.Element(etree.QName(el).namespace and f"{{{etree.QName(el).namespace}}}{child}" or child)
            anchor = el.find(f"{{*}}{before}") if before else None
            anchor.addprevious(node) if anchor is not None else el.append(node)
        node.text = text
    return change


def ut11_without_dumbbell(d: Path) -> None:
    """ut11_full minus the product in goods/1/ and its offer (in offers, prices and rests)."""
    shutil.rmtree(d / "goods" / "1")
    edit_xml(d / "offers" / "offers.xml", drop("Предложение", O_DUMBBELL))
    edit_xml(next((d / "prices" / "1").glob("prices_*.xml")), drop("Предложение", O_DUMBBELL))
    edit_xml(d / "rests" / "rests.xml", drop("Предложение", O_DUMBBELL))


def active(model, *onec_ids):
    return {oid: model.objects.get(onec_id=oid).is_active for oid in onec_ids}


def zero_changes(session):
    """Every stats entry of a run that should not have changed anything."""
    changes = {kind: {k: v for k, v in counts.items() if k in ("created", "updated", "deactivated") and v}
               for kind, counts in session.stats.items() if isinstance(counts, dict)}
    return {kind: c for kind, c in changes.items() if c}


# --- idempotency ----------------------------------------------------------------------------------
def re_export(d: Path) -> None:
    """What 1C does when nothing changed: the same data, a new ДатаФормирования in every file."""
    for path in d.rglob("*.xml"):
        raw = path.read_bytes()
        encoding = "cp1251" if b'encoding="windows-1251"' in raw[:200] else "utf-8"
        attr = "ДатаФормирования=".encode(encoding)
        assert attr in raw, path
        path.write_bytes(re.sub(re.escape(attr) + rb'"[^"]*"', attr + b'"2031-01-02T03:04:05"', raw))


@pytest.mark.parametrize("mode", ["same-bytes", "re-exported", "forced"])
@pytest.mark.parametrize("name", GOOD_FIXTURES)
def test_same_package_twice_changes_nothing(fixture_dir, run_import, catalog_snapshot, stat, name, mode):
    """"same-bytes" and "re-exported" take the unchanged-package shortcut; "forced" reads every row
    and must find each one unchanged (the row-by-row comparison)."""
    d = fixture_dir(name)
    first = run_import(d)
    assert first.status == ImportSession.Status.COMPLETED, first.error_message
    before = catalog_snapshot()
    if mode == "re-exported":
        re_export(d)
    second = run_import(d, force=mode == "forced")
    # The shortcut needs a clean previous import: a package with item errors is always read again.
    assert ("unchanged_since" in second.stats) is (mode != "forced" and not first.failed_items)
    assert second.status == ImportSession.Status.COMPLETED, second.error_message
    assert catalog_snapshot() == before  # every row, every column, updated_at included
    assert zero_changes(second) == {}, second.stats
    assert stat(second, "products", "unchanged") > 0
    assert stat(second, "offers", "unchanged") > 0
    assert stat(second, "prices", "unchanged") > 0
    assert (second.total_items, second.failed_items) == (first.total_items, first.failed_items)


# --- incremental (СодержитТолькоИзменения="true") -------------------------------------------------
def rows_without(snapshot, model, pks):
    return [row for row in snapshot[model] if row["id"] not in pks]


def test_incremental_touches_only_what_it_lists(fixture_dir, run_import, catalog_snapshot, stat):
    assert run_import(fixture_dir("ut11_full")).status == "completed"
    before = catalog_snapshot()
    tshirt_pk = Product.objects.get(onec_id=P_TSHIRT).pk
    changed_price_pk = Price.objects.get(offer__onec_id=O_BALL4, price_type__onec_id=PT_RETAIL).pk

    session = run_import(fixture_dir("ut11_incremental"))
    assert session.status == ImportSession.Status.COMPLETED, session.error_message
    assert session.total_items == 2 and session.failed_items == 0
    after = catalog_snapshot()

    assert Product.objects.get(onec_id=P_TSHIRT).name == "Футболка беговая DRY"
    assert Price.objects.get(pk=changed_price_pk).value == Decimal("2290.00")
    assert Price.objects.get(offer__onec_id=O_BALL4, price_type__onec_id=PT_WHOLESALE).value == Decimal("1990")
    assert stat(session, "products", "updated") == 1
    assert stat(session, "prices", "updated") == 1
    assert stat(session, "prices", "created") == 0
    assert session.stats.get("products", {}).get("deactivated", 0) == 0
    assert session.stats.get("offers", {}).get("deactivated", 0) == 0

    # nothing else moved: products/offers absent from a changes-only package stay as they were
    assert rows_without(after, "Product", {tshirt_pk}) == rows_without(before, "Product", {tshirt_pk})
    assert rows_without(after, "Price", {changed_price_pk}) == rows_without(before, "Price", {changed_price_pk})
    for model in ("Category", "Brand", "Property", "Offer", "PriceType", "Warehouse", "Stock"):
        assert after[model] == before[model], model

    def images(snapshot):
        return sorted((r["product_id"], r["path"], r["position"]) for r in snapshot["ProductImage"])
    assert images(after) == images(before)
    # last, as the least important: the product's picture did not change, so none was "created"
    assert session.stats.get("images", {}).get("created", 0) == 0, session.stats


def test_full_package_after_an_incremental_one_restores_it(fixture_dir, run_import):
    full = fixture_dir("ut11_full")
    assert run_import(full).status == "completed"
    assert run_import(fixture_dir("ut11_incremental")).status == "completed"
    assert Product.objects.get(onec_id=P_TSHIRT).name == "Футболка беговая DRY"
    session = run_import(full)  # the very same directory and bytes as the first import
    assert session.status == "completed", session.error_message
    assert Product.objects.get(onec_id=P_TSHIRT).name == "Футболка беговая"
    assert Price.objects.get(offer__onec_id=O_BALL4, price_type__onec_id=PT_RETAIL).value == Decimal("2490")


# --- full packages: deactivation ------------------------------------------------------------------
def test_full_package_deactivates_what_it_no_longer_lists(fixture_dir, run_import, stat):
    full = fixture_dir("ut11_full")
    assert run_import(full).status == "completed"
    counts = (Product.objects.count(), Offer.objects.count(), Price.objects.count(), Stock.objects.count())
    smaller = fixture_dir("ut11_full")
    ut11_without_dumbbell(smaller)

    session = run_import(smaller)
    assert session.status == ImportSession.Status.COMPLETED, session.error_message
    assert active(Product, P_DUMBBELL, P_BALL, P_TSHIRT, P_ROPE) == {
        P_DUMBBELL: False, P_BALL: True, P_TSHIRT: True, P_ROPE: True}
    assert active(Offer, O_DUMBBELL, O_BALL4) == {O_DUMBBELL: False, O_BALL4: True}
    assert stat(session, "products", "deactivated") == 1
    assert stat(session, "offers", "deactivated") == 1
    # deactivated, never deleted
    assert (Product.objects.count(), Offer.objects.count(), Price.objects.count(), Stock.objects.count()) == counts

    back = run_import(full)  # listed again: active again
    assert back.status == "completed"
    assert active(Product, P_DUMBBELL) == {P_DUMBBELL: True}
    assert active(Offer, O_DUMBBELL) == {O_DUMBBELL: True}


@pytest.mark.parametrize("flag", ["false", None], ids=["false", "absent"])
def test_classic_full_package_deactivates(fixture_dir, run_import, flag):
    assert run_import(fixture_dir("classic_ns")).status == "completed"
    d = fixture_dir("classic_ns")

    def full(root):
        for el in root.iter("{*}Каталог", "{*}ПакетПредложений"):
            if flag is None:
                el.attrib.pop("СодержитТолькоИзменения", None)
            else:
                el.set("СодержитТолькоИзменения", flag)
    edit_xml(d / "import.xml", lambda root: (drop("Товар", PC_WAX)(root), full(root)))
    edit_xml(d / "offers.xml", lambda root: (drop("Предложение", PC_WAX)(root), full(root)))
    session = run_import(d)
    assert session.status == "completed", session.error_message
    assert active(Product, PC_WAX, PC_SKI, PC_POLES) == {PC_WAX: False, PC_SKI: True, PC_POLES: True}
    assert active(Offer, PC_WAX, PC_POLES) == {PC_WAX: False, PC_POLES: True}


def test_full_goods_without_offers_keeps_offers(fixture_dir, run_import):
    assert run_import(fixture_dir("ut11_full")).status == "completed"
    d = fixture_dir("ut11_full")
    for folder in ("offers", "prices", "rests"):
        shutil.rmtree(d / folder)
    session = run_import(d)
    assert session.status == "completed", session.error_message
    assert Offer.objects.filter(is_active=False).count() == 0  # the package carried no offers
    assert Offer.objects.count() == 6


@pytest.mark.parametrize("keep", [("prices", "rests"), ("prices",), ("rests",), ("goods", "prices", "rests")],
                         ids=lambda folders: "+".join(folders))
def test_full_prices_or_rests_without_offers_keep_offers(fixture_dir, run_import, keep):
    """Bare Ид + Цены/Остатки records update prices and stock only: they are not a list of offers,
    so a full prices/rests exchange without offers/ must not retire a single offer."""
    assert run_import(fixture_dir("ut11_full")).status == "completed"
    d = fixture_dir("ut11_full")
    for folder in [p.name for p in d.iterdir() if p.is_dir()]:
        if folder not in keep:
            shutil.rmtree(d / folder)
    session = run_import(d)
    assert session.status == "completed", session.error_message
    assert Offer.objects.filter(is_active=False).count() == 0, session.stats
    assert session.stats.get("offers", {}).get("deactivated", 0) == 0


def test_full_offers_without_goods_keeps_products(fixture_dir, run_import):
    assert run_import(fixture_dir("ut11_full")).status == "completed"
    before = dict(Product.objects.values_list("onec_id", "is_active"))
    d = fixture_dir("ut11_full")
    shutil.rmtree(d / "goods")
    session = run_import(d)
    assert session.status == "completed", session.error_message
    assert dict(Product.objects.values_list("onec_id", "is_active")) == before  # the package carried no goods
    assert Offer.objects.filter(is_active=True).count() == 6


@pytest.mark.parametrize("with_error", [True, False], ids=["product-error", "control"])
def test_product_error_skips_product_deactivation(fixture_dir, run_import, with_error):
    """As below for offers: the control shows the same package without the error does deactivate."""
    assert run_import(fixture_dir("ut11_full")).status == "completed"
    d = fixture_dir("ut11_full")
    ut11_without_dumbbell(d)  # P_DUMBBELL (and its offer) absent from the full lists …

    def add_broken_product(root):  # … and one product of the list cannot be imported (no Ид)
        goods = next(root.iter("{*}Товары"))
        ns = etree.QName(goods).namespace
        broken = etree.SubElement(goods, f"{{{ns}}}Товар")
        etree.SubElement(broken, f"{{{ns}}}Ид").text = ""
        etree.SubElement(broken, f"{{{ns}}}Наименование").text = "Товар без Ид"
    goods_file = next((d / "goods").glob("goods_2_2_*.xml"))
    if with_error:
        edit_xml(goods_file, add_broken_product)

    session = run_import(d)
    assert session.status == "completed", session.error_message
    if with_error:
        assert session.failed_items == 1
        assert session.errors[0]["file"] == f"goods/{goods_file.name}"  # relative to the data dir
        assert active(Product, P_DUMBBELL) == {P_DUMBBELL: True}
        assert session.stats.get("products", {}).get("deactivated", 0) == 0
    else:
        assert session.failed_items == 0
        assert active(Product, P_DUMBBELL) == {P_DUMBBELL: False}


@pytest.mark.parametrize("with_error", [True, False], ids=["offer-error", "control"])
def test_offer_error_skips_offer_deactivation(fixture_dir, run_import, with_error):
    """A full offers list with a per-item error on an offer must not deactivate offers; the control
    (same package, no error) shows that it otherwise would."""
    assert run_import(fixture_dir("classic_ns")).status == "completed"
    d = fixture_dir("classic_ns")
    edit_xml(d / "offers.xml", drop("Предложение", PC_WAX))
    if with_error:
        edit_xml(d / "offers.xml", set_child("Предложение", PC_POLES, "Количество", "12,3,4"))
    session = run_import(d)
    assert session.status == "completed", session.error_message
    if with_error:
        assert [(e["onec_id"], e["file"]) for e in session.errors] == [(PC_POLES, "offers.xml")]
        assert active(Offer, PC_WAX) == {PC_WAX: True}
        assert session.stats.get("offers", {}).get("deactivated", 0) == 0
    else:
        assert session.errors == []
        assert active(Offer, PC_WAX) == {PC_WAX: False}


# --- deletion marks --------------------------------------------------------------------------------
def test_deletion_mark_deactivates_a_known_product(fixture_dir, run_import):
    assert run_import(fixture_dir("ut11_full")).status == "completed"
    count, offers = Product.objects.count(), Offer.objects.count()
    d = fixture_dir("ut11_full")
    edit_xml(next((d / "goods").glob("goods_1_2_*.xml")),
             set_child("Товар", P_BALL, "ПометкаУдаления", "true", before="Штрихкод"))
    session = run_import(d)
    assert session.status == "completed", session.error_message
    assert active(Product, P_BALL, P_TSHIRT) == {P_BALL: False, P_TSHIRT: True}
    assert (Product.objects.count(), Offer.objects.count()) == (count, offers)  # nothing deleted
    assert Price.objects.filter(offer__product__onec_id=P_BALL).count() == 4


def test_deleted_status_deactivates_known_products(fixture_dir, run_import):
    """classic_nons_cp1251: Статус="Удален" (attribute) and <Статус>Удален</Статус> (element)."""
    for onec_id in (PN_PUCK, PN_PADS):
        Product.objects.create(onec_id=onec_id, name="был в каталоге")
    session = run_import(fixture_dir("classic_nons_cp1251"))
    assert session.status == "completed", session.error_message
    assert active(Product, PN_STICK, PN_PUCK, PN_PADS) == {PN_STICK: True, PN_PUCK: False, PN_PADS: False}


# --- products from offers ---------------------------------------------------------------------------
def test_offer_of_a_known_product_attaches_to_it(fixture_dir, run_import, tmp_path):
    assert run_import(fixture_dir("ut11_full")).status == "completed"
    dumbbell = Product.objects.get(onec_id=P_DUMBBELL)
    products = Product.objects.count()
    d = tmp_path / "offers_only"
    (d / "offers").mkdir(parents=True)
    new_offer = f"{P_DUMBBELL}#c1000000-0000-4000-8000-000000000009"
    (d / "offers" / "offers.xml").write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_3" ВерсияСхемы="3.1">
<ПакетПредложений СодержитТолькоИзменения="true"><Предложения><Предложение>
<Ид>{new_offer}</Ид><Артикул>DB-5-BLUE</Артикул><Наименование>Гантель (синяя)</Наименование>
</Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>""", encoding="utf-8")
    session = run_import(d)
    assert session.status == "completed", session.error_message
    offer = Offer.objects.get(onec_id=new_offer)
    assert offer.product_id == dumbbell.pk
    assert Product.objects.get(pk=dumbbell.pk).name == "Гантель 5 кг"  # not overwritten by the offer
    assert Product.objects.count() == products  # no product made up from the offer
    assert Offer.objects.filter(is_active=True).count() == 7  # a changes-only package deactivates nothing


# --- per-item errors --------------------------------------------------------------------------------
E_MAT, E_BLOCK, E_STRAP = (f"b3000000-0000-4000-8000-00000000000{i}" for i in (1, 2, 3))
E_UNKNOWN = "b3000000-0000-4000-8000-0000000000ee"


def test_item_errors_are_recorded_and_the_import_goes_on(fixture_dir, run_import, stat):
    session = run_import(fixture_dir("item_errors"))
    assert session.status == ImportSession.Status.COMPLETED, session.error_message
    assert session.total_items == 1 + 1 + 3 + 3 + 4 + 3
    assert session.processed_items == session.total_items
    assert session.failed_items == 4
    prices_file = "prices___7e8f9001-1223-44c5-d6e7-f8091a2b3c4d.xml"
    rests_file = "rests___8f900112-2334-45d6-e7f8-091a2b3c4d5e.xml"
    assert sorted((e["onec_id"], e["file"]) for e in session.errors) == sorted([
        (E_MAT, prices_file),  # unknown price type
        (E_BLOCK, prices_file),  # "12,3,4"
        (E_UNKNOWN, prices_file),  # unknown offer
        (E_MAT, rests_file),  # unknown warehouse
    ])
    assert all(e["message"].strip() for e in session.errors)
    malformed = next(e["message"] for e in session.errors if e["onec_id"] == E_BLOCK)
    assert "12,3,4" in malformed
    assert "4" in session.error_message  # "N объектов с ошибками"

    # everything valid went in
    assert Offer.objects.count() == 3 and Product.objects.count() == 3
    assert not Offer.objects.filter(onec_id=E_UNKNOWN).exists()  # a bare price never creates an offer
    assert not Product.objects.filter(onec_id=E_UNKNOWN).exists()
    assert dict(Price.objects.values_list("offer__onec_id", "value")) == {E_STRAP: Decimal("790")}
    assert dict(Stock.objects.values_list("offer__onec_id", "quantity")) == {E_BLOCK: Decimal(6), E_STRAP: Decimal(9)}
    assert stat(session, "prices", "created") == 1
    assert stat(session, "stocks", "created") == 2


def test_errors_list_is_capped_at_1000(fixture_dir, run_import):
    d = fixture_dir("item_errors")
    prices = next(d.glob("prices___*.xml"))
    extra = "".join(
        f"<Предложение><Ид>ffffffff-0000-4000-8000-{n:012d}</Ид><Цены><Цена>"
        f"<ИдТипаЦены>e3000000-0000-4000-8000-000000000001</ИдТипаЦены><ЦенаЗаЕдиницу>1</ЦенаЗаЕдиницу>"
        f"</Цена></Цены></Предложение>" for n in range(1001))
    text = prices.read_text(encoding="utf-8")
    prices.write_text(text.replace("</Предложения>", extra + "</Предложения>"), encoding="utf-8")
    session = run_import(d)
    assert session.status == "completed", session.error_message
    assert session.failed_items == 4 + 1001
    assert len(session.errors) == 1000
    assert str(session.failed_items) in session.error_message


def test_product_made_from_an_offer_is_completed_by_a_later_goods_import(fixture_dir, run_import, tmp_path):
    paste = "b2090000-0000-4000-8000-000000000003"
    assert run_import(fixture_dir("package_209")).status == "completed"
    assert Product.objects.get(onec_id=paste).unit == ""  # only what the offer said
    d = tmp_path / "goods_only"
    d.mkdir()
    (d / "import___9e8d7c6b-5a49-4837-a625-140f2e3d4c5b.xml").write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.09">
<Каталог СодержитТолькоИзменения="true"><Товары><Товар>
<Ид>{paste}</Ид><Артикул>ZP-100</Артикул><Наименование>Зубная паста мятная, 100 мл</Наименование>
<БазоваяЕдиница Код="796"/><Описание>Со фтором</Описание>
</Товар></Товары></Каталог></КоммерческаяИнформация>""", encoding="utf-8")
    session = run_import(d)
    assert session.status == "completed", session.error_message
    product = Product.objects.get(onec_id=paste)
    assert (product.name, product.unit, product.description) == ("Зубная паста мятная, 100 мл", "796", "Со фтором")
    assert Offer.objects.get(onec_id=paste).product_id == product.pk


def test_numbers_with_no_break_spaces(fixture_dir, run_import):
    """1C formats "12 990,00" with U+00A0 as the thousands separator."""
    d = fixture_dir("classic_ns")
    path = d / "offers.xml"
    text = path.read_text(encoding="utf-8-sig")
    assert "<ЦенаЗаЕдиницу>12 990,00</ЦенаЗаЕдиницу>" in text
    path.write_text(text.replace("<ЦенаЗаЕдиницу>12 990,00", "<ЦенаЗаЕдиницу>12\u00a0990,00")
                    .replace("<Количество>11</Количество>", "<Количество>1\u00a0100,5</Количество>"), encoding="utf-8")
    session = run_import(d)
    assert session.status == "completed" and session.errors == [], session.errors
    assert Price.objects.get(offer__onec_id=f"{PC_SKI}#c2070000-0000-4000-8000-00000000000a").value == Decimal("12990.00")
    assert Offer.objects.get(onec_id=PC_POLES).quantity == Decimal("1100.5")


def test_ut11_images_are_relative_to_their_goods_file(fixture_dir, run_import):
    """goods/1/goods_1_1_<guid>.xml names import_files/… : that is goods/1/import_files/…"""
    d = fixture_dir("ut11_full")
    (goods,) = (d / "goods" / "1").glob("goods_1_1_*.xml")
    (d / "goods" / "1" / "import_files" / "b5").mkdir(parents=True)
    (d / "goods" / "1" / "import_files" / "b5" / "db.jpg").write_bytes(b"\xff\xd8\xff\xd9")
    edit_xml(goods, set_child("Товар", P_DUMBBELL, "Картинка", "import_files/b5/db.jpg", before="Изготовитель"))
    session = run_import(d)
    assert session.status == "completed", session.error_message
    assert list(ProductImage.objects.filter(product__onec_id=P_DUMBBELL).values_list("path", flat=True)) == [
        "goods/1/import_files/b5/db.jpg"]
