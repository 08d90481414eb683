"""With ``IMPORT_RUNNER=queue`` the exchange queues its import like the admin does, and a real
``import_worker`` process runs it; 1C hears "progress" until then and ``success`` after."""
from __future__ import annotations

import pytest

from apps.products.models import ImportSession
from tests.import_queue.conftest import clean_queue, workers  # noqa: F401  (fixtures: real worker processes)

from .conftest import natural_catalog
from .test_conversation import direct_import_of

pytestmark = pytest.mark.django_db(transaction=True)

Status = ImportSession.Status


def test_the_import_is_queued_and_a_worker_runs_it(one_c, exchange_user, fixture_dir, settings, workers):  # noqa: F811
    settings.IMPORT_RUNNER = "queue"
    one_c.start()
    one_c.send_dir(fixture_dir("ut11_full"))

    queued = one_c.call("import", filename="groups/groups.xml")
    again = one_c.call("import", filename="groups/groups.xml")

    session = ImportSession.objects.get()
    assert (session.status, session.source, session.triggered_by) == (Status.PENDING, "exchange", exchange_user)
    assert queued.word == again.word == "progress"
    assert again.reason == "импорт в очереди: ждёт обработчика очереди импорта"
    name = workers.start(burst=True)
    assert workers.wait_exit(name) == 0
    final, _progress = one_c.import_until_done("groups/groups.xml")
    assert final.lines == ["success"]
    session.refresh_from_db()
    assert session.status == Status.COMPLETED
    by_exchange = natural_catalog()
    expected, _ = direct_import_of(fixture_dir("ut11_full"))
    assert by_exchange == expected


def test_an_import_cancelled_in_the_admin_is_a_failure_for_1c(one_c, fixture_dir, settings, admin_client):
    from apps.products.services.catalog_import import catalog_import_cancel

    settings.IMPORT_RUNNER = "queue"
    one_c.start()
    one_c.send_dir(fixture_dir("classic_ns"))
    assert one_c.call("import", filename="import.xml").word == "progress"
    catalog_import_cancel(session=ImportSession.objects.get())

    reply = one_c.call("import", filename="import.xml")

    assert reply.word == "failure" and reply.reason.startswith("импорт отменён в админке")
