"""A full export that lists no goods at all is far more likely a failed 1C export than a store with
nothing to sell: it must not deactivate the whole catalog."""
from __future__ import annotations

import re
import shutil

import pytest

from apps.products.models import ImportSession, Product

pytestmark = pytest.mark.django_db


def test_a_full_goods_list_with_no_goods_deactivates_nothing(fixture_dir, run_import):
    d = fixture_dir("ut11_full")
    assert run_import(d).status == ImportSession.Status.COMPLETED
    active = Product.objects.filter(is_active=True).count()
    assert active > 0

    for sub in ("offers", "prices", "rests"):  # a goods-only exchange …
        shutil.rmtree(d / sub)
    for goods in (d / "goods").rglob("*.xml"):  # … whose full goods list is empty
        text = goods.read_bytes().decode("utf-8")  # a BOM, if any, survives the round trip
        goods.write_bytes(re.sub("<Товары>.*</Товары>", "<Товары/>", text, flags=re.S).encode("utf-8"))
    session = run_import(d)
    assert session.status == ImportSession.Status.COMPLETED
    assert "товары: отсутствующие не деактивированы" in session.error_message
    assert Product.objects.filter(is_active=True).count() == active
