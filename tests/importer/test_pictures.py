"""Pictures survive the next exchange: copied into storage by content, found where exports put them.

The ``pictures`` fixture (tests/fixtures/onec/README.md) is a UT 11 package whose only goods file
sits one folder deeper (``goods/1/``) while its pictures sit in ``goods/import_files/`` and in the
data dir's own ``import_files/``; one picture is shared by two goods, and one has the same bytes as
another under a different name. Storage is a private ``MEDIA_ROOT`` per test; every save is counted.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage

from apps.products.models import ImportSession, Product, ProductImage
from apps.products.onec.synthetic import picture_png
from tests.conftest import ONEC_FIXTURES, catalog_state

pytestmark = pytest.mark.django_db

GOODS = "goods/1/goods_1_1_94000000-0000-4000-8000-0000000000f1.xml"
BALL, PUMP, NET, WHISTLE = (f"b9400000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3, 4))
RED, BLUE, BLUE_COPY = "goods/import_files/p1/red.png", "import_files/p2/blue.jpg", "import_files/p3/blue_copy.jpg"


def stored_name(data: bytes, ext: str) -> str:
    sha = hashlib.sha256(data).hexdigest()
    return f"products/{sha[:2]}/{sha}.{ext}"


RED_NAME = stored_name((ONEC_FIXTURES / "pictures" / RED).read_bytes(), "png")
BLUE_NAME = stored_name((ONEC_FIXTURES / "pictures" / BLUE).read_bytes(), "jpg")


@pytest.fixture
def media(settings, tmp_path):
    """A private MEDIA_ROOT; ``media.files()`` lists it, ``media.saves`` counts storage saves."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root

    class Media:
        saves: list[str] = []

        @staticmethod
        def files() -> set[str]:
            return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()

    original = FileSystemStorage.save

    def counted(storage, name, content, *args, **kwargs):
        Media.saves.append(name)
        return original(storage, name, content, *args, **kwargs)

    FileSystemStorage.save = counted
    yield Media
    FileSystemStorage.save = original


