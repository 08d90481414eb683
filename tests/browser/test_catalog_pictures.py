"""The catalog admin's thumbnails in a real browser: the imported pictures really load and render."""
from __future__ import annotations

import shutil

import pytest

from apps.products.models import Product

BALL = "b9400000-0000-4000-8000-000000000001"


@pytest.fixture
def imported(settings, tmp_path, fixture_dir, run_import):
    """The ``pictures`` package imported into a private MEDIA_ROOT, then its data dir deleted (as the
    next exchange would): what renders comes from storage. Django serves MEDIA_URL here, as in dev."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SERVE_MEDIA = True
    data_dir = fixture_dir("pictures")
    session = run_import(data_dir)
    assert session.errors == [], session.errors
    shutil.rmtree(data_dir)
    return Product.objects.get(onec_id=BALL)


def rendered(img) -> dict:
    return img.evaluate("el => ({complete: el.complete, natural: el.naturalWidth, shown: el.getBoundingClientRect().width,"
                        " alt: el.alt})")


def test_thumbnails_render_in_the_list_and_on_the_product_page(login, live_server, imported):
    page = login()
    page.goto(f"{live_server.url}/admin/products/product/")

    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 4
    thumbs = page.locator("#result_list .field-picture img")
    assert thumbs.count() == 3  # the whistle has no picture: an empty cell
    page.wait_for_function("() => [...document.querySelectorAll('.field-picture img')].every(i => i.complete)")
    ball_thumb = page.locator("#result_list tr", has_text="волейбольный").locator(".field-picture img")
    state = rendered(ball_thumb)
    assert state["natural"] == 24 and state["shown"] == 48  # decoded (the 24 px PNG), shown at 48 px
    assert state["alt"] == "Мяч <b>волейбольный</b>"  # the name as text, not markup
    assert page.locator("#result_list b", has_text="волейбольный").count() == 0

    page.goto(f"{live_server.url}/admin/products/product/{imported.pk}/change/")
    previews = page.locator("td.field-preview img")
    assert previews.count() == 2
    page.wait_for_function("() => [...document.querySelectorAll('td.field-preview img')].every(i => i.complete)")
    assert [rendered(previews.nth(i))["natural"] for i in range(2)] == [24, 24]  # PNG and JPEG both decode
    assert [rendered(previews.nth(i))["alt"] for i in range(2)] == ["goods/import_files/p1/red.png",
                                                                     "import_files/p2/blue.jpg"]
