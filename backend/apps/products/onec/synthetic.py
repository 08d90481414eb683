"""Synthetic 1C:УТ 11 «Обмен с сайтом» packages (CommerceML 3.1) for the demo, tests and benchmarks.

The layout is UT 11's: one subfolder per kind of data (``groups/``, ``propertiesGoods/``,
``priceLists/``, ``storages/``, ``units/``, ``goods/``, ``offers/``, ``prices/``, ``rests/``), each file
a complete ``КоммерческаяИнформация`` document. Goods, offers, prices and rests are segmented on
the same product boundaries, so the offers of every product sit in the same segment number.

Output is streamed: a product is generated, written to the four files of its segment and dropped,
so memory stays flat at any size. Everything derives from ``random.Random`` seeded with ``seed``:
the same arguments give byte-identical files. ``Catalog`` is public so a benchmark can produce
exactly the same records without parsing the XML.
"""
from __future__ import annotations

import base64
import math
import random
import struct
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

NAMESPACE = "urn:1C.ru:commerceml_3"
SCHEMA_VERSION = "3.1"
PRODUCTS_PER_GROUP = 50
PACKAGE_DIRS = (
    "groups", "propertiesGoods", "priceLists", "storages", "units", "goods", "offers", "prices", "rests",
)
UNIT_CODE = "796"  # ОКЕИ «штука»: every synthetic good is sold by the piece
CURRENCY = "RUB"

_SPORTS = ("Футбол", "Бег", "Плавание", "Теннис", "Фитнес", "Велоспорт", "Лыжи", "Хоккей", "Единоборства", "Туризм")
_SECTIONS = ("Обувь", "Одежда", "Инвентарь", "Аксессуары", "Защита", "Сумки и рюкзаки")
_KINDS = ("Кроссовки", "Футболка", "Куртка", "Мяч", "Ракетка", "Перчатки", "Шлем", "Рюкзак", "Брюки", "Носки")
# Some brand names carry XML-special characters on purpose: the files must escape them.
_BRANDS = (
    "Atlet", "Nordic Line", "Спорт & Отдых", 'ТД "Олимп"', "Runner's Pro", "Вершина", "Kraft<Fit>",
    "Стайер", "AquaLine", "Барс", "Polar Step", "Гранит", "Velo&Co", "Сибирь", "Arena Max", "Финиш",
)
_MODELS = ("Pro", "Lite", "Start", "Active", "Comfort", "Turbo", "Classic", "Air", "Grip", "Team")
_MATERIALS = ("Хлопок", "Полиэстер", "Нейлон", "Натуральная кожа", "Мембрана", "Резина")
_COUNTRIES = ("Россия", "Китай", "Вьетнам", "Турция", "Германия", "Италия")
_SIZES = ("XS", "S", "M", "L", "XL", "XXL", "3XL", "38", "40", "42", "44", "46")
_COLORS = ("Чёрный", "Белый", "Красный", "Синий", "Зелёный", "Серый", "Оранжевый", "Жёлтый")
_PRICE_TYPES = ("Розничная", "Оптовая", "Интернет-магазин", "Дилерская", "Закупочная")
_WAREHOUSES = ("Основной склад", "Склад Москва", "Склад Санкт-Петербург", "Склад Екатеринбург")
_SENTENCES = (
    "Лёгкая и прочная модель для регулярных тренировок и соревнований.",
    "Анатомический крой не сковывает движений и сохраняет форму после стирки.",
    "Подходит для занятий в зале и на открытом воздухе при температуре от -10 до +30 °C.",
    "Усиленные швы и износостойкие материалы продлевают срок службы изделия.",
    "Рекомендуется для роста < 190 см & веса до 100 кг.",
    "Вентилируемые вставки отводят влагу и помогают поддерживать комфортную температуру.",
    "Светоотражающие элементы делают спортсмена заметным в тёмное время суток.",
    "Поставляется в фирменной упаковке с инструкцией по уходу.",
)
_UNITS = (("796", "шт", "Штука", "PCE"), ("715", "пар", "Пара (2 шт.)", "NPR"), ("778", "упак", "Упаковка", "NMP"))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _version(guid: str) -> str:
    # 1C's НомерВерсии is a base64 data-version stamp, e.g. "AAAAAADhHdY="; derived from the Ид
    # so it needs no random draw and stays stable.
    return base64.b64encode(bytes.fromhex("000000" + guid[:8] + guid[9:11])).decode()


