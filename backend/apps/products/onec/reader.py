"""Stream one CommerceML file into records, element by element, in document order.

CommerceML in one paragraph: a ``КоммерческаяИнформация`` document holds up to three containers.
``Классификатор`` defines the reference data — groups (``Группы/Группа``, nested), properties
(``Свойства``), and in newer schemas price types (``ТипыЦен``) and warehouses (``Склады``).
``Каталог`` lists goods (``Товары/Товар``). ``ПакетПредложений`` lists offers
(``Предложения/Предложение``: the sellable variants, Ид ``<good>#<characteristic>``) with their
prices (``Цены/Цена``) and stock; older schemas define price types and warehouses there too.
Every object is keyed by its ``Ид``; ``СодержитТолькоИзменения="true"`` on a container means
"only what changed", otherwise the file is the full list.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from .layout import PackageFile
from .records import (
    GroupRec, Item, OfferRec, PriceRow, PriceTypeRec, ProductRec, PropertyRec, Section, StockRow, WarehouseRec,
)
from .safexml import SECTION_TAGS, image_path, is_item, iter_events, localname, release

_SECTION_KINDS = {
    "Классификатор": "classifier",
    "Каталог": "catalog",
    "ПакетПредложений": "offers",
    "ИзмененияПакетаПредложений": "offers",  # 2.05+: a changes-only offers package
}
_READ_TAGS = (*SECTION_TAGS, "Группы", "Свойство", "ТипЦены", "Склад", "Товар", "Предложение")
_DELETED_STATUS = "удален"


class _Tags:
    """Qualified tag names for one namespace (or none), so lookups stay in lxml's C code."""

    NAMES = (
        "Ид Наименование Артикул Штрихкод Описание БазоваяЕдиница Группы Группа Изготовитель ЗначенияСвойств "
        "ЗначенияСвойства Значение Картинка ПометкаУдаления Статус ТипЗначений ВариантыЗначений Справочник "
        "ИдЗначения Валюта ХарактеристикиТовара ХарактеристикаТовара Цены Цена ИдТипаЦены ЦенаЗаЕдиницу "
        "Количество Склад Остатки Остаток"
    ).split()

    def __init__(self, ns: str) -> None:
        for name in self.NAMES:
            setattr(self, name, ns + name)


@lru_cache(maxsize=8)
def _tags(ns: str) -> _Tags:
    return _Tags(ns)


def _ns(el) -> str:
    tag = el.tag
    return tag[: tag.find("}") + 1]


def _text(el, tag: str) -> str:
    value = el.findtext(tag)
    return value.strip() if value else ""


def parse_decimal(raw: str | None) -> Decimal:
    """1C numbers: ``1719``, ``1719.50``, ``1 719,50`` (spaces, NBSP and a decimal comma)."""
    text = (raw or "").strip().replace("\xa0", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"некорректное число {raw!r}") from None
    if not value.is_finite():
        raise ValueError(f"некорректное число {raw!r}")
    return value


def _is_deleted(el, t: _Tags) -> bool:
    if _text(el, t.ПометкаУдаления).lower() == "true":
        return True
    status = el.get("Статус") or el.findtext(t.Статус) or ""
    return status.strip().lower() == _DELETED_STATUS


def read_file(pf: PackageFile, data_dir: Path) -> Iterator[Section | Item]:
    for event, el in iter_events(pf, events=("start", "end"), tags=_READ_TAGS):
        name = localname(el.tag)
        if event == "start":
            if name in _SECTION_KINDS:
                only_changes = name == "ИзмененияПакетаПредложений" or (
                    (el.get("СодержитТолькоИзменения") or "").strip().lower() == "true"
                )
                yield Section(kind=_SECTION_KINDS[name], only_changes=only_changes)
            continue
        if name == "Группы":
            parent = el.getparent()
            if parent is not None and localname(parent.tag) == "Классификатор":
                yield from _groups(el, _tags(_ns(el)), parent_id=None)
                release(el)
            continue
        if name in _SECTION_KINDS or not is_item(el):
            continue
        t = _tags(_ns(el))
        if name == "Товар":
            yield _product(el, t, pf, data_dir)
        elif name == "Предложение":
            yield _offer(el, t)
        elif name == "Свойство":
            yield _property(el, t)
        elif name == "ТипЦены":
            yield PriceTypeRec(_text(el, t.Ид), name=_text(el, t.Наименование), currency=_text(el, t.Валюта),
                               deleted=_is_deleted(el, t))
        elif name == "Склад":
            yield WarehouseRec(_text(el, t.Ид), name=_text(el, t.Наименование), deleted=_is_deleted(el, t))
        release(el)


