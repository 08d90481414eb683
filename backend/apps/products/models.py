"""The store catalog as 1C sends it, plus the record of every import run.

Every 1C object keeps its 1C identifier (``Ид``, a GUID; for an offer ``<product Ид>#<variant Ид>``)
in ``onec_id``: imports upsert by it, so running one package twice changes nothing. Rows are never
deleted by an import — orders may reference them — they are deactivated (``is_active=False``).
``import_hash`` is a digest of the fields the last import wrote; an unchanged row is skipped
without a write, which is what makes re-importing an unchanged package cheap.
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class OneCObject(models.Model):
    onec_id = models.CharField("Ид 1С", max_length=150, unique=True)
    is_active = models.BooleanField("активен", default=True, db_index=True)
    import_hash = models.CharField(max_length=32, blank=True, default="", editable=False)
    created_at = models.DateTimeField("создан", auto_now_add=True)
    updated_at = models.DateTimeField("изменён", auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return getattr(self, "name", "") or self.onec_id


class Category(OneCObject):
    """A 1C group (``Группа``); groups nest, so categories form a tree."""

    name = models.CharField("название", max_length=255)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name="родитель"
    )

    class Meta:
        verbose_name = "категория"
        verbose_name_plural = "категории"
        ordering = ["name"]


class Brand(OneCObject):
    """A manufacturer (``Изготовитель``) of goods."""

    name = models.CharField("название", max_length=255)

    class Meta:
        verbose_name = "бренд"
        verbose_name_plural = "бренды"
        ordering = ["name"]


class Property(OneCObject):
    """A product property (``Свойство``); ``choices`` maps a dictionary value's Ид to its text."""

    name = models.CharField("название", max_length=255)
    value_type = models.CharField("тип значений", max_length=50, blank=True, default="")
    choices = models.JSONField("варианты значений", default=dict, blank=True)

    class Meta:
        verbose_name = "свойство"
        verbose_name_plural = "свойства"
        ordering = ["name"]


class Product(OneCObject):
    """A 1C good (``Товар``): what the store shows; its sellable variants are offers."""

    name = models.CharField("название", max_length=500)
    sku = models.CharField("артикул", max_length=100, blank=True, default="", db_index=True)
    barcode = models.CharField("штрихкод", max_length=100, blank=True, default="")
    description = models.TextField("описание", blank=True, default="")
    unit = models.CharField("единица (код ОКЕИ)", max_length=20, blank=True, default="")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products", verbose_name="категория"
    )
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="products", verbose_name="бренд"
    )
    properties = models.JSONField("свойства", default=dict, blank=True)

    class Meta:
        verbose_name = "товар"
        verbose_name_plural = "товары"
        ordering = ["name"]


class ProductImage(models.Model):
    """A picture of a product: ``file`` is its copy in the default storage, named by the SHA-256 of
    its bytes (``products/ab/<sha256>.jpg``, shared by every product with the same picture);
    ``path`` is where the 1C package had it, relative to the data dir (``goods/import_files/…``).
    ``file`` is empty only on rows from before pictures were copied (migration 0006)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    path = models.CharField("путь в выгрузке", max_length=500)
    file = models.FileField("файл", max_length=200, blank=True, default="", db_index=True)
    position = models.PositiveSmallIntegerField("порядок", default=0)

    class Meta:
        verbose_name = "изображение товара"
        verbose_name_plural = "изображения товаров"
        ordering = ["product", "position"]
        constraints = [models.UniqueConstraint(fields=["product", "path"], name="uniq_product_image_path")]

    def __str__(self) -> str:
        return self.path


class Offer(OneCObject):
    """A 1C offer (``Предложение``): the sellable SKU of a product, e.g. one size/color.

    ``characteristics`` is a list of ``{"name", "value"}`` (``ХарактеристикиТовара``).
    ``quantity`` is the total stock exactly as 1C states it (``Количество``), None when it states
    none; per-warehouse stock is in ``Stock``. No sum is stored: keeping a derived total in step
    cost 15% of a full import (an UPDATE of every offer) — ``stock_total`` derives it when read.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="offers", verbose_name="товар")
    name = models.CharField("название", max_length=500, blank=True, default="")
    sku = models.CharField("артикул", max_length=100, blank=True, default="")
    barcode = models.CharField("штрихкод", max_length=100, blank=True, default="")
    characteristics = models.JSONField("характеристики", default=list, blank=True)
    quantity = models.DecimalField("остаток", max_digits=14, decimal_places=3, null=True, blank=True)

    class Meta:
        verbose_name = "предложение"
        verbose_name_plural = "предложения"
        ordering = ["name"]

    @property
    def stock_total(self):
        """1C's stated total, else the sum over warehouses (None when 1C sent no stock at all)."""
        if self.quantity is not None:
            return self.quantity
        return self.stocks.aggregate(total=models.Sum("quantity"))["total"]


class PriceType(OneCObject):
    """A 1C price type (``ТипЦены``), e.g. retail or wholesale."""

    name = models.CharField("название", max_length=255)
    currency = models.CharField("валюта", max_length=10, blank=True, default="")

    class Meta:
        verbose_name = "тип цены"
        verbose_name_plural = "типы цен"
        ordering = ["name"]


