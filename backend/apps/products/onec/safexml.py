"""The one place the importer opens XML: hardened parser settings and the pre-scan.

1C files are untrusted input. lxml is asked never to load a DTD, resolve an entity or touch the
network, and any document carrying a DOCTYPE is refused outright: a CommerceML export never has
one, so a DOCTYPE can only be an XXE or entity-expansion ("billion laughs") attempt.

The pre-scan streams every file of a package once before the first write. It proves each file is
well-formed, safe and a CommerceML document, checks every image path stays inside the data dir,
and counts the items — so a broken package is rejected whole and ``total_items`` is known up front.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator

from lxml import etree

from .errors import CatalogImportError
from .layout import PackageFile

ROOT_TAG = "КоммерческаяИнформация"
# Containers whose attribute СодержитТолькоИзменения says whether the file is a full export.
SECTION_TAGS = ("Классификатор", "Каталог", "ПакетПредложений", "ИзмененияПакетаПредложений")
# An "item" — the unit of progress — is one of these elements inside its list element. The parent
# check keeps e.g. a Склад inside an offer (stock) apart from a Склад in Склады (a warehouse).
ITEM_PARENTS = {
    "Группа": "Группы",
    "Свойство": "Свойства",
    "ТипЦены": "ТипыЦен",
    "Склад": "Склады",
    "Товар": "Товары",
    "Предложение": "Предложения",
}


def localname(tag: str) -> str:
    return tag.rpartition("}")[2]


def is_item(el) -> bool:
    parent = el.getparent()
    return parent is not None and localname(parent.tag) == ITEM_PARENTS.get(localname(el.tag))


def iter_events(pf: PackageFile, *, events: tuple[str, ...], tags: tuple[str, ...]) -> Iterator[tuple[str, object]]:
    """Stream ``(event, element)`` for the given local tag names (any namespace or none).

    The root element always comes first as a ``start`` event and is checked here: a document
    with a DOCTYPE, or one that is not CommerceML, never yields anything else.
    """
    parser = etree.iterparse(
        str(pf.path),
        events=tuple({"start", *events}),
        tag=[f"{{*}}{name}" for name in (ROOT_TAG, *tags)],
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        first = True
        for event, el in parser:
            if first:
                first = False
                docinfo = el.getroottree().docinfo
                if docinfo.doctype or docinfo.internalDTD is not None:
                    raise CatalogImportError("документ содержит DOCTYPE/сущности — такие файлы не принимаются "
                                             "(выгрузка 1С их не содержит)", file=pf.rel)
                if el.getparent() is not None or localname(el.tag) != ROOT_TAG:
                    raise CatalogImportError(f"это не документ CommerceML (корневой элемент <{localname(el.tag)}>)",
                                             file=pf.rel)
                continue
            if event in events:
                yield event, el
    except etree.XMLSyntaxError as exc:
        raise CatalogImportError(f"повреждённый или неполный XML ({exc.msg or exc})", file=pf.rel) from None
    except OSError as exc:
        raise CatalogImportError(f"не удалось прочитать файл ({exc.strerror or exc})", file=pf.rel) from None


def release(el) -> None:
    """Free a processed element and the already-processed siblings before it (keeps memory flat)."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def image_path(raw: str, pf: PackageFile, data_dir: Path) -> str:
    """The image's path relative to the data dir; refuses absolute paths and ``..`` escapes.

    Images are referenced relative to the file that names them (UT 11: ``goods/import_files/…``
    next to ``goods/goods.xml``; classic: ``import_files/…`` next to ``import.xml``). The path is
    resolved lexically only: the importer never opens image files.
    """
    candidate = PurePosixPath(raw.strip().replace("\\", "/"))
    if candidate.is_absolute() or (candidate.parts and ":" in candidate.parts[0]):  # /x, C:/x, file://x
        raise CatalogImportError(f"путь к изображению вне каталога данных: {raw!r}", file=pf.rel)
    parts: list[str] = list(PurePosixPath(pf.rel).parent.parts)
    for part in candidate.parts:
        if part == "..":
            if not parts:
                raise CatalogImportError(f"путь к изображению вне каталога данных: {raw!r}", file=pf.rel)
            parts.pop()
        elif part != ".":
            parts.append(part)
    if not parts:
        raise CatalogImportError(f"пустой путь к изображению: {raw!r}", file=pf.rel)
    return "/".join(parts)


@dataclass
class ScanResult:
    items: int = 0
    files: list[tuple[PackageFile, int]] = field(default_factory=list)


def prescan(files, data_dir: Path, *, on_file=None) -> ScanResult:
    """Validate every file of the package and count its items, writing nothing."""
    result = ScanResult()
    for pf in files:
        count = 0
        for _, el in iter_events(pf, events=("end",), tags=(*ITEM_PARENTS, "Картинка")):
            name = localname(el.tag)
            if name == "Картинка":
                if el.text and el.text.strip():
                    image_path(el.text, pf, data_dir)
                continue
            if is_item(el):
                count += 1
                if name != "Группа":  # groups nest: the parent group still needs its children
                    release(el)
        result.items += count
        result.files.append((pf, count))
        if on_file:
            on_file(pf, count)
    return result
