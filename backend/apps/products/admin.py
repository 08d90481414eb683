"""The admin of import sessions, where administrators start a 1C catalog import.

The action is a thin caller: it runs ``import_catalog_from_1c`` (which goes through
``catalog_import_run`` and so takes the one Redis import lock) and turns the outcome into a message.
"""
from __future__ import annotations

import logging
from io import StringIO

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.http import HttpResponseRedirect

from .management.commands.import_catalog_from_1c import (
    ImportLockTakenError, ImportLockUnavailableError, ImportSessionFailedError,
)
from .models import ImportSession
from .services.import_sessions import import_sessions_fail_stale

logger = logging.getLogger(__name__)

TRIGGER_ACTION = "trigger_catalog_import"
_ENTITY_LABELS = {"products": "товары", "offers": "предложения"}


@admin.register(ImportSession)
class ImportSessionAdmin(admin.ModelAdmin):
    list_display = ("session_id", "status", "started_at", "finished_at", "source", "triggered_by",
                    "processed_items", "total_items", "failed_items")
    list_filter = ("status", "source")
    list_select_related = ("triggered_by",)
    actions = [TRIGGER_ACTION]
    fields = ("session_id", "status", "source", "triggered_by", "data_dir", "started_at", "finished_at",
              "heartbeat_at", "total_items", "processed_items", "failed_items", "error_message", "errors", "stats")
    readonly_fields = fields

    class Media:
        js = ("admin_import/trigger.js",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("errors", "stats")  # up to 1000 errors per row

    # Sessions are written by imports only.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # A running session is how a contender recognises a live lock holder: never delete one.
        return request.user.is_superuser and (obj is None or not obj.is_active)

    def has_run_catalog_import_permission(self, request):
        return request.user.has_perm("products.run_catalog_import")

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        import_sessions_fail_stale()  # a dead import shows as failed, not "running" forever
        if (request.method == "POST" and _posted_action(request) == TRIGGER_ACTION
                and not request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)):
            # Django refuses to run an action with no rows ticked (and an empty list has no action
            # bar at all); this one imports the whole package whatever is ticked, so run it here.
            if TRIGGER_ACTION not in self.get_actions(request):
                raise PermissionDenied
            self.trigger_catalog_import(request, self.get_queryset(request).none())
            return HttpResponseRedirect(request.get_full_path())
        extra_context = {"can_run_catalog_import": self.has_run_catalog_import_permission(request),
                         **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    @admin.action(description="🚀 Запустить импорт каталога из 1С", permissions=["run_catalog_import"])
    def trigger_catalog_import(self, request, queryset):
        """Run one import now, synchronously; the selection is irrelevant to what is imported."""
        try:
            session_id = call_command(
                "import_catalog_from_1c", "--data-dir", str(settings.ONEC_DATA_DIR),
                "--source", ImportSession.Source.ADMIN.value, "--triggered-by", str(request.user.pk),
                stdout=StringIO(), stderr=StringIO(),
            )
        except ImportLockTakenError:
            self.message_user(request, "⚠️ Импорт уже запущен! Дождитесь завершения текущего импорта.",
                              messages.WARNING)
        except ImportLockUnavailableError as exc:
            self.message_user(request, f"❌ {exc}", messages.ERROR)
        except ImportSessionFailedError as exc:
            self.message_user(request, f"❌ {exc} (сессия {exc.session_id}).", messages.ERROR)
        except Exception as exc:  # unexpected: the traceback goes to the log, a message to the user
            logger.exception("the admin import action crashed")
            self.message_user(request, f"❌ Ошибка импорта: {exc.__class__.__name__}: {exc}", messages.ERROR)
        else:
            session = ImportSession.objects.get(session_id=session_id)
            self.message_user(request, f"✅ {_completed_message(session)}", messages.SUCCESS)


def _posted_action(request) -> str | None:
    """The action of the submitted form, picked the way ``ModelAdmin.response_action`` picks it."""
    actions = request.POST.getlist("action")
    try:
        return actions[int(request.POST.get("index", 0))]
    except (ValueError, IndexError):
        return None


def _completed_message(session: ImportSession) -> str:
    parts = [f"обработано {session.processed_items} из {session.total_items}, с ошибками {session.failed_items}"]
    for entity, label in _ENTITY_LABELS.items():
        counts = session.stats.get(entity) or {}
        text = f"{label}: создано {counts.get('created', 0)}, обновлено {counts.get('updated', 0)}"
        for key, word in (("unchanged", "без изменений"), ("deactivated", "деактивировано")):
            if counts.get(key):
                text += f", {word} {counts[key]}"
        parts.append(text)
    note = next(iter(session.error_message.splitlines()), "")  # e.g. "пакет не изменился …"
    return "Импорт завершён: " + "; ".join(parts) + (f". {note[:1].upper()}{note[1:]}" if note else "") + "."


from . import catalog_admin  # noqa: E402,F401  (registers the read-only catalog)
