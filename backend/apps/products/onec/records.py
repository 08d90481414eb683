"""Plain records the reader produces and the writer consumes: one per 1C object, no ORM here.

``errors`` holds per-item problems found while reading (a malformed number, say); the rest of
the item is still imported and the item counts as failed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(slots=True)
class Section:
    """The start of a container; ``only_changes`` is its ``СодержитТолькоИзменения`` attribute."""

    kind: str  # "catalog" (goods) | "offers"
    only_changes: bool


@dataclass(slots=True)
class Item:
    onec_id: str
    errors: list[str] = field(default_factory=list, kw_only=True)
    deleted: bool = field(default=False, kw_only=True)  # ПометкаУдаления / Статус=Удален


@dataclass(slots=True)
class GroupRec(Item):
    name: str = ""
    parent_id: str | None = None


@dataclass(slots=True)
class PropertyRec(Item):
    name: str = ""
    value_type: str = ""
    choices: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class PriceTypeRec(Item):
    name: str = ""
    currency: str = ""


@dataclass(slots=True)
class WarehouseRec(Item):
    name: str = ""


@dataclass(slots=True)
class ProductRec(Item):
    name: str = ""
    sku: str = ""
    barcode: str = ""
    description: str = ""
    unit: str = ""
    group_id: str | None = None
    brand: tuple[str, str] | None = None  # (Ид, Наименование) of Изготовитель
    properties: list[tuple[str, str]] = field(default_factory=list)  # (property Ид, value)
    images: list = field(default_factory=list)  # pictures.Picture, found and hashed by the reader
    images_failed: bool = False  # a picture could not be taken: keep the product's previous ones
    picture_seconds: float = 0.0  # the reader's time finding and hashing them, for the session's timings
    characteristics: list[dict[str, str]] = field(default_factory=list)  # ХарактеристикиТовара

    @property
    def product_onec_id(self) -> str:
        """The product this ``Товар`` describes: its own Ид, or ``<product>`` of a ``<product>#<characteristic>``
        good — CommerceML 2.0x (1C:UT 10, the 2.04 documentation's example) lists each characteristic of a
        good as a separate ``Товар`` with such an Ид; it describes an offer of that product, not a product."""
        return self.onec_id.partition("#")[0]

    @property
    def is_characteristic(self) -> bool:
        return "#" in self.onec_id


@dataclass(slots=True)
class PriceRow:
    price_type_id: str
    value: Decimal
    currency: str


@dataclass(slots=True)
class StockRow:
    warehouse_id: str
    quantity: Decimal


@dataclass(slots=True)
class OfferRec(Item):
    """An offer. ``has_data`` is False for the bare ``Ид + Цены/Остатки`` form of price and stock
    files: such a record updates prices and stock of an existing offer; it creates one only for a
    product the catalog knows (see ``CatalogWriter._offers_of_products``)."""

    has_data: bool = False
    name: str = ""
    sku: str = ""
    barcode: str = ""
    characteristics: list[dict[str, str]] = field(default_factory=list)
    quantity: Decimal | None = None
    prices: list[PriceRow] = field(default_factory=list)
    stocks: list[StockRow] = field(default_factory=list)

    @property
    def product_onec_id(self) -> str:
        """``<product Ид>#<characteristic Ид>``, or just the product's Ид for a good without variants."""
        return self.onec_id.partition("#")[0]
