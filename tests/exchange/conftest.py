"""Playing 1C's side of the site exchange against the real view, database and Redis.

``OneC`` sends what 1C sends: HTTP Basic on every call, the cookie from ``checkauth`` back on every
later one, files in chunks of the ``file_limit`` the site announced, and ``mode=import`` again for
as long as the site answers ``progress``.
"""
from __future__ import annotations

import base64
import io
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Permission
from django_redis import get_redis_connection

from apps.products.locking import LOCK_KEY

URL = "/1c/exchange/"
PASSWORD = "s3cret-1c-Пароль"


@dataclass
class Reply:
    status: int
    lines: list[str]
    seconds: float

    @property
    def word(self) -> str:
        return self.lines[0] if self.lines else ""

    @property
    def reason(self) -> str:
        return "\n".join(self.lines[1:])


class OneC:
    def __init__(self, client, *, username: str, password: str = PASSWORD, url: str = URL):
        self.client = client
        self.username, self.password, self.url = username, password, url
        self.file_limit: int | None = None
        self.zip: bool | None = None
        self.replies: list[tuple[str, Reply]] = []

    def call(self, mode: str, *, body: bytes | None = None, kind: str = "catalog", **params) -> Reply:
        query = urlencode({"type": kind, "mode": mode, **params})
        auth = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        started = time.monotonic()
        if body is None:
            response = self.client.get(f"{self.url}?{query}", HTTP_AUTHORIZATION=f"Basic {auth}")
        else:
            response = self.client.post(f"{self.url}?{query}", data=body, content_type="application/octet-stream",
                                        HTTP_AUTHORIZATION=f"Basic {auth}")
        seconds = time.monotonic() - started
        charset = response.charset or "utf-8"
        assert charset == "windows-1251", response["Content-Type"]
        reply = Reply(response.status_code, response.content.decode(charset).split("\n"), seconds)
        self.replies.append((mode, reply))
        return reply

    # --- the conversation ---

    def checkauth(self) -> Reply:
        reply = self.call("checkauth")
        if reply.word == "success":
            _word, name, value = reply.lines
            self.client.cookies[name] = value
        return reply

    def init(self) -> Reply:
        reply = self.call("init")
        settings_ = dict(line.split("=", 1) for line in reply.lines)
        self.zip, self.file_limit = settings_["zip"] == "yes", int(settings_["file_limit"])
        return reply

    def start(self) -> None:
        assert self.checkauth().word == "success"
        self.init()

    def send(self, name: str, data: bytes) -> list[Reply]:
        """One file, cut into chunks of at most ``file_limit`` bytes, as 1C cuts it."""
        chunks = [data[i:i + self.file_limit] for i in range(0, len(data), self.file_limit)] or [b""]
        return [self.call("file", body=chunk, filename=name) for chunk in chunks]

    def send_dir(self, package: Path) -> int:
        """Every file of a package, with its relative name; returns how many requests that took."""
        requests = 0
        for path in sorted(p for p in package.rglob("*") if p.is_file()):
            replies = self.send(path.relative_to(package).as_posix(), path.read_bytes())
            assert [r.word for r in replies] == ["success"] * len(replies), [r.lines for r in replies]
            requests += len(replies)
        return requests

    def import_until_done(self, filename: str, *, timeout: float = 120) -> tuple[Reply, list[Reply]]:
        """Ask ``mode=import`` again while the site says ``progress``; the final reply and the progress ones."""
        deadline = time.monotonic() + timeout
        progress = []
        while True:
            reply = self.call("import", filename=filename)
            if reply.word != "progress":
                return reply, progress
            progress.append(reply)
            assert time.monotonic() < deadline, f"still in progress after {timeout} s: {reply.lines}"


def zip_bytes(package: Path | None = None, *, entries: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        if package is not None:
            for path in sorted(p for p in package.rglob("*") if p.is_file()):
                zf.write(path, path.relative_to(package).as_posix())
        for name, data in (entries or {}).items():
            zf.writestr(name, data)
    return buffer.getvalue()


def natural_catalog() -> dict[str, list[str]]:
    """The catalog by 1C Ид instead of primary keys, so imports into fresh tables compare equal."""
    from apps.products.models import Category, Offer, Price, Product, ProductImage, Stock

    views = {
        Category: ("onec_id", "name", "parent__onec_id", "is_active"),
        Product: ("onec_id", "name", "sku", "barcode", "description", "unit", "category__onec_id",
                  "brand__onec_id", "properties", "is_active"),
        ProductImage: ("product__onec_id", "path", "file", "position"),  # file: the picture arrived and was stored
        Offer: ("onec_id", "product__onec_id", "name", "sku", "characteristics", "quantity", "is_active"),
        Price: ("offer__onec_id", "price_type__onec_id", "value", "currency"),
        Stock: ("offer__onec_id", "warehouse__onec_id", "quantity"),
    }
    return {model.__name__: sorted(map(repr, model.objects.values_list(*fields))) for model, fields in views.items()}


def wait_for_background_imports(timeout: float = 60) -> None:
    """Join the threads ``catalog_import_submit`` started: they release the lock after the session is final."""
    for thread in threading.enumerate():
        if thread.name.startswith("catalog-import-"):
            thread.join(timeout)
            assert not thread.is_alive(), f"{thread.name} still running after {timeout} s"


@pytest.fixture
def redis_conn():
    return get_redis_connection("default")


@pytest.fixture(autouse=True)
def clean_exchange_state(redis_conn):
    """Every test starts with the import lock free and no exchange cookies or login counters."""
    def clean():
        redis_conn.delete(LOCK_KEY)
        for key in redis_conn.scan_iter("onec_exchange:*"):
            redis_conn.delete(key)

    clean()
    yield
    wait_for_background_imports()
    clean()


@pytest.fixture(autouse=True)
def exchange_settings(settings, tmp_path):
    settings.ONEC_EXCHANGE_DIR = tmp_path / "exchange"
    settings.ONEC_EXCHANGE_FILE_LIMIT = 1000  # the fixtures' files go in several chunks
    settings.ONEC_EXCHANGE_POLL = 0.5
    return settings


def make_exchange_user(django_user_model, username: str = "1c-exchange", *, permitted: bool = True):
    """What the operator docs ask for: not staff, only the permission to run imports."""
    user = django_user_model.objects.create_user(username, password=PASSWORD)
    if permitted:
        user.user_permissions.add(Permission.objects.get(content_type__app_label="products",
                                                         codename="run_catalog_import"))
    return user


@pytest.fixture
def exchange_user(django_user_model):
    return make_exchange_user(django_user_model)


@pytest.fixture
def one_c(client, exchange_user):
    return OneC(client, username=exchange_user.username)
