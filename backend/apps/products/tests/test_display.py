"""How a session looks: status badges, durations and progress, for every status and edge case."""
from __future__ import annotations

import datetime as dt

import pytest

from apps.products import display
from apps.products.models import ImportSession

Status = ImportSession.Status
NOW = dt.datetime(2026, 11, 27, 21, 0, 0, tzinfo=dt.timezone.utc)
NB = "\u00a0"


def session(**fields) -> ImportSession:
    """An unsaved session: rendering never needs the database."""
    return ImportSession(**{"status": Status.COMPLETED, "started_at": NOW - dt.timedelta(seconds=30), **fields})


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


# --- durations ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, text", [
    (0, "0 с"), (0.9, "0 с"), (38, "38 с"), (59.99, "59 с"), (60, "1 мин 0 с"), (252, "4 мин 12 с"),
    (3599, "59 мин 59 с"), (3600, "1 ч 00 мин"), (3780, "1 ч 03 мин"), (26 * 3600 + 5 * 60, "26 ч 05 мин"),
    (-5, "0 с"),
])
def test_format_duration(seconds, text):
    assert display.format_duration(seconds).replace(NB, " ") == text


def test_a_number_and_its_unit_never_part():
    assert display.format_duration(252) == f"4{NB}мин 12{NB}с"


def test_duration_of_a_finished_session_is_end_minus_start():
    finished = session(started_at=ago(252), finished_at=NOW)
    assert display.duration_text(finished, NOW).replace(NB, " ") == "4 мин 12 с"


@pytest.mark.parametrize("status", [Status.RUNNING, Status.PENDING])
def test_duration_of_an_active_session_is_the_time_so_far(status):
    active = session(status=status, started_at=ago(75), finished_at=None)
    assert display.duration_text(active, NOW).replace(NB, " ") == "1 мин 15 с"


def test_duration_is_a_dash_when_not_started():
    assert display.duration_text(session(started_at=None), NOW) == "—"


def test_duration_is_a_dash_for_a_finished_session_without_an_end_time():
    assert display.duration_text(session(status=Status.FAILED, finished_at=None), NOW) == "—"


def test_duration_never_negative_when_clocks_disagree():
    skewed = session(started_at=NOW + dt.timedelta(seconds=3), finished_at=NOW)
    assert display.duration_text(skewed, NOW) == f"0{NB}с"


# --- progress ----------------------------------------------------------------------------------

def running(**fields) -> ImportSession:
    return session(**{"status": Status.RUNNING, "finished_at": None, "started_at": ago(60),
                      "writing_started_at": ago(50), **fields})


def test_progress_rate_and_time_left_come_from_the_sessions_own_counters():
    # 120 000 in 50 s of writing = 2 400/s; 96 000 left → 40 s.
    progress = display.session_progress(running(total_items=216_000, processed_items=120_000), NOW)
    assert (progress.percent, progress.rate, progress.seconds_left) == (55, 2400, 40)
    assert progress.rate_text == f"2{NB}400 объектов/с"
    assert progress.time_left_text == f"ещё ~40{NB}с"


def test_rate_is_measured_from_when_writing_began_not_from_the_pre_scan():
    progress = display.session_progress(running(started_at=ago(600), writing_started_at=ago(10),
                                                total_items=100, processed_items=50), NOW)
    assert progress.rate == 5


def test_rate_falls_back_to_the_start_when_writing_start_is_unknown():
    progress = display.session_progress(running(started_at=ago(20), writing_started_at=None,
                                                total_items=100, processed_items=40), NOW)
    assert progress.rate == 2


@pytest.mark.parametrize("fields", [
    {"total_items": 100, "processed_items": 0},  # nothing written yet: no rate to tell
    {"total_items": 100, "processed_items": 5, "writing_started_at": ago(0.5)},  # too short to measure
])
def test_no_rate_without_enough_to_measure(fields):
    progress = display.session_progress(running(**fields), NOW)
    assert progress.rate is None and progress.seconds_left is None
    assert progress.rate_text == progress.time_left_text == ""


def test_progress_unknown_while_the_total_is_not_known():
    assert display.session_progress(running(total_items=0, processed_items=0), NOW) is None


def test_progress_never_exceeds_the_total():
    progress = display.session_progress(running(total_items=10, processed_items=12), NOW)
    assert (progress.processed, progress.percent) == (10, 100)


