"""The import sessions list and the session page, through the real admin URLs."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.products.models import ImportSession, Product

from .conftest import CHANGELIST_URL

pytestmark = pytest.mark.django_db

Status = ImportSession.Status
NB = "\u00a0"
XSS = '<script>alert("1c")</script>'


def make(status=Status.COMPLETED, **fields) -> ImportSession:
    now = timezone.now()
    defaults = {"status": status, "started_at": now - dt.timedelta(minutes=5), "heartbeat_at": now}
    if status not in ImportSession.ACTIVE_STATUSES:
        defaults["finished_at"] = now
    return ImportSession.objects.create(**{**defaults, **fields})


def page_url(session) -> str:
    return f"{CHANGELIST_URL}{session.pk}/change/"


def get(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- the list ---------------------------------------------------------------------------------

def test_the_list_shows_each_sessions_badge_duration_progress_and_counts(client, superuser):
    running = make(Status.RUNNING, triggered_by=superuser, source="admin", total_items=1000, processed_items=250,
                   failed_items=4, writing_started_at=timezone.now() - dt.timedelta(seconds=10))
    make(Status.COMPLETED, source="cli", total_items=10, processed_items=10,
         started_at=timezone.now() - dt.timedelta(seconds=252), finished_at=timezone.now())
    make(Status.FAILED, total_items=30, processed_items=12)
    make(Status.PENDING, total_items=0)
    client.force_login(superuser)

    html = get(client, CHANGELIST_URL)

    for column in ("session_link", "colored_status", "started", "duration", "progress_display", "launched_by",
                   "processed_display", "failed_display"):
        assert f"field-{column}" in html
    for color, icon in (("warning", "fa-rotate"), ("success", "fa-circle-check"), ("danger", "fa-circle-xmark"),
                        ("secondary", "fa-hourglass-half")):
        assert re.search(rf'text-bg-{color}[^>]*><i class="[^"]*{icon}', html)
    assert f"4{NB}мин 12{NB}с" in html
    assert '<progress value="250" max="1000"' in html and f"250 из 1{NB}000" in html
    assert "объектов/с, ещё ~" in html
    assert f"{running.short_id}</a>" in html
    assert "root <span" in html and "Админка" in html


def test_the_list_costs_the_same_queries_for_ten_or_three_hundred_sessions(client, superuser):
    client.force_login(superuser)

    def queries_for(count: int) -> list[str]:
        ImportSession.objects.all().delete()
        ImportSession.objects.bulk_create([
            ImportSession(status=status, triggered_by=superuser if i % 2 else None, total_items=100,
                          processed_items=50, errors=[{"onec_id": "x", "file": "f", "message": "m"}] * 50,
                          heartbeat_at=timezone.now())
            for i, status in zip(range(count), [Status.COMPLETED, Status.FAILED, Status.RUNNING] * count)
        ])
        with CaptureQueriesContext(connection) as captured:
            assert client.get(CHANGELIST_URL).status_code == 200
        return [query["sql"] for query in captured.captured_queries]

    few, many = queries_for(10), queries_for(300)
    assert len(few) == len(many), "\n".join(many)
    assert not any('"errors"' in sql for sql in many if "importsession" in sql.lower() and "LIMIT" in sql)


def test_the_list_refreshes_itself_only_while_an_import_is_active(client, superuser):
    client.force_login(superuser)
    make(Status.COMPLETED)
    assert "data-import-active" not in get(client, CHANGELIST_URL)
    make(Status.RUNNING)
    assert "data-import-active" in get(client, CHANGELIST_URL)
    # Whatever the filter, search or page shows: the server decides for the whole table.
    assert "data-import-active" in get(client, f"{CHANGELIST_URL}?status=completed")
    assert "data-import-active" in get(client, f"{CHANGELIST_URL}?q=no-such-session")


def test_a_pending_import_refreshes_the_list_too(client, superuser):
    client.force_login(superuser)
    make(Status.PENDING)
    assert "data-import-active" in get(client, CHANGELIST_URL)


def test_a_dead_running_import_does_not_keep_the_list_refreshing(client, superuser):
    make(Status.RUNNING, heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    client.force_login(superuser)
    assert "data-import-active" not in get(client, CHANGELIST_URL)


def test_status_filter_carries_each_statuss_icon_and_filters(client, superuser):
    failed, _ = make(Status.FAILED), make(Status.COMPLETED)
    client.force_login(superuser)

    html = get(client, CHANGELIST_URL)
    select = re.search(r'<select class="form-control search-filter-icons".*?</select>', html, re.S).group(0)
    for value, icon in (("completed", "fa-circle-check"), ("failed", "fa-circle-xmark"),
                        ("running", "fa-rotate"), ("pending", "fa-hourglass-half")):
        assert re.search(rf'value="{value}" data-icon="[^"]*{icon}', select), value
    assert "Ошибка (1)" in select

    filtered = get(client, f"{CHANGELIST_URL}?status=failed")
    assert failed.short_id in filtered and filtered.count('class="field-session_link"') == 1


def test_search_finds_a_session_by_its_short_id(client, superuser):
    wanted, other = make(), make()
    client.force_login(superuser)
    html = get(client, f"{CHANGELIST_URL}?q={wanted.short_id}")
    assert wanted.short_id in html and other.short_id not in html


# --- the session page -------------------------------------------------------------------------

def test_the_session_page_lays_the_session_out_for_people(client, superuser):
    session = make(Status.COMPLETED, triggered_by=superuser, source="admin", total_items=12, processed_items=12,
                   failed_items=1, data_dir="/srv/1c", error_message="1 объектов с ошибками (1 ошибок)",
                   errors=[{"onec_id": "p1", "file": "goods/goods.xml", "message": "цена: некорректное число"}],
                   stats={"layout": "ut11", "error_count": 1, "prescan_seconds": 0.4, "read_write_seconds": 75.0,
                          "total_seconds": 75.4, "products": {"created": 5, "unchanged": 2, "failed": 1},
                          "offers": {"updated": 3, "deactivated": 1}})
    client.force_login(superuser)

    html = get(client, page_url(session))

    assert "Сессия импорта " + session.short_id in html
    assert "text-bg-success" in html and "Завершён" in html
    assert "/srv/1c" in html and "УТ 11" in html and str(session.session_id) in html
    products = re.search(r'<tr class="import-entity-products">(.*?)</tr>', html, re.S).group(1)
    assert [c for c in re.findall(r"<td>(.*?)</td>", products)][:4] == [
        "5", '<span class="text-body-secondary">0</span>', "2", '<span class="text-body-secondary">0</span>']
    assert "деактивировано" in html and "Товары" in html and "Предложения" in html
    assert "Проверка пакета" in html and f"1{NB}мин 15{NB}с" in html
    assert "цена: некорректное число" in html and "goods/goods.xml" in html
    assert '"layout"' not in html  # no JSON blob


def test_the_session_page_of_a_failed_import_shows_the_reason_and_keeps_the_traceback_folded(client, superuser):
    session = make(Status.FAILED, error_message="goods.xml: повреждённый XML\n\nTraceback (most recent call last):\n"
                                                "ValueError: boom")
    client.force_login(superuser)
    html = get(client, page_url(session))
    assert re.search(r'alert-danger[^>]*>\s*<strong>Причина:</strong> goods.xml: повреждённый XML', html)
    assert re.search(r"<details.*Traceback.*ValueError: boom.*</details>", html, re.S)


def test_per_item_errors_are_paged_with_the_total_shown(client, superuser):
    errors = [{"onec_id": f"id-{i:04d}", "file": "prices.xml", "message": f"ошибка {i}"} for i in range(120)]
    session = make(Status.COMPLETED, failed_items=110, errors=errors, stats={"error_count": 1500})
    client.force_login(superuser)

    first = get(client, page_url(session))
    last = get(client, page_url(session) + "?errors_page=3")

    assert "id-0000" in first and "id-0049" in first and "id-0050" not in first
    assert "id-0100" in last and "id-0119" in last and "id-0099" not in last
    assert f"Всего ошибок: 1{NB}500 у 110 объектов" in first and "сохранены первые 120" in first
    assert "Показаны 101–120" in last


def test_the_errors_csv_holds_every_stored_error_and_defuses_formulas(client, superuser):
    errors = [{"onec_id": f"id-{i}", "file": "f.xml", "message": f"ошибка {i}"} for i in range(1000)]
    errors[0] = {"onec_id": "=HYPERLINK(\"http://evil\")", "file": "@cmd", "message": "+1; \"quoted\"\nnext line"}
    session = make(Status.FAILED, errors=errors)
    client.force_login(superuser)

    response = client.get(f"{CHANGELIST_URL}{session.pk}/errors.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"import-{session.short_id}-errors.csv" in response["Content-Disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0] == ["Ид 1С", "файл", "ошибка"] and len(rows) == 1001
    assert rows[1] == ["'=HYPERLINK(\"http://evil\")", "'@cmd", "'+1; \"quoted\"\nnext line"]
    assert rows[1000] == ["id-999", "f.xml", "ошибка 999"]


def test_the_errors_csv_needs_the_right_to_view_sessions(client, superuser, viewer, django_user_model):
    session = make(Status.FAILED, errors=[{"onec_id": "x", "file": "f", "message": "m"}])
    url = f"{CHANGELIST_URL}{session.pk}/errors.csv"
    client.force_login(viewer)
    assert client.get(url).status_code == 200
    stranger = django_user_model.objects.create_user("stranger", "s@example.com", "pw", is_staff=True)
    client.force_login(stranger)
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_text_from_1c_files_and_exceptions_is_escaped_everywhere(client, superuser):
    session = make(Status.FAILED, triggered_by=superuser, data_dir=f"/srv/{XSS}",
                   error_message=f"{XSS}: не удалось\n\n{XSS}",
                   errors=[{"onec_id": XSS, "file": f"goods/{XSS}.xml", "message": f"цена: {XSS}"}],
                   stats={"layout": XSS, XSS: {"created": 1}, f"{XSS}_seconds": 1.0})
    client.force_login(superuser)
    for html in (get(client, page_url(session)), get(client, CHANGELIST_URL)):
        assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in get(client, page_url(session))


def test_a_1c_name_with_markup_is_escaped_in_the_catalog_and_in_the_errors(client, superuser, fixture_dir, run_import):
    data_dir = fixture_dir("ut11_full")
    goods = next((data_dir / "goods").rglob("goods_*.xml"))
    text = goods.read_text(encoding="utf-8")
    name = re.search(r"<Наименование>([^<]+)</Наименование>", text.split("<Товар>", 1)[1]).group(1)
    goods.write_text(text.replace(f"<Наименование>{name}</Наименование>",
                                  "<Наименование>&lt;script&gt;alert(1)&lt;/script&gt;</Наименование>", 1),
                     encoding="utf-8")
    prices = next((data_dir / "prices").rglob("*.xml"))
    prices.write_text(re.sub(r"<ИдТипаЦены>[^<]+</ИдТипаЦены>", "<ИдТипаЦены>&lt;script&gt;x&lt;/script&gt;</ИдТипаЦены>",
                             prices.read_text(encoding="utf-8"), count=1), encoding="utf-8")
    session = run_import(data_dir)
    assert any("<script>" in error["message"] for error in session.errors)
    assert Product.objects.filter(name="<script>alert(1)</script>").exists()
    client.force_login(superuser)

    for html in (get(client, page_url(session)), get(client, "/admin/products/product/"),
                 get(client, "/admin/products/product/?q=script")):
        assert "<script>alert(1)" not in html and "<script>x" not in html
    assert "&lt;script&gt;" in get(client, page_url(session))


def test_the_session_page_refreshes_itself_only_while_its_import_is_active(client, superuser):
    running, done = make(Status.RUNNING), make(Status.COMPLETED)
    client.force_login(superuser)
    assert "data-import-active" in get(client, page_url(running))
    assert "data-import-active" not in get(client, page_url(done))


def test_the_page_title_and_breadcrumb_use_local_time(client, superuser, settings):
    settings.TIME_ZONE = "Europe/Moscow"
    session = make(started_at=dt.datetime(2026, 11, 27, 21, 3, tzinfo=dt.timezone.utc))
    client.force_login(superuser)
    html = get(client, page_url(session))
    assert "Импорт 28.11.2026 00:03" in html and "27.11.2026 21:03" not in html


# --- the dashboard card -----------------------------------------------------------------------

def test_the_dashboard_carries_the_card_above_jazzmins_app_list(client, superuser):
    make(Status.COMPLETED, failed_items=2)
    client.force_login(superuser)
    html = get(client, "/admin/")
    assert html.index('id="import-card"') < html.index("Последние действия")
    assert 'name="_import_source" value="dashboard"' in html and 'data-import-trigger' in html
    assert '<svg class="import-chart"' in html
    assert "admin_import/autorefresh.js" in html and "admin_import/trigger.js" in html


def test_the_import_section_comes_first_in_the_menu_and_links_to_the_list(client, superuser):
    client.force_login(superuser)
    html = get(client, "/admin/")
    menu = html[html.index('id="jazzy-navigation"'):]
    assert menu.index(">Импорт<") < menu.index(">Каталог<")
    section = menu[menu.index(">Импорт<"):menu.index(">Каталог<")]
    assert f'href="{CHANGELIST_URL}"' in section
    assert 'href="/admin/onec_exchange/exchange/"' in section  # 1C's exchanges sit there too


def test_the_card_button_runs_the_locked_action_and_comes_back_to_the_dashboard(client, superuser, onec_package):
    client.force_login(superuser)
    response = client.post(CHANGELIST_URL, {"action": "trigger_catalog_import", "_import_source": "dashboard",
                                            "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    session = ImportSession.objects.get()
    assert (session.status, session.source, session.triggered_by) == (Status.COMPLETED, "dashboard", superuser)
    html = get(client, "/admin/")
    assert "Импорт завершён" in html and session.short_id in html
    assert "<strong>Запуск</strong> импорта (Панель управления)" in html  # the run is in the admin's history


def test_the_card_button_refuses_to_send_anyone_elsewhere(client, superuser, onec_package):
    client.force_login(superuser)
    response = client.post(CHANGELIST_URL, {"action": "trigger_catalog_import", "next": "https://evil.example/"})
    assert response["Location"] == CHANGELIST_URL


def test_the_card_alone_refreshes_through_its_own_url(client, superuser, viewer, django_user_model):
    running = make(Status.RUNNING)
    client.force_login(superuser)
    html = get(client, f"{CHANGELIST_URL}card/")
    assert html.lstrip().startswith('<div class="card mb-3 import-card" id="import-card" data-import-active')
    assert running.short_id in html and "<html" not in html
    client.force_login(viewer)
    assert 'id="import-card"' in get(client, f"{CHANGELIST_URL}card/")
    client.force_login(django_user_model.objects.create_user("nobody", "n@example.com", "pw", is_staff=True))
    assert client.get(f"{CHANGELIST_URL}card/").status_code == 403


def test_the_card_without_the_import_permission_has_no_button(client, viewer):
    client.force_login(viewer)
    html = get(client, "/admin/")
    assert 'id="import-card"' in html and "data-import-trigger" not in html


def test_the_card_cancels_the_running_import_and_comes_back(client, superuser):
    running = make(Status.RUNNING)
    client.force_login(superuser)
    html = get(client, "/admin/")
    assert f'action="{CHANGELIST_URL}{running.pk}/cancel/"' in html
    response = client.post(f"{CHANGELIST_URL}{running.pk}/cancel/", {"next": "/admin/"})
    assert response["Location"] == "/admin/"
    running.refresh_from_db()
    assert running.cancel_requested_at is not None and running.cancelled_by == superuser


def test_the_card_offers_no_cancel_without_the_import_permission(client, viewer):
    make(Status.RUNNING)
    client.force_login(viewer)
    assert "/cancel/" not in get(client, "/admin/")


def test_a_requested_cancel_shows_instead_of_the_button(client, superuser):
    running = make(Status.RUNNING, cancel_requested_at=timezone.now(), cancelled_by=superuser)
    client.force_login(superuser)
    for url in (page_url(running), CHANGELIST_URL, "/admin/"):
        html = get(client, url)
        assert "отмена запрошена" in html and "/cancel/" not in html, url