class Price(models.Model):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="prices")
    price_type = models.ForeignKey(PriceType, on_delete=models.PROTECT, related_name="prices")
    value = models.DecimalField("цена", max_digits=14, decimal_places=2)
    currency = models.CharField("валюта", max_length=10, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "цена"
        verbose_name_plural = "цены"
        constraints = [models.UniqueConstraint(fields=["offer", "price_type"], name="uniq_price_offer_type")]

    def __str__(self) -> str:
        return f"{self.value} {self.currency}"


class Warehouse(OneCObject):
    """A 1C warehouse (``Склад``)."""

    name = models.CharField("название", max_length=255)

    class Meta:
        verbose_name = "склад"
        verbose_name_plural = "склады"
        ordering = ["name"]


class Stock(models.Model):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="stocks")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stocks")
    quantity = models.DecimalField("количество", max_digits=14, decimal_places=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "остаток"
        verbose_name_plural = "остатки"
        constraints = [models.UniqueConstraint(fields=["offer", "warehouse"], name="uniq_stock_offer_warehouse")]

    def __str__(self) -> str:
        return str(self.quantity)


class ImportSession(models.Model):
    """One run of the 1C catalog import, whoever started it.

    Status machine::

        pending ──> running ──> completed
           │           ├──────> failed     (bad package, an exception, or no heartbeat: the process died)
           │           └──────> cancelled  (someone cancelled it: it stopped between two batches)
           ├──────────────────> cancelled  (cancelled while queued: it never ran)
           └──────────────────> failed     (its queue job vanished, or it lost the lock while queued)

    A synchronous import is created ``running``; a queued one (``IMPORT_RUNNER=queue``) is created
    ``pending`` and holds the import lock from the moment it is queued, so nothing can start before it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Ожидает"
        RUNNING = "running", "Выполняется"
        COMPLETED = "completed", "Завершён"
        FAILED = "failed", "Ошибка"
        CANCELLED = "cancelled", "Отменён"

    ACTIVE_STATUSES = (Status.PENDING, Status.RUNNING)
    FINISHED_STATUSES = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)

    class Source(models.TextChoices):
        ADMIN = "admin", "Админка"
        DASHBOARD = "dashboard", "Панель управления"
        CLI = "cli", "Командная строка"
        WORKER = "worker", "Фоновая задача"
        EXCHANGE = "exchange", "Обмен с 1С"  # 1C pushed the package over HTTP (apps.onec_exchange)

    MAX_STORED_ERRORS = 1000

    session_id = models.UUIDField("сессия", default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField("статус", max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    source = models.CharField("источник", max_length=20, choices=Source.choices, default=Source.CLI)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name="запустил"
    )
    data_dir = models.CharField("каталог данных", max_length=500, blank=True, default="")
    started_at = models.DateTimeField("начат", default=timezone.now)
    finished_at = models.DateTimeField("завершён", null=True, blank=True)
    heartbeat_at = models.DateTimeField("последний сигнал", null=True, blank=True)
    # When the pre-scan ended and writing began: the rate and time left are measured from here,
    # so the pre-scan (no items processed yet) does not make the rate look slower than it is.
    writing_started_at = models.DateTimeField("запись начата", null=True, blank=True)
    total_items = models.PositiveIntegerField("всего объектов", default=0)
    processed_items = models.PositiveIntegerField("обработано", default=0)
    failed_items = models.PositiveIntegerField("с ошибками", default=0)
    error_message = models.TextField("ошибка", blank=True, default="")
    errors = models.JSONField("ошибки по объектам (первые 1000)", default=list, blank=True)
    stats = models.JSONField("статистика", default=dict, blank=True)
    lock_token = models.CharField(max_length=64, blank=True, default="", editable=False)
    # Queued imports only: when it was queued (``started_at`` is when a worker took it) and its job.
    queued_at = models.DateTimeField("поставлен в очередь", null=True, blank=True)
    queue_job_id = models.CharField("задание в очереди", max_length=100, blank=True, default="", editable=False)
    cancel_requested_at = models.DateTimeField("отмена запрошена", null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="отменил",
    )

    class Meta:
        verbose_name = "сессия импорта"
        verbose_name_plural = "сессии импорта"
        ordering = ["-started_at", "-id"]
        # The list's order: a page of it is an index range, however many sessions the table holds.
        indexes = [models.Index(models.F("started_at").desc(), models.F("id").desc(), name="importsession_newest")]
        permissions = [("run_catalog_import", "Can run 1C catalog import")]

    def __str__(self) -> str:
        return f"Импорт {timezone.localtime(self.started_at):%d.%m.%Y %H:%M} ({self.get_status_display()})"

    @property
    def short_id(self) -> str:
        """The first 8 hex digits of ``session_id``: what the list shows and people read out."""
        return self.session_id.hex[:8]

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def duration(self):
        if self.started_at is None:
            return None
        end = self.finished_at or (timezone.now() if self.is_active else None)
        return end - self.started_at if end else None

    @property
    def progress_percent(self) -> int:
        if not self.total_items:
            return 0
        return min(100, int(self.processed_items * 100 / self.total_items))