def test_finished_sessions_have_no_rate():
    progress = display.session_progress(session(total_items=10, processed_items=10, finished_at=NOW), NOW)
    assert progress.rate is None


def test_progress_bar_of_a_running_import():
    html = display.progress_bar(running(total_items=216_000, processed_items=120_000, failed_items=3), NOW)
    assert '<progress value="120000" max="216000"' in html
    assert f"55{NB}%" in html
    assert f"120{NB}000 из 216{NB}000" in html
    assert "с ошибками 3" in html
    assert f"2{NB}400 объектов/с, ещё ~40{NB}с" in html


def test_progress_bar_says_nothing_of_errors_when_there_are_none():
    html = display.progress_bar(running(total_items=100, processed_items=50, failed_items=0), NOW)
    assert "ошибк" not in html


def test_progress_bar_before_the_total_is_known():
    html = display.progress_bar(running(total_items=0), NOW)
    assert html.startswith("—") and "проверка пакета" in html and "<progress" not in html


def test_progress_bar_of_a_pending_import():
    html = display.progress_bar(session(status=Status.PENDING, finished_at=None), NOW)
    assert html.startswith("—") and "в очереди" in html and "<progress" not in html


def test_progress_bar_of_a_completed_import_is_empty():
    assert display.progress_bar(session(total_items=10, processed_items=10, finished_at=NOW), NOW) == ""


def test_progress_bar_of_a_failed_import_says_where_it_stopped():
    html = display.progress_bar(session(status=Status.FAILED, total_items=30_000, processed_items=14_000,
                                        finished_at=NOW), NOW)
    assert "<progress" not in html
    assert f"остановлен на 46{NB}%" in html and f"14{NB}000 из 30{NB}000" in html


@pytest.mark.parametrize("fields", [{"total_items": 0, "processed_items": 0},
                                    {"total_items": 10, "processed_items": 10}])
def test_progress_bar_of_a_failed_import_with_nothing_left_unsaid_is_empty(fields):
    assert display.progress_bar(session(status=Status.FAILED, finished_at=NOW, **fields), NOW) == ""


# --- status badges -----------------------------------------------------------------------------

@pytest.mark.parametrize("status, color, icon, label", [
    (Status.COMPLETED, "success", "fa-circle-check", "Завершён"),
    (Status.RUNNING, "warning", "fa-rotate", "Выполняется"),
    (Status.FAILED, "danger", "fa-circle-xmark", "Ошибка"),
    (Status.PENDING, "secondary", "fa-hourglass-half", "Ожидает"),
])
def test_every_status_has_a_coloured_badge_with_an_icon_and_words(status, color, icon, label):
    html = display.session_status_badge(session(status=status))
    assert f"text-bg-{color}" in html and icon in html and label in html
    assert "<i " in html and 'aria-hidden="true"' in html  # the icon decorates; the words say it


def test_every_status_of_the_model_has_its_own_look():
    assert set(Status.values) <= set(display.STATUS_LOOKS)
    looks = [display.status_look(status) for status in Status.values]
    assert len({look.color for look in looks}) == len(looks)


def test_an_unknown_status_still_gets_a_badge_with_words():
    html = display.status_badge("archived", "В архиве")
    assert "fa-circle-question" in html and "В архиве" in html


def test_badge_text_is_escaped():
    html = display.status_badge("x", "<b>bold</b>")
    assert "<b>" not in html and "&lt;b&gt;" in html


# --- who and counts ----------------------------------------------------------------------------

@pytest.mark.django_db
def test_launched_by_names_user_and_door(django_user_model):
    user = django_user_model(username="<boss>")
    html = display.launched_by(session(source=ImportSession.Source.ADMIN, triggered_by=user))
    assert "&lt;boss&gt;" in html and "Админка" in html
    assert display.launched_by(session(source=ImportSession.Source.CLI)) == "Командная строка"


def test_failed_count_stands_out_only_when_non_zero():
    assert "text-danger" in display.failed_count(1_200) and f"1{NB}200" in display.failed_count(1_200)
    assert "text-danger" not in display.failed_count(0)


def test_str_shows_the_start_in_local_time(settings):
    settings.TIME_ZONE = "Europe/Moscow"
    started = dt.datetime(2026, 11, 27, 21, 3, tzinfo=dt.timezone.utc)  # 00:03 in Moscow, the next day
    assert str(session(started_at=started)) == "Импорт 28.11.2026 00:03 (Завершён)"
    assert display.local_time(started) == "28.11.2026 00:03"
