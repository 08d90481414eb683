"""What the exchange refuses: wrong or missing credentials, foreign cookies, names and zips that
try to escape the staging folder, zip bombs, oversized exchanges — each with a clear reason and
nothing written or started."""
from __future__ import annotations

import base64
import io
import logging
import stat
import zipfile

import pytest
from django.test import Client

from apps.onec_exchange.models import Exchange, ExchangeFile
from apps.products.models import ImportSession

from .conftest import PASSWORD, URL, OneC, make_exchange_user, zip_bytes

pytestmark = pytest.mark.django_db


def files_under(path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()) if path.exists() else []


# --- authentication --------------------------------------------------------------------------


def test_checkauth_answers_a_cookie_1c_sends_back(one_c):
    reply = one_c.checkauth()
    assert reply.status == 200
    word, name, value = reply.lines
    assert (word, name) == ("success", "onec_exchange") and len(value) >= 40
    assert one_c.init().lines == ["zip=yes", "file_limit=1000"]


@pytest.mark.parametrize("url", ["/1c/exchange/", "/1c/exchange", "/bitrix/admin/1c_exchange.php"])
def test_every_address_1c_may_be_given_answers(client, exchange_user, url):
    one_c = OneC(client, username=exchange_user.username, url=url)
    assert one_c.checkauth().word == "success"
    assert one_c.init().word == "zip=yes"
    assert one_c.call("file", body=b"<x/>", filename="import.xml").lines == ["success"]


def test_init_follows_the_settings(one_c, settings):
    settings.ONEC_EXCHANGE_ZIP = False
    settings.ONEC_EXCHANGE_FILE_LIMIT = 5 * 1024 * 1024
    one_c.checkauth()
    assert one_c.init().lines == ["zip=no", "file_limit=5242880"]


def test_wrong_password(client, exchange_user):
    reply = OneC(client, username=exchange_user.username, password="guess").checkauth()
    assert reply.lines == ["failure", "неверное имя пользователя или пароль"]
    assert "onec_exchange" not in client.cookies


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    assert OneC(client, username="nobody").checkauth().lines == ["failure", "неверное имя пользователя или пароль"]


