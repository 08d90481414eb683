"""``{% load import_sessions %}``: the list's renderings of a session, for any template."""
from django import template

from .. import display

register = template.Library()


@register.simple_tag
def import_status_badge(session):
    return display.session_status_badge(session)


@register.simple_tag
def import_duration(session):
    return display.duration_text(session)


@register.simple_tag
def import_progress(session):
    return display.progress_bar(session)


@register.simple_tag
def import_launched_by(session):
    return display.launched_by(session)


@register.filter
def thousands(value):
    """``12000|thousands`` → ``12 000``."""
    return display.format_number(value) if isinstance(value, (int, float)) else value
