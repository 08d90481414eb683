"""The admin of import sessions, where administrators start a 1C catalog import.

The action is a thin caller: it runs ``import_catalog_from_1c`` (which goes through
``catalog_import_run`` and so takes the one Redis import lock) and turns the outcome into a message.
With ``IMPORT_RUNNER=queue`` it passes ``--queue``: the import is queued for a worker and the
answer comes at once. ``<pk>/cancel/`` (POST) cancels a pending or running import.
"""
from __future__ import annotations

import logging
import uuid
from io import StringIO

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from . import display
from .dashboard import import_card_context
from .management.commands.import_catalog_from_1c import (
    ImportLockTakenError, ImportLockUnavailableError, ImportSessionFailedError,
)
from .models import ImportSession
from .selectors import import_session_any_active, import_session_queue_note
from .services.catalog_import import ImportNotCancellable, catalog_import_cancel
from .services.import_sessions import import_sessions_fail_stale
from .session_page import errors_csv_response, session_page_context

logger = logging.getLogger(__name__)

TRIGGER_ACTION = "trigger_catalog_import"
_ENTITY_LABELS = {"products": "товары", "offers": "предложения"}
REFRESH_SECONDS = 10  # how often a list or page showing a running import reloads itself
SOURCE_FIELD = "_import_source"  # the dashboard card's button says "dashboard" in it


class StatusFilter(admin.SimpleListFilter):
    """Status with its badge's icon and colour. Jazzmin turns filters into select2 dropdowns
    whose ``<option>`` cannot hold HTML, so the template puts the icon in data attributes and
    ``admin_import/status_filter.js`` draws it in select2's own templates."""

    title = "статус"
    parameter_name = "status"
    template = "admin/products/importsession/status_filter.html"

    def lookups(self, request, model_admin):
        counts = dict(model_admin.get_queryset(request).order_by().values_list("status").annotate(n=Count("id")))
        return [(value, f"{label} ({counts.get(value, 0)})") for value, label in ImportSession.Status.choices]

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset

    def choices(self, changelist):
        all_choice, *status_choices = super().choices(changelist)  # "all", then one per lookup
        yield all_choice
        for choice, (status, _) in zip(status_choices, self.lookup_choices):
            look = display.status_look(status)
            yield {**choice, "icon": look.icon.replace(" fa-spin", ""), "color": look.color}


class ImportSessionChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        # A row of the list needs its counters, not its (up to 1000) stored errors and stats.
        return super().get_queryset(request, exclude_parameters).defer("errors", "stats")