def test_no_credentials_get_a_basic_challenge(client):
    response = client.get(URL, {"type": "catalog", "mode": "checkauth"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic ")
    assert response.content.decode("cp1251").startswith("failure\nнужна авторизация HTTP Basic")


def test_an_inactive_user_is_refused(client, exchange_user):
    exchange_user.is_active = False
    exchange_user.save()
    assert OneC(client, username=exchange_user.username).checkauth().word == "failure"


def test_a_user_without_the_permission_is_refused(client, django_user_model):
    user = make_exchange_user(django_user_model, "clerk", permitted=False)
    reply = OneC(client, username=user.username).checkauth()
    assert reply.lines == ["failure",
                           "у пользователя «clerk» нет права на импорт каталога (products.run_catalog_import)"]


def test_a_cyrillic_user_name_and_password_authenticate(client, django_user_model):
    make_exchange_user(django_user_model, "обмен1с")
    assert OneC(client, username="обмен1с").checkauth().word == "success"


@pytest.mark.parametrize("mode", ["init", "file", "import", "complete"])
def test_every_later_call_needs_the_cookie(client, exchange_user, mode):
    one_c = OneC(client, username=exchange_user.username)  # Basic credentials, but never did checkauth
    reply = one_c.call(mode, body=b"<x/>" if mode == "file" else None, filename="import.xml")
    assert reply.word == "failure"
    assert reply.reason.startswith("нет авторизации")
    assert not Exchange.objects.exists()


def test_a_made_up_cookie_is_refused(client, exchange_user):
    client.cookies["onec_exchange"] = "x" * 43
    assert OneC(client, username=exchange_user.username).call("init").reason.startswith("нет авторизации")


def test_the_admins_own_login_does_not_open_the_exchange(client, django_user_model):
    # No CSRF token here: a page elsewhere must not be able to use a logged-in administrator's browser.
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    response = client.post(f"{URL}?type=catalog&mode=init")
    assert response.content.decode("cp1251").startswith("failure\nнет авторизации")
    assert not Exchange.objects.exists()


def test_the_cookie_is_given_only_in_the_body(client, exchange_user):
    response = client.get(URL, {"type": "catalog", "mode": "checkauth"},
                          HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"1c-exchange:{PASSWORD}".encode()).decode())
    assert response.content.startswith(b"success\n")
    assert not response.cookies  # no Set-Cookie: a browser never holds an exchange cookie


def test_losing_the_permission_mid_exchange_stops_it(one_c, exchange_user):
    one_c.start()
    exchange_user.user_permissions.clear()
    reply = one_c.call("file", body=b"<x/>", filename="import.xml")
    assert reply.lines == ["failure", "пользователь обмена отключён или лишён права на импорт каталога"]
    assert files_under(Exchange.objects.get().incoming_dir) == []


def test_a_file_before_init_is_refused(one_c):
    assert one_c.checkauth().word == "success"
    reply = one_c.call("file", body=b"<x/>", filename="import.xml")
    assert reply.lines == ["failure", "обмен не начат: сначала mode=init"]


# --- throttling ------------------------------------------------------------------------------


def test_repeated_failures_lock_the_user_name_even_with_the_right_password(client, exchange_user, settings):
    settings.ONEC_EXCHANGE_LOGIN_FAILURES = 3
    for attempt in range(3):
        reply = OneC(Client(REMOTE_ADDR=f"198.51.100.{attempt}"), username="1C-Exchange ", password="x").checkauth()
        assert reply.reason == "неверное имя пользователя или пароль"

    reply = OneC(Client(REMOTE_ADDR="198.51.100.99"), username=exchange_user.username).checkauth()

    assert reply.status == 429
    assert reply.word == "failure" and reply.reason.startswith("слишком много неудачных попыток входа")
    other = make_exchange_user(exchange_user.__class__, "backup-1c")
    assert OneC(Client(REMOTE_ADDR="198.51.100.99"), username=other.username).checkauth().word == "success"


def test_repeated_failures_lock_the_address(client, exchange_user, settings):
    settings.ONEC_EXCHANGE_LOGIN_FAILURES_PER_ADDRESS = 4
    for n in range(4):
        assert OneC(client, username=f"guess{n}", password="x").checkauth().status == 200

    blocked = OneC(client, username=exchange_user.username).checkauth()
    elsewhere = OneC(Client(REMOTE_ADDR="203.0.113.7"), username=exchange_user.username).checkauth()

    assert (blocked.status, blocked.word) == (429, "failure")
    assert elsewhere.word == "success"


def test_the_address_comes_from_the_proxy_header_when_configured(exchange_user, settings):
    settings.ONEC_EXCHANGE_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    settings.ONEC_EXCHANGE_LOGIN_FAILURES_PER_ADDRESS = 2
    attacker = Client(HTTP_X_FORWARDED_FOR="spoofed, 192.0.2.66")
    for n in range(2):
        OneC(attacker, username=f"guess{n}", password="x").checkauth()

    assert OneC(attacker, username=exchange_user.username).checkauth().status == 429
    elsewhere = OneC(Client(HTTP_X_FORWARDED_FOR="192.0.2.10"), username=exchange_user.username)
    assert elsewhere.checkauth().word == "success"


def test_a_success_clears_the_counters(client, exchange_user, settings):
    settings.ONEC_EXCHANGE_LOGIN_FAILURES = 2
    OneC(client, username=exchange_user.username, password="typo").checkauth()
    assert OneC(client, username=exchange_user.username).checkauth().word == "success"
    OneC(client, username=exchange_user.username, password="typo").checkauth()
    assert OneC(client, username=exchange_user.username).checkauth().word == "success"


def test_requests_are_logged_without_credentials(client, exchange_user, caplog):
    one_c = OneC(client, username=exchange_user.username)
    with caplog.at_level(logging.INFO, logger="apps.onec_exchange"):
        _word, _name, token = one_c.checkauth().lines
        one_c.init()
        OneC(client, username=exchange_user.username, password="wrong-Пароль").checkauth()

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "mode='checkauth'" in text and "mode='init'" in text and "-> failure: неверное имя" in text
    for secret in (PASSWORD, "wrong-Пароль", token, "Basic"):
        assert secret not in text


# --- what is not supported -------------------------------------------------------------------


@pytest.mark.parametrize("query", [
    {"type": "sale", "mode": "checkauth"}, {"type": "sale", "mode": "query"}, {"type": "catalog", "mode": "query"},
    {"type": "get_catalog", "mode": "init"}, {"mode": "checkauth"}, {},
])
def test_other_types_and_modes_are_not_supported(one_c, query):
    one_c.checkauth()
    response = one_c.client.get(URL, query)
    assert response.content.decode("cp1251") == "failure\nне поддерживается"


def test_a_file_must_be_posted(one_c):
    one_c.start()
    assert one_c.client.get(URL, {"type": "catalog", "mode": "file", "filename": "import.xml"}).content.decode(
        "cp1251") == "failure\nmode=file: файл передаётся телом POST-запроса"


def test_a_body_without_content_length_is_refused_not_stored_empty(one_c):
    one_c.start()
    response = one_c.client.post(f"{URL}?type=catalog&mode=file&filename=import.xml", data=b"<x/>",
                                 content_type="application/octet-stream", CONTENT_LENGTH="")
    assert response.content.decode("cp1251").startswith("failure\nmode=file: нет заголовка Content-Length")
    assert not ExchangeFile.objects.exists()


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "../evil.xml", "goods/../../evil.xml", "/tmp/evil.xml", "C:/evil.xml", "C:evil.xml", "..\\evil.xml",
    "goods\\..\\..\\evil.xml", "\\\\server\\share\\evil.xml", "", "goods//evil.xml", "./evil.xml",
    "evil\x00.xml", "evil\n.xml", "a/" * 11 + "evil.xml", "x" * 256 + ".xml",
])
def test_names_that_escape_the_folder_write_nothing(one_c, name, tmp_path):
    one_c.start()
    reply = one_c.call("file", body=b"<evil/>", filename=name)

    assert reply.word == "failure"
    assert reply.reason.startswith("недопустимое имя файла")
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p.read_bytes() == b"<evil/>"] == []
    assert not ExchangeFile.objects.exists()
    assert one_c.call("file", body=b"<ok/>", filename="import.xml").word == "success"  # the exchange goes on


