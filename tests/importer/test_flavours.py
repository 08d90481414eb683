"""Each supported 1C flavour, imported from its hand-written fixture, gives exactly the catalog
written below by hand from the fixture's XML: every product, offer, price and stock row with its
active flag — not only counts. A second import of the same package changes nothing.

The fixtures' ids are readable fake GUIDs (tests/fixtures/onec/README.md): ``gid("2090", 1)`` is
``…-000000000001`` of fixture ``2090``, prefixed by the kind letter.
"""
from __future__ import annotations

import pytest

from conftest import catalog_state

pytestmark = pytest.mark.django_db


def gid(kind: str, fixture: str, n: int | str) -> str:
    """``gid("b", "1000", 1)`` -> ``b1000000-0000-4000-8000-000000000001``."""
    tail = n if isinstance(n, str) else f"{n:012d}"
    return f"{kind}{fixture}{'0' * (7 - len(fixture))}-0000-4000-8000-{tail}"


def cat(name, parent=None, active=True):
    return {"name": name, "parent": parent, "active": active}


def prod(name, sku, category, *, active=True, images=0):
    return {"name": name, "sku": sku, "active": active, "category": category, "images": images}


def offer(product, name, *, characteristics=(), active=True, quantity=None):
    return {"product": product, "name": name, "active": active,
            "characteristics": [{"name": k, "value": v} for k, v in characteristics], "quantity": quantity}


# --- UT 11 "Обмен с сайтом" (3.1, subfolders) ----------------------------------------------------
def _ut11_full():
    g, b, c, e, f = (lambda n, k=k: gid(k, "1000", n) for k in "abcef")
    ball4, ball5 = f"{b(1)}#{c(1)}", f"{b(1)}#{c(2)}"
    tee_m, tee_l = f"{b(2)}#{c(3)}", f"{b(2)}#{c(4)}"
    return {
        "categories": {g(1): cat("Спорт"), g(2): cat("Мячи", g(1)), g(3): cat("Одежда", g(1))},
        "products": {
            b(1): prod("Мяч футбольный Demix", "BALL-5", g(2), images=2),
            b(2): prod("Футболка беговая", "TS-100", g(3), images=1),
            b(3): prod("Скакалка", "ROPE-1", g(1)),
            b(4): prod("Кеды старой коллекции", "OLD-1", g(3), active=False),  # ПометкаУдаления
            b(5): prod("Гантель 5 кг", "DB-5", g(1)),
        },
        "offers": {
            ball4: offer(b(1), "Мяч футбольный Demix (4)", characteristics=[("Размер", "4")]),
            ball5: offer(b(1), "Мяч футбольный Demix (5)", characteristics=[("Размер", "5")]),
            tee_m: offer(b(2), "Футболка беговая (M, синий)", characteristics=[("Размер", "M"), ("Цвет", "синий")]),
            tee_l: offer(b(2), "Футболка беговая (L, синий)", characteristics=[("Размер", "L"), ("Цвет", "синий")]),
            b(3): offer(b(3), "Скакалка"),  # the offer's Ид is the product's own
            b(5): offer(b(5), "Гантель 5 кг"),
        },
        "prices": {
            (ball4, e(1)): "2490", (ball4, e(2)): "1990", (ball5, e(1)): "2690", (ball5, e(2)): "2150.5",
            (tee_m, e(1)): "1719.5", (tee_m, e(2)): "1200", (tee_l, e(1)): "1719.5", (tee_l, e(2)): "1200",
            (b(3), e(1)): "350", (b(5), e(1)): "1500", (b(5), e(2)): "1300",
        },
        "stock": {
            (ball4, f(1)): "10", (ball4, f(2)): "2", (ball5, f(1)): "0", (ball5, f(2)): "5",
            (tee_m, f(1)): "7", (tee_l, f(1)): "3", (tee_l, f(2)): "1.5",
            (b(3), f(2)): "15", (b(5), f(1)): "8", (b(5), f(2)): "0",
        },
    }


