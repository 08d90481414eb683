"""How an import session looks to people: one rendering of status, duration and progress.

The sessions list, the session page and the dashboard card all call these (directly, or through
the ``import_sessions`` template tags), so a badge or a progress bar looks the same everywhere.
Everything returned is HTML-safe: values go through ``format_html``, which escapes its arguments —
and does not apply format specs such as ``{:.0f}`` to them, so numbers are formatted first.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from .models import ImportSession

Status = ImportSession.Status
NBSP = "\u00a0"
DASH = "—"


@dataclass(frozen=True)
class StatusLook:
    color: str  # a Bootstrap 5 contextual colour: the badge is ``text-bg-<color>``
    icon: str  # Font Awesome 6 classes (Jazzmin ships the font: no emoji, same on every machine)


STATUS_LOOKS: dict[str, StatusLook] = {
    Status.PENDING: StatusLook("secondary", "fa-solid fa-hourglass-half"),
    Status.RUNNING: StatusLook("warning", "fa-solid fa-rotate fa-spin"),
    Status.COMPLETED: StatusLook("success", "fa-solid fa-circle-check"),
    Status.FAILED: StatusLook("danger", "fa-solid fa-circle-xmark"),
    "cancelled": StatusLook("dark", "fa-solid fa-ban"),
}
UNKNOWN_LOOK = StatusLook("secondary", "fa-solid fa-circle-question")


def status_look(status: str) -> StatusLook:
    return STATUS_LOOKS.get(status, UNKNOWN_LOOK)


def status_badge(status: str, label: str) -> SafeString:
    """A badge with an icon and the status in words: never colour alone."""
    look = status_look(status)
    return format_html('<span class="badge text-bg-{} import-status import-status-{}">'
                       '<i class="{}" aria-hidden="true"></i> {}</span>', look.color, status, look.icon, label)


def session_status_badge(session: ImportSession) -> SafeString:
    return status_badge(session.status, session.get_status_display())


def local_time(moment: dt.datetime | None) -> str:
    """``28.11.2026 02:12`` in the server's time zone (settings.TIME_ZONE), compact for tables."""
    return DASH if moment is None else f"{timezone.localtime(moment):%d.%m.%Y %H:%M}"


# --- numbers and durations -----------------------------------------------------------------

def format_number(value: int | float) -> str:
    """``12000`` → ``12 000`` (a no-break space, as Russian typography groups digits)."""
    return f"{round(value):,}".replace(",", NBSP)


def format_duration(seconds: float) -> str:
    """``38 с``, ``4 мин 12 с``, ``1 ч 03 мин`` (under a second: ``0 с``)."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}{NBSP}ч {minutes:02d}{NBSP}мин"
    if minutes:
        return f"{minutes}{NBSP}мин {secs}{NBSP}с"
    return f"{secs}{NBSP}с"


def format_seconds(seconds: float) -> str:
    """A measured phase: tenths under 10 s (``0,4 с``, ``9,7 с``), then as ``format_duration``."""
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return f"{seconds:.1f}{NBSP}с".replace(".", ",")
    return format_duration(round(seconds))


def format_time_left(seconds: float) -> str:
    """Rounded the way an estimate deserves: ``~40 с``, ``~4 мин``, ``~1 ч 05 мин``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"~{max(seconds, 1)}{NBSP}с"
    if seconds < 3600:
        return f"~{round(seconds / 60)}{NBSP}мин"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"~{hours}{NBSP}ч {minutes:02d}{NBSP}мин"


def session_elapsed(session: ImportSession, now: dt.datetime | None = None) -> dt.timedelta | None:
    """Finished − started; for an active session the time so far; None when it cannot be told."""
    if session.started_at is None:
        return None
    if session.finished_at is not None:
        end = session.finished_at
    elif session.is_active:
        end = now or timezone.now()
    else:
        return None  # finished without an end time: no honest duration
    return max(end - session.started_at, dt.timedelta(0))


def duration_text(session: ImportSession, now: dt.datetime | None = None) -> str:
    elapsed = session_elapsed(session, now)
    return DASH if elapsed is None else format_duration(elapsed.total_seconds())


# --- progress ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    processed: int
    total: int
    failed: int
    percent: int
    rate: float | None  # items per second since writing began
    seconds_left: float | None

    @property
    def rate_text(self) -> str:
        return "" if self.rate is None else f"{format_number(self.rate)} объектов/с"

    @property
    def time_left_text(self) -> str:
        return "" if self.seconds_left is None else f"ещё {format_time_left(self.seconds_left)}"


_MIN_RATE_WINDOW = 1.0  # s: a rate over less time than this is noise


