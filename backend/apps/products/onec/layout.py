"""Recognise how a 1C export is laid out in the data dir, and in which order to read its files.

Three layouts occur in the wild:

* ``ut11``    — 1C:УТ 11 "Обмен с сайтом" (CommerceML 3.x): one subfolder per kind of data
                (``groups/``, ``goods/``, ``offers/``…), each with ``NAME.xml`` or segments
                ``NAME_1_2_<guid>.xml``, sometimes one folder deeper.
* ``package`` — the 2.09 package: ``import___<guid>.xml``, ``offers___<guid>.xml``,
                ``prices___<guid>.xml``, ``rests___<guid>.xml``.
* ``classic`` — the 2.04–2.08 pair ``import*.xml`` + ``offers*.xml`` (e.g. ``import0_1.xml``).

Files are read classifier first, then goods, offers, prices and stock, because each kind refers
to the ones before it (a price names an offer and a price type).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import CatalogImportError

# kind -> reading order; several kinds may share a rank.
UT11_FOLDERS = {
    "groups": 0, "propertiesGoods": 1, "propertiesOffers": 1, "priceLists": 2, "storages": 2,
    "units": 2, "goods": 3, "offers": 4, "prices": 5, "rests": 6,
}
PREFIX_RANKS = {"import": 3, "offers": 4, "prices": 5, "rests": 6}
_PACKAGE_RE = re.compile(r"^(import|offers|prices|rests)___.*\.xml$", re.IGNORECASE)
_CLASSIC_RE = re.compile(r"^(import|offers)[^/]*\.xml$", re.IGNORECASE)
_MAX_DEPTH = 2  # <kind>/NAME.xml or <kind>/<sub>/NAME.xml


@dataclass(frozen=True)
class PackageFile:
    path: Path  # absolute
    rel: str  # relative to the data dir, for messages and error records
    kind: str
    rank: int
    size: int  # bytes, read once here: the "big package" decisions downstream use it


@dataclass(frozen=True)
class Package:
    data_dir: Path
    layout: str
    files: tuple[PackageFile, ...]

    @property
    def size(self) -> int:
        return sum(pf.size for pf in self.files)


def _natural_key(text: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def _xml_files(data_dir: Path) -> list[Path]:
    """All ``*.xml`` under the data dir, refusing anything that resolves outside it."""
    found = []
    for dirpath, dirnames, filenames in os.walk(data_dir):  # symlinked dirs are not followed
        dirnames.sort()
        for name in filenames:
            if not name.lower().endswith(".xml"):
                continue
            path = Path(dirpath) / name
            if not path.resolve().is_relative_to(data_dir):
                raise CatalogImportError("ссылка ведёт за пределы каталога данных", file=str(path.relative_to(data_dir)))
            found.append(path)
    return found


def discover_package(data_dir: Path | str) -> Package:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CatalogImportError(f"каталог данных 1С не найден: {data_dir}")
    data_dir = data_dir.resolve()
    paths = _xml_files(data_dir)
    if not paths:
        raise CatalogImportError(f"в каталоге данных нет XML-файлов выгрузки 1С: {data_dir}")

    rels = {path: path.relative_to(data_dir).as_posix() for path in paths}
    top_dirs = {rel.split("/")[0] for rel in rels.values() if "/" in rel}
    if top_dirs & UT11_FOLDERS.keys():
        layout, files = "ut11", [_ut11_file(path, rel) for path, rel in rels.items()]
    elif any(_PACKAGE_RE.match(rel) for rel in rels.values()):
        layout, files = "package", [_prefixed_file(path, rel, _PACKAGE_RE) for path, rel in rels.items()]
    elif any(_CLASSIC_RE.match(rel) for rel in rels.values()):
        layout, files = "classic", [_prefixed_file(path, rel, _CLASSIC_RE) for path, rel in rels.items()]
    else:
        raise CatalogImportError(
            "не удалось распознать выгрузку 1С: ожидались подпапки groups/, goods/, offers/… (УТ 11), "
            "файлы import___*.xml/offers___*.xml (пакет 2.09) или import*.xml/offers*.xml; найдено: "
            + ", ".join(sorted(rels.values())[:5])
        )
    files.sort(key=lambda f: (f.rank, _natural_key(f.rel)))
    return Package(data_dir=data_dir, layout=layout, files=tuple(files))


def _ut11_file(path: Path, rel: str) -> PackageFile:
    parts = rel.split("/")
    kind = parts[0]
    if kind not in UT11_FOLDERS or len(parts) - 1 > _MAX_DEPTH or len(parts) < 2:
        raise CatalogImportError("файл неизвестного вида в выгрузке УТ 11 (ожидались подпапки "
                                 + ", ".join(UT11_FOLDERS) + ")", file=rel)
    return PackageFile(path=path, rel=rel, kind=kind, rank=UT11_FOLDERS[kind], size=path.stat().st_size)


def _prefixed_file(path: Path, rel: str, pattern: re.Pattern) -> PackageFile:
    match = pattern.match(rel)
    if not match:
        raise CatalogImportError("файл неизвестного вида в выгрузке (ожидались import*, offers*, prices*, rests*)", file=rel)
    kind = match.group(1).lower()
    return PackageFile(path=path, rel=rel, kind=kind, rank=PREFIX_RANKS[kind], size=path.stat().st_size)
