"""Stream one CommerceML file into records, element by element, in document order.

CommerceML in one paragraph: a ``КоммерческаяИнформация`` document holds up to three containers.
``Классификатор`` defines the reference data — groups (``Группы/Группа``, nested), properties
(``Свойства``), and in newer schemas price types (``ТипыЦен``) and warehouses (``Склады``).
``Каталог`` lists goods (``Товары/Товар``). ``ПакетПредложений`` lists offers
(``Предложения/Предложение``: the sellable variants, Ид ``<good>#<characteristic>``) with their
prices (``Цены/Цена``) and stock; older schemas define price types and warehouses there too.
CommerceML 2.0x (1C:UT 10) may list each characteristic as a ``Товар`` of its own, ``Ид``
``<good>#<characteristic>``, with ``ХарактеристикиТовара`` (the characteristic's name/value pairs):
the writer makes it an offer of ``<good>``. Every object is keyed by its ``Ид``;
``СодержитТолькоИзменения="true"`` on a container means "only what changed", otherwise the file is
the full list.
"""
from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from .layout import PackageFile
from .pictures import PictureFinder
from .records import (
    GroupRec, Item, OfferRec, PriceRow, PriceTypeRec, ProductRec, PropertyRec, Section, StockRow, WarehouseRec,
)
from .safexml import SECTION_TAGS, STREAMED_TAGS, is_item, is_reference_container, iter_events, localname, release

_SECTION_KINDS = {
    "Каталог": "catalog",
    "ПакетПредложений": "offers",
    "ИзмененияПакетаПредложений": "offers",  # 2.05+: a changes-only offers package
}
_READ_TAGS = (*STREAMED_TAGS, *SECTION_TAGS)
_DELETED_STATUS = "удален"


