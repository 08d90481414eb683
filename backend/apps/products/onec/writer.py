"""Write batches of records to the catalog: bulk upserts by 1C Ид, skipping unchanged rows.

Each ``write_*`` call is one batch and runs inside the caller's ``transaction.atomic()``. A row's
``import_hash`` is a digest of the values the import writes, so an unchanged row costs one
indexed read and no write; new rows go in with ``COPY``/INSERT and changed rows with a pipelined
UPDATE (``bulk``). Foreign keys are resolved per batch with one query (or from small in-memory
maps for reference data), so memory does not grow with the catalog. Problems with one item are
appended to that record's ``errors``; the batch goes on.
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from decimal import Decimal

from django.db import models
from django.utils import timezone

from ..models import Brand, Category, Offer, Price, PriceType, Product, Property, Stock, Warehouse
from .bulk import db_datetime, fetch_rows, insert_rows, json_value, update_rows
from .pictures import PictureStore
from .records import GroupRec, OfferRec, PriceTypeRec, ProductRec, PropertyRec, WarehouseRec

_CENT = Decimal("0.01")
_MILLI = Decimal("0.001")
_MAX_AMOUNT = Decimal(10) ** 11  # DecimalField(max_digits=14, decimal_places=2/3)
_ONEC_ID_MAX = Product._meta.get_field("onec_id").max_length


def _offer_row(rec: OfferRec | ProductRec, product_id: int) -> dict:
    """An offer's columns, from its ``Предложение`` or its ``<product>#<characteristic>`` ``Товар``
    (the same keys in the same order, so both give the same digest)."""
    return {"product_id": product_id, "name": rec.name[:500], "sku": rec.sku[:100], "barcode": rec.barcode[:100],
            "characteristics": rec.characteristics, "is_active": not rec.deleted}


def _digest(values) -> str:
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


class IdBitmap:
    """A set of primary keys as a bitmap: 300k offers cost ~40 KB instead of ~20 MB for a set."""

    def __init__(self) -> None:
        self._bits = bytearray()

    def add(self, pk: int) -> None:
        byte = pk >> 3
        if byte >= len(self._bits):
            self._bits.extend(bytes(max(byte + 1 - len(self._bits), len(self._bits))))
        self._bits[byte] |= 1 << (pk & 7)

    def __contains__(self, pk: int) -> bool:
        byte = pk >> 3
        return byte < len(self._bits) and bool(self._bits[byte] & (1 << (pk & 7)))


class CatalogWriter:
    def __init__(self) -> None:
        self.stats: dict[str, Counter] = defaultdict(Counter)
        self.seen = {"products": IdBitmap(), "offers": IdBitmap()}
        # Whether "<product>#<characteristic>" goods described offers in this import (see _offer_rows).
        self.characteristic_offers = False
        # Reference data is small (hundreds of rows): keep it in memory for the whole import.
        self.categories = dict(Category.objects.values_list("onec_id", "id"))
        self.brands = dict(Brand.objects.values_list("onec_id", "id"))
        self.price_types = dict(PriceType.objects.values_list("onec_id", "id"))
        self.warehouses = dict(Warehouse.objects.values_list("onec_id", "id"))
        self.properties = {oid: (name, choices) for oid, name, choices in
                           Property.objects.values_list("onec_id", "name", "choices")}
        self.pictures = PictureStore()
        self.picture_seconds = 0.0  # the reader's share (finding and hashing), summed from the records
        self.pictures_named = False  # whether any good of the package named a picture

    # --- the generic upsert -------------------------------------------------------------
    def _upsert(self, model: type[models.Model], rows: dict[str, dict], entity: str,
                extra: dict[str, object] | None = None, retry: set[str] = frozenset()
                ) -> tuple[dict[str, int], set[str]]:
        """Upsert ``{onec_id: {field: value}}``; return ``({onec_id: pk}, onec_ids written)``.

        ``extra[onec_id]`` joins the digest without being a column (product pictures live elsewhere).
        Rows in ``retry`` were only partly written (a picture was missing): they get an empty digest,
        which never matches, so the next import writes them again instead of skipping them.
        """
        if not rows:
            return {}, set()
        stats = self.stats[entity]
        existing = {
            oid: (pk, digest, active)
            for oid, pk, digest, active in fetch_rows(model, ["onec_id", "id", "import_hash", "is_active"],
                                                      "onec_id", rows)
        }
        names = list(next(iter(rows.values())))
        json_names = {name for name in names if isinstance(model._meta.get_field(name), models.JSONField)}
        now = db_datetime(timezone.now())
        ids: dict[str, int] = {}
        written: set[str] = set()
        new, changed = [], []
        for oid, values in rows.items():
            digest = _digest((values, extra[oid]) if extra else values)
            old = existing.get(oid)
            if old is not None:
                ids[oid] = old[0]
                if old[1] == digest:
                    stats["unchanged"] += 1
                    continue
                stats["deactivated" if old[2] and not values["is_active"] else "updated"] += 1
            else:
                stats["created"] += 1
            written.add(oid)
            if oid in retry:
                digest = ""
            row = [json_value(v) if k in json_names else v for k, v in values.items()]
            if old is None:
                new.append((oid, digest, now, now, *row))
            else:
                changed.append((*row, digest, now, old[0]))
        insert_rows(model, ["onec_id", "import_hash", "created_at", "updated_at", *names], new)
        update_rows(model, [*names, "import_hash", "updated_at"], ["id"], changed)
        if new:
            ids.update(fetch_rows(model, ["onec_id", "id"], "onec_id", (row[0] for row in new)))
        return ids, written

    def _valid(self, recs):
        for rec in recs:
            # Goods and offers also need the product part of a "<product>#<characteristic>" Ид.
            if rec.onec_id and len(rec.onec_id) <= _ONEC_ID_MAX and getattr(rec, "product_onec_id", True):
                yield rec
            elif not rec.errors:  # the reader may already have said why
                rec.errors.append(f"Ид длиннее {_ONEC_ID_MAX} символов" if rec.onec_id else "объект без Ид")

    # --- classifier ---------------------------------------------------------------------
    def write_groups(self, recs: list[GroupRec]) -> None:
        # Parents precede children (pre-order), but a child's parent may be new in this batch:
        # write level by level so every parent has its pk before its children need it.
        depth: dict[str, int] = {}
        levels: dict[int, list[GroupRec]] = defaultdict(list)
        for rec in self._valid(recs):
            depth[rec.onec_id] = depth[rec.parent_id] + 1 if rec.parent_id in depth else 0
            levels[depth[rec.onec_id]].append(rec)
        for level in sorted(levels):
            rows = {}
            for rec in levels[level]:
                parent = self.categories.get(rec.parent_id) if rec.parent_id else None
                rows[rec.onec_id] = {"name": rec.name[:255], "parent_id": parent, "is_active": not rec.deleted}
            self.categories.update(self._upsert(Category, rows, "categories")[0])

    def write_properties(self, recs: list[PropertyRec]) -> None:
        rows = {rec.onec_id: {"name": rec.name[:255], "value_type": rec.value_type[:50], "choices": rec.choices,
                              "is_active": not rec.deleted} for rec in self._valid(recs)}
        self._upsert(Property, rows, "properties")
        self.properties.update((oid, (row["name"], row["choices"])) for oid, row in rows.items())

    def write_price_types(self, recs: list[PriceTypeRec]) -> None:
        rows = {rec.onec_id: {"name": rec.name[:255], "currency": rec.currency[:10], "is_active": not rec.deleted}
                for rec in self._valid(recs)}
        self.price_types.update(self._upsert(PriceType, rows, "price_types")[0])

    def write_warehouses(self, recs: list[WarehouseRec]) -> None:
        rows = {rec.onec_id: {"name": rec.name[:255], "is_active": not rec.deleted} for rec in self._valid(recs)}
        self.warehouses.update(self._upsert(Warehouse, rows, "warehouses")[0])

    # --- goods --------------------------------------------------------------------------
    def write_products(self, recs: list[ProductRec]) -> None:
        recs = list(self._valid(recs))
        brands = {rec.brand[0]: {"name": rec.brand[1][:255] or rec.brand[0], "is_active": True}
                  for rec in recs if rec.brand and len(rec.brand[0]) <= _ONEC_ID_MAX}
        if brands.keys() - self.brands.keys():
            self.brands.update(self._upsert(Brand, brands, "brands")[0])
        variants = [rec for rec in recs if rec.is_characteristic]
        # The record each product row is made from: its own Товар, or the first of its "#" goods.
        describing = {rec.onec_id: rec for rec in recs if not rec.is_characteristic} if variants else \
            {rec.onec_id: rec for rec in recs}
        rows = {oid: self._product_row(rec) for oid, rec in describing.items()}
        described = self._products_of_characteristics(variants, rows, describing) if variants else {}
        # The digest sees each picture's content hash, not just its name: new bytes under an old
        # name change the product. No pictures: ``[]``, the digest such products always had.
        pictures = {oid: [(p.source, p.sha256) for p in rec.images] for oid, rec in describing.items()}
        retry = {oid for oid, rec in describing.items() if rec.images_failed}
        picture_seconds = [rec.picture_seconds for rec in recs if rec.images or rec.images_failed]
        if picture_seconds:
            self.picture_seconds += sum(picture_seconds)
            self.pictures_named = True
        ids, written = self._upsert(Product, rows, "products", extra=pictures, retry=retry)
        for pk in ids.values():
            self.seen["products"].add(pk)
        # A product with a missing picture keeps its previous pictures (its other fields are written).
        images = {oid: rec.images for oid, rec in describing.items() if not rec.images_failed}
        self.pictures.replace({ids[oid]: images[oid] for oid in written if oid in images})
        if self.pictures.stats:
            self.stats["images"].update(self.pictures.stats)
            self.pictures.stats.clear()
        if variants:
            self._characteristic_offers(variants, {**described, **ids})

    def _product_row(self, rec: ProductRec) -> dict:
        return {
            "name": rec.name[:500], "sku": rec.sku[:100], "barcode": rec.barcode[:100],
            "description": rec.description, "unit": rec.unit[:20],
            "category_id": self.categories.get(rec.group_id),
            "brand_id": self.brands.get(rec.brand[0]) if rec.brand else None,
            "properties": self._property_values(rec.properties),
            "is_active": not rec.deleted,
        }

    def _products_of_characteristics(self, variants: list[ProductRec], rows: dict,
                                     describing: dict[str, ProductRec]) -> dict[str, int]:
        """Add to ``rows`` (and ``describing``) the products of these ``<product>#<characteristic>`` goods,
        each described by the first of its goods in the package, and return ``{Ид: pk}`` of those already
        described by this import.

        Each characteristic repeats the product's data, so the first ``Товар`` describes the product and the
        others only add offers; writing each one over the last would cost a write per characteristic on every
        re-import. The product's own ``Товар`` in the same batch wins. A characteristic retires its offer,
        not the product: the product is inactive only when all of its goods in the batch are marked deleted.
        One query per batch: "described by this import" is the writer's bitmap of products seen so far."""
        parts = {rec.product_onec_id for rec in variants} - rows.keys()
        known = dict(fetch_rows(Product, ["onec_id", "id"], "onec_id", parts))
        described = {oid: pk for oid, pk in known.items() if pk in self.seen["products"]}
        for rec in variants:
            pid = rec.product_onec_id
            if pid not in parts or pid in described:
                continue
            if pid in rows:
                rows[pid]["is_active"] = rows[pid]["is_active"] or not rec.deleted
                continue
            rows[pid] = self._product_row(rec)
            describing[pid] = rec
        return described

    def _characteristic_offers(self, variants: list[ProductRec], product_ids: dict[str, int]) -> None:
        """One offer per ``<product>#<characteristic>`` good, its name and characteristics from that ``Товар``
        (``offers.xml`` prices only some of them)."""
        rows = {rec.onec_id: _offer_row(rec, product_ids[rec.product_onec_id]) for rec in variants}
        for pk in self._upsert(Offer, rows, "offers")[0].values():
            self.seen["offers"].add(pk)
        self.characteristic_offers = True

    def _property_values(self, pairs: list[tuple[str, str]]) -> dict[str, str]:
        values = {}
        for prop_id, raw in pairs:
            name, choices = self.properties.get(prop_id, (prop_id, {}))
            values[name] = choices.get(raw, raw)
        return values

    # --- offers, prices, stock ----------------------------------------------------------
    def write_offers(self, recs: list[OfferRec]) -> None:
        recs = list(self._valid(recs))
        quantities: dict[int, Decimal | None] = {}  # current Offer.quantity, where already read
        offer_ids = self._offer_rows(recs, quantities)
        self._write_quantities(recs, offer_ids, quantities)
        self._write_prices(recs, offer_ids)
        self._write_stocks(recs, offer_ids)

    def _offer_rows(self, recs: list[OfferRec], quantities: dict) -> dict[str, int]:
        data = [rec for rec in recs if rec.has_data]
        offer_ids: dict[str, int] = {}
        if self.characteristic_offers and data:
            # An offer a "#" good described in this import keeps that good's name and characteristics
            # (offers.xml of UT 10 often has neither): here it only gets prices and stock.
            for oid, pk, quantity in fetch_rows(Offer, ["onec_id", "id", "quantity"], "onec_id",
                                                [rec.onec_id for rec in data]):
                if pk in self.seen["offers"]:
                    offer_ids[oid] = pk
                    quantities[pk] = quantity
            data = [rec for rec in data if rec.onec_id not in offer_ids]
        product_ids = self._products_for(data)
        rows = {rec.onec_id: _offer_row(rec, product_ids[rec.product_onec_id]) for rec in data}
        written = self._upsert(Offer, rows, "offers")[0]
        for pk in written.values():
            self.seen["offers"].add(pk)
        offer_ids.update(written)
        # Bare price/stock records refer to offers written earlier (this or a previous import).
        bare = {rec.onec_id for rec in recs if not rec.has_data and rec.onec_id not in offer_ids}
        if bare:
            for oid, pk, quantity in fetch_rows(Offer, ["onec_id", "id", "quantity"], "onec_id", bare):
                offer_ids[oid] = pk
                quantities[pk] = quantity
            if bare - offer_ids.keys():
                offer_ids.update(self._offers_of_products(bare - offer_ids.keys()))
            for rec in recs:
                if rec.onec_id in bare and rec.onec_id not in offer_ids:
                    rec.errors.append("неизвестное предложение: его нет ни в базе, ни в выгрузке")
        return offer_ids

    def _offers_of_products(self, offer_onec_ids: set[str]) -> dict[str, int]:
        """Create the offers that bare price/stock records name but no package described, from their
        products (one query for the batch); an offer whose product is unknown stays unknown.

        UT 11 sells a product without characteristics as an offer with the product's own Ид, and its
        changes-only exchanges send prices/ and rests/ without offers/: that offer is the product's,
        named and with the article of the product. A ``<product>#<characteristic>`` never described is
        created too, but inactive until its description (offers/, or a "#" good) arrives: refusing its
        price would lose it — 1C sends a price again only when it changes — while selling a variant
        nobody described would sell the wrong thing. Both are listed as seen: created by this package,
        they are not retired by it."""
        products = {oid: rest for oid, *rest in fetch_rows(
            Product, ["onec_id", "id", "name", "sku", "barcode"], "onec_id",
            {oid.partition("#")[0] for oid in offer_onec_ids})}
        rows = {}
        for oid in sorted(offer_onec_ids):
            if (product := products.get(oid.partition("#")[0])) is not None:
                pk, name, sku, barcode = product
                rows[oid] = {"product_id": pk, "name": name, "sku": sku, "barcode": barcode,
                             "characteristics": [], "is_active": "#" not in oid}
        ids = self._upsert(Offer, rows, "offers")[0]
        for pk in ids.values():
            self.seen["offers"].add(pk)
        return ids

    def _products_for(self, recs: list[OfferRec]) -> dict[str, int]:
        """Products of these offers; a product 1C did not send (an offers-only package) is created
        from the offer, which carries the product's fields in CommerceML. Its next goods import
        fills in the rest, since an empty digest never matches."""
        wanted = list({rec.product_onec_id for rec in recs})
        ids = dict(fetch_rows(Product, ["onec_id", "id"], "onec_id", wanted))
        missing = {}
        for rec in recs:
            if rec.product_onec_id not in ids and rec.product_onec_id not in missing:
                missing[rec.product_onec_id] = {"name": rec.name[:500], "sku": rec.sku[:100]}
        if missing:
            now = db_datetime(timezone.now())
            insert_rows(Product, ["onec_id", "name", "sku", "barcode", "description", "unit", "properties",
                                  "is_active", "import_hash", "created_at", "updated_at"],
                        [(pid, row["name"], row["sku"], "", "", "", "{}", True, "", now, now)
                         for pid, row in missing.items()])
            ids.update(fetch_rows(Product, ["onec_id", "id"], "onec_id", missing))
            self.stats["products"]["created"] += len(missing)
        for pk in ids.values():
            self.seen["products"].add(pk)
        return ids

    def _write_quantities(self, recs: list[OfferRec], offer_ids: dict[str, int], current: dict) -> None:
        wanted = {offer_ids[rec.onec_id]: rec.quantity.quantize(_MILLI)
                  for rec in recs if rec.quantity is not None and rec.onec_id in offer_ids}
        unread = [pk for pk in wanted if pk not in current]
        if unread:
            current.update(fetch_rows(Offer, ["id", "quantity"], "id", unread))
        update_rows(Offer, ["quantity"], ["id"], [(qty, pk) for pk, qty in wanted.items() if current.get(pk) != qty])

    def _write_prices(self, recs: list[OfferRec], offer_ids: dict[str, int]) -> None:
        wanted: dict[tuple[int, int], tuple] = {}
        for rec in recs:
            offer_id = offer_ids.get(rec.onec_id)
            for row in rec.prices if offer_id else ():
                price_type = self.price_types.get(row.price_type_id)
                if price_type is None:
                    rec.errors.append(f"цена: неизвестный тип цены {row.price_type_id!r}")
                elif abs(row.value) >= _MAX_AMOUNT:
                    rec.errors.append(f"цена: слишком большое значение {row.value}")
                else:
                    wanted[(offer_id, price_type)] = (row.value.quantize(_CENT), row.currency[:10])
        self._upsert_pairs(Price, wanted, ("offer_id", "price_type_id"), ("value", "currency"), "prices")

    def _write_stocks(self, recs: list[OfferRec], offer_ids: dict[str, int]) -> None:
        wanted: dict[tuple[int, int], tuple] = {}
        for rec in recs:
            offer_id = offer_ids.get(rec.onec_id)
            for row in rec.stocks if offer_id else ():
                warehouse = self.warehouses.get(row.warehouse_id)
                if warehouse is None:
                    rec.errors.append(f"остаток: неизвестный склад {row.warehouse_id!r}")
                elif abs(row.quantity) >= _MAX_AMOUNT:
                    rec.errors.append(f"остаток: слишком большое значение {row.quantity}")
                else:
                    wanted[(offer_id, warehouse)] = (row.quantity.quantize(_MILLI),)
        self._upsert_pairs(Stock, wanted, ("offer_id", "warehouse_id"), ("quantity",), "stocks")

    def _upsert_pairs(self, model, wanted: dict[tuple[int, int], tuple], keys: tuple[str, str],
                      fields: tuple[str, ...], entity: str) -> None:
        """Upsert rows keyed by ``(offer_id, other_id)``, comparing values instead of a digest."""
        if not wanted:
            return
        stats = self.stats[entity]
        first, second = keys
        existing = {
            (row[0], row[1]): tuple(row[2:])
            for row in fetch_rows(model, [first, second, *fields], first, {k[0] for k in wanted})
        }
        now = db_datetime(timezone.now())
        new, changed = [], []
        for key, values in wanted.items():
            old = existing.get(key)
            if old == values:
                stats["unchanged"] += 1
            elif old is None:
                new.append((*key, *values, now))
                stats["created"] += 1
            else:
                changed.append((*values, now, *key))
                stats["updated"] += 1
        insert_rows(model, [*keys, *fields, "updated_at"], new)
        update_rows(model, [*fields, "updated_at"], list(keys), changed)

    # --- the end of a full package ------------------------------------------------------
    def deactivate_unseen(self, entity: str) -> int:
        """Deactivate active rows this full package did not list; returns how many."""
        model = {"products": Product, "offers": Offer}[entity]
        seen = self.seen[entity]
        stale = [pk for pk in model.objects.filter(is_active=True).values_list("id", flat=True).iterator(chunk_size=5000)
                 if pk not in seen]
        for start in range(0, len(stale), 1000):
            model.objects.filter(id__in=stale[start:start + 1000]).update(is_active=False, import_hash="")
        self.stats[entity]["deactivated"] += len(stale)
        return len(stale)