def test_an_import_call_naming_a_traversal_is_refused(one_c):
    one_c.start()
    assert one_c.call("import", filename="../../etc/passwd").reason.startswith("недопустимое имя файла")
    assert not ImportSession.objects.exists()


def test_a_name_through_a_symlinked_folder_is_refused(one_c, tmp_path):
    one_c.start()
    outside = tmp_path / "outside"
    outside.mkdir()
    (Exchange.objects.get().incoming_dir / "goods").symlink_to(outside)
    reply = one_c.call("file", body=b"<evil/>", filename="goods/goods.xml")
    assert reply.reason.startswith("недопустимое имя файла") and "за пределы" in reply.reason
    assert files_under(outside) == []


# --- zips ------------------------------------------------------------------------------------


def _zip_with_symlink() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("groups/groups.xml", "<x/>")
        link = zipfile.ZipInfo("goods/passwd")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    return buffer.getvalue()


@pytest.mark.parametrize("archive, reason", [
    (lambda: zip_bytes(entries={"groups/groups.xml": b"<x/>", "../../evil.xml": b"<evil/>"}), "«..» в пути"),
    (lambda: zip_bytes(entries={"groups/groups.xml": b"<x/>", "/tmp/evil.xml": b"<evil/>"}), "абсолютный путь"),
    (lambda: zip_bytes(entries={"groups/groups.xml": b"<x/>", "..\\evil.xml": b"<evil/>"}), "«..» в пути"),
    (_zip_with_symlink, "символическая ссылка"),
    (lambda: b"PK\x03\x04 not really a zip", "не zip-архив"),
])
def test_a_hostile_zip_is_refused_whole(one_c, tmp_path, archive, reason):
    one_c.start()
    assert {r.word for r in one_c.send("import.zip", archive())} == {"success"}

    reply = one_c.call("import", filename="groups/groups.xml")

    assert reply.word == "failure"
    assert reply.reason.startswith("обмен прерван: архив «import.zip»") and reason in reply.reason, reply.reason
    exchange = Exchange.objects.get()
    assert files_under(exchange.package_dir) == []  # not even its good entries
    assert [p for p in tmp_path.rglob("evil.xml")] == []
    assert not ImportSession.objects.exists()
    assert one_c.call("import", filename="groups/groups.xml").reason == reply.reason  # and the exchange stays failed


