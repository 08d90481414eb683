"""Find the files of a 1C export in the data dir, tell what each one carries, and order them.

A 1C export is a set of CommerceML documents (root ``КоммерческаяИнформация``), and every program
that writes one names and folders them its own way. Those seen so far:

* ``ut11``    — 1C:УТ 11 "Обмен с сайтом" (CommerceML 3.x): one subfolder per kind of data
                (``groups/``, ``goods/``, ``offers/``…), each with ``NAME.xml`` or segments
                ``NAME_1_2_<guid>.xml``, sometimes one folder deeper.
* ``package`` — the 2.09 package: ``import___<guid>.xml``, ``offers___<guid>.xml``,
                ``prices___<guid>.xml``, ``rests___<guid>.xml``.
* ``classic`` — the 2.04–2.08 pair ``import*.xml`` + ``offers*.xml`` (e.g. ``import0_1.xml``).
* ``bitrix``  — 1C-Bitrix exchange modules (3.x): a classifier ``import.xml`` at the root beside
                numbered subfolders ``goods/1/{import,offers,prices,rests}.xml``,
                ``properties/1/{import,offers}.xml``.
* ``other``   — any other naming.

So names decide nothing: they only give the session its ``layout`` label. What a file is — its
``kind`` — comes from its content: the sections under the root and what they carry.
``Классификатор`` with groups, properties, price types, warehouses or units; ``Каталог`` (goods);
``ПакетПредложений`` (or ``ИзмененияПакетаПредложений``) with price types, warehouses or offers, an
offers package being "offers", "prices" or "stock" by what its first ``Предложение`` holds. Files
are read classifier first, then goods, offers, prices and stock, because each kind refers to the
ones before it (a price names an offer and a price type); within a kind, in natural order of
their paths (``goods/2/`` before ``goods/10/``).

Telling costs a bounded read: the file's head is parsed (same hardened settings as the pre-scan)
only up to its first good or offer, at most ``PEEK_LIMIT`` bytes, and the name of its last section
is taken from its last ``TAIL_BYTES``. A file that is not CommerceML, or is an orders ``Документ``
(whose ``Товары`` the reader would take for goods), is refused here, naming it, before anything is
read further; one carrying nothing the catalog reads (an empty document) is kept and read last. The
pre-scan then validates every file completely.
"""
from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from .errors import CatalogImportError
from .safexml import PARSER_OPTIONS, check_document, is_item, localname

# kind -> reading order; several kinds share a rank. A kind refers only to kinds ranked before it.
RANKS = {
    "classifier": 0,  # a classifier whose parts were not seen (only its header, or cut by the limit)
    "groups": 0, "properties": 1, "price_types": 2, "warehouses": 2, "units": 2,
    "goods": 3, "offers": 4, "prices": 5, "stock": 6,
    "other": 7,  # CommerceML carrying nothing recognisable (an empty document): read last, harmless
}
# What a part of a section (a child of a root child) says about the file.
_PARTS = {
    ("Классификатор", "Группы"): "groups", ("Классификатор", "Свойства"): "properties",
    ("Классификатор", "ТипыЦен"): "price_types", ("Классификатор", "Склады"): "warehouses",
    ("Классификатор", "ЕдиницыИзмерения"): "units",
    # older schemas define price types and warehouses in the offers package
    ("ПакетПредложений", "ТипыЦен"): "price_types", ("ПакетПредложений", "Склады"): "warehouses",
    ("ПакетПредложений", "Предложения"): "offers",  # refined by its first Предложение
    ("ИзмененияПакетаПредложений", "Предложения"): "offers",
}
_SECTIONS = {"Классификатор": "classifier", "Каталог": "goods", "ПакетПредложений": None,
             "ИзмененияПакетаПредложений": None}  # an offers package's kind comes from its parts
