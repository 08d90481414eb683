"""Drive one import: pre-scan the whole package, then stream each file into atomic batches.

Nothing is written before the pre-scan has accepted every file. Each batch is one short
transaction, so a failure leaves the catalog exactly as it was after the last good batch and never
half a batch. Deactivating what a full package no longer lists happens last, only when every file
went through.
"""
from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from django.db import connection, transaction

from .errors import CatalogImportError
from .layout import Package
from .readahead import read_batches
from .records import GroupRec, Item, OfferRec, PriceTypeRec, ProductRec, PropertyRec, Section, WarehouseRec
from .safexml import prescan
from .writer import CatalogWriter

# Items per transaction. On PostgreSQL a batch of 1000 offers (3 prices and 2 stock rows each)
# commits in ~0.1 s (100 batches in ~7 s for 10k products): short transactions and fresh progress,
# while each round trip still carries 1000 rows.
BATCH_SIZE = 1000
MAX_STORED_ERRORS = 1000

_WRITERS = {
    GroupRec: CatalogWriter.write_groups,
    PropertyRec: CatalogWriter.write_properties,
    PriceTypeRec: CatalogWriter.write_price_types,
    WarehouseRec: CatalogWriter.write_warehouses,
    ProductRec: CatalogWriter.write_products,
    OfferRec: CatalogWriter.write_offers,
}
_ENTITY_OF_SECTION = {"catalog": "products", "offers": "offers"}
# The stats entity a record counts under (the writer's names), for its per-entity "failed" count.
_ENTITY_OF_RECORD = {
    GroupRec: "categories", PropertyRec: "properties", PriceTypeRec: "price_types",
    WarehouseRec: "warehouses", ProductRec: "products", OfferRec: "offers",
}
_ENTITY_NAMES = {"products": "товары", "offers": "предложения"}


@dataclass
class ImportResult:
    layout: str = ""
    total: int = 0
    processed: int = 0
    failed: int = 0
    error_count: int = 0
    errors: list[dict] = field(default_factory=list)  # the first MAX_STORED_ERRORS
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase
    failed_by_entity: Counter = field(default_factory=Counter)

    def add_errors(self, rec: Item, file: str) -> None:
        self.failed += 1
        self.failed_by_entity[_ENTITY_OF_RECORD[type(rec)]] += 1
        self.error_count += len(rec.errors)
        for message in rec.errors:
            if len(self.errors) < MAX_STORED_ERRORS:
                self.errors.append({"onec_id": rec.onec_id, "file": file, "message": message})


@dataclass
class _Fullness:
    """Whether the package is a full list of products/offers (so absent ones get deactivated)."""

    sections: Counter = field(default_factory=Counter)
    partial: set = field(default_factory=set)
    listed: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)  # items of the entity that had an error

    def see(self, section: Section) -> None:
        entity = _ENTITY_OF_SECTION.get(section.kind)
        if entity:
            self.sections[entity] += 1
            if section.only_changes:
                self.partial.add(entity)


_GUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
# The root element's export timestamp, as UTF-8 or windows-1251 bytes; it sits in the first bytes.
_EXPORT_DATES = [re.compile(re.escape("ДатаФормирования=".encode(enc)) + rb'"[^"]*"') for enc in ("utf-8", "cp1251")]
_HEAD_BYTES = 4096


