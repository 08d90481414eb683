"""Whole exchanges as 1C plays them, against the real view, database and Redis lock.

Each ends in the catalog a direct import of the same package produces: the exchange is only
another way of delivering a package to the one importer.
"""
from __future__ import annotations

import queue
import threading

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connections
from django.test import Client

from apps.onec_exchange.models import Exchange, ExchangeFile, ExchangeImport
from apps.products.models import ImportSession, Product, ProductImage
from apps.products.onec.synthetic import write_package
from apps.products.services.catalog_import import catalog_import_run

from tests.conftest import ImportGate

from .conftest import OneC, make_exchange_user, natural_catalog, wait_for_background_imports, zip_bytes

pytestmark = pytest.mark.django_db(transaction=True)  # the import runs in its own thread and connection

Status = ImportSession.Status


def direct_import_of(*packages) -> tuple[dict, list[ImportSession]]:
    """The catalog that importing ``packages`` one after another straight from disk gives, in fresh tables."""
    wait_for_background_imports()
    call_command("flush", "--no-input", verbosity=0)
    sessions = [catalog_import_run(data_dir=package) for package in packages]
    return natural_catalog(), sessions




def test_plain_files_in_chunks_then_import_polled_until_success(one_c, exchange_user, fixture_dir):
    package = fixture_dir("ut11_full")
    one_c.start()
    assert (one_c.zip, one_c.file_limit) == (True, 1000)

    requests = one_c.send_dir(package)
    files = [p for p in package.rglob("*") if p.is_file()]
    assert requests > len(files)  # the bigger files really went in several chunks
    final, _progress = one_c.import_until_done("groups/groups.xml")

    assert final.lines == ["success"]
    session = ImportSession.objects.get()
    assert (session.status, session.source, session.triggered_by) == (Status.COMPLETED, "exchange", exchange_user)
    exchange = Exchange.objects.get()
    assert session.data_dir == str(exchange.package_dir)
    for path in files:  # staged byte for byte, subfolders kept
        assert (exchange.package_dir / path.relative_to(package)).read_bytes() == path.read_bytes()
    chunked = ExchangeFile.objects.get(name="goods/goods_1_2_9f1e2d3c-4b5a-4697-8879-6a5b4c3d2e1f.xml")
    assert (chunked.size, chunked.chunks, chunked.pending) == (3338, 4, False)
    assert exchange.bytes_received == sum(p.stat().st_size for p in files)

    # 1C asks to import each of its files in turn: the whole package was imported once already.
    assert one_c.call("import", filename="offers/offers.xml").lines == ["success"]
    assert one_c.call("complete").lines == ["success"]
    assert ImportSession.objects.count() == 1

    by_exchange = natural_catalog()
    expected, (direct,) = direct_import_of(fixture_dir("ut11_full"))
    assert by_exchange == expected
    assert (session.total_items, session.processed_items, session.failed_items, session.errors) == (
        direct.total_items, direct.processed_items, direct.failed_items, direct.errors)


def test_a_zip_sent_in_chunks_is_unpacked_and_imported(one_c, tmp_path):
    package = tmp_path / "synthetic"
    write_package(package, products=60, offers_per_product=2, segment_size=25)
    archive = zip_bytes(package)
    one_c.start()
    replies = one_c.send("import.zip", archive)

    assert len(replies) > 3 and {r.word for r in replies} == {"success"}
    final, _progress = one_c.import_until_done("goods/goods_1_3.xml")

    assert final.lines == ["success"], final.lines
    exchange = Exchange.objects.get()
    assert not (exchange.incoming_dir / "import.zip").exists()  # unpacked, then dropped
    zip_record = ExchangeFile.objects.get(is_archive=True)
    assert (zip_record.name, zip_record.size) == ("import.zip", len(archive))
    members = ExchangeFile.objects.filter(archive="import.zip")
    assert members.count() == sum(1 for p in package.rglob("*") if p.is_file())
    assert exchange.bytes_unpacked == sum(p.stat().st_size for p in package.rglob("*") if p.is_file())
    link = ExchangeImport.objects.get()
    assert link.package_files == members.count()

    by_exchange = natural_catalog()
    assert Product.objects.count() == 60
    expected, _ = direct_import_of(package)
    assert by_exchange == expected


