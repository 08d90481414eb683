"""The record of 1C's HTTP exchanges: what was received, and which imports it started.

An exchange is one conversation, from 1C's ``mode=init`` to its last call. Its folder holds
``incoming/`` (where ``mode=file`` chunks land) and ``package/`` (the data dir its imports read):
starting an import moves what arrived into ``package/``, so an import never reads a file that is
still arriving. Rows outlive the folders, which only the newest ``ONEC_EXCHANGE_KEEP`` exchanges keep.
"""
from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone


class Exchange(models.Model):
    exchange_id = models.UUIDField("обмен", default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             verbose_name="пользователь")
    remote_addr = models.GenericIPAddressField("адрес 1С", null=True, blank=True)
    folder = models.CharField("папка", max_length=500)
    started_at = models.DateTimeField("начат", default=timezone.now, db_index=True)
    last_request_at = models.DateTimeField("последний запрос", null=True, blank=True)
    bytes_received = models.BigIntegerField("получено байт", default=0)  # every chunk, archives included
    bytes_unpacked = models.BigIntegerField("распаковано байт", default=0)
    file_count = models.PositiveIntegerField("файлов", default=0)  # received files + unpacked members
    unpack_seconds = models.FloatField("распаковка и сборка пакета, с", default=0)
    # An import was asked for while another import held the lock: 1C hears "progress" until
    # ONEC_EXCHANGE_LOCK_WAIT has passed since then.
    lock_wait_since = models.DateTimeField(null=True, blank=True)
    # Set when the exchange can no longer give a whole package (a refused chunk, a bad zip):
    # every later call of this exchange answers "failure" with it.
    error_message = models.TextField("ошибка", blank=True, default="")
    removed_at = models.DateTimeField("папка удалена", null=True, blank=True)

    class Meta:
        verbose_name = "обмен с 1С"
        verbose_name_plural = "обмены с 1С"
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Обмен с 1С {timezone.localtime(self.started_at):%d.%m.%Y %H:%M:%S}"

    @property
    def incoming_dir(self) -> Path:
        return Path(self.folder) / "incoming"

    @property
    def package_dir(self) -> Path:
        return Path(self.folder) / "package"


class ExchangeFile(models.Model):
    """A file 1C sent (``mode=file``, possibly in many chunks), or one unpacked from a zip it sent."""

    exchange = models.ForeignKey(Exchange, on_delete=models.CASCADE, related_name="files")
    name = models.CharField("файл", max_length=1000)  # relative, "/"-separated, as 1C named it
    size = models.BigIntegerField("размер", default=0)
    chunks = models.PositiveIntegerField("частей", default=0)  # mode=file calls; 0 when unpacked from a zip
    is_archive = models.BooleanField("архив", default=False)
    archive = models.CharField("из архива", max_length=1000, blank=True, default="")
    received_at = models.DateTimeField("первая часть", default=timezone.now)
    updated_at = models.DateTimeField("последняя часть", default=timezone.now)
    pending = models.BooleanField(default=True)  # arrived since the exchange last started an import
    # The import that took this version of it in (a later import of the exchange reads the whole
    # package again, but lists as its own only what arrived since the previous one).
    exchange_import = models.ForeignKey("ExchangeImport", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="files")

    class Meta:
        verbose_name = "файл обмена"
        verbose_name_plural = "файлы обмена"
        ordering = ["exchange", "name"]
        constraints = [models.UniqueConstraint(fields=["exchange", "name"], name="uniq_exchange_file_name")]

    def __str__(self) -> str:
        return self.name


class ExchangeImport(models.Model):
    """An import an exchange started: links the exchange to its ``ImportSession``."""

    exchange = models.ForeignKey(Exchange, on_delete=models.CASCADE, related_name="imports")
    session = models.OneToOneField("products.ImportSession", on_delete=models.CASCADE,
                                   related_name="exchange_import")
    requested_at = models.DateTimeField("запрошен")  # the mode=import call that asked for it
    package_files = models.PositiveIntegerField("файлов в пакете", default=0)
    package_bytes = models.BigIntegerField("байт в пакете", default=0)

    class Meta:
        verbose_name = "импорт обмена с 1С"
        verbose_name_plural = "импорты обменов с 1С"
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"{self.exchange} → {self.session}"
