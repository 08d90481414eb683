"""Template helpers for exchange records: short Russian durations."""
from __future__ import annotations

import datetime as dt

from django import template

register = template.Library()


@register.filter
def short_duration(value) -> str:
    """``timedelta`` or seconds → "0,4 с", "12 с", "3 мин 05 с", "1 ч 02 мин"; "—" when unknown."""
    if value is None or value == "":
        return "—"
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    seconds = max(seconds, 0.0)
    if seconds < 10:
        return f"{seconds:.1f} с".replace(".", ",")
    whole = round(seconds)
    if whole < 60:
        return f"{whole} с"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} мин {secs:02d} с"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} ч {minutes:02d} мин"
