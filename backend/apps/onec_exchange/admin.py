"""Read-only admin of 1C's exchanges: every conversation, including those that never reached an
import (a refused zip, an oversized upload), which the import sessions alone would not show."""
from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.products import display

from .models import Exchange

FILES_SHOWN = 200


@admin.register(Exchange)
class ExchangeAdmin(admin.ModelAdmin):
    list_display = ("started", "user", "remote_addr", "file_count", "received", "outcome")
    list_select_related = ("user",)
    date_hierarchy = "started_at"
    search_fields = ("exchange_id", "user__username", "remote_addr", "files__name")
    fields = ("exchange_id", "started_at", "last_request_at", "user", "remote_addr", "outcome", "error_message",
              "received", "unpack_seconds", "folder", "removed_at", "import_sessions", "files_table")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("imports__session")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what 1C sent; folders are pruned on their own

    @admin.display(description="начат", ordering="started_at")
    def started(self, obj: Exchange) -> str:
        return display.local_time(obj.started_at)

    @admin.display(description="получено")
    def received(self, obj: Exchange) -> str:
        text = filesizeformat(obj.bytes_received)
        return f"{text} (+ {filesizeformat(obj.bytes_unpacked)} распаковано)" if obj.bytes_unpacked else text

    @admin.display(description="итог")
    def outcome(self, obj: Exchange) -> str:
        if obj.error_message:
            return format_html('<span class="text-danger">{}</span>', obj.error_message)
        imports = list(obj.imports.all())
        if not imports:
            return "файлы приняты, импорт не запрошен"
        session = imports[-1].session  # the badge of the sessions list, linking to the session
        return format_html('<a href="{}">{}</a>', reverse("admin:products_importsession_change", args=[session.pk]),
                           display.session_status_badge(session))

    @admin.display(description="сессии импорта")
    def import_sessions(self, obj: Exchange) -> str:
        links = [(reverse("admin:products_importsession_change", args=[link.session.pk]), str(link.session))
                 for link in obj.imports.all()]
        return format_html_join(format_html("<br>"), '<a href="{}">{}</a>', links) if links else "—"

    @admin.display(description="файлы")
    def files_table(self, obj: Exchange) -> str:
        files = list(obj.files.order_by("name")[:FILES_SHOWN + 1])
        rows = format_html_join(
            "", "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((f.name, filesizeformat(f.size), f.chunks or "—", f.archive or "—") for f in files[:FILES_SHOWN]))
        more = format_html("<p>… показаны первые {}.</p>", FILES_SHOWN) if len(files) > FILES_SHOWN else ""
        return format_html('<table class="table table-sm"><thead><tr><th>Файл</th><th>Размер</th><th>Частей</th>'
                           "<th>Из архива</th></tr></thead><tbody>{}</tbody></table>{}", rows, more)
