"""The exchange's folders on disk: safe names, appended chunks, zips unpacked all-or-nothing.

Nothing here trusts a name 1C (or anyone holding its cookie) sends: a name is a relative,
"/"-separated path of plain components; absolute paths, ``..``, drive letters, control
characters and anything resolving outside the folder are refused before a byte is written.
A zip is checked entry by entry (names, no links or devices, not encrypted, declared sizes and
count within the exchange's limits), then extracted into a scratch folder while the real
decompressed bytes are counted — a zip bomb lying about its sizes is stopped at the limit — and
moved into place only when every entry made it.
"""
from __future__ import annotations

import os
import shutil
import stat
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

COPY_BLOCK = 1 << 16
MAX_NAME_LENGTH = 1000
MAX_DEPTH = 10  # goods/import_files/ab/cd.jpg is 4 deep
_UTF8_NAMES = 0x800  # zip flag: the entry name is UTF-8 (else Windows writes it in the OEM code page)
_ENCRYPTED = 0x1


class UnsafeName(ValueError):
    """A file name that is not a plain relative path inside the exchange's folder."""


class ChunkTooBig(Exception):
    """The request body is larger than the chunk limit announced to 1C."""


class BadArchive(Exception):
    """A zip that is broken, hostile or over the exchange's limits; nothing of it was kept."""


def safe_name(raw: str) -> str:
    """The relative path 1C means by ``raw``, or ``UnsafeName``. Windows separators are accepted."""
    name = (raw or "").replace("\\", "/")
    if not name:
        raise UnsafeName("пустое имя файла")
    if len(name) > MAX_NAME_LENGTH:
        raise UnsafeName(f"имя длиннее {MAX_NAME_LENGTH} символов")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise UnsafeName("управляющие символы в имени")
    if name.startswith("/"):
        raise UnsafeName("абсолютный путь")
    if ":" in name:
        raise UnsafeName("двоеточие в имени (диск Windows или поток NTFS)")
    parts = name.split("/")
    if ".." in parts:
        raise UnsafeName("«..» в пути")
    if any(part in ("", ".") for part in parts):
        raise UnsafeName("пустая часть пути или «.»")
    if len(parts) > MAX_DEPTH:
        raise UnsafeName(f"вложенность больше {MAX_DEPTH}")
    if any(len(part.encode("utf-8", "surrogatepass")) > 255 for part in parts):
        raise UnsafeName("часть пути длиннее 255 байт")
    return name


def path_inside(root: Path, name: str) -> Path:
    """``root / name`` for a name ``safe_name`` accepted, checked again after resolving links."""
    path = root / name
    if not path.resolve().is_relative_to(root.resolve()):
        raise UnsafeName("путь ведёт за пределы папки обмена")
    return path


def chunk_append(path: Path, stream, *, limit: int) -> int:
    """Append ``stream`` to ``path`` and return the bytes written; all or nothing.

    More than ``limit`` bytes (``ChunkTooBig``) or any error while reading the request truncates
    the file back to what it was, so a refused chunk leaves no trace.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        start = fh.tell()
        written = 0
        try:
            while block := stream.read(COPY_BLOCK):
                written += len(block)
                if written > limit:
                    raise ChunkTooBig(f"часть файла больше {limit} байт (file_limit)")
                fh.write(block)
        except BaseException:
            fh.truncate(start)
            raise
    return written


@dataclass(frozen=True)
class Member:
    name: str
    size: int


def zip_unpack(archive: Path, target: Path, *, max_bytes: int, max_files: int) -> list[Member]:
    """Unpack ``archive`` into ``target`` (existing files of the same name are replaced).

    ``max_bytes``/``max_files`` are what the exchange may still take. Raises ``BadArchive`` with a
    reason; then nothing of the archive is in ``target``.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadArchive(f"не zip-архив или архив повреждён ({exc})") from exc
    scratch = target.parent / f".unpack-{uuid.uuid4().hex}"
    try:
        with zf:
            members = _checked_members(zf, max_bytes=max_bytes, max_files=max_files)
            extracted = 0
            for info, name in members:
                dest = path_inside(scratch, name)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(dest, "wb") as out:
                    while block := src.read(COPY_BLOCK):
                        extracted += len(block)
                        if extracted > max_bytes:
                            raise BadArchive(f"распакованный архив больше лимита обмена ({max_bytes} байт)")
                        out.write(block)
            names = list(dict.fromkeys(name for _info, name in members))  # a repeated entry: the last one wins
            for name in names:
                _check_placeable(target, name)
            done = []
            for name in names:
                final = path_inside(target, name)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(scratch / name, final)
                done.append(Member(name=name, size=final.stat().st_size))
            return done
    except UnsafeName as exc:
        raise BadArchive(f"недопустимое имя в архиве: {exc}") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as exc:
        raise BadArchive(f"архив не распакован ({exc.__class__.__name__}: {exc})") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _check_placeable(target: Path, name: str) -> None:
    """Refuse before moving anything when ``name`` would need a folder where a file is, or vice versa."""
    path = target
    for part in name.split("/")[:-1]:
        path = path / part
        if path.exists() and not path.is_dir():
            raise BadArchive(f"«{name}»: в пакете уже есть файл {path.relative_to(target).as_posix()}")
    if (target / name).is_dir():
        raise BadArchive(f"«{name}»: в пакете уже есть папка с таким именем")


def _checked_members(zf: zipfile.ZipFile, *, max_bytes: int, max_files: int) -> list[tuple[zipfile.ZipInfo, str]]:
    members = []
    declared = 0
    for info in zf.infolist():
        kind = stat.S_IFMT(info.external_attr >> 16)
        raw = info.filename
        if not info.flag_bits & _UTF8_NAMES:
            try:  # zipfile read it as cp437; a Russian Windows archiver wrote cp866
                raw = raw.encode("cp437").decode("cp866")
            except (UnicodeEncodeError, UnicodeDecodeError):
                pass
        if kind == stat.S_IFLNK:
            raise BadArchive(f"символическая ссылка в архиве: {raw}")
        if info.is_dir():
            safe_name(raw.rstrip("/"))
            continue
        if kind not in (0, stat.S_IFREG):
            raise BadArchive(f"в архиве не обычный файл: {raw}")
        if info.flag_bits & _ENCRYPTED:
            raise BadArchive(f"зашифрованный файл в архиве: {raw}")
        members.append((info, safe_name(raw)))
        declared += info.file_size
        if len(members) > max_files:
            raise BadArchive(f"в архиве больше файлов, чем осталось по лимиту обмена ({max_files})")
        if declared > max_bytes:
            raise BadArchive(f"распакованный архив больше лимита обмена ({max_bytes} байт)")
    return members


def pending_move(incoming: Path, package: Path, names: list[str]) -> None:
    """Move the named files from ``incoming`` into ``package`` (replacing older versions)."""
    for name in names:
        source = incoming / name
        if not source.is_file():
            continue  # an archive already unpacked and removed, or a file refused mid-way
        final = path_inside(package, name)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, final)
    for dirpath, _dirnames, _filenames in sorted(os.walk(incoming), reverse=True):
        if Path(dirpath) != incoming and not os.listdir(dirpath):
            os.rmdir(dirpath)  # leave incoming/ as clean as it started


def folder_remove(folder: Path, *, root: Path) -> bool:
    """Delete an exchange's folder if it really is one inside ``root``; False if it was not touched."""
    folder, root = folder.resolve(), root.resolve()
    if folder == root or not folder.is_relative_to(root):
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True