def pictures() -> dict[str, list[tuple[str, str]]]:
    """Each product's pictures in order: (where the package had it, its name in storage)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for row in ProductImage.objects.order_by("product__onec_id", "position").values_list(
            "product__onec_id", "path", "file"):
        found.setdefault(row[0], []).append(tuple(row[1:]))
    return found


def counts(session, entity: str) -> dict[str, int]:
    return {kind: n for kind, n in session.stats[entity].items() if n}


def edit_goods(data_dir: Path, old: str, new: str) -> None:
    path = data_dir / GOODS
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


EXPECTED_PICTURES = {
    BALL: [(RED, RED_NAME), (BLUE, BLUE_NAME)],
    PUMP: [(RED, RED_NAME)],  # the same file as the ball's
    NET: [(BLUE_COPY, BLUE_NAME)],  # other name, same bytes: the same stored file
}


def test_pictures_are_stored_once_by_content_and_found_up_the_folders(media, fixture_dir, run_import):
    session = run_import(fixture_dir("pictures"))

    assert session.status == ImportSession.Status.COMPLETED, session.error_message
    assert session.errors == []
    # Found relative to goods/1/ (no), then goods/ (red.png), then the data dir (blue.jpg, blue_copy.jpg).
    assert pictures() == EXPECTED_PICTURES
    assert media.files() == {RED_NAME, BLUE_NAME}
    assert sorted(media.saves) == sorted([RED_NAME, BLUE_NAME])
    assert session.stats["images"] == {"created": 4, "stored": 2}
    assert catalog_state()["products"] == {
        BALL: {"name": "Мяч <b>волейбольный</b>", "sku": "VB-1", "active": True, "category": None, "images": 2},
        PUMP: {"name": "Насос для мячей", "sku": "PUMP-1", "active": True, "category": None, "images": 1},
        NET: {"name": "Сетка для мячей", "sku": "NET-1", "active": True, "category": None, "images": 1},
        WHISTLE: {"name": "Свисток", "sku": "WH-1", "active": True, "category": None, "images": 0},
    }
    assert session.stats["pictures_seconds"] >= 0


def test_the_goods_files_own_folder_wins_over_a_parent(media, fixture_dir, run_import):
    data_dir = fixture_dir("pictures")
    nearer = data_dir / "goods/1/import_files/p1/red.png"
    nearer.parent.mkdir(parents=True)
    nearer.write_bytes(picture_png("b9400000-0000-4000-8000-0000000000aa"))

    run_import(data_dir)

    near = ("goods/1/import_files/p1/red.png", stored_name(nearer.read_bytes(), "png"))
    assert pictures()[BALL] == [near, (BLUE, BLUE_NAME)] and pictures()[PUMP] == [near]


def test_reimport_of_unchanged_pictures_copies_nothing(media, fixture_dir, run_import):
    run_import(fixture_dir("pictures"))
    before = pictures()
    media.saves.clear()

    # The next exchange: a fresh data dir with the same pictures, read in full (no "same package" shortcut).
    again = run_import(fixture_dir("pictures"), force=True)

    assert again.status == ImportSession.Status.COMPLETED and again.errors == []
    assert media.saves == []
    assert media.files() == {RED_NAME, BLUE_NAME}
    assert pictures() == before
    assert counts(again, "products") == {"unchanged": 4}
    assert "images" not in again.stats  # no row touched, no storage call


def test_a_product_that_changed_otherwise_reuses_the_stored_file(media, fixture_dir, run_import):
    run_import(fixture_dir("pictures"))
    media.saves.clear()
    data_dir = fixture_dir("pictures")
    edit_goods(data_dir, "Насос для мячей", "Насос для мячей ручной")

    session = run_import(data_dir)

    assert counts(session, "products") == {"updated": 1, "unchanged": 3}
    assert media.saves == [] and pictures() == EXPECTED_PICTURES


def test_new_bytes_under_the_same_name_reach_the_catalog(media, fixture_dir, run_import):
    run_import(fixture_dir("pictures"))
    media.saves.clear()
    data_dir = fixture_dir("pictures")
    new_red = picture_png("b9400000-0000-4000-8000-0000000000bb")
    (data_dir / RED).write_bytes(new_red)

    session = run_import(data_dir)

    new_name = stored_name(new_red, "png")
    assert session.errors == []
    assert media.saves == [new_name]
    assert pictures() == {**EXPECTED_PICTURES, BALL: [(RED, new_name), (BLUE, BLUE_NAME)], PUMP: [(RED, new_name)]}
    assert counts(session, "products") == {"updated": 2, "unchanged": 2}
    # The old file stays: storage is shared by content and nothing else is known to use it.
    assert media.files() == {RED_NAME, BLUE_NAME, new_name}


def test_a_missing_picture_is_an_item_error_keeps_old_pictures_and_is_retried(media, fixture_dir, run_import):
    # 1. A new product whose second picture is missing: written without pictures, with an error.
    first_dir = fixture_dir("pictures")
    (first_dir / BLUE).unlink()
    first = run_import(first_dir)
    assert first.status == ImportSession.Status.COMPLETED
    assert first.errors == [{"onec_id": BALL, "file": GOODS, "message":
                             "изображение 'import_files\\\\p2\\\\blue.jpg' не найдено в выгрузке "
                             "(товар сохраняет прежние изображения)"}]
    assert first.failed_items == 1
    assert pictures() == {PUMP: [(RED, RED_NAME)], NET: [(BLUE_COPY, BLUE_NAME)]}

    # 2. The next package carries it, the goods file is byte for byte the same: not hidden by the
    #    unchanged digest, the product gets its pictures.
    second = run_import(fixture_dir("pictures"))
    assert "unchanged_since" not in second.stats  # a package with failed items is never skipped
    assert second.errors == [] and pictures() == EXPECTED_PICTURES

    # 3. Missing again while the product changes: the product is updated, its pictures are kept.
    third_dir = fixture_dir("pictures")
    (third_dir / BLUE).unlink()
    (third_dir / RED).write_bytes(picture_png("b9400000-0000-4000-8000-0000000000cc"))
    edit_goods(third_dir, "Мяч &lt;b&gt;волейбольный&lt;/b&gt;", "Мяч волейбольный")
    third = run_import(third_dir)
    assert [e["onec_id"] for e in third.errors] == [BALL]
    assert Product.objects.get(onec_id=BALL).name == "Мяч волейбольный"
    new_red = stored_name((third_dir / RED).read_bytes(), "png")
    assert pictures() == {BALL: [(RED, RED_NAME), (BLUE, BLUE_NAME)], PUMP: [(RED, new_red)],
                          NET: [(BLUE_COPY, BLUE_NAME)]}


def test_escapes_are_refused(media, fixture_dir, run_import, tmp_path):
    # A path climbing out of the data dir from the goods file's folder: the whole package is refused.
    data_dir = fixture_dir("pictures")
    edit_goods(data_dir, "import_files/p1/red.png</Картинка>\n\t\t\t\t<Картинка>", "../../../outside.png</Картинка>"
               "\n\t\t\t\t<Картинка>")
    refused = run_import(data_dir)
    assert refused.status == ImportSession.Status.FAILED
    assert "путь к изображению вне каталога данных" in refused.error_message
    assert Product.objects.count() == 0 and media.saves == []

    # A picture that is a symlink to a file outside the data dir, and one that is not an image.
    data_dir = fixture_dir("pictures")
    outside = tmp_path / "secret.png"
    outside.write_bytes(picture_png("b9400000-0000-4000-8000-0000000000dd"))
    (data_dir / RED).unlink()
    (data_dir / RED).symlink_to(outside)
    (data_dir / BLUE_COPY).write_bytes(b"<html><script>alert(1)</script></html>")
    session = run_import(data_dir)
    assert session.status == ImportSession.Status.COMPLETED
    assert sorted((e["onec_id"], e["message"]) for e in session.errors) == [
        (BALL, "изображение 'import_files/p1/red.png': ссылка ведёт за пределы каталога данных"),
        (PUMP, "изображение 'import_files/p1/red.png': ссылка ведёт за пределы каталога данных"),
        (NET, "изображение './import_files/p3/blue_copy.jpg': не JPEG, PNG, GIF, WebP или BMP"),
    ]
    assert media.files() == set() and pictures() == {}


def test_pictures_outlive_the_data_dir(media, fixture_dir, run_import, settings, client):
    data_dir = fixture_dir("pictures")
    run_import(data_dir)
    shutil.rmtree(data_dir)  # the next exchange replaces it

    settings.SERVE_MEDIA = True  # dev: Django serves MEDIA_URL
    response = client.get(f"{settings.MEDIA_URL}{RED_NAME}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (ONEC_FIXTURES / "pictures" / RED).read_bytes()
    assert response["Content-Type"] == "image/png"

    settings.SERVE_MEDIA = False  # production: nginx or the storage serves media, not Django
    assert client.get(f"{settings.MEDIA_URL}{RED_NAME}").status_code == 404


def test_a_package_without_pictures_records_no_picture_phase(media, fixture_dir, run_import):
    session = run_import(fixture_dir("package_209"))
    assert session.status == ImportSession.Status.COMPLETED
    assert "pictures_seconds" not in session.stats and "images" not in session.stats
    assert media.files() == set()


def test_the_admin_shows_escaped_thumbnails(media, fixture_dir, run_import, admin_client, settings):
    run_import(fixture_dir("pictures"))
    ProductImage.objects.create(product=Product.objects.get(onec_id=WHISTLE), path="import_files/old.jpg",
                                position=0)  # a row from before pictures were copied (migration 0006)

    listing = admin_client.get("/admin/products/product/").content.decode()
    ball = Product.objects.get(onec_id=BALL)
    assert f'<img src="{settings.MEDIA_URL}{RED_NAME}" alt="Мяч &lt;b&gt;волейбольный&lt;/b&gt;"' in listing
    assert "<b>волейбольный" not in listing
    assert "нет файла" in listing  # the whistle's old row

    page = admin_client.get(f"/admin/products/product/{ball.pk}/change/").content.decode()
    assert f'<img src="{settings.MEDIA_URL}{RED_NAME}" alt="{RED}" width="160"' in page
    assert f'<img src="{settings.MEDIA_URL}{BLUE_NAME}" alt="{BLUE}" width="160"' in page


@pytest.mark.django_db(transaction=True)
def test_migration_keeps_old_path_rows_and_the_next_import_replaces_them(media, fixture_dir, run_import):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("products", "0005_importsession_source_exchange")], [("products", "0006_productimage_file")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        old = MigrationExecutor(connection).loader.project_state(before).apps
        product = old.get_model("products", "Product").objects.create(
            onec_id=PUMP, name="Насос для мячей", sku="PUMP-1", import_hash="stale-digest-of-the-old-import")
        old.get_model("products", "ProductImage").objects.create(product=product, path=RED, position=0)
        executor = MigrationExecutor(connection)
        executor.migrate(after)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)

    kept = ProductImage.objects.get()
    assert (kept.product.onec_id, kept.path, kept.file.name, kept.product.import_hash) == (PUMP, RED, "", "")

    run_import(fixture_dir("pictures"))
    assert pictures()[PUMP] == [(RED, RED_NAME)]