# The last section of a file, when its head did not reach it: only these raise its kind.
_LAST_SECTION_KINDS = {"Каталог": "goods", "ПакетПредложений": "offers", "ИзмененияПакетаПредложений": "offers"}
_SECTION_END = re.compile(r"</(?:[^\s<>/:]+:)?(Классификатор|Каталог|ПакетПредложений|ИзмененияПакетаПредложений)\s*>")
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']""")

PEEK_CHUNK = 16 * 1024
# The first good or offer sits within the first few KiB of its section. A classifier may run to
# megabytes (thousands of groups or property values) before a Каталог: the head stops here, knowing
# the classifier's first parts, and the tail tells whether goods or offers follow.
PEEK_LIMIT = 64 * 1024
TAIL_BYTES = 16 * 1024  # the closing tags of the last section are in the last bytes


@dataclass(frozen=True)
class PackageFile:
    path: Path  # absolute
    rel: str  # relative to the data dir, for messages and error records
    kind: str  # what it carries, a key of RANKS
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


def discover_package(data_dir: Path | str) -> Package:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CatalogImportError(f"каталог данных 1С не найден: {data_dir}")
    data_dir = data_dir.resolve()
    paths = _xml_files(data_dir)
    if not paths:
        raise CatalogImportError(f"в каталоге данных нет XML-файлов выгрузки 1С: {data_dir}")
    files = []
    for path in paths:
        rel = path.relative_to(data_dir).as_posix()
        try:
            size = path.stat().st_size
            with open(path, "rb") as fh:
                kind = classify(fh, size=size, rel=rel)
        except OSError as exc:
            raise CatalogImportError(f"не удалось прочитать файл ({exc.strerror or exc})", file=rel) from None
        files.append(PackageFile(path=path, rel=rel, kind=kind, rank=RANKS[kind], size=size))
    files.sort(key=lambda f: (f.rank, _natural_key(f.rel)))
    return Package(data_dir=data_dir, layout=layout_name([f.rel for f in files]), files=tuple(files))


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


