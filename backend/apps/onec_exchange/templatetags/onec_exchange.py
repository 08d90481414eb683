"""``{% load onec_exchange %}``: the exchange behind an import session, for the session page.

``{% exchange_section session %}`` draws nothing for sessions 1C's exchange did not start, so the
session page includes it unconditionally without knowing about this app's models.
"""
from __future__ import annotations

import datetime as dt

from django import template

from apps.products import display

from ..selectors import session_exchange

register = template.Library()


@register.inclusion_tag("onec_exchange/session_exchange.html")
def exchange_section(session):
    return {"exchange_info": session_exchange(session=session)}


@register.filter
def short_duration(value) -> str:
    """``timedelta`` or seconds → "0,4 с", "12 с", "3 мин 5 с", "1 ч 02 мин", as the rest of the
    session page writes durations; "—" when unknown."""
    if value is None or value == "":
        return display.DASH
    return display.format_seconds(value.total_seconds() if isinstance(value, dt.timedelta) else value)