# --- the 2.09 package (import___/offers___/prices___/rests___) -----------------------------------
def _package_209():
    g, b, e, f = (lambda n, k=k: gid(k, "209", n) for k in "abef")
    return {
        "categories": {g(1): cat("Гигиена")},
        "products": {
            b(1): prod("Шампунь Чистая линия 400 мл", "CL-400", g(1)),
            b(2): prod("Гель для душа 250 мл", "GD-250", g(1)),  # its offer is deleted, not the product
            b(3): prod("Зубная паста мятная 100 мл", "ZP-100", None),  # made from its offer
        },
        "offers": {
            b(1): offer(b(1), "Шампунь Чистая линия 400 мл"),
            b(2): offer(b(2), "Гель для душа 250 мл", active=False),
            b(3): offer(b(3), "Зубная паста мятная 100 мл"),
        },
        "prices": {(b(1), e(1)): "181", (b(3), e(1)): "1050"},
        "stock": {(b(1), f(1)): "5", (b(3), f(1)): "12"},
    }


# --- classic 2.07 pair with a namespace, UTF-8 with BOM ------------------------------------------
def _classic_ns():
    g, b, c, e, f = (lambda n, k=k: gid(k, "207", n) for k in "abcef")
    ski190, ski200 = f"{b(1)}#{c('00000000000a')}", f"{b(1)}#{c('00000000000b')}"
    return {
        "categories": {g(1): cat("Зимний спорт"), g(2): cat("Лыжи", g(1))},
        "products": {
            b(1): prod("Лыжи беговые Fischer", "SKI-190", g(2), images=1),
            b(2): prod("Палки лыжные", "POLE-150", g(2)),
            b(3): prod("Мазь лыжная", "WAX-1", g(1)),
        },
        "offers": {
            # <Количество>7</Количество> states the total; <Склад КоличествоНаСкладе> gives the rows.
            ski190: offer(b(1), "Лыжи беговые Fischer (190 см)", characteristics=[("Длина", "190 см")], quantity="7"),
            ski200: offer(b(1), "Лыжи беговые Fischer (200 см)", characteristics=[("Длина", "200 см")]),
            b(2): offer(b(2), "Палки лыжные", quantity="11"),  # <Количество> alone: no Stock row
            b(3): offer(b(3), "Мазь лыжная", quantity="3"),
        },
        "prices": {(ski190, e(1)): "12990", (ski200, e(1)): "13490", (b(2), e(1)): "2500", (b(3), e(1)): "450.5"},
        "stock": {(ski190, f(1)): "5", (ski190, f(2)): "2", (ski200, f(1)): "1", (ski200, f(2)): "3",
                  (b(3), f(1)): "3"},
    }


# --- classic 2.04 pair, no namespace, windows-1251, Статус=Удален ---------------------------------
def _classic_nons_cp1251():
    g, b, e = (lambda n, k=k: gid(k, "204", n) for k in "abe")
    return {
        "categories": {g(1): cat("Хоккейная экипировка")},
        "products": {
            b(1): prod("Клюшка хоккейная «Ёрш» №1", "КЛ-01", g(1)),
            b(2): prod("Шайба официальная", "ШБ-02", g(1), active=False),  # <Товар Статус="Удален">
            b(3): prod("Щитки вратаря", "ЩТ-03", g(1), active=False),  # <Статус>Удален</Статус>
        },
        "offers": {b(1): offer(b(1), "Клюшка хоккейная «Ёрш» №1", quantity="4")},
        "prices": {(b(1), e(1)): "3200"},
        "stock": {},
    }


EXPECTED = {
    "ut11_full": _ut11_full,
    "package_209": _package_209,
    "classic_ns": _classic_ns,
    "classic_nons_cp1251": _classic_nons_cp1251,
}


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_the_fixture_gives_the_catalog_written_by_hand(fixture, fixture_dir, run_import):
    data_dir = fixture_dir(fixture)
    session = run_import(data_dir)
    assert session.status == "completed", session.errors
    state = catalog_state()
    expected = EXPECTED[fixture]()
    for table in ("categories", "products", "offers", "prices", "stock"):
        assert state[table] == expected[table], table

    again = run_import(data_dir, force=True)
    assert again.status == "completed"
    assert catalog_state() == state
    written = {entity: {k: v for k, v in counts.items() if k != "unchanged" and v}
               for entity, counts in again.stats.items() if isinstance(counts, dict)}
    assert not any(written.values()), written