def package_digest(package: Package) -> str:
    """A digest of the package's data: its files in order, byte for byte, except what 1C changes on
    every export of unchanged data — the ``ДатаФормирования`` timestamp of each document and the
    GUIDs in segment names (``goods_1_2_<guid>.xml``). Equal digests: the same catalog data."""
    digest = hashlib.blake2b(digest_size=20)
    for pf in package.files:
        digest.update(_GUID.sub(b"<guid>", pf.rel.encode()) + b"\0")
        with open(pf.path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
            for pattern in _EXPORT_DATES:
                head, found = pattern.subn(b"", head, count=1)
                if found:
                    break
            digest.update(head)
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def run_import(
    package: Package,
    *,
    dry_run: bool = False,
    on_progress: Callable[[ImportResult], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ImportResult:
    result = ImportResult(layout=package.layout)
    started = time.monotonic()
    result.total = prescan(package.files, package.data_dir, should_stop).items
    result.seconds["prescan"] = round(time.monotonic() - started, 2)
    if on_progress:
        on_progress(result)  # total_items is known before the first write

    writer = None if dry_run else CatalogWriter()
    fullness = _Fullness()
    for pf, item in read_batches(package, batch_size=BATCH_SIZE):
        if isinstance(item, Section):
            fullness.see(item)
            continue
        _count_listed(item, fullness.listed)
        _flush(item, pf.rel, writer, result, fullness, on_progress, should_stop)

    result.seconds["read_write"] = round(time.monotonic() - started - result.seconds["prescan"], 2)
    if writer is not None and (writer.pictures_named or "images" in writer.stats):
        # Part of read_write: finding and hashing (the reader, beside parsing) plus copying into
        # storage and the picture rows (the writer). Only for packages that name pictures.
        result.seconds["pictures"] = round(writer.picture_seconds + writer.pictures.seconds, 2)
    if writer is not None:
        _deactivate_unlisted(writer, fullness, result)
        result.stats = {entity: dict(counts) for entity, counts in writer.stats.items()}
        for entity, failed in result.failed_by_entity.items():
            result.stats.setdefault(entity, {})["failed"] = failed
    result.seconds["total"] = round(time.monotonic() - started, 2)
    if on_progress:
        on_progress(result)
    return result


def _count_listed(batch: list[Item], counts: Counter) -> None:
    """Count into ``counts`` the entities whose full list these records are part of (and which a full
    package may deactivate); a batch holds one record type, so this needs no call per record.

    A ``<product>#<characteristic>`` good lists its product and its offer. A bare offer record of a
    prices/rests file lists nothing: it only updates prices or stock, so a full prices file must not
    retire offers, and a bad price does not make the offers list unclean."""
    if not batch:
        return
    if isinstance(batch[0], ProductRec):
        counts["products"] += len(batch)
        counts["offers"] += sum(rec.is_characteristic for rec in batch)
    elif isinstance(batch[0], OfferRec):
        counts["offers"] += sum(rec.has_data for rec in batch)


def _flush(batch, file, writer, result, fullness, on_progress, should_stop) -> None:
    if should_stop and should_stop():
        raise CatalogImportError("импорт остановлен: потеряна блокировка импорта (см. журнал)")
    if writer is not None:
        with transaction.atomic():
            _relax_commit()
            _WRITERS[type(batch[0])](writer, batch)
    failed = [rec for rec in batch if rec.errors]
    for rec in failed:
        result.add_errors(rec, file)
    _count_listed(failed, fullness.failed)
    result.processed += len(batch)
    connection.queries_log.clear()  # with DEBUG on, Django would keep every bulk statement in memory
    if on_progress:
        on_progress(result)


def _relax_commit() -> None:
    """Don't wait for the WAL flush at each batch's COMMIT (PostgreSQL): hundreds of fsyncs per
    import otherwise. Safe here: a server crash can lose only the last moments of an idempotent
    import, never consistency, and re-running the import restores them."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _deactivate_unlisted(writer: CatalogWriter, fullness: _Fullness, result: ImportResult) -> None:
    for entity in ("products", "offers"):
        if not fullness.sections[entity] or entity in fullness.partial:
            continue  # the package did not carry a full list of this entity
        if fullness.failed[entity]:
            # "Only after every file imported cleanly": an item that failed may be one we would wrongly retire.
            result.notes.append(f"{_ENTITY_NAMES[entity]}: отсутствующие в выгрузке не деактивированы — "
                                f"{fullness.failed[entity]} объектов с ошибками")
        elif not fullness.listed[entity]:
            result.notes.append(f"{_ENTITY_NAMES[entity]}: отсутствующие не деактивированы — "
                                "полная выгрузка без единого объекта")
        else:
            with transaction.atomic():
                writer.deactivate_unseen(entity)
