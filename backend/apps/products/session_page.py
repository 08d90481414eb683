"""What the session page shows, read from one ``ImportSession``: the admin renders it, nothing else.

The importer stores its outcome as counters per entity (``stats``), phase timings
(``<phase>_seconds`` in ``stats``) and the first ``MAX_STORED_ERRORS`` per-item errors; this turns
them into tables for people, and the errors into a CSV file.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.utils import timezone

from . import display
from .models import ImportSession

ERRORS_PER_PAGE = 50

# stats keys → what people call them, in the order data flows through an import.
ENTITY_LABELS = {
    "categories": "Категории", "properties": "Свойства", "price_types": "Типы цен", "warehouses": "Склады",
    "brands": "Бренды", "products": "Товары", "images": "Изображения", "offers": "Предложения",
    "prices": "Цены", "stocks": "Остатки",
}
COUNT_LABELS = {
    "created": "создано", "updated": "обновлено", "unchanged": "без изменений",
    "deactivated": "деактивировано", "deleted": "удалено", "stored": "файлов скопировано",
    "reused": "файлов уже в хранилище", "failed": "с ошибками",
}
_ALWAYS_SHOWN = ("created", "updated", "unchanged", "failed")
LAYOUT_LABELS = {
    "ut11": "УТ 11 «Обмен с сайтом» (CommerceML 3.x, подпапки groups/, goods/, offers/…)",
    "package": "пакет CommerceML 2.09 (import___*.xml, offers___*.xml…)",
    "classic": "классическая пара import.xml + offers.xml (CommerceML 2.04–2.08)",
    "bitrix": "модуль обмена 1С-Битрикс (CommerceML 3.x: import.xml в корне, подпапки goods/1/, properties/1/…)",
    "other": "файлы с другими именами (вид каждого определён по содержимому)",
}
PHASE_LABELS = {
    "prescan": "Проверка пакета (до первой записи)",
    "read_write": "Чтение и запись",
    "pictures": "Изображения: поиск, сверка и копирование в хранилище (входит в чтение и запись)",
    "total": "Всего",
}


@dataclass(frozen=True)
class EntityRow:
    key: str
    label: str
    counts: list[int]


def entity_table(stats: dict) -> tuple[list[str], list[EntityRow]]:
    """(column labels, rows): one row per entity the import counted, one column per kind of count."""
    entities = [key for key, value in stats.items() if isinstance(value, dict)]
    entities.sort(key=lambda key: list(ENTITY_LABELS).index(key) if key in ENTITY_LABELS else len(ENTITY_LABELS))
    present = {kind for key in entities for kind in stats[key]}
    kinds = [kind for kind in COUNT_LABELS if kind in _ALWAYS_SHOWN or kind in present]
    kinds += sorted(present - set(kinds))  # counts a later importer adds still show
    rows = [EntityRow(key, ENTITY_LABELS.get(key, key), [stats[key].get(kind, 0) for kind in kinds])
            for key in entities]
    return [COUNT_LABELS.get(kind, kind) for kind in kinds], rows


def phase_timings(stats: dict) -> list[tuple[str, str]]:
    """``[(label, "4 мин 12 с"), …]`` from the ``<phase>_seconds`` entries, the total last."""
    phases = [(key.removesuffix("_seconds"), value) for key, value in stats.items()
              if key.endswith("_seconds") and isinstance(value, (int, float))]
    phases.sort(key=lambda item: item[0] == "total")
    return [(PHASE_LABELS.get(phase, phase), display.format_seconds(value)) for phase, value in phases]


def session_page_context(session: ImportSession, *, errors_page=None) -> dict:
    stats = session.stats if isinstance(session.stats, dict) else {}
    columns, rows = entity_table(stats)
    errors = session.errors if isinstance(session.errors, list) else []
    page = Paginator(errors, ERRORS_PER_PAGE).get_page(errors_page)
    message_lines = session.error_message.strip().splitlines()
    previous = None
    if stats.get("unchanged_since"):
        previous = ImportSession.objects.filter(session_id=stats["unchanged_since"]).only("pk", "started_at").first()
    return {
        "session": session,
        "now": timezone.now(),
        "entity_columns": columns,
        "entity_rows": rows,
        "phase_timings": phase_timings(stats),
        "layout": LAYOUT_LABELS.get(stats.get("layout", ""), stats.get("layout", "")),
        "error_summary": message_lines[0] if message_lines else "",
        "error_details": "\n".join(message_lines[1:]).strip(),
        "errors_page": page,
        "errors_stored": len(errors),
        "error_total": stats.get("error_count", len(errors)),
        "unchanged_since": previous,
    }


# Cells that a spreadsheet would run as a formula (OWASP "CSV injection"): the text came from a
# 1C file, so it is defused with a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def errors_csv_response(session: ImportSession) -> HttpResponse:
    """Every stored per-item error of the session, for a spreadsheet: UTF-8 with a BOM (so Excel
    reads Cyrillic), ``;``-separated as Russian-locale spreadsheets expect."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{session.short_id}-errors.csv"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow(["Ид 1С", "файл", "ошибка"])
    for error in session.errors if isinstance(session.errors, list) else []:
        writer.writerow([_cell(error.get("onec_id")), _cell(error.get("file")), _cell(error.get("message"))])
    return response
