"""``{% load import_sessions %}``: the list's renderings of a session, for any template."""
from django import template
from django.urls import reverse
from django.utils import timezone

from .. import display

register = template.Library()


# The list's renderings, by the names templates use.
register.simple_tag(display.session_status_badge, name="import_status_badge")
register.simple_tag(display.duration_text, name="import_duration")
register.simple_tag(display.progress_bar, name="import_progress")
register.simple_tag(display.launched_by, name="import_launched_by")


@register.filter
def thousands(value):
    """``12000|thousands`` → ``12 000``."""
    return display.format_number(value) if isinstance(value, (int, float)) else value


@register.filter
def ago(moment, now=None):
    """``heartbeat_at|ago:now`` → ``12 с назад`` (seconds matter for a heartbeat; ``timesince`` says "0 минут")."""
    if not moment:
        return ""
    return f"{display.format_duration(((now or timezone.now()) - moment).total_seconds())} назад"


@register.filter
def seconds(value):
    """``3540|seconds`` → ``59 мин 0 с``."""
    return display.format_duration(value)


@register.simple_tag
def import_history_chart(sessions):
    return display.history_chart(sessions, lambda session: reverse("admin:products_importsession_change",
                                                                   args=[session.pk]))