def test_a_changes_only_package_after_a_full_one(client, django_user_model, fixture_dir):
    make_exchange_user(django_user_model)
    first = OneC(client, username="1c-exchange")
    first.start()
    assert first.send("full.zip", zip_bytes(fixture_dir("ut11_full")))[-1].word == "success"
    assert first.import_until_done("goods/goods.xml")[0].lines == ["success"]

    second = OneC(client, username="1c-exchange")  # the next scheduled exchange: a new conversation
    second.start()
    second.send_dir(fixture_dir("ut11_incremental"))
    final, _progress = second.import_until_done("goods/goods.xml")

    assert final.lines == ["success"]
    assert Exchange.objects.count() == 2
    assert [s.status for s in ImportSession.objects.order_by("pk")] == [Status.COMPLETED, Status.COMPLETED]
    by_exchange = natural_catalog()
    expected, _ = direct_import_of(fixture_dir("ut11_full"), fixture_dir("ut11_incremental"))
    assert by_exchange == expected
    assert any("Футболка беговая DRY" in row for row in by_exchange["Product"])


def test_files_sent_while_an_import_runs_wait_for_the_next_import(one_c, fixture_dir, mocker):
    # The classic pair, interleaved as some 1C modules do: import.xml → import, then offers.xml → import.
    package = fixture_dir("classic_ns")
    gate = ImportGate(mocker)
    one_c.start()
    one_c.send("import.xml", (package / "import.xml").read_bytes())
    one_c.send("import_files/ab/ski.jpg", (package / "import_files/ab/ski.jpg").read_bytes())

    held = one_c.call("import", filename="import.xml")
    gate.wait_running()
    assert held.word == "progress"  # answered while the import is provably still running
    offers = one_c.send("offers.xml", (package / "offers.xml").read_bytes())  # arrives mid-import
    assert {r.word for r in offers} == {"success"}
    gate.open()
    final, _progress = one_c.import_until_done("offers.xml")

    assert final.lines == ["success"]
    first, second = ImportSession.objects.order_by("pk")
    assert "offers" not in first.stats and first.total_items == 6  # it never saw offers.xml, not even half of it
    assert (first.status, second.status) == (Status.COMPLETED, Status.COMPLETED)
    assert [set(i.files.values_list("name", flat=True)) for i in ExchangeImport.objects.order_by("pk")] == [
        {"import.xml", "import_files/ab/ski.jpg"}, {"offers.xml"}]
    by_exchange = natural_catalog()
    (picture,) = ProductImage.objects.all()  # the uploaded picture reached storage, not just a path
    assert picture.path == "import_files/ab/ski.jpg" and picture.file.name.startswith("products/")
    assert default_storage.open(picture.file.name).read() == (package / "import_files/ab/ski.jpg").read_bytes()
    expected, _ = direct_import_of(fixture_dir("classic_ns"))
    assert by_exchange == expected


def test_import_calls_answer_progress_while_the_import_runs(one_c, fixture_dir, mocker):
    gate = ImportGate(mocker)
    one_c.start()
    one_c.send_dir(fixture_dir("ut11_full"))

    first = one_c.call("import", filename="groups/groups.xml")
    gate.wait_running()
    polls = [one_c.call("import", filename="groups/groups.xml") for _ in range(3)]
    gate.open()

    assert first.word == "progress"
    for reply in polls:  # each answered while the import was held, so none waited for it
        assert reply.word == "progress"
        assert reply.reason.startswith("импорт: "), reply.lines
    assert one_c.import_until_done("groups/groups.xml")[0].lines == ["success"]
    assert ImportSession.objects.count() == 1


def test_an_exchange_waits_for_an_admin_import_and_never_overlaps_it(one_c, exchange_user, fixture_dir, mocker):
    gate = ImportGate(mocker)
    results: queue.Queue = queue.Queue()

    def admin_import():
        try:
            results.put(catalog_import_run(data_dir=fixture_dir("package_209"), source="admin"))
        finally:
            connections.close_all()

    admin = threading.Thread(target=admin_import)
    admin.start()
    gate.wait_running()
    try:
        one_c.start()
        one_c.send_dir(fixture_dir("ut11_full"))
        waiting = [one_c.call("import", filename="groups/groups.xml") for _ in range(2)]
        assert ImportSession.objects.get().source == "admin"  # the exchange started nothing
    finally:
        gate.open()
        admin.join(60)

    for reply in waiting:
        assert reply.word == "progress"
        assert reply.reason.startswith("ожидание: выполняется другой импорт"), reply.lines
    assert Exchange.objects.get().lock_wait_since is not None
    final, _progress = one_c.import_until_done("groups/groups.xml")
    assert final.lines == ["success"]
    admin_session, exchange_session = ImportSession.objects.order_by("pk")
    assert (admin_session.source, exchange_session.source) == ("admin", "exchange")
    assert admin_session.finished_at <= exchange_session.started_at
    link = ExchangeImport.objects.get()
    assert link.requested_at < admin_session.finished_at  # the wait is on record


