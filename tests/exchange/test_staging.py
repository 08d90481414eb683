"""The exchange's folders on disk, without HTTP: names, chunk rollback, all-or-nothing unpacking."""
from __future__ import annotations

import io
import zipfile

import pytest

from apps.onec_exchange import staging

from .conftest import zip_bytes


@pytest.mark.parametrize("raw, expected", [
    ("import.xml", "import.xml"),
    ("goods/goods_1_2_9f1e2d3c.xml", "goods/goods_1_2_9f1e2d3c.xml"),
    ("import_files\\ab\\cd.jpg", "import_files/ab/cd.jpg"),  # a Windows client's separators
    ("Картинки/мяч №1.jpg", "Картинки/мяч №1.jpg"),
    ("a..b.xml", "a..b.xml"),
])
def test_plain_relative_names_are_kept(raw, expected):
    assert staging.safe_name(raw) == expected


def test_a_refused_chunk_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "goods" / "goods.xml"
    staging.chunk_append(path, io.BytesIO(b"first"), limit=10)

    with pytest.raises(staging.ChunkTooBig):
        staging.chunk_append(path, io.BytesIO(b"x" * 11), limit=10)

    assert path.read_bytes() == b"first"


def test_a_request_broken_mid_body_leaves_no_trace(tmp_path):
    class Broken(io.BytesIO):
        def read(self, size=-1):
            if self.tell():
                raise OSError("client went away")
            return super().read(4)

    path = tmp_path / "import.xml"
    staging.chunk_append(path, io.BytesIO(b"head"), limit=100)
    with pytest.raises(OSError):
        staging.chunk_append(path, Broken(b"tail-tail"), limit=100)
    assert path.read_bytes() == b"head"


def test_a_zip_is_unpacked_keeping_subfolders_and_replacing_older_files(tmp_path):
    target = tmp_path / "package"
    (target / "goods").mkdir(parents=True)
    (target / "goods" / "goods.xml").write_bytes(b"old")
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes(entries={"goods/goods.xml": b"new", "goods/import_files/ab/c.jpg": b"jpg"}))

    members = staging.zip_unpack(archive, target, max_bytes=100, max_files=10)

    assert {(m.name, m.size) for m in members} == {("goods/goods.xml", 3), ("goods/import_files/ab/c.jpg", 3)}
    assert (target / "goods" / "goods.xml").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip", "package"]  # no scratch folder left


def test_names_a_russian_windows_archiver_wrote_in_cp866_are_read_right(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        info = zipfile.ZipInfo("import_files/x.jpg")
        zf.writestr(info, b"jpg")
    raw = buffer.getvalue().replace(b"import_files/x.jpg", "import_files/я.jpg".encode("cp866").ljust(18, b"_"))
    archive = tmp_path / "a.zip"
    archive.write_bytes(raw)

    (member,) = staging.zip_unpack(archive, tmp_path / "package", max_bytes=100, max_files=10)

    assert member.name == "import_files/я.jpg"


def test_a_bad_entry_late_in_the_zip_keeps_even_the_good_ones_out(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes(entries={"groups/groups.xml": b"<x/>", "goods/goods.xml": b"<x/>",
                                           "goods": b"a file where a folder is"}))
    target = tmp_path / "package"
    target.mkdir()
    (target / "offers").write_bytes(b"a file")
    conflict = tmp_path / "b.zip"
    conflict.write_bytes(zip_bytes(entries={"groups/groups.xml": b"<x/>", "offers/offers.xml": b"<x/>"}))

    with pytest.raises(staging.BadArchive):
        staging.zip_unpack(archive, target, max_bytes=1000, max_files=10)
    with pytest.raises(staging.BadArchive, match="в пакете уже есть файл offers"):
        staging.zip_unpack(conflict, target, max_bytes=1000, max_files=10)

    assert sorted(p.name for p in target.iterdir()) == ["offers"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip", "b.zip", "package"]


def test_an_encrypted_entry_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("import.xml", b"<x/>")
    raw = bytearray(buffer.getvalue())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):  # set the "encrypted" flag in both headers
        at = raw.find(header)
        flag_at = at + (6 if header == b"PK\x03\x04" else 8)
        raw[flag_at] |= 0x1
    archive = tmp_path / "a.zip"
    archive.write_bytes(bytes(raw))

    with pytest.raises(staging.BadArchive, match="зашифрованный"):
        staging.zip_unpack(archive, tmp_path / "package", max_bytes=100, max_files=10)


def test_moving_into_the_package_leaves_incoming_clean(tmp_path):
    incoming, package = tmp_path / "incoming", tmp_path / "package"
    for name in ("goods/goods.xml", "goods/import_files/ab/c.jpg", "offers.xml"):
        (incoming / name).parent.mkdir(parents=True, exist_ok=True)
        (incoming / name).write_bytes(name.encode())

    staging.pending_move(incoming, package, ["goods/goods.xml", "goods/import_files/ab/c.jpg", "offers.xml"])

    assert sorted(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file()) == [
        "goods/goods.xml", "goods/import_files/ab/c.jpg", "offers.xml"]
    assert list(incoming.iterdir()) == []


def test_only_folders_inside_the_root_are_removed(tmp_path):
    root = tmp_path / "exchange"
    inside, outside = root / "20261127-120000-abcd", tmp_path / "elsewhere"
    inside.mkdir(parents=True)
    outside.mkdir()

    assert staging.folder_remove(outside, root=root) is False
    assert staging.folder_remove(root, root=root) is False
    assert staging.folder_remove(inside, root=root) is True
    assert outside.is_dir() and root.is_dir() and not inside.exists()
