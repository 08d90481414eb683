"""The catalog an import produced can be browsed in the admin, and not edited there (1C owns it)."""
from __future__ import annotations

import pytest
from django.urls import reverse

from apps.products.models import Offer, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(fixture_dir, run_import):
    session = run_import(fixture_dir("ut11_full"))
    assert session.status == "completed"


@pytest.mark.parametrize("model", ["category", "product", "offer", "pricetype", "warehouse", "brand", "property"])
def test_each_catalog_list_renders_and_offers_no_add(admin_client, imported, model):
    response = admin_client.get(reverse(f"admin:products_{model}_changelist"))
    assert response.status_code == 200
    assert reverse(f"admin:products_{model}_add") not in response.content.decode()


def test_a_product_page_shows_its_offers_and_a_search_finds_it(admin_client, imported):
    offer = Offer.objects.select_related("product").filter(product__offers__isnull=False).first()
    product = offer.product
    page = admin_client.get(reverse("admin:products_product_change", args=[product.pk])).content.decode()
    assert offer.name in page and 'name="_save"' not in page  # read-only: no save button
    found = admin_client.get(reverse("admin:products_product_changelist"), {"q": product.sku}).content.decode()
    assert product.name in found


def test_catalog_rows_cannot_be_changed_or_deleted(admin_client, imported):
    product = Product.objects.first()
    response = admin_client.post(reverse("admin:products_product_change", args=[product.pk]), {"name": "x"})
    assert response.status_code == 403
    response = admin_client.post(reverse("admin:products_product_delete", args=[product.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Product.objects.get(pk=product.pk).name == product.name
