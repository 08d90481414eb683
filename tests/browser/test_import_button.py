"""The "Run import" button in a real browser: one click, one import, however often it is clicked."""
from __future__ import annotations

from apps.products.models import ImportSession, Product

PASSWORD = "browser-pass-123"


def test_the_button_submits_once_and_shows_the_outcome(page, live_server, settings, fixture_dir,
                                                       django_user_model, held_import):
    entered, release = held_import
    settings.ONEC_DATA_DIR = fixture_dir("ut11_full")
    django_user_model.objects.create_superuser("boss", "boss@example.com", PASSWORD)
    changelist = f"{live_server.url}/admin/products/importsession/"
    posts = []
    page.on("request", lambda request: posts.append(request.url)
            if request.method == "POST" and request.url == changelist else None)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/products/importsession/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("[type=submit]")
    button = page.locator("#run-catalog-import button")
    button.wait_for()
    assert "Запустить импорт" in button.inner_text()
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    page.mouse.click(x, y)
    assert entered.wait(30), "the click did not start an import"
    # The import is running inside that request. An impatient admin clicks again, twice: real
    # mouse events (the page is mid-navigation, so nothing may be evaluated in it).
    page.mouse.click(x, y)
    page.mouse.dblclick(x, y)
    release.set()

    page.wait_for_selector(".alert-success", timeout=60_000)
    assert "Импорт завершён" in page.inner_text(".alert-success")
    assert page.locator(".alert-warning").count() == 0  # no "already running" about one's own import
    assert len(posts) == 1, posts
    session = ImportSession.objects.get()
    assert (session.status, session.source, session.triggered_by.username) == ("completed", "admin", "boss")
    assert Product.objects.exists()