def _groups(container, t: _Tags, *, parent_id: str | None) -> Iterator[GroupRec]:
    """Groups in pre-order, so a parent is always written before its children."""
    for el in container.iterchildren(t.Группа):
        rec = GroupRec(_text(el, t.Ид), name=_text(el, t.Наименование), parent_id=parent_id,
                       deleted=_is_deleted(el, t))
        yield rec
        for sub in el.iterchildren(t.Группы):
            yield from _groups(sub, t, parent_id=rec.onec_id or None)


def _property(el, t: _Tags) -> PropertyRec:
    choices = {}
    for variants in el.iterchildren(t.ВариантыЗначений):
        for ref in variants.iterchildren(t.Справочник):
            choices[_text(ref, t.ИдЗначения)] = _text(ref, t.Значение)
    return PropertyRec(_text(el, t.Ид), name=_text(el, t.Наименование), value_type=_text(el, t.ТипЗначений),
                       choices=choices, deleted=_is_deleted(el, t))


def _product(el, t: _Tags, pf: PackageFile, data_dir: Path) -> ProductRec:
    rec = ProductRec(
        _text(el, t.Ид), name=_text(el, t.Наименование), sku=_text(el, t.Артикул), barcode=_text(el, t.Штрихкод),
        description=_text(el, t.Описание), deleted=_is_deleted(el, t),
    )
    unit = el.find(t.БазоваяЕдиница)
    if unit is not None:
        rec.unit = (unit.get("Код") or unit.text or "").strip()  # 1C pads codes: Код="796 "
    groups = el.find(t.Группы)
    if groups is not None:
        rec.group_id = _text(groups, t.Ид) or None
    maker = el.find(t.Изготовитель)
    if maker is not None and _text(maker, t.Ид):
        rec.brand = (_text(maker, t.Ид), _text(maker, t.Наименование))
    values = el.find(t.ЗначенияСвойств)
    if values is not None:
        for value in values.iterchildren(t.ЗначенияСвойства):
            texts = [v.strip() for v in value.itertext(t.Значение) if v and v.strip()]
            if texts:
                rec.properties.append((_text(value, t.Ид), ", ".join(texts)))
    for picture in el.iterchildren(t.Картинка):
        if picture.text and picture.text.strip():
            rec.images.append(image_path(picture.text, pf, data_dir))
    if not rec.onec_id:
        rec.errors.append("товар без Ид")
    return rec


def _offer(el, t: _Tags) -> OfferRec:
    name_el = el.find(t.Наименование)
    rec = OfferRec(_text(el, t.Ид), has_data=name_el is not None, name=_text(el, t.Наименование),
                   sku=_text(el, t.Артикул), barcode=_text(el, t.Штрихкод), deleted=_is_deleted(el, t))
    if not rec.onec_id or not rec.product_onec_id:
        rec.errors.append("предложение без Ид товара")
    for block in el.iterchildren(t.ХарактеристикиТовара):
        for ch in block.iterchildren(t.ХарактеристикаТовара):
            rec.characteristics.append({"name": _text(ch, t.Наименование), "value": _text(ch, t.Значение)})
    for block in el.iterchildren(t.Цены):
        for price in block.iterchildren(t.Цена):
            try:
                value = parse_decimal(price.findtext(t.ЦенаЗаЕдиницу))
            except ValueError as exc:
                rec.errors.append(f"цена: {exc}")
                continue
            rec.prices.append(PriceRow(_text(price, t.ИдТипаЦены), value, _text(price, t.Валюта)))
    _read_stock(el, t, rec)
    return rec


def _read_stock(el, t: _Tags, rec: OfferRec) -> None:
    """Stock comes in three shapes: ``<Количество>`` (total), ``<Склад ИдСклада КоличествоНаСкладе/>``
    attributes (2.0x), and ``<Остатки><Остаток><Склад><Ид/><Количество/>`` (2.09+, 3.x)."""
    try:
        if el.find(t.Количество) is not None:
            rec.quantity = parse_decimal(el.findtext(t.Количество))
        for store in el.iterchildren(t.Склад):
            rec.stocks.append(StockRow((store.get("ИдСклада") or "").strip(), parse_decimal(store.get("КоличествоНаСкладе"))))
        for block in el.iterchildren(t.Остатки):
            for rest in block.iterchildren(t.Остаток):
                for store in rest.iterchildren(t.Склад):
                    rec.stocks.append(StockRow(_text(store, t.Ид), parse_decimal(store.findtext(t.Количество))))
                if rest.find(t.Количество) is not None:
                    rec.quantity = parse_decimal(rest.findtext(t.Количество))
    except ValueError as exc:
        rec.errors.append(f"остаток: {exc}")
    if rec.quantity is None and rec.stocks:
        rec.quantity = sum((row.quantity for row in rec.stocks), Decimal(0))
