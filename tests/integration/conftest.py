"""Fixtures for the admin integration tests: a small 1C package, users, and a clean import lock.

The lock lives in the real Redis the settings point at (the embedded one, or REDIS_URL).
"""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django_redis import get_redis_connection

from apps.products.locking import LOCK_KEY

CHANGELIST_URL = "/admin/products/importsession/"
PACKAGE_PRODUCTS = 5


@pytest.fixture
def redis_conn():
    return get_redis_connection("default")


@pytest.fixture(autouse=True)
def free_import_lock(redis_conn):
    """Every test starts and ends with the lock free, whatever it left behind."""
    redis_conn.delete(LOCK_KEY)
    yield
    redis_conn.delete(LOCK_KEY)


@pytest.fixture
def onec_package(settings, tmp_path):
    """A synthetic UT 11 package of ``PACKAGE_PRODUCTS`` goods, set as ``settings.ONEC_DATA_DIR``."""
    from apps.products.onec.synthetic import write_package

    data_dir = tmp_path / "import_1c"
    write_package(data_dir, products=PACKAGE_PRODUCTS, offers_per_product=2)
    settings.ONEC_DATA_DIR = data_dir
    return data_dir


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


def _staff(django_user_model, username, *codenames):
    user = django_user_model.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="products", codename__in=codenames))
    return user


@pytest.fixture
def viewer(django_user_model):
    """Staff who may look at import sessions but not start an import."""
    return _staff(django_user_model, "viewer", "view_importsession")


@pytest.fixture
def operator(django_user_model):
    """Staff (not superuser) granted the custom permission to run imports."""
    return _staff(django_user_model, "operator", "view_importsession", "run_catalog_import")


@pytest.fixture
def admin_client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login