def _ean13(number: int) -> str:
    digits = f"460{number % 10**9:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return f"{digits}{(10 - total % 10) % 10}"


def _numbered(names: tuple[str, ...], i: int) -> str:
    return names[i % len(names)] + (f" {i // len(names) + 1}" if i >= len(names) else "")


def format_price(kopecks: int) -> str:
    """``ЦенаЗаЕдиницу`` as 1C writes it: a dot decimal separator, no trailing zeros."""
    rub, kop = divmod(kopecks, 100)
    return f"{rub}.{kop:02d}".rstrip("0").rstrip(".") if kop else str(rub)


@dataclass(frozen=True, slots=True)
class Ref:
    """A named 1C object: a group, brand, price type, warehouse, property or property value."""

    guid: str
    name: str


@dataclass(slots=True)
class Offer:
    id: str  # "<product Ид>#<variant Ид>"
    sku: str
    barcode: str
    name: str
    size: str
    color: str
    prices: list[int]  # kopecks, one per Catalog.price_types entry
    rests: list[int]  # one per Catalog.warehouses entry


@dataclass(slots=True)
class Product:
    guid: str
    sku: str
    barcode: str
    name: str
    kind: str
    description: str
    group: Ref
    brand: Ref
    material: Ref  # a value of the Справочник property "Материал"
    weight: str
    country: str
    offers: list[Offer]

    @property
    def image(self) -> str:
        """Its picture, relative to the goods folder, as UT 11 lays them out (``pictures=True``)."""
        return f"import_files/{self.guid[:2]}/{self.guid}.png"


