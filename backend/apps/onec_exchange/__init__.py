"""1C pushes its catalog export to the site over HTTP: the de-facto 1C ↔ site exchange protocol.

1C ("Обмен с сайтом" in УТ 11, and every configuration with a site exchange) speaks the protocol
1C-Bitrix introduced (``/bitrix/admin/1c_exchange.php``): ``checkauth`` → ``init`` → ``file`` (in
chunks) → ``import`` (polled). Files are staged per exchange under ``ONEC_EXCHANGE_DIR`` and imported
through ``apps.products.services.catalog_import`` — the same service and Redis lock as every other door.
"""
