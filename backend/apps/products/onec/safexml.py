"""The importer's XML safety: the hardened parser settings every parse uses (the layout's peek at
each file's head, the pre-scan, the reader), the document check, and the pre-scan.

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
from typing import TYPE_CHECKING, Callable, Iterator

from lxml import etree

from .errors import CatalogImportError

if TYPE_CHECKING:  # layout itself parses with PARSER_OPTIONS and check_document
    from .layout import PackageFile

ROOT_TAG = "КоммерческаяИнформация"
# Containers whose attribute СодержитТолькоИзменения says whether the file is a full export.
SECTION_TAGS = ("Каталог", "ПакетПредложений", "ИзмененияПакетаПредложений")
# What is streamed. Goods and offers can number millions, so each is handled as it ends and then
# freed. Reference data (groups, properties, price types, warehouses) is small and is handled when
# its container ends. Nothing else reaches Python: a stock ``Склад`` inside an offer, a good's
# ``Группы`` and every other element stay inside lxml.
STREAMED_TAGS = ("Классификатор", "ТипыЦен", "Склады", "Товар", "Предложение")
# An "item" — the unit of progress — is one good, one offer, or one of these in its container.
REFERENCE_ITEMS = {"Свойства": "Свойство", "ТипыЦен": "ТипЦены", "Склады": "Склад"}
_ITEM_PARENTS = {"Товар": "Товары", "Предложение": "Предложения"}
_REFERENCE_PARENTS = ("Классификатор", "ПакетПредложений")
# Every parse of a package file (the layout's peek, the pre-scan, the reader) uses these.
PARSER_OPTIONS = dict(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False,
                      remove_comments=True, remove_pis=True)


def localname(tag: str) -> str:
    return tag.rpartition("}")[2]


def parent_name(el) -> str:
    parent = el.getparent()
    return localname(parent.tag) if parent is not None else ""


def is_item(el) -> bool:
    """A good in ``Товары`` or an offer in ``Предложения`` (not, say, a nested look-alike)."""
    return parent_name(el) == _ITEM_PARENTS.get(localname(el.tag))


def is_reference_container(el) -> bool:
    """``ТипыЦен``/``Склады`` directly in a classifier or offers package (older schemas put them in
    ``ПакетПредложений``), as opposed to anything nested in an offer."""
    return parent_name(el) in _REFERENCE_PARENTS


def _count_reference_items(el) -> int:
    name = localname(el.tag)
    ns = el.tag[: el.tag.find("}") + 1]
    if name == "Классификатор":
        count = 0
        for groups in el.iterchildren(ns + "Группы"):
            count += sum(1 for _ in groups.iter(ns + "Группа"))
        for props in el.iterchildren(ns + "Свойства"):
            count += sum(1 for _ in props.iterchildren(ns + "Свойство"))
        return count
    if is_reference_container(el):
        return sum(1 for _ in el.iterchildren(ns + REFERENCE_ITEMS[name]))
    return 0


def iter_events(pf: PackageFile, *, tags: tuple[str, ...]) -> Iterator[object]:
    """Stream the elements with these local names (any namespace or none) as each one ends.

    Before the first element is handed out, the document itself is checked: one with a DOCTYPE,
    or one that is not CommerceML, never yields anything.
    """
    parser = etree.iterparse(
        str(pf.path),
        events=("end",),
        tag=[f"{{*}}{name}" for name in (ROOT_TAG, *tags)],
        **PARSER_OPTIONS,
    )
    try:
        checked = False
        for _, el in parser:
            if not checked:
                check_document(el, pf.rel)
                checked = True
            if el.getparent() is not None:  # the root's own end is the end of the file
                yield el
        if not checked:  # no element matched, not even the root: another document (``<x/>``), not an empty one
            check_document(parser.root, pf.rel)
    except etree.XMLSyntaxError as exc:
        raise CatalogImportError(f"повреждённый или неполный XML ({exc.msg or exc})", file=pf.rel) from None
    except OSError as exc:
        raise CatalogImportError(f"не удалось прочитать файл ({exc.strerror or exc})", file=pf.rel) from None


def check_document(el, rel: str) -> None:
    """Refuse a document with a DOCTYPE or whose root is not CommerceML (``el``: any element of it)."""
    tree = el.getroottree()
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise CatalogImportError("документ содержит DOCTYPE/сущности — такие файлы не принимаются "
                                 "(выгрузка 1С их не содержит)", file=rel)
    root = tree.getroot()
    if localname(root.tag) != ROOT_TAG:
        raise CatalogImportError(f"это не документ CommerceML (корневой элемент <{localname(root.tag)}>)",
                                 file=rel)


def release(el) -> None:
    """Free a processed element and the already-processed siblings before it (keeps memory flat)."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def picture_parts(raw: str) -> list[str]:
    """The parts of a ``Картинка`` path as 1C writes it (Windows separators too), ``.`` dropped."""
    return [part for part in PurePosixPath(raw.strip().replace("\\", "/")).parts if part != "."]


def join_inside(folder, parts: list[str]) -> list[str] | None:
    """``folder`` + ``parts`` resolved lexically (both relative to the data dir); None when a ``..``
    would climb above the data dir."""
    out = list(folder)
    for part in parts:
        if part == "..":
            if not out:
                return None
            out.pop()
        else:
            out.append(part)
    return out