def _natural_key(text: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


# --- what a file carries ------------------------------------------------------------------------

def classify(fh: BinaryIO, *, size: int, rel: str) -> str:
    """The kind of the CommerceML document in ``fh`` (opened binary, at its start; ``size`` bytes).

    Reads at most ``PEEK_LIMIT`` + ``PEEK_CHUNK`` bytes of the head and ``TAIL_BYTES`` of the end.
    Raises ``CatalogImportError`` naming ``rel`` for a file that is not CommerceML: not XML, another
    root element, a DOCTYPE, or an orders document."""
    peek = _Peek(rel)
    parser = etree.XMLPullParser(events=("start", "end"), **PARSER_OPTIONS)
    head, chunk, read = b"", b"", 0
    try:
        while not peek.done and read < PEEK_LIMIT and (chunk := fh.read(PEEK_CHUNK)):
            if not read:
                head = chunk
            read += len(chunk)
            parser.feed(chunk)
            for event, el in parser.read_events():
                peek.see(event, el)
                if peek.done:
                    break
    except etree.XMLSyntaxError as exc:
        raise CatalogImportError(f"повреждённый или неполный XML ({exc.msg or exc})", file=rel) from None
    if not peek.root_seen:
        what = "пустой файл" if size == 0 else "не найден корневой элемент"
        raise CatalogImportError(f"это не документ CommerceML ({what})", file=rel)
    if not peek.root_ended:  # stopped early: a later section may carry a later kind
        tail = chunk  # the file's end, if the head read it all
        if read < size:
            start = max(read, size - TAIL_BYTES)
            fh.seek(start)
            # right after the head: keep its last chunk, a closing tag may straddle the two
            tail = (chunk if start == read else b"") + fh.read(TAIL_BYTES)
        last = _last_section(tail, encoding=_encoding(head))
        if last in _LAST_SECTION_KINDS:
            peek.kinds.append(_LAST_SECTION_KINDS[last])
    # A file carrying several kinds (the classic import.xml: classifier and goods) is read after
    # everything each of them may refer to, i.e. at the rank of its latest kind.
    return max(peek.kinds, key=lambda kind: (RANKS[kind], kind != "classifier"), default="other")


class _Peek:
    """Follows the parse events of a file's head and notes the kinds of data it carries."""

    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.kinds: list[str] = []
        self.root_seen = self.root_ended = self.done = False

    def see(self, event: str, el) -> None:
        parent = el.getparent()
        if parent is None:  # the root
            if event == "start":
                check_document(el, self.rel)  # CommerceML, no DOCTYPE
                self.root_seen = True
            else:
                self.root_ended = self.done = True  # the whole file was read
            return
        name = localname(el.tag)
        grandparent = parent.getparent()
        if grandparent is None:  # a section
            if event == "start":
                if name == "Документ":
                    # An order (or another business document): its Товары would be read as goods.
                    raise CatalogImportError("это документ CommerceML (<Документ>, например заказ), а не данные "
                                             "каталога: в выгрузке каталога такие файлы не принимаются", file=self.rel)
                if kind := _SECTIONS.get(name):
                    self.kinds.append(kind)
            return
        if event == "start":
            if grandparent.getparent() is None and (kind := _PARTS.get((localname(parent.tag), name))):
                self.kinds.append(kind)
        elif is_item(el):  # the first good or offer has ended
            if name == "Предложение":
                self.kinds.append(_offer_kind({localname(child.tag) for child in el}))
            self.done = True


def _offer_kind(children: set[str]) -> str:
    """An offer with a name describes the offer (the reader's ``has_data``); one with only ``Ид``
    and prices or stock updates an offer described elsewhere, so it must be read after it."""
    if "Наименование" in children:
        return "offers"
    if "Цены" in children:
        return "prices"
    if children & {"Остатки", "Склад", "Количество"}:
        return "stock"
    return "offers"


def _encoding(head: bytes) -> str | None:
    """The document's encoding, if the tail can be searched in it byte-wise (not UTF-16/32)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    match = _DECLARED_ENCODING.match(head)
    name = match.group(1).decode("ascii") if match else "utf-8"
    try:
        codec = codecs.lookup(name)
    except LookupError:
        return None
    return None if codec.name.startswith(("utf-16", "utf-32")) else codec.name


def _last_section(tail: bytes, *, encoding: str | None) -> str | None:
    """The local name of the last section closed in ``tail``, the file's last bytes."""
    if encoding is None:
        return None
    found = _SECTION_END.findall(tail.decode(encoding, errors="ignore"))
    return found[-1] if found else None


# --- the layout label ---------------------------------------------------------------------------

UT11_FOLDERS = ("groups", "propertiesGoods", "propertiesOffers", "priceLists", "storages", "units",
                "goods", "offers", "prices", "rests")
_PACKAGE_RE = re.compile(r"^(import|offers|prices|rests)___.*\.xml$", re.IGNORECASE)
_CLASSIC_RE = re.compile(r"^(import|offers)[^/]*\.xml$", re.IGNORECASE)
_NUMBERED_RE = re.compile(r"^[^/]+/\d+/[^/]+$")


def layout_name(rels: list[str]) -> str:
    """How the export names its files (see the module docstring): for the session, not for reading."""
    parts = [rel.split("/") for rel in rels]
    if all(len(p) > 1 and p[0] in UT11_FOLDERS and p[-1].lower().startswith(p[0].lower()) for p in parts):
        return "ut11"
    if all(_PACKAGE_RE.match(rel) for rel in rels):
        return "package"
    if all(_CLASSIC_RE.match(rel) for rel in rels):
        return "classic"
    if any(_NUMBERED_RE.match(rel) for rel in rels) and all("/" not in rel or _NUMBERED_RE.match(rel) for rel in rels):
        return "bitrix"
    return "other"