class Catalog:
    """The classifier of a synthetic package, and its products generated on demand."""

    def __init__(
        self, *, products: int, offers_per_product: int = 3, price_types: int = 3, warehouses: int = 2, seed: int = 1
    ) -> None:
        for name, value in (("products", products), ("offers_per_product", offers_per_product),
                            ("price_types", price_types), ("warehouses", warehouses)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        self.product_count = products
        self.offers_per_product = offers_per_product
        self.seed = seed
        rng = random.Random(seed)
        self.id = _guid(rng)
        self.owner = Ref(_guid(rng), 'ООО "Фриспорт"')
        self.date = (datetime(2025, 1, 1) + timedelta(seconds=rng.randrange(365 * 86400))).isoformat()
        self.tree = self._make_tree(rng, max(3, products // PRODUCTS_PER_GROUP))
        self.leaves = [child for _, children in self.tree for child in children]
        self.brands = [Ref(_guid(rng), name) for name in _BRANDS]
        self.material_property = Ref(_guid(rng), "Материал")
        self.materials = [Ref(_guid(rng), name) for name in _MATERIALS]
        self.weight_property = Ref(_guid(rng), "Вес, кг")
        self.country_property = Ref(_guid(rng), "Страна производства")
        self.price_types = [Ref(_guid(rng), _numbered(_PRICE_TYPES, i)) for i in range(price_types)]
        self.warehouses = [Ref(_guid(rng), _numbered(_WAREHOUSES, i)) for i in range(warehouses)]
        self.units = [Ref(_guid(rng), short) for _, short, _, _ in _UNITS]

    @staticmethod
    def _make_tree(rng: random.Random, count: int) -> list[tuple[Ref, list[Ref]]]:
        # Two levels: about sqrt(count) top groups, the rest spread over them as leaves.
        tops = [Ref(_guid(rng), _numbered(_SPORTS, i)) for i in range(max(1, math.isqrt(count)))]
        children: list[list[Ref]] = [[] for _ in tops]
        for j in range(count - len(tops)):
            children[j % len(tops)].append(Ref(_guid(rng), _numbered(_SECTIONS, j // len(tops))))
        return list(zip(tops, children))

    @property
    def group_count(self) -> int:
        return len(self.tree) + len(self.leaves)

    def counts(self) -> dict[str, int]:
        offers = self.product_count * self.offers_per_product
        return {
            "groups": self.group_count,
            "products": self.product_count,
            "offers": offers,
            "prices": offers * len(self.price_types),
            "stocks": offers * len(self.warehouses),
        }

    def products(self) -> Iterator[Product]:
        """Every product with its offers, always the same sequence (a fresh RNG per call)."""
        rng = random.Random(f"{self.seed}:goods")
        rand, randrange, choice = rng.random, rng.randrange, rng.choice
        price_factors = [max(30, 100 - 7 * k) for k in range(len(self.price_types))]
        stores = range(len(self.warehouses))
        for i in range(self.product_count):
            guid = _guid(rng)
            brand = choice(self.brands)
            kind = choice(_KINDS)
            name = f"{kind} {brand.name} {choice(_MODELS)} {i + 1}"
            sku = f"FS-{i + 1:06d}"
            base = randrange(50, 2000) * 1000  # kopecks: 500..19 990 ₽
            offers = []
            for j in range(self.offers_per_product):
                size = _numbered(_SIZES, j)
                color = choice(_COLORS)
                cents = base + randrange(0, 100) * 100
                offers.append(Offer(
                    id=f"{guid}#{_guid(rng)}",
                    sku=f"{sku}-{j + 1}",
                    barcode=_ean13(1 + (i * self.offers_per_product + j) * 2),  # odd: never a product's
                    name=f"{name} ({size}, {color})",
                    size=size,
                    color=color,
                    prices=[cents * f // 100 for f in price_factors],
                    rests=[0 if rand() < 0.3 else randrange(1, 50) for _ in stores],
                ))
            yield Product(
                guid=guid,
                sku=sku,
                barcode=_ean13(i * self.offers_per_product * 2),
                name=name,
                kind=kind,
                description=" ".join(rng.sample(_SENTENCES, 2)),
                group=choice(self.leaves),
                brand=brand,
                material=choice(self.materials),
                weight=f"{randrange(5, 500) / 100:.2f}".replace(".", ","),  # 1C writes a decimal comma here
                country=choice(_COUNTRIES),
                offers=offers,
            )


# --- XML -----------------------------------------------------------------------------------------

def _document_start(catalog: Catalog) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<КоммерческаяИнформация xmlns="{NAMESPACE}" xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ВерсияСхемы="{SCHEMA_VERSION}" '
        f'ДатаФормирования="{catalog.date}">\n'
    )


def _owner(catalog: Catalog) -> str:
    return (
        "\t\t<Владелец>\n"
        f"\t\t\t<Ид>{catalog.owner.guid}</Ид>\n"
        f"\t\t\t<Наименование>{_escape(catalog.owner.name)}</Наименование>\n"
        "\t\t\t<ОфициальноеНаименование>Общество с ограниченной ответственностью \"Фриспорт\""
        "</ОфициальноеНаименование>\n"
        "\t\t\t<ИНН>7700000000</ИНН>\n"
        "\t\t\t<КПП>770001001</КПП>\n"
        "\t\t</Владелец>\n"
    )


def _classifier(catalog: Catalog, body: str) -> str:
    return (
        _document_start(catalog)
        + '\t<Классификатор СодержитТолькоИзменения="false">\n'
        f"\t\t<Ид>{catalog.id}</Ид>\n"
        "\t\t<Наименование>Классификатор (Основной каталог товаров)</Наименование>\n"
        + _owner(catalog) + body + "\t</Классификатор>\n</КоммерческаяИнформация>\n"
    )


def _object_head(ref: Ref, indent: str) -> str:
    return (
        f"{indent}<Ид>{ref.guid}</Ид>\n{indent}<НомерВерсии>{_version(ref.guid)}</НомерВерсии>\n"
        f"{indent}<ПометкаУдаления>false</ПометкаУдаления>\n"
        f"{indent}<Наименование>{_escape(ref.name)}</Наименование>\n"
    )


def _groups_xml(catalog: Catalog) -> str:
    out = ["\t\t<Группы>\n"]
    for top, children in catalog.tree:
        out += ["\t\t\t<Группа>\n", _object_head(top, "\t\t\t\t"), "\t\t\t\t<Группы>\n"]
        for child in children:
            out += ["\t\t\t\t\t<Группа>\n", _object_head(child, "\t\t\t\t\t\t"),
                    "\t\t\t\t\t</Группа>\n"]
        out.append("\t\t\t\t</Группы>\n\t\t\t</Группа>\n")
    out.append("\t\t</Группы>\n")
    return _classifier(catalog, "".join(out))


def _properties_xml(catalog: Catalog) -> str:
    variants = "".join(
        f"\t\t\t\t\t<Справочник>\n\t\t\t\t\t\t<ИдЗначения>{m.guid}</ИдЗначения>\n"
        f"\t\t\t\t\t\t<Значение>{_escape(m.name)}</Значение>\n\t\t\t\t\t</Справочник>\n"
        for m in catalog.materials
    )
    properties = (
        (catalog.material_property, "Справочник", f"\t\t\t\t<ВариантыЗначений>\n{variants}\t\t\t\t</ВариантыЗначений>\n"),
        (catalog.weight_property, "Число", ""),
        (catalog.country_property, "Строка", ""),
    )
    body = "".join(
        "\t\t\t<Свойство>\n" + _object_head(prop, "\t\t\t\t")
        + f"\t\t\t\t<Внешний>false</Внешний>\n\t\t\t\t<ТипЗначений>{value_type}</ТипЗначений>\n{extra}"
        "\t\t\t</Свойство>\n"
        for prop, value_type, extra in properties
    )
    return _classifier(catalog, f"\t\t<Свойства>\n{body}\t\t</Свойства>\n")


def _price_types_xml(catalog: Catalog) -> str:
    body = "".join(
        "\t\t\t<ТипЦены>\n" + _object_head(pt, "\t\t\t\t")
        + f"\t\t\t\t<Валюта>{CURRENCY}</Валюта>\n\t\t\t\t<Налог>\n\t\t\t\t\t<Наименование>НДС</Наименование>\n"
        "\t\t\t\t\t<УчтеноВСумме>true</УчтеноВСумме>\n\t\t\t\t</Налог>\n\t\t\t</ТипЦены>\n"
        for pt in catalog.price_types
    )
    return _classifier(catalog, f"\t\t<ТипыЦен>\n{body}\t\t</ТипыЦен>\n")


def _warehouses_xml(catalog: Catalog) -> str:
    body = "".join(
        "\t\t\t<Склад>\n" + _object_head(w, "\t\t\t\t") + "\t\t\t</Склад>\n"
        for w in catalog.warehouses
    )
    return _classifier(catalog, f"\t\t<Склады>\n{body}\t\t</Склады>\n")


def _units_xml(catalog: Catalog) -> str:
    body = "".join(
        f"\t\t\t<ЕдиницаИзмерения>\n\t\t\t\t<Ид>{ref.guid}</Ид>\n\t\t\t\t<НомерВерсии>{_version(ref.guid)}</НомерВерсии>\n"
        f"\t\t\t\t<ПометкаУдаления>false</ПометкаУдаления>\n\t\t\t\t<НаименованиеКраткое>{short}</НаименованиеКраткое>\n"
        f"\t\t\t\t<Код>{code}</Код>\n\t\t\t\t<НаименованиеПолное>{full}</НаименованиеПолное>\n"
        f"\t\t\t\t<МеждународноеСокращение>{intl}</МеждународноеСокращение>\n\t\t\t</ЕдиницаИзмерения>\n"
        for ref, (code, short, full, intl) in zip(catalog.units, _UNITS)
    )
    return _classifier(catalog, f"\t\t<ЕдиницыИзмерения>\n{body}\t\t</ЕдиницыИзмерения>\n")


_BASE_UNIT = (
    f'\t\t\t\t<БазоваяЕдиница Код="{UNIT_CODE}" НаименованиеПолное="Штука" МеждународноеСокращение="PCE">шт'
    "</БазоваяЕдиница>\n"
)


class _Segment:
    """The goods, offers, prices and rests files of one run of products, written in step."""

    def __init__(self, catalog: Catalog, out_dir: Path, number: int, names: random.Random,
                 pictures: bool = False) -> None:
        self.catalog = catalog
        self.pictures = out_dir / "goods" if pictures else None
        self.paths = {kind: out_dir / kind / f"{kind}_1_{number}_{_guid(names)}.xml"
                      for kind in ("goods", "offers", "prices", "rests")}
        self.files: dict[str, TextIO] = {
            kind: path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20)
            for kind, path in self.paths.items()
        }
        start, cid = _document_start(catalog), catalog.id
        owner = _owner(catalog)
        self.files["goods"].write(
            f'{start}\t<Каталог СодержитТолькоИзменения="false">\n\t\t<Ид>{cid}</Ид>\n'
            f"\t\t<ИдКлассификатора>{cid}</ИдКлассификатора>\n\t\t<Наименование>Основной каталог товаров</Наименование>\n"
            f"{owner}\t\t<Товары>\n"
        )
        package = (
            f'{start}\t<ПакетПредложений СодержитТолькоИзменения="false">\n\t\t<Ид>{cid}#</Ид>\n'
            "\t\t<Наименование>Пакет предложений (Основной каталог товаров)</Наименование>\n"
            f"\t\t<ИдКаталога>{cid}</ИдКаталога>\n\t\t<ИдКлассификатора>{cid}</ИдКлассификатора>\n"
            f"{owner}\t\t<Предложения>\n"
        )
        for kind in ("offers", "prices", "rests"):
            self.files[kind].write(package)

    def _picture(self, p: Product) -> str:
        if self.pictures is None:
            return ""
        path = self.pictures / p.image
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(picture_png(p.guid))
        return f"\t\t\t\t<Картинка>{p.image}</Картинка>\n"

    def add(self, p: Product) -> None:
        c = self.catalog
        name = _escape(p.name)
        self.files["goods"].write(
            f"\t\t\t<Товар>\n\t\t\t\t<Ид>{p.guid}</Ид>\n\t\t\t\t<НомерВерсии>{_version(p.guid)}</НомерВерсии>\n"
            f"\t\t\t\t<ПометкаУдаления>false</ПометкаУдаления>\n\t\t\t\t<Штрихкод>{p.barcode}</Штрихкод>\n"
            f"\t\t\t\t<Артикул>{p.sku}</Артикул>\n\t\t\t\t<Наименование>{name}</Наименование>\n{_BASE_UNIT}"
            f"\t\t\t\t<Группы>\n\t\t\t\t\t<Ид>{p.group.guid}</Ид>\n\t\t\t\t</Группы>\n"
            f"\t\t\t\t<Описание>{_escape(p.description)}</Описание>\n{self._picture(p)}"
            f"\t\t\t\t<Изготовитель>\n\t\t\t\t\t<Ид>{p.brand.guid}</Ид>\n"
            f"\t\t\t\t\t<Наименование>{_escape(p.brand.name)}</Наименование>\n\t\t\t\t</Изготовитель>\n"
            "\t\t\t\t<ЗначенияСвойств>\n"
            f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{c.material_property.guid}</Ид>\n"
            f"\t\t\t\t\t\t<Значение>{p.material.guid}</Значение>\n\t\t\t\t\t</ЗначенияСвойства>\n"
            f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{c.weight_property.guid}</Ид>\n"
            f"\t\t\t\t\t\t<Значение>{p.weight}</Значение>\n\t\t\t\t\t</ЗначенияСвойства>\n"
            f"\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{c.country_property.guid}</Ид>\n"
            f"\t\t\t\t\t\t<Значение>{p.country}</Значение>\n\t\t\t\t\t</ЗначенияСвойства>\n"
            "\t\t\t\t</ЗначенияСвойств>\n"
            "\t\t\t\t<ЗначенияРеквизитов>\n"
            f"\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>ВидНоменклатуры</Наименование>\n"
            f"\t\t\t\t\t\t<Значение>{p.kind}</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n"
            "\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>ТипНоменклатуры</Наименование>\n"
            "\t\t\t\t\t\t<Значение>Товар</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n"
            "\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>Полное наименование</Наименование>\n"
            f"\t\t\t\t\t\t<Значение>{name}</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n"
            "\t\t\t\t</ЗначенияРеквизитов>\n\t\t\t</Товар>\n"
        )
        offers, prices, rests = [], [], []
        for o in p.offers:
            offers.append(
                f"\t\t\t<Предложение>\n\t\t\t\t<Ид>{o.id}</Ид>\n\t\t\t\t<Штрихкод>{o.barcode}</Штрихкод>\n"
                f"\t\t\t\t<Артикул>{o.sku}</Артикул>\n\t\t\t\t<Наименование>{_escape(o.name)}</Наименование>\n"
                f"{_BASE_UNIT}\t\t\t\t<ХарактеристикиТовара>\n"
                f"\t\t\t\t\t<ХарактеристикаТовара>\n\t\t\t\t\t\t<Наименование>Размер</Наименование>\n"
                f"\t\t\t\t\t\t<Значение>{o.size}</Значение>\n\t\t\t\t\t</ХарактеристикаТовара>\n"
                f"\t\t\t\t\t<ХарактеристикаТовара>\n\t\t\t\t\t\t<Наименование>Цвет</Наименование>\n"
                f"\t\t\t\t\t\t<Значение>{o.color}</Значение>\n\t\t\t\t\t</ХарактеристикаТовара>\n"
                "\t\t\t\t</ХарактеристикиТовара>\n\t\t\t</Предложение>\n"
            )
            prices.append(f"\t\t\t<Предложение>\n\t\t\t\t<Ид>{o.id}</Ид>\n\t\t\t\t<Цены>\n")
            for price_type, kopecks in zip(c.price_types, o.prices):
                value = format_price(kopecks)
                prices.append(
                    f"\t\t\t\t\t<Цена>\n\t\t\t\t\t\t<Представление>{value} {CURRENCY} за шт</Представление>\n"
                    f"\t\t\t\t\t\t<ИдТипаЦены>{price_type.guid}</ИдТипаЦены>\n"
                    f"\t\t\t\t\t\t<ЦенаЗаЕдиницу>{value}</ЦенаЗаЕдиницу>\n\t\t\t\t\t\t<Валюта>{CURRENCY}</Валюта>\n"
                    f"\t\t\t\t\t\t<Единица>{UNIT_CODE}</Единица>\n\t\t\t\t\t\t<Коэффициент>1</Коэффициент>\n"
                    "\t\t\t\t\t</Цена>\n"
                )
            prices.append("\t\t\t\t</Цены>\n\t\t\t</Предложение>\n")
            rests.append(f"\t\t\t<Предложение>\n\t\t\t\t<Ид>{o.id}</Ид>\n\t\t\t\t<Остатки>\n")
            for warehouse, quantity in zip(c.warehouses, o.rests):
                rests.append(
                    f"\t\t\t\t\t<Остаток>\n\t\t\t\t\t\t<Склад>\n\t\t\t\t\t\t\t<Ид>{warehouse.guid}</Ид>\n"
                    f"\t\t\t\t\t\t\t<Количество>{quantity}</Количество>\n\t\t\t\t\t\t</Склад>\n\t\t\t\t\t</Остаток>\n"
                )
            rests.append("\t\t\t\t</Остатки>\n\t\t\t</Предложение>\n")
        self.files["offers"].write("".join(offers))
        self.files["prices"].write("".join(prices))
        self.files["rests"].write("".join(rests))

    def close(self) -> list[Path]:
        self.files["goods"].write("\t\t</Товары>\n\t</Каталог>\n</КоммерческаяИнформация>\n")
        for kind in ("offers", "prices", "rests"):
            self.files[kind].write("\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n")
        for f in self.files.values():
            f.close()
        return list(self.paths.values())


PICTURE_BYTES = 16 * 1024  # about a small product photo, so copying real bytes is part of the measure


def picture_png(guid: str) -> bytes:
    """A valid 8×8 PNG, one colour per product, padded to ``PICTURE_BYTES`` with a text chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rgb = bytes.fromhex(guid.replace("-", "")[:6])
    raw = b"".join(b"\0" + rgb * 8 for _ in range(8))
    text = b"Comment\0" + (guid.encode() * (PICTURE_BYTES // len(guid)))[:PICTURE_BYTES - 100]
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", text) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def write_package(
    out_dir: Path,
    *,
    products: int,
    offers_per_product: int = 3,
    price_types: int = 3,
    warehouses: int = 2,
    seed: int = 1,
    segment_size: int | None = None,
    pictures: bool = False,
) -> dict[str, int]:
    """Write a package into ``out_dir`` (meant to be empty) and return what it holds.

    ``pictures`` gives each product a ``Картинка`` and its PNG in ``goods/import_files/``.

    ``segment_size`` is the number of products per goods file; offers, prices and rests files
    are cut on the same product boundaries. ``None`` writes one file of each.
    """
    if segment_size is not None and segment_size < 1:
        raise ValueError(f"segment_size must be at least 1, got {segment_size}")
    catalog = Catalog(products=products, offers_per_product=offers_per_product,
                      price_types=price_types, warehouses=warehouses, seed=seed)
    out_dir = Path(out_dir)
    for name in PACKAGE_DIRS:
        (out_dir / name).mkdir(parents=True, exist_ok=True)
    # File-name GUIDs come from their own stream, so segmenting never changes the data itself.
    names = random.Random(f"{seed}:files")
    written = []
    for subdir, render in (("groups", _groups_xml), ("propertiesGoods", _properties_xml),
                           ("priceLists", _price_types_xml), ("storages", _warehouses_xml), ("units", _units_xml)):
        path = out_dir / subdir / f"{subdir}.xml"
        path.write_text(render(catalog), encoding="utf-8", newline="\n")
        written.append(path)

    per_segment = segment_size or products
    segment = None
    for i, product in enumerate(catalog.products()):
        if i % per_segment == 0:
            if segment:
                written += segment.close()
            segment = _Segment(catalog, out_dir, i // per_segment + 1, names, pictures)
        segment.add(product)
    written += segment.close()
    counts = {**catalog.counts(), "files": len(written), "bytes": sum(p.stat().st_size for p in written)}
    return {**counts, "pictures": products} if pictures else counts