def session_progress(session: ImportSession, now: dt.datetime | None = None) -> Progress | None:
    """The session's own counters as progress; None while the total is not known (pre-scan)."""
    total = session.total_items
    if not total:
        return None
    processed = min(session.processed_items, total)
    rate = seconds_left = None
    since = session.writing_started_at or session.started_at
    if session.is_active and since is not None and processed:
        window = ((now or timezone.now()) - since).total_seconds()
        if window >= _MIN_RATE_WINDOW:
            rate = processed / window
            seconds_left = (total - processed) / rate
    return Progress(processed=processed, total=total, failed=session.failed_items,
                    percent=min(100, processed * 100 // total), rate=rate, seconds_left=seconds_left)


def progress_bar(session: ImportSession, now: dt.datetime | None = None) -> SafeString:
    """For an active import: the bar, %, processed / total, failed, rate and time left.

    ``—`` while the total is not known; for a finished import nothing, or where it stopped short
    of the end ("прервано на 45 %")."""
    progress = session_progress(session, now)
    if not session.is_active:
        if progress is None or progress.processed >= progress.total or session.status == Status.COMPLETED:
            return SafeString("")
        return format_html('<span class="text-body-secondary import-progress-stopped">остановлен на {}{}%'
                           ' ({} из {})</span>', progress.percent, NBSP, format_number(progress.processed),
                           format_number(progress.total))
    if progress is None:
        note = "в очереди" if session.status == Status.PENDING else "проверка пакета…"
        return format_html('{} <small class="text-body-secondary">{}</small>', DASH, note)
    failed = (format_html(', <span class="text-danger">с ошибками {}</span>', format_number(progress.failed))
              if progress.failed else "")
    speed = ""
    if progress.rate is not None:
        speed = format_html('<div class="import-progress-rate small text-body-secondary">{}, {}</div>',
                            progress.rate_text, progress.time_left_text)
    return format_html(
        '<div class="import-progress">'
        '<progress value="{}" max="{}" aria-label="Выполнено {}%">{}%</progress> <strong>{}{}%</strong>'
        '<div class="import-progress-counts small">{} из {}{}</div>{}</div>',
        progress.processed, progress.total, progress.percent, progress.percent, progress.percent, NBSP,
        format_number(progress.processed), format_number(progress.total), failed, speed,
    )


# --- who, counts ---------------------------------------------------------------------------

def launched_by(session: ImportSession) -> SafeString:
    """Who started it and through which door: "boss · Админка", "Командная строка"."""
    user = session.triggered_by  # the list selects it with the session: no query per row
    if user is None:
        return format_html("{}", session.get_source_display())
    return format_html('{} <span class="text-body-secondary">· {}</span>', user.get_username(),
                       session.get_source_display())


def failed_count(count: int) -> SafeString:
    if not count:
        return mark_safe('<span class="text-body-secondary">0</span>')
    return format_html('<strong class="text-danger">{}</strong>', format_number(count))


# --- the history chart of the dashboard card ------------------------------------------------

_CHART_SLOTS, _SLOT, _BAR, _TOP, _BARS_HEIGHT = 20, 30, 20, 14, 70


def history_chart(sessions: list[ImportSession], url_of) -> SafeString:
    """An inline SVG, rendered here: one bar per finished import (oldest left), its height the
    duration, its colour the status; the number of failed objects in red under its bar.
    ``url_of(session)`` gives each bar's link. Colours come from CSS (``import.css``), so the
    light and dark themes both read."""
    if not sessions:
        return SafeString("")
    seconds = [(elapsed.total_seconds() if (elapsed := session_elapsed(s)) else 0) for s in sessions]
    longest = max(seconds) or 1
    offset = _CHART_SLOTS - len(sessions)
    bars = []
    for i, (session, value) in enumerate(zip(sessions, seconds)):
        x = (offset + i) * _SLOT + (_SLOT - _BAR) // 2
        height = max(2, round(value / longest * _BARS_HEIGHT))
        title = (f"{local_time(session.started_at)} · {session.get_status_display()} · "
                 f"{format_duration(value)} · с ошибками {format_number(session.failed_items)}")
        failed = ""
        if session.failed_items:
            failed = format_html('<text class="import-chart-errors" x="{}" y="{}" text-anchor="middle">{}</text>',
                                 x + _BAR // 2, _TOP + _BARS_HEIGHT + 14, _compact(session.failed_items))
        bars.append(format_html(
            '<a href="{}"><title>{}</title><rect class="import-chart-bar import-chart-{}" x="{}" y="{}" width="{}"'
            ' height="{}" rx="2"></rect>{}</a>',
            url_of(session), title, session.status, x, _TOP + _BARS_HEIGHT - height, _BAR, height, failed,
        ))
    width = _CHART_SLOTS * _SLOT
    label = (f"Последние импорты: {len(sessions)}; самый долгий {format_duration(longest)}; "
             f"с ошибками {sum(1 for s in sessions if s.failed_items)}")
    return format_html(
        '<svg class="import-chart" viewBox="0 0 {} {}" role="img" aria-label="{}" preserveAspectRatio="xMidYMid meet">'
        '<line class="import-chart-axis" x1="0" y1="{}" x2="{}" y2="{}"></line>'
        '<text class="import-chart-scale" x="2" y="10">{}</text>{}</svg>',
        width, _TOP + _BARS_HEIGHT + 20, label, _TOP + _BARS_HEIGHT, width, _TOP + _BARS_HEIGHT,
        f"макс. {format_duration(longest)}", SafeString("".join(bars)),
    )


def _compact(count: int) -> str:
    """Fits under a bar: 7, 950, 12k, 1.2M."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count // 1000}k"
    return f"{count / 1_000_000:.1f}M"