def image_path(raw: str, pf: PackageFile, data_dir: Path) -> str:
    """The image's path relative to the data dir; refuses absolute paths and ``..`` escapes.

    Images are referenced relative to the file that names them (UT 11: ``goods/import_files/…``
    next to ``goods/goods.xml``; classic: ``import_files/…`` next to ``import.xml``). The path is
    resolved lexically only: the pre-scan never opens image files (``pictures.py`` finds them).
    """
    candidate = PurePosixPath(raw.strip().replace("\\", "/"))
    if candidate.is_absolute() or (candidate.parts and ":" in candidate.parts[0]):  # /x, C:/x, file://x
        raise CatalogImportError(f"путь к изображению вне каталога данных: {raw!r}", file=pf.rel)
    parts = join_inside(PurePosixPath(pf.rel).parent.parts, picture_parts(raw))
    if parts is None:
        raise CatalogImportError(f"путь к изображению вне каталога данных: {raw!r}", file=pf.rel)
    if not parts:
        raise CatalogImportError(f"пустой путь к изображению: {raw!r}", file=pf.rel)
    return "/".join(parts)


@dataclass
class ScanResult:
    items: int = 0
    files: list[tuple[PackageFile, int]] = field(default_factory=list)


# Above this many bytes the pre-scan runs in worker processes, one file each: it is pure CPU work
# in lxml, and while it runs nothing else does (no write may start before it ends). Below it, the
# ~0.1 s to start a worker costs more than it saves.
PARALLEL_PRESCAN_BYTES = 64 * 1024 * 1024
PRESCAN_WORKERS = 2


def prescan(files, data_dir: Path, should_stop: Callable[[], bool] | None = None) -> ScanResult:
    """Validate every file of the package and count its items, writing nothing.

    ``should_stop`` (the import was cancelled) is asked every ``STOP_CHECK_EVERY`` elements, or every
    ``STOP_POLL_S`` while worker processes scan: a big package's pre-scan takes seconds."""
    files = list(files)
    if sum(pf.size for pf in files) >= PARALLEL_PRESCAN_BYTES and len(files) > 1:
        counts = _prescan_in_workers(files, data_dir, should_stop)
    else:
        counts = {pf: scan_file(pf, data_dir, should_stop) for pf in files}
    result = ScanResult()
    for pf in files:  # package order, whatever order the workers finished in
        result.items += counts[pf]
        result.files.append((pf, counts[pf]))
    return result


def _prescan_in_workers(files, data_dir: Path, should_stop=None) -> dict[PackageFile, int]:
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
    from multiprocessing import get_context

    # "spawn": the importer process has threads (the lock keeper, the reader) that fork must not copy.
    ctx = get_context("spawn")
    stop = ctx.Event()  # set when the import is cancelled: each worker stops within STOP_CHECK_EVERY elements
    with ProcessPoolExecutor(max_workers=PRESCAN_WORKERS, mp_context=ctx, initializer=_worker_init,
                             initargs=(stop,)) as pool:
        biggest_first = sorted(files, key=lambda pf: pf.size, reverse=True)
        futures = {pf: pool.submit(_scan_in_worker, pf, data_dir) for pf in biggest_first}
        running = set(futures.values())
        while running:
            # Asked before each wait, so a cancel that came before the workers started is never missed
            # by small files finishing inside one poll.
            if should_stop and should_stop():
                stop.set()  # the pool's exit waits for the workers, which now give up at once
                raise CatalogImportError("импорт остановлен во время предварительной проверки")
            _, running = wait(running, timeout=STOP_POLL_S, return_when=FIRST_EXCEPTION)
        return {pf: future.result() for pf, future in futures.items()}  # re-raises a file's error


STOP_CHECK_EVERY = 2048  # elements between two should_stop questions (~ms of lxml work)
STOP_POLL_S = 0.2
_stop_event = None


def _worker_init(stop) -> None:
    global _stop_event
    _stop_event = stop


def _scan_in_worker(pf: PackageFile, data_dir: Path) -> int:
    return scan_file(pf, data_dir, _stop_event.is_set)


def scan_file(pf: PackageFile, data_dir: Path, should_stop: Callable[[], bool] | None = None) -> int:
    """Read one file completely: well-formed, safe, CommerceML, images inside the data dir; its item count."""
    count = 0
    for n, el in enumerate(iter_events(pf, tags=STREAMED_TAGS), 1):
        if should_stop and n % STOP_CHECK_EVERY == 0 and should_stop():
            raise CatalogImportError("импорт остановлен во время предварительной проверки", file=pf.rel)
        if localname(el.tag) == "Товар":
            count += is_item(el)
            ns = el.tag[: el.tag.find("}") + 1]
            for picture in el.iterchildren(ns + "Картинка"):
                if picture.text and picture.text.strip():
                    image_path(picture.text, pf, data_dir)
            release(el)
        elif localname(el.tag) == "Предложение":
            count += is_item(el)
            release(el)
        else:
            count += _count_reference_items(el)
            el.clear(keep_tail=False)  # siblings may still be needed: no release()
    return count