def test_gives_up_after_the_configured_wait(one_c, fixture_dir, settings, redis_conn):
    from apps.products.locking import LOCK_KEY
    from django.utils import timezone

    settings.ONEC_EXCHANGE_LOCK_WAIT = 0
    live = ImportSession.objects.create(status=Status.RUNNING, lock_token="live", heartbeat_at=timezone.now())
    redis_conn.set(LOCK_KEY, "live", ex=600)
    one_c.start()
    one_c.send_dir(fixture_dir("ut11_full"))

    reply = one_c.call("import", filename="groups/groups.xml")

    assert reply.word == "failure"
    assert "другой импорт каталога выполняется дольше" in reply.reason
    assert list(ImportSession.objects.all()) == [live]
    assert redis_conn.get(LOCK_KEY) == b"live"


def test_a_broken_package_fails_with_the_importers_reason(one_c, fixture_dir):
    package = fixture_dir("ut11_full")
    goods = package / "goods" / "goods_1_2_9f1e2d3c-4b5a-4697-8879-6a5b4c3d2e1f.xml"
    goods.write_bytes(goods.read_bytes()[:-300])  # cut short
    one_c.start()
    one_c.send_dir(package)

    final, _progress = one_c.import_until_done("goods/goods_1_2_9f1e2d3c-4b5a-4697-8879-6a5b4c3d2e1f.xml")

    session = ImportSession.objects.get()
    assert session.status == Status.FAILED
    assert final.word == "failure"
    assert final.reason.startswith("импорт не выполнен: goods/goods_1_2_")
    assert "повреждённый или неполный XML" in final.reason and str(session.session_id) in final.reason
    assert not Product.objects.exists()
    assert one_c.call("import", filename="offers/offers.xml").word == "failure"  # and it stays failed
    assert one_c.call("deactivate").word == "failure"


def test_the_bitrix_alias_speaks_the_same_protocol(client, exchange_user, fixture_dir):
    one_c = OneC(client, username=exchange_user.username, url="/bitrix/admin/1c_exchange.php")
    one_c.start()
    one_c.send_dir(fixture_dir("classic_ns"))
    assert one_c.import_until_done("import.xml")[0].lines == ["success"]
    assert ImportSession.objects.get().source == "exchange"


def test_old_exchange_folders_are_removed_but_their_records_kept(client, exchange_user, settings, fixture_dir):
    settings.ONEC_EXCHANGE_KEEP = 2
    one_c = OneC(client, username=exchange_user.username)
    one_c.checkauth()
    for _ in range(3):
        one_c.init()
        one_c.send("import.xml", (fixture_dir("classic_ns") / "import.xml").read_bytes())

    oldest, *newest = Exchange.objects.order_by("started_at", "pk")
    assert oldest.removed_at is not None and not oldest.incoming_dir.parent.exists()
    assert all(e.removed_at is None and (e.incoming_dir / "import.xml").is_file() for e in newest)
    assert sorted(p.name for p in settings.ONEC_EXCHANGE_DIR.iterdir()) == sorted(
        e.incoming_dir.parent.name for e in newest)
    assert ExchangeFile.objects.filter(exchange=oldest).count() == 1


def test_an_import_running_in_an_old_exchange_keeps_its_folder(client, exchange_user, settings, fixture_dir, mocker):
    settings.ONEC_EXCHANGE_KEEP = 1
    gate = ImportGate(mocker)
    one_c = OneC(client, username=exchange_user.username)
    one_c.start()
    one_c.send_dir(fixture_dir("classic_ns"))
    one_c.call("import", filename="import.xml")
    gate.wait_running()
    try:
        other = OneC(Client(), username=exchange_user.username)
        other.start()  # a second exchange while the first one's import runs
        running = Exchange.objects.order_by("pk").first()
        assert running.removed_at is None and running.package_dir.is_dir()
    finally:
        gate.open()
    assert one_c.import_until_done("import.xml")[0].lines == ["success"]
