"""What an exchange leaves on record for the admin: its files, sizes and timings, per import session."""
from __future__ import annotations

import pytest
from django.urls import reverse

from apps.onec_exchange.models import Exchange
from apps.onec_exchange.selectors import session_exchange
from apps.onec_exchange.templatetags.onec_exchange import short_duration
from apps.products.models import ImportSession

from .conftest import zip_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_session_knows_the_files_sizes_and_timings_of_its_exchange(one_c, exchange_user, fixture_dir):
    package = fixture_dir("classic_ns")
    archive = zip_bytes(package)
    one_c.start()
    one_c.send("catalog.zip", archive)
    one_c.send("import_files/<b>x</b>.jpg", b"jpeg")  # a name that must reach the page escaped
    assert one_c.import_until_done("import.xml")[0].lines == ["success"]
    session = ImportSession.objects.get()

    info = session_exchange(session=session)

    assert (info.exchange.user, info.number, info.imports) == (exchange_user, 1, 1)
    assert sorted(f.name for f in info.files) == ["import.xml", "import_files/<b>x</b>.jpg", "import_files/ab/ski.jpg",
                                                  "offers.xml"]
    assert info.files_count == 4 and info.more_files == 0
    assert info.files_bytes == sum(p.stat().st_size for p in package.rglob("*") if p.is_file()) + 4
    assert [(a.name, a.size) for a in info.archives] == [("catalog.zip", len(archive))]
    assert info.upload_started_at <= info.upload_finished_at <= info.link.requested_at <= session.started_at
    assert info.import_duration == session.finished_at - session.started_at
    assert info.folder_kept



def test_the_session_page_shows_the_exchange(one_c, exchange_user, admin_client):
    one_c.start()
    one_c.send("catalog.zip", zip_bytes(entries={"import.xml": b"<\xd0\x9a\xd0\xbe"}))  # cut short: the import fails
    one_c.send("import_files/<b>x</b>.jpg", b"jpeg")  # a name that must reach the page escaped
    assert one_c.import_until_done("import.xml")[0].word == "failure"
    session = ImportSession.objects.get()

    page = admin_client.get(reverse("admin:products_importsession_change", args=[session.pk])).content.decode()

    card = page[page.index('id="import-exchange"'):page.index('id="import-errors"')]
    assert "Обмен с 1С" in card and exchange_user.username in card
    assert "import_files/&lt;b&gt;x&lt;/b&gt;.jpg" in card and "<b>x</b>" not in page
    assert "catalog.zip" in card and "Передача файлов" in card and "Ожидание начала импорта" in card
    listing = admin_client.get(reverse("admin:products_importsession_changelist"), {"source": "exchange"})
    assert str(session.session_id)[:8] in listing.content.decode()
    dashboard = admin_client.get(reverse("admin:index")).content.decode()
    last = dashboard[dashboard.index("import-card-last"):dashboard.index("import-card-run")]
    assert session.short_id in last and "Обмен с 1С" in last and exchange_user.username in last


def test_sessions_not_started_by_1c_have_no_exchange(fixture_dir, run_import, admin_client):
    session = run_import(fixture_dir("classic_ns"))
    assert session_exchange(session=session) is None
    page = admin_client.get(reverse("admin:products_importsession_change", args=[session.pk])).content.decode()
    assert 'id="import-exchange"' not in page and 'id="import-errors"' in page


def test_the_exchange_list_shows_exchanges_that_never_reached_an_import(one_c, admin_client, settings):
    settings.ONEC_EXCHANGE_MAX_BYTES = 1500
    one_c.start()
    one_c.send("import.xml", b"a" * 2000)

    listing = admin_client.get(reverse("admin:onec_exchange_exchange_changelist")).content.decode()

    assert "обмен прерван: обмен больше лимита" in listing
    page = admin_client.get(reverse("admin:onec_exchange_exchange_change", args=[Exchange.objects.get().pk]))
    assert page.status_code == 200 and "import.xml" in page.content.decode()


@pytest.mark.parametrize("value, text", [(None, "—"), (0.43, "0,4 с"), (12.4, "12 с"), (185, "3 мин 5 с"),
                                         (3720, "1 ч 02 мин")])
def test_durations_read_like_the_rest_of_the_session_page(value, text):
    assert short_duration(value).replace("\u00a0", " ") == text