@admin.register(ImportSession)
class ImportSessionAdmin(admin.ModelAdmin):
    list_display = ("session_link", "colored_status", "started", "duration", "progress_display", "launched_by",
                    "processed_display", "failed_display")
    list_display_links = ("session_link",)
    list_filter = (StatusFilter, "source")
    list_select_related = ("triggered_by",)
    search_fields = ("session_id", "triggered_by__username", "data_dir", "error_message")
    search_help_text = "Ид сессии, пользователь, текст ошибки"
    empty_value_display = display.DASH
    actions = [TRIGGER_ACTION]

    def get_changelist(self, request, **kwargs):
        return ImportSessionChangeList

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("card/", self.admin_site.admin_view(self.card_view), name="%s_%s_card" % info),
            path("<path:object_id>/errors.csv", self.admin_site.admin_view(self.errors_csv_view),
                 name="%s_%s_errors_csv" % info),
            path("<path:object_id>/cancel/", self.admin_site.admin_view(require_POST(self.cancel_view)),
                 name="%s_%s_cancel" % info),
            *super().get_urls(),
        ]

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

    # --- the list -------------------------------------------------------------------------
    def action_checkbox(self, obj):
        # Django's own renders a form widget through the template engine for every row: a third of
        # the list's time when profiled. The same markup, directly.
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
                           helpers.ACTION_CHECKBOX_NAME, obj.pk, f"Выбрать сессию {obj.short_id}")

    @admin.display(description="сессия")
    def session_link(self, obj):
        return obj.short_id

    @admin.display(description="начат", ordering="started_at")
    def started(self, obj):
        return display.local_time(obj.started_at)

    @admin.display(description="статус", ordering="status")
    def colored_status(self, obj):
        badge = display.session_status_badge(obj)
        note = import_session_queue_note(obj)  # Redis is asked only for a session queued > 10 s
        return format_html('{}<div class="small text-danger import-queue-note">{}</div>', badge, note) if note else badge

    @admin.display(description="")
    def cancel_button(self, obj):
        """A submit button of the list's own form, aimed at the cancel URL (``formaction``): a POST
        carrying the form's CSRF token, without a form nested in the list's form."""
        if not obj.is_active:
            return ""
        if obj.cancel_requested_at:
            return mark_safe('<span class="small text-danger-emphasis">отмена запрошена</span>')
        return format_html('<button type="submit" class="btn btn-sm btn-outline-danger import-cancel" '
                           'formaction="{}" formnovalidate name="next" value="{}">'
                           '<i class="fa-solid fa-ban" aria-hidden="true"></i> Отменить</button>',
                           _cancel_url(obj), reverse("admin:products_importsession_changelist"))

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        return (*columns, "cancel_button") if self.has_run_catalog_import_permission(request) else columns

    @admin.display(description="длительность")
    def duration(self, obj):
        return display.duration_text(obj)

    @admin.display(description="ход импорта")
    def progress_display(self, obj):
        return display.progress_bar(obj)

    @admin.display(description="запуск", ordering="source")
    def launched_by(self, obj):
        return display.launched_by(obj)

    @admin.display(description="обработано", ordering="processed_items")
    def processed_display(self, obj):
        if not obj.total_items:
            return display.DASH
        return f"{display.format_number(obj.processed_items)} из {display.format_number(obj.total_items)}"

    @admin.display(description="с ошибками", ordering="failed_items")
    def failed_display(self, obj):
        return display.failed_count(obj.failed_items)

    # --- cancel -----------------------------------------------------------------------------
    def cancel_view(self, request, object_id):
        """Cancel a pending or running import (POST, CSRF, the import permission); back to ``next``."""
        if not self.has_run_catalog_import_permission(request):
            raise PermissionDenied
        session = get_object_or_404(ImportSession, pk=object_id)
        try:
            session = catalog_import_cancel(session=session, user=request.user)
        except ImportNotCancellable as exc:
            self.message_user(request, f"⚠️ Отменять нечего: {exc}.", messages.WARNING)
        else:
            if session.status == ImportSession.Status.CANCELLED:
                self.message_user(request, "🛑 Импорт отменён до запуска: он не выполнялся.", messages.SUCCESS)
            else:
                self.message_user(request, "🛑 Отмена запрошена: импорт остановится после текущей порции данных "
                                           "(обычно меньше чем через секунду). Записанное сохранится, ничего не "
                                           "будет деактивировано.", messages.INFO)
        return HttpResponseRedirect(_next_url(request)
                                    or reverse("admin:products_importsession_change", args=[session.pk]))

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
            return HttpResponseRedirect(_next_url(request) or request.get_full_path())
        extra_context = {
            "can_run_catalog_import": self.has_run_catalog_import_permission(request),
            # Whether the list refreshes itself: decided here, for the whole table, whatever the
            # filter, search or page shows.
            "import_active": import_session_any_active(),
            "refresh_seconds": REFRESH_SECONDS,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    # --- the session page -----------------------------------------------------------------
    fields = readonly_fields = ("session_id", "status")  # the page draws the session itself (change_form.html)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        import_sessions_fail_stale()  # a dead import shows as failed here too
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(session_page_context(obj, errors_page=request.GET.get("errors_page")))
            context.update(
                can_cancel=obj.is_active and self.has_run_catalog_import_permission(request),
                cancel_url=_cancel_url(obj), queue_note=import_session_queue_note(obj),
                title=str(obj), refresh_seconds=REFRESH_SECONDS,
                errors_csv_url=reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_errors_csv",
                                       args=[obj.pk], current_app=self.admin_site.name),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def errors_csv_view(self, request, object_id):
        session = self.get_object(request, unquote(object_id))
        if session is None:
            raise Http404
        if not self.has_view_or_change_permission(request, session):
            raise PermissionDenied
        return errors_csv_response(session)

    def _log_run(self, request, session: ImportSession | None) -> None:
        """The admin's own history ("Последние действия", the session's "История"): who ran it."""
        if session is not None:
            self.log_change(request, session, f"Запуск импорта ({session.get_source_display()})")

    def card_view(self, request):
        """The dashboard's import card alone: what it fetches to refresh itself while an import runs."""
        context = import_card_context(request)
        if context["import_card"] is None:
            raise PermissionDenied
        return TemplateResponse(request, "admin/products/importsession/card.html", context)

    @admin.action(description="🚀 Запустить импорт каталога из 1С", permissions=["run_catalog_import"])
    def trigger_catalog_import(self, request, queryset):
        """Run one import now (or queue it: ``IMPORT_RUNNER=queue``); the selection is irrelevant.

        The dashboard card's button posts here too, naming itself as the source."""
        source = (ImportSession.Source.DASHBOARD if request.POST.get(SOURCE_FIELD) == ImportSession.Source.DASHBOARD
                  else ImportSession.Source.ADMIN)
        queued = settings.IMPORT_RUNNER == "queue"
        try:
            session_id = call_command(
                "import_catalog_from_1c", "--data-dir", str(settings.ONEC_DATA_DIR),
                "--source", source.value, "--triggered-by", str(request.user.pk),
                *(["--queue"] if queued else []), stdout=StringIO(), stderr=StringIO(),
            )
        except ImportLockTakenError:
            self.message_user(request, "⚠️ Импорт уже запущен! Дождитесь завершения текущего импорта.",
                              messages.WARNING)
        except ImportLockUnavailableError as exc:
            self.message_user(request, f"❌ {exc}", messages.ERROR)
        except ImportSessionFailedError as exc:
            self._log_run(request, _session_or_none(exc.session_id))
            self.message_user(request, f"❌ {exc} (сессия {exc.session_id}).", messages.ERROR)
        except Exception as exc:  # unexpected: the traceback goes to the log, a message to the user
            logger.exception("the admin import action crashed")
            self.message_user(request, f"❌ Ошибка импорта: {exc.__class__.__name__}: {exc}", messages.ERROR)
        else:
            session = ImportSession.objects.get(session_id=session_id)
            self._log_run(request, session)
            if queued:
                self.message_user(request, _queued_message(session), messages.INFO)
            else:
                self.message_user(request, f"✅ {_completed_message(session)}", messages.SUCCESS)


def _session_or_none(session_id) -> ImportSession | None:
    try:
        return ImportSession.objects.filter(session_id=uuid.UUID(str(session_id))).first()
    except ValueError:
        return None


def _next_url(request) -> str | None:
    """Where a button wants to land after acting (the card's: the dashboard; cancel: where it was
    pressed): a path of this site only."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return None


def _posted_action(request) -> str | None:
    """The action of the submitted form, picked the way ``ModelAdmin.response_action`` picks it."""
    actions = request.POST.getlist("action")
    try:
        return actions[int(request.POST.get("index", 0))]
    except (ValueError, IndexError):
        return None


def _cancel_url(session: ImportSession) -> str:
    return reverse("admin:products_importsession_cancel", args=[session.pk])


def _queued_message(session: ImportSession) -> str:
    url = reverse("admin:products_importsession_change", args=[session.pk])
    return format_html('⏳ Импорт поставлен в очередь: <a href="{}">сессия {}</a>. Он начнётся, как только его '
                       "возьмёт обработчик очереди; ход импорта виден на странице сессии.", url, session.session_id)


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