def test_a_zip_bomb_is_stopped_at_the_exchange_limit(one_c, settings):
    settings.ONEC_EXCHANGE_MAX_BYTES = 2_000_000
    bomb = zip_bytes(entries={f"goods/goods_{n}.xml": b"\0" * 1_000_000 for n in range(3)})
    assert len(bomb) < 20_000
    settings.ONEC_EXCHANGE_FILE_LIMIT = len(bomb)
    one_c.start()
    one_c.send("import.zip", bomb)

    reply = one_c.call("import", filename="goods/goods_0.xml")

    assert reply.word == "failure" and "больше лимита обмена" in reply.reason
    assert files_under(Exchange.objects.get().package_dir) == []
    assert not ImportSession.objects.exists()


def test_a_zip_with_too_many_files_is_refused(one_c, settings):
    settings.ONEC_EXCHANGE_MAX_FILES = 50
    one_c.start()
    one_c.send("import.zip", zip_bytes(entries={f"import_files/{n}.jpg": b"x" for n in range(60)}))

    reply = one_c.call("import", filename="import.xml")

    assert reply.word == "failure" and "больше файлов, чем осталось по лимиту обмена (49)" in reply.reason
    assert files_under(Exchange.objects.get().package_dir) == []


# --- sizes -----------------------------------------------------------------------------------


def test_an_oversized_exchange_is_cut_off(one_c, settings):
    settings.ONEC_EXCHANGE_MAX_BYTES = 2500
    one_c.start()
    assert [r.word for r in one_c.send("import.xml", b"a" * 2000)] == ["success", "success"]

    refused = one_c.send("offers.xml", b"b" * 1000)

    assert [r.word for r in refused] == ["failure"]
    assert refused[0].reason.startswith("обмен прерван: обмен больше лимита (2500 байт")
    exchange = Exchange.objects.get()
    assert files_under(exchange.incoming_dir) == ["import.xml"] and exchange.bytes_received == 2000
    assert one_c.call("file", body=b"<x/>", filename="x.xml").reason == refused[0].reason  # nothing more accepted
    assert one_c.call("import", filename="import.xml").reason == refused[0].reason
    assert not ImportSession.objects.exists()


def test_a_chunk_bigger_than_file_limit_is_refused(one_c):
    one_c.start()
    one_c.send("import.xml", b"a" * 500)

    reply = one_c.call("file", body=b"b" * 1001, filename="import.xml")

    assert reply.word == "failure" and "больше file_limit (1000 байт)" in reply.reason
    assert (Exchange.objects.get().incoming_dir / "import.xml").read_bytes() == b"a" * 500