class _Tags:
    """Qualified tag names for one namespace (or none), so lookups stay in lxml's C code."""

    NAMES = (
        "Ид Наименование Артикул Штрихкод Описание БазоваяЕдиница Группы Группа Изготовитель ЗначенияСвойств "
        "ЗначенияСвойства Значение Картинка ПометкаУдаления Статус ТипЗначений ВариантыЗначений Справочник "
        "ИдЗначения Валюта ХарактеристикиТовара ХарактеристикаТовара Цены Цена ИдТипаЦены ЦенаЗаЕдиницу "
        "Количество Склад Остатки Остаток Свойства Свойство ТипЦены"
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


def _children(el) -> dict[str, object]:
    """Child elements by tag, first one wins: one pass in C instead of a ``find`` per field
    (lxml's ``find``/``findtext`` run ElementPath in Python — the reader's hot spot when profiled)."""
    found = {}
    for child in el:
        found.setdefault(child.tag, child)
    return found


def _child_text(found: dict, tag: str) -> str:
    child = found.get(tag)
    text = child.text if child is not None else None
    return text.strip() if text else ""


def _is_deleted(el, found: dict, t: _Tags) -> bool:
    if _child_text(found, t.ПометкаУдаления).lower() == "true":
        return True
    status = el.get("Статус") or _child_text(found, t.Статус)
    return status.strip().lower() == _DELETED_STATUS


def read_file(pf: PackageFile, data_dir: Path) -> Iterator[Section | Item]:
    pictures = PictureFinder(data_dir, pf.rel)
    for el in iter_events(pf, tags=_READ_TAGS):
        name = localname(el.tag)
        if name in _SECTION_KINDS:
            # Emitted at the container's end: only the final deactivation step needs it.
            only_changes = name == "ИзмененияПакетаПредложений" or (
                (el.get("СодержитТолькоИзменения") or "").strip().lower() == "true"
            )
            yield Section(kind=_SECTION_KINDS[name], only_changes=only_changes)
            continue
        t = _tags(_ns(el))
        if name == "Товар" or name == "Предложение":
            if is_item(el):
                found = _children(el)
                yield _product(el, found, t, pictures) if name == "Товар" else _offer(el, found, t)
            release(el)
            continue
        if name == "Классификатор":
            for groups in el.iterchildren(t.Группы):
                yield from _groups(groups, t, parent_id=None)
            for props in el.iterchildren(t.Свойства):
                for prop in props.iterchildren(t.Свойство):
                    yield _property(prop, _children(prop), t)
        elif is_reference_container(el):  # ТипыЦен or Склады
            for item in el.iterchildren(t.ТипЦены if name == "ТипыЦен" else t.Склад):
                found = _children(item)
                rec_type = PriceTypeRec if name == "ТипыЦен" else WarehouseRec
                rec = rec_type(_child_text(found, t.Ид), name=_child_text(found, t.Наименование),
                               deleted=_is_deleted(item, found, t))
                if name == "ТипыЦен":
                    rec.currency = _child_text(found, t.Валюта)
                yield rec
        el.clear(keep_tail=False)  # reference containers: done with, but their siblings are not


def _groups(container, t: _Tags, *, parent_id: str | None) -> Iterator[GroupRec]:
    """Groups in pre-order, so a parent is always written before its children."""
    for el in container.iterchildren(t.Группа):
        found = _children(el)
        rec = GroupRec(_child_text(found, t.Ид), name=_child_text(found, t.Наименование), parent_id=parent_id,
                       deleted=_is_deleted(el, found, t))
        yield rec
        for sub in el.iterchildren(t.Группы):
            yield from _groups(sub, t, parent_id=rec.onec_id or None)


def _property(el, found: dict, t: _Tags) -> PropertyRec:
    choices = {}
    for variants in el.iterchildren(t.ВариантыЗначений):
        for ref in variants.iterchildren(t.Справочник):
            ref_found = _children(ref)
            choices[_child_text(ref_found, t.ИдЗначения)] = _child_text(ref_found, t.Значение)
    return PropertyRec(_child_text(found, t.Ид), name=_child_text(found, t.Наименование),
                       value_type=_child_text(found, t.ТипЗначений), choices=choices,
                       deleted=_is_deleted(el, found, t))


def _product(el, found: dict, t: _Tags, pictures: PictureFinder) -> ProductRec:
    rec = ProductRec(
        _child_text(found, t.Ид), name=_child_text(found, t.Наименование), sku=_child_text(found, t.Артикул),
        barcode=_child_text(found, t.Штрихкод), description=_child_text(found, t.Описание),
        deleted=_is_deleted(el, found, t),
    )
    unit = found.get(t.БазоваяЕдиница)
    if unit is not None:
        rec.unit = (unit.get("Код") or unit.text or "").strip()  # 1C pads codes: Код="796 "
    groups = found.get(t.Группы)
    if groups is not None:
        rec.group_id = _child_text(_children(groups), t.Ид) or None
    maker = found.get(t.Изготовитель)
    if maker is not None:
        maker_found = _children(maker)
        if _child_text(maker_found, t.Ид):
            rec.brand = (_child_text(maker_found, t.Ид), _child_text(maker_found, t.Наименование))
    values = found.get(t.ЗначенияСвойств)
    if values is not None:
        for value in values.iterchildren(t.ЗначенияСвойства):
            texts = [v.text.strip() for v in value.iterchildren(t.Значение) if v.text and v.text.strip()]
            if texts:
                rec.properties.append((_child_text(_children(value), t.Ид), ", ".join(texts)))
    chars = found.get(t.ХарактеристикиТовара)  # in practice only on "<product>#<characteristic>" goods
    if chars is not None:
        rec.characteristics = _characteristics(chars, t)
    _read_pictures(el, t, pictures, rec)
    if not rec.onec_id:
        rec.errors.append("товар без Ид")
    elif not rec.product_onec_id:
        rec.errors.append("товар без Ид товара перед «#»")
    return rec


def _read_pictures(el, t: _Tags, pictures: PictureFinder, rec: ProductRec) -> None:
    """``Картинка`` (any number, in order): each found in the package and hashed (``pictures``)."""
    started = None
    for picture in el.iterchildren(t.Картинка):
        if picture.text and picture.text.strip():
            started = started or time.monotonic()
            found, error = pictures.find(picture.text)
            if found is None:
                rec.errors.append(error)
                rec.images_failed = True
            elif found.source not in {p.source for p in rec.images}:
                rec.images.append(found)
    if started:
        rec.picture_seconds = time.monotonic() - started


def _offer(el, found: dict, t: _Tags) -> OfferRec:
    rec = OfferRec(_child_text(found, t.Ид), has_data=t.Наименование in found,
                   name=_child_text(found, t.Наименование), sku=_child_text(found, t.Артикул),
                   barcode=_child_text(found, t.Штрихкод), deleted=_is_deleted(el, found, t))
    if not rec.onec_id or not rec.product_onec_id:
        rec.errors.append("предложение без Ид товара")
    for block in el.iterchildren(t.ХарактеристикиТовара):
        rec.characteristics.extend(_characteristics(block, t))
    for block in el.iterchildren(t.Цены):
        for price in block.iterchildren(t.Цена):
            price_found = _children(price)
            try:
                value = parse_decimal(_child_text(price_found, t.ЦенаЗаЕдиницу))
            except ValueError as exc:
                rec.errors.append(f"цена: {exc}")
                continue
            rec.prices.append(PriceRow(_child_text(price_found, t.ИдТипаЦены), value,
                                       _child_text(price_found, t.Валюта)))
    _read_stock(el, found, t, rec)
    return rec


def _characteristics(block, t: _Tags) -> list[dict[str, str]]:
    found = (_children(ch) for ch in block.iterchildren(t.ХарактеристикаТовара))
    return [{"name": _child_text(f, t.Наименование), "value": _child_text(f, t.Значение)} for f in found]


def _read_stock(el, found: dict, t: _Tags, rec: OfferRec) -> None:
    """Stock comes in three shapes: ``<Количество>`` (total), ``<Склад ИдСклада КоличествоНаСкладе/>``
    attributes (2.0x), and ``<Остатки><Остаток><Склад><Ид/><Количество/>`` (2.09+, 3.x)."""
    try:
        if t.Количество in found:
            rec.quantity = parse_decimal(_child_text(found, t.Количество))
        for store in el.iterchildren(t.Склад):
            rec.stocks.append(StockRow((store.get("ИдСклада") or "").strip(),
                                       parse_decimal(store.get("КоличествоНаСкладе"))))
        for block in el.iterchildren(t.Остатки):
            for rest in block.iterchildren(t.Остаток):
                for store in rest.iterchildren(t.Склад):
                    store_found = _children(store)
                    rec.stocks.append(StockRow(_child_text(store_found, t.Ид),
                                               parse_decimal(_child_text(store_found, t.Количество))))
                rest_found = _children(rest)
                if t.Количество in rest_found:
                    rec.quantity = parse_decimal(_child_text(rest_found, t.Количество))
    except ValueError as exc:
        rec.errors.append(f"остаток: {exc}")
