"""Product pictures (``Картинка``): find each one in the package, fingerprint it, keep it in storage.

1C names a good's pictures in ``<Картинка>`` by a path such as ``import_files/ab/abcd….jpg``. The
next exchange replaces the data dir, and a changes-only package carries only the pictures that
changed, so the catalog must not point into the data dir: each picture is copied into Django's
storage (``default_storage``) under the SHA-256 of its bytes, ``products/ab/<sha256>.<ext>``. An
unchanged picture is never copied again, and one picture shared by many goods is stored once.

Two halves, so the slow part runs beside parsing:

* ``PictureFinder`` (the reader, in its thread or process): resolves the path and hashes the
  bytes. The good's change digest includes these hashes, so new bytes under an old name reach the
  catalog, and an unchanged good costs no storage call at all.
* ``PictureStore`` (the writer, in the batch's transaction): for goods that changed, copies the
  pictures storage does not hold yet and replaces the good's ``ProductImage`` rows.

Where a path points: exports write it relative to the goods file's folder (UT 11:
``goods/import_files/…`` beside ``goods/goods.xml``), but hand-made copies and some site modules
keep one ``import_files/`` at the top while the goods files sit in subfolders. So the path is
tried relative to the goods file's folder, then relative to each parent folder up to the data dir,
never above it; a file whose real path (symlinks followed) leaves the data dir is refused.
"""
from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from django.core.files import File
from django.core.files.storage import Storage, default_storage

from .bulk import fetch_rows, insert_rows
from .safexml import join_inside, picture_parts

STORAGE_PREFIX = "products"
_CHUNK = 1 << 20
# What a picture may be, by its first bytes (not by its name): a file 1C calls ``x.jpg`` that is
# really HTML or SVG would be served from the admin's origin, so only these raster formats are kept.
_SIGNATURES = (
    (b"\xff\xd8\xff", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)
_FINDER_MEMO = 4096  # pictures remembered per goods file (shared pictures are hashed once)
_STORED_MEMO = 50_000  # names the writer remembers as stored (~5 MB)


class Picture(NamedTuple):
    """One picture of a good, found in the package. A tuple, so it crosses to the reader process."""

    source: str  # where it was found, relative to the data dir (what the admin shows)
    sha256: str
    ext: str
    file: str  # absolute path in the data dir, read when the picture is copied

    @property
    def name(self) -> str:
        """Its name in storage: by content, so equal bytes share one file."""
        return f"{STORAGE_PREFIX}/{self.sha256[:2]}/{self.sha256}.{self.ext}"


def _kind(head: bytes) -> str | None:
    for signature, ext in _SIGNATURES:
        if head.startswith(signature):
            return ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


class PictureFinder:
    """Resolve and fingerprint the pictures one goods file names."""

    def __init__(self, data_dir: Path, rel: str) -> None:
        self.data_dir = data_dir
        self.real_root = os.path.realpath(data_dir)
        folder = list(PurePosixPath(rel).parent.parts)
        self.folders = [folder[:n] for n in range(len(folder), -1, -1)]  # the file's folder … the data dir
        self.memo: dict[str, tuple[Picture | None, str | None]] = {}

    def find(self, raw: str) -> tuple[Picture | None, str | None]:
        """``(picture, None)`` or ``(None, the per-item error)``; the raw path passed the pre-scan."""
        if raw not in self.memo:
            if len(self.memo) >= _FINDER_MEMO:
                self.memo.clear()
            self.memo[raw] = self._find(raw)
        return self.memo[raw]

    def _find(self, raw: str) -> tuple[Picture | None, str | None]:
        parts = picture_parts(raw)
        for folder in self.folders:
            joined = join_inside(folder, parts)
            if not joined:
                continue  # ``..`` would climb above the data dir from here
            rel = "/".join(joined)
            path = self.data_dir / rel
            if not path.is_file():
                continue
            if not os.path.realpath(path).startswith(self.real_root + os.sep):
                return None, f"изображение {raw!r}: ссылка ведёт за пределы каталога данных"
            return _fingerprint(path, rel, raw)
        return None, f"изображение {raw!r} не найдено в выгрузке (товар сохраняет прежние изображения)"


def _fingerprint(path: Path, rel: str, raw: str) -> tuple[Picture | None, str | None]:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            head = fh.read(_CHUNK)
            ext = _kind(head)
            if ext is None:
                return None, f"изображение {raw!r}: не JPEG, PNG, GIF, WebP или BMP"
            digest.update(head)
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        return None, f"изображение {raw!r}: не удалось прочитать ({exc.strerror or exc})"
    return Picture(rel, digest.hexdigest(), ext, str(path)), None


class PictureStore:
    """The writer's half: copy what storage lacks, then give changed goods their new picture rows."""

    def __init__(self, storage: Storage | None = None) -> None:
        from ..models import ProductImage  # here: the reader process imports this module without Django set up

        self.model = ProductImage
        self.storage = storage or default_storage
        self.stored: set[str] = set()  # names known to be in storage during this import
        self.seconds = 0.0
        self.stats: Counter = Counter()

    def replace(self, wanted: dict[int, list[Picture]]) -> None:
        """Give these (new or changed) products exactly these pictures, touching only changed lists."""
        if not wanted:
            return
        started = time.monotonic()
        current: dict[int, list[tuple[str, str]]] = {}
        for pk, _, path, file in sorted(fetch_rows(self.model, ["product_id", "position", "path", "file"],
                                                   "product_id", wanted)):
            current.setdefault(pk, []).append((path, file))
        changed = {pk: pictures for pk, pictures in wanted.items()
                   if [(p.source[:500], p.name) for p in pictures] != current.get(pk, [])}
        if changed:
            names = self._store({p.name: p for pictures in changed.values() for p in pictures})
            removed = self.model.objects.filter(product_id__in=list(changed)).delete()[0]
            rows = [(pk, p.source[:500], names[p.name], pos)
                    for pk, pictures in changed.items() for pos, p in enumerate(pictures)]
            insert_rows(self.model, ["product_id", "path", "file", "position"], rows)
            if removed:
                self.stats["deleted"] += removed
            if rows:
                self.stats["created"] += len(rows)
        self.seconds += time.monotonic() - started

    def _store(self, pictures: dict[str, Picture]) -> dict[str, str]:
        """``{name: stored name}``, copying each picture storage does not hold yet.

        A name a ``ProductImage`` row already uses is in storage (rows are written after the copy):
        one query per batch instead of an ``exists()`` per picture, which is a request on S3 & co."""
        if len(self.stored) > _STORED_MEMO:
            self.stored.clear()  # memory stays flat on huge catalogs; a forgotten name costs one query
        unknown = set(pictures) - self.stored
        if unknown:
            self.stored.update(name for (name,) in fetch_rows(self.model, ["file"], "file", unknown))
        names = {}
        for name, picture in pictures.items():
            if name not in self.stored:
                if self.storage.exists(name):
                    self.stats["reused"] += 1
                else:
                    with open(picture.file, "rb") as fh:
                        saved = self.storage.save(name, File(fh, name=name))
                    self.stats["stored"] += 1
                    names[name] = saved  # a backend may rename; the row keeps what it really saved
                self.stored.add(name)
            names.setdefault(name, name)
        return names
